package compat

import (
	"debug/buildinfo"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// conformanceSwitches turn off what distribution v3.1.2 lacks (the
// referrers API, sha512 digests, manifests referencing non-distributable
// layers it has not got), for both registries, so the two runs are the
// same suite. Pull, push, content discovery (tag listing) and content
// management (deletes) are on, explicitly.
var conformanceSwitches = []string{
	"OCI_API_REFERRER=false",
	"OCI_DATA_SHA512=false",
	"OCI_DATA_NONDISTRIBUTABLE=false",
}

var conformanceEnabled = []string{
	"OCI_API_PULL=true",
	"OCI_API_PUSH=true",
	"OCI_API_TAGS_LIST=true",
	"OCI_API_TAGS_DELETE=true",
	"OCI_API_MANIFESTS_DELETE=true",
	"OCI_API_BLOBS_DELETE=true",
}

// Repositories the suite uses: ACR repositories are exactly NS/REPO.
const (
	conformanceRepo1 = "conformance/repo1"
	conformanceRepo2 = "conformance/repo2"
)

// conformanceTimeout bounds one run of the suite (about 4 s, 16 s under
// -race, on 2 cores).
const conformanceTimeout = 5 * time.Minute

// conformanceResult is the suite's own count (junit.xml).
type conformanceResult struct {
	Tests, Failures, Errors, Skipped, Disabled int
	failed                                     []junitCase
	// notPassed is "STATUS NAME" of every test that did not pass, sorted.
	notPassed []string
}

func (r conformanceResult) Passed() int {
	return r.Tests - r.Failures - r.Errors - r.Skipped - r.Disabled
}

func (r conformanceResult) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d errors, %d skipped, %d disabled of %d", r.Passed(), r.Failures, r.Errors, r.Skipped, r.Disabled, r.Tests)
}

type junitCase struct {
	Name      string `xml:"name,attr"`
	Status    string `xml:"status,attr"`
	SystemOut string `xml:"system-out"`
	SystemErr string `xml:"system-err"`
}

type junitSuites struct {
	Suites []struct {
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Errors   int         `xml:"errors,attr"`
		Skipped  int         `xml:"skipped,attr"`
		Disabled int         `xml:"disabled,attr"`
		Cases    []junitCase `xml:"testcase"`
	} `xml:"testsuite"`
}

// runConformance runs the conformance program in sandbox s with the given
// registry settings and returns its counts. The program exits 1 on any
// failure (and 0 when it could not even load its configuration), so the
// verdict is read from its junit.xml, which must exist.
func runConformance(t *testing.T, s *sandbox, bin string, settings ...string) (conformanceResult, string) {
	t.Helper()
	results := filepath.Join(s.dir, "results")
	env := append([]string{
		"OCI_RESULTS_DIR=" + results,
		"OCI_VERSION=1.1",
		"OCI_TLS=disabled",
		"OCI_REPO1=" + conformanceRepo1,
		"OCI_REPO2=" + conformanceRepo2,
		"OCI_LOG=warn",
	}, conformanceEnabled...)
	env = append(env, conformanceSwitches...)
	// The suite makes ~1,000 requests; under -race on a loaded CI machine
	// the in-process registry is several times slower.
	s.timeout = conformanceTimeout
	saved := s.env
	s.env = append(append(append([]string(nil), s.env...), env...), settings...)
	defer func() { s.env = saved }()
	r := s.run(t.Context(), "", bin)
	if b, err := os.ReadFile(filepath.Join(results, "report.html")); err == nil {
		os.WriteFile(filepath.Join(results, "report.html"), []byte(s.redact(string(b))), 0o600)
	}
	raw, err := os.ReadFile(filepath.Join(results, "junit.xml"))
	if err != nil {
		t.Fatalf("the conformance program wrote no junit.xml (%v):\n%s", err, r)
	}
	var js junitSuites
	if err := xml.Unmarshal(raw, &js); err != nil || len(js.Suites) != 1 {
		t.Fatalf("junit.xml: %v (%d suites)", err, len(js.Suites))
	}
	su := js.Suites[0]
	res := conformanceResult{Tests: su.Tests, Failures: su.Failures, Errors: su.Errors, Skipped: su.Skipped, Disabled: su.Disabled}
	for _, c := range su.Cases {
		if c.Status == "failure" || c.Status == "error" {
			res.failed = append(res.failed, c)
		}
		if c.Status != "passed" {
			res.notPassed = append(res.notPassed, c.Status+" "+c.Name)
		}
	}
	slices.Sort(res.notPassed)
	if res.Tests == 0 {
		t.Fatalf("the conformance program ran no test:\n%s", r)
	}
	if (res.Failures+res.Errors == 0) != (r.err == nil) {
		t.Errorf("the conformance program's exit (%v) disagrees with its junit.xml (%s)", r.err, res)
	}
	return res, r.stdout
}

// TestConformance runs the OCI distribution-spec conformance program
// against rolepull's registry by instance domain (through the proxy, with
// a temporary password of a role RAM allows everything on the instance),
// and against the CNCF registry v3.1.2 standalone with token auth, with
// the same switches.
// rolepull must pass everything it runs.
func TestConformance(t *testing.T) {
	bin := tool(t, "conformance")
	peerBin := tool(t, "registry")
	var rolepull, peer conformanceResult
	t.Run("rolepull", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		s := w.sandbox(t)
		res, stdout := runConformance(t, s, bin,
			"OCI_REGISTRY="+w.host,
			"OCI_USERNAME="+w.full.Username,
			"OCI_PASSWORD="+w.full.Password,
		)
		rolepull = res
		t.Logf("rolepull by %s: %s", w.host, res)
		for _, c := range res.failed {
			t.Errorf("conformance %s: %s\n%s\n%s", c.Status, c.Name, w.redact(c.SystemOut), truncate(w.redact(c.SystemErr), 8<<10))
		}
		if t.Failed() {
			t.Logf("conformance report:\n%s", truncate(stdout, 16<<10))
		}
		// The suite reached the instance by its domain: its content is
		// there.
		if _, err := w.n.ACR.GetRepository(t.Context(), w.inst.InstanceID, "conformance", "repo1"); err != nil {
			t.Errorf("instance %s has no repository %s after the suite: %v", w.inst.InstanceID, conformanceRepo1, err)
		}
	})
	t.Run("distribution", func(t *testing.T) {
		t.Parallel()
		addr := startPeer(t, peerBin, startTokenServer(t))
		s := newSandbox(t) // no proxy: the peer is on loopback
		// The same settings: token auth, credentials presented.
		res, _ := runConformance(t, s, bin, "OCI_REGISTRY="+addr, "OCI_USERNAME=conformance", "OCI_PASSWORD=conformance")
		peer = res
		t.Logf("distribution v3.1.2 at %s (token auth): %s", addr, res)
		for _, c := range res.failed {
			t.Logf("peer conformance %s: %s\n%s", c.Status, c.Name, c.SystemOut)
		}
	})
	t.Cleanup(func() {
		if rolepull.Tests == 0 || peer.Tests == 0 {
			return // a run did not complete
		}
		t.Logf("conformance: rolepull %d passed / %d failed; distribution v3.1.2 %d passed / %d failed",
			rolepull.Passed(), rolepull.Failures+rolepull.Errors, peer.Passed(), peer.Failures+peer.Errors)
		// rolepull embeds the same engine: whatever it skips (or the
		// suite disables) must be what the peer does, so its front door
		// costs no feature.
		if diff := cmp.Diff(peer.notPassed, rolepull.notPassed); diff != "" {
			t.Errorf("tests that did not pass differ between distribution and rolepull (-distribution +rolepull):\n%s", diff)
		}
		if os.Getenv("ROLEPULL_WRITE_CONFORMANCE") != "" {
			writeConformanceReport(t, bin, peerBin, rolepull, peer)
		}
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("\n… (%d more bytes)", len(s)-n)
}

// peerTokens is the token endpoint of the peer registry.
type peerTokens struct {
	addr  string // host:port of /token
	jwks  string // the public key set the registry verifies with
	issue string // the tokens' iss
}

// startTokenServer builds and runs bench/cmd/tokensrv, the Docker token
// endpoint the registry benchmark gives the peer: Ed25519 JWTs granting
// every scope asked, verified by the registry on every request.
func startTokenServer(t *testing.T) peerTokens {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "tokensrv")
	if out, err := exec.Command("go", "build", "-o", bin, "../../bench/cmd/tokensrv").CombinedOutput(); err != nil {
		t.Fatalf("go build tokensrv: %v\n%s", err, out)
	}
	pt := peerTokens{jwks: filepath.Join(dir, "jwks.json"), issue: "conformance-tokensrv"}
	ready := filepath.Join(dir, "tokensrv.env")
	cmd := exec.CommandContext(t.Context(), bin, "-jwks", pt.jwks, "-issuer", pt.issue, "-out", ready)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { <-exited })
	deadline := time.Now().Add(15 * time.Second)
	for {
		if b, err := os.ReadFile(ready); err == nil {
			pt.addr = strings.TrimSpace(strings.TrimPrefix(string(b), "TOKEN_ADDR="))
			return pt
		}
		select {
		case <-exited:
			t.Fatalf("tokensrv exited before it was ready:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tokensrv was not ready within 15 s:\n%s", logs.String())
		}
	}
}

// startPeer runs the CNCF registry standalone on loopback with filesystem
// storage in a temporary directory, deletes enabled and token auth by tk,
// and returns its host:port once it answers.
func startPeer(t *testing.T, bin string, tk peerTokens) string {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the registry binds it; a race with another process is unlikely on loopback
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
auth:
  token:
    realm: http://%s/token
    service: conformance-peer
    issuer: %s
    jwks: %s
`, filepath.Join(dir, "data"), addr, tk.addr, tk.issue, tk.jwks)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// Killed when the test ends (its context is cancelled before the
	// cleanups, which wait for the exit).
	cmd := exec.CommandContext(t.Context(), bin, "serve", cfgPath)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { <-exited })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return addr // up, and asking for a token
			}
		}
		select {
		case <-exited:
			t.Fatalf("the registry exited before answering:\n%s", logs.String())
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry did not answer on %s within 15 s:\n%s", addr, logs.String())
		}
	}
}

// moduleVersion is the module version a Go binary was built from.
func moduleVersion(bin string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "unknown"
	}
	return bi.Main.Path + "@" + bi.Main.Version
}

// writeConformanceReport writes CONFORMANCE.md beside this file.
func writeConformanceReport(t *testing.T, bin, peerBin string, rolepull, peer conformanceResult) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `# OCI distribution-spec conformance

Written by `+"`ROLEPULL_WRITE_CONFORMANCE=1 go test ./test/compat -run TestConformance`"+`
(test/compat/conformance_test.go); do not edit by hand.

- suite: %s (OCI_VERSION=1.1)
- switches (both registries): %s
- enabled explicitly: %s
- rolepull: reached by its instance domain through the registry listener's HTTP proxy
  mode, plain HTTP, with a temporary password of a role holding
  AliyunContainerRegistryFullAccess (every request passes the token endpoint and RAM)
- distribution: %s, `+"`registry serve`"+`, filesystem storage, deletes enabled,
  by 127.0.0.1, **token auth** like rolepull: `+"`auth: token`"+` with the Ed25519 JWKS of
  `+"`bench/cmd/tokensrv`"+` (the registry benchmark's token endpoint, which grants every
  scope asked), the suite presenting credentials (OCI_USERNAME/OCI_PASSWORD)

| registry | tests | pass | fail | error | skip | disabled |
|---|---:|---:|---:|---:|---:|---:|
`, "`"+moduleVersion(bin)+"`", "`"+strings.Join(conformanceSwitches, " ")+"`",
		"`"+strings.Join(conformanceEnabled, " ")+"`", "`"+moduleVersion(peerBin)+"`")
	for _, row := range []struct {
		name string
		r    conformanceResult
	}{{"rolepull", rolepull}, {"distribution v3.1.2", peer}} {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d |\n", row.name, row.r.Tests, row.r.Passed(), row.r.Failures, row.r.Errors, row.r.Skipped, row.r.Disabled)
	}
	fmt.Fprintf(&b, "\nTests that did not pass on rolepull (skipped by the suite, e.g. a registry answering 202 to an\nanonymous mount, or disabled by a switch); the test fails unless distribution's list is the same:\n\n")
	for _, n := range rolepull.notPassed {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	if err := os.WriteFile("CONFORMANCE.md", []byte(b.String()), 0o644); err != nil {
		t.Errorf("write CONFORMANCE.md: %v", err)
	}
}
