package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	eciv1 "github.com/rolepull/rolepull/api/eci/v1"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/pull"
	"github.com/rolepull/rolepull/internal/store"
)

func cacheObjKey(acct, name string) string { return prefix + acct + "/imagecaches/" + name }

// storedCache is an ImageCache object and the ECI cache behind it.
type storedCache struct {
	Object  eciv1.ImageCache `json:"object"`
	CacheID string           `json:"cacheId"`
}

// validateImageCache checks an ImageCache; its imagePullSecrets are
// namespace:secret (the object is cluster scoped).
func validateImageCache(e *errs, ic *eciv1.ImageCache, inFile map[string]bool, exists func(ns, name string) (bool, error)) podSettings {
	st := settingsFrom(e, "metadata", ic.ObjectMeta, nil)
	spec := ic.Spec
	if len(spec.Images) == 0 {
		e.add("spec.images", "at least one image is required")
	}
	if len(spec.Images) > eci.MaxCacheImages {
		e.add("spec.images", "%d images, at most %d", len(spec.Images), eci.MaxCacheImages)
	}
	seen := map[string]bool{}
	for i, img := range spec.Images {
		if img == "" || seen[img] {
			e.add(fmt.Sprintf("spec.images[%d]", i), "%q is empty or repeated", img)
		}
		seen[img] = true
	}
	if s := spec.ImageCacheSize; s != nil && (*s < eci.MinCacheSizeGiB || *s > eci.MaxCacheSizeGiB) {
		e.add("spec.imageCacheSize", "%d GiB: want %d–%d (default %d)", *s, eci.MinCacheSizeGiB, eci.MaxCacheSizeGiB, eci.DefaultCacheSizeGiB)
	}
	if r := spec.RetentionDays; r != nil && (*r < eci.MinRetentionDays || *r > eci.MaxRetentionDays) {
		e.add("spec.retentionDays", "%d: want %d–%d, or leave it out for a cache that never expires", *r, eci.MinRetentionDays, eci.MaxRetentionDays)
	}
	for i, ref := range spec.ImagePullSecrets {
		f := fmt.Sprintf("spec.imagePullSecrets[%d]", i)
		ns, name, ok := strings.Cut(ref, ":")
		if !ok || ns == "" || name == "" || strings.Contains(name, ":") {
			e.add(f, "%q: want namespace:secret (an ImageCache is cluster scoped)", ref)
			continue
		}
		if inFile[ns+"/"+name] {
			st.secrets = append(st.secrets, ref)
			continue
		}
		ok, err := exists(ns, name)
		if err != nil {
			e.add(f, "%v", err)
		} else if !ok {
			e.add(f, "secret %s/%s does not exist: apply it first (type %s)", ns, name, dockerConfigType)
		}
		st.secrets = append(st.secrets, ref)
	}
	return st
}

func (s *Service) applyImageCache(ctx context.Context, t Target, p plan) ([]Result, error) {
	ic := p.obj.ImageCache
	r := Result{Kind: "ImageCache", Name: ic.Name}
	var old storedCache
	found, err := s.getJSON(ctx, cacheObjKey(t.Account, ic.Name), &old)
	if err != nil {
		return nil, err
	}
	if found {
		if _, err := s.eci.GetImageCache(ctx, t.Account, old.CacheID); errors.Is(err, eci.ErrNotFound) {
			found = false // it expired: create it again
		}
	}
	if !found {
		var creds []pull.Credential
		for _, ref := range p.settings.secrets {
			ns, name, _ := strings.Cut(ref, ":")
			c, err := s.secretCredentials(ctx, t.Account, ns, []string{name})
			if err != nil {
				return nil, err
			}
			creds = append(creds, c...)
		}
		in := eci.CacheInput{Account: t.Account, Region: t.Region, Name: ic.Name, Images: ic.Spec.Images, Annotations: ic.Annotations,
			Chains: p.settings.chains, Instances: p.settings.instances, Credentials: creds}
		if ic.Spec.ImageCacheSize != nil {
			in.SizeGiB = int(*ic.Spec.ImageCacheSize)
		}
		if ic.Spec.RetentionDays != nil {
			in.RetentionDays = int(*ic.Spec.RetentionDays)
		}
		c, err := s.eci.CreateImageCache(ctx, in)
		if err != nil {
			return nil, err
		}
		r.Action = "created"
		return []Result{r}, s.put(ctx, cacheObjKey(t.Account, ic.Name), storedCache{Object: *ic, CacheID: c.ID})
	}
	if equality.Semantic.DeepEqual(old.Object.Spec, ic.Spec) {
		r.Action = "unchanged"
		if !equality.Semantic.DeepEqual(old.Object.Annotations, ic.Annotations) {
			r.Action = "configured (annotations are read only when a cache is created)"
			old.Object.Annotations = ic.Annotations
			return []Result{r}, s.put(ctx, cacheObjKey(t.Account, ic.Name), old)
		}
		return []Result{r}, nil
	}
	var retention *int
	if ic.Spec.RetentionDays != nil {
		n := int(*ic.Spec.RetentionDays)
		retention = &n
	}
	if _, err := s.eci.UpdateImageCache(ctx, t.Account, old.CacheID, ic.Spec.Images, retention); err != nil {
		return nil, err
	}
	old.Object.Spec = ic.Spec
	r.Action = "configured"
	return []Result{r}, s.put(ctx, cacheObjKey(t.Account, ic.Name), old)
}

// ImageCaches lists an account's ImageCache objects with their status.
func (s *Service) ImageCaches(ctx context.Context, acct string) ([]eciv1.ImageCache, error) {
	kvs, _, err := s.st.List(ctx, accountPrefix(acct, "imagecaches"))
	if err != nil {
		return nil, err
	}
	var out []eciv1.ImageCache
	for _, kv := range kvs {
		var sc storedCache
		if err := unmarshal(kv, &sc); err != nil {
			return nil, err
		}
		v, err := s.cacheView(ctx, acct, sc, false)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ImageCache returns one ImageCache object with its status and events.
func (s *Service) ImageCache(ctx context.Context, acct, name string) (eciv1.ImageCache, error) {
	var sc storedCache
	found, err := s.getJSON(ctx, cacheObjKey(acct, name), &sc)
	if err != nil {
		return eciv1.ImageCache{}, err
	}
	if !found {
		return eciv1.ImageCache{}, fmt.Errorf("%w: imagecache %s", ErrNotFound, name)
	}
	return s.cacheView(ctx, acct, sc, true)
}

func (s *Service) cacheView(ctx context.Context, acct string, sc storedCache, withEvents bool) (eciv1.ImageCache, error) {
	v := sc.Object
	v.TypeMeta = metav1.TypeMeta{APIVersion: eciv1.GroupVersion, Kind: "ImageCache"}
	c, err := s.eci.GetImageCache(ctx, acct, sc.CacheID)
	if errors.Is(err, eci.ErrNotFound) {
		v.Status = eciv1.ImageCacheStatus{ImageCacheID: sc.CacheID, Phase: "Expired"}
		return v, nil
	}
	if err != nil {
		return v, err
	}
	v.CreationTimestamp = metav1.NewTime(c.CreationTime)
	v.Status = eciv1.ImageCacheStatus{
		ImageCacheID: c.ID, Phase: c.Phase, Progress: fmt.Sprintf("%d%%", c.Progress),
		StartTime: metav1.NewTime(c.CreationTime), LastUpdatedTime: metav1.NewTime(c.LastUpdatedTime), Identity: c.Identity,
	}
	if !c.ExpireTime.IsZero() {
		v.Status.ExpireDateTime = metav1.NewTime(c.ExpireTime)
	}
	if withEvents {
		evs, err := s.eci.Events(ctx, c.ID)
		if err != nil {
			return v, err
		}
		for _, e := range evs {
			v.Status.Events = append(v.Status.Events, eciv1.Event{Name: e.Reason, Type: e.Type, Message: e.Message, Count: e.Count,
				FirstTimestamp: metav1.NewTime(e.FirstTimestamp), LastTimestamp: metav1.NewTime(e.LastTimestamp)})
		}
	}
	return v, nil
}

// deleteImageCache deletes an ImageCache object and its cache.
func (s *Service) deleteImageCache(ctx context.Context, acct, name string) error {
	var sc storedCache
	found, err := s.getJSON(ctx, cacheObjKey(acct, name), &sc)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: imagecache %s", ErrNotFound, name)
	}
	if err := s.eci.DeleteImageCache(ctx, acct, sc.CacheID); err != nil && !errors.Is(err, eci.ErrNotFound) {
		return err
	}
	_, err = s.st.Txn(ctx, nil, []store.Op{store.Delete(cacheObjKey(acct, name))})
	return err
}
