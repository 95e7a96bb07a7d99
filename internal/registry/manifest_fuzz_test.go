package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/rolepull/rolepull/internal/acr"
)

// FuzzManifestPut pushes fuzzed manifests and indexes, under fuzzed
// content types, with a valid push token — the registry's parsers of what
// clients upload. Whatever arrives: never a 5xx; a refused PUT leaves the
// tag exactly as it was; an accepted one (201) is served back byte for byte
// under the tag and under its digest, with the digest the registry named
// in its answer.
func FuzzManifestPut(f *testing.F) {
	e := newEnv(f)
	ctx := f.Context()
	inst := e.openInstance(f, "fuzzput")
	host := inst.PublicHost(acr.DefaultBase)
	auth := e.password(f, e.role(f, "pusher", "AliyunContainerRegistryFullAccess"), inst)
	tr := e.transport("127.0.0.1")
	f.Cleanup(func() { tr.(*http.Transport).CloseIdleConnections() })

	// One real image, so that fuzzed manifests can name blobs that exist.
	img, _ := random.Image(1024, 1)
	ref, _ := name.ParseReference(host+"/ns/app:base", name.Insecure)
	if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithTransport(tr), remote.WithContext(ctx)); err != nil {
		f.Fatal(err)
	}
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	d, _ := img.Digest()
	cfg, _ := img.ConfigName()
	oci := "application/vnd.oci.image.manifest.v1+json"
	index := "application/vnd.oci.image.index.v1+json"
	emptyCfg := `{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}`
	for _, s := range [][2]string{
		{string(mt), string(raw)},
		{index, fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":%d,"platform":{"architecture":"amd64","os":"linux"}}]}`, index, mt, d, len(raw))},
		{index, fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":"sha256:%s","size":10}]}`, index, oci, strings.Repeat("e", 64))},
		{oci, fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":1},"layers":[]}`, oci, cfg)},
		{oci, fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":-1},"layers":[]}`, oci, strings.Repeat("f", 64))},
		{oci, fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example+json","config":%s,"layers":[],"subject":{"mediaType":%q,"digest":%q,"size":%d}}`, oci, emptyCfg, mt, d, len(raw))},
		{index, string(raw)},
		// reliability.md §3.5 item 50: a manifest that is also an index (CVE-2021-41190).
		{oci, fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":1},"layers":[],"manifests":[{"mediaType":%q,"digest":%q,"size":%d}]}`, oci, cfg, mt, d, len(raw))},
		{oci, `{"schemaVersion":1}`},
		{"application/vnd.docker.distribution.manifest.v1+prettyjws", `{"schemaVersion":1,"name":"ns/app","tag":"fuzz","fsLayers":[],"history":[]}`},
		{"application/vnd.docker.distribution.manifest.list.v2+json", `{"schemaVersion":2,"manifests":null}`},
		{"text/plain", "hello"},
		{"", "{}"},
		{oci, "{"},
		{oci, `{"schemaVersion":2,"mediaType":"` + strings.Repeat("x", 5000) + `"}`},
	} {
		f.Add(s[0], []byte(s[1]))
	}

	reg, _ := name.NewRegistry(host, name.Insecure)
	rt, err := transport.NewWithContext(ctx, reg, auth, tr, []string{"repository:ns/app:pull,push"})
	if err != nil {
		f.Fatal(err)
	}
	client := &http.Client{Transport: rt, Timeout: 30 * time.Second}
	do := func(t *testing.T, method, target, contentType string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), method, "http://"+host+target, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Accept", strings.Join([]string{oci, index, string(mt), "application/vnd.docker.distribution.manifest.list.v2+json", "*/*"}, ", "))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: reading the body: %v", method, target, err)
		}
		return resp, b
	}
	var current []byte // what tag fuzz holds, nil before the first accepted PUT
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		if strings.ContainsFunc(contentType, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return // not a header value a client can send
		}
		resp, msg := do(t, http.MethodPut, "/v2/ns/app/manifests/fuzz", contentType, body)
		if resp.StatusCode >= 500 {
			t.Fatalf("PUT answered %d: %s", resp.StatusCode, msg)
		}
		if resp.StatusCode == http.StatusCreated {
			sum := sha256.Sum256(body)
			want := "sha256:" + hex.EncodeToString(sum[:])
			if got := resp.Header.Get("Docker-Content-Digest"); got != want {
				t.Fatalf("PUT named digest %q for a body hashing to %s", got, want)
			}
			current = bytes.Clone(body) // the fuzzer reuses body's array
			for _, target := range []string{"/v2/ns/app/manifests/fuzz", "/v2/ns/app/manifests/" + want} {
				got, b := do(t, http.MethodGet, target, "", nil)
				if got.StatusCode != http.StatusOK || !bytes.Equal(b, body) || got.Header.Get("Docker-Content-Digest") != want {
					t.Fatalf("GET %s after an accepted PUT = %d, digest %q, %d bytes; want the %d bytes put", target, got.StatusCode, got.Header.Get("Docker-Content-Digest"), len(b), len(body))
				}
			}
			return
		}
		if resp.StatusCode < 400 {
			t.Fatalf("PUT answered %d: %s", resp.StatusCode, msg)
		}
		got, b := do(t, http.MethodGet, "/v2/ns/app/manifests/fuzz", "", nil)
		switch {
		case current == nil && got.StatusCode != http.StatusNotFound:
			t.Fatalf("a refused PUT (%d) left tag fuzz answering %d", resp.StatusCode, got.StatusCode)
		case current != nil && (got.StatusCode != http.StatusOK || !bytes.Equal(b, current)):
			t.Fatalf("a refused PUT (%d) changed tag fuzz: GET = %d, %d bytes", resp.StatusCode, got.StatusCode, len(b))
		}
	})
}

// TestManifestPutRefusals names what the front door refuses before the
// engine sees a manifest, each with 400 MANIFEST_INVALID and a message
// that says why — where the engine alone answered some with a 500.
func TestManifestPutRefusals(t *testing.T) {
	e := newEnv(t)
	inst := e.openInstance(t, "refuse")
	host := inst.PublicHost(acr.DefaultBase)
	auth := e.password(t, e.role(t, "pusher", "AliyunContainerRegistryFullAccess"), inst)
	tr := e.transport("127.0.0.1")
	defer tr.(*http.Transport).CloseIdleConnections()
	reg, _ := name.NewRegistry(host, name.Insecure)
	rt, err := transport.NewWithContext(t.Context(), reg, auth, tr, []string{"repository:ns/app:pull,push"})
	if err != nil {
		t.Fatal(err)
	}
	oci := "application/vnd.oci.image.manifest.v1+json"
	d := "sha256:" + strings.Repeat("a", 64)
	for _, tt := range []struct {
		name, body, want string
		status           int
	}{
		{"schema 1 under an OCI type", `{"schemaVersion":1}`, "schemaVersion 1: only schema 2", 400},
		{"no schemaVersion", `{"mediaType":"` + oci + `"}`, "no schemaVersion", 400},
		{"not JSON", `schemaVersion: 2`, "not a JSON object", 400},
		{"an array", `[{"schemaVersion":2}]`, "not a JSON object", 400},
		{"trailing data", `{"schemaVersion":2} {}`, "data after its JSON object", 400},
		{"field in another case", `{"sChemAVersion":2}`, "sChemAVersion: field names are case-sensitive: write schemaVersion", 400},
		{"nested field in another case", `{"schemaVersion":2,"config":{"Digest":"` + d + `","size":1}}`, "config.Digest: field names are case-sensitive", 400},
		{"duplicate field", `{"schemaVersion":2,"schemaVersion":2}`, "schemaVersion: the field is given twice", 400},
		{"duplicate annotation", `{"schemaVersion":2,"annotations":{"a":"1","a":"2"}}`, "annotations.a: the field is given twice", 400},
		{"digest of an unknown algorithm", `{"schemaVersion":2,"config":{"digest":"0:0","size":1}}`, `config.digest \"0:0\": unsupported digest algorithm`, 400},
		{"short digest", `{"schemaVersion":2,"layers":[{"digest":"sha256:abc","size":1}]}`, `layers[0].digest \"sha256:abc\": invalid checksum digest length`, 400},
		{"negative size", `{"schemaVersion":2,"manifests":[{"digest":"` + d + `","size":-1}]}`, "manifests[0].size -1 is negative", 400},
		{"descriptor without a size", `{"schemaVersion":2,"subject":{"digest":"` + d + `"}}`, "subject: no size", 400},
		{"too deep", `{"schemaVersion":2,"annotations":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`, "nests deeper than", 400},
		{"over 4 MiB", `{"schemaVersion":2,"annotations":{"a":"` + strings.Repeat("x", 4<<20) + `"}}`, "SIZE_INVALID", 413},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, "http://"+host+"/v2/ns/app/manifests/x", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", oci)
			resp, err := (&http.Client{Transport: rt}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("PUT = %d %s, want %d and %q", resp.StatusCode, b, tt.status, tt.want)
			}
			if tt.status == 400 && !strings.Contains(string(b), "MANIFEST_INVALID") {
				t.Errorf("PUT = %s, want the code MANIFEST_INVALID", b)
			}
		})
	}
}
