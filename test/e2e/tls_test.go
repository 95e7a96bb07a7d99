package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/leakcheck"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
)

// TestTLS runs a node with its local CA (rolepull up --tls): an OCI client
// that trusts the CA pushes and pulls by an instance domain over verified
// TLS through the registry's proxy, with an https token realm; the OpenAPI
// answers over HTTPS; and the tunnel keeps every rule of the plain path —
// a closed instance resets, a foreign host is refused, a handshake for
// another name gets no certificate, a client that does not trust the CA
// refuses the server.
func TestTLS(t *testing.T) {
	leakcheck.Start(t)
	w := newWorldWith(t, func(c *node.Config) { c.TLS = true })
	if w.n.CA == nil {
		t.Fatal("node.Config.TLS set, but the node has no CA")
	}
	ctx := t.Context()
	inst := w.instance(w.a, "cn-hangzhou", "tls", acr.SpecEnterpriseStandard, true)
	host := inst.PublicHost(acr.DefaultBase)
	proxy, _ := url.Parse(w.n.RegistryURL())
	client := func(roots *x509.CertPool) *http.Transport {
		return &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: roots}}
	}
	trusting := client(w.n.CA.Pool())
	defer trusting.CloseIdleConnections()
	tp, err := w.n.ACR.IssueTempPassword(ram.RootIdentity(inst.Account), inst)
	if err != nil {
		t.Fatal(err)
	}
	auth := &authn.Basic{Username: tp.Username, Password: tp.Password}

	t.Run("push and pull over verified TLS", func(t *testing.T) {
		img, _ := random.Image(4096, 2)
		ref, err := name.ParseReference(host + "/ns/app:1") // https: no name.Insecure
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithTransport(trusting), remote.WithContext(ctx)); err != nil {
			t.Fatalf("push over TLS: %v", err)
		}
		got, err := remote.Image(ref, remote.WithAuth(auth), remote.WithTransport(trusting), remote.WithContext(ctx))
		if err != nil {
			t.Fatalf("pull over TLS: %v", err)
		}
		if err := validate.Image(got); err != nil {
			t.Errorf("pulled image: %v", err)
		}
		want, _ := img.Digest()
		if d, _ := got.Digest(); d != want {
			t.Errorf("pulled %s, pushed %s", d, want)
		}
	})

	t.Run("the challenge names an https realm on the same host", func(t *testing.T) {
		resp, err := (&http.Client{Transport: trusting}).Get("https://" + host + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := `realm="https://` + host + `/token"`; resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), want) {
			t.Errorf("GET /v2/ = %d, challenge %q; want 401 with %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
		}
	})

	t.Run("a client that does not trust the CA refuses the server", func(t *testing.T) {
		tr := client(x509.NewCertPool())
		defer tr.CloseIdleConnections()
		_, err := (&http.Client{Transport: tr}).Get("https://" + host + "/v2/")
		if err == nil || !errors.As(err, new(x509.UnknownAuthorityError)) {
			t.Errorf("GET through an untrusting client = %v, want an unknown-authority error", err)
		}
	})

	t.Run("a closed instance resets the CONNECT", func(t *testing.T) {
		closed := w.instance(w.a, "cn-hangzhou", "tls-closed", acr.SpecEnterpriseStandard, false)
		code, err := connect(t, w.n.RegistryURL(), closed.PublicHost(acr.DefaultBase)+":443")
		if err == nil {
			t.Errorf("CONNECT to a closed instance = %d, want the connection reset", code)
		}
	})

	t.Run("a host that is not an instance domain is refused", func(t *testing.T) {
		if code, err := connect(t, w.n.RegistryURL(), "example.com:443"); err != nil || code != http.StatusForbidden {
			t.Errorf("CONNECT example.com:443 = %d, %v; want 403", code, err)
		}
	})

	t.Run("a handshake for another name in the tunnel gets no certificate", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(w.n.RegistryURL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n", host, host)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT = %v, %v", resp, err)
		}
		other := w.instance(w.a, "cn-hangzhou", "tls-other", acr.SpecEnterpriseStandard, true).PublicHost(acr.DefaultBase)
		tc := tls.Client(conn, &tls.Config{ServerName: other, RootCAs: w.n.CA.Pool()})
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err == nil {
			t.Errorf("a tunnel to %s completed a handshake for %s", host, other)
		}
	})

	t.Run("a request in a tunnel names the tunnel's domain only", func(t *testing.T) {
		other := w.instance(w.a, "cn-hangzhou", "tls-elsewhere", acr.SpecEnterpriseStandard, true).PublicHost(acr.DefaultBase)
		conn, err := net.Dial("tcp", strings.TrimPrefix(w.n.RegistryURL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n", host, host)
		br := bufio.NewReader(conn)
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT = %v, %v", resp, err)
		}
		tc := tls.Client(conn, &tls.Config{ServerName: host, RootCAs: w.n.CA.Pool()})
		fmt.Fprintf(tc, "GET /v2/ HTTP/1.1\r\nHost: %s\r\n\r\n", other)
		resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("GET with Host %s in a tunnel to %s = %d, want 421", other, host, resp.StatusCode)
		}
	})

	t.Run("the OpenAPI answers over HTTPS", func(t *testing.T) {
		if !strings.HasPrefix(w.n.OpenAPIURL(), "https://") {
			t.Fatalf("OpenAPI URL %s, want https", w.n.OpenAPIURL())
		}
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: w.n.CA.Pool()}}
		defer tr.CloseIdleConnections()
		c := &openapi.Client{Endpoint: w.n.OpenAPIURL(), AccessKeyID: w.n.Profile.AccessKeyID, AccessKeySecret: w.n.Profile.AccessKeySecret,
			HTTP: &http.Client{Transport: tr}}
		var who struct{ AccountId string }
		if err := c.Do(ctx, "2015-04-01", "GetCallerIdentity", nil, &who); err != nil {
			t.Fatalf("GetCallerIdentity over HTTPS: %v", err)
		}
		if who.AccountId != w.a {
			t.Errorf("GetCallerIdentity = account %q, want %s", who.AccountId, w.a)
		}
	})
}

// connect sends a CONNECT for target through the proxy and returns the
// status, or the error when the proxy reset or closed the connection.
func connect(t *testing.T, proxyURL, target string) (int, error) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(context.Background(), "tcp", strings.TrimPrefix(proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
