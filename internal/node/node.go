// Package node wires rolepull's parts into one process — the store, the
// keyring, RAM, STS and the OpenAPI endpoint (and, as they land, the
// registry and ECI) — bootstraps the operator account on first start, and
// serves until its context ends. `rolepull up` is a thin shell around it;
// tests start a Node on loopback ports.
package node

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/adminapi"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/content"
	"github.com/rolepull/rolepull/internal/crapi"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/eciapi"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/kube"
	"github.com/rolepull/rolepull/internal/kubeapi"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/profile"
	"github.com/rolepull/rolepull/internal/pull"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/ramapi"
	"github.com/rolepull/rolepull/internal/registry"
	"github.com/rolepull/rolepull/internal/store"
	"github.com/rolepull/rolepull/internal/store/bolt"
	"github.com/rolepull/rolepull/internal/store/etcd"
	"github.com/rolepull/rolepull/internal/sts"
	"github.com/rolepull/rolepull/internal/stsapi"
	"github.com/rolepull/rolepull/internal/tlsca"
	"github.com/rolepull/rolepull/internal/vpcapi"
)

// Config configures a node. Zero values take the documented defaults.
type Config struct {
	// DataDir holds the metadata database, the master key (unless
	// MasterKeyFile or ROLEPULL_MASTER_KEY says otherwise), the audit log
	// and the admin profile. Created with mode 0700.
	DataDir string
	// OpenAPIAddr is the OpenAPI listen address (default 127.0.0.1:7400).
	OpenAPIAddr string
	// RegistryAddr is the registry listen address (default 127.0.0.1:7500):
	// every instance's domains, and an HTTP proxy for them.
	RegistryAddr string
	// BaseDomain is the suffix of instance default domains (default
	// aliyuncs.com, so the seed's manifests apply verbatim).
	BaseDomain string
	// Region is the default region (default cn-hangzhou).
	Region string
	// MasterKeyFile overrides DataDir/master.key.
	MasterKeyFile string
	// MasterKey, when set, is the master key itself (64 hex characters),
	// as read from ROLEPULL_MASTER_KEY.
	MasterKey string
	// EtcdEndpoints selects the etcd backend instead of the embedded one.
	EtcdEndpoints []string
	// AdminProfile is where the operator's profile is written (default
	// DataDir/admin-profile.json).
	AdminProfile string
	// Logger receives operational logs (nil: discard).
	Logger *slog.Logger
	// AuditStderr also copies audit records to stderr.
	AuditStderr io.Writer
	// Clock is the time source (nil: the system clock).
	Clock clock.Clock
	// ECI tunes the container and image-cache reconciler (tests).
	ECI eci.Options
	// STSTimeout bounds one walk of a pod's role chain (default
	// pull.DefaultSTSTimeout): past it the pull fails as a network
	// failure and the pod retries with back-off.
	STSTimeout time.Duration
	// AllowLoopbackRegistries lets pods pull images from registries on
	// this machine's loopback addresses (see pull.Options).
	AllowLoopbackRegistries bool
	// WrapAssumer, when set, stands between the puller and STS; the fault
	// tests use it to make STS slow or unavailable.
	WrapAssumer func(pull.Assumer) pull.Assumer
	// TLS turns on rolepull's local CA (DataDir/tls): the OpenAPI endpoint
	// serves HTTPS, and the registry terminates TLS inside proxy CONNECT
	// tunnels to instance domains. The admin profile names the CA file.
	TLS bool
	// TLSNames are further names the OpenAPI certificate may carry (it
	// always serves localhost, this machine's hostname and any address a
	// client reaches it on).
	TLSNames []string
	// DialHost, when set, dials registries that are not ACR in place of
	// the real network (behind the egress guard still); tests use it to
	// keep a fuzzed registry's redirects on loopback.
	DialHost func(ctx context.Context, network, addr string) (net.Conn, error)
	// HeaderTimeout bounds how long a client may take to send a request's
	// headers on either listener, however slowly it trickles them (default
	// DefaultHeaderTimeout).
	HeaderTimeout time.Duration
}

// DefaultHeaderTimeout is Config.HeaderTimeout's default.
const DefaultHeaderTimeout = 10 * time.Second

// Defaults.
const (
	DefaultOpenAPIAddr  = "127.0.0.1:7400"
	DefaultRegistryAddr = "127.0.0.1:7500"
	DefaultRegion       = "cn-hangzhou"
	OperatorAccount     = "default"
)

// Node is a running rolepull.
type Node struct {
	cfg      Config
	log      *slog.Logger
	Store    store.Store
	Keys     *keyring.Keyring
	RAM      *ram.Service
	STS      *sts.Service
	Net      *netmodel.Service
	ACR      *acr.Service
	Registry *registry.Server
	Content  *content.Store
	Puller   *pull.Puller
	ECI      *eci.Service
	Kube     *kube.Service
	OpenAPI  *openapi.Server
	Operator ram.Account
	// CA is the local certificate authority (Config.TLS), or nil.
	CA *tlsca.CA
	// Profile is the operator's profile, as written to AdminProfile.
	Profile profile.Profile

	auditFile    *os.File
	openapiLn    net.Listener
	openapiHTTP  *http.Server
	registryLn   net.Listener
	registryHTTP *http.Server
}

// New opens everything a node needs and binds its listeners; Run serves.
// On error everything opened so far is closed.
func New(ctx context.Context, cfg Config) (n *Node, err error) {
	if cfg.DataDir == "" {
		return nil, errors.New("node: a data directory is required (--data-dir)")
	}
	if cfg.OpenAPIAddr == "" {
		cfg.OpenAPIAddr = DefaultOpenAPIAddr
	}
	if cfg.RegistryAddr == "" {
		cfg.RegistryAddr = DefaultRegistryAddr
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.AdminProfile == "" {
		cfg.AdminProfile = filepath.Join(cfg.DataDir, "admin-profile.json")
	}
	n = &Node{cfg: cfg, log: cfg.Logger}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data directory: %w", err)
	}
	switch {
	case cfg.MasterKey != "":
		n.Keys, err = keyring.Parse(cfg.MasterKey)
	case cfg.MasterKeyFile != "":
		n.Keys, err = keyring.Load(cfg.MasterKeyFile)
	default:
		n.Keys, err = keyring.Load(filepath.Join(cfg.DataDir, "master.key"))
	}
	if err != nil {
		return nil, err
	}
	if len(cfg.EtcdEndpoints) > 0 {
		n.Store, err = etcd.New(ctx, etcd.Config{Endpoints: cfg.EtcdEndpoints, Logger: n.log})
	} else {
		n.Store, err = bolt.Open(filepath.Join(cfg.DataDir, "meta.db"), bolt.Options{Logger: n.log})
	}
	if err != nil {
		return nil, fmt.Errorf("node: store: %w", err)
	}
	n.auditFile, err = os.OpenFile(filepath.Join(cfg.DataDir, "audit.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("node: audit log: %w", err)
	}
	var auditOut io.Writer = n.auditFile
	if cfg.AuditStderr != nil {
		auditOut = io.MultiWriter(n.auditFile, cfg.AuditStderr)
	}
	audit := slog.New(slog.NewJSONHandler(auditOut, nil)).With("log", "audit")

	clk := clock.Or(cfg.Clock)
	if n.RAM, err = ram.New(n.Store, n.Keys, ram.Options{Clock: clk, Logger: n.log}); err != nil {
		return nil, err
	}
	n.STS = sts.New(n.RAM, n.Keys, sts.Options{Clock: clk, Logger: n.log, Audit: audit})
	n.Net = netmodel.New(n.Store, clk)
	n.ACR = acr.New(n.Store, n.RAM, n.Net, n.Keys, acr.Options{Base: cfg.BaseDomain, Clock: clk, Logger: n.log})
	regOpts := registry.Options{Root: filepath.Join(cfg.DataDir, "registry"), Clock: clk, Logger: n.log, Audit: audit}
	if cfg.TLS {
		if n.CA, err = tlsca.Open(filepath.Join(cfg.DataDir, "tls"), n.Keys, clk); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		regOpts.Certificates = n.CA.Leaf
	}
	if n.Registry, err = registry.New(n.ACR, n.Net, n.STS, n.RAM, n.Keys, regOpts); err != nil {
		return nil, err
	}
	if err := n.bootstrap(ctx); err != nil {
		return nil, err
	}

	n.OpenAPI = openapi.NewServer(n.STS, n.RAM, openapi.Options{Clock: clk, Logger: n.log, Audit: audit, DefaultRegion: cfg.Region})
	ramapi.Register(n.OpenAPI, n.RAM)
	stsapi.Register(n.OpenAPI, n.STS, n.RAM)
	adminapi.Register(n.OpenAPI, n.RAM, n.Operator.ID)
	crapi.Register(n.OpenAPI, n.ACR, crapi.TagListerFunc(func(ctx context.Context, inst, ns, repo string) ([]crapi.Tag, error) {
		ts, err := n.Registry.ListTags(ctx, inst, ns, repo)
		out := make([]crapi.Tag, len(ts))
		for i, t := range ts {
			out[i] = crapi.Tag(t)
		}
		return out, err
	}))
	vpcapi.Register(n.OpenAPI, n.Net)

	if n.openapiLn, err = net.Listen("tcp", cfg.OpenAPIAddr); err != nil {
		return nil, fmt.Errorf("node: OpenAPI listener: %w", err)
	}
	n.openapiHTTP = newHTTPServer(n.OpenAPI, n.log, cfg.HeaderTimeout)
	n.Profile.Endpoint = "http://" + n.openapiLn.Addr().String()
	if n.CA != nil {
		n.openapiLn = tls.NewListener(n.openapiLn, n.CA.ServerConfig(openapiNames(cfg.TLSNames)))
		n.Profile.Endpoint = "https://" + n.openapiLn.Addr().String()
		n.Profile.CAFile = n.CA.CertPath()
	}
	if n.registryLn, err = net.Listen("tcp", cfg.RegistryAddr); err != nil {
		return nil, fmt.Errorf("node: registry listener: %w", err)
	}
	if n.Content, err = content.Open(filepath.Join(cfg.DataDir, "content"), n.Store, content.Options{Logger: n.log, Clock: clk}); err != nil {
		return nil, fmt.Errorf("node: content store: %w", err)
	}
	var assumer pull.Assumer = n.STS
	if cfg.WrapAssumer != nil {
		assumer = cfg.WrapAssumer(assumer)
	}
	n.Puller = pull.New(n.ACR, n.RAM, assumer, n.Net, n.Content, pull.Options{
		RegistryAddr: n.registryLn.Addr().String(), Clock: clk, Logger: n.log, STSTimeout: cfg.STSTimeout,
		AllowLoopbackRegistries: cfg.AllowLoopbackRegistries, DialHost: cfg.DialHost})
	eciOpts := cfg.ECI
	eciOpts.Clock, eciOpts.Logger = clk, n.log
	n.ECI = eci.New(n.Store, n.RAM, n.Net, n.Puller, n.Content, n.Keys, eciOpts)
	eciapi.Register(n.OpenAPI, n.ECI)
	n.Kube = kube.New(n.Store, n.ECI, n.Keys, clk, n.log)
	kubeapi.Register(n.OpenAPI, n.Kube)
	n.registryHTTP = newHTTPServer(n.Registry, n.log, cfg.HeaderTimeout)
	n.registryHTTP.ReadTimeout = 0 // layer uploads may take long; headers stay bounded
	n.registryHTTP.MaxHeaderBytes = 64 << 10
	n.Profile.RegistryEndpoint = "http://" + n.registryLn.Addr().String()
	if err := n.writeProfile(); err != nil {
		return nil, err
	}
	return n, nil
}

// openapiNames is who the OpenAPI certificate may name when a client asks
// by name: localhost, this machine's hostname, and the names given.
func openapiNames(extra []string) func(string) bool {
	names := map[string]bool{"localhost": true}
	if h, err := os.Hostname(); err == nil {
		names[tlsca.NormalizeName(h)] = true
	}
	for _, n := range extra {
		names[tlsca.NormalizeName(n)] = true
	}
	return func(name string) bool { return names[name] }
}

func newHTTPServer(h http.Handler, log *slog.Logger, headerTimeout time.Duration) *http.Server {
	if headerTimeout <= 0 {
		headerTimeout = DefaultHeaderTimeout
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    openapi.MaxHeaderBytes + openapi.MaxQueryBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// OpenAPIURL is the OpenAPI base URL.
func (n *Node) OpenAPIURL() string { return n.Profile.Endpoint }

// RegistryURL is the registry listener's URL, which is also the HTTP proxy
// for instance domains.
func (n *Node) RegistryURL() string { return n.Profile.RegistryEndpoint }

// bootstrapKey records the operator account and its first AccessKey id (not
// its secret: that is derived whenever the profile is written).
const bootstrapKey = "node/bootstrap"

type bootstrapRecord struct {
	Account     string `json:"account"`
	AccessKeyID string `json:"accessKeyId"`
}

// bootstrap creates the operator account and its root AccessKey on the
// first start, and finds them again on every later one.
func (n *Node) bootstrap(ctx context.Context) error {
	var rec bootstrapRecord
	kv, err := n.Store.Get(ctx, bootstrapKey)
	switch {
	case err == nil:
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return fmt.Errorf("node: bootstrap record: %w", err)
		}
	case errors.Is(err, store.ErrNotFound):
		// The account and its key are one transaction, the record another:
		// a start killed between them (or an older build's, which made the
		// key separately) left the account, perhaps its key, and no
		// record; this one picks them up instead of failing on the name.
		acc, err := n.operatorAccount(ctx)
		if err != nil {
			return fmt.Errorf("node: bootstrap: %w", err)
		}
		k, err := n.operatorKey(ctx, acc.ID)
		if err != nil {
			return fmt.Errorf("node: bootstrap: %w", err)
		}
		rec = bootstrapRecord{Account: acc.ID, AccessKeyID: k.AccessKeyID}
		b, _ := json.Marshal(rec)
		if _, err := n.Store.Txn(ctx, []store.Cond{store.Absent(bootstrapKey)}, []store.Op{store.Put(bootstrapKey, b)}); err != nil {
			return fmt.Errorf("node: bootstrap: %w", err)
		}
		n.log.Info("bootstrapped operator account", "account", acc.ID)
	default:
		return fmt.Errorf("node: bootstrap: %w", err)
	}
	acc, err := n.RAM.GetAccount(ctx, rec.Account)
	if err != nil {
		return fmt.Errorf("node: operator account: %w", err)
	}
	n.Operator = acc
	n.Profile = profile.Profile{
		Region:          n.cfg.Region,
		AccountID:       acc.ID,
		AccessKeyID:     rec.AccessKeyID,
		AccessKeySecret: n.RAM.AccessKeySecret(rec.AccessKeyID),
	}
	if _, err := n.RAM.GetAccessKey(ctx, rec.AccessKeyID); err != nil {
		n.log.Warn("the operator's bootstrap AccessKey no longer exists; the admin profile will not work", "access_key_id", rec.AccessKeyID)
	}
	return nil
}

// operatorAccount returns the operator account, creating it unless a
// start before this one did.
func (n *Node) operatorAccount(ctx context.Context) (ram.Account, error) {
	accs, err := n.RAM.ListAccounts(ctx)
	if err != nil {
		return ram.Account{}, err
	}
	for _, a := range accs {
		if a.Name == OperatorAccount {
			n.log.Info("bootstrap resumes with the operator account an interrupted start created", "account", a.ID)
			return a, nil
		}
	}
	a, _, _, err := n.RAM.CreateAccountWithKey(ctx, OperatorAccount)
	return a, err
}

// operatorKey returns the operator's root AccessKey, creating it unless a
// start before this one did.
func (n *Node) operatorKey(ctx context.Context, acct string) (ram.AccessKey, error) {
	keys, err := n.RAM.ListAccessKeys(ctx, acct, "")
	if err != nil {
		return ram.AccessKey{}, err
	}
	for _, k := range keys {
		if k.Status == ram.KeyActive {
			return k, nil
		}
	}
	k, _, err := n.RAM.CreateAccessKey(ctx, acct, "")
	return k, err
}

// writeProfile (re)writes the admin profile: its secret is derived, so a
// lost file is simply written again.
func (n *Node) writeProfile() error {
	if err := profile.Write(n.cfg.AdminProfile, n.Profile); err != nil {
		return fmt.Errorf("node: admin profile: %w", err)
	}
	return nil
}

// Run serves until ctx ends, then shuts down gracefully.
func (n *Node) Run(ctx context.Context) error {
	ectx, stopECI := context.WithCancel(ctx)
	defer func() { stopECI(); n.ECI.Wait() }()
	if err := n.ECI.Start(ectx); err != nil {
		return fmt.Errorf("node: ECI reconciler: %w", err)
	}
	errc := make(chan error, 2)
	go func() { errc <- fmt.Errorf("node: OpenAPI server: %w", n.openapiHTTP.Serve(n.openapiLn)) }()
	go func() { errc <- fmt.Errorf("node: registry server: %w", n.registryHTTP.Serve(n.registryLn)) }()
	n.log.Info("serving", "openapi", n.OpenAPIURL(), "registry", n.RegistryURL())
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	stopECI()
	n.ECI.Wait()
	n.Puller.Close() // its idle connections would hold the registry's shutdown
	return errors.Join(err, n.openapiHTTP.Shutdown(shut), n.registryHTTP.Shutdown(shut))
}

// Close releases everything New opened.
func (n *Node) Close() error {
	var errs []error
	if n.openapiHTTP != nil {
		errs = append(errs, n.openapiHTTP.Close())
	}
	if n.registryHTTP != nil {
		errs = append(errs, n.registryHTTP.Close())
	}
	for _, ln := range []net.Listener{n.openapiLn, n.registryLn} {
		if ln == nil {
			continue
		}
		if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if n.Registry != nil {
		n.Registry.Close()
	}
	if n.Content != nil {
		errs = append(errs, n.Content.Close())
	}
	if n.Store != nil {
		errs = append(errs, n.Store.Close())
	}
	if n.auditFile != nil {
		errs = append(errs, n.auditFile.Close())
	}
	return errors.Join(errs...)
}
