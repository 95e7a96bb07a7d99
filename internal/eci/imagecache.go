package eci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/rolepull/rolepull/internal/pull"
	"github.com/rolepull/rolepull/internal/store"
)

// Image cache phases (the vendor's DescribeImageCaches Status values).
const (
	PhasePreparing    = "Preparing"
	PhaseCreating     = "Creating"
	PhaseReady        = "Ready"
	PhaseFailed       = "Failed"
	PhaseUpdating     = "Updating"
	PhaseUpdateFailed = "UpdateFailed"
)

// Image cache limits (reference/domain.md §1.11).
const (
	MinCacheSizeGiB     = 20
	MaxCacheSizeGiB     = 32768
	DefaultCacheSizeGiB = 20
	MinRetentionDays    = 1
	MaxRetentionDays    = 65536
	MaxCacheImages      = 100
	// FailedCacheTTL is how long a failed cache is kept before it is
	// collected.
	FailedCacheTTL = 24 * time.Hour
)

// CachedImage is one image held by a cache.
type CachedImage struct {
	Image   string          `json:"image"`
	Digest  string          `json:"digest"`          // what the reference resolved to when cached
	Digests []digest.Digest `json:"digests"`         // every blob of it
	Sizes   []int64         `json:"sizes,omitempty"` // the size of each of Digests
	Bytes   int64           `json:"bytes"`
}

// ImageCache is a set of images pulled once, which pods whose own identity
// is authorized for them start from without fetching layers.
type ImageCache struct {
	ID            string            `json:"id"`
	Account       string            `json:"account"`
	Region        string            `json:"region"`
	Name          string            `json:"name"`
	Images        []string          `json:"images"`
	SizeGiB       int               `json:"sizeGiB"`
	RetentionDays int               `json:"retentionDays,omitempty"` // 0: never expires
	Annotations   map[string]string `json:"annotations,omitempty"`
	Pull          pull.Settings     `json:"pull"`
	// SealedCredentials holds Pull.Credentials sealed to this cache's id.
	SealedCredentials []byte `json:"sealedCredentials,omitempty"`

	Phase    string        `json:"phase"`
	Progress int           `json:"progress"` // percent
	Cached   []CachedImage `json:"cached,omitempty"`
	// Identity is who the cache was built with: the chain, per image.
	Identity        string    `json:"identity,omitempty"`
	Message         string    `json:"message,omitempty"`
	CreationTime    time.Time `json:"creationTime"`
	LastUpdatedTime time.Time `json:"lastUpdatedTime"`
	ExpireTime      time.Time `json:"expireTime,omitempty"` // zero: never
	Generation      int64     `json:"generation"`
}

// Bytes is the cache's stored size: its distinct blobs, each counted
// once however many of its images share it.
func (c ImageCache) Bytes() int64 {
	seen := map[digest.Digest]bool{}
	var n int64
	for _, ci := range c.Cached {
		n += ci.distinctBytes(seen)
	}
	return n
}

// distinctBytes adds the sizes of the image's blobs not in seen, and adds
// them to seen. A record from before sizes were kept counts whole.
func (ci CachedImage) distinctBytes(seen map[digest.Digest]bool) int64 {
	if len(ci.Sizes) != len(ci.Digests) {
		return ci.Bytes
	}
	var n int64
	for i, d := range ci.Digests {
		if !seen[d] {
			seen[d] = true
			n += ci.Sizes[i]
		}
	}
	return n
}

func cacheKey(id string) string { return prefix + "imc/" + id }

// CacheInput is what CreateImageCache takes.
type CacheInput struct {
	Account       string
	Region        string
	Name          string
	Images        []string
	SizeGiB       int // 0: the default
	RetentionDays int // 0: never expires
	Annotations   map[string]string
	Chains        []pull.Chain
	Instances     []pull.InstanceRef
	Credentials   []pull.Credential
}

func (in CacheInput) validate() error {
	var errs []error
	if in.Name == "" || len(in.Name) > MaxNameLen {
		errs = append(errs, invalid("ImageCacheName", "ImageCacheName %q: want 1–%d characters", in.Name, MaxNameLen))
	}
	if len(in.Images) == 0 || len(in.Images) > MaxCacheImages {
		errs = append(errs, invalid("Image", "an image cache holds 1–%d images, not %d", MaxCacheImages, len(in.Images)))
	}
	seen := map[string]bool{}
	for i, img := range in.Images {
		if img == "" || seen[img] {
			errs = append(errs, invalid(fmt.Sprintf("Image.%d", i+1), "image %d is empty or repeated (%q)", i+1, img))
		}
		seen[img] = true
	}
	if in.SizeGiB != 0 && (in.SizeGiB < MinCacheSizeGiB || in.SizeGiB > MaxCacheSizeGiB) {
		errs = append(errs, invalid("ImageCacheSize", "ImageCacheSize %d GiB: want %d–%d (default %d)", in.SizeGiB, MinCacheSizeGiB, MaxCacheSizeGiB, DefaultCacheSizeGiB))
	}
	if in.RetentionDays != 0 && (in.RetentionDays < MinRetentionDays || in.RetentionDays > MaxRetentionDays) {
		errs = append(errs, invalid("RetentionDays", "RetentionDays %d: want %d–%d, or none for a cache that never expires", in.RetentionDays, MinRetentionDays, MaxRetentionDays))
	}
	for i, c := range in.Chains {
		if c.Service == "" {
			errs = append(errs, invalid(fmt.Sprintf("AcrRegistryInfo.%d.ArnService", i+1), "a user ARN (%s) needs a service ARN: the ECI service cannot assume a role of another account directly", c.User))
		}
	}
	return errors.Join(errs...)
}

// CreateImageCache stores a cache, Preparing, and queues its build. Its
// pull settings are frozen here; it pulls as session imc-<id>.
func (s *Service) CreateImageCache(ctx context.Context, in CacheInput) (ImageCache, error) {
	if err := s.CheckCreateImageCache(ctx, in); err != nil {
		return ImageCache{}, err
	}
	if in.SizeGiB == 0 {
		in.SizeGiB = DefaultCacheSizeGiB
	}
	now := s.now()
	c := ImageCache{
		ID: newID("imc-"), Account: in.Account, Region: in.Region, Name: in.Name, Images: in.Images, SizeGiB: in.SizeGiB,
		RetentionDays: in.RetentionDays, Annotations: in.Annotations, Phase: PhasePreparing, CreationTime: now, LastUpdatedTime: now, Generation: 1,
	}
	c.Pull = pull.Settings{Account: in.Account, Region: in.Region, Chains: in.Chains, Instances: in.Instances, Session: c.ID}
	if len(in.Credentials) > 0 {
		b, _ := json.Marshal(in.Credentials)
		sealed, err := s.keys.Seal(c.ID, b)
		if err != nil {
			return ImageCache{}, err
		}
		c.SealedCredentials = sealed
	}
	b, _ := json.Marshal(c)
	if _, err := s.st.Txn(ctx, []store.Cond{store.Absent(cacheKey(c.ID))}, []store.Op{store.Put(cacheKey(c.ID), b)}); err != nil {
		return ImageCache{}, err
	}
	s.event(ctx, c.ID, "Normal", "Preparing", fmt.Sprintf("image cache %s accepted: %d image(s), %d GiB", c.Name, len(c.Images), c.SizeGiB))
	s.enqueueCache(c.ID)
	return c, nil
}

// GetImageCache returns a cache of account (any account when "").
func (s *Service) GetImageCache(ctx context.Context, account, id string) (ImageCache, error) {
	c, _, err := s.getCache(ctx, id)
	if err == nil && account != "" && c.Account != account {
		return ImageCache{}, &Error{Err: ErrNotFound, Field: "ImageCacheId", Msg: fmt.Sprintf("image cache %s does not exist", id)}
	}
	return c, err
}

func (s *Service) getCache(ctx context.Context, id string) (ImageCache, int64, error) {
	var c ImageCache
	if !strings.HasPrefix(id, "imc-") || store.ValidateKey(cacheKey(id)) != nil {
		return c, 0, &Error{Err: ErrNotFound, Field: "ImageCacheId", Msg: fmt.Sprintf("image cache %q does not exist", id)}
	}
	kv, err := s.st.Get(ctx, cacheKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return c, 0, &Error{Err: ErrNotFound, Field: "ImageCacheId", Msg: fmt.Sprintf("image cache %s does not exist", id)}
	}
	if err != nil {
		return c, 0, err
	}
	return c, kv.ModRevision, json.Unmarshal(kv.Value, &c)
}

// ListImageCaches returns an account's caches (all for "").
func (s *Service) ListImageCaches(ctx context.Context, account string) ([]ImageCache, error) {
	kvs, _, err := s.st.List(ctx, prefix+"imc/")
	if err != nil {
		return nil, err
	}
	var out []ImageCache
	for _, kv := range kvs {
		var c ImageCache
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			return nil, err
		}
		if account == "" || c.Account == account {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *Service) updateCache(ctx context.Context, id string, fn func(*ImageCache) error) (ImageCache, error) {
	for attempt := 0; ; attempt++ {
		c, rev, err := s.getCache(ctx, id)
		if err != nil {
			return c, err
		}
		if err := fn(&c); err != nil {
			return c, err
		}
		c.LastUpdatedTime = s.now()
		b, _ := json.Marshal(c)
		_, err = s.st.Txn(ctx, []store.Cond{store.At(cacheKey(id), rev)}, []store.Op{store.Put(cacheKey(id), b)})
		if errors.Is(err, store.ErrConflict) && attempt < 16 {
			continue
		}
		return c, err
	}
}

// CheckCreateImageCache runs every check CreateImageCache runs, storing
// nothing.
func (s *Service) CheckCreateImageCache(ctx context.Context, in CacheInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	return s.ram.RequireAccount(ctx, in.Account)
}

// CheckUpdateImageCache runs every check UpdateImageCache runs, storing
// nothing.
func (s *Service) CheckUpdateImageCache(ctx context.Context, account, id string, images []string, retentionDays *int) error {
	c, err := s.GetImageCache(ctx, account, id)
	if err != nil {
		return err
	}
	_, err = c.updated(images, retentionDays)
	return err
}

// updated is the input an update makes of c, once checked.
func (c ImageCache) updated(images []string, retentionDays *int) (CacheInput, error) {
	if c.Phase != PhaseReady && c.Phase != PhaseUpdateFailed {
		return CacheInput{}, &Error{Err: ErrConflict, Field: "Status", Msg: fmt.Sprintf("image cache %s is %s: it can be updated only when Ready or UpdateFailed", c.ID, c.Phase)}
	}
	in := CacheInput{Name: c.Name, Images: images, SizeGiB: c.SizeGiB, RetentionDays: c.RetentionDays}
	if retentionDays != nil {
		in.RetentionDays = *retentionDays
	}
	if len(images) == 0 {
		in.Images = c.Images
	}
	return in, in.validate()
}

// UpdateImageCache replaces a cache's images (and optionally its
// retention), allowed only from Ready or UpdateFailed.
func (s *Service) UpdateImageCache(ctx context.Context, account, id string, images []string, retentionDays *int) (ImageCache, error) {
	if _, err := s.GetImageCache(ctx, account, id); err != nil {
		return ImageCache{}, err
	}
	c, err := s.updateCache(ctx, id, func(c *ImageCache) error {
		in, err := c.updated(images, retentionDays)
		if err != nil {
			return err
		}
		c.Images, c.RetentionDays = in.Images, in.RetentionDays
		c.Phase, c.Progress, c.Message = PhaseUpdating, 0, ""
		c.Generation++
		return nil
	})
	if err == nil {
		s.event(ctx, id, "Normal", "Updating", fmt.Sprintf("image cache %s: updating to %d image(s)", c.Name, len(c.Images)))
		s.enqueueCache(id)
	}
	return c, err
}

// DeleteImageCache removes a cache, its events and its pins.
func (s *Service) DeleteImageCache(ctx context.Context, account, id string) error {
	if _, err := s.GetImageCache(ctx, account, id); err != nil {
		return err
	}
	if err := s.content.Unpin(ctx, id); err != nil {
		return err
	}
	if err := s.deleteEvents(ctx, id); err != nil {
		return err
	}
	_, err := s.st.Txn(ctx, nil, []store.Op{store.Delete(cacheKey(id))})
	return err
}

func (s *Service) enqueueCache(id string) { s.enqueue(id) }

// buildCache pulls a cache's images (Preparing/Creating/Updating) and makes
// it Ready only when every blob is stored, verified and pinned.
func (s *Service) buildCache(ctx context.Context, id string) {
	c, _, err := s.getCache(ctx, id)
	if err != nil {
		return
	}
	updating := c.Phase == PhaseUpdating
	if c.Phase != PhasePreparing && c.Phase != PhaseCreating && !updating {
		return
	}
	if !updating {
		if c, err = s.updateCache(ctx, id, func(c *ImageCache) error { c.Phase = PhaseCreating; return nil }); err != nil {
			return
		}
		s.event(ctx, id, "Normal", "Creating", "pulling the images of "+c.Name)
	}
	settings := c.Pull
	if len(c.SealedCredentials) > 0 {
		b, err := s.keys.Open(c.ID, c.SealedCredentials)
		if err == nil {
			err = json.Unmarshal(b, &settings.Credentials)
		}
		if err != nil {
			s.failCache(ctx, id, updating, "the cache's registry credentials cannot be opened: "+err.Error())
			return
		}
	}
	var cached []CachedImage
	var identities []string
	var all []digest.Digest
	limit := int64(c.SizeGiB) * s.opts.CacheSizeUnit
	var total int64 // the distinct blobs' bytes: what the cache stores
	seen := map[digest.Digest]bool{}
	var shown atomic.Int64 // the progress last stored, percent
	for i, img := range c.Images {
		res, err := s.puller.Pull(ctx, settings, img, pull.FetchOptions{
			Pin: func(ds []digest.Digest) error {
				if _, _, err := s.getCache(ctx, id); err != nil {
					return err // deleted while building: pin nothing more
				}
				return s.pinMore(ctx, id, ds)
			},
			// Progress by bytes within the image, stored when it gains a
			// whole percent.
			Progress: func(pr pull.Progress) {
				if pr.Bytes <= 0 {
					return
				}
				pct := min((100*int64(i)+100*pr.BytesDone/pr.Bytes)/int64(len(c.Images)), 99)
				if old := shown.Load(); pct <= old || !shown.CompareAndSwap(old, pct) {
					return
				}
				s.updateCache(ctx, id, func(c *ImageCache) error {
					c.Progress = max(c.Progress, int(pct))
					return nil
				})
			},
		})
		if _, _, gerr := s.getCache(ctx, id); errors.Is(gerr, ErrNotFound) {
			s.content.Unpin(ctx, id) // deleted while building: let its blobs go
			return
		}
		if err != nil {
			s.failCache(ctx, id, updating, fmt.Sprintf("image %q: %v", img, err))
			return
		}
		ci := CachedImage{Image: img, Digest: res.Digest.String(), Digests: res.Digests, Sizes: res.Sizes, Bytes: res.Bytes}
		total += ci.distinctBytes(seen)
		if total > limit {
			s.failCache(ctx, id, updating, fmt.Sprintf("the images need %s but imageCacheSize is %d GiB: raise imageCacheSize (at least twice the images' size is advised) or cache fewer images", humanSize(total), c.SizeGiB))
			return
		}
		cached = append(cached, ci)
		identities = append(identities, res.Identity)
		all = append(all, res.Digests...)
		pct := min(100*(i+1)/len(c.Images), 99)
		shown.Store(max(shown.Load(), int64(pct)))
		s.updateCache(ctx, id, func(c *ImageCache) error { c.Progress = max(c.Progress, pct); return nil })
	}
	// The pins become exactly this cache's images (an update drops what it
	// no longer holds), then the cache is Ready.
	if err := s.content.Pin(ctx, id, dedupe(all)); err != nil {
		s.failCache(ctx, id, updating, "pinning the images: "+err.Error())
		return
	}
	if 2*total > limit {
		// ECI fails a cache only when the images exceed it, but advises
		// twice their size: say so while it still fits — before Ready, so
		// whoever sees Ready sees the warning too.
		s.event(ctx, id, "Warning", "ImageCacheSizeLow", fmt.Sprintf("the images take %s, more than half of imageCacheSize %d GiB: ECI advises at least twice the images' size; raise imageCacheSize before the images grow", humanSize(total), c.SizeGiB))
	}
	c, err = s.updateCache(ctx, id, func(c *ImageCache) error {
		c.Phase, c.Progress, c.Cached, c.Message = PhaseReady, 100, cached, ""
		c.Identity = strings.Join(dedupeStrings(identities), "; ")
		if c.RetentionDays > 0 {
			c.ExpireTime = c.CreationTime.Add(time.Duration(c.RetentionDays) * 24 * time.Hour)
		} else {
			c.ExpireTime = time.Time{}
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		s.content.Unpin(ctx, id) // deleted at the last moment
		return
	}
	if err == nil {
		s.event(ctx, id, "Normal", "Ready", fmt.Sprintf("image cache %s is ready: %d image(s), %s, built as %s", c.Name, len(cached), humanSize(c.Bytes()), c.Identity))
	}
}

func (s *Service) failCache(ctx context.Context, id string, updating bool, msg string) {
	if !updating {
		// A failed cache pins nothing — what it fetched is garbage — and
		// it lets go before it reports Failed, so no reader sees both.
		if err := s.content.Unpin(ctx, id); err != nil {
			s.log.Error("unpin failed cache", "cache", id, "err", err)
		}
	}
	s.event(ctx, id, "Warning", "Failed", msg)
	s.updateCache(ctx, id, func(c *ImageCache) error {
		c.Message = msg
		if updating {
			c.Phase = PhaseUpdateFailed
			return nil
		}
		c.Phase = PhaseFailed
		c.ExpireTime = s.now().Add(FailedCacheTTL)
		return nil
	})
}

// expireCaches deletes caches past their expiry (retention, or 24 h after
// failing).
func (s *Service) expireCaches(ctx context.Context) {
	caches, err := s.ListImageCaches(ctx, "")
	if err != nil {
		s.log.Error("list image caches", "err", err)
		return
	}
	now := s.clock.Now()
	for _, c := range caches {
		if !c.ExpireTime.IsZero() && now.After(c.ExpireTime) {
			if err := s.DeleteImageCache(ctx, "", c.ID); err != nil {
				s.log.Error("expire image cache", "cache", c.ID, "err", err)
				continue
			}
			s.log.Info("image cache expired", "cache", c.ID, "name", c.Name, "phase", c.Phase)
		}
	}
}

// ExpireNow runs one expiry pass (tests and the periodic loop).
func (s *Service) ExpireNow(ctx context.Context) { s.expireCaches(ctx) }

// fromCache serves a container's image from an image cache the group may
// use — only after the group's own identity is authorized for the image
// (credentials, a token and a manifest HEAD: no layer traffic), and only
// when the reference still resolves to the cached digest. ok is false when
// the image should be pulled normally.
func (s *Service) fromCache(ctx context.Context, g ContainerGroup, settings pull.Settings, c Container) (pull.Result, string, bool, error) {
	if g.MatchedImageCache == "" {
		return pull.Result{}, "", false, nil
	}
	imc, err := s.GetImageCache(ctx, g.Account, g.MatchedImageCache)
	if err != nil || imc.Phase != PhaseReady {
		return pull.Result{}, "", false, nil
	}
	var ci *CachedImage
	for i := range imc.Cached {
		if imc.Cached[i].Image == c.Image {
			ci = &imc.Cached[i]
		}
	}
	if ci == nil {
		return pull.Result{}, "", false, nil
	}
	plan, err := s.puller.Plan(ctx, settings, c.Image)
	if err != nil {
		return pull.Result{}, "", false, nil // the normal pull reports it
	}
	d, err := s.puller.Check(ctx, plan)
	if err != nil {
		s.event(ctx, g.ID, "Warning", "ImageCacheUnauthorized", fmt.Sprintf("image cache %s holds %q, but the pod's own identity (%s) may not pull it: %v; pulling normally", imc.ID, c.Image, plan.Identity(), err))
		return pull.Result{}, "", false, nil
	}
	if d.String() != ci.Digest {
		s.event(ctx, g.ID, "Normal", "ImageCacheStale", fmt.Sprintf("image cache %s holds %s for %q, which now resolves to %s; pulling normally", imc.ID, ci.Digest, c.Image, d))
		return pull.Result{}, "", false, nil
	}
	for _, dg := range ci.Digests {
		if ok, err := s.content.Has(ctx, dg); err != nil || !ok {
			return pull.Result{}, "", false, nil
		}
	}
	if err := s.pinMore(ctx, g.ID, ci.Digests); err != nil {
		return pull.Result{}, "", false, err
	}
	return pull.Result{Plan: plan, Digest: digest.Digest(ci.Digest), Digests: ci.Digests, Bytes: ci.Bytes, Identity: plan.Identity()}, imc.ID, true, nil
}

// matchCache chooses the image cache a new group uses, once, and records
// the choice and its event.
func (s *Service) matchCache(ctx context.Context, g ContainerGroup) (ContainerGroup, error) {
	cs := g.Cache
	if g.MatchedImageCache != "" || g.ObservedGeneration > 0 || g.cacheDecided() {
		return g, nil
	}
	chosen := ""
	switch {
	case cs.Pinned != "":
		imc, err := s.GetImageCache(ctx, g.Account, cs.Pinned)
		switch {
		case err != nil:
			s.event(ctx, g.ID, "Warning", "ImageCacheNotFound", fmt.Sprintf("The specified image cache %s does not exist.", cs.Pinned))
		case imc.Phase != PhaseReady:
			s.event(ctx, g.ID, "Normal", "ImageCacheNotComplete", fmt.Sprintf("The production for specified image cache %s is not yet complete.", cs.Pinned))
			if cs.LegacyPinned {
				s.fail(ctx, g, fmt.Sprintf("image cache %s (k8s.aliyun.com/eci-image-snapshot-id) is %s, not Ready: a pod pinned to a cache with the legacy annotation fails", cs.Pinned, imc.Phase))
				return g, errCacheFailed
			}
		default:
			chosen = imc.ID
		}
	case cs.AutoMatch:
		best, err := s.bestCache(ctx, g)
		if err != nil {
			return g, err
		}
		if best == "" {
			s.event(ctx, g.ID, "Warning", "ImageCacheMissed", "Missed image cache.")
		}
		chosen = best
	}
	g, err := s.update(ctx, g.ID, func(g *ContainerGroup) error {
		g.MatchedImageCache = chosen
		g.CacheChecked = true
		return nil
	})
	if err == nil && chosen != "" {
		s.event(ctx, g.ID, "Normal", "SuccessfulHitImageCache", fmt.Sprintf("[eci.imagecache]Successfully hit image cache %s, eci will be scheduled with this image cache.", chosen))
	}
	return g, err
}

var errCacheFailed = errors.New("the pinned image cache is not usable")

func (g ContainerGroup) cacheDecided() bool { return g.CacheChecked }

// bestCache ranks the account's Ready caches by the number of the group's
// images they hold, then by their size (smaller first: less to keep
// mounted), then by age (newer first); perfect match and a minimum count
// narrow the candidates.
func (s *Service) bestCache(ctx context.Context, g ContainerGroup) (string, error) {
	caches, err := s.ListImageCaches(ctx, g.Account)
	if err != nil {
		return "", err
	}
	want := map[string]bool{}
	for _, c := range g.Containers {
		want[c.Image] = true
	}
	type cand struct {
		c       ImageCache
		matched int
	}
	var cands []cand
	for _, c := range caches {
		if c.Phase != PhaseReady {
			continue
		}
		n := 0
		for _, ci := range c.Cached {
			if want[ci.Image] {
				n++
			}
		}
		if n == 0 || (g.Cache.PerfectMatch && n < len(want)) || (!g.Cache.PerfectMatch && g.Cache.MatchCount > n) {
			continue
		}
		cands = append(cands, cand{c, n})
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.matched != b.matched {
			return a.matched > b.matched
		}
		if a.c.Bytes() != b.c.Bytes() {
			return a.c.Bytes() < b.c.Bytes()
		}
		return a.c.CreationTime.After(b.c.CreationTime)
	})
	if len(cands) == 0 {
		return "", nil
	}
	return cands[0].c.ID, nil
}

func dedupeStrings(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}
