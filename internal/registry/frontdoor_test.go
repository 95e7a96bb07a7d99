package registry_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rolepull/rolepull/internal/acr"
)

// FuzzFrontDoor sends fuzzed requests — method, Host, path and query,
// Authorization — over a real connection to a registry serving one open
// Enterprise instance. Whatever arrives: never a 5xx other than 503; no
// /v2 request succeeds (the fuzzer holds no token and cannot forge one);
// and every 401 carries one well-formed Bearer challenge whose realm is the
// asked host's /token.
func FuzzFrontDoor(f *testing.F) {
	e := newEnv(f)
	inst := e.openInstance(f, "fuzz")
	host := inst.PublicHost(acr.DefaultBase)
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	for _, s := range []struct {
		m                   uint8
		host, target, authz string
	}{
		{0, host, "/v2/", ""},
		{0, host, "/v2/ns/app/manifests/latest", ""},
		{1, host, "/v2/ns/app/blobs/sha256:" + strings.Repeat("a", 64), "Bearer x.y.z"},
		{2, host, "/v2/ns/app/manifests/v1", "Basic Y3JfdGVtcF91c2VyOnB3"},
		{3, host, "/v2/ns/app/blobs/uploads/?digest=sha256:" + strings.Repeat("0", 64), ""},
		{4, host, "/v2/ns/app/blobs/uploads/0a1b", ""},
		{5, host, "/v2/ns/app/manifests/sha256:" + strings.Repeat("b", 64), "Bearer eyJhbGciOiJub25lIn0.e30."},
		{0, host, "/v2/_catalog?n=1000&last=a", ""},
		// reliability.md §3.5: 51 paging at its bounds, 52 a mount from a
		// repository the caller may not pull, 44 a blob PUT under a digest.
		{0, host, "/v2/_catalog?n=2147483647", ""},
		{0, host, "/v2/_catalog?n=1&last=" + strings.Repeat("z", 4096), ""},
		{3, host, "/v2/ns/app/blobs/uploads/?mount=sha256:" + strings.Repeat("d", 64) + "&from=other/repo", "Bearer x.y.z"},
		{2, host, "/v2/ns/app/blobs/uploads/0a1b?digest=sha256:" + strings.Repeat("1", 64), ""},
		{4, host, "/v2/ns/app/blobs/uploads/0a1b?_state=x", ""},
		{0, host, "/v2/ns/app/tags/list?n=-1", ""},
		{0, host, "/token?service=" + inst.InstanceID + "&scope=repository:ns/app:pull,push", "Basic " + strings.Repeat("A", 40)},
		{0, host, "/token?scope=repository:ns/app:pull&scope=registry:catalog:*", ""},
		{0, host, "/v2/ns/app/referrers/sha256:" + strings.Repeat("c", 64), ""},
		{0, strings.ToUpper(host), "/v2/a/b/c/d/e/f/manifests/x", ""},
		{0, host + ":443", "/v2/%2e%2e/manifests/x", ""},
		{0, "registry.cn-hangzhou.aliyuncs.com", "/v2/ns/app/manifests/1", ""},
		{0, "unknown.example.com", "/v2/", ""},
	} {
		f.Add(s.m, s.host, s.target, s.authz)
	}
	tr := e.transport("127.0.0.1")
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Cleanup(func() { tr.(*http.Transport).CloseIdleConnections() })

	f.Fuzz(func(t *testing.T, m uint8, reqHost, target, authz string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Host != "" || !strings.HasPrefix(target, "/") {
			return
		}
		req, err := http.NewRequestWithContext(context.Background(), methods[int(m)%len(methods)], "http://"+host+target, nil)
		if err != nil {
			return
		}
		req.Host = reqHost
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := client.Do(req)
		if err != nil {
			// The client refuses to send what is not HTTP (a Host with
			// a space, a header with a newline), and the registry resets
			// connections it refuses by network ACL; but it never leaves
			// a request unanswered.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("%s %s (Host %q, Authorization %q): no answer: %v", req.Method, target, reqHost, authz, err)
			}
			return
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s %s (Host %q): %d\n%s", req.Method, target, reqHost, resp.StatusCode, body)
		}
		if strings.HasPrefix(u.Path, "/v2") && resp.StatusCode < 300 {
			t.Fatalf("%s %s (Host %q, Authorization %q) succeeded without a token: %d\n%s", req.Method, target, reqHost, authz, resp.StatusCode, body)
		}
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(u.Path, "/v2") {
			return
		}
		hs := resp.Header.Values("WWW-Authenticate")
		if len(hs) != 1 {
			t.Fatalf("401 with %d challenges: %q", len(hs), hs)
		}
		scheme, params, err := parseChallenge(hs[0])
		if err != nil {
			t.Fatalf("challenge %q: %v", hs[0], err)
		}
		sent := reqHost
		if sent == "" {
			sent = host // the client sends the URL's host when Request.Host is empty
		}
		if scheme != "Bearer" || params["realm"] != "http://"+sent+"/token" || params["service"] == "" {
			t.Fatalf("challenge %q for Host %q: want a Bearer realm on that host", hs[0], sent)
		}
	})
}

// parseChallenge parses one RFC 7235 challenge with auth-params:
// scheme SP name=value *("," name=value), value a token or a quoted-string
// with backslash escapes. It is strict: anything else is an error.
func parseChallenge(h string) (string, map[string]string, error) {
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || scheme == "" || !isToken(scheme) {
		return "", nil, errors.New("no auth-scheme")
	}
	params := map[string]string{}
	for rest != "" {
		name, after, ok := strings.Cut(rest, "=")
		name = strings.TrimSpace(name)
		if !ok || !isToken(name) {
			return "", nil, errors.New("bad auth-param name " + name)
		}
		after = strings.TrimLeft(after, " ")
		var value string
		if strings.HasPrefix(after, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				c := after[i]
				if c == '\\' {
					i++
					if i == len(after) {
						return "", nil, errors.New("escape at the end")
					}
					c = after[i]
				}
				if c < 0x20 && c != '\t' || c == 0x7f {
					return "", nil, errors.New("control character in a quoted-string")
				}
				b.WriteByte(c)
			}
			if i == len(after) {
				return "", nil, errors.New("unterminated quoted-string")
			}
			value, after = b.String(), after[i+1:]
		} else {
			end := strings.IndexAny(after, ", ")
			if end < 0 {
				end = len(after)
			}
			value, after = after[:end], after[end:]
			if !isToken(value) {
				return "", nil, errors.New("bad token value " + value)
			}
		}
		if _, dup := params[name]; dup {
			return "", nil, errors.New("duplicate auth-param " + name)
		}
		if !utf8.ValidString(value) {
			return "", nil, errors.New("value is not UTF-8")
		}
		params[name] = value
		after = strings.TrimLeft(after, " ")
		if after != "" {
			if after[0] != ',' {
				return "", nil, errors.New("want , between auth-params")
			}
			after = strings.TrimLeft(after[1:], " ")
			if after == "" {
				return "", nil, errors.New("trailing ,")
			}
		}
		rest = after
	}
	return scheme, params, nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func TestParseChallenge(t *testing.T) {
	for _, tt := range []struct {
		name, h string
		ok      bool
	}{
		{"ours", `Bearer realm="http://h/token",service="cri-a",scope="repository:ns/app:pull",error="invalid_token"`, true},
		{"escaped quote", `Bearer realm="a\"b"`, true},
		{"token value", `Bearer realm=x`, true},
		{"no scheme", `realm="x"`, false},
		{"unterminated", `Bearer realm="x`, false},
		{"duplicate", `Bearer realm="x",realm="y"`, false},
		{"trailing comma", `Bearer realm="x",`, false},
		{"control char", "Bearer realm=\"a\x01b\"", false},
	} {
		_, p, err := parseChallenge(tt.h)
		if (err == nil) != tt.ok {
			t.Errorf("%s: parseChallenge(%q) = %v, %v", tt.name, tt.h, p, err)
		}
	}
	if _, p, _ := parseChallenge(`Bearer realm="a\"b"`); p["realm"] != `a"b` {
		t.Errorf("escaped quote decoded as %q", p["realm"])
	}
}
