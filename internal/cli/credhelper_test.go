package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rolepull/rolepull/internal/cli"
)

// openInstance creates the instance test1 through the CLI, opens it to
// this machine, pushes a random image to demo/app:1.0 and returns the
// instance id and the image digest.
func (e *env) openInstance() (id, digest string) {
	e.t.Helper()
	id = e.capture(`(cri-[a-z0-9]+)\n(?:  .*\n)+`, "cr", "instance", "create", "test1", "--type", "Basic")[1]
	if r := e.run("", "cr", "internet", "enable", id); r.code != 0 { // with a note about the empty allow-list on stderr
		e.t.Fatalf("cr internet enable: exit %d, stderr %q", r.code, r.stderr)
	}
	e.must("cr", "acl", "add", id, "127.0.0.0/16")
	e.must("cr", "namespace", "create", id, "demo", "--auto-create-repo")
	img := randomImage(e.t)
	digest = digestOf(e.t, img)
	r := e.run("", "cr", "push", writeLayout(e.t, tagged{tag: "1.0", img: img}), host+"/demo/app:1.0")
	if r.code != 0 || r.stdout != host+"/demo/app@"+digest+"\n" {
		e.t.Fatalf("cr push: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	return id, digest
}

// TestCredentialHelperMain runs the helper as the binary does under the
// name docker-credential-rolepull: the profile comes from
// $ROLEPULL_PROFILE, "not found" goes to stdout, other errors to stderr.
func TestCredentialHelperMain(t *testing.T) {
	e := newEnv(t)
	_, digest := e.openInstance()

	helper := func(stdin string, args ...string) result {
		var out, errOut bytes.Buffer
		code := cli.CredentialHelperMain(t.Context(), strings.NewReader(stdin), &out, &errOut, args)
		return result{out.String(), errOut.String(), code}
	}
	t.Setenv("ROLEPULL_PROFILE", e.profile)
	r := helper(host+"\n", "get")
	var c struct{ ServerURL, Username, Secret string }
	if r.code != 0 || r.stderr != "" || json.Unmarshal([]byte(r.stdout), &c) != nil || c.ServerURL != host || c.Username != "cr_temp_user" {
		t.Fatalf("get %s: exit %d, stdout %q, stderr %q", host, r.code, r.stdout, r.stderr)
	}
	img, err := remote.Image(name.MustParseReference(host+"/demo/app:1.0", name.Insecure), remote.WithContext(t.Context()),
		remote.WithTransport(e.proxyTransport()), remote.WithAuth(&authn.Basic{Username: c.Username, Password: c.Secret}))
	if err != nil {
		t.Fatalf("remote.Image with the helper's password: %v", err)
	}
	if got := digestOf(t, img); got != digest {
		t.Errorf("remote.Image = %s, want %s", got, digest)
	}

	for _, tt := range []struct {
		name, stdin string
		args        []string
		want        result
	}{
		{"not an instance domain", "docker.io\n", []string{"get"}, result{"credentials not found in native keychain\n", "", 1}},
		{"list", "", []string{"list"}, result{"{}\n", "", 0}},
		{"store", `{"ServerURL":"x","Username":"u","Secret":"s"}`, []string{"store"}, result{"", "", 0}},
		{"unknown verb", "", []string{"bogus"}, result{"", "docker-credential-rolepull: unknown verb \"bogus\": want get, store, erase, list or version\n", 1}},
		{"no verb", "", nil, result{"", "docker-credential-rolepull: usage: docker-credential-rolepull get|store|erase|list|version\n", 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := helper(tt.stdin, tt.args...); got != tt.want {
				t.Errorf("CredentialHelperMain(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
	t.Run("no profile", func(t *testing.T) {
		t.Setenv("ROLEPULL_PROFILE", "/nonexistent/profile.json")
		want := result{"", "docker-credential-rolepull: no profile at /nonexistent/profile.json: start rolepull with `rolepull up`, or pass --profile FILE (or set ROLEPULL_PROFILE)\n", 1}
		if got := helper(host+"\n", "get"); got != want {
			t.Errorf("get without a profile = %+v, want %+v", got, want)
		}
	})
}

func TestIsCredentialHelper(t *testing.T) {
	for _, tt := range []struct {
		argv0 string
		want  bool
	}{
		{"docker-credential-rolepull", true},
		{"/usr/local/bin/docker-credential-rolepull", true},
		{`docker-credential-rolepull.exe`, true},
		{"rolepull", false},
		{"/usr/local/bin/rolepull", false},
		{"docker-credential-rolepull-old", false},
	} {
		if got := cli.IsCredentialHelper(tt.argv0); got != tt.want {
			t.Errorf("IsCredentialHelper(%q) = %v, want %v", tt.argv0, got, tt.want)
		}
	}
}

// TestPersonalLegacyDomain pushes to and gets credentials for a Personal
// instance by its own domain and by the region's legacy shared domain,
// where the namespace names the instance.
func TestPersonalLegacyDomain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.capture(`(crpi-[a-z0-9]+)\n  (crpi-[a-z0-9]+)\.cn-hangzhou\.personal\.cr\.aliyuncs\.com \(internet\)\n  (crpi-[a-z0-9]+)-vpc\.cn-hangzhou\.personal\.cr\.aliyuncs\.com \(vpc\)\n`,
		"cr", "instance", "create", "--type", "Personal")
	id := m[1]
	if m[2] != id || m[3] != id {
		t.Fatalf("cr instance create --type Personal printed domains of %s and %s, want %s", m[2], m[3], id)
	}
	personal := id + ".cn-hangzhou.personal.cr.aliyuncs.com"
	const legacy = "registry.cn-hangzhou.aliyuncs.com"
	e.must("cr", "namespace", "create", id, "pns", "--auto-create-repo")
	img := randomImage(t)
	d := digestOf(t, img)
	dir := writeLayout(t, tagged{tag: "1", img: img})
	e.want([]string{"cr", "push", dir, legacy + "/pns/app:1"}, legacy+"/pns/app@"+d+"\n",
		blobLines(t, img, "pushed")+"pushed manifest "+d+" to "+legacy+"/pns/app:1\n", 0)
	e.want([]string{"cr", "push", dir, personal + "/pns/app:2"}, personal+"/pns/app@"+d+"\n",
		blobLines(t, img, "exists")+"pushed manifest "+d+" to "+personal+"/pns/app:2\n", 0)

	for _, server := range []string{legacy, personal} {
		r := e.run(server, "credential-helper", "get")
		var c struct{ ServerURL, Username, Secret string }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &c) != nil {
			t.Fatalf("credential-helper get %s: exit %d, stdout %q, stderr %q", server, r.code, r.stdout, r.stderr)
		}
		ref, err := name.ParseReference(server+"/pns/app:1", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(ref, remote.WithContext(t.Context()), remote.WithTransport(e.proxyTransport()),
			remote.WithAuth(&authn.Basic{Username: c.Username, Password: c.Secret}))
		if err != nil {
			t.Fatalf("remote.Image(%s) with the helper's password: %v", ref, err)
		}
		if g := digestOf(t, got); g != d {
			t.Errorf("remote.Image(%s) = %s, want %s", ref, g, d)
		}
	}
	// No Personal instance in Shanghai: its legacy domain has no credentials.
	e.wantStdin("registry.cn-shanghai.aliyuncs.com", []string{"credential-helper", "get"}, "credentials not found in native keychain\n", "", 1)
	out := e.must("cr", "instance", "get", id)
	if want := "Internet access: on (no allow-list: every address is admitted)\n"; !strings.Contains(out, want) {
		t.Errorf("cr instance get %s printed\n%s\nwant a line %q", id, out, want)
	}
}

// TestHelp checks that the new commands explain themselves.
func TestHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"cr ", "vpc ", "credential-helper "}},
		{[]string{"cr", "--help"}, []string{"instance", "internet", "acl", "vpc", "domain", "namespace", "repo", "tags", "login-password", "push", "pull", "Examples:"}},
		{[]string{"cr", "push", "--help"}, []string{"Aliases:\n  push, import", "DIR:TAG or DIR@DIGEST", "docker save", "--profile"}},
		{[]string{"cr", "instance", "create", "--help"}, []string{"--type", "--region", "Personal"}},
		{[]string{"cr", "login-password", "--help"}, []string{"short-lived", "one hour"}},
		{[]string{"vpc", "--help"}, []string{"vswitch", "127.(10+k).0.0/16"}},
		{[]string{"credential-helper", "--help"}, []string{"docker-credential-rolepull", `{"credHelpers": {"test1-registry.cn-hangzhou.cr.aliyuncs.com": "rolepull"}}`}},
	} {
		var out, errOut bytes.Buffer
		code := cli.Main(t.Context(), strings.NewReader(""), &out, &errOut, tt.args)
		if code != 0 || errOut.Len() != 0 {
			t.Errorf("rolepull %s: exit %d, stderr %q", strings.Join(tt.args, " "), code, errOut.String())
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("rolepull %s does not mention %q:\n%s", strings.Join(tt.args, " "), w, out.String())
			}
		}
	}
}

// TestCredentialHelperWithClients pulls with crane whose docker config
// holds only {"credHelpers": {DOMAIN: "rolepull"}}: the password comes
// from a docker-credential-rolepull link to a built rolepull binary, so no
// config file holds one. oras, regctl and skopeo resolve the image the same
// way.
func TestCredentialHelperWithClients(t *testing.T) {
	t.Parallel()
	crane := tool(t, "crane")
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no go on PATH to build rolepull with, and CI is set")
		}
		t.Skip("no go on PATH to build rolepull with")
	}
	e := newEnv(t)
	_, digest := e.openInstance()

	bin := t.TempDir()
	build := exec.CommandContext(t.Context(), goBin, "build", "-o", filepath.Join(bin, "rolepull"), "github.com/rolepull/rolepull/cmd/rolepull")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.Symlink("rolepull", filepath.Join(bin, cli.CredentialHelperName)); err != nil {
		t.Fatal(err)
	}

	sandbox := func(config string) (env []string, configFile string) {
		dir := t.TempDir()
		for _, sub := range []string{"home", "docker", "tmp"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		configFile = filepath.Join(dir, "docker", "config.json")
		if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		proxy := e.n.RegistryURL()
		return []string{
			"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
			"HOME=" + filepath.Join(dir, "home"), "DOCKER_CONFIG=" + filepath.Join(dir, "docker"), "TMPDIR=" + filepath.Join(dir, "tmp"),
			"ROLEPULL_PROFILE=" + e.profile,
			// Plain HTTP through the registry listener; crane's HTTPS
			// attempts go there too, and are refused, so it falls back.
			"HTTP_PROXY=" + proxy, "http_proxy=" + proxy, "HTTPS_PROXY=" + proxy, "https_proxy=" + proxy, "NO_PROXY=", "no_proxy=",
		}, configFile
	}
	run := func(env []string, stdin, prog string, args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, prog, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	ref := host + "/demo/app:1.0"

	config := `{"credHelpers":{"` + host + `":"rolepull"}}` + "\n"
	env, configFile := sandbox(config)
	out := filepath.Join(t.TempDir(), "pulled")
	if stdout, stderr, err := run(env, "", crane, "pull", "--insecure", "--format", "oci", ref, out); err != nil {
		t.Fatalf("crane pull %s with the credential helper: %v\nstdout:\n%s\nstderr:\n%s", ref, err, stdout, stderr)
	}
	ii, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest.String() != digest {
		t.Errorf("crane pulled %+v, want one manifest %s", im.Manifests, digest)
	}
	if stdout, stderr, err := run(env, "", crane, "digest", "--insecure", ref); err != nil || stdout != digest+"\n" {
		t.Errorf("crane digest %s = %q, %v (stderr %q), want %s", ref, stdout, err, stderr, digest)
	}
	if got, err := os.ReadFile(configFile); err != nil || string(got) != config {
		t.Errorf("the docker config after the pull = %q, %v; want it unchanged: %q", got, err, config)
	}

	// The other clients the help names read the same docker config.
	for _, c := range []struct {
		name string
		cmds [][]string // the last one prints the manifest digest
	}{
		{"oras", [][]string{{"manifest", "fetch", "--plain-http", "--descriptor", ref}}},
		{"regctl", [][]string{{"registry", "set", host, "--tls", "disabled"}, {"image", "digest", ref}}},
		// containers/image reads credHelpers from its auth file.
		{"skopeo", [][]string{{"inspect", "--tls-verify=false", "--authfile", configFile, "--format", "{{.Digest}}", "docker://" + ref}}},
	} {
		prog := tool(t, c.name)
		var stdout, stderr string
		var err error
		for _, args := range c.cmds {
			if stdout, stderr, err = run(env, "", prog, args...); err != nil {
				break
			}
		}
		if err != nil || !strings.Contains(stdout, digest) {
			t.Errorf("%s with the credential helper: %v, want digest %s\nstdout:\n%s\nstderr:\n%s", c.name, err, digest, stdout, stderr)
		}
	}

	// Without the helper, the same pull is refused: the helper, and only
	// it, supplied the password.
	bare, _ := sandbox("{}\n")
	if stdout, stderr, err := run(bare, "", crane, "pull", "--insecure", "--format", "oci", ref, filepath.Join(t.TempDir(), "denied")); err == nil ||
		!regexp.MustCompile(`UNAUTHORIZED|401`).MatchString(stderr) {
		t.Errorf("crane pull without the helper: %v, want an authorization failure\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}

	// The link itself speaks the protocol.
	helper := filepath.Join(bin, cli.CredentialHelperName)
	if stdout, stderr, err := run(env, "docker.io\n", helper, "get"); err == nil || stdout != "credentials not found in native keychain\n" || stderr != "" {
		t.Errorf("%s get docker.io = %q, stderr %q, %v; want the not-found message and a non-zero exit", cli.CredentialHelperName, stdout, stderr, err)
	}
	stdout, stderr, err := run(env, host+"\n", helper, "get")
	var c struct{ ServerURL, Username, Secret string }
	if err != nil || json.Unmarshal([]byte(stdout), &c) != nil || c.ServerURL != host || c.Username != "cr_temp_user" || c.Secret == "" {
		t.Errorf("%s get %s: %v, stderr %q; want {ServerURL, Username, Secret}", cli.CredentialHelperName, host, err, stderr)
	}
}
