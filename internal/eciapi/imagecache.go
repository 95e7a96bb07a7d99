package eciapi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/openapi"
)

// cacheResource is acs:eci:REGION:UID:imagecache/ID (or /*).
func (s scope) cacheResource(id string) string {
	return "acs:eci:" + s.region + ":" + s.account + ":imagecache/" + id
}

func (a *api) createImageCache(ctx context.Context, c *openapi.Call) (any, error) {
	s, err := scopeOf(c)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:CreateImageCache", s.cacheResource("*")); err != nil {
		return nil, err
	}
	in, err := cacheInput(c.Params, s)
	if err != nil {
		return nil, err
	}
	ic, err := a.eci.CreateImageCache(ctx, in)
	if err != nil {
		return nil, err
	}
	// ContainerGroupId is the vendor's temporary build instance; rolepull
	// pulls without one.
	return struct {
		ImageCacheID     string `json:"ImageCacheId"`
		ContainerGroupID string `json:"ContainerGroupId"`
	}{ic.ID, ""}, nil
}

// cacheInput translates CreateImageCache's parameters. Package eci
// validates what is its own (the name, repeated or empty images); this
// reports what only the wire knows: list numbering, a size or retention
// sent but out of range (package eci reads 0 as "left out"), and the
// AcrRegistryInfo and ImageRegistryCredential entries, read exactly as
// CreateContainerGroup reads them.
func cacheInput(p openapi.Params, s scope) (eci.CacheInput, error) {
	name, err := p.Require("ImageCacheName")
	if err != nil {
		return eci.CacheInput{}, err
	}
	var ps problems
	in := eci.CacheInput{
		Account: s.account,
		Region:  s.region,
		Name:    name,
		Images:  cacheImages(p, true, &ps),
	}
	in.SizeGiB, _ = cacheSize(p, &ps)
	in.RetentionDays, _ = retentionDays(p, &ps)
	in.Instances, in.Chains = registryInfo(p, s.account, &ps)
	in.Credentials = credentials(p, &ps)
	if err := ps.err(); err != nil {
		return eci.CacheInput{}, err
	}
	return in, nil
}

// cacheImages reads Image.N.
func cacheImages(p openapi.Params, required bool, ps *problems) []string {
	before := len(*ps)
	n := listLen(p, "Image", eci.MaxCacheImages, ps)
	if n == 0 && required && len(*ps) == before {
		ps.add("Image", "an image cache holds 1–%d images and this request has none: send Image.1 (Image.2, … for more)", eci.MaxCacheImages)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = p.Get("Image." + strconv.Itoa(i+1))
	}
	return out
}

// cacheSize reads ImageCacheSize, in GiB; ok is false when it was left out.
func cacheSize(p openapi.Params, ps *problems) (int, bool) {
	return boundedInt(p, "ImageCacheSize", eci.MinCacheSizeGiB, eci.MaxCacheSizeGiB, "GiB",
		fmt.Sprintf("for %d GiB; the images must fit (twice their size is advised)", eci.DefaultCacheSizeGiB), ps)
}

// retentionDays reads RetentionDays; ok is false when it was left out.
func retentionDays(p openapi.Params, ps *problems) (int, bool) {
	return boundedInt(p, "RetentionDays", eci.MinRetentionDays, eci.MaxRetentionDays, "days", "for a cache that never expires", ps)
}

// boundedInt reads an optional whole number of unit in [lo, hi]; ok is
// false when it was left out or refused. Sent, 0 is refused like any
// value out of range: only leaving it out means "the default".
func boundedInt(p openapi.Params, name string, lo, hi int, unit, leftOut string, ps *problems) (int, bool) {
	s := p.Get(name)
	if s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		ps.add(name, "%.32q: want a whole number of %s from %d to %d, or leave it out %s", s, unit, lo, hi, leftOut)
		return 0, false
	}
	return n, true
}

// ownCache returns cache id when it is the caller's and in the request's
// region; any other cache does not exist.
func (a *api) ownCache(ctx context.Context, s scope, id string) (eci.ImageCache, error) {
	ic, err := a.eci.GetImageCache(ctx, s.account, id)
	if err != nil {
		return eci.ImageCache{}, err
	}
	if ic.Region != s.region {
		// The caller's own cache, so naming its region reveals nothing.
		return eci.ImageCache{}, &eci.Error{Err: eci.ErrNotFound, Field: "ImageCacheId",
			Msg: fmt.Sprintf("image cache %s is in %s, not in %s, the region of this request: send RegionId=%s", id, ic.Region, s.region, ic.Region)}
	}
	return ic, nil
}

// UpdateImageCache takes CreateImageCache's parameters. Those rolepull
// cannot change are refused rather than dropped: a cache's pull settings
// are frozen when it is created (as a pod's are), and it is never renamed
// or resized.
func (a *api) updateImageCache(ctx context.Context, c *openapi.Call) (any, error) {
	s, err := scopeOf(c)
	if err != nil {
		return nil, err
	}
	id, err := c.Params.Require("ImageCacheId")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:UpdateImageCache", s.cacheResource(id)); err != nil {
		return nil, err
	}
	p := c.Params
	var ps problems
	images := cacheImages(p, false, &ps)
	var retention *int
	if n, ok := retentionDays(p, &ps); ok {
		retention = &n
	}
	size, sized := cacheSize(p, &ps)
	for _, list := range []string{"AcrRegistryInfo", "ImageRegistryCredential"} {
		if keys := sortedKeys(p, list+"."); len(keys) > 0 {
			ps.add(list, "%s is set, but an image cache pulls with the settings it was created with, as a pod does: leave %s out, or create a new cache (CreateImageCache) to pull otherwise", keys[0], list)
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	ic, err := a.ownCache(ctx, s, id)
	if err != nil {
		return nil, err
	}
	if name := p.Get("ImageCacheName"); name != "" && name != ic.Name {
		ps.add("ImageCacheName", "%.128q: image cache %s is named %q and cannot be renamed: send its name or leave ImageCacheName out", name, id, ic.Name)
	}
	if sized && size != ic.SizeGiB {
		ps.add("ImageCacheSize", "%d GiB: image cache %s holds %d GiB and cannot be resized: send %d or leave ImageCacheSize out, or create a new cache", size, id, ic.SizeGiB, ic.SizeGiB)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	if _, err := a.eci.UpdateImageCache(ctx, s.account, id, images, retention); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (a *api) deleteImageCache(ctx context.Context, c *openapi.Call) (any, error) {
	s, err := scopeOf(c)
	if err != nil {
		return nil, err
	}
	id, err := c.Params.Require("ImageCacheId")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:DeleteImageCache", s.cacheResource(id)); err != nil {
		return nil, err
	}
	if _, err := a.ownCache(ctx, s, id); err != nil {
		return nil, err
	}
	if err := a.eci.DeleteImageCache(ctx, s.account, id); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// The response shapes, with the SDK's field names (v1's, and RegionId and
// ImageCacheSize from the newer SDKs). Fields after a "rolepull" comment
// are additions the SDK ignores.
type (
	cachesOut struct {
		TotalCount  int        `json:"TotalCount"`
		NextToken   string     `json:"NextToken"`
		ImageCaches []cacheOut `json:"ImageCaches"`
	}
	cacheOut struct {
		ImageCacheID     string     `json:"ImageCacheId"`
		ImageCacheName   string     `json:"ImageCacheName"`
		RegionID         string     `json:"RegionId"`
		Status           string     `json:"Status"`
		Progress         string     `json:"Progress"`
		Images           []string   `json:"Images"`
		ImageCacheSize   int        `json:"ImageCacheSize"`
		RetentionDays    int        `json:"RetentionDays,omitempty"`
		CreationTime     string     `json:"CreationTime"`
		ExpireDateTime   string     `json:"ExpireDateTime"`
		ContainerGroupID string     `json:"ContainerGroupId"` // no build instance here: always ""
		SnapshotID       string     `json:"SnapshotId"`       // no snapshot here: always ""
		Events           []eventOut `json:"Events"`
		// rolepull
		Identity string `json:"Identity,omitempty"`
		Message  string `json:"Message,omitempty"`
		Bytes    int64  `json:"Bytes"`
	}
)

func (a *api) describeImageCaches(ctx context.Context, c *openapi.Call) (any, error) {
	s, err := scopeOf(c)
	if err != nil {
		return nil, err
	}
	// A request for one cache is a request on that cache's resource, so a
	// policy may allow describing one cache only; a wildcard still covers it.
	resource := s.cacheResource("*")
	if id := c.Params.Get("ImageCacheId"); id != "" {
		resource = s.cacheResource(id)
	}
	if err := c.Authorize(ctx, "eci:DescribeImageCaches", resource); err != nil {
		return nil, err
	}
	p := c.Params
	var ps problems
	if p.Get("SnapshotId") != "" {
		ps.add("SnapshotId", "rolepull keeps image caches in its content store, not in snapshots, so it cannot select them by snapshot: leave SnapshotId out")
	}
	if len(p.Keys("Tag.")) > 0 {
		ps.add("Tag", "rolepull keeps no tags on image caches, so it cannot select them by tag: leave Tag out")
	}
	if len(p.Keys("MatchImage.")) > 0 {
		ps.add("MatchImage", "rolepull does not rank caches for images here: select by Image (a cache holding it), or let a container group match a cache")
	}
	limit, err := p.Int("Limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return nil, err
	}
	var after *position
	if tok := p.Get("NextToken"); tok != "" {
		pos, ok := parseCacheToken(tok)
		if !ok {
			ps.add("NextToken", "%.64q is not a NextToken this API returned: send the previous response's NextToken, or none for the first page", tok)
		}
		after = &pos
	}
	if err := ps.err(); err != nil {
		return nil, err
	}

	all, err := a.eci.ListImageCaches(ctx, s.account)
	if err != nil {
		return nil, err
	}
	id, name, image := p.Get("ImageCacheId"), p.Get("ImageCacheName"), p.Get("Image")
	var sel []eci.ImageCache
	for _, ic := range all {
		if ic.Region != s.region || id != "" && ic.ID != id || name != "" && ic.Name != name ||
			image != "" && !slices.Contains(ic.Images, image) {
			continue
		}
		sel = append(sel, ic)
	}
	slices.SortFunc(sel, func(x, y eci.ImageCache) int { return cachePosition(x).compare(cachePosition(y)) })
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(sel, *after, func(ic eci.ImageCache, p position) int {
			if c := cachePosition(ic).compare(p); c != 0 {
				return c
			}
			return -1 // the token's own cache comes before the page
		})
	}
	end := min(start+limit, len(sel))
	out := cachesOut{TotalCount: len(sel), ImageCaches: []cacheOut{}}
	if end < len(sel) {
		out.NextToken = cachePosition(sel[end-1]).token()
	}
	for _, ic := range sel[start:end] {
		evs, err := a.eci.Events(ctx, ic.ID)
		if err != nil {
			return nil, err
		}
		out.ImageCaches = append(out.ImageCaches, cacheView(ic, evs))
	}
	return out, nil
}

// cachePosition is a cache's place in a listing: newest first, then by id.
func cachePosition(ic eci.ImageCache) position { return position{ic.CreationTime.Unix(), ic.ID} }

// parseCacheToken reads a NextToken of DescribeImageCaches: "SECONDS.ID".
func parseCacheToken(s string) (position, bool) {
	secs, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(secs, 10, 64)
	if !ok || err != nil || n < 0 || !strings.HasPrefix(id, "imc-") {
		return position{}, false
	}
	return position{n, id}, true
}

func cacheView(ic eci.ImageCache, evs []eci.Event) cacheOut {
	out := cacheOut{
		ImageCacheID: ic.ID, ImageCacheName: ic.Name, RegionID: ic.Region, Status: ic.Phase,
		Progress: strconv.Itoa(ic.Progress) + "%", Images: slices.Clone(ic.Images), ImageCacheSize: ic.SizeGiB,
		RetentionDays: ic.RetentionDays, CreationTime: date(ic.CreationTime), ExpireDateTime: date(ic.ExpireTime),
		Events: []eventOut{}, Identity: ic.Identity, Message: ic.Message, Bytes: ic.Bytes(),
	}
	if out.Images == nil {
		out.Images = []string{}
	}
	for _, e := range evs {
		out.Events = append(out.Events, eventOut{Count: e.Count, Type: e.Type, Name: eventName(ic.ID, e), Message: e.Message,
			FirstTimestamp: date(e.FirstTimestamp), LastTimestamp: date(e.LastTimestamp), Reason: e.Reason})
	}
	return out
}
