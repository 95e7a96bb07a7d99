package crash

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/rolepull/rolepull/internal/leakcheck"
	"github.com/rolepull/rolepull/internal/profile"
)

// crashPoints reads ROLEPULL_CRASH_POINTS (CI sets 100), or returns def.
func crashPoints(t *testing.T, def int) int {
	v := os.Getenv("ROLEPULL_CRASH_POINTS")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("ROLEPULL_CRASH_POINTS=%q: want a positive integer", v)
	}
	return n
}

// TestKillDuringPush kills rolepull with SIGKILL at a random moment of a
// `cr push` (ROLEPULL_CRASH_POINTS times; 10 by default), restarts it on the
// same data directory, and checks what is visible: every blob file in the
// registry's storage re-hashes to the digest it is stored under, and every
// tag the registry lists is a whole image — its manifest, config and every
// layer fetched and verified byte by byte.
func TestKillDuringPush(t *testing.T) {
	leakcheck.Start(t)
	points := crashPoints(t, 10)
	if testing.Short() {
		points = 3
	}
	bin := filepath.Join(t.TempDir(), "rolepull")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/rolepull").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()
	s := up(t, bin, data)
	defer func() { s.kill() }()
	id := strings.Fields(run(t, bin, s.profile, "cr", "instance", "create", "crash", "--type", "Standard"))[0]
	run(t, bin, s.profile, "cr", "internet", "enable", id)
	run(t, bin, s.profile, "cr", "acl", "add", id, "127.0.0.0/16")
	run(t, bin, s.profile, "cr", "namespace", "create", id, "ns", "--auto-create-repo")
	const repo = "crash-registry.cn-hangzhou.cr.aliyuncs.com/ns/app"

	// Layouts to push, written before the loop so each round's time is
	// the push's.
	layouts := make([]string, points)
	for i := range layouts {
		layouts[i] = writeLayout(t, 256<<10, 4)
	}
	rng := rand.New(rand.NewPCG(11, uint64(time.Now().UnixNano())))
	midPush := 0                 // pushes the kill cut short
	hashed := map[string]bool{}  // blob files already re-hashed
	checked := map[string]bool{} // tags already fetched whole
	for i := range points {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		push := exec.CommandContext(ctx, bin, "cr", "push", layouts[i], fmt.Sprintf("%s:%d", repo, i), "--profile", s.profile)
		if err := push.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		s.kill()
		if push.Wait() != nil { // it fails when the kill landed mid-push; that is the point
			midPush++
		}
		cancel()
		checkRegistryBlobs(t, data, hashed)
		s = up(t, bin, data)
		checkTags(t, bin, s, id, checked)
	}
	t.Logf("%d kill points; %d pushes cut short, %d tags whole; %d blob files re-hashed", points, midPush, len(checked), len(hashed))
	// With CI's 100 points, none landing mid-push would be chance of
	// about 0.7^100; with the default 10 it may happen, and is only logged.
	if midPush == 0 && points >= 50 {
		t.Errorf("no kill of %d landed during a push: the test proved nothing", points)
	}
	// A final pass checks everything again, not only what each round added.
	s.kill()
	checkRegistryBlobs(t, data, map[string]bool{})
	s = up(t, bin, data)
	checkTags(t, bin, s, id, map[string]bool{})
}

// writeLayout writes a random image of n incompressible layers as an OCI
// layout and returns its directory.
func writeLayout(t *testing.T, size, n int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	writeRandomLayout(t, dir, size, n)
	return dir
}

// checkRegistryBlobs re-hashes every blob file in the registry's storage
// not in hashed, and adds it.
func checkRegistryBlobs(t *testing.T, data string, hashed map[string]bool) {
	t.Helper()
	root := filepath.Join(data, "registry")
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return // no push has written a blob yet: the registry makes its storage lazily
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "data" || hashed[path] {
			return err
		}
		// …/docker/registry/v2/blobs/sha256/ab/abcdef…/data
		dir := filepath.Dir(path)
		alg := filepath.Base(filepath.Dir(filepath.Dir(dir)))
		if alg != "sha256" || !strings.Contains(path, string(filepath.Separator)+"blobs"+string(filepath.Separator)) {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != filepath.Base(dir) {
			t.Errorf("blob file %s hashes to sha256:%s", path, got)
		}
		hashed[path] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkTags fetches every tag the registry lists and checked does not
// hold, verifying every byte of every blob against its digest, and adds it.
func checkTags(t *testing.T, bin string, s *server, id string, checked map[string]bool) {
	t.Helper()
	out, err := exec.Command(bin, "cr", "tags", id, "ns/app", "--profile", s.profile).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "REPO_NOT_EXIST") {
			return // no push has created the repository yet
		}
		t.Fatalf("cr tags: %v\n%s", err, out)
	}
	var tags []string
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); i > 0 && len(f) > 0 { // under the TAG DIGEST … header
			tags = append(tags, f[0])
		}
	}
	var pw struct{ Username, Password string }
	if err := json.Unmarshal([]byte(run(t, bin, s.profile, "cr", "login-password", id)), &pw); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Load(s.profile)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(p.RegistryEndpoint, "http://")
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	auth := authn.FromConfig(authn.AuthConfig{Username: pw.Username, Password: pw.Password})
	for _, tag := range tags {
		if checked[tag] {
			continue
		}
		checked[tag] = true
		ref, err := name.ParseReference("crash-registry.cn-hangzhou.cr.aliyuncs.com/ns/app:"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref, remote.WithTransport(tr), remote.WithAuth(auth), remote.WithContext(t.Context()))
		if err != nil {
			t.Errorf("tag %s is listed but its image cannot be fetched: %v", tag, err)
			continue
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("tag %s is listed but its image is not whole: %v", tag, err)
		}
	}
}
