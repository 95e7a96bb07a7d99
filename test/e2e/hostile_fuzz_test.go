package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/pull"
)

// hostileRegistry is a registry that is not ACR, serving whatever a fuzz
// input says: its manifest under tag 1 (and under its own digest), a
// challenge on /v2/, and a token at /token. Besides the fuzzed manifest it
// holds one valid image (config, layer, manifest) that fuzzed indexes and
// manifests can point at.
type hostileRegistry struct {
	srv                   *httptest.Server
	challenge, mediaType  string
	manifest              []byte
	blobs                 map[string][]byte // digest → bytes: config and layer
	child, childMediaType string            // the valid manifest, for indexes
	childBody             []byte
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

func newHostileRegistry(tb testing.TB) *hostileRegistry {
	h := &hostileRegistry{blobs: map[string][]byte{}}
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:` + strings.Repeat("0", 64) + `"]},"config":{}}`)
	layer := []byte("hostile registry layer bytes")
	h.blobs[sha(config)], h.blobs[sha(layer)] = config, layer
	h.childMediaType = "application/vnd.oci.image.manifest.v1+json"
	h.childBody = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d}]}`,
		h.childMediaType, sha(config), len(config), sha(layer), len(layer)))
	h.child = sha(h.childBody)
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	tb.Cleanup(h.srv.Close)
	return h
}

func (h *hostileRegistry) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/v2/" || path == "/v2":
		if h.challenge != "" && r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", h.challenge)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	case path == "/token":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token":"hostile-token","expires_in":300}`)
	case strings.HasPrefix(path, "/v2/app/manifests/"):
		ref := strings.TrimPrefix(path, "/v2/app/manifests/")
		body, mt := h.manifest, h.mediaType
		switch ref {
		case "1", sha(h.manifest):
		case h.child:
			body, mt = h.childBody, h.childMediaType
		default:
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", mt)
		w.Header().Set("Docker-Content-Digest", sha(body))
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method != http.MethodHead {
			w.Write(body)
		}
	case strings.HasPrefix(path, "/v2/app/blobs/"):
		b, ok := h.blobs[strings.TrimPrefix(path, "/v2/app/blobs/")]
		if !ok {
			http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

// FuzzHostileRegistry pulls from a registry that is not ACR and answers
// with a fuzzed challenge, media type and manifest — what a pod can point
// rolepull at by naming any host. Whatever it serves: no panic, no hang
// past the pull's deadline; a failure is classified as the registry's or
// the network's (never rolepull's own, internal) and says something; and a
// pull that succeeds stored exactly what the registry served, every blob
// re-hashing to its digest.
func FuzzHostileRegistry(f *testing.F) {
	h := newHostileRegistry(f)
	host := strings.TrimPrefix(h.srv.URL, "http://")
	// A fuzzed realm may name any address; only the hostile registry
	// answers, the rest is refused at once rather than timing out.
	w := newWorldWith(f, func(c *node.Config) {
		c.DialHost = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != host {
				return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
	})
	oci := "application/vnd.oci.image.manifest.v1+json"
	index := "application/vnd.oci.image.index.v1+json"
	layerDesc := func(d string, size int64) string {
		return fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d}`, d, size)
	}
	var config, layer string
	for d, b := range h.blobs {
		if strings.HasPrefix(string(b), "{") {
			config = d
		} else {
			layer = d
		}
	}
	manifest := func(cfgSize int64, layers ...string) string {
		return fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[%s]}`,
			oci, config, cfgSize, strings.Join(layers, ","))
	}
	cfgLen := int64(len(h.blobs[config]))
	layerLen := int64(len(h.blobs[layer]))
	realm := `Bearer realm="` + h.srv.URL + `/token",service="hostile"`
	for _, s := range [][3]string{
		{"", oci, string(h.childBody)},
		{realm, oci, string(h.childBody)},
		{realm + `,scope="repository:app:pull"`, oci, manifest(cfgLen, layerDesc(layer, layerLen), layerDesc(layer, layerLen))},
		{"", index, fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":%d,"platform":{"architecture":"amd64","os":"linux"}}]}`, index, oci, h.child, len(h.childBody))},
		{"", index, fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":%d,"platform":{"architecture":"arm64","os":"linux"}}]}`, index, oci, h.child, len(h.childBody))},
		{"", index, fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":-1}]}`, index, oci, h.child)},
		{"", oci, manifest(-1, layerDesc(layer, layerLen))},
		{"", oci, manifest(cfgLen, layerDesc(layer, -5))},
		{"", oci, manifest(cfgLen, layerDesc(layer, 1<<40))},
		{"", oci, manifest(cfgLen, layerDesc(layer, layerLen-1))},
		{"", oci, manifest(cfgLen, layerDesc("sha256:"+strings.Repeat("e", 64), 10))},
		{"", oci, manifest(cfgLen, layerDesc("sha256:xyz", 10))},
		{"", oci, manifest(cfgLen, layerDesc("md5:"+strings.Repeat("e", 32), 10))},
		{"", oci, manifest(cfgLen)},
		{"", "application/vnd.docker.distribution.manifest.v1+prettyjws", `{"schemaVersion":1,"name":"app","tag":"1","fsLayers":[]}`},
		{"", "text/html", "<html>not a registry</html>"},
		{"", oci, "{"},
		{"", oci, "null"},
		{"", oci, "[]"},
		{"", "", ""},
		{`Basic realm="hostile"`, oci, string(h.childBody)},
		{`Bearer realm="http://169.254.169.254/latest/meta-data"`, oci, string(h.childBody)},
		{`Bearer realm="file:///etc/passwd"`, oci, string(h.childBody)},
		{`Bearer realm=`, oci, string(h.childBody)},
		{`Bearer`, oci, string(h.childBody)},
		{"Bearer realm=\"" + h.srv.URL + "/token\"," + strings.Repeat("x=\"y\",", 2000), oci, string(h.childBody)},
	} {
		f.Add(s[0], s[1], []byte(s[2]))
	}
	settings := pull.Settings{Account: w.a, Region: "cn-hangzhou", Session: "eci-hostile"}
	f.Fuzz(func(t *testing.T, challenge, mediaType string, body []byte) {
		if strings.ContainsAny(challenge, "\r\n\x00") {
			return // not a header value a server can send
		}
		h.challenge, h.mediaType, h.manifest = challenge, mediaType, body
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		res, err := w.n.Puller.Pull(ctx, settings, host+"/app:1", pull.FetchOptions{})
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("the pull did not end by its deadline: %v", err)
			}
			var fl *pull.Failure
			if !errors.As(err, &fl) || fl.Msg == "" {
				t.Fatalf("Pull failed unclassified: %v", err)
			}
			if fl.Kind == pull.Internal || fl.Kind == pull.Trust || fl.Kind == pull.Invalid {
				t.Fatalf("Pull failed as %q for what the registry served: %v", fl.Kind, err)
			}
			t.Log(err)
			return
		}
		if want := digest.Digest(sha(body)); res.Digest != want {
			t.Fatalf("Pull resolved %s, but the registry served %s", res.Digest, want)
		}
		for _, d := range res.Digests {
			rc, err := w.n.Content.Open(t.Context(), d)
			if err != nil {
				t.Fatalf("pulled blob %s: %v", d, err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got := sha(b); got != d.String() {
				t.Fatalf("stored blob %s hashes to %s", d, got)
			}
		}
	})
}
