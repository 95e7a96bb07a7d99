package registry_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/rolepull/rolepull/internal/acr"
)

// protocolClient is an authenticated client of one instance with pull and
// push on ns/app and the catalog.
type protocolClient struct {
	host string
	c    *http.Client
}

func newProtocolClient(t *testing.T, e *env, inst acr.Instance) *protocolClient {
	t.Helper()
	host := inst.PublicHost(acr.DefaultBase)
	auth := e.password(t, e.role(t, "proto", "AliyunContainerRegistryFullAccess"), inst)
	tr := e.transport("127.0.0.1")
	t.Cleanup(tr.(*http.Transport).CloseIdleConnections)
	reg, _ := name.NewRegistry(host, name.Insecure)
	rt, err := transport.NewWithContext(t.Context(), reg, auth, tr, []string{"repository:ns/app:pull,push", "registry:catalog:*"})
	if err != nil {
		t.Fatal(err)
	}
	return &protocolClient{host: host, c: &http.Client{Transport: rt}}
}

func (p *protocolClient) do(t *testing.T, method, target, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+p.host+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", ociManifest+", "+ociIndex)
	resp, err := p.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	ociIndex    = "application/vnd.oci.image.index.v1+json"
)

// reliability.md §3.5 items 47, 50 and 51 (44–46 and 48 are the OCI
// conformance suite's, run in test/compat; 49 is TestManifestPutRefusals;
// 52 TestCrossRepositoryMountNeedsPullOnSource).
func TestRegistryProtocolEdges(t *testing.T) {
	e := newEnv(t)
	inst := e.openInstance(t, "proto")
	p := newProtocolClient(t, e, inst)
	img, _ := random.Image(1024, 1)
	ref, _ := name.ParseReference(p.host+"/ns/app:base", name.Insecure)
	if err := remote.Write(ref, img, remote.WithAuth(e.password(t, e.role(t, "writer", "AliyunContainerRegistryFullAccess"), inst)),
		remote.WithTransport(e.transport("127.0.0.1")), remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigName()
	cfgFile, _ := img.RawConfigFile()
	manifest := func(annotation string) []byte {
		return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[],"annotations":{"n":%q}}`,
			ociManifest, cfg, len(cfgFile), annotation)
	}

	// Item 47: 50 concurrent PUTs of different bodies to one tag: no 5xx,
	// and the tag ends at exactly one of them, its bytes hashing to the
	// digest served with them.
	t.Run("47 concurrent tag writes", func(t *testing.T) {
		bodies := map[string][]byte{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 50 {
			b := manifest(fmt.Sprint(i))
			sum := sha256.Sum256(b)
			bodies["sha256:"+hex.EncodeToString(sum[:])] = b
			wg.Go(func() {
				resp, msg := p.do(t, http.MethodPut, "/v2/ns/app/manifests/latest", ociManifest, b)
				if resp.StatusCode != http.StatusCreated {
					mu.Lock()
					t.Errorf("PUT %d = %d %.300s", i, resp.StatusCode, msg)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		resp, got := p.do(t, http.MethodGet, "/v2/ns/app/manifests/latest", "", nil)
		sum := sha256.Sum256(got)
		d := "sha256:" + hex.EncodeToString(sum[:])
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != d {
			t.Fatalf("GET latest = %d, digest header %q, body hashes to %s", resp.StatusCode, resp.Header.Get("Docker-Content-Digest"), d)
		}
		if want, ok := bodies[d]; !ok || !bytes.Equal(want, got) {
			t.Errorf("tag latest holds %s, which none of the 50 PUTs sent", d)
		}
	})

	// Item 50: a document that is both a manifest and an index
	// (CVE-2021-41190), or whose mediaType is not its Content-Type.
	t.Run("50 ambiguous manifests", func(t *testing.T) {
		both := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[],"manifests":[]}`,
			ociManifest, cfg, len(cfgFile))
		for _, tt := range []struct {
			name, contentType string
			body              []byte
			want              string
		}{
			{"manifest with manifests", ociManifest, both, "both"},
			{"index with layers", ociIndex, bytes.Replace(both, []byte(ociManifest), []byte(ociIndex), 1), "both"},
			{"mediaType is not Content-Type", ociIndex, manifest("x"), "mediaType"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp, msg := p.do(t, http.MethodPut, "/v2/ns/app/manifests/ambiguous", tt.contentType, tt.body)
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "MANIFEST_INVALID") || !strings.Contains(string(msg), tt.want) {
					t.Errorf("PUT = %d %.300s; want 400 MANIFEST_INVALID mentioning %q", resp.StatusCode, msg, tt.want)
				}
			})
		}
		if resp, _ := p.do(t, http.MethodGet, "/v2/ns/app/manifests/ambiguous", "", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET ambiguous = %d after refused PUTs, want 404", resp.StatusCode)
		}
	})

	// Item 51: the catalog's and tag list's n and last are bounded or
	// refused with 400 — never a 5xx, never an answer echoing a megabyte.
	t.Run("51 paging", func(t *testing.T) {
		long := strings.Repeat("a", 1<<20)
		for _, tt := range []struct {
			query  string
			status int // 0: any status below 500
		}{
			{"/v2/_catalog?n=2147483647", 0}, // the engine refuses more than its page size
			{"/v2/_catalog?n=0", 0},
			{"/v2/_catalog?n=-1", http.StatusBadRequest},
			{"/v2/_catalog?n=abc", http.StatusBadRequest},
			{"/v2/_catalog?n=1&n=2", http.StatusBadRequest},
			{"/v2/_catalog?last=" + long, http.StatusBadRequest},
			{"/v2/_catalog?n=1&last=" + strings.Repeat("z", 256), http.StatusBadRequest},
			{"/v2/_catalog?n=1&last=ns/App", http.StatusBadRequest},
			{"/v2/_catalog?n=1&last=ns/app", http.StatusOK},
			{"/v2/ns/app/tags/list?n=2147483647", http.StatusOK},
			{"/v2/ns/app/tags/list?n=-5", http.StatusBadRequest},
			{"/v2/ns/app/tags/list?last=" + long, http.StatusBadRequest},
			{"/v2/ns/app/tags/list?last=.hidden", http.StatusBadRequest},
			{"/v2/ns/app/tags/list?n=1&last=base", http.StatusOK},
		} {
			resp, body := p.do(t, http.MethodGet, tt.query, "", nil)
			q := tt.query
			if len(q) > 60 {
				q = q[:60] + "…"
			}
			if resp.StatusCode >= 500 || (tt.status != 0 && resp.StatusCode != tt.status) {
				t.Errorf("GET %s = %d %.300s; want %d", q, resp.StatusCode, body, tt.status)
			}
			if len(body) > 64<<10 {
				t.Errorf("GET %s answered %d bytes", q, len(body))
			}
		}
	})
}
