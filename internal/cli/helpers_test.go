package cli_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rolepull/rolepull/internal/cli"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/profile"
)

// env is one rolepull node on loopback ports, on a fake clock, and the
// operator's profile written to a file the CLI is pointed at.
type env struct {
	t       *testing.T
	n       *node.Node
	clock   *clock.Fake
	profile string
	// start is the fake clock's time, in the CLI's format (RFC 3339).
	start string
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith starts a node whose config tune may adjust.
func newEnvWith(t *testing.T, tune func(*node.Config)) *env {
	t.Helper()
	ctx := t.Context()
	// The fake clock stands still near the real time: timestamps in the
	// output are predictable, and the client's real-time signatures stay
	// within the server's allowed skew.
	now := time.Now().UTC().Truncate(time.Second)
	clk := clock.NewFake(now)
	cfg := node.Config{DataDir: t.TempDir(), OpenAPIAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", Clock: clk}
	if tune != nil {
		tune(&cfg)
	}
	n, err := node.New(ctx, cfg)
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		// t.Context() is cancelled before cleanups run, so Run returns.
		if err := <-done; err != nil {
			t.Errorf("node.Run: %v", err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("node.Close: %v", err)
		}
	})
	p := filepath.Join(t.TempDir(), "profile.json")
	if err := profile.Write(p, n.Profile); err != nil {
		t.Fatalf("profile.Write: %v", err)
	}
	return &env{t: t, n: n, clock: clk, profile: p, start: now.Format(time.RFC3339)}
}

// result is what one run of the CLI did.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the CLI with stdin and the env's profile (unless args name
// one).
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	var out, errOut bytes.Buffer
	if !slices.Contains(args, "--profile") {
		args = append(args, "--profile", e.profile)
	}
	code := cli.Main(e.t.Context(), strings.NewReader(stdin), &out, &errOut, args)
	return result{out.String(), errOut.String(), code}
}

// must runs the CLI and fails the test unless it exits 0 with nothing on
// stderr.
func (e *env) must(args ...string) string {
	e.t.Helper()
	r := e.run("", args...)
	if r.code != 0 || r.stderr != "" {
		e.t.Fatalf("rolepull %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// want runs the CLI and compares its exit status and both streams.
func (e *env) want(args []string, stdout, stderr string, code int) {
	e.t.Helper()
	r := e.run("", args...)
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		e.t.Errorf("rolepull %s:\n got exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
			strings.Join(args, " "), r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

// capture runs the CLI, requires stdout to match re in full, and returns
// the submatches.
func (e *env) capture(re string, args ...string) []string {
	e.t.Helper()
	out := e.must(args...)
	m := regexp.MustCompile(`\A` + re + `\z`).FindStringSubmatch(out)
	if m == nil {
		e.t.Fatalf("rolepull %s printed %q, want a match of %s", strings.Join(args, " "), out, re)
	}
	return m
}

// proxyTransport reaches instance domains through the registry listener,
// as the CLI does.
func (e *env) proxyTransport() *http.Transport {
	u, err := url.Parse(e.n.RegistryURL())
	if err != nil {
		e.t.Fatal(err)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyURL(u)
	e.t.Cleanup(t.CloseIdleConnections)
	return t
}

// tagged is an image or an index and the tag it has in a layout.
type tagged struct {
	tag string
	img v1.Image
	idx v1.ImageIndex
}

// writeLayout writes images to a new OCI image layout, in order, each
// tagged with the ref.name annotation, and returns its directory.
func writeLayout(t *testing.T, images ...tagged) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatalf("layout.Write: %v", err)
	}
	for _, i := range images {
		ann := layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": i.tag})
		if i.idx != nil {
			err = p.AppendIndex(i.idx, ann)
		} else {
			err = p.AppendImage(i.img, ann)
		}
		if err != nil {
			t.Fatalf("layout append %s: %v", i.tag, err)
		}
	}
	return dir
}

// in returns the env reporting to t (a subtest's).
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// tableOf renders rows as the CLI's tables do.
func tableOf(rows ...[]string) string {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
	return b.String()
}

// tool returns the path of an installed tool: on PATH, or where `go
// install` puts binaries. A missing tool skips the test, or fails it under
// CI, where the tools are installed on purpose (scripts/install-test-tools)
// and a skip would hide a gap.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		if gp := os.Getenv("GOPATH"); gp != "" {
			gobin = filepath.Join(filepath.SplitList(gp)[0], "bin")
		} else if home, err := os.UserHomeDir(); err == nil {
			gobin = filepath.Join(home, "go", "bin")
		}
	}
	if p := filepath.Join(gobin, name); isExecutable(p) {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed and CI is set: scripts/install-test-tools installs it", name)
	}
	t.Skipf("%s is not installed: scripts/install-test-tools installs it", name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
