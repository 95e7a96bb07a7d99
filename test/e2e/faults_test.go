package e2e

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/leakcheck"
	"github.com/rolepull/rolepull/internal/pull"
)

// faultyRegistry serves the node's registry but breaks the first blob GETs
// the way networks and servers break: a body cut in the middle, a 503, a
// flipped byte, a reset.
type faultyRegistry struct {
	next   http.Handler
	faults []string // consumed in order, one per blob GET
	// rng picks where a body is cut or a byte flipped (nil: the middle).
	rng *rand.Rand
	// rate, once faults is used up, is the chance (with rng) that a blob
	// GET meets a random one of them.
	rate   float64
	mu     sync.Mutex
	served atomic.Int64
	hit    atomic.Int64   // faults injected
	whole  map[string]int // blob path → GETs served whole
}

// randomFaults are what rate draws from.
var randomFaults = []string{"truncate", "reset", "503", "corrupt"}

// at is where in a body of n bytes a fault lands.
func (f *faultyRegistry) at(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng == nil || n == 0 {
		return n / 2
	}
	return f.rng.IntN(n)
}

func (f *faultyRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/sha256:") {
		f.next.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	fault := ""
	switch {
	case len(f.faults) > 0:
		fault, f.faults = f.faults[0], f.faults[1:]
	case f.rate > 0 && f.rng.Float64() < f.rate:
		fault = randomFaults[f.rng.IntN(len(randomFaults))]
	}
	f.mu.Unlock()
	if fault != "" {
		f.hit.Add(1)
	}
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	switch fault {
	case "truncate":
		w.WriteHeader(rec.Code)
		w.Write(body[:f.at(len(body))])
		hijackClose(w, false)
		return
	case "reset":
		hijackClose(w, true)
		return
	case "503":
		http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}`, http.StatusServiceUnavailable)
		return
	case "corrupt":
		b := bytes.Clone(body)
		b[f.at(len(b))] ^= 0xff
		body = b
	}
	f.served.Add(1)
	if fault == "" && rec.Code == http.StatusOK {
		f.mu.Lock()
		if f.whole == nil {
			f.whole = map[string]int{}
		}
		f.whole[r.URL.Path]++
		f.mu.Unlock()
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

func hijackClose(w http.ResponseWriter, reset bool) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		tc.SetLinger(0)
	}
	conn.Close()
}

// pullerBehind is a puller of the world's node whose registry traffic
// goes through h (a faultyRegistry) on a listener of its own.
func (w *world) pullerBehind(h http.Handler) *pull.Puller {
	w.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	w.t.Cleanup(func() { srv.Close() })
	return pull.New(w.n.ACR, w.n.RAM, w.n.STS, w.n.Net, w.n.Content, pull.Options{RegistryAddr: ln.Addr().String()})
}

// A pull survives a registry that cuts (at a random offset), refuses,
// corrupts (a random byte) and resets layers: it fetches them again, and
// what it stores re-hashes correctly.
func TestPullSurvivesRegistryFaults(t *testing.T) {
	leakcheck.Start(t)
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "faulty", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	img := w.push(ee, host, "eci_test/app:1", 4)

	seed := uint64(time.Now().UnixNano())
	t.Logf("fault offsets from seed %d", seed)
	faulty := &faultyRegistry{next: w.n.Registry, rng: rand.New(rand.NewPCG(seed, 0)),
		faults: []string{"truncate", "", "503", "", "corrupt", "", "reset", "", "truncate"}}
	p := w.pullerBehind(faulty)
	defer p.Close()

	res, err := p.Pull(t.Context(), pull.Settings{Account: w.a, Region: "cn-hangzhou", Session: "eci-faults"}, host+"/eci_test/app:1", pull.FetchOptions{})
	if err != nil {
		t.Fatalf("pull through a faulty registry: %v", err)
	}
	want, _ := img.Digest()
	if res.Digest.String() != want.String() {
		t.Errorf("pulled %s, want %s", res.Digest, want)
	}
	bad, err := w.n.Content.Verify(t.Context(), false)
	if err != nil || len(bad) > 0 {
		t.Fatalf("after the faults: %v, corrupt blobs %v", err, bad)
	}
	for _, d := range res.Digests {
		if ok, _ := w.n.Content.Has(t.Context(), d); !ok {
			t.Errorf("%s missing", d)
		}
	}
	if faulty.faults != nil && len(faulty.faults) > 0 {
		t.Errorf("%d faults were never hit: the test did not exercise them", len(faulty.faults))
	}
	leakcheck.EmptyDir(t, filepath.Join(w.data, "content", "ingest"))
}

// A registry that keeps failing fails the pull within the retry budget,
// as a network failure — it never hangs and never stores a partial blob.
func TestPullGivesUpOnABrokenRegistry(t *testing.T) {
	leakcheck.Start(t)
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "broken", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	w.push(ee, host, "eci_test/app:1", 1)
	faults := make([]string, 64)
	for i := range faults {
		faults[i] = "reset"
	}
	faulty := &faultyRegistry{next: w.n.Registry, faults: faults}
	p := w.pullerBehind(faulty)
	defer p.Close()
	_, err := p.Pull(t.Context(), pull.Settings{Account: w.a, Region: "cn-hangzhou", Session: "eci-broken"}, host+"/eci_test/app:1", pull.FetchOptions{})
	if pull.KindOf(err) != pull.Network {
		t.Fatalf("pull = %v (kind %s), want a network failure", err, pull.KindOf(err))
	}
	if bad, err := w.n.Content.Verify(t.Context(), false); err != nil || len(bad) > 0 {
		t.Fatalf("Verify: %v, %v", err, bad)
	}
	leakcheck.EmptyDir(t, filepath.Join(w.data, "content", "ingest"))
}
