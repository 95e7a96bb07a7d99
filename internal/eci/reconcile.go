package eci

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/rolepull/rolepull/internal/pull"
)

// Start runs the reconciler until ctx ends: workers take group ids from
// the queue, and every group still Pending is queued at once, so work
// interrupted by a restart resumes.
func (s *Service) Start(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		s.stopOnce.Do(func() { close(s.stop) })
	}()
	for i := 0; i < s.opts.Workers; i++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-s.queue:
					s.reconcile(ctx, id)
				}
			}
		}()
	}
	groups, err := s.List(ctx, "")
	if err != nil {
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.collectGarbage(ctx)
	}()
	for _, g := range groups {
		if g.Status == StatusPending {
			s.enqueue(g.ID)
		}
	}
	caches, err := s.ListImageCaches(ctx, "")
	if err != nil {
		return err
	}
	for _, c := range caches {
		switch c.Phase {
		case PhasePreparing, PhaseCreating, PhaseUpdating:
			// A cache interrupted mid-build resumes: blobs already stored
			// are not fetched again, and it is Ready only when complete.
			s.enqueue(c.ID)
		}
	}
	return nil
}

// collectGarbage removes unpinned blobs every GCInterval.
func (s *Service) collectGarbage(ctx context.Context) {
	t := time.NewTicker(s.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.expireCaches(ctx)
			st, err := s.content.GC(ctx)
			if err != nil {
				s.log.Error("content gc", "err", err)
				continue
			}
			if st.BlobsRemoved > 0 || st.IngestRemoved > 0 {
				s.log.Info("content gc", "blobs", st.BlobsRemoved, "bytes", st.BytesRemoved, "ingest", st.IngestRemoved)
			}
		}
	}
}

// Wait blocks until the workers have stopped (after Start's ctx ended).
func (s *Service) Wait() { s.wg.Wait() }

func (s *Service) enqueue(id string) {
	select {
	case s.queue <- id:
	default:
		// The queue is full: hand the id over when a worker frees a slot,
		// or drop it when the service stops (Start re-queues pending work).
		go func() {
			select {
			case s.queue <- id:
			case <-s.stop:
			}
		}()
	}
}

// requeueAfter queues a group again after its backoff.
func (s *Service) requeueAfter(ctx context.Context, id string) time.Duration {
	s.mu.Lock()
	n := s.retries[id]
	s.retries[id] = n + 1
	s.mu.Unlock()
	d := s.opts.Backoff << n
	if d > s.opts.MaxBackoff || d <= 0 {
		d = s.opts.MaxBackoff
	}
	time.AfterFunc(d, func() {
		if ctx.Err() == nil {
			s.enqueue(id)
		}
	})
	return d
}

// reconcile pulls whatever a Pending group still lacks, or builds a cache.
func (s *Service) reconcile(ctx context.Context, id string) {
	if strings.HasPrefix(id, "imc-") {
		s.buildCache(ctx, id)
		return
	}
	g, _, err := s.get(ctx, id)
	if err != nil || g.Status != StatusPending {
		return
	}
	if g, err = s.matchCache(ctx, g); err != nil {
		return
	}
	creds, err := s.credentials(g)
	if err != nil {
		s.fail(ctx, g, "the group's registry credentials cannot be opened: "+err.Error())
		return
	}
	settings := g.Pull
	settings.Credentials = creds
	var pins []digest.Digest
	retry := false
	for i, c := range g.Containers {
		st := g.ContainerStatuses[i]
		if st.Ready {
			continue
		}
		res, cacheID, err := s.pullContainer(ctx, g, settings, c)
		if err != nil {
			kind := pull.KindOf(err)
			reason := "ErrImagePull"
			if kind == pull.Invalid {
				reason = "InvalidImageName"
			}
			msg := fmt.Sprintf("Failed to pull image %q: %v", c.Image, err)
			evReason := reason
			if kind == pull.Permission && len(g.Pull.Chains) == 0 && res.Plan.ACR {
				evReason = "Unauthorized" // the vendor's event for the service-linked role
			}
			s.event(ctx, g.ID, "Warning", evReason, msg)
			g, err = s.update(ctx, g.ID, func(g *ContainerGroup) error {
				cs := &g.ContainerStatuses[i]
				cs.Reason, cs.Message, cs.FailureKind = reason, msg, string(kind)
				if res.Plan.Ref != nil {
					cs.Identity = res.Plan.Identity() // who the failed pull was made as
				}
				if kind == pull.Invalid {
					cs.State = "Terminated"
					g.Status = StatusFailed
				}
				return nil
			})
			if err != nil {
				return // deleted meanwhile, or the store failed: nothing to record into
			}
			if kind != pull.Invalid {
				retry = true
			}
			continue
		}
		pins = append(pins, res.Digests...)
		msg := fmt.Sprintf("Successfully pulled image %q (%s, %d bytes) as %s", c.Image, res.Digest, res.Bytes, res.Identity)
		if cacheID != "" {
			msg = fmt.Sprintf("Container image %q already present on machine (image cache %s, authorized as %s)", c.Image, cacheID, res.Identity)
		}
		s.event(ctx, g.ID, "Normal", "Pulled", msg)
		g, err = s.update(ctx, g.ID, func(g *ContainerGroup) error {
			cs := &g.ContainerStatuses[i]
			cs.ImageDigest, cs.Identity, cs.Bytes, cs.Cache = res.Digest.String(), res.Identity, res.Bytes, cacheID
			cs.Ready, cs.State, cs.Reason, cs.Message, cs.FailureKind = true, "Waiting", "ImagesReady", "image pulled and verified; no container runtime is configured, so it does not run", ""
			return nil
		})
		if err != nil {
			s.log.Error("update group", "group", g.ID, "err", err)
			return
		}
	}
	// Pin what every ready container uses (pins replace the set).
	all := pins
	for _, cs := range g.ContainerStatuses {
		if cs.Ready && cs.ImageDigest != "" {
			all = append(all, digest.Digest(cs.ImageDigest))
		}
	}
	if err := s.pinMore(ctx, g.ID, all); err != nil {
		s.log.Error("pin", "group", g.ID, "err", err)
	}
	if g.Status == StatusFailed {
		return
	}
	if retry {
		d := s.requeueAfter(ctx, g.ID)
		s.event(ctx, g.ID, "Normal", "BackOff", fmt.Sprintf("Back-off pulling image; retrying in %s", d))
		s.update(ctx, g.ID, func(g *ContainerGroup) error {
			for i := range g.ContainerStatuses {
				if !g.ContainerStatuses[i].Ready && g.ContainerStatuses[i].Reason == "ErrImagePull" {
					g.ContainerStatuses[i].Reason = "ImagePullBackOff"
				}
			}
			return nil
		})
		return
	}
	s.mu.Lock()
	delete(s.retries, g.ID)
	s.mu.Unlock()
	s.update(ctx, g.ID, func(g *ContainerGroup) error {
		g.Status = StatusImagesReady
		g.ObservedGeneration = g.Generation
		return nil
	})
}

// pullContainer pulls one container's image, through an image cache when
// the group may use one (imagecache.go).
func (s *Service) pullContainer(ctx context.Context, g ContainerGroup, settings pull.Settings, c Container) (pull.Result, string, error) {
	progress := func(p pull.Progress) {
		s.update(ctx, g.ID, func(g *ContainerGroup) error {
			g.Progress = Progress{Layers: p.Layers, LayersDone: p.LayersDone, Bytes: p.Bytes, BytesDone: p.BytesDone}
			return nil
		})
	}
	if res, cacheID, ok, err := s.fromCache(ctx, g, settings, c); ok || err != nil {
		return res, cacheID, err
	}
	plan, err := s.puller.Plan(ctx, settings, c.Image)
	if err != nil {
		return pull.Result{}, "", err
	}
	s.event(ctx, g.ID, "Normal", "Pulling", fmt.Sprintf("Pulling image %q as %s", c.Image, plan.Identity()))
	res, err := s.puller.Fetch(ctx, plan, pull.FetchOptions{
		Progress: throttle(progress),
		Pin:      func(ds []digest.Digest) error { return s.pinMore(ctx, g.ID, ds) },
	})
	if err != nil {
		return pull.Result{Plan: plan}, "", err
	}
	return res, "", nil
}

// throttle limits progress updates (each a store write) to four a second,
// and always lets the last one through. Layers report concurrently.
func throttle(f func(pull.Progress)) func(pull.Progress) {
	var mu sync.Mutex
	var last time.Time
	return func(p pull.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < 250*time.Millisecond && p.LayersDone < p.Layers {
			return
		}
		last = time.Now()
		f(p)
	}
}

func (s *Service) fail(ctx context.Context, g ContainerGroup, msg string) {
	s.event(ctx, g.ID, "Warning", "Failed", msg)
	s.update(ctx, g.ID, func(g *ContainerGroup) error {
		g.Status = StatusFailed
		return nil
	})
}

// pinMore adds digests to an owner's pins (Pin replaces the whole set).
// A failed read of the current pins is an error, never an empty set.
func (s *Service) pinMore(ctx context.Context, owner string, ds []digest.Digest) error {
	if len(ds) == 0 {
		return nil
	}
	existing, err := s.content.Pins(ctx, owner)
	if err != nil {
		return err
	}
	return s.content.Pin(ctx, owner, dedupe(append(existing, ds...)))
}

func dedupe(ds []digest.Digest) []digest.Digest {
	seen := map[digest.Digest]bool{}
	out := ds[:0:0]
	for _, d := range ds {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}
