package pull

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/clock"
)

func TestCredCacheKeysByWholeChain(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	c := newCredCache(clk, nil)
	fetched := map[string]int{}
	var mu sync.Mutex
	fetch := func(pw string) func(context.Context) (cacheEntry, error) {
		return func(context.Context) (cacheEntry, error) {
			mu.Lock()
			fetched[pw]++
			mu.Unlock()
			return cacheEntry{pw: acr.TempPassword{Password: pw, Expiration: clk.Now().Add(time.Hour)}, fetched: clk.Now()}, nil
		}
	}
	ctx := t.Context()
	assume := cacheKey{chain: "acs:ram::A:role/role-assume → acs:ram::B:role/role-acr", instance: "cri-x", region: "cn-hangzhou"}
	other := cacheKey{chain: "acs:ram::A:role/role-other → acs:ram::B:role/role-acr", instance: "cri-x", region: "cn-hangzhou"}
	otherInst := cacheKey{chain: assume.chain, instance: "cri-y", region: "cn-hangzhou"}
	otherRegion := cacheKey{chain: assume.chain, instance: "cri-x", region: "cn-beijing"}
	for _, tt := range []struct {
		key  cacheKey
		want string
	}{{assume, "p-assume"}, {other, "p-other"}, {otherInst, "p-inst"}, {otherRegion, "p-region"}, {assume, "p-assume"}} {
		e, err := c.get(ctx, tt.key, fetch(tt.want))
		if err != nil || e.pw.Password != tt.want {
			t.Fatalf("get(%s) = %q, %v; want %q", tt.key, e.pw.Password, err, tt.want)
		}
	}
	if fetched["p-assume"] != 1 {
		t.Errorf("the cached chain was fetched %d times", fetched["p-assume"])
	}
	// Refreshed at half its life, not at expiry.
	clk.Advance(29 * time.Minute)
	c.get(ctx, assume, fetch("p-assume"))
	if fetched["p-assume"] != 1 {
		t.Error("refreshed before half its life")
	}
	clk.Advance(2 * time.Minute)
	c.get(ctx, assume, fetch("p-assume"))
	if fetched["p-assume"] != 2 {
		t.Error("not refreshed after half its life")
	}
	// Denials are never cached.
	denied := cacheKey{chain: "x", instance: "cri-z", region: "cn-hangzhou"}
	calls := 0
	for i := 0; i < 3; i++ {
		c.get(ctx, denied, func(context.Context) (cacheEntry, error) { calls++; return cacheEntry{}, errors.New("denied") })
	}
	if calls != 3 {
		t.Errorf("a denial was cached: %d fetches for 3 lookups", calls)
	}
	// Concurrent misses share one fetch.
	shared := cacheKey{chain: "s", instance: "cri-s", region: "cn-hangzhou"}
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.get(ctx, shared, func(context.Context) (cacheEntry, error) {
				time.Sleep(10 * time.Millisecond)
				return fetch("p-shared")(ctx)
			})
		}()
	}
	wg.Wait()
	if fetched["p-shared"] != 1 {
		t.Errorf("32 concurrent misses fetched %d times", fetched["p-shared"])
	}
}

// When STS does not answer a refresh, a credential still valid stands in
// until it nearly expires; a refusal is never papered over, and a caller
// whose context ends stops waiting for an STS that hangs.
func TestCredCacheWhenSTSDoesNotAnswer(t *testing.T) {
	start := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	entry := func(clk *clock.Fake) func(context.Context) (cacheEntry, error) {
		return func(context.Context) (cacheEntry, error) {
			return cacheEntry{pw: acr.TempPassword{Password: "p", Expiration: clk.Now().Add(time.Hour)}, fetched: clk.Now()}, nil
		}
	}
	down := func(context.Context) (cacheEntry, error) {
		return cacheEntry{}, fail(Network, "img", "cri-x", "acs:ram::1:role/r", ErrSTSUnavailable, "", "STS did not answer")
	}
	refused := func(context.Context) (cacheEntry, error) {
		return cacheEntry{}, fail(Trust, "img", "cri-x", "acs:ram::1:role/r", nil, "", "trust revoked")
	}
	k := cacheKey{chain: "acs:ram::1:role/r", instance: "cri-x", region: "cn-hangzhou"}
	for _, tt := range []struct {
		name    string
		advance time.Duration // after the first fetch
		refresh func(context.Context) (cacheEntry, error)
		wantOK  bool
	}{
		{"down past half-life: the cached credential", 31 * time.Minute, down, true},
		{"down with under a minute left: fails", 59*time.Minute + 30*time.Second, down, false},
		{"down after expiry: fails", 61 * time.Minute, down, false},
		{"trust refused past half-life: fails", 31 * time.Minute, refused, false},
		{"down with nothing cached: fails", -1, down, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(start)
			c := newCredCache(clk, nil)
			if tt.advance >= 0 {
				if _, err := c.get(t.Context(), k, entry(clk)); err != nil {
					t.Fatal(err)
				}
				clk.Advance(tt.advance)
			}
			e, err := c.get(t.Context(), k, tt.refresh)
			if tt.wantOK {
				if err != nil || e.pw.Password != "p" || c.staleUses() != 1 {
					t.Fatalf("get = %+v, %v (stale uses %d); want the cached credential", e, err, c.staleUses())
				}
				return
			}
			if err == nil {
				t.Fatalf("get = %+v; want the refresh's error", e)
			}
			if want := KindOf(mustErr(tt.refresh)); KindOf(err) != want {
				t.Errorf("get error kind %q, want %q: %v", KindOf(err), want, err)
			}
		})
	}

	t.Run("a hanging STS does not hold a caller past its context", func(t *testing.T) {
		c := newCredCache(clock.NewFake(start), nil)
		release := make(chan struct{})
		defer close(release)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := c.get(ctx, k, func(context.Context) (cacheEntry, error) { <-release; return cacheEntry{}, errors.New("late") })
			done <- err
		}()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("get = %v, want context.Canceled", err)
		}
	})
}

func mustErr(f func(context.Context) (cacheEntry, error)) error {
	_, err := f(context.Background())
	return err
}

func TestParseSettings(t *testing.T) {
	ok := []struct{ name, in string }{
		{"one", "cri-j36zhodptmyq0000"},
		{"region prefix and spaces", " cn-beijing:cri-j36zhodptmyq0000 , cri-abc"},
	}
	for _, tt := range ok {
		if _, err := ParseInstanceIDs(tt.in); err != nil {
			t.Errorf("ParseInstanceIDs(%q) %s: %v", tt.in, tt.name, err)
		}
	}
	bad := []string{"", "cri-a,,cri-b", "crpi-abc", "cri-ABC", "cn_beijing:cri-a", "cri-j36zhodptmyq****", "Beijing:cri-a"}
	for _, in := range bad {
		if _, err := ParseInstanceIDs(in); err == nil {
			t.Errorf("ParseInstanceIDs(%q) accepted", in)
		}
	}
	const a = "acs:ram::1609982529000000:role/role-assume"
	const b = "acs:ram::1298452580000000:role/role-acr"
	chains, err := ParseChains(a+", acs:ram::1609982529000000:role/acr-test", b)
	if err != nil || len(chains) != 2 || chains[0].User != b || chains[1].User != "" {
		t.Fatalf("ParseChains = %+v, %v", chains, err)
	}
	for _, tt := range []struct{ name, svc, usr string }{
		{"user without service", "", b},
		{"more users than services", a, b + "," + b},
		{"not a role", "acs:ram::1609982529000000:user/x", ""},
		{"malformed", "acs:ram::x:role/y", ""},
		{"wildcard", "acs:ram::1609982529000000:role/*", ""},
	} {
		if _, err := ParseChains(tt.svc, tt.usr); err == nil {
			t.Errorf("ParseChains %s accepted", tt.name)
		}
	}
}

// FuzzAnnotations fuzzes the parsers of the pull annotations: no panic,
// and whatever is accepted is well formed.
func FuzzAnnotations(f *testing.F) {
	f.Add("cn-beijing:cri-abc, cri-def", "acs:ram::1609982529000000:role/a", "acs:ram::1298452580000000:role/b")
	f.Add("cri-a,,cri-b", "", "acs:ram::1:role/x")
	f.Add(":", "acs:ram::*:role/*", ",")
	// reliability.md §3.7 item 70's inputs as the manifests corpus holds
	// them: every annotation triple of internal/kube/testdata.
	for _, triple := range corpusAnnotations(f) {
		f.Add(triple[0], triple[1], triple[2])
	}
	f.Fuzz(func(t *testing.T, ids, services, users string) {
		if refs, err := ParseInstanceIDs(ids); err == nil {
			for _, r := range refs {
				if !strings.HasPrefix(r.InstanceID, "cri-") || strings.ContainsAny(r.InstanceID+r.Region, " ,:") {
					t.Fatalf("ParseInstanceIDs(%q) accepted %+v", ids, r)
				}
			}
		}
		if chains, err := ParseChains(services, users); err == nil {
			for _, c := range chains {
				if c.Service == "" || strings.ContainsAny(c.Service+c.User, " ,*") {
					t.Fatalf("ParseChains(%q, %q) accepted %+v", services, users, c)
				}
			}
		}
	})
}

var annotationLine = regexp.MustCompile(`k8s\.aliyun\.com/(acr-instance-ids|acr-service-arns|acr-user-arns):\s*(.*)$`)

// corpusAnnotations reads the acr-instance-ids, acr-service-arns and
// acr-user-arns values of every manifest in internal/kube/testdata, one
// triple per file that has any.
func corpusAnnotations(t testing.TB) [][3]string {
	t.Helper()
	files, err := filepath.Glob("../kube/testdata/*/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests corpus in ../kube/testdata: %v", err)
	}
	var out [][3]string
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var triple [3]string
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			m := annotationLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			v := strings.TrimSpace(m[2])
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			} else {
				v = strings.Trim(v, "'")
			}
			found = true
			switch m[1] {
			case "acr-instance-ids":
				triple[0] = v
			case "acr-service-arns":
				triple[1] = v
			default:
				triple[2] = v
			}
		}
		if found {
			out = append(out, triple)
		}
	}
	return out
}
