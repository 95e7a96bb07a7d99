package eciapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	ecisdk "github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eciapi"
	"github.com/rolepull/rolepull/internal/pull"
)

// rawCaches decodes DescribeImageCaches with rolepull's additions and the
// fields the v1 SDK's types do not carry.
type rawCaches struct {
	TotalCount  int
	NextToken   string
	ImageCaches []struct {
		ImageCacheId, ImageCacheName, RegionId, Status, Progress string
		CreationTime, ExpireDateTime, ContainerGroupId           string
		Images                                                   []string
		ImageCacheSize, RetentionDays                            int
		Identity, Message                                        string
		Bytes                                                    int64
	}
}

// gatedRegistry is a private registry (basic auth) whose manifest requests
// wait while it is held: a pull of its image keeps a cache Creating or
// Updating until the test releases it.
type gatedRegistry struct {
	host, user, password string
	mu                   sync.Mutex
	held                 chan struct{} // nil: open
}

func newGatedRegistry(t *testing.T) *gatedRegistry {
	t.Helper()
	g := &gatedRegistry{user: "puller", password: "canary-" + rand.Text()}
	upstream := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != g.user || p != g.password {
			rw.Header().Set("WWW-Authenticate", `Basic realm="private"`)
			http.Error(rw, `{"errors":[{"code":"UNAUTHORIZED","message":"login required"}]}`, http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if strings.Contains(r.URL.Path, "/manifests/") {
				g.mu.Lock()
				held := g.held
				g.mu.Unlock()
				if held != nil {
					select {
					case <-held:
					case <-r.Context().Done():
						return
					}
				}
			}
		}
		upstream.ServeHTTP(rw, r)
	}))
	t.Cleanup(func() { g.release(); srv.Close() })
	g.host = strings.TrimPrefix(srv.URL, "http://")
	return g
}

// push pushes a random image to repo and returns its reference.
func (g *gatedRegistry) push(t *testing.T, repo string) string {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(g.host+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: g.user, Password: g.password}), remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	return ref.Name()
}

func (g *gatedRegistry) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = make(chan struct{})
	}
}

func (g *gatedRegistry) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
}

// describeCache returns the caller's cache id as the v1 SDK decodes it.
func (w *world) describeCache(c cred, id string) ecisdk.DescribeImageCachesImageCache0 {
	w.t.Helper()
	req := at(w, ecisdk.CreateDescribeImageCachesRequest())
	req.RegionId = region
	req.ImageCacheId = id
	resp, err := w.sdk(c).DescribeImageCaches(req)
	if err != nil {
		w.t.Fatalf("DescribeImageCaches(%s): %v", id, err)
	}
	if len(resp.ImageCaches) != 1 {
		w.t.Fatalf("DescribeImageCaches(%s) = %d caches, want 1", id, len(resp.ImageCaches))
	}
	return resp.ImageCaches[0]
}

// rawCache returns the caller's cache id with rolepull's additions.
func (w *world) rawCache(c cred, id string) ([]byte, rawCaches) {
	w.t.Helper()
	body, err := w.common(c, "DescribeImageCaches", map[string]string{"ImageCacheId": id})
	if err != nil {
		w.t.Fatalf("DescribeImageCaches(%s): %v", id, err)
	}
	var out rawCaches
	if err := json.Unmarshal(body, &out); err != nil {
		w.t.Fatal(err)
	}
	if len(out.ImageCaches) != 1 {
		w.t.Fatalf("DescribeImageCaches(%s) = %s, want one cache", id, body)
	}
	return body, out
}

// awaitCache polls DescribeImageCaches until the cache's Status is want;
// settling in another status fails the test.
func (w *world) awaitCache(c cred, id, want string) ecisdk.DescribeImageCachesImageCache0 {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ic := w.describeCache(c, id)
		if ic.Status == want {
			return ic
		}
		settled := slices.Contains([]string{"Ready", "Failed", "UpdateFailed"}, ic.Status)
		if settled || time.Now().After(deadline) {
			w.t.Fatalf("cache %s is %s (%s), want %s\nevents:\n%s", id, ic.Status, ic.Progress, want, cacheEventLines(ic.Events))
		}
		select {
		case <-w.t.Context().Done():
			w.t.Fatal(w.t.Context().Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func cacheEventLines(evs []ecisdk.DescribeImageCachesEvent1) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Type + " " + e.Name + ": " + e.Message + "\n")
	}
	return b.String()
}

// createCache creates a cache through the raw client and returns its id.
func (w *world) createCache(c cred, name string, images ...string) string {
	w.t.Helper()
	params := map[string]string{"ImageCacheName": name}
	for i, img := range images {
		params["Image."+strconv.Itoa(i+1)] = img
	}
	var out struct{ ImageCacheId string }
	if err := w.raw(c).Do(w.t.Context(), eciapi.Version, "CreateImageCache", params, &out); err != nil {
		w.t.Fatalf("CreateImageCache(%s): %v", name, err)
	}
	return out.ImageCacheId
}

// A cache created with the official SDK pulls an image of an open
// Enterprise instance (service-linked role) and a private registry's
// (ImageRegistryCredential), is Ready at 100%, refuses updates while
// Creating or Updating, updates from Ready through Updating back to Ready,
// and is gone once deleted. The registry password shows nowhere.
func TestImageCacheLifecycle(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "test1")
	host := ee.PublicHost(acr.DefaultBase)
	w.push(ee, host, "eci_test/nginx:1.0")
	nginx := host + "/eci_test/nginx:1.0"
	gated := newGatedRegistry(t)
	slow := gated.push(t, "library/slow:1")
	cl := w.sdk(w.root)

	gated.hold()
	req := at(w, ecisdk.CreateCreateImageCacheRequest())
	req.RegionId = region
	req.ImageCacheName = "nginx-cache"
	req.Image = []string{nginx, slow}
	req.ImageRegistryCredential = &[]ecisdk.CreateImageCacheImageRegistryCredential{{Server: gated.host, UserName: gated.user, Password: gated.password}}
	req.ImageCacheSize = requests.NewInteger(20)
	// The build instance's settings: accepted, not kept.
	req.ZoneId, req.SecurityGroupId, req.VSwitchId = region+"-k", "sg-uf66jeqopgqa9hdn0001", "vsw-uf6h3rbwbm90urjwa0001"
	req.EipInstanceId, req.ResourceGroupId, req.ClientToken = "eip-2zedsm5mfl3uhdj2d0001", "rg-aekzh43v0001", "123e4567-e89b-12d3-a456-426655440000"
	created, err := cl.CreateImageCache(req)
	if err != nil {
		t.Fatalf("CreateImageCache: %v", err)
	}
	id := created.ImageCacheId
	if !strings.HasPrefix(id, "imc-") || created.ContainerGroupId != "" || created.RequestId == "" {
		t.Fatalf("CreateImageCache = %+v, want an imc- id, no ContainerGroupId and a RequestId", created)
	}

	// Creating (the private image's pull waits): no update yet.
	w.awaitCache(w.root, id, "Creating")
	_, err = w.common(w.root, "UpdateImageCache", map[string]string{"ImageCacheId": id, "RetentionDays": "7"})
	wantError(t, "UpdateImageCache(Creating)", err, "OperationConflict", http.StatusConflict, id, "Creating", "Ready or UpdateFailed")

	gated.release()
	ic := w.awaitCache(w.root, id, "Ready")
	if ic.Progress != "100%" || ic.ImageCacheId != id || ic.ImageCacheName != "nginx-cache" || ic.ContainerGroupId != "" {
		t.Errorf("Ready cache = %+v, want nginx-cache %s at 100%%, no ContainerGroupId", ic, id)
	}
	if diff := cmp.Diff([]string{nginx, slow}, ic.Images); diff != "" {
		t.Errorf("Images (-want +got):\n%s", diff)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", ic.CreationTime); err != nil {
		t.Errorf("CreationTime %q: %v", ic.CreationTime, err)
	}
	if ic.ExpireDateTime != "" {
		t.Errorf("ExpireDateTime = %q, want none: no RetentionDays, so the cache never expires", ic.ExpireDateTime)
	}
	if len(ic.Events) == 0 || !strings.Contains(cacheEventLines(ic.Events), "Normal "+id+".") {
		t.Errorf("events lack names of the form %s.N:\n%s", id, cacheEventLines(ic.Events))
	}
	for _, e := range ic.Events {
		if e.Count < 1 || e.FirstTimestamp == "" || e.LastTimestamp == "" {
			t.Errorf("event %+v lacks a count or timestamps", e)
		}
	}

	// rolepull's additions: who pulled, what it stores; and the sizes.
	body, raw := w.rawCache(w.root, id)
	rc := raw.ImageCaches[0]
	if !strings.Contains(rc.Identity, "AliyunServiceRoleForECI") || !strings.Contains(rc.Identity, "imagePullSecret for "+gated.host) {
		t.Errorf("Identity = %q, want the service-linked role and the registry credential for %s", rc.Identity, gated.host)
	}
	if rc.Bytes <= 0 || rc.ImageCacheSize != 20 || rc.RetentionDays != 0 || rc.RegionId != region || raw.TotalCount != 1 {
		t.Errorf("DescribeImageCaches = %s, want Bytes > 0, ImageCacheSize 20, no RetentionDays, RegionId %s, TotalCount 1", body, region)
	}
	if bytes.Contains(body, []byte(gated.password)) {
		t.Errorf("DescribeImageCaches shows the registry password:\n%s", body)
	}

	// From Ready: Updating (the private image is pulled again, and waits),
	// where no second update is taken, then Ready with the new images and
	// retention.
	gated.hold()
	if _, err := w.common(w.root, "UpdateImageCache", map[string]string{
		"ImageCacheId": id, "ImageCacheName": "nginx-cache", "Image.1": slow, "RetentionDays": "7",
		"SecurityGroupId": "sg-uf66jeqopgqa9hdn0001", "VSwitchId": "vsw-uf6h3rbwbm90urjwa0001",
	}); err != nil {
		t.Fatalf("UpdateImageCache(Ready): %v", err)
	}
	if ic := w.describeCache(w.root, id); ic.Status != "Updating" || ic.Progress == "100%" {
		t.Errorf("after UpdateImageCache, cache = %s at %s, want Updating, not done", ic.Status, ic.Progress)
	}
	_, err = w.common(w.root, "UpdateImageCache", map[string]string{"ImageCacheId": id})
	wantError(t, "UpdateImageCache(Updating)", err, "OperationConflict", http.StatusConflict, "Updating")
	gated.release()
	ic = w.awaitCache(w.root, id, "Ready")
	if ic.Progress != "100%" || !slices.Equal(ic.Images, []string{slow}) {
		t.Errorf("updated cache = %s %v, want 100%% and only %s", ic.Progress, ic.Images, slow)
	}
	created1, err1 := time.Parse("2006-01-02T15:04:05Z", ic.CreationTime)
	expires, err2 := time.Parse("2006-01-02T15:04:05Z", ic.ExpireDateTime)
	if err1 != nil || err2 != nil || expires.Sub(created1) != 7*24*time.Hour {
		t.Errorf("CreationTime %q, ExpireDateTime %q: want the expiry 7 days after creation", ic.CreationTime, ic.ExpireDateTime)
	}

	del := at(w, ecisdk.CreateDeleteImageCacheRequest())
	del.RegionId = region
	del.ImageCacheId = id
	if _, err := cl.DeleteImageCache(del); err != nil {
		t.Fatalf("DeleteImageCache: %v", err)
	}
	list := at(w, ecisdk.CreateDescribeImageCachesRequest())
	list.ImageCacheId = id
	if resp, err := cl.DescribeImageCaches(list); err != nil || len(resp.ImageCaches) != 0 {
		t.Errorf("after delete, DescribeImageCaches = %+v, %v, want none", resp, err)
	}
	_, err = cl.DeleteImageCache(del)
	wantError(t, "DeleteImageCache(deleted)", err, "InvalidParameter.NotFound", http.StatusNotFound, id)
}

// AcrRegistryInfo is read as CreateContainerGroup reads it and becomes the
// cache's frozen pull settings; the build instance's parameters, including
// those newer than the v1 SDK, are accepted and not kept. A cache whose
// image cannot be pulled is Failed, says why, and expires 24 hours later.
func TestImageCachePullSettings(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	assume := "acs:ram::" + w.a + ":role/role-assume"
	acrRole := "acs:ram::1234567890123456:role/role-acr"
	params := map[string]string{
		"ImageCacheName":                   "chain",
		"Image.1":                          "not a reference!",
		"AcrRegistryInfo.1.InstanceId":     "cri-abc123",
		"AcrRegistryInfo.1.RegionId":       "cn-beijing",
		"AcrRegistryInfo.1.Domain.1":       "TEST-registry.example.com",
		"AcrRegistryInfo.1.ArnService":     assume,
		"AcrRegistryInfo.1.ArnUser":        acrRole,
		"AcrRegistryInfo.2.ArnService":     assume,
		"AcrRegistryInfo.2.ArnUser":        acrRole,
		"RetentionDays":                    "3",
		"ZoneId":                           region + "-k",
		"VSwitchId":                        "vsw-doesnotexist",
		"SecurityGroupId":                  "sg-uf66jeqopgqa9hdn0001",
		"EipInstanceId":                    "eip-2zedsm5mfl3uhdj2d0001",
		"AutoCreateEip":                    "true",
		"EipBandwidth":                     "5",
		"AutoMatchImageCache":              "true",
		"StandardCopyCount":                "2",
		"Tag.1.Key":                        "env",
		"Tag.1.Value":                      "test",
		"ImageRegistryCredential.1.Server": "reg.example.com", "ImageRegistryCredential.1.UserName": "u",
		"ImageRegistryCredential.1.Password": "a-password",
	}
	var out struct{ ImageCacheId, ContainerGroupId string }
	if err := w.raw(w.root).Do(ctx, eciapi.Version, "CreateImageCache", params, &out); err != nil {
		t.Fatalf("CreateImageCache: %v", err)
	}
	ic, err := w.n.ECI.GetImageCache(ctx, w.a, out.ImageCacheId)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]pull.Chain{{Service: assume, User: acrRole}}, ic.Pull.Chains); diff != "" {
		t.Errorf("frozen chains (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]pull.InstanceRef{{Region: "cn-beijing", InstanceID: "cri-abc123", Domains: []string{"test-registry.example.com"}}}, ic.Pull.Instances); diff != "" {
		t.Errorf("frozen instances (-want +got):\n%s", diff)
	}
	if len(ic.SealedCredentials) == 0 || ic.SizeGiB != 20 || ic.RetentionDays != 3 || ic.Region != region {
		t.Errorf("cache = size %d, retention %d, region %s, sealed credentials %d bytes; want 20 (the default), 3, %s, some",
			ic.SizeGiB, ic.RetentionDays, ic.Region, len(ic.SealedCredentials), region)
	}

	failed := w.awaitCache(w.root, out.ImageCacheId, "Failed")
	_, raw := w.rawCache(w.root, out.ImageCacheId)
	if rc := raw.ImageCaches[0]; !strings.Contains(rc.Message, "not a reference!") {
		t.Errorf("Message = %q, want the image that failed", rc.Message)
	}
	created, err1 := time.Parse("2006-01-02T15:04:05Z", failed.CreationTime)
	expires, err2 := time.Parse("2006-01-02T15:04:05Z", failed.ExpireDateTime)
	if err1 != nil || err2 != nil || expires.Sub(created) < 24*time.Hour || expires.Sub(created) > 25*time.Hour {
		t.Errorf("failed cache: CreationTime %q, ExpireDateTime %q, want expiry 24 hours after failing", failed.CreationTime, failed.ExpireDateTime)
	}
}

// Malformed requests are refused before anything is created, each problem
// named with its parameter, value and fix.
func TestCreateImageCacheRejects(t *testing.T) {
	w := newWorld(t)
	base := map[string]string{"ImageCacheName": "bad", "Image.1": "registry.example.com/ns/app:1"}
	many := map[string]string{}
	for i := 1; i <= 101; i++ {
		many["Image."+strconv.Itoa(i)] = fmt.Sprintf("registry.example.com/ns/app:%d", i)
	}
	tests := []struct {
		name     string
		set      map[string]string
		drop     []string
		code     string
		mentions []string
	}{
		{name: "ImageCacheSize 19", set: map[string]string{"ImageCacheSize": "19"},
			code: "InvalidParameter.ImageCacheSize", mentions: []string{`"19"`, "20 to 32768", "GiB"}},
		{name: "ImageCacheSize 32769", set: map[string]string{"ImageCacheSize": "32769"},
			code: "InvalidParameter.ImageCacheSize", mentions: []string{`"32769"`, "20 to 32768"}},
		{name: "ImageCacheSize 0", set: map[string]string{"ImageCacheSize": "0"},
			code: "InvalidParameter.ImageCacheSize", mentions: []string{`"0"`, "leave it out for 20 GiB"}},
		{name: "ImageCacheSize not a number", set: map[string]string{"ImageCacheSize": "20GiB"},
			code: "InvalidParameter.ImageCacheSize", mentions: []string{`"20GiB"`, "whole number"}},
		{name: "RetentionDays 0", set: map[string]string{"RetentionDays": "0"},
			code: "InvalidParameter.RetentionDays", mentions: []string{`"0"`, "1 to 65536", "never expires"}},
		{name: "RetentionDays 65537", set: map[string]string{"RetentionDays": "65537"},
			code: "InvalidParameter.RetentionDays", mentions: []string{`"65537"`, "1 to 65536"}},
		{name: "zero images", drop: []string{"Image.1"},
			code: "InvalidParameter.Image", mentions: []string{"Image.1", "none"}},
		{name: "Image sent unnumbered", drop: []string{"Image.1"}, set: map[string]string{"Image": "registry.example.com/ns/app:1"},
			code: "InvalidParameter.Image", mentions: []string{"Image.1"}},
		{name: "images numbered with a gap", drop: []string{"Image.1"}, set: map[string]string{"Image.2": "registry.example.com/ns/app:1"},
			code: "InvalidParameter.Image.1", mentions: []string{"Image.1", "Image.2"}},
		{name: "a repeated image", set: map[string]string{"Image.2": "registry.example.com/ns/app:1"},
			code: "InvalidParameter.Image.2", mentions: []string{"repeated"}},
		{name: "101 images", drop: []string{"Image.1"}, set: many,
			code: "InvalidParameter.Image.101", mentions: []string{"at most 100"}},
		{name: "no name", drop: []string{"ImageCacheName"},
			code: "MissingParameter", mentions: []string{"ImageCacheName"}},
		{name: "name too long", set: map[string]string{"ImageCacheName": strings.Repeat("n", 129)},
			code: "InvalidParameter.ImageCacheName", mentions: []string{"128"}},
		{name: "ArnUser without ArnService", set: map[string]string{"AcrRegistryInfo.1.ArnUser": "acs:ram::" + w.a + ":role/role-acr"},
			code: "InvalidParameter.AcrRegistryInfo.1.ArnUser", mentions: []string{"AcrRegistryInfo.1.ArnService", "eci.aliyuncs.com"}},
		{name: "misspelt AcrRegistryInfo field", set: map[string]string{"AcrRegistryInfo.1.ArnRole": "acs:ram::" + w.a + ":role/r"},
			code: "InvalidParameter.AcrRegistryInfo.1.ArnRole", mentions: []string{"ArnService"}},
		{name: "credential without a password",
			set:  map[string]string{"ImageRegistryCredential.1.Server": "reg.example.com", "ImageRegistryCredential.1.UserName": "u"},
			code: "InvalidParameter.ImageRegistryCredential.1.Password", mentions: []string{"reg.example.com"}},
		{name: "RegionId is not a region", set: map[string]string{"RegionId": "mars"},
			code: "InvalidParameter.RegionId", mentions: []string{"mars"}},
		{name: "every problem at once", drop: []string{"Image.1"}, set: map[string]string{"ImageCacheSize": "19", "RetentionDays": "0"},
			code: "InvalidParameter.Image", mentions: []string{"Image.1", "ImageCacheSize", "RetentionDays"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := maps.Clone(base)
			for _, k := range tt.drop {
				delete(params, k)
			}
			maps.Copy(params, tt.set)
			err := w.raw(w.root).Do(t.Context(), eciapi.Version, "CreateImageCache", params, nil)
			wantError(t, "CreateImageCache", err, tt.code, http.StatusBadRequest, tt.mentions...)
		})
	}

	// The official SDK decodes the same errors.
	for _, size := range []int{19, 32769} {
		req := at(w, ecisdk.CreateCreateImageCacheRequest())
		req.RegionId, req.ImageCacheName, req.Image = region, "bad", []string{"registry.example.com/ns/app:1"}
		req.ImageCacheSize = requests.NewInteger(size)
		_, err := w.sdk(w.root).CreateImageCache(req)
		wantError(t, fmt.Sprintf("SDK CreateImageCache(ImageCacheSize %d)", size), err, "InvalidParameter.ImageCacheSize", 400, strconv.Itoa(size))
	}
	for _, days := range []int{0, 65537} {
		req := at(w, ecisdk.CreateCreateImageCacheRequest())
		req.RegionId, req.ImageCacheName, req.Image = region, "bad", []string{"registry.example.com/ns/app:1"}
		req.RetentionDays = requests.NewInteger(days)
		_, err := w.sdk(w.root).CreateImageCache(req)
		wantError(t, fmt.Sprintf("SDK CreateImageCache(RetentionDays %d)", days), err, "InvalidParameter.RetentionDays", 400, strconv.Itoa(days))
	}
	req := at(w, ecisdk.CreateCreateImageCacheRequest())
	req.RegionId, req.ImageCacheName = region, "bad"
	_, err := w.sdk(w.root).CreateImageCache(req)
	wantError(t, "SDK CreateImageCache(no images)", err, "InvalidParameter.Image", 400, "Image.1")

	if caches, err := w.n.ECI.ListImageCaches(t.Context(), ""); err != nil || len(caches) != 0 {
		t.Errorf("after refused requests, caches = %d (%v), want none", len(caches), err)
	}
}

// UpdateImageCache refuses what a cache cannot change, malformed values,
// and any update of a cache that is not Ready or UpdateFailed.
func TestUpdateImageCacheRejects(t *testing.T) {
	w := newWorld(t)
	id := w.createCache(w.root, "failing", "not a reference!")
	w.awaitCache(w.root, id, "Failed")
	tests := []struct {
		name     string
		params   map[string]string
		code     string
		status   int
		mentions []string
	}{
		{"a Failed cache", map[string]string{"ImageCacheId": id, "RetentionDays": "7"},
			"OperationConflict", 409, []string{id, "Failed", "Ready or UpdateFailed"}},
		{"no id", map[string]string{"RetentionDays": "7"},
			"MissingParameter", 400, []string{"ImageCacheId"}},
		{"a rename", map[string]string{"ImageCacheId": id, "ImageCacheName": "renamed"},
			"InvalidParameter.ImageCacheName", 400, []string{"renamed", "failing", "cannot be renamed"}},
		{"a resize", map[string]string{"ImageCacheId": id, "ImageCacheSize": "40"},
			"InvalidParameter.ImageCacheSize", 400, []string{"40", "20", "cannot be resized"}},
		{"a size out of range", map[string]string{"ImageCacheId": id, "ImageCacheSize": "19"},
			"InvalidParameter.ImageCacheSize", 400, []string{`"19"`, "20 to 32768"}},
		{"RetentionDays 0", map[string]string{"ImageCacheId": id, "RetentionDays": "0"},
			"InvalidParameter.RetentionDays", 400, []string{`"0"`, "1 to 65536"}},
		{"new AcrRegistryInfo", map[string]string{"ImageCacheId": id, "AcrRegistryInfo.1.ArnService": "acs:ram::" + w.a + ":role/r"},
			"InvalidParameter.AcrRegistryInfo", 400, []string{"AcrRegistryInfo.1.ArnService", "created with", "CreateImageCache"}},
		{"new ImageRegistryCredential", map[string]string{"ImageCacheId": id, "ImageRegistryCredential.1.Server": "reg.example.com",
			"ImageRegistryCredential.1.UserName": "u", "ImageRegistryCredential.1.Password": "new-password"},
			"InvalidParameter.ImageRegistryCredential", 400, []string{"ImageRegistryCredential", "created with"}},
		{"images numbered with a gap", map[string]string{"ImageCacheId": id, "Image.2": "registry.example.com/ns/app:1"},
			"InvalidParameter.Image.1", 400, []string{"Image.2"}},
		{"a cache that does not exist", map[string]string{"ImageCacheId": "imc-doesnotexist"},
			"InvalidParameter.NotFound", 404, []string{"imc-doesnotexist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.common(w.root, "UpdateImageCache", tt.params)
			wantError(t, "UpdateImageCache", err, tt.code, tt.status, tt.mentions...)
			if err != nil && strings.Contains(err.Error(), "new-password") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
	if ic := w.describeCache(w.root, id); ic.Status != "Failed" || ic.ImageCacheName != "failing" {
		t.Errorf("after refused updates, cache = %s %s, want failing, Failed", ic.ImageCacheName, ic.Status)
	}
}

// Another account's cache does not exist for the caller: Describe shows
// nothing, Update and Delete answer not found, and the cache survives. A
// cache of the caller's own account in another region does not exist
// either.
func TestOtherAccountsImageCache(t *testing.T) {
	w := newWorld(t)
	_, rootB := w.account("acct-b")
	id := w.createCache(w.root, "mine", "not a reference!")
	w.awaitCache(w.root, id, "Failed")

	for _, params := range []map[string]string{nil, {"ImageCacheId": id}, {"ImageCacheName": "mine"}} {
		var out rawCaches
		if err := w.raw(rootB).Do(t.Context(), eciapi.Version, "DescribeImageCaches", params, &out); err != nil || out.TotalCount != 0 || len(out.ImageCaches) != 0 {
			t.Errorf("B's DescribeImageCaches(%v) = %+v, %v, want none", params, out, err)
		}
	}
	del := at(w, ecisdk.CreateDeleteImageCacheRequest())
	del.ImageCacheId = id
	_, err := w.sdk(rootB).DeleteImageCache(del)
	wantError(t, "B's DeleteImageCache", err, "InvalidParameter.NotFound", http.StatusNotFound, id)
	_, err = w.common(rootB, "UpdateImageCache", map[string]string{"ImageCacheId": id})
	wantError(t, "B's UpdateImageCache", err, "InvalidParameter.NotFound", http.StatusNotFound, id)

	// The caller's own cache, asked for in another region.
	for _, action := range []string{"DeleteImageCache", "UpdateImageCache"} {
		err := w.raw(w.root).Do(t.Context(), eciapi.Version, action, map[string]string{"ImageCacheId": id, "RegionId": "cn-beijing"}, nil)
		wantError(t, action+" in cn-beijing", err, "InvalidParameter.NotFound", http.StatusNotFound, id, "RegionId="+region)
	}
	var other rawCaches
	if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DescribeImageCaches", map[string]string{"RegionId": "cn-beijing"}, &other); err != nil || other.TotalCount != 0 {
		t.Errorf("DescribeImageCaches in cn-beijing = %+v, %v, want none", other, err)
	}

	if ic := w.describeCache(w.root, id); ic.ImageCacheId != id {
		t.Fatalf("the owner's DescribeImageCaches(%s) = %s", id, ic.ImageCacheId)
	}
	if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DeleteImageCache", map[string]string{"ImageCacheId": id}, nil); err != nil {
		t.Errorf("the owner's DeleteImageCache: %v", err)
	}
}

// RAM decides every action on imagecache resources: a user with no policy
// may do nothing, a reader may only describe, and a policy on one cache's
// ARN allows describing, updating and deleting that cache only.
func TestImageCacheNoPermission(t *testing.T) {
	w := newWorld(t)
	nobody := w.user(w.a, "nobody")
	reader := w.user(w.a, "reader", w.policy(w.a, "eci-read",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"eci:Describe*","Resource":"acs:eci:*:*:imagecache/*"}]}`))
	groupsOnly := w.user(w.a, "groups-only", w.policy(w.a, "eci-groups",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"eci:*","Resource":"acs:eci:*:*:containergroup/*"}]}`))
	admin := w.user(w.a, "admin", "AliyunECIFullAccess")
	id := w.createCache(admin, "by-admin", "not a reference!")
	other := w.createCache(admin, "other", "not a reference!")
	w.awaitCache(admin, id, "Failed")
	w.awaitCache(admin, other, "Failed")
	one := w.user(w.a, "one", w.policy(w.a, "eci-one-cache",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":["eci:DescribeImageCaches","eci:UpdateImageCache","eci:DeleteImageCache"],"Resource":"acs:eci:`+region+`:`+w.a+`:imagecache/`+id+`"}]}`))

	create := map[string]string{"ImageCacheName": "x", "Image.1": "registry.example.com/a/b:1"}
	byID := func(id string) map[string]string { return map[string]string{"ImageCacheId": id} }
	tests := []struct {
		name    string
		who     cred
		action  string
		params  map[string]string
		allowed bool
	}{
		{"nobody creates", nobody, "CreateImageCache", create, false},
		{"nobody describes", nobody, "DescribeImageCaches", nil, false},
		{"nobody updates", nobody, "UpdateImageCache", byID(id), false},
		{"nobody deletes", nobody, "DeleteImageCache", byID(id), false},
		{"groups-only creates a cache", groupsOnly, "CreateImageCache", create, false},
		{"groups-only describes caches", groupsOnly, "DescribeImageCaches", nil, false},
		{"reader creates", reader, "CreateImageCache", create, false},
		{"reader describes", reader, "DescribeImageCaches", nil, true},
		{"reader updates", reader, "UpdateImageCache", byID(id), false},
		{"reader deletes", reader, "DeleteImageCache", byID(id), false},
		{"one describes all", one, "DescribeImageCaches", nil, false},
		{"one describes another cache", one, "DescribeImageCaches", byID(other), false},
		{"one describes its cache", one, "DescribeImageCaches", byID(id), true},
		{"one updates another cache", one, "UpdateImageCache", byID(other), false},
		{"one deletes another cache", one, "DeleteImageCache", byID(other), false},
		{"one updates its cache", one, "UpdateImageCache", byID(id), true}, // allowed, then refused: it is Failed
		{"one deletes its cache", one, "DeleteImageCache", byID(id), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.raw(tt.who).Do(t.Context(), eciapi.Version, tt.action, tt.params, nil)
			e, _ := apiErrorOf(err)
			if tt.allowed {
				if e.Code == "NoPermission" {
					t.Errorf("%s = %v, want it authorized", tt.action, err)
				}
				return
			}
			wantError(t, tt.action, err, "NoPermission", http.StatusForbidden, "eci:"+tt.action)
		})
	}
	// Nothing a refused request asked for happened.
	if caches, _ := w.n.ECI.ListImageCaches(t.Context(), w.a); len(caches) != 1 || caches[0].ID != other {
		t.Errorf("caches after the table = %d, want only %s", len(caches), other)
	}
}

// DescribeImageCaches pages newest first with NextToken, survives a
// deletion between pages, filters, and refuses filters it cannot honour.
func TestDescribeImageCachesPaging(t *testing.T) {
	w := newWorld(t)
	var created []string
	for i := range 5 {
		created = append(created, w.createCache(w.root, fmt.Sprintf("p%d", i), fmt.Sprintf("not a reference %d!", i)))
	}
	for _, id := range created {
		w.awaitCache(w.root, id, "Failed")
	}

	page := func(token string) rawCaches {
		t.Helper()
		var out rawCaches
		params := map[string]string{"Limit": "2"}
		if token != "" {
			params["NextToken"] = token
		}
		if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DescribeImageCaches", params, &out); err != nil {
			t.Fatalf("DescribeImageCaches(NextToken %q): %v", token, err)
		}
		return out
	}
	var seen []string
	var last time.Time
	first := page("")
	token := first.NextToken
	for _, ic := range first.ImageCaches {
		seen = append(seen, ic.ImageCacheId)
	}
	if first.TotalCount != 5 || len(first.ImageCaches) != 2 || token == "" {
		t.Fatalf("first page = %d caches of %d, NextToken %q; want 2 of 5 and a token", len(first.ImageCaches), first.TotalCount, token)
	}
	// Deleting a cache already listed shifts nothing for the next page.
	if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DeleteImageCache", map[string]string{"ImageCacheId": seen[0]}, nil); err != nil {
		t.Fatal(err)
	}
	for pages := 1; token != ""; pages++ {
		if pages > 5 {
			t.Fatal("NextToken never ends")
		}
		p := page(token)
		for _, ic := range p.ImageCaches {
			seen = append(seen, ic.ImageCacheId)
			ct, err := time.Parse("2006-01-02T15:04:05Z", ic.CreationTime)
			if err != nil || !last.IsZero() && ct.After(last) {
				t.Errorf("cache %s created %s after %s: want newest first", ic.ImageCacheId, ic.CreationTime, last)
			}
			last = ct
		}
		token = p.NextToken
	}
	if diff := cmp.Diff(sorted(created), sorted(seen)); diff != "" {
		t.Errorf("paged caches (-created +seen):\n%s", diff)
	}

	remaining := slices.DeleteFunc(slices.Clone(created), func(id string) bool { return id == seen[0] })
	kept, err := w.n.ECI.GetImageCache(t.Context(), w.a, remaining[0])
	if err != nil {
		t.Fatal(err)
	}
	filters := []struct {
		name   string
		params map[string]string
		want   int
	}{
		{"by id", map[string]string{"ImageCacheId": kept.ID}, 1},
		{"by a deleted id", map[string]string{"ImageCacheId": seen[0]}, 0},
		{"by name", map[string]string{"ImageCacheName": kept.Name}, 1},
		{"by image", map[string]string{"Image": kept.Images[0]}, 1},
		{"by an image no cache holds", map[string]string{"Image": "registry.example.com/ns/app:1"}, 0},
		{"by id and another's name", map[string]string{"ImageCacheId": kept.ID, "ImageCacheName": "p-none"}, 0},
	}
	for _, tt := range filters {
		t.Run(tt.name, func(t *testing.T) {
			var out rawCaches
			if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DescribeImageCaches", tt.params, &out); err != nil {
				t.Fatal(err)
			}
			if out.TotalCount != tt.want || len(out.ImageCaches) != tt.want {
				t.Errorf("DescribeImageCaches(%v) = %d (TotalCount %d), want %d", tt.params, len(out.ImageCaches), out.TotalCount, tt.want)
			}
		})
	}

	refused := []struct {
		name     string
		params   map[string]string
		code     string
		mentions []string
	}{
		{"Limit 0", map[string]string{"Limit": "0"}, "InvalidParameter.Limit", []string{"[1, 100]"}},
		{"Limit 101", map[string]string{"Limit": "101"}, "InvalidParameter.Limit", []string{"101"}},
		{"forged NextToken", map[string]string{"NextToken": "page-2"}, "InvalidParameter.NextToken", []string{"page-2", "previous response"}},
		{"a container groups' NextToken", map[string]string{"NextToken": "1700000000.eci-abc"}, "InvalidParameter.NextToken", []string{"eci-abc"}},
		{"SnapshotId", map[string]string{"SnapshotId": "s-2zec5oj8e1yhxijt0001"}, "InvalidParameter.SnapshotId", []string{"snapshots"}},
		{"tags are not kept", map[string]string{"Tag.1.Key": "env", "Tag.1.Value": "prod"}, "InvalidParameter.Tag", []string{"no tags"}},
		{"MatchImage", map[string]string{"MatchImage.1": kept.Images[0]}, "InvalidParameter.MatchImage", []string{"Image"}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DescribeImageCaches", tt.params, nil)
			wantError(t, "DescribeImageCaches", err, tt.code, http.StatusBadRequest, tt.mentions...)
		})
	}
}

// FuzzCreateImageCache sends arbitrary parameters on top of a valid
// request. Whatever they are, the answer is a success or a 4xx — never a
// 5xx — and no message repeats a registry password (unless the request
// also sent that text as something else).
func FuzzCreateImageCache(f *testing.F) {
	const canary = "fuzz-canary-password"
	for _, seed := range []string{
		"",
		"ImageCacheSize=19",
		"ImageCacheSize=-1&RetentionDays=99999999999999999999",
		"RetentionDays=%00",
		"Image.2=b&Image.4=c",
		"Image.01=x&Image.=y&Image..1=z",
		"Image.1=&Image.2=",
		"AcrRegistryInfo.1.InstanceId=cri-abc&AcrRegistryInfo.1.Domain.1=REG.EXAMPLE.COM&AcrRegistryInfo.1.Domain.3=x.example.com",
		"AcrRegistryInfo.1.ArnUser=acs:ram::1234567890123456:role/r",
		"ImageRegistryCredential.1.Server=a b&ImageRegistryCredential.2.Password=other-secret-value",
		"ImageRegistryCredential.1.Password=" + strings.Repeat("p", 2000),
		"RegionId=cn-&ZoneId=%FF&VSwitchId=vsw-x&AutoCreateEip=maybe",
		"ImageCacheName=" + strings.Repeat("n", 200),
		// reliability.md §3.8 items 73–75.
		"ImageCacheSize=0", "ImageCacheSize=32769", "ImageCacheSize=9223372036854775808", "ImageCacheSize=1e3", "ImageCacheSize=20.5",
		"RetentionDays=0", "RetentionDays=-1", "RetentionDays=65537", "RetentionDays=",
		"Image.1=", "Image.1=a&Image.2=a", "Image.1=a:1&Image.2=a@sha256:" + strings.Repeat("0", 64),
	} {
		f.Add(seed)
	}
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, extra string) {
		q, err := url.ParseQuery(extra)
		if err != nil {
			t.Skip()
		}
		params := map[string]string{
			"ImageCacheName": "fuzz", "Image.1": "not a reference!",
			"ImageRegistryCredential.1.Server": "reg.example.com", "ImageRegistryCredential.1.UserName": "u",
			"ImageRegistryCredential.1.Password": canary,
		}
		for k, v := range q {
			params[k] = v[len(v)-1]
			// Images stay invalid references: a created cache fails at
			// once, and nothing dials out of the test.
			if strings.HasPrefix(k, "Image.") && v[len(v)-1] != "" {
				params[k] = "not a reference! " + k
			}
		}
		err = w.raw(w.root).Do(t.Context(), eciapi.Version, "CreateImageCache", params, nil)
		if err == nil {
			return
		}
		e, ok := apiErrorOf(err)
		if !ok {
			t.Fatalf("CreateImageCache(%q) = %v, want a vendor error", extra, err)
		}
		if e.Status >= 500 {
			t.Errorf("CreateImageCache(%q) = HTTP %d %s: %s, want success or a 4xx", extra, e.Status, e.Code, e.Message)
		}
		for k, secret := range params {
			if !strings.HasSuffix(k, ".Password") || len(secret) < 8 || sentAsOther(params, k, secret) {
				continue
			}
			if strings.Contains(e.Message, secret) {
				t.Errorf("CreateImageCache(%q): the message repeats %s: %s", extra, k, e.Message)
			}
		}
	})
}

// CreateContainerGroup's own image-cache parameters: AutoMatchImageCache
// (off unless asked for, as the vendor's API has it) and ImageSnapshotId
// (a named cache).
func TestContainerGroupUsesImageCache(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	ee := w.instance(w.a, "test1")
	host := ee.PublicHost(acr.DefaultBase)
	w.push(ee, host, "eci_test/nginx:1.0")
	nginx := host + "/eci_test/nginx:1.0"
	var cache struct{ ImageCacheId string }
	if err := w.raw(w.root).Do(ctx, eciapi.Version, "CreateImageCache", map[string]string{"ImageCacheName": "nginx-cache", "Image.1": nginx}, &cache); err != nil {
		t.Fatal(err)
	}
	w.awaitCache(w.root, cache.ImageCacheId, "Ready")
	for _, tt := range []struct {
		name, key, value string
		matched          bool
	}{
		{"no cache parameter", "", "", false},
		{"AutoMatchImageCache", "AutoMatchImageCache", "true", true},
		{"ImageSnapshotId", "ImageSnapshotId", cache.ImageCacheId, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]string{"ContainerGroupName": "g-" + strings.ToLower(tt.key), "Container.1.Name": "app", "Container.1.Image": nginx}
			if tt.key != "" {
				params[tt.key] = tt.value
			}
			var out struct{ ContainerGroupId string }
			if err := w.raw(w.root).Do(ctx, eciapi.Version, "CreateContainerGroup", params, &out); err != nil {
				t.Fatal(err)
			}
			w.expectReady(w.root, out.ContainerGroupId)
			g, err := w.n.ECI.Get(ctx, w.a, out.ContainerGroupId)
			if err != nil {
				t.Fatal(err)
			}
			if (g.MatchedImageCache == cache.ImageCacheId) != tt.matched {
				t.Errorf("matched image cache %q, want matched=%v", g.MatchedImageCache, tt.matched)
			}
		})
	}
	for _, tt := range []struct{ key, value, mention string }{
		{"AutoMatchImageCache", "yes", "want true or false"},
		{"ImageSnapshotId", "snap-1", "imc-"},
	} {
		_, err := w.common(w.root, "CreateContainerGroup", map[string]string{"ContainerGroupName": "bad", "Container.1.Name": "app", "Container.1.Image": nginx, tt.key: tt.value})
		wantError(t, "CreateContainerGroup "+tt.key+"="+tt.value, err, "InvalidParameter."+tt.key, http.StatusBadRequest, tt.value, tt.mention)
	}
}
