package eci

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/content"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/pull"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/store"
)

var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid parameter")
	ErrConflict = errors.New("conflict")
)

// Error is an ECI failure naming the field concerned.
type Error struct {
	Err   error
	Field string
	Msg   string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func invalid(field, format string, args ...any) error {
	return &Error{Err: ErrInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Options configure a Service.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Workers is how many groups are reconciled at once (default 16).
	Workers int
	// Backoff is the first wait before a failed pull is retried; it
	// doubles up to MaxBackoff (defaults 10 s and 5 min).
	Backoff, MaxBackoff time.Duration
	// GCInterval is how often unpinned blobs are collected (default 10 min).
	GCInterval time.Duration
	// CacheSizeUnit is the bytes of one unit of imageCacheSize: a GiB,
	// except in tests that must overflow a 20-unit cache cheaply.
	CacheSizeUnit int64
}

// Service owns container groups and image caches.
type Service struct {
	st      store.Store
	ram     *ram.Service
	net     *netmodel.Service
	puller  *pull.Puller
	content *content.Store
	keys    *keyring.Keyring
	clock   clock.Clock
	log     *slog.Logger
	opts    Options

	queue    chan string
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	eventMu  sync.Mutex // serializes event writes, so a repeat folds into its count
	mu       sync.Mutex
	retries  map[string]int
	stopped  bool
}

// New returns a Service; Start runs its reconciler.
func New(st store.Store, r *ram.Service, n *netmodel.Service, p *pull.Puller, c *content.Store, keys *keyring.Keyring, opts Options) *Service {
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 10 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.GCInterval <= 0 {
		opts.GCInterval = 10 * time.Minute
	}
	if opts.CacheSizeUnit <= 0 {
		opts.CacheSizeUnit = 1 << 30
	}
	s := &Service{st: st, ram: r, net: n, puller: p, content: c, keys: keys, clock: clock.Or(opts.Clock), log: opts.Logger, opts: opts,
		queue: make(chan string, 4096), stop: make(chan struct{}), retries: make(map[string]int)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

const prefix = "eci/"

func groupKey(id string) string { return prefix + "cg/" + id }
func eventPrefix(id string) string {
	return prefix + "event/" + id + "/"
}

func newID(p string) string { return p + strings.ToLower(rand.Text()[:16]) }

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Second) }

// CreateInput is what CreateContainerGroup takes.
type CreateInput struct {
	Account     string
	Region      string
	ZoneID      string
	Name        string
	VSwitchID   string
	Containers  []Container
	Labels      map[string]string
	Annotations map[string]string
	Namespace   string
	Owner       string
	Chains      []pull.Chain
	Instances   []pull.InstanceRef
	Credentials []pull.Credential
	Cache       CacheSettings
}

// Limits.
const (
	MaxContainers = 20
	MaxNameLen    = 128
)

func (in CreateInput) validate() error {
	var errs []error
	if in.Name == "" || len(in.Name) > MaxNameLen {
		errs = append(errs, invalid("ContainerGroupName", "ContainerGroupName %q: want 1–%d characters", in.Name, MaxNameLen))
	}
	if !arn.IsRegion(in.Region) {
		errs = append(errs, invalid("RegionId", "RegionId %q is not a region id", in.Region))
	}
	if len(in.Containers) == 0 || len(in.Containers) > MaxContainers {
		errs = append(errs, invalid("Container", "a container group has 1–%d containers, not %d", MaxContainers, len(in.Containers)))
	}
	seen := map[string]bool{}
	for i, c := range in.Containers {
		if c.Name == "" || seen[c.Name] {
			errs = append(errs, invalid(fmt.Sprintf("Container.%d.Name", i+1), "container %d: a name, unique in the group, is required", i+1))
		}
		seen[c.Name] = true
		if c.Image == "" {
			errs = append(errs, invalid(fmt.Sprintf("Container.%d.Image", i+1), "container %q: an image is required", c.Name))
		}
		switch c.ImagePullPolicy {
		case "", "Always", "IfNotPresent", "Never":
		default:
			errs = append(errs, invalid(fmt.Sprintf("Container.%d.ImagePullPolicy", i+1), "ImagePullPolicy %q: want Always, IfNotPresent or Never", c.ImagePullPolicy))
		}
	}
	for i, c := range in.Chains {
		if c.Service == "" {
			errs = append(errs, invalid(fmt.Sprintf("AcrRegistryInfo.%d.ArnService", i+1), "a user ARN (%s) needs a service ARN: the ECI service cannot assume a role of another account directly", c.User))
		}
	}
	return errors.Join(errs...)
}

// CheckCreate runs every check Create runs, storing nothing: callers that
// apply several objects at once (rolepull apply) check them all first.
func (s *Service) CheckCreate(ctx context.Context, in CreateInput) error {
	_, err := s.checkCreate(ctx, in)
	return err
}

// checkCreate checks in and returns its vSwitch, if it names one.
func (s *Service) checkCreate(ctx context.Context, in CreateInput) (netmodel.VSwitch, error) {
	if err := in.validate(); err != nil {
		return netmodel.VSwitch{}, err
	}
	if err := s.ram.RequireAccount(ctx, in.Account); err != nil {
		return netmodel.VSwitch{}, err
	}
	if in.VSwitchID == "" {
		return netmodel.VSwitch{}, nil
	}
	vsw, err := s.net.GetVSwitch(ctx, in.Account, in.VSwitchID)
	if err != nil {
		return netmodel.VSwitch{}, invalid("VSwitchId", "VSwitchId %q: %v", in.VSwitchID, err)
	}
	return vsw, nil
}

// Create stores a container group, Pending, and queues its pulls. Its
// pull settings are frozen here.
func (s *Service) Create(ctx context.Context, in CreateInput) (ContainerGroup, error) {
	vsw, err := s.checkCreate(ctx, in)
	if err != nil {
		return ContainerGroup{}, err
	}
	g := ContainerGroup{
		ID: newID("eci-"), Account: in.Account, Region: in.Region, ZoneID: in.ZoneID, Name: in.Name, VSwitchID: in.VSwitchID,
		Containers: in.Containers, Labels: in.Labels, Annotations: in.Annotations, Namespace: in.Namespace, Owner: in.Owner,
		Cache: in.Cache, CreationTime: s.now(), Status: StatusPending, Generation: 1,
	}
	if in.VSwitchID != "" {
		g.VpcID = vsw.VpcID
		if g.ZoneID == "" {
			g.ZoneID = vsw.ZoneID
		}
	}
	g.Pull = pull.Settings{Account: in.Account, Region: in.Region, VSwitchID: in.VSwitchID, Chains: in.Chains, Instances: in.Instances,
		Session: "eci-" + strings.TrimPrefix(g.ID, "eci-")}
	if len(in.Credentials) > 0 {
		b, _ := json.Marshal(in.Credentials)
		sealed, err := s.keys.Seal(g.ID, b)
		if err != nil {
			return ContainerGroup{}, err
		}
		g.SealedCredentials = sealed
	}
	for _, c := range in.Containers {
		g.ContainerStatuses = append(g.ContainerStatuses, ContainerStatus{Name: c.Name, Image: c.Image, State: "Waiting", Reason: "Pulling"})
	}
	b, _ := json.Marshal(g)
	if _, err := s.st.Txn(ctx, []store.Cond{store.Absent(groupKey(g.ID))}, []store.Op{store.Put(groupKey(g.ID), b)}); err != nil {
		return ContainerGroup{}, fmt.Errorf("eci: create %s: %w", g.Name, err)
	}
	s.event(ctx, g.ID, "Normal", "Scheduled", fmt.Sprintf("Successfully assigned %s to rolepull (account %s, region %s)", g.Name, g.Account, g.Region))
	s.enqueue(g.ID)
	return g, nil
}

// Get returns a group of account (any account when account is "").
func (s *Service) Get(ctx context.Context, account, id string) (ContainerGroup, error) {
	g, _, err := s.get(ctx, id)
	if err == nil && account != "" && g.Account != account {
		return ContainerGroup{}, &Error{Err: ErrNotFound, Field: "ContainerGroupId", Msg: fmt.Sprintf("container group %s does not exist", id)}
	}
	return g, err
}

func (s *Service) get(ctx context.Context, id string) (ContainerGroup, int64, error) {
	var g ContainerGroup
	if store.ValidateKey(groupKey(id)) != nil || !strings.HasPrefix(id, "eci-") {
		return g, 0, &Error{Err: ErrNotFound, Field: "ContainerGroupId", Msg: fmt.Sprintf("container group %q does not exist", id)}
	}
	kv, err := s.st.Get(ctx, groupKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return g, 0, &Error{Err: ErrNotFound, Field: "ContainerGroupId", Msg: fmt.Sprintf("container group %s does not exist", id)}
	}
	if err != nil {
		return g, 0, err
	}
	return g, kv.ModRevision, json.Unmarshal(kv.Value, &g)
}

// List returns an account's groups (all accounts for "").
func (s *Service) List(ctx context.Context, account string) ([]ContainerGroup, error) {
	kvs, _, err := s.st.List(ctx, prefix+"cg/")
	if err != nil {
		return nil, err
	}
	var out []ContainerGroup
	for _, kv := range kvs {
		var g ContainerGroup
		if err := json.Unmarshal(kv.Value, &g); err != nil {
			return nil, err
		}
		if account == "" || g.Account == account {
			out = append(out, g)
		}
	}
	return out, nil
}

// update applies fn to a group under compare-and-swap, retrying on
// conflicts with the reconciler.
func (s *Service) update(ctx context.Context, id string, fn func(*ContainerGroup) error) (ContainerGroup, error) {
	for attempt := 0; ; attempt++ {
		g, rev, err := s.get(ctx, id)
		if err != nil {
			return g, err
		}
		if err := fn(&g); err != nil {
			return g, err
		}
		b, _ := json.Marshal(g)
		_, err = s.st.Txn(ctx, []store.Cond{store.At(groupKey(id), rev)}, []store.Op{store.Put(groupKey(id), b)})
		if errors.Is(err, store.ErrConflict) && attempt < 16 {
			continue
		}
		return g, err
	}
}

// UpdateMetadata stores new labels and annotations. Pull settings were
// frozen at creation: if the annotations that drive pulls changed, an
// event says they have no effect.
func (s *Service) UpdateMetadata(ctx context.Context, account, id string, labels, annotations map[string]string) (ContainerGroup, error) {
	if _, err := s.Get(ctx, account, id); err != nil {
		return ContainerGroup{}, err
	}
	var changed []string
	g, err := s.update(ctx, id, func(g *ContainerGroup) error {
		changed = changedPullAnnotations(g.Annotations, annotations)
		g.Labels, g.Annotations = labels, annotations
		return nil
	})
	if err == nil && len(changed) > 0 {
		s.event(ctx, id, "Warning", "AnnotationIgnored", fmt.Sprintf(
			"annotations %s changed after creation and have no effect: pull settings are read only when a pod is created; delete and recreate the pod (or roll out a new Deployment template) to use them",
			strings.Join(changed, ", ")))
	}
	return g, err
}

// PullAnnotations are the keys read at creation only.
var PullAnnotations = []string{
	"k8s.aliyun.com/acr-instance-ids", "k8s.aliyun.com/acr-instance-id",
	"k8s.aliyun.com/acr-service-arns", "k8s.aliyun.com/acr-user-arns",
	"k8s.aliyun.com/eci-auto-imc", "k8s.aliyun.com/eci-imc-id", "k8s.aliyun.com/imc-perfect-match",
	"k8s.aliyun.com/imc-match-count-request", "k8s.aliyun.com/eci-image-snapshot-id", "k8s.aliyun.com/eci-image-cache",
}

func changedPullAnnotations(old, new map[string]string) []string {
	var out []string
	for _, k := range PullAnnotations {
		if old[k] != new[k] {
			out = append(out, k)
		}
	}
	return out
}

// Delete removes a group, its events and its pins.
func (s *Service) Delete(ctx context.Context, account, id string) error {
	if _, err := s.Get(ctx, account, id); err != nil {
		return err
	}
	if err := s.content.Unpin(ctx, id); err != nil {
		return err
	}
	if err := s.deleteEvents(ctx, id); err != nil {
		return err
	}
	if _, err := s.st.Txn(ctx, nil, []store.Op{store.Delete(groupKey(id))}); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.retries, id)
	s.mu.Unlock()
	return nil
}

// deleteEvents removes an object's events, a batch per transaction.
func (s *Service) deleteEvents(ctx context.Context, id string) error {
	evs, _, err := s.st.List(ctx, eventPrefix(id))
	if err != nil {
		return err
	}
	for len(evs) > 0 {
		n := min(len(evs), store.MaxTxnOps)
		ops := make([]store.Op, 0, n)
		for _, kv := range evs[:n] {
			ops = append(ops, store.Delete(kv.Key))
		}
		if _, err := s.st.Txn(ctx, nil, ops); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

// credentials opens a group's sealed registry credentials.
func (s *Service) credentials(g ContainerGroup) ([]pull.Credential, error) {
	if len(g.SealedCredentials) == 0 {
		return nil, nil
	}
	b, err := s.keys.Open(g.ID, g.SealedCredentials)
	if err != nil {
		return nil, err
	}
	var out []pull.Credential
	return out, json.Unmarshal(b, &out)
}
