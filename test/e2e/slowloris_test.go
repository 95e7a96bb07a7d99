package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/leakcheck"
	"github.com/rolepull/rolepull/internal/node"
)

// TestSlowLoris opens connections to both listeners that trickle their
// headers a line at a time and never finish them (reliability.md §4). The
// server closes every one once its header timeout passes — trickling does
// not extend it — and keeps answering ordinary requests meanwhile.
func TestSlowLoris(t *testing.T) {
	leakcheck.Start(t)
	const timeout = time.Second
	w := newWorldWith(t, func(c *node.Config) { c.HeaderTimeout = timeout })
	const perListener = 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*perListener)
	for _, base := range []string{w.n.OpenAPIURL(), w.n.RegistryURL()} {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		for i := range perListener {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- loris(u.Host, i, timeout)
			}()
		}
	}
	// While they trickle, ordinary requests are answered.
	time.Sleep(timeout / 2)
	for _, base := range []string{w.n.OpenAPIURL() + "/", w.n.RegistryURL() + "/v2/"} {
		resp, err := http.Get(base)
		if err != nil {
			t.Fatalf("GET %s during the slow loris: %v", base, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s during the slow loris: %d", base, resp.StatusCode)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// loris sends a request line and then one header line every timeout/4,
// never the blank line that ends them, and reports an error unless the
// server closes the connection: at the latest — with a generous margin
// for a loaded machine, not a measurement — 20 timeouts in.
func loris(addr string, i int, timeout time.Duration) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "GET /v2/ HTTP/1.1\r\nHost: slow-%d\r\n", i); err != nil {
		return err
	}
	closed := make(chan error, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(20 * timeout))
		_, err := io.Copy(io.Discard, c) // a 408, if any, then the close
		closed <- err
	}()
	tick := time.NewTicker(timeout / 4)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case err := <-closed:
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("%s kept a connection open for %v while its headers trickled in", addr, 20*timeout)
			}
			return nil // EOF or a reset: the server hung up
		case <-tick.C:
			if _, err := fmt.Fprintf(c, "X-Slow-%d: %s\r\n", n, strings.Repeat("a", 8)); err != nil {
				// The server closed; the reader reports how.
				c.(*net.TCPConn).CloseWrite()
			}
		}
	}
}
