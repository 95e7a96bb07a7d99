package compat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/sts"
)

// installHint is what a skipped or failed test tells the reader to run.
const installHint = "scripts/install-test-tools installs it"

// tool returns the path of an installed tool: on PATH, or in the directory
// `go install` puts binaries in (the install script's default), which may
// not be on PATH. A missing tool skips the test, or fails it under CI,
// where the tools are installed on purpose and a skip would hide a gap.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join(goBin(), name); isExecutable(p) {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed and CI is set: %s", name, installHint)
	}
	t.Skipf("%s is not installed: %s", name, installHint)
	return ""
}

// goBin is where `go install` puts binaries: GOBIN, else GOPATH/bin, else
// ~/go/bin.
func goBin() string {
	if d := os.Getenv("GOBIN"); d != "" {
		return d
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "bin")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "bin")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Names the tests use. The instance domains follow ACR's pattern
// NAME-registry.REGION.cr.aliyuncs.com; the custom domain is bound with
// AddDomain. None of them resolves in DNS: clients reach them through the
// registry listener's proxy mode.
const (
	region       = "cn-hangzhou"
	instanceName = "test1"
	closedName   = "closed1"
	customDomain = "registry.compat.example"
	clientACL    = "127.0.0.0/16" // clients connect from 127.0.0.1
)

// world is one rolepull node on loopback with an open Enterprise instance,
// a closed one, and the temporary passwords of two roles trusted by ECI:
// one with AliyunContainerRegistryFullAccess, one allowed only cr:Pull*.
type world struct {
	n      *node.Node
	proxy  string // the registry listener, http://127.0.0.1:PORT: also the HTTP proxy
	inst   acr.Instance
	host   string // inst's public domain
	closed acr.Instance
	// closedHost is the public domain of an instance whose internet access
	// is off, though its allow-list admits the clients.
	closedHost string

	full, pullOnly, closedFull acr.TempPassword
}

func newWorld(t *testing.T) *world { return newWorldWith(t, nil) }

// newWorldWith is newWorld on a node whose config tune may adjust.
func newWorldWith(t *testing.T, tune func(*node.Config)) *world {
	t.Helper()
	ctx := t.Context()
	cfg := node.Config{DataDir: t.TempDir(), OpenAPIAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0"}
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
	w := &world{n: n, proxy: n.RegistryURL()}
	acct := n.Operator.ID

	w.inst = w.openInstance(t, instanceName)
	if w.inst, err = n.ACR.AddDomain(ctx, acct, w.inst.InstanceID, customDomain); err != nil {
		t.Fatalf("AddDomain(%q): %v", customDomain, err)
	}
	w.host = w.inst.PublicHost(acr.DefaultBase)

	if w.closed, err = n.ACR.CreateInstance(ctx, acct, region, closedName, acr.SpecEnterpriseStandard); err != nil {
		t.Fatalf("CreateInstance(%q): %v", closedName, err)
	}
	if w.closed, err = n.ACR.AddACL(ctx, acct, w.closed.InstanceID, clientACL, "compat clients"); err != nil {
		t.Fatalf("AddACL: %v", err)
	}
	if w.closed.Internet.Enabled {
		t.Fatalf("a new Enterprise instance has internet access on")
	}
	w.closedHost = w.closed.PublicHost(acr.DefaultBase)

	if _, err := n.RAM.CreatePolicy(ctx, acct, "compat-pull-only", "", `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Pull*"],"Resource":"*"}]}`); err != nil {
		t.Fatalf("CreatePolicy: %v", err)
	}
	full := w.session(t, "compat-full", ram.System, "AliyunContainerRegistryFullAccess")
	pull := w.session(t, "compat-pull", ram.Custom, "compat-pull-only")
	w.full = w.password(t, full, w.inst)
	w.pullOnly = w.password(t, pull, w.inst)
	w.closedFull = w.password(t, full, w.closed)
	return w
}

// openInstance creates an Enterprise instance with internet access on and
// the clients' addresses allow-listed.
func (w *world) openInstance(t *testing.T, name string) acr.Instance {
	t.Helper()
	ctx, acct := t.Context(), w.n.Operator.ID
	inst, err := w.n.ACR.CreateInstance(ctx, acct, region, name, acr.SpecEnterpriseStandard)
	if err != nil {
		t.Fatalf("CreateInstance(%q): %v", name, err)
	}
	if _, err := w.n.ACR.SetInternet(ctx, acct, inst.InstanceID, true); err != nil {
		t.Fatalf("SetInternet: %v", err)
	}
	if inst, err = w.n.ACR.AddACL(ctx, acct, inst.InstanceID, clientACL, "compat clients"); err != nil {
		t.Fatalf("AddACL: %v", err)
	}
	return inst
}

// session creates a role trusted by the ECI service with one policy
// attached, assumes it as ECI does, and returns the session's identity as
// the registry will see it.
func (w *world) session(t *testing.T, role string, ptype ram.PolicyType, policy string) ram.Identity {
	t.Helper()
	ctx, acct := t.Context(), w.n.Operator.ID
	trust := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["eci.aliyuncs.com"]}}]}`
	r, err := w.n.RAM.CreateRole(ctx, acct, ram.RoleInput{RoleName: role, AssumeRolePolicyDocument: trust})
	if err != nil {
		t.Fatalf("CreateRole(%q): %v", role, err)
	}
	if err := w.n.RAM.AttachPolicy(ctx, acct, ptype, policy, ram.ToRole, role); err != nil {
		t.Fatalf("AttachPolicy(%q, %q): %v", policy, role, err)
	}
	creds, _, err := w.n.STS.AssumeRole(ctx, ram.ServiceIdentity("eci.aliyuncs.com"), sts.AssumeRoleInput{RoleArn: r.ARN(), RoleSessionName: "compat"})
	if err != nil {
		t.Fatalf("AssumeRole(%s): %v", r.ARN(), err)
	}
	id, _, err := w.n.STS.Verify(creds.AccessKeyID, creds.SecurityToken)
	if err != nil {
		t.Fatalf("Verify(session of %s): %v", role, err)
	}
	return id
}

func (w *world) password(t *testing.T, id ram.Identity, inst acr.Instance) acr.TempPassword {
	t.Helper()
	tp, err := w.n.ACR.IssueTempPassword(id, inst)
	if err != nil {
		t.Fatalf("IssueTempPassword(%s, %s): %v", id.ARN(), inst.InstanceID, err)
	}
	if tp.Username != acr.TempUsername {
		t.Fatalf("IssueTempPassword().Username = %q, want %q", tp.Username, acr.TempUsername)
	}
	return tp
}

// jwtRE matches a compact JWS, such as a registry bearer token.
var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// secrets are never logged: every command line and output a test logs
// passes through redact first, which masks the temporary passwords and
// any bearer token a client printed.
func (w *world) redact(s string) string {
	for _, p := range []acr.TempPassword{w.full, w.pullOnly, w.closedFull} {
		if p.Password != "" {
			s = strings.ReplaceAll(s, p.Password, "<password>")
		}
	}
	return jwtRE.ReplaceAllString(s, "<token>")
}

// proxyEnv routes a client's plain-HTTP requests for any host through the
// registry listener (HTTP_PROXY), and its HTTPS attempts (HTTPS_PROXY)
// through https, which relays their CONNECT to the same listener — which
// refuses it: a client that tries HTTPS first must fall back to HTTP, and
// https counts that it tried. NO_PROXY is empty so nothing bypasses the
// proxy.
func (w *world) proxyEnv(https string) []string {
	env := []string{"HTTP_PROXY=" + w.proxy, "http_proxy=" + w.proxy, "HTTPS_PROXY=" + https, "https_proxy=" + https}
	return append(env, "NO_PROXY=", "no_proxy=", "ALL_PROXY=", "all_proxy=")
}

// connectRelay is the HTTPS_PROXY of a sandbox: it counts the client's
// CONNECTs and relays each to the registry listener, passing back its
// answer (a refusal: rolepull terminates no TLS).
type connectRelay struct {
	t        *testing.T
	upstream string // host:port of the registry listener
	connects atomic.Int64
}

func (c *connectRelay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		c.t.Errorf("the HTTPS proxy got %s %s: plain HTTP should go to HTTP_PROXY", r.Method, r.URL)
		http.Error(w, "this proxy relays only CONNECT", http.StatusMethodNotAllowed)
		return
	}
	c.connects.Add(1)
	conn, err := net.DialTimeout("tcp", c.upstream, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", r.Host, r.Host)
	resp, err := http.ReadResponse(bufio.NewReader(conn), r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		c.t.Errorf("the registry listener accepted CONNECT %s: %s", r.Host, resp.Status)
		http.Error(w, "unexpected tunnel", http.StatusBadGateway)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// sandbox is a client's environment: its own HOME and every config
// directory under a temporary directory, so nothing reads or writes the
// real home, and nothing of the test process's environment but PATH.
type sandbox struct {
	dir    string
	env    []string
	redact func(string) string
	https  *connectRelay // nil: no proxy
	// timeout bounds one command (default commandTimeout).
	timeout time.Duration
}

// sandbox returns a sandbox whose clients reach the world's instance
// domains through its proxy.
func (w *world) sandbox(t *testing.T) *sandbox {
	t.Helper()
	s := newSandbox(t)
	s.redact = w.redact
	s.https = &connectRelay{t: t, upstream: strings.TrimPrefix(w.proxy, "http://")}
	relay := httptest.NewServer(s.https)
	t.Cleanup(relay.Close)
	s.env = append(s.env, w.proxyEnv(relay.URL)...)
	return s
}

// newSandbox returns a sandbox without a proxy.
func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	dir := t.TempDir()
	s := &sandbox{dir: dir, redact: func(s string) string { return s }, timeout: commandTimeout}
	dirs := map[string]string{
		"HOME":            "home",
		"DOCKER_CONFIG":   "docker",
		"XDG_CONFIG_HOME": "xdg/config",
		"XDG_DATA_HOME":   "xdg/data",
		"XDG_CACHE_HOME":  "xdg/cache",
		"XDG_RUNTIME_DIR": "xdg/run",
		"TMPDIR":          "tmp",
	}
	for k, sub := range dirs {
		p := filepath.Join(dir, sub)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		s.env = append(s.env, k+"="+p)
	}
	s.env = append(s.env,
		"PATH="+os.Getenv("PATH"),
		"REGCTL_CONFIG="+filepath.Join(dir, "regctl", "config.json"),
		"REGISTRY_AUTH_FILE="+filepath.Join(dir, "containers-auth.json"),
		// skopeo (containers/image) keeps a blob-info cache under
		// /var/lib/containers when running as root and under
		// XDG_DATA_HOME otherwise; this makes it take the sandbox's, so
		// no run leaves state behind or sees another's.
		"_CONTAINERS_ROOTLESS_UID="+strconv.Itoa(nonRootUID()),
	)
	return s
}

// nonRootUID is the process's uid, or 1000 for root: containers/image
// only asks whether it is 0.
func nonRootUID() int {
	if uid := os.Geteuid(); uid != 0 {
		return uid
	}
	return 1000
}

// commandTimeout bounds one client invocation.
const commandTimeout = 60 * time.Second

// result is what a client invocation did.
type result struct {
	cmd            string // redacted
	stdout, stderr string
	err            error // nil: exit status 0
}

func (r result) String() string {
	return fmt.Sprintf("$ %s\n-- exit: %v\n-- stdout:\n%s-- stderr:\n%s", r.cmd, r.err, r.stdout, r.stderr)
}

// run runs a client in the sandbox, with stdin (for --password-stdin).
func (s *sandbox) run(ctx context.Context, stdin string, bin string, args ...string) result {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = s.env
	cmd.Dir = s.dir
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, fmt.Errorf("timed out after %s", s.timeout))
	}
	return result{
		cmd:    s.redact(filepath.Base(bin) + " " + strings.Join(args, " ")),
		stdout: s.redact(stdout.String()),
		stderr: s.redact(stderr.String()),
		err:    err,
	}
}

// must runs a client and fails the test unless it exits 0.
func (s *sandbox) must(t *testing.T, stdin, bin string, args ...string) result {
	t.Helper()
	r := s.run(t.Context(), stdin, bin, args...)
	if r.err != nil {
		t.Fatalf("client failed:\n%s", r)
	}
	return r
}
