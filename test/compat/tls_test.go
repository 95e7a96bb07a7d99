package compat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rolepull/rolepull/internal/node"
)

// TestClientsTLS runs each client against a node with its local CA
// (rolepull up --tls), verifying TLS as it does by default — no
// --insecure, --plain-http or --tls-verify=false anywhere: the client
// trusts the CA through SSL_CERT_FILE and reaches the instance domain
// through HTTPS_PROXY, whose CONNECT the registry listener terminates with
// a certificate for that domain. A client without the CA refuses the
// registry.
func TestClientsTLS(t *testing.T) {
	w := newWorldWith(t, func(c *node.Config) { c.TLS = true })
	img := newImage(t)
	newTLSSandbox := func(t *testing.T, trust bool) *sandbox {
		s := newSandbox(t)
		s.redact = w.redact
		// Only HTTPS goes through the proxy: a client falling back to plain
		// HTTP would find no proxy and no DNS name, and fail.
		s.env = append(s.env, "HTTPS_PROXY="+w.proxy, "https_proxy="+w.proxy,
			"HTTP_PROXY=", "http_proxy=", "NO_PROXY=", "no_proxy=", "ALL_PROXY=", "all_proxy=")
		if trust {
			s.env = append(s.env, "SSL_CERT_FILE="+w.n.CA.CertPath())
		} else {
			empty := filepath.Join(t.TempDir(), "no-roots.pem")
			os.WriteFile(empty, nil, 0o644)
			s.env = append(s.env, "SSL_CERT_FILE="+empty, "SSL_CERT_DIR="+t.TempDir())
		}
		return s
	}
	pw := w.full
	creds := pw.Username + ":" + pw.Password

	type client struct {
		name       string
		pushPull   func(t *testing.T, s *sandbox, bin, ref string) (pushed, pulled v1.Hash)
		untrusting func(t *testing.T, s *sandbox, bin, ref string) result
	}
	for _, c := range []client{
		{
			name: "crane",
			pushPull: func(t *testing.T, s *sandbox, bin, ref string) (v1.Hash, v1.Hash) {
				s.must(t, pw.Password, bin, "auth", "login", w.host, "-u", pw.Username, "--password-stdin")
				pushed := lastDigest(t, s.must(t, "", bin, "push", img.layout(t, t.TempDir()), ref))
				out := filepath.Join(t.TempDir(), "pulled")
				s.must(t, "", bin, "pull", "--format", "oci", ref, out)
				return pushed, layoutDigest(t, out, "")
			},
			untrusting: func(t *testing.T, s *sandbox, bin, ref string) result {
				return s.run(t.Context(), "", bin, "digest", ref)
			},
		},
		{
			name: "oras",
			pushPull: func(t *testing.T, s *sandbox, bin, ref string) (v1.Hash, v1.Hash) {
				if err := os.WriteFile(filepath.Join(s.dir, orasFile), orasContent(ref), 0o600); err != nil {
					t.Fatal(err)
				}
				r := s.must(t, pw.Password, bin, "push", "-u", pw.Username, "--password-stdin", "--format", "json", ref, orasFile+":"+orasMediaType)
				pushed := jsonDigest(t, "oras push --format json", r)
				dir := t.TempDir()
				s.must(t, pw.Password, bin, "pull", "-u", pw.Username, "--password-stdin", "-o", dir, ref)
				if got, _ := os.ReadFile(filepath.Join(dir, orasFile)); string(got) != string(orasContent(ref)) {
					t.Errorf("oras pull %s: %s = %q", ref, orasFile, got)
				}
				return pushed, lastDigest(t, s.must(t, pw.Password, bin, "resolve", "-u", pw.Username, "--password-stdin", ref))
			},
			untrusting: func(t *testing.T, s *sandbox, bin, ref string) result {
				return s.run(t.Context(), pw.Password, bin, "resolve", "-u", pw.Username, "--password-stdin", ref)
			},
		},
		{
			name: "regctl",
			pushPull: func(t *testing.T, s *sandbox, bin, ref string) (v1.Hash, v1.Hash) {
				s.must(t, pw.Password, bin, "registry", "login", w.host, "-u", pw.Username, "--pass-stdin")
				s.must(t, "", bin, "image", "copy", "ocidir://"+img.layout(t, t.TempDir())+":"+layoutTag, ref)
				pushed := lastDigest(t, s.must(t, "", bin, "image", "digest", ref))
				out := filepath.Join(t.TempDir(), "pulled")
				s.must(t, "", bin, "image", "copy", ref, "ocidir://"+out+":"+layoutTag)
				return pushed, layoutDigest(t, out, layoutTag)
			},
			untrusting: func(t *testing.T, s *sandbox, bin, ref string) result {
				return s.run(t.Context(), pw.Password, bin, "registry", "login", w.host, "-u", pw.Username, "--pass-stdin")
			},
		},
		{
			name: "skopeo",
			pushPull: func(t *testing.T, s *sandbox, bin, ref string) (v1.Hash, v1.Hash) {
				s.must(t, "", bin, "--insecure-policy", "copy", "--preserve-digests", "--dest-creds", creds,
					"oci:"+img.layout(t, t.TempDir())+":"+layoutTag, "docker://"+ref)
				pushed := lastDigest(t, s.must(t, "", bin, "inspect", "--creds", creds, "--format", "{{.Digest}}", "docker://"+ref))
				out := filepath.Join(t.TempDir(), "pulled")
				s.must(t, "", bin, "--insecure-policy", "copy", "--preserve-digests", "--src-creds", creds, "docker://"+ref, "oci:"+out+":"+layoutTag)
				return pushed, layoutDigest(t, out, layoutTag)
			},
			untrusting: func(t *testing.T, s *sandbox, bin, ref string) result {
				return s.run(t.Context(), "", bin, "inspect", "--creds", creds, "docker://"+ref)
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			bin := tool(t, c.name)
			ref := w.host + "/compat/tls-" + c.name + ":v1"
			pushed, pulled := c.pushPull(t, newTLSSandbox(t, true), bin, ref)
			if c.name != "oras" && pushed != img.digest {
				t.Errorf("%s pushed %s, want the image's %s", c.name, pushed, img.digest)
			}
			if pulled != pushed {
				t.Errorf("%s pulled %s over TLS, pushed %s", c.name, pulled, pushed)
			}
			w.wantTag(t, "compat/tls-"+c.name, "v1", pushed)

			r := c.untrusting(t, newTLSSandbox(t, false), bin, ref)
			if r.err == nil {
				t.Fatalf("%s without the CA reached the registry:\n%s", c.name, r)
			}
			if out := r.stdout + r.stderr; !strings.Contains(out, "certificate signed by unknown authority") && !strings.Contains(out, "x509") {
				t.Errorf("%s without the CA: want a certificate error in its output:\n%s", c.name, r)
			}
		})
	}
}
