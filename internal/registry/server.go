package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"

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
	// TLS says the listener serves HTTPS (challenges name https realms).
	TLS bool
}

// Server is the registry listener of every instance.
type Server struct {
	acr    *acr.Service
	net    *netmodel.Service
	authn  Authenticator
	authz  Authorizer
	engine *engine
	tokens *tokens
	router *mux.Router
	clock  clock.Clock
	log    *slog.Logger
	audit  *slog.Logger
	scheme string
	denied denials
	stats  Stats
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
		log: opts.Logger, audit: opts.Audit, scheme: "http"}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.audit == nil {
		s.audit = slog.New(slog.DiscardHandler)
	}
	if opts.TLS {
		s.scheme = "https"
	}
	s.engine = newEngine(opts.Root, keys, s.log)
	return s, nil
}

// Close stops every instance engine.
func (s *Server) Close() { s.engine.close() }

// ListTags implements crapi's TagLister over the engines.
func (s *Server) ListTags(ctx context.Context, instanceID, namespace, repo string) ([]Tag, error) {
	return s.engine.ListTags(ctx, instanceID, namespace, repo)
}

// ServeHTTP routes by Host: the proxy forms, the token endpoint, and /v2.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		s.serveConnect(w, r)
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

// serveConnect answers a proxy CONNECT. rolepull terminates no TLS for
// other hosts and serves its own domains in plain HTTP through the proxy's
// absolute-form requests, so a CONNECT to an instance domain is refused with
// a clear message (clients with an insecure-registry setting fall back to
// HTTP) — after the same network check as every other request, so a closed
// instance resets the connection instead of confirming it exists.
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
	http.Error(w, "this rolepull registry speaks plain HTTP: use http:// (an insecure registry) through this proxy", http.StatusBadGateway)
}
