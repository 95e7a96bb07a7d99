package registry

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	v2 "github.com/distribution/distribution/v3/registry/api/v2"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/ram"
)

// Authenticator resolves an AccessKey (long-term or STS) to an identity
// and the secret that proves it (sts.Service implements it).
type Authenticator interface {
	Authenticate(ctx context.Context, accessKeyID, securityToken string) (ram.Identity, string, error)
}

// Authorizer answers RAM questions (ram.Service implements it).
type Authorizer interface {
	Authorize(ctx context.Context, id ram.Identity, req ram.Request) (ram.Decision, error)
}

// Options configure a Server.
type Options struct {
	// Root is the directory under which each instance's content lives.
	Root   string
	Clock  clock.Clock
	Logger *slog.Logger
	Audit  *slog.Logger
	// Certificates, when set, issues the server certificate of an instance
	// domain: a proxy CONNECT to one is then answered with TLS in the
	// tunnel (rolepull up --tls). Nil: CONNECT is refused, plain HTTP only.
	Certificates func(name string) (*tls.Certificate, error)
}

// Server is the registry listener of every instance.
type Server struct {
	acr     *acr.Service
	net     *netmodel.Service
	authn   Authenticator
	authz   Authorizer
	engine  *engine
	tokens  *tokens
	router  *mux.Router
	clock   clock.Clock
	log     *slog.Logger
	audit   *slog.Logger
	certs   func(name string) (*tls.Certificate, error)
	tunnels *http.Server // serves the TLS inside CONNECT tunnels
	// tunnelHosts maps each tunnel's *tls.Conn to the domain its CONNECT
	// named: the only Host its requests may name.
	tunnelHosts sync.Map
	denied      denials
	stats       Stats
}

// Stats counts what the registry served, for tests and metrics.
type Stats struct {
	BlobGets     atomic.Int64 // GET of a blob that reached an engine
	ManifestGets atomic.Int64 // GET or HEAD of a manifest that reached an engine
	Tokens       atomic.Int64 // bearer tokens issued
}

// Stats returns the registry's counters.
func (s *Server) Stats() *Stats { return &s.stats }

// New returns a registry Server.
func New(a *acr.Service, n *netmodel.Service, authn Authenticator, authz Authorizer, keys *keyring.Keyring, opts Options) (*Server, error) {
	if opts.Root == "" {
		return nil, errors.New("registry: a content root directory is required")
	}
	clk := clock.Or(opts.Clock)
	t, err := newTokens(keys, clk)
	if err != nil {
		return nil, err
	}
	s := &Server{acr: a, net: n, authn: authn, authz: authz, tokens: t, router: v2.Router(), clock: clk,
		log: opts.Logger, audit: opts.Audit, certs: opts.Certificates}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.audit == nil {
		s.audit = slog.New(slog.DiscardHandler)
	}
	s.tunnels = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if h, ok := s.tunnelHosts.Load(c); ok {
				return context.WithValue(ctx, tunnelHostKey{}, h)
			}
			return ctx
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				s.tunnelHosts.Delete(c)
			}
		},
	}
	s.engine = newEngine(opts.Root, keys, s.log)
	return s, nil
}

// Close ends every CONNECT tunnel and stops every instance engine.
func (s *Server) Close() {
	s.tunnels.Close()
	s.engine.close()
}

// ListTags implements crapi's TagLister over the engines.
func (s *Server) ListTags(ctx context.Context, instanceID, namespace, repo string) ([]Tag, error) {
	return s.engine.ListTags(ctx, instanceID, namespace, repo)
}

// ServeHTTP routes by Host: the proxy forms, the token endpoint, and /v2.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		if r.TLS != nil {
			http.Error(w, "CONNECT inside a tunnel", http.StatusMethodNotAllowed)
			return
		}
		s.serveConnect(w, r)
		return
	}
	if h, ok := r.Context().Value(tunnelHostKey{}).(string); ok && acr.NormalizeHost(r.Host) != acr.NormalizeHost(h) {
		// The client verified the certificate of h, not of the host it
		// names now.
		http.Error(w, fmt.Sprintf("this tunnel is to %s, not %s: CONNECT to %s", h, acr.NormalizeHost(r.Host), acr.NormalizeHost(r.Host)), http.StatusMisdirectedRequest)
		return
	}
	host := r.Host
	if r.URL.IsAbs() {
		// Proxy form (HTTP_PROXY): only our own instance domains, never
		// an open proxy.
		host = r.URL.Host
	}
	t, err := s.acr.ResolveHost(r.Context(), host)
	if errors.Is(err, acr.ErrNotACR) {
		if r.URL.IsAbs() {
			http.Error(w, fmt.Sprintf("rolepull proxies only its own registry domains; %q is not one", acr.NormalizeHost(host)), http.StatusForbidden)
			return
		}
		writeRegistryError(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("no registry instance serves the host %q: use an instance domain (rolepull cr instance get)", acr.NormalizeHost(host)))
		return
	}
	if err != nil {
		s.log.Error("resolve host", "host", host, "err", err)
		writeRegistryError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "the registry could not resolve its instance")
		return
	}
	src := sourceOf(r)
	if !t.Legacy {
		if ok, why := s.reachable(r.Context(), t, t.Instance, src); !ok {
			s.refuse(w, r, t, src, why)
			return
		}
	}
	switch {
	case r.URL.Path == "/token":
		s.serveToken(w, r, t, src)
	case r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"):
		s.serveV2(w, r, t, src)
	default:
		http.NotFound(w, r)
	}
}

func sourceOf(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// reachable applies the instance's network access control to a source.
func (s *Server) reachable(ctx context.Context, t acr.Target, inst acr.Instance, src netip.Addr) (bool, string) {
	if !src.IsValid() {
		return false, "no source address"
	}
	cls := netmodel.Classify(src)
	switch t.Network {
	case acr.VPC:
		if cls.Kind != netmodel.InVPC {
			return false, fmt.Sprintf("%s is not a VPC address; the -vpc domain serves bound VPCs only", src)
		}
		if !inst.Enterprise() {
			return true, ""
		}
		vpc, err := s.net.VPCOf(ctx, cls)
		if err != nil {
			return false, err.Error()
		}
		if !inst.LinkedTo(vpc.VpcID) {
			return false, fmt.Sprintf("VPC %s is not bound to instance %s (CreateInstanceVpcEndpointLinkedVpc)", vpc.VpcID, inst.InstanceID)
		}
		return true, ""
	default:
		if inst.Admits(src) {
			return true, ""
		}
		if !inst.Internet.Enabled {
			return false, fmt.Sprintf("internet access of instance %s is off (UpdateInstanceEndpointStatus)", inst.InstanceID)
		}
		return false, fmt.Sprintf("%s is not on the internet allow-list of instance %s (CreateInstanceEndpointAclPolicy)", src, inst.InstanceID)
	}
}

// refuse resets the connection: a closed network is a network error to the
// client, never an HTTP status it could mistake for an authorization
// failure. The reason goes to the audit log only.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, t acr.Target, src netip.Addr, why string) {
	s.audit.Info("connection refused", "host", t.Host, "instance", t.Instance.InstanceID, "source", src.String(), "reason", why)
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "network access denied", http.StatusForbidden)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // RST, not FIN
	}
	conn.Close()
}

// writeRegistryError writes the distribution error envelope.
func writeRegistryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

// serveConnect answers a proxy CONNECT to an instance domain — after the
// same network check as every other request, so that a closed instance
// resets the connection instead of confirming it exists. With TLS on
// (Options.Certificates) the tunnel is terminated here: the client's TLS
// handshake gets the domain's certificate from rolepull's local CA and its
// requests are served as any other, from the client's own source address.
// Without, rolepull serves its domains in plain HTTP through the proxy's
// absolute-form requests, and a CONNECT is refused with a clear message
// (clients with an insecure-registry setting fall back to HTTP).
func (s *Server) serveConnect(w http.ResponseWriter, r *http.Request) {
	t, err := s.acr.ResolveHost(r.Context(), r.Host)
	if err != nil {
		http.Error(w, fmt.Sprintf("rolepull proxies only its own registry domains; %q is not one", acr.NormalizeHost(r.Host)), http.StatusForbidden)
		return
	}
	if !t.Legacy {
		src := sourceOf(r)
		if ok, why := s.reachable(r.Context(), t, t.Instance, src); !ok {
			s.refuse(w, r, t, src, why)
			return
		}
	}
	if s.certs == nil {
		http.Error(w, "this rolepull registry speaks plain HTTP: use http:// (an insecure registry) through this proxy, or start rolepull with --tls", http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "the connection cannot be tunnelled", http.StatusInternalServerError)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	host := t.Host
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			// The tunnel is for the domain CONNECT named; a handshake for
			// another name gets nothing.
			if hello.ServerName != "" && acr.NormalizeHost(hello.ServerName) != acr.NormalizeHost(host) {
				return nil, fmt.Errorf("registry: a tunnel to %s cannot serve %q", host, hello.ServerName)
			}
			return s.certs(host)
		},
	}
	// Bytes the client sent after CONNECT (its ClientHello) may already
	// sit in the hijacked reader.
	tc := tls.Server(&bufferedConn{Conn: conn, r: brw.Reader}, cfg)
	s.tunnelHosts.Store(tc, host)
	l := &oneConn{c: tc}
	s.tunnels.Serve(l) // returns at once; the connection is served until it closes
	if c := l.take(); c != nil {
		s.tunnelHosts.Delete(c)
		c.Close() // not taken: the tunnel server is closed
	}
}

// tunnelHostKey keys the domain of a request's tunnel in its context.
type tunnelHostKey struct{}

// bufferedConn reads what a hijacked reader holds before the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// oneConn is a listener that accepts one connection and then reports
// itself closed, so http.Server.Serve hands the connection to a goroutine
// of its own (tracked for Close) and returns.
type oneConn struct {
	mu sync.Mutex
	c  net.Conn
}

func (l *oneConn) Accept() (net.Conn, error) {
	if c := l.take(); c != nil {
		return c, nil
	}
	return nil, net.ErrClosed
}

func (l *oneConn) take() net.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.c
	l.c = nil
	return c
}

func (l *oneConn) Close() error { return nil }

func (l *oneConn) Addr() net.Addr { return dummyAddr{} }

type dummyAddr struct{}

func (dummyAddr) Network() string { return "tunnel" }
func (dummyAddr) String() string  { return "tunnel" }
