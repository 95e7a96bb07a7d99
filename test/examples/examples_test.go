// Package examples runs every example of examples/ end to end, as the
// README tells a newcomer to: a real `rolepull up`, the example's setup
// script driving the CLI, `rolepull apply --wait`, and the pods' outcome.
package examples

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	eciv1 "github.com/rolepull/rolepull/api/eci/v1"
	"github.com/rolepull/rolepull/internal/kube"
)

type env struct {
	t       *testing.T
	bin     string // directory holding the rolepull binary
	profile string
}

func start(t *testing.T) *env {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is required")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "rolepull"), "../../cmd/rolepull")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	up := exec.CommandContext(ctx, filepath.Join(bin, "rolepull"), "up", "--data-dir", data, "--openapi-addr", "127.0.0.1:0", "--registry-addr", "127.0.0.1:0", "--log-level", "warn")
	var upErr bytes.Buffer
	up.Stderr = &upErr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		up.Wait()
		if t.Failed() {
			t.Logf("rolepull up stderr:\n%s", upErr.String())
		}
	})
	profile := filepath.Join(data, "admin-profile.json")
	for i := 0; ; i++ {
		if b, err := os.ReadFile(profile); err == nil && bytes.Contains(b, []byte("registryEndpoint")) {
			break
		}
		if i > 200 {
			t.Fatalf("rolepull up wrote no profile:\n%s", upErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &env{t: t, bin: bin, profile: profile}
}

func (e *env) run(args ...string) (string, error) {
	name := args[0]
	if name == "rolepull" {
		name = filepath.Join(e.bin, "rolepull")
	}
	cmd := exec.Command(name, args[1:]...)
	cmd.Env = append(os.Environ(), "PATH="+e.bin+":"+os.Getenv("PATH"), "ROLEPULL_PROFILE="+e.profile, "OUT="+filepath.Join(e.t.TempDir(), "out"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (e *env) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.run(args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// setup runs an example's setup script and returns its output directory.
func (e *env) setup(t *testing.T, example string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), example)
	cmd := exec.Command("bash", filepath.Join("../../examples", example, "setup.sh"))
	cmd.Env = append(os.Environ(), "PATH="+e.bin+":"+os.Getenv("PATH"), "ROLEPULL_PROFILE="+e.profile, "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s/setup.sh: %v\n%s", example, err, b)
	}
	return out
}

func (e *env) pods(t *testing.T) map[string]kube.PodView {
	t.Helper()
	var pods []kube.PodView
	if err := json.Unmarshal([]byte(e.must(t, "rolepull", "get", "pods", "-o", "json")), &pods); err != nil {
		t.Fatal(err)
	}
	m := map[string]kube.PodView{}
	for _, p := range pods {
		m[p.Name] = p
	}
	return m
}

// cacheReady applies an ImageCache manifest and waits until the cache is
// Ready.
func (e *env) cacheReady(t *testing.T, manifest, name string) eciv1.ImageCache {
	t.Helper()
	e.must(t, "rolepull", "apply", "-f", manifest)
	for i := 0; ; i++ {
		var ics []eciv1.ImageCache
		if err := json.Unmarshal([]byte(e.must(t, "rolepull", "get", "imagecaches", "-o", "json")), &ics); err != nil {
			t.Fatal(err)
		}
		for _, ic := range ics {
			if ic.Name != name {
				continue
			}
			switch ic.Status.Phase {
			case "Ready":
				return ic
			case "Failed":
				t.Fatalf("cache %s failed:\n%s", name, e.must(t, "rolepull", "describe", "imagecache", name))
			}
		}
		if i > 300 {
			t.Fatalf("cache %s is not Ready:\n%s", name, e.must(t, "rolepull", "describe", "imagecache", name))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// owned returns the pods of a Deployment.
func owned(pods map[string]kube.PodView, deployment string) []kube.PodView {
	var out []kube.PodView
	for _, p := range pods {
		if p.Owner == deployment {
			out = append(out, p)
		}
	}
	return out
}

// describeEvents returns the rows of the Events section of `rolepull
// describe KIND NAME`, as the README has a newcomer read them.
func (e *env) describeEvents(t *testing.T, kind, name string) []string {
	t.Helper()
	out := e.must(t, "rolepull", "describe", kind, name)
	_, events, ok := strings.Cut(out, "\nEvents:\n")
	if !ok {
		t.Fatalf("describe %s %s has no Events section:\n%s", kind, name, out)
	}
	var rows []string
	for _, l := range strings.Split(events, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] != "TYPE" {
			rows = append(rows, strings.TrimSpace(l))
		}
	}
	return rows
}

// hasEvent reports whether an event row has type typ and reason, and
// mentions every want.
func hasEvent(rows []string, typ, reason string, want ...string) bool {
	for _, r := range rows {
		f := strings.Fields(r)
		if f[0] != typ || f[1] != reason {
			continue
		}
		all := true
		for _, w := range want {
			all = all && strings.Contains(r, w)
		}
		if all {
			return true
		}
	}
	return false
}

// pulledEvents checks the events of a pod that pulled image as identity:
// Pulling and Pulled, each naming the image and the identity, Pulled the
// digest too, and no failed pull.
func (e *env) pulledEvents(t *testing.T, p kube.PodView, image string) {
	t.Helper()
	c := p.Containers[0]
	ev := e.describeEvents(t, "pod", p.Name)
	if !hasEvent(ev, "Normal", "Pulling", `"`+image+`"`, "as "+c.Identity) {
		t.Errorf("pod %s: no Pulling event for %s as %s:\n%s", p.Name, image, c.Identity, strings.Join(ev, "\n"))
	}
	if c.ImageDigest == "" || !hasEvent(ev, "Normal", "Pulled", "Successfully pulled image", `"`+image+`"`, c.ImageDigest, "as "+c.Identity) {
		t.Errorf("pod %s: no Pulled event for %s (%s) as %s:\n%s", p.Name, image, c.ImageDigest, c.Identity, strings.Join(ev, "\n"))
	}
	for _, bad := range []string{"ErrImagePull", "Unauthorized", "Failed", "BackOff"} {
		if hasEvent(ev, "Warning", bad) || hasEvent(ev, "Normal", bad) {
			t.Errorf("pod %s: a %s event, though it pulled:\n%s", p.Name, bad, strings.Join(ev, "\n"))
		}
	}
}

// instanceID returns the id of the operator's instance name.
func (e *env) instanceID(t *testing.T, name string) string {
	t.Helper()
	for _, l := range strings.Split(e.must(t, "rolepull", "cr", "instance", "list"), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[1] == name && strings.HasPrefix(f[0], "cri-") {
			return f[0]
		}
	}
	t.Fatalf("no instance %s in rolepull cr instance list", name)
	return ""
}

func TestExamples(t *testing.T) {
	e := start(t)

	t.Run("restricted-role", func(t *testing.T) {
		out := e.setup(t, "restricted-role")
		e.must(t, "rolepull", "apply", "-f", filepath.Join(out, "deployment.yaml"), "--wait", "--timeout", "60s")
		pods := owned(e.pods(t), "test")
		if len(pods) != 2 {
			t.Fatalf("%d pods of test, want 2", len(pods))
		}
		for _, p := range pods {
			if p.Status != "ImagesReady" || !strings.Contains(p.Containers[0].Identity, "role/acr-test") {
				t.Errorf("pod %s: %s as %q", p.Name, p.Status, p.Containers[0].Identity)
			}
			e.pulledEvents(t, p, "test1-registry.cn-hangzhou.cr.aliyuncs.com/eci_test/nginx:1.0")
		}
		msg, err := e.run("rolepull", "apply", "-f", filepath.Join(out, "deployment-other-instance.yaml"), "--wait", "--timeout", "60s")
		if err == nil || !strings.Contains(msg, "failed to pull") {
			t.Errorf("the other instance's pull did not fail: %v\n%s", err, msg)
		}
		bad := owned(e.pods(t), "test-other")
		if len(bad) != 1 || bad[0].Containers[0].FailureKind != "permission" || !strings.Contains(bad[0].Containers[0].Message, "cr:PullRepository") {
			t.Fatalf("test-other: %+v", bad)
		}
		desc := e.must(t, "rolepull", "describe", "pod", bad[0].Name)
		for _, want := range []string{"ErrImagePull", "permission", "acr-test", "fix:"} {
			if !strings.Contains(desc, want) {
				t.Errorf("describe does not mention %q:\n%s", want, desc)
			}
		}
		// The README: refused, a permission failure naming the role, the
		// instance and the fix; then the pull backs off.
		test2 := e.instanceID(t, "test2")
		ev := e.describeEvents(t, "pod", bad[0].Name)
		if !hasEvent(ev, "Warning", "ErrImagePull", "test2-registry.cn-hangzhou.cr.aliyuncs.com/eci_test/nginx:1.0", "permission:", "cr:PullRepository", "role/acr-test", ":instance/"+test2, "fix:") {
			t.Errorf("no ErrImagePull event naming the permission, role, instance %s and fix:\n%s", test2, strings.Join(ev, "\n"))
		}
		if !hasEvent(ev, "Normal", "BackOff") {
			t.Errorf("no BackOff event:\n%s", strings.Join(ev, "\n"))
		}
		if hasEvent(ev, "Normal", "Pulled") || strings.Contains(strings.Join(ev, "\n"), "AliyunServiceRoleForECI") {
			t.Errorf("the refused pod pulled, or the service-linked role stood in:\n%s", strings.Join(ev, "\n"))
		}
	})

	t.Run("custom-domain", func(t *testing.T) {
		out := e.setup(t, "custom-domain")
		e.must(t, "rolepull", "apply", "-f", filepath.Join(out, "deployment.yaml"), "--wait", "--timeout", "60s")
		pods := owned(e.pods(t), "test-cd")
		if len(pods) != 2 {
			t.Fatalf("%d pods of test-cd, want 2", len(pods))
		}
		for _, p := range pods {
			if p.Status != "ImagesReady" || !strings.Contains(p.Containers[0].Identity, "AliyunServiceRoleForECI") {
				t.Errorf("pod %s: %s as %q", p.Name, p.Status, p.Containers[0].Identity)
			}
			e.pulledEvents(t, p, "testcd-registry.example.com/eci_test/nginx:1.0")
		}
		ic := e.cacheReady(t, filepath.Join(out, "imagecache.yaml"), "imagecache-sample")
		if !strings.Contains(ic.Status.Identity, "AliyunServiceRoleForECI") || ic.Status.ExpireDateTime.IsZero() {
			t.Errorf("cache status %+v", ic.Status)
		}
		cacheEvents(t, e, "imagecache-sample", ic.Status.Identity)
	})

	t.Run("cross-account", func(t *testing.T) {
		out := e.setup(t, "cross-account")
		e.must(t, "rolepull", "apply", "-f", filepath.Join(out, "deployment.yaml"), "--wait", "--timeout", "60s")
		pods := owned(e.pods(t), "test-xa")
		if len(pods) != 1 || pods[0].Status != "ImagesReady" || !strings.Contains(pods[0].Containers[0].Identity, "role/role-assume → ") {
			t.Fatalf("test-xa: %+v", pods)
		}
		e.pulledEvents(t, pods[0], "testxa-registry.example.com/eci_test/nginx:1.0")
		ic := e.cacheReady(t, filepath.Join(out, "imagecache.yaml"), "imagecache-sample-xa")
		if !strings.Contains(ic.Status.Identity, "role/role-assume → ") || !strings.Contains(ic.Status.Identity, "role/role-acr") {
			t.Errorf("the cross-account cache was built as %q", ic.Status.Identity)
		}
		// The README: describe imagecache shows whom it was built as.
		if desc := e.must(t, "rolepull", "describe", "imagecache", "imagecache-sample-xa"); !strings.Contains(desc, "Built as:    "+ic.Status.Identity) {
			t.Errorf("describe imagecache does not say it was built as %s:\n%s", ic.Status.Identity, desc)
		}
		cacheEvents(t, e, "imagecache-sample-xa", ic.Status.Identity)
	})
}

// cacheEvents checks the events of a cache built as identity: accepted,
// pulled, then Ready naming the identity, and no failure.
func cacheEvents(t *testing.T, e *env, name, identity string) {
	t.Helper()
	ev := e.describeEvents(t, "imagecache", name)
	for _, want := range [][]string{
		{"Preparing", "image cache " + name + " accepted"},
		{"Creating", "pulling the images of " + name},
		{"Ready", "image cache " + name + " is ready", "built as " + identity},
	} {
		if !hasEvent(ev, "Normal", want[0], want[1:]...) {
			t.Errorf("cache %s: no %s event mentioning %q:\n%s", name, want[0], want[1:], strings.Join(ev, "\n"))
		}
	}
	if hasEvent(ev, "Warning", "Failed") {
		t.Errorf("cache %s: a Failed event:\n%s", name, strings.Join(ev, "\n"))
	}
}
