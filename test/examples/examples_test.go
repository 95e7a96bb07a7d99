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
	})

	t.Run("custom-domain", func(t *testing.T) {
		out := e.setup(t, "custom-domain")
		e.must(t, "rolepull", "apply", "-f", filepath.Join(out, "deployment.yaml"), "--wait", "--timeout", "60s")
		for _, p := range owned(e.pods(t), "test-cd") {
			if p.Status != "ImagesReady" || !strings.Contains(p.Containers[0].Identity, "AliyunServiceRoleForECI") {
				t.Errorf("pod %s: %s as %q", p.Name, p.Status, p.Containers[0].Identity)
			}
		}
		ic := e.cacheReady(t, filepath.Join(out, "imagecache.yaml"), "imagecache-sample")
		if !strings.Contains(ic.Status.Identity, "AliyunServiceRoleForECI") || ic.Status.ExpireDateTime.IsZero() {
			t.Errorf("cache status %+v", ic.Status)
		}
	})

	t.Run("cross-account", func(t *testing.T) {
		out := e.setup(t, "cross-account")
		e.must(t, "rolepull", "apply", "-f", filepath.Join(out, "deployment.yaml"), "--wait", "--timeout", "60s")
		pods := owned(e.pods(t), "test-xa")
		if len(pods) != 1 || pods[0].Status != "ImagesReady" || !strings.Contains(pods[0].Containers[0].Identity, "role/role-assume → ") {
			t.Fatalf("test-xa: %+v", pods)
		}
		ic := e.cacheReady(t, filepath.Join(out, "imagecache.yaml"), "imagecache-sample-xa")
		if !strings.Contains(ic.Status.Identity, "role/role-acr") {
			t.Errorf("the cross-account cache was built as %q", ic.Status.Identity)
		}
	})
}
