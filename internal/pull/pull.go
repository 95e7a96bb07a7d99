package pull

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/content"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/sts"
)

// ErrSTSUnavailable marks a pull that failed because STS did not answer:
// not a refusal, so a credential still valid may be used meanwhile.
var ErrSTSUnavailable = errors.New("STS unavailable")

// ECIService is the service principal that assumes pull roles.
const ECIService = "eci.aliyuncs.com"

// Options configure a Puller.
type Options struct {
	// RegistryAddr is where every instance domain is served (the registry
	// listener, host:port).
	RegistryAddr string
	// LayerConcurrency bounds concurrent layer fetches per image (default 4).
	LayerConcurrency int
	// Platform is the platform chosen from an index (default linux/amd64).
	Platform v1.Platform
	Clock    clock.Clock
	Logger   *slog.Logger
	// DialHost dials a non-ACR registry host (default: the real network).
	DialHost func(ctx context.Context, network, addr string) (net.Conn, error)
	// AllowLoopbackRegistries lets pods pull from registries on this
	// machine's loopback addresses (a development registry on
	// localhost:5000). Off by default: the puller runs inside rolepull, so
	// an image on 127.0.0.1:7400 would make rolepull call itself.
	// Link-local addresses and the metadata service are refused always.
	AllowLoopbackRegistries bool
	// STSTimeout bounds one walk of a role chain, so that an STS that
	// does not answer fails a pull instead of hanging it (default 30s).
	STSTimeout time.Duration
}

// DefaultSTSTimeout is the default Options.STSTimeout.
const DefaultSTSTimeout = 30 * time.Second

// Assumer is the part of STS a pull uses: assuming a role and resolving
// the session it returns. *sts.Service implements it; a fault test puts an
// STS that is slow or down in its place.
type Assumer interface {
	AssumeRole(ctx context.Context, caller ram.Identity, in sts.AssumeRoleInput) (sts.Credentials, sts.AssumedRoleUser, error)
	Verify(accessKeyID, token string) (ram.Identity, string, error)
}

// Puller plans and performs pulls.
type Puller struct {
	acr     *acr.Service
	ram     *ram.Service
	sts     Assumer
	net     *netmodel.Service
	content *content.Store
	opts    Options
	clock   clock.Clock
	log     *slog.Logger
	creds   *credCache

	mu         sync.Mutex
	transports map[string]http.RoundTripper // by source address
}

// New returns a Puller.
func New(a *acr.Service, r *ram.Service, s Assumer, n *netmodel.Service, c *content.Store, opts Options) *Puller {
	if opts.LayerConcurrency <= 0 {
		opts.LayerConcurrency = 4
	}
	if opts.STSTimeout <= 0 {
		opts.STSTimeout = DefaultSTSTimeout
	}
	if opts.Platform.OS == "" {
		opts.Platform = v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	p := &Puller{acr: a, ram: r, sts: s, net: n, content: c, opts: opts, clock: clock.Or(opts.Clock), log: opts.Logger,
		transports: make(map[string]http.RoundTripper)}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.creds = newCredCache(p.clock, p.log)
	return p
}

// Close closes the idle connections of every transport, so that a server
// shutting down is not held by connections the puller keeps open.
func (p *Puller) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.transports {
		if c, ok := t.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

// CacheStats returns the credential cache's hit and miss counts.
func (p *Puller) CacheStats() (hits, misses int) { return p.creds.stats() }

// StaleCredentialUses counts the pulls that used a cached credential past
// its half-life because STS did not answer the refresh.
func (p *Puller) StaleCredentialUses() int { return p.creds.staleUses() }

// Plan is how one image will be pulled.
type Plan struct {
	Image string
	Ref   name.Reference
	// ACR is set when the image lives in an instance pulled secret-free.
	ACR      bool
	Instance acr.Instance
	Chain    []string // the role ARNs assumed, in order
	key      cacheKey
	// Host is the domain dialled (the -vpc domain when the pod's VPC is
	// bound), Source the address dialled from.
	Host     string
	Source   netip.Addr
	Network  acr.Network
	settings Settings
	// credential is the imagePullSecret used for a non-ACR image, if any.
	credential *Credential
	// served is set for a domain the registry listener serves that is not
	// pulled secret-free (a custom domain the pod does not list): it is
	// dialled there, with no role credentials. note says why.
	served bool
	note   string
}

// Identity describes the identity a plan pulls with, for status.
func (p Plan) Identity() string {
	switch {
	case p.ACR:
		return ECIService + " → " + strings.Join(p.Chain, " → ")
	case p.credential != nil:
		return "imagePullSecret for " + p.credential.Server
	}
	return "anonymous"
}

// Plan resolves an image to its registry, identity and endpoint without
// touching the network.
func (p *Puller) Plan(ctx context.Context, s Settings, image string) (Plan, error) {
	err := checkReference(image)
	var ref name.Reference
	if err == nil {
		ref, err = name.ParseReference(image, name.WeakValidation)
	}
	if err != nil {
		return Plan{}, fail(Invalid, image, "", "", err, "write REGISTRY/NAMESPACE/REPO:TAG or @sha256:DIGEST", "image %q is not a valid reference: %v", image, err)
	}
	pl := Plan{Image: image, Ref: ref, settings: s}
	host := ref.Context().RegistryStr()
	t, err := p.acr.ResolveHost(ctx, host)
	switch {
	case errors.Is(err, acr.ErrNotACR):
		return p.planOther(pl, host), nil
	case err != nil:
		return Plan{}, fail(Internal, image, "", "", err, "", "resolving %s: %v", host, err)
	}
	inst := t.Instance
	if t.Legacy {
		ns, _, _ := strings.Cut(ref.Context().RepositoryStr(), "/")
		if inst, err = p.acr.ResolveLegacy(ctx, t.Region, ns); err != nil {
			return Plan{}, fail(NotFound, image, "", "", err, "push the image to a Personal instance of region "+t.Region+" first", "%v", err)
		}
	}
	if t.Domain == acr.UserDomain {
		// A custom domain is ACR only through acr-instance-ids (DESIGN §2).
		ref, listed := listed(s, inst.InstanceID)
		if listed && len(ref.Domains) > 0 && !slices.Contains(ref.Domains, t.Host) {
			// AcrRegistryInfo.Domain limits the instance's domains.
			listed = false
		}
		if !listed {
			pl = p.planOther(pl, host)
			pl.served, pl.Source = true, p.egress(ctx, s)
			pl.note = fmt.Sprintf("%s is a custom domain of instance %s, and pulls from a custom domain are secret-free only when k8s.aliyun.com/acr-instance-ids lists the instance", host, inst.InstanceID)
			return pl, nil
		}
		region := ref.Region
		if region == "" {
			region = s.Region
		}
		if region != inst.Region {
			return Plan{}, fail(NotFound, image, inst.InstanceID, "", nil,
				fmt.Sprintf("write %s:%s in k8s.aliyun.com/acr-instance-ids", inst.Region, inst.InstanceID),
				"instance %s was not found in region %s (the pod's region, as the annotation names no region)", inst.InstanceID, region)
		}
	}
	pl.ACR, pl.Instance = true, inst
	if err := p.chooseChain(&pl); err != nil {
		return Plan{}, err
	}
	if err := p.chooseEndpoint(ctx, &pl, t); err != nil {
		return Plan{}, err
	}
	return pl, nil
}

func listed(s Settings, id string) (InstanceRef, bool) {
	for _, r := range s.Instances {
		if r.InstanceID == id {
			return r, true
		}
	}
	return InstanceRef{}, false
}

// planOther prepares a pull from a registry that is not ACR: an
// imagePullSecret for that server, or anonymous. Role credentials are never
// involved.
func (p *Puller) planOther(pl Plan, host string) Plan {
	for i, c := range pl.settings.Credentials {
		if serverHost(c.Server) == strings.ToLower(host) {
			pl.credential = &pl.settings.Credentials[i]
			break
		}
	}
	pl.Host = host
	return pl
}

// serverHost normalizes an imagePullSecret server key
// ("https://index.docker.io/v1/", "reg:5000") to a host.
func serverHost(server string) string {
	s := strings.ToLower(server)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	if s == "docker.io" || s == "registry-1.docker.io" {
		s = "index.docker.io"
	}
	return s
}

// egress is the address a pod reaches the internet from: its vSwitch's NAT
// address, or the host's.
func (p *Puller) egress(ctx context.Context, s Settings) netip.Addr {
	if s.VSwitchID != "" {
		if vsw, err := p.net.GetVSwitch(ctx, s.Account, s.VSwitchID); err == nil {
			if vpc, err := p.net.GetVPC(ctx, s.Account, vsw.VpcID); err == nil {
				return vsw.EgressAddr(vpc.Number)
			}
		}
	}
	return netip.MustParseAddr("127.0.0.1")
}

// chooseChain picks the identity: the service-linked role, or the chain
// ending in a role of the instance's account.
func (p *Puller) chooseChain(pl *Plan) error {
	s, inst := pl.settings, pl.Instance
	if len(s.Chains) == 0 {
		if inst.Account != s.Account {
			return fail(Trust, pl.Image, inst.InstanceID, "", nil,
				"add k8s.aliyun.com/acr-service-arns (a role of account "+s.Account+" trusted by ECI, with AliyunSTSAssumeRoleAccess) and k8s.aliyun.com/acr-user-arns (a role of account "+inst.Account+" that trusts it)",
				"instance %s belongs to account %s, and the ECI service-linked role of account %s pulls only from its own account", inst.InstanceID, inst.Account, s.Account)
		}
		pl.Chain = []string{arn.RoleARN(s.Account, ram.ECIServiceLinkedRole.RoleName)}
	} else {
		var accounts []string
		for _, c := range s.Chains {
			last, _ := arn.ParseRole(c.Last())
			if last.Account == inst.Account {
				pl.Chain = []string{c.Service}
				if c.User != "" {
					pl.Chain = append(pl.Chain, c.User)
				}
				break
			}
			accounts = append(accounts, last.Account)
		}
		if pl.Chain == nil {
			return fail(Trust, pl.Image, inst.InstanceID, "", nil,
				"add to k8s.aliyun.com/acr-user-arns a role of account "+inst.Account+" (paired with a service ARN at the same position)",
				"instance %s belongs to account %s, but the pod's role chains end in account(s) %s; the service-linked role is not used once acr-service-arns is set", inst.InstanceID, inst.Account, strings.Join(accounts, ", "))
		}
	}
	pl.key = cacheKey{chain: chainKey(pl.Chain), instance: inst.InstanceID, region: inst.Region}
	return nil
}

// chooseEndpoint picks the -vpc domain when the pod's VPC is bound, else the
// public domain when internet access admits the pod's egress address.
func (p *Puller) chooseEndpoint(ctx context.Context, pl *Plan, t acr.Target) error {
	inst := pl.Instance
	s := pl.settings
	var vpcSrc, egress netip.Addr = netip.Addr{}, netip.MustParseAddr("127.0.0.1")
	where := "the host's internet address 127.0.0.1"
	vpcID := ""
	if s.VSwitchID != "" {
		vsw, err := p.net.GetVSwitch(ctx, s.Account, s.VSwitchID)
		if err != nil {
			return fail(NotFound, pl.Image, inst.InstanceID, "", err, "create the container group in an existing vSwitch", "%v", err)
		}
		vpc, err := p.net.GetVPC(ctx, s.Account, vsw.VpcID)
		if err != nil {
			return fail(NotFound, pl.Image, inst.InstanceID, "", err, "", "%v", err)
		}
		vpcID = vpc.VpcID
		vpcSrc = netmodel.WorkloadAddr(vpc.Number, vsw.Number, hostNumber(s.Session))
		egress = vsw.EgressAddr(vpc.Number)
		where = fmt.Sprintf("VPC %s (egress %s)", vpc.VpcID, egress)
	}
	if vpcSrc.IsValid() && inst.Enterprise() && inst.LinkedTo(vpcID) {
		pl.Host, pl.Source, pl.Network = inst.VPCHost(p.acr.Base()), vpcSrc, acr.VPC
		return nil
	}
	if inst.Admits(egress) {
		pl.Host, pl.Source, pl.Network = t.Host, egress, acr.Internet
		if t.Network == acr.VPC || t.Legacy {
			pl.Host = inst.PublicHost(p.acr.Base())
		}
		return nil
	}
	fix := fmt.Sprintf("bind the pod's VPC to %s (CreateInstanceVpcEndpointLinkedVpc), or turn on its internet access and allow %s (UpdateInstanceEndpointStatus, CreateInstanceEndpointAclPolicy)", inst.InstanceID, egress)
	return fail(Network, pl.Image, inst.InstanceID, "", nil, fix,
		"instance %s accepts no connection from %s: an Enterprise instance is closed to every network until access is granted", inst.InstanceID, where)
}

// hostNumber spreads pods over a vSwitch's addresses (2..253).
func hostNumber(session string) int {
	h := fnv.New32a()
	h.Write([]byte(session))
	return 2 + int(h.Sum32()%252)
}

// credentials returns the temporary password for a plan, from the cache
// or by assuming the chain.
func (p *Puller) credentials(ctx context.Context, pl Plan) (acr.TempPassword, error) {
	e, err := p.creds.get(ctx, pl.key, func(ctx context.Context) (cacheEntry, error) {
		ctx, cancel := context.WithTimeout(ctx, p.opts.STSTimeout)
		defer cancel()
		return p.assume(ctx, pl)
	})
	return e.pw, err
}

// assume walks the chain as the ECI service and mints a temporary
// password for the instance.
func (p *Puller) assume(ctx context.Context, pl Plan) (cacheEntry, error) {
	inst := pl.Instance
	caller := ram.ServiceIdentity(ECIService)
	if len(pl.settings.Chains) == 0 {
		if _, err := p.ram.EnsureServiceLinkedRole(ctx, pl.settings.Account, ram.ECIServiceLinkedRole); err != nil {
			return cacheEntry{}, fail(Internal, pl.Image, inst.InstanceID, pl.Chain[0], err, "", "creating the ECI service-linked role: %v", err)
		}
	}
	session := pl.settings.Session
	if !arn.IsSessionName(session) {
		session = "eci-pull"
	}
	for i, roleARN := range pl.Chain {
		creds, _, err := p.sts.AssumeRole(ctx, caller, sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: session, DurationSeconds: ram.DefaultSessionDuration})
		if err != nil {
			return cacheEntry{}, assumeFailure(pl, i, caller, roleARN, err)
		}
		if caller, _, err = p.sts.Verify(creds.AccessKeyID, creds.SecurityToken); err != nil {
			return cacheEntry{}, fail(Internal, pl.Image, inst.InstanceID, roleARN, err, "", "verifying the session of %s: %v", roleARN, err)
		}
	}
	instARN := arn.Registry{Region: inst.Region, Account: inst.Account, Instance: inst.InstanceID}.InstanceARN()
	repoARN := arn.Registry{Region: inst.Region, Account: inst.Account, Instance: inst.InstanceID}.RepositoryARN()
	d, err := p.ram.Authorize(ctx, caller, ram.Request{Action: "cr:GetAuthorizationToken", Resources: []string{instARN, repoARN}})
	if err != nil {
		return cacheEntry{}, fail(Internal, pl.Image, inst.InstanceID, "", err, "", "authorizing GetAuthorizationToken: %v", err)
	}
	last := pl.Chain[len(pl.Chain)-1]
	if !d.Allowed {
		return cacheEntry{}, fail(Permission, pl.Image, inst.InstanceID, last, nil,
			"attach a policy allowing cr:GetAuthorizationToken and cr:PullRepository on "+instARN+" to "+last,
			"GetAuthorizationToken for %s denied: %s", inst.InstanceID, d.Reason)
	}
	pw, err := p.acr.IssueTempPassword(caller, inst)
	if err != nil {
		return cacheEntry{}, fail(Internal, pl.Image, inst.InstanceID, last, err, "", "issuing a temporary password: %v", err)
	}
	return cacheEntry{pw: pw, fetched: p.clock.Now(), chain: pl.Chain}, nil
}

// assumeFailure classifies a refused AssumeRole.
func assumeFailure(pl Plan, hop int, caller ram.Identity, roleARN string, err error) error {
	inst := pl.Instance.InstanceID
	var se *sts.Error
	if errors.As(err, &se) && errors.Is(err, sts.ErrNoPermission) {
		switch se.Kind {
		case "trust":
			fix := "let " + caller.ARN() + " assume it: edit the trust policy of " + roleARN
			if hop == 0 {
				fix = "make " + roleARN + " trust the ECI service (Principal Service eci.aliyuncs.com)"
			}
			return fail(Trust, pl.Image, inst, roleARN, err, fix, "%s cannot assume %s: %s", caller.ARN(), roleARN, se.Msg)
		default:
			return fail(Permission, pl.Image, inst, roleARN, err,
				"attach AliyunSTSAssumeRoleAccess (or sts:AssumeRole on "+roleARN+") to the role "+caller.RoleName,
				"%s may not call sts:AssumeRole on %s: %s", caller.ARN(), roleARN, se.Msg)
		}
	}
	var re *ram.Error
	if errors.As(err, &re) && errors.Is(err, ram.ErrNotFound) {
		return fail(NotFound, pl.Image, inst, roleARN, err, "create the role, or correct the ARN in the pod's annotations", "role %s does not exist", roleARN)
	}
	if errors.As(err, &se) {
		return fail(Invalid, pl.Image, inst, roleARN, err, "", "%v", err)
	}
	if errors.As(err, &re) {
		return fail(Internal, pl.Image, inst, roleARN, err, "", "assuming %s: %v", roleARN, err)
	}
	// Neither a refusal nor a bad request: STS did not answer (its store
	// is down, or it ran out of time). The pod retries with back-off.
	return fail(Network, pl.Image, inst, roleARN, fmt.Errorf("%w: %w", ErrSTSUnavailable, err),
		"STS is unavailable; the pod retries with back-off — check rolepull's metadata store (etcd) and its log",
		"STS did not answer AssumeRole on %s: %v", roleARN, err)
}

// transport dials every registry connection of a source address: ACR
// domains at the registry listener, bound to the pod's address.
func (p *Puller) transport(pl Plan) http.RoundTripper {
	key := pl.Source.String()
	viaRegistry := pl.ACR || pl.served
	if !viaRegistry {
		key = "other"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.transports[key]; ok {
		return t
	}
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	if viaRegistry {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: pl.Source.AsSlice()}, Timeout: 10 * time.Second}
		dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, p.opts.RegistryAddr)
		}
	} else {
		dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
		if p.opts.DialHost != nil {
			dial = p.opts.DialHost
		}
		dial = guardEgress(dial, p.opts.AllowLoopbackRegistries)
	}
	t := &http.Transport{
		DialContext:           dial,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		// Never follow a proxy from the environment: role credentials go
		// to the registry listener and nowhere else.
		Proxy: nil,
	}
	p.transports[key] = t
	return t
}

// Progress reports a pull's progress.
type Progress struct {
	Layers, LayersDone int
	Bytes, BytesDone   int64
}

// Result is a completed pull.
type Result struct {
	Plan     Plan
	Digest   digest.Digest   // the manifest (or index) digest the reference resolved to
	Digests  []digest.Digest // every blob stored: index, manifest, config, layers
	Sizes    []int64         // the size of each of Digests
	Bytes    int64
	Identity string
}

// FetchOptions tune one fetch.
type FetchOptions struct {
	// Progress, if set, is called as layers arrive.
	Progress func(Progress)
	// Pin, if set, is called with every digest of the image once the
	// manifest is known and before any layer is stored, so that the
	// content store's garbage collection cannot take a layer of a long
	// pull before the pull ends.
	Pin func([]digest.Digest) error
}

// Pull plans and performs the pull of one image into the content store.
func (p *Puller) Pull(ctx context.Context, s Settings, image string, opts FetchOptions) (Result, error) {
	pl, err := p.Plan(ctx, s, image)
	if err != nil {
		return Result{}, err
	}
	return p.Fetch(ctx, pl, opts)
}

// Fetch performs a planned pull. A 401 refreshes the credentials once.
func (p *Puller) Fetch(ctx context.Context, pl Plan, opts FetchOptions) (Result, error) {
	res, err := p.fetchOnce(ctx, pl, opts)
	if pl.ACR && isUnauthorized(err) {
		p.creds.invalidate(pl.key)
		res, err = p.fetchOnce(ctx, pl, opts)
	}
	if err != nil {
		return Result{}, p.classify(pl, err)
	}
	return res, nil
}

// remote returns the reference to dial and the options that carry the
// plan's identity and transport.
func (p *Puller) remote(ctx context.Context, pl Plan) (name.Reference, []remote.Option, error) {
	ref, opts, _, err := p.remoteAuth(ctx, pl)
	return ref, opts, err
}

// remoteAuth is remote, with the authenticator it chose.
func (p *Puller) remoteAuth(ctx context.Context, pl Plan) (name.Reference, []remote.Option, authn.Authenticator, error) {
	auth := authn.Anonymous
	ref := pl.Ref
	switch {
	case pl.ACR:
		pw, err := p.credentials(ctx, pl)
		if err != nil {
			return nil, nil, nil, err
		}
		auth = &authn.Basic{Username: pw.Username, Password: pw.Password}
		repo, err := name.NewRepository(pl.Host+"/"+pl.Ref.Context().RepositoryStr(), name.Insecure)
		if err != nil {
			return nil, nil, nil, err
		}
		if d, ok := pl.Ref.(name.Digest); ok {
			ref = repo.Digest(d.DigestStr())
		} else {
			ref = repo.Tag(pl.Ref.Identifier())
		}
	case pl.credential != nil:
		auth = &authn.Basic{Username: pl.credential.Username, Password: pl.credential.Password}
	}
	if pl.served {
		// The listener speaks plain HTTP.
		r, err := name.ParseReference(pl.Ref.Name(), name.Insecure)
		if err != nil {
			return nil, nil, nil, err
		}
		ref = r
	}
	opts := []remote.Option{
		remote.WithAuth(auth), remote.WithTransport(p.transport(pl)), remote.WithContext(ctx),
		remote.WithPlatform(p.opts.Platform), remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 3}),
	}
	return ref, opts, auth, nil
}

func (p *Puller) fetchOnce(ctx context.Context, pl Plan, fo FetchOptions) (Result, error) {
	progress := fo.Progress
	ref, opts, err := p.remote(ctx, pl)
	if err != nil {
		return Result{}, err
	}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return Result{}, served(err)
	}
	if !json.Valid(desc.Manifest) {
		// Said here, so that a decoder's io.EOF is never read as the
		// network's.
		return Result{}, fmt.Errorf("%w: the manifest (%d bytes, %s) is not JSON", errServed, len(desc.Manifest), desc.MediaType)
	}
	res := Result{Plan: pl, Digest: digest.Digest(desc.Digest.String()), Identity: pl.Identity()}
	store := func(d v1.Hash, size int64, fetch func() (io.ReadCloser, error)) error {
		dg := digest.Digest(d.String())
		res.Digests = append(res.Digests, dg)
		res.Sizes = append(res.Sizes, size)
		return p.ingest(ctx, dg, size, func(context.Context) (io.ReadCloser, error) { return fetch() }, nil)
	}
	bytesOf := func(b []byte) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil }
	}
	if desc.MediaType.IsIndex() {
		if err := store(desc.Digest, desc.Size, bytesOf(desc.Manifest)); err != nil {
			return Result{}, err
		}
	}
	img, err := desc.Image()
	if err != nil {
		return Result{}, served(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return Result{}, served(err)
	}
	md, err := img.Digest()
	if err != nil {
		return Result{}, served(err)
	}
	if err := store(md, int64(len(raw)), bytesOf(raw)); err != nil {
		return Result{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return Result{}, served(err)
	}
	if err := checkDescriptor("config", m.Config); err != nil {
		return Result{}, err
	}
	for i, l := range m.Layers {
		if err := checkDescriptor(fmt.Sprintf("layer %d", i), l); err != nil {
			return Result{}, err
		}
	}
	// The config is fetched only when the store lacks it (Ingest calls
	// fetch only then): 200 pods of one image fetch it once.
	blob, err := p.blobs(ctx, pl)
	if err != nil {
		return Result{}, err
	}
	// A fresh request per attempt: the image object would hand back what a
	// failed first attempt left behind.
	if err := store(m.Config.Digest, m.Config.Size, func() (io.ReadCloser, error) {
		return blob(ctx, digest.Digest(m.Config.Digest.String()))
	}); err != nil {
		return Result{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return Result{}, served(err)
	}
	if fo.Pin != nil {
		all := append([]digest.Digest(nil), res.Digests...)
		for _, l := range m.Layers {
			all = append(all, digest.Digest(l.Digest.String()))
		}
		if err := fo.Pin(all); err != nil {
			return Result{}, err
		}
	}
	var pr Progress
	var mu sync.Mutex
	sizes := make([]int64, len(layers))
	for i, l := range layers {
		if sizes[i], err = l.Size(); err != nil {
			return Result{}, served(err)
		}
		pr.Layers++
		pr.Bytes += sizes[i]
	}
	report := func(delta int64, done bool) {
		if progress == nil {
			return
		}
		mu.Lock()
		pr.BytesDone += delta
		if done {
			pr.LayersDone++
		}
		cp := pr
		mu.Unlock()
		progress(cp)
	}
	report(0, false)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.LayerConcurrency)
	digests := make([]digest.Digest, len(layers))
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return Result{}, served(err)
		}
		digests[i] = digest.Digest(d.String())
		g.Go(func() error {
			var last int64
			// The fetch honours the context Ingest gives it: when pulls share
			// one fetch, one pull's cancellation does not end the others'.
			fetch := func(fctx context.Context) (io.ReadCloser, error) { return blob(fctx, digests[i]) }
			err := p.ingest(gctx, digests[i], sizes[i], fetch, func(n int64) {
				if n < last { // a retry starts again from zero
					report(-last, false)
					last = 0
				}
				report(n-last, false)
				last = n
			})
			if err == nil {
				report(sizes[i]-last, true)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Result{}, err
	}
	res.Digests = append(res.Digests, digests...)
	res.Sizes = append(res.Sizes, sizes...)
	res.Bytes = pr.Bytes + int64(len(raw)) + m.Config.Size
	return res, nil
}

// blobs returns a function that opens one blob of a plan's repository with
// a plain GET through an authenticating transport (one bearer token for
// the whole pull, renewed on a 401). The store verifies each blob's digest
// as it writes it; a library that verified too would hash every byte twice
// (bench/results/pull.md measured the cost).
func (p *Puller) blobs(ctx context.Context, pl Plan) (func(context.Context, digest.Digest) (io.ReadCloser, error), error) {
	ref, _, auth, err := p.remoteAuth(ctx, pl)
	if err != nil {
		return nil, err
	}
	repo := ref.Context()
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, p.transport(pl), []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: rt}
	base := repo.Scheme() + "://" + repo.RegistryStr() + "/v2/" + repo.RepositoryStr() + "/blobs/"
	return func(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+d.String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if err := transport.CheckError(resp, http.StatusOK); err != nil {
			resp.Body.Close()
			return nil, err
		}
		return transferReader{resp.Body}, nil
	}, nil
}

// errServed marks an error in what the registry answered rather than in
// rolepull or the network: a manifest or challenge that does not parse, a
// descriptor with an impossible digest or size.
var errServed = errors.New("the registry's answer is unusable")

func served(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", errServed, err)
}

// checkDescriptor refuses a descriptor no blob can match, before anything
// is fetched for it.
func checkDescriptor(what string, d v1.Descriptor) error {
	if _, err := digest.Parse(d.Digest.String()); err != nil {
		return served(fmt.Errorf("%s: digest %q: %w", what, d.Digest, err))
	}
	if d.Size < 0 {
		return served(fmt.Errorf("%s %s: size %d is negative", what, d.Digest, d.Size))
	}
	return nil
}

// errTransfer marks a blob whose bytes broke off or failed verification on
// the way: worth fetching again.
var errTransfer = errors.New("blob transfer failed")

type transferReader struct{ io.ReadCloser }

func (r transferReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", errTransfer, err)
	}
	return n, err
}

// ingest stores one blob, fetching it again from the start — the store
// keeps nothing of a failed attempt — when it was cut short, corrupted in
// transit or refused with a 5xx, a few times, with back-off.
func (p *Puller) ingest(ctx context.Context, d digest.Digest, size int64, fetch func(context.Context) (io.ReadCloser, error), progress func(int64)) error {
	var err error
	for attempt := 0; attempt < layerAttempts; attempt++ {
		if attempt > 0 {
			if progress != nil {
				progress(0)
			}
			if !clock.Sleep(ctx, time.Duration(attempt)*200*time.Millisecond) {
				return ctx.Err()
			}
		}
		if err = p.content.Ingest(ctx, d, size, fetch, progress); err == nil || !transient(err) {
			return err
		}
		p.log.Warn("blob fetch failed; retrying", "digest", d, "attempt", attempt+1, "err", err)
	}
	return err
}

// layerAttempts bounds how often one blob is fetched.
const layerAttempts = 5

// transient reports an error worth fetching again: the connection broke,
// the bytes were wrong or short, or the registry answered 5xx or 429.
func transient(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests
	}
	if errors.Is(err, ErrEgressBlocked) || errors.Is(err, content.ErrWrongSize) || errors.Is(err, errServed) {
		return false // the same answer every time
	}
	return isNetworkError(err) || errors.Is(err, errTransfer) || errors.Is(err, content.ErrDigestMismatch) || errors.Is(err, content.ErrSizeMismatch)
}

func isUnauthorized(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusUnauthorized
}

// classify turns a fetch error into a Failure that names the instance and
// the role the pull was made as, when it was made as one.
func (p *Puller) classify(pl Plan, err error) error {
	f := p.classifyKind(pl, err)
	if pl.ACR {
		if f.Instance == "" {
			f.Instance = pl.Instance.InstanceID
		}
		if f.ARN == "" {
			f.ARN = pl.role()
		}
	}
	return f
}

// role is the role whose credentials an ACR plan pulls with.
func (p Plan) role() string {
	if len(p.Chain) > 0 {
		return p.Chain[len(p.Chain)-1]
	}
	return ""
}

func (p *Puller) classifyKind(pl Plan, err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	inst := pl.Instance.InstanceID
	var te *transport.Error
	if errors.As(err, &te) {
		msg := te.Error()
		switch {
		case pl.ACR && te.StatusCode == http.StatusUnauthorized && te.Request != nil && te.Request.URL.Path == "/token":
			// The token endpoint refused the temporary password itself (a
			// scope it will not grant is left out of the token instead),
			// and a fresh one fared no better.
			last := pl.role()
			return fail(Permission, pl.Image, inst, last, err,
				"check that "+last+" still exists and may call cr:GetAuthorizationToken on "+inst+"; the pod retries with a fresh password",
				"the registry refused the temporary password for %s, also a freshly issued one: %s", pl.Image, msg)
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			last := ""
			fix := "give the pod's identity cr:PullRepository on the repository or instance"
			if pl.ACR {
				last = pl.Chain[len(pl.Chain)-1]
				fix = "attach a policy allowing cr:PullRepository on " + arn.Registry{Region: pl.Instance.Region, Account: pl.Instance.Account, Instance: inst}.InstanceARN() + " to " + last
			} else if pl.note != "" {
				fix = "list the instance in k8s.aliyun.com/acr-instance-ids, or give the pod an imagePullSecret for " + pl.Host
				msg = pl.note + "; " + msg
			} else if pl.credential == nil {
				fix = "the registry " + pl.Host + " is not ACR: give the pod an imagePullSecret for it"
			}
			return fail(Permission, pl.Image, inst, last, err, fix, "the registry refused the pull of %s: %s", pl.Image, msg)
		case te.StatusCode == http.StatusNotFound:
			return fail(NotFound, pl.Image, inst, "", err, "push the image, or correct the repository and tag", "%s does not exist: %s", pl.Image, msg)
		}
		if pl.ACR { // rolepull's own registry
			return fail(Internal, pl.Image, inst, "", err, "", "the registry answered %d: %s", te.StatusCode, msg)
		}
		return fail(Registry, pl.Image, inst, "", err, "", "the registry %s answered %d: %s", pl.Host, te.StatusCode, msg)
	}
	var ee *EgressError
	if errors.As(err, &ee) {
		return fail(Network, pl.Image, inst, "", err, "pull from a registry on a routable address", "rolepull does not pull from %s: %v", pl.Host, ee)
	}
	if isNetworkError(err) {
		if !pl.Source.IsValid() { // not ACR: rolepull's node dials the registry
			return fail(Network, pl.Image, inst, "", err, "check that "+pl.Host+" is reachable from rolepull's node", "the registry %s is unreachable: %v", pl.Host, err)
		}
		return fail(Network, pl.Image, inst, "", err, "check the instance's network access (VPC binding, internet access and allow-list)", "the registry %s is unreachable from %s: %v", pl.Host, pl.Source, err)
	}
	if errors.Is(err, content.ErrWrongSize) {
		return fail(Registry, pl.Image, inst, "", err, "check the image in the registry: its manifest declares a blob size the blob does not have", "%s declares a wrong blob size: %v", pl.Image, err)
	}
	if errors.Is(err, content.ErrSizeMismatch) || errors.Is(err, errTransfer) {
		return fail(Network, pl.Image, inst, "", err, "check the network between the pod and "+pl.Host+"; the pull retries with back-off", "the registry %s cut a blob short, %d times: %v", pl.Host, layerAttempts, err)
	}
	if errors.Is(err, content.ErrDigestMismatch) {
		return fail(Registry, pl.Image, inst, "", err, "check the image in the registry: a blob's bytes do not hash to its digest", "the registry served corrupt content, %d times: %v", layerAttempts, err)
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		// The content store kept nothing of the blob; the pod retries.
		return fail(Internal, pl.Image, inst, "", err, "free space on the disk of rolepull's data directory (content/); the pod retries with back-off",
			"rolepull's disk is full: a blob of %s could not be stored: %v", pl.Image, err)
	}
	if errors.Is(err, content.ErrTooLarge) {
		return fail(Registry, pl.Image, inst, "", err, "use a smaller image, or raise the node's blob limit", "%s has a blob over the node's limit: %v", pl.Image, err)
	}
	if errors.Is(err, errServed) && strings.Contains(err.Error(), "no child with platform") {
		return fail(NotFound, pl.Image, inst, "", err, "push a variant for "+platformString(p.opts.Platform)+", or name one that exists", "%s has no %s variant: %v", pl.Image, platformString(p.opts.Platform), err)
	}
	if errors.Is(err, errServed) && !errors.Is(err, context.Canceled) {
		return fail(Registry, pl.Image, inst, "", err, "check what "+pl.Host+" serves for the reference (crane manifest "+pl.Image+"); rolepull pulls OCI and Docker schema 2 images", "the registry %s answered with something rolepull cannot use: %v", pl.Host, err)
	}
	return fail(Internal, pl.Image, inst, "", err, "", "%v", err)
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func isNetworkError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	// A bare syscall.Errno is a net.Error too, but ENOSPC from the disk
	// or EROFS are the node's, not the network's.
	var ne net.Error
	if errors.As(err, &ne) {
		_, errno := ne.(syscall.Errno)
		return !errno
	}
	return false
}

// Check proves that a plan's identity may pull its image without fetching
// any layer: credentials (from the cache or the chain), a token, and a
// manifest HEAD. It returns the digest the reference resolves to. Image
// caches use it so that a cache never widens access.
func (p *Puller) Check(ctx context.Context, pl Plan) (digest.Digest, error) {
	d, err := p.checkOnce(ctx, pl)
	if pl.ACR && isUnauthorized(err) {
		p.creds.invalidate(pl.key)
		d, err = p.checkOnce(ctx, pl)
	}
	if err != nil {
		return "", p.classify(pl, err)
	}
	return d, nil
}

func (p *Puller) checkOnce(ctx context.Context, pl Plan) (digest.Digest, error) {
	ref, opts, err := p.remote(ctx, pl)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(ref, opts...)
	if err != nil {
		return "", served(err)
	}
	return digest.Digest(desc.Digest.String()), nil
}

// Credentials returns the temporary password a plan pulls with.
func (p *Puller) Credentials(ctx context.Context, pl Plan) (acr.TempPassword, error) {
	return p.credentials(ctx, pl)
}

// Forget drops a plan's cached credentials.
func (p *Puller) Forget(pl Plan) { p.creds.invalidate(pl.key) }
