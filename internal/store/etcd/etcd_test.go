package etcd

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/rolepull/rolepull/internal/store"
	"github.com/rolepull/rolepull/internal/store/storetest"
)

// envEtcd names the variable holding comma-separated client URLs of an etcd
// to test against instead of starting one.
const envEtcd = "ROLEPULL_TEST_ETCD"

func TestConformance(t *testing.T) {
	eps := endpoints(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, eps) })
}

func TestCompacted(t *testing.T) {
	s := newStore(t, endpoints(t))
	var revs []int64
	for i := range 3 {
		rev, err := s.Txn(t.Context(), nil, []store.Op{store.Put("k", []byte(strconv.Itoa(i)))})
		if err != nil {
			t.Fatalf("Txn(Put) = %v", err)
		}
		revs = append(revs, rev)
	}
	if _, err := s.client.Compact(t.Context(), revs[1]); err != nil {
		t.Fatalf("Compact(%d) = %v", revs[1], err)
	}
	// Compacting at a revision keeps that revision.
	if resp := <-s.Watch(t.Context(), "", revs[0]); !errors.Is(resp.Err, store.ErrCompacted) {
		t.Errorf("Watch(from %d) after Compact(%d) = %v, want ErrCompacted", revs[0], revs[1], resp.Err)
	}
	if resp := <-s.Watch(t.Context(), "", revs[1]); resp.Err != nil || resp.Revision != revs[1] {
		t.Errorf("Watch(from %d) after Compact(%d) = revision %d, %v, want %d", revs[1], revs[1], resp.Revision, resp.Err, revs[1])
	}
}

func TestPrefixIsolatesStores(t *testing.T) {
	eps := endpoints(t)
	a, b := newStore(t, eps), newStore(t, eps)
	if _, err := a.Txn(t.Context(), nil, []store.Op{store.Put("k", []byte("a"))}); err != nil {
		t.Fatalf("Txn(Put) = %v", err)
	}
	if _, err := b.Get(t.Context(), "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(%q) in another prefix = %v, want ErrNotFound", "k", err)
	}
	raw, err := a.client.Get(t.Context(), a.prefix+"k")
	if err != nil || len(raw.Kvs) != 1 || string(raw.Kvs[0].Value) != "a" {
		t.Errorf("raw Get(%q) = %v, %v, want the value a", a.prefix+"k", raw, err)
	}
}

func TestNewFails(t *testing.T) {
	if _, err := New(t.Context(), Config{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("New(no endpoints) = %v, want ErrInvalid", err)
	}
	start := time.Now()
	_, err := New(t.Context(), Config{Endpoints: []string{"http://" + freeAddr(t)}, DialTimeout: 500 * time.Millisecond})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("New(unreachable) = %v after %v, want an error within the dial timeout", err, time.Since(start))
	}
}

func TestClientLogsReachSlog(t *testing.T) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	log := zap.New(slogCore{h}).With(zap.String("component", "client"))
	log.Info("dropped below the handler's level")
	log.Warn("retrying", zap.Int("attempt", 2), zap.Error(errors.New("boom")))
	want := "level=WARN msg=retrying component=client attempt=2 error=boom\n"
	if got := buf.String(); got != want {
		t.Errorf("slog output = %q, want %q", got, want)
	}
}

// newStore opens a store under a fresh random prefix, so tests sharing an
// etcd never see each other's keys, and closes it, if still open, when the
// test ends.
func newStore(t testing.TB, eps []string) *Store {
	t.Helper()
	s, err := New(t.Context(), Config{Endpoints: eps, Prefix: "/rolepull-test/" + rand.Text() + "/"})
	if err != nil {
		t.Fatalf("New(%v) = %v", eps, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return s
}

// endpoints returns the etcd to test against: $ROLEPULL_TEST_ETCD, or else
// one started for this test from the etcd binary on PATH. Without either the
// test is skipped, except under CI, where it fails.
func endpoints(t testing.TB) []string {
	t.Helper()
	if v := os.Getenv(envEtcd); v != "" {
		return strings.Split(v, ",")
	}
	bin, err := exec.LookPath("etcd")
	if err != nil {
		msg := "no etcd to test against: set " + envEtcd + " to its client URLs or put an etcd binary on PATH (Debian: apt-get install etcd-server)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return []string{startEtcd(t, bin)}
}

// startEtcd runs a one-member etcd on loopback ports with a temporary data
// directory until the test ends, and returns its client URL.
func startEtcd(t testing.TB, bin string) string {
	t.Helper()
	client, peer := "http://"+freeAddr(t), "http://"+freeAddr(t)
	cmd := exec.Command(bin,
		"--name=test",
		"--data-dir="+t.TempDir(),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=test="+peer,
		"--logger=zap", "--log-level=error",
	)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("kill etcd: %v", err)
		}
		<-exited
	})

	const readyTimeout = 20 * time.Second
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		if healthy(t.Context(), client) {
			return client
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("etcd exited: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("etcd not healthy after %v:\n%s", readyTimeout, out.String())
	return ""
}

func healthy(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects etcd's output, written and read from different
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func BenchmarkTxnPut(b *testing.B) {
	s := newStore(b, endpoints(b))
	value := make([]byte, 256)
	for i := 0; b.Loop(); i++ {
		if _, err := s.Txn(b.Context(), nil, []store.Op{store.Put("bench/"+strconv.Itoa(i%1000), value)}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := newStore(b, endpoints(b))
	if _, err := s.Txn(b.Context(), nil, []store.Op{store.Put("bench/key", make([]byte, 256))}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Get(b.Context(), "bench/key"); err != nil {
			b.Fatal(err)
		}
	}
}
