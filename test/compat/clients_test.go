package compat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rolepull/rolepull/internal/acr"
)

// ociClient drives one third-party client. ref is HOST/NS/REPO:TAG.
type ociClient struct {
	name string // the binary
	// login gives the client a temporary password for host, where the
	// client keeps credentials apart from each command, and reports the
	// first step that failed (or the last one).
	login func(t *testing.T, s *sandbox, bin, host string, pw acr.TempPassword) result
	// push pushes content to ref and returns the manifest digest it
	// should now have there.
	push func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword, img image) v1.Hash
	// tryPush attempts a push whose outcome the caller judges.
	tryPush func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword, img image) result
	// pull fetches ref back and returns the manifest digest of what it
	// stored locally, after checking the content.
	pull func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword) v1.Hash
	// tryPull attempts a pull whose outcome the caller judges.
	tryPull func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword) result
	// catalog lists the instance's repositories (nil: the client has no
	// catalog command).
	catalog func(t *testing.T, s *sandbox, bin, host string, pw acr.TempPassword) result
	// tags lists a repository's tags, HOST/NS/REPO.
	tags func(t *testing.T, s *sandbox, bin, repo string, pw acr.TempPassword) result
	// httpsFirst says the client, told the registry is insecure, tries
	// HTTPS before plain HTTP (rather than speaking only HTTP).
	httpsFirst bool
}

var digestRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// lastDigest is the last sha256 digest a client printed.
func lastDigest(t *testing.T, r result) v1.Hash {
	t.Helper()
	all := digestRE.FindAllString(r.stdout, -1)
	if len(all) == 0 {
		t.Fatalf("the client printed no digest:\n%s", r)
	}
	h, err := v1.NewHash(all[len(all)-1])
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// repoOf strips the host and the tag: HOST/NS/REPO:TAG → NS/REPO.
func repoOf(ref string) string {
	_, rest, _ := strings.Cut(ref, "/")
	repo, _, _ := strings.Cut(rest, ":")
	return repo
}

// wantImage checks that the registry holds the pushed image unchanged.
func wantImage(t *testing.T, what string, got v1.Hash, img image) v1.Hash {
	t.Helper()
	if got != img.digest {
		t.Errorf("%s after the push = %s, want the image's %s", what, got, img.digest)
	}
	return got
}

var crane = ociClient{
	name:       "crane",
	httpsFirst: true,
	login: func(t *testing.T, s *sandbox, bin, host string, pw acr.TempPassword) result {
		return s.run(t.Context(), pw.Password, bin, "auth", "login", host, "-u", pw.Username, "--password-stdin")
	},
	push: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword, img image) v1.Hash {
		pushed := lastDigest(t, s.must(t, "", bin, "push", "--insecure", img.layout(t, t.TempDir()), ref))
		if pushed != img.digest {
			t.Errorf("crane push reported %s, want the image's %s", pushed, img.digest)
		}
		// A copy within the instance: crane mounts the blobs across
		// repositories (pull on the source, push on the target).
		copied := strings.Replace(ref, repoOf(ref), repoOf(ref)+"-copy", 1)
		s.must(t, "", bin, "copy", "--insecure", ref, copied)
		if d := lastDigest(t, s.must(t, "", bin, "digest", "--insecure", copied)); d != img.digest {
			t.Errorf("crane digest %s = %s, want %s", copied, d, img.digest)
		}
		// crane append: one of the image's layers as a new image on an
		// empty OCI base, pushed as crane builds it.
		appended := strings.Replace(ref, repoOf(ref), repoOf(ref)+"-append", 1)
		built := lastDigest(t, s.must(t, "", bin, "append", "--insecure", "--oci-empty-base", "-f", img.layerFile(t, t.TempDir()), "-t", appended))
		if d := lastDigest(t, s.must(t, "", bin, "digest", "--insecure", appended)); d != built {
			t.Errorf("crane digest %s = %s, want the appended %s", appended, d, built)
		}
		return wantImage(t, "crane digest", lastDigest(t, s.must(t, "", bin, "digest", "--insecure", ref)), img)
	},
	tryPush: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword, img image) result {
		return s.run(t.Context(), "", bin, "push", "--insecure", img.layout(t, t.TempDir()), ref)
	},
	catalog: func(t *testing.T, s *sandbox, bin, host string, pw acr.TempPassword) result {
		return s.run(t.Context(), "", bin, "catalog", "--insecure", host)
	},
	tags: func(t *testing.T, s *sandbox, bin, repo string, pw acr.TempPassword) result {
		return s.run(t.Context(), "", bin, "ls", "--insecure", repo)
	},
	pull: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword) v1.Hash {
		out := filepath.Join(t.TempDir(), "pulled")
		s.must(t, "", bin, "pull", "--insecure", "--format", "oci", ref, out)
		return layoutDigest(t, out, "")
	},
	tryPull: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword) result {
		return s.run(t.Context(), "", bin, "pull", "--insecure", "--format", "oci", ref, filepath.Join(t.TempDir(), "pulled"))
	},
}

// orasFile is the artifact oras pushes: a file in the sandbox (oras
// refuses absolute paths) and its media type.
const (
	orasFile      = "artifact.txt"
	orasMediaType = "text/plain"
)

// orasContent is what oras pushes to ref: distinct per reference, so a
// pull that returned another artifact would show.
func orasContent(ref string) []byte { return []byte("rolepull compat artifact at " + ref + "\n") }

// jsonDigest reads the "digest" of the JSON oras printed (push --format
// json, manifest fetch --descriptor).
func jsonDigest(t *testing.T, what string, r result) v1.Hash {
	t.Helper()
	var out struct {
		Digest string `json:"digest"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, r)
	}
	h, err := v1.NewHash(out.Digest)
	if err != nil {
		t.Fatalf("%s: digest %q: %v", what, out.Digest, err)
	}
	return h
}

var oras = ociClient{
	name: "oras",
	// oras takes credentials with every command.
	login: func(*testing.T, *sandbox, string, string, acr.TempPassword) result { return result{} },
	push: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword, img image) v1.Hash {
		if err := os.WriteFile(filepath.Join(s.dir, orasFile), orasContent(ref), 0o600); err != nil {
			t.Fatal(err)
		}
		r := s.must(t, pw.Password, bin, "push", "--plain-http", "-u", pw.Username, "--password-stdin",
			"--format", "json", ref, orasFile+":"+orasMediaType)
		pushed := jsonDigest(t, "oras push --format json", r)
		if d := lastDigest(t, s.must(t, pw.Password, bin, "resolve", "--plain-http", "-u", pw.Username, "--password-stdin", ref)); d != pushed {
			t.Errorf("oras resolve %s = %s, want the pushed %s", ref, d, pushed)
		}
		return pushed
	},
	tryPush: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword, img image) result {
		if err := os.WriteFile(filepath.Join(s.dir, orasFile), []byte("denied\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return s.run(t.Context(), pw.Password, bin, "push", "--plain-http", "-u", pw.Username, "--password-stdin", ref, orasFile+":"+orasMediaType)
	},
	pull: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword) v1.Hash {
		out := t.TempDir()
		s.must(t, pw.Password, bin, "pull", "--plain-http", "-u", pw.Username, "--password-stdin", "-o", out, ref)
		got, err := os.ReadFile(filepath.Join(out, orasFile))
		if err != nil {
			t.Fatalf("oras pull wrote no %s: %v", orasFile, err)
		}
		if want := orasContent(ref); string(got) != string(want) {
			t.Errorf("oras pull %s: %s = %q, want %q", ref, orasFile, got, want)
		}
		// oras pull keeps no manifest: fetch the one the registry serves
		// and hash it.
		r := s.must(t, pw.Password, bin, "manifest", "fetch", "--plain-http", "-u", pw.Username, "--password-stdin", "--descriptor", ref)
		return jsonDigest(t, "oras manifest fetch --descriptor", r)
	},
	tryPull: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword) result {
		return s.run(t.Context(), pw.Password, bin, "pull", "--plain-http", "-u", pw.Username, "--password-stdin", "-o", t.TempDir(), ref)
	},
	catalog: func(t *testing.T, s *sandbox, bin, host string, pw acr.TempPassword) result {
		return s.run(t.Context(), pw.Password, bin, "repo", "ls", "--plain-http", "-u", pw.Username, "--password-stdin", host)
	},
	tags: func(t *testing.T, s *sandbox, bin, repo string, pw acr.TempPassword) result {
		return s.run(t.Context(), pw.Password, bin, "repo", "tags", "--plain-http", "-u", pw.Username, "--password-stdin", repo)
	},
}

var regctl = ociClient{
	name: "regctl",
	login: func(t *testing.T, s *sandbox, bin, host string, pw acr.TempPassword) result {
		// registry set pings the registry (and fails when it cannot, while
		// still saving the setting).
		if r := s.run(t.Context(), "", bin, "registry", "set", host, "--tls", "disabled"); r.err != nil {
			return r
		}
		return s.run(t.Context(), pw.Password, bin, "registry", "login", host, "-u", pw.Username, "--pass-stdin")
	},
	push: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword, img image) v1.Hash {
		src := "ocidir://" + img.layout(t, t.TempDir()) + ":" + layoutTag
		s.must(t, "", bin, "image", "copy", src, ref)
		return wantImage(t, "regctl image digest", lastDigest(t, s.must(t, "", bin, "image", "digest", ref)), img)
	},
	tryPush: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword, img image) result {
		return s.run(t.Context(), "", bin, "image", "copy", "ocidir://"+img.layout(t, t.TempDir())+":"+layoutTag, ref)
	},
	pull: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword) v1.Hash {
		out := filepath.Join(t.TempDir(), "pulled")
		s.must(t, "", bin, "image", "copy", ref, "ocidir://"+out+":"+layoutTag)
		return layoutDigest(t, out, layoutTag)
	},
	tryPull: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword) result {
		return s.run(t.Context(), "", bin, "image", "copy", ref, "ocidir://"+filepath.Join(t.TempDir(), "pulled")+":"+layoutTag)
	},
	catalog: func(t *testing.T, s *sandbox, bin, host string, pw acr.TempPassword) result {
		return s.run(t.Context(), "", bin, "repo", "ls", host)
	},
	tags: func(t *testing.T, s *sandbox, bin, repo string, pw acr.TempPassword) result {
		return s.run(t.Context(), "", bin, "tag", "ls", repo)
	},
}

var skopeo = ociClient{
	name:       "skopeo",
	httpsFirst: true,
	// skopeo takes credentials with every command.
	login: func(*testing.T, *sandbox, string, string, acr.TempPassword) result { return result{} },
	push: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword, img image) v1.Hash {
		src := "oci:" + img.layout(t, t.TempDir()) + ":" + layoutTag
		s.must(t, "", bin, "--insecure-policy", "copy", "--preserve-digests", "--dest-tls-verify=false",
			"--dest-creds", pw.Username+":"+pw.Password, src, "docker://"+ref)
		// Again to another repository: skopeo's blob-info cache now knows
		// the blobs are in the first, so it tries a cross-repository
		// mount first.
		copied := strings.Replace(ref, repoOf(ref), repoOf(ref)+"-copy", 1)
		r := s.must(t, "", bin, "--debug", "--insecure-policy", "copy", "--preserve-digests", "--dest-tls-verify=false",
			"--dest-creds", pw.Username+":"+pw.Password, src, "docker://"+copied)
		for _, l := range strings.Split(r.stderr, "\n") {
			if strings.Contains(l, "mount") || strings.Contains(l, "already exists") {
				t.Log(l)
			}
		}
		return wantImage(t, "skopeo inspect", lastDigest(t, s.must(t, "", bin, "inspect", "--tls-verify=false", "--creds", pw.Username+":"+pw.Password,
			"--format", "{{.Digest}}", "docker://"+ref)), img)
	},
	tryPush: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword, img image) result {
		return s.run(t.Context(), "", bin, "--insecure-policy", "copy", "--dest-tls-verify=false",
			"--dest-creds", pw.Username+":"+pw.Password, "oci:"+img.layout(t, t.TempDir())+":"+layoutTag, "docker://"+ref)
	},
	pull: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword) v1.Hash {
		out := filepath.Join(t.TempDir(), "pulled")
		s.must(t, "", bin, "--insecure-policy", "copy", "--preserve-digests", "--src-tls-verify=false",
			"--src-creds", pw.Username+":"+pw.Password, "docker://"+ref, "oci:"+out+":"+layoutTag)
		return layoutDigest(t, out, layoutTag)
	},
	tryPull: func(t *testing.T, s *sandbox, bin, ref string, pw acr.TempPassword) result {
		return s.run(t.Context(), "", bin, "--insecure-policy", "copy", "--src-tls-verify=false",
			"--src-creds", pw.Username+":"+pw.Password, "docker://"+ref, "oci:"+filepath.Join(t.TempDir(), "pulled")+":"+layoutTag)
	},
	tags: func(t *testing.T, s *sandbox, bin, repo string, pw acr.TempPassword) result {
		return s.run(t.Context(), "", bin, "list-tags", "--tls-verify=false", "--creds", pw.Username+":"+pw.Password, "docker://"+repo)
	},
}

var clients = []ociClient{crane, oras, regctl, skopeo}

// TestClients runs each client against one node: push and pull back
// through the instance's default domain and through its custom domain,
// comparing digests; pull with a pull-only role and see its push denied;
// and see a closed instance as a network error.
func TestClients(t *testing.T) {
	w := newWorld(t)
	img := newImage(t)
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			// The clients share only the node; parallel runs overlap
			// their retries against the closed instance.
			t.Parallel()
			bin := tool(t, c.name)
			for _, d := range []struct{ host, repo string }{
				{w.host, "compat/" + c.name},
				{customDomain, "compat/" + c.name + "-custom"}, // its own repository: the push through this domain must land
			} {
				host, repo := d.host, d.repo
				t.Run("push-pull/"+host, func(t *testing.T) {
					ref := host + "/" + repo + ":v1"
					s := w.sandbox(t)
					mustLogin(t, c, s, bin, host, w.full)
					pushed := c.push(t, s, bin, ref, w.full, img)
					w.wantTag(t, repo, "v1", pushed)
					// A fresh sandbox: nothing cached from the push.
					s2 := w.sandbox(t)
					mustLogin(t, c, s2, bin, host, w.full)
					if got := c.pull(t, s2, bin, ref, w.full); got != pushed {
						t.Errorf("%s pull %s = %s, want the pushed %s", c.name, ref, got, pushed)
					}
					t.Logf("%s: %d HTTPS attempts (CONNECT refused by the listener) before plain HTTP", c.name, s.https.connects.Load()+s2.https.connects.Load())
					if tried := s.https.connects.Load()+s2.https.connects.Load() > 0; tried != c.httpsFirst {
						t.Errorf("%s tried HTTPS first: %v, want %v", c.name, tried, c.httpsFirst)
					}
					// Content discovery: the tag, and the repository in the
					// catalog.
					if r := c.tags(t, s2, bin, host+"/"+repo, w.full); r.err != nil || !strings.Contains(r.stdout, "v1") {
						t.Errorf("%s lists no tag v1 of %s:\n%s", c.name, repo, r)
					}
					if c.catalog != nil {
						if r := c.catalog(t, s2, bin, host, w.full); r.err != nil || !strings.Contains(r.stdout, repo) {
							t.Errorf("%s's catalog of %s lacks %s:\n%s", c.name, host, repo, r)
						}
					}
				})
			}
			t.Run("pull-only-role", func(t *testing.T) {
				repo := "compat/" + c.name + "-pull-only"
				ref := w.host + "/" + repo + ":v1"
				s := w.sandbox(t)
				mustLogin(t, c, s, bin, w.host, w.full)
				pushed := c.push(t, s, bin, ref, w.full, img)

				s = w.sandbox(t)
				mustLogin(t, c, s, bin, w.host, w.pullOnly)
				if got := c.pull(t, s, bin, ref, w.pullOnly); got != pushed {
					t.Errorf("%s pull %s with the pull-only role = %s, want %s", c.name, ref, got, pushed)
				}
				denied := w.host + "/compat/" + c.name + "-denied:v1"
				r := c.tryPush(t, s, bin, denied, w.pullOnly, img)
				if r.err == nil {
					t.Fatalf("%s pushed with the pull-only role's password:\n%s", c.name, r)
				}
				if out := strings.ToLower(r.stderr); !strings.Contains(out, "unauthorized") && !strings.Contains(out, "denied") {
					t.Errorf("%s push with the pull-only role: its stderr mentions neither UNAUTHORIZED nor denied:\n%s", c.name, r)
				}
				if _, err := w.n.ACR.GetRepository(t.Context(), w.inst.InstanceID, "compat", c.name+"-denied"); !errors.Is(err, acr.ErrNotFound) {
					t.Errorf("GetRepository(compat/%s-denied) after a denied push = %v, want ErrNotFound", c.name, err)
				}
				t.Logf("%s push denied as expected:\n%s", c.name, r.stderr)
			})
			t.Run("closed-instance", func(t *testing.T) {
				// The password is valid: only the network stands in the way.
				s := w.sandbox(t)
				r := c.login(t, s, bin, w.closedHost, w.closedFull)
				if r.err == nil {
					r = c.tryPull(t, s, bin, w.closedHost+"/compat/"+c.name+":v1", w.closedFull)
				}
				if r.err == nil {
					t.Fatalf("%s pulled from an instance whose internet access is off:\n%s", c.name, r)
				}
				out := strings.ToLower(r.stdout + r.stderr)
				if !strings.Contains(out, "connection reset") {
					t.Errorf("%s against a closed instance: want a connection reset in the client's output:\n%s", c.name, r)
				}
				if status401.MatchString(out) || strings.Contains(out, "unauthorized") {
					t.Errorf("%s against a closed instance saw an authorization failure, want only a network error:\n%s", c.name, r)
				}
				t.Logf("%s against the closed instance:\n%s", c.name, r.stderr)
			})
		})
	}
}

// status401 finds an HTTP 401 in a client's output (and not the digits
// inside a port number).
var status401 = regexp.MustCompile(`\b401\b`)

func mustLogin(t *testing.T, c ociClient, s *sandbox, bin, host string, pw acr.TempPassword) {
	t.Helper()
	if r := c.login(t, s, bin, host, pw); r.err != nil {
		t.Fatalf("%s login to %s failed:\n%s", c.name, host, r)
	}
}

// wantTag checks, through the node rather than a client, that the
// instance (not some other) stores tag at the digest the client reported.
func (w *world) wantTag(t *testing.T, repo, tag string, want v1.Hash) {
	t.Helper()
	ns, name, _ := strings.Cut(repo, "/")
	tags, err := w.n.Registry.ListTags(t.Context(), w.inst.InstanceID, ns, name)
	if err != nil {
		t.Fatalf("ListTags(%s, %s): %v", w.inst.InstanceID, repo, err)
	}
	for _, got := range tags {
		if got.Tag == tag {
			if got.Digest != want.String() {
				t.Errorf("instance %s has %s:%s at %s, want %s", w.inst.InstanceID, repo, tag, got.Digest, want)
			}
			return
		}
	}
	t.Errorf("instance %s has no tag %s:%s (tags: %+v)", w.inst.InstanceID, repo, tag, tags)
}
