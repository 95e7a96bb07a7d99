package registry_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// reliability.md §3.5 items 47, 50 and 51 (44–46 and 48 are
// TestUploadEdges; 49 is TestManifestPutRefusals; 52
// TestCrossRepositoryMountNeedsPullOnSource).
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

// reliability.md §3.5 items 44–46 and 48 at rolepull's own front door
// (the conformance suite covers their happy paths): a blob PUT whose body
// is not its digest, an upload cut short, chunks out of order or
// overlapping or with a malformed Content-Range, a manifest naming a blob
// the repository has not got. Nothing is stored by any of them.
func TestUploadEdges(t *testing.T) {
	e := newEnv(t)
	inst := e.openInstance(t, "uploads")
	p := newProtocolClient(t, e, inst)
	digest := func(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }
	start := func(t *testing.T) string {
		t.Helper()
		resp, body := p.do(t, http.MethodPost, "/v2/ns/app/blobs/uploads/", "", nil)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("start an upload: %d %s", resp.StatusCode, body)
		}
		u, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return u.RequestURI()
	}
	absent := func(t *testing.T, d string) {
		t.Helper()
		if resp, _ := p.do(t, http.MethodHead, "/v2/ns/app/blobs/"+d, "", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("blob %s: HEAD %d, want 404 (nothing stored)", d, resp.StatusCode)
		}
	}
	withQuery := func(loc, kv string) string {
		if strings.Contains(loc, "?") {
			return loc + "&" + kv
		}
		return loc + "?" + kv
	}
	patch := func(t *testing.T, loc, contentRange string, body []byte) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, "http://"+p.host+loc, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		if contentRange != "" {
			req.Header.Set("Content-Range", contentRange)
		}
		resp, err := p.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	t.Run("44 body does not match the digest", func(t *testing.T) {
		claimed := digest([]byte("what was promised"))
		body := []byte("what was sent")
		resp, b := p.do(t, http.MethodPut, withQuery(start(t), "digest="+claimed), "application/octet-stream", body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "DIGEST_INVALID") {
			t.Errorf("PUT: %d %s, want 400 DIGEST_INVALID", resp.StatusCode, b)
		}
		absent(t, claimed)
		absent(t, digest(body))
	})

	t.Run("45 an upload cut short", func(t *testing.T) {
		blob := bytes.Repeat([]byte("x"), 10<<20)
		loc := start(t)
		// The client declares 10 MiB and dies after 5.
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, "http://"+p.host+loc,
			io.MultiReader(bytes.NewReader(blob[:5<<20]), errReader{}))
		req.ContentLength = int64(len(blob))
		req.Header.Set("Content-Type", "application/octet-stream")
		if resp, err := p.c.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("a PATCH whose body failed half way was answered %d", resp.StatusCode)
		}
		absent(t, digest(blob))
		// Finishing it as if whole is refused: what arrived is not the blob.
		resp, b := p.do(t, http.MethodPut, withQuery(loc, "digest="+digest(blob)), "application/octet-stream", nil)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("completing the cut upload: %d %s, want a 4xx", resp.StatusCode, b)
		}
		absent(t, digest(blob))
	})

	t.Run("46 chunks out of order, overlapping, malformed", func(t *testing.T) {
		data := bytes.Repeat([]byte("0123456789"), 20) // 200 bytes
		loc := start(t)
		if resp := patch(t, loc, "100-199", data[100:]); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("a first chunk at 100: %d, want 416", resp.StatusCode)
		}
		resp := patch(t, loc, "0-99", data[:100])
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("the first chunk: %d", resp.StatusCode)
		}
		u, _ := url.Parse(resp.Header.Get("Location"))
		loc = u.RequestURI()
		if resp := patch(t, loc, "50-149", data[50:150]); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("an overlapping chunk: %d, want 416", resp.StatusCode)
		}
		for _, cr := range []string{"bytes=100-199", "100-", "-199", "199-100", "100 - 199", "+100-199", "100-199, 200-299", "99999999999999999999-1"} {
			if resp := patch(t, loc, cr, data[100:]); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
				t.Errorf("Content-Range %q: %d, want 416", cr, resp.StatusCode)
			}
		}
		// The upload is intact after all that: its next chunk is taken.
		if resp := patch(t, loc, "100-199", data[100:]); resp.StatusCode != http.StatusAccepted {
			t.Errorf("the right second chunk after the refused ones: %d, want 202", resp.StatusCode)
		}
		absent(t, digest(data))
	})

	t.Run("48 a manifest naming a blob the repository has not got", func(t *testing.T) {
		cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
		resp, b := p.do(t, http.MethodPut, withQuery(start(t), "digest="+digest(cfg)), "application/octet-stream", cfg)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("config upload: %d %s", resp.StatusCode, b)
		}
		missing := digest([]byte("a layer nobody uploaded"))
		m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":23}]}`,
			ociManifest, digest(cfg), len(cfg), missing)
		resp, b = p.do(t, http.MethodPut, "/v2/ns/app/manifests/dangling", ociManifest, []byte(m))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "MANIFEST_BLOB_UNKNOWN") {
			t.Errorf("PUT: %d %s, want 400 MANIFEST_BLOB_UNKNOWN", resp.StatusCode, b)
		}
		if resp, _ := p.do(t, http.MethodHead, "/v2/ns/app/manifests/dangling", "", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("the tag exists after a refused PUT: HEAD %d", resp.StatusCode)
		}
	})
}

// errReader fails: a client dying in the middle of a body.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("the client died") }
