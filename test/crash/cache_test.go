// Package crash kills a real rolepull with SIGKILL while it builds an image
// cache, restarts it on the same data directory, and checks what survived:
// no cache is Ready without every blob, and every blob re-hashes to its
// digest.
package crash

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"

	eciv1 "github.com/rolepull/rolepull/api/eci/v1"
	"github.com/rolepull/rolepull/internal/content"
	"github.com/rolepull/rolepull/internal/leakcheck"
	"github.com/rolepull/rolepull/internal/store/bolt"
)

type server struct {
	cmd     *exec.Cmd
	profile string
	stderr  *bytes.Buffer
}

func up(t *testing.T, bin, data string) *server {
	t.Helper()
	os.Remove(filepath.Join(data, "admin-profile.json"))
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "up", "--data-dir", data, "--openapi-addr", "127.0.0.1:0", "--registry-addr", "127.0.0.1:0", "--log-level", "warn")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, profile: filepath.Join(data, "admin-profile.json"), stderr: &stderr}
	for i := 0; ; i++ {
		if b, err := os.ReadFile(s.profile); err == nil && bytes.Contains(b, []byte("registryEndpoint")) {
			return s
		}
		if i > 400 {
			cmd.Process.Kill()
			t.Fatalf("rolepull up did not start:\n%s", stderr.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

func run(t *testing.T, bin, profile string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append(args, "--profile", profile)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rolepull %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func caches(t *testing.T, bin, profile string) map[string]eciv1.ImageCache {
	var ics []eciv1.ImageCache
	if err := json.Unmarshal([]byte(run(t, bin, profile, "get", "imagecaches", "-o", "json")), &ics); err != nil {
		t.Fatal(err)
	}
	m := map[string]eciv1.ImageCache{}
	for _, ic := range ics {
		m[ic.Name] = ic
	}
	return m
}

// TestKillDuringCacheCreation kills rolepull with SIGKILL at a random
// moment of an image cache's build (ROLEPULL_CRASH_POINTS times; 4 by
// default), restarts it, waits for the cache to resume to Ready or fail,
// and checks the store offline. Rounds whose cache was still building
// after the restart prove the kill landed mid-build; with 50 or more
// points there must be some.
func TestKillDuringCacheCreation(t *testing.T) {
	leakcheck.Start(t)
	points := crashPoints(t, 4)
	if testing.Short() {
		points = 2
	}
	bin := filepath.Join(t.TempDir(), "rolepull")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/rolepull").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()
	s := up(t, bin, data)
	defer func() { s.kill() }()

	// An open instance with an image of 8 × 2 MiB layers per round.
	id := strings.Fields(run(t, bin, s.profile, "cr", "instance", "create", "crash", "--type", "Standard"))[0]
	run(t, bin, s.profile, "cr", "internet", "enable", id)
	run(t, bin, s.profile, "cr", "acl", "add", id, "127.0.0.0/16")
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	midBuild := 0 // rounds whose cache was not done when the kill landed
	for i := 0; i < points; i++ {
		name := fmt.Sprintf("cache-%d", i)
		// A new image each round, so the kill lands while its blobs are
		// being fetched.
		image := fmt.Sprintf("crash-registry.cn-hangzhou.cr.aliyuncs.com/ns/big:%d", i)
		pushRandom(t, bin, s.profile, image)
		manifest := filepath.Join(t.TempDir(), "ic.yaml")
		os.WriteFile(manifest, []byte("apiVersion: eci.alibabacloud.com/v1\nkind: ImageCache\nmetadata:\n  name: "+name+"\nspec:\n  images:\n  - "+image+"\n"), 0o600)
		run(t, bin, s.profile, "apply", "-f", manifest)
		time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
		s.kill()
		s = up(t, bin, data)
		deadline := time.Now().Add(60 * time.Second)
		for first := true; ; first = false {
			ic := caches(t, bin, s.profile)[name]
			if first && ic.Status.Phase != "Ready" && ic.Status.Phase != "Failed" {
				midBuild++
			}
			if ic.Status.Phase == "Ready" || ic.Status.Phase == "Failed" {
				t.Logf("round %d: after the kill the cache resumed to %s", i, ic.Status.Phase)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: cache stuck in %s:\n%s", i, ic.Status.Phase, s.stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Stop it and check the store offline: every blob re-hashes, and
		// every blob a Ready cache pins is present.
		s.kill()
		verify(t, data)
		s = up(t, bin, data)
		run(t, bin, s.profile, "delete", "imagecache", name)
	}
	t.Logf("%d kill points; the cache was still building after %d of them", points, midBuild)
	// With CI's 100 points, none landing mid-build would be chance of
	// about 0.3^100; with a handful it may happen, and is only logged.
	if midBuild == 0 && points >= 50 {
		t.Errorf("no kill of %d landed while a cache was building: the test proved nothing (make the image larger)", points)
	}
}

func verify(t *testing.T, data string) {
	t.Helper()
	meta, err := bolt.Open(filepath.Join(data, "meta.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	cs, err := content.Open(filepath.Join(data, "content"), meta, content.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	bad, err := cs.Verify(context.Background(), false)
	if err != nil || len(bad) > 0 {
		t.Fatalf("Verify: %v, corrupt blobs %v", err, bad)
	}
	kvs, _, err := meta.List(context.Background(), content.PinPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		owner := strings.TrimPrefix(kv.Key, content.PinPrefix)
		if !strings.HasPrefix(owner, "imc-") {
			continue
		}
		var c struct{ Phase string }
		ckv, err := meta.Get(context.Background(), "eci/imc/"+owner)
		if err != nil || json.Unmarshal(ckv.Value, &c) != nil || c.Phase != "Ready" {
			continue
		}
		pins, err := cs.Pins(context.Background(), owner)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range pins {
			if ok, _ := cs.Has(context.Background(), d); !ok {
				t.Errorf("Ready cache %s pins %s, which is not stored", owner, d)
			}
		}
	}
}

// pushRandom pushes an image of 8 incompressible 2 MiB layers.
func pushRandom(t *testing.T, bin, profile, image string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	writeRandomLayout(t, dir, 2<<20, 8)
	run(t, bin, profile, "cr", "push", dir, image)
}

// writeRandomLayout writes an image of n incompressible layers of size
// bytes as an OCI layout in dir.
func writeRandomLayout(t *testing.T, dir string, size, n int64) {
	t.Helper()
	img, err := random.Image(size, n)
	if err != nil {
		t.Fatal(err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
}
