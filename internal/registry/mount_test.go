package registry_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/ram"
)

// A cross-repository mount (reliability.md §3.5 item 52) needs pull on
// the source: an identity that may push to team/dst but not read team/src
// cannot mount team/src's blob into team/dst — the token leaves the source
// scope out, the POST is refused, and nothing appears in team/dst. With
// pull on the source the same mount succeeds (201), so the refusal is the
// decision, not a broken mount.
func TestCrossRepositoryMountNeedsPullOnSource(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	inst := e.openInstance(t, "mount")
	host := inst.PublicHost(acr.DefaultBase)
	admin := e.role(t, "admin", "AliyunContainerRegistryFullAccess")
	onlyA := `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:List*","cr:Pull*","cr:Push*"],"Resource":"acs:cr:*:*:repository/` + inst.InstanceID + `/team/dst"}]}`
	if _, err := e.ram.CreatePolicy(ctx, e.a.ID, "only-a", "", onlyA); err != nil {
		t.Fatal(err)
	}
	pusherA := e.role(t, "pusher-a", "only-a")

	tr := e.transport("127.0.0.1")
	img, _ := random.Image(2048, 1)
	refB, _ := name.ParseReference(host+"/team/src:1", name.Insecure)
	if err := remote.Write(refB, img, remote.WithAuth(e.password(t, admin, inst)), remote.WithTransport(tr), remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()

	mount := func(who string, id ram.Identity) int {
		t.Helper()
		reg, _ := name.NewRegistry(host, name.Insecure)
		a := e.password(t, id, inst)
		rt, err := transport.NewWithContext(ctx, reg, a, tr, []string{"repository:team/dst:pull,push", "repository:team/src:pull"})
		if err != nil {
			t.Fatalf("%s: token: %v", who, err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+host+"/v2/team/dst/blobs/uploads/?mount="+d.String()+"&from=team/src", nil)
		resp, err := (&http.Client{Transport: rt}).Do(req)
		if err != nil {
			t.Fatalf("%s: mount: %v", who, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
			t.Errorf("%s: 401 without insufficient_scope: %q", who, resp.Header.Get("WWW-Authenticate"))
		}
		return resp.StatusCode
	}
	head := func() int {
		reg, _ := name.NewRegistry(host, name.Insecure)
		rt, err := transport.NewWithContext(ctx, reg, e.password(t, admin, inst), tr, []string{"repository:team/dst:pull"})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+host+"/v2/team/dst/blobs/"+d.String(), nil)
		resp, err := (&http.Client{Transport: rt}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if code := mount("pusher-a", pusherA); code != http.StatusUnauthorized {
		t.Errorf("mount from team/src without pull on it: %d, want 401", code)
	}
	if code := head(); code != http.StatusNotFound {
		t.Fatalf("after the refused mount, team/dst has the blob (HEAD %d)", code)
	}
	if code := mount("admin", admin); code != http.StatusCreated {
		t.Errorf("mount with pull on team/src: %d, want 201", code)
	}
	if code := head(); code != http.StatusOK {
		t.Errorf("after the mount, HEAD in team/dst = %d, want 200", code)
	}
}
