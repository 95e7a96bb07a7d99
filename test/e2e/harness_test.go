package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/pull"
	"github.com/rolepull/rolepull/internal/ram"
)

const eciTrust = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["eci.aliyuncs.com"]}}]}`

type world struct {
	t    testing.TB
	n    *node.Node
	a    string // the pod account (the operator's)
	data string // the node's data directory
}

func newWorld(t testing.TB) *world { return newWorldWith(t, nil) }

// newWorldWith starts a node whose config tune may adjust.
func newWorldWith(t testing.TB, tune func(*node.Config)) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// Registries that are not ACR are httptest servers on loopback here;
	// TestEgressGuard turns this off.
	cfg := node.Config{DataDir: t.TempDir(), OpenAPIAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", AllowLoopbackRegistries: true}
	if tune != nil {
		tune(&cfg)
	}
	n, err := node.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; n.Close() })
	return &world{t: t, n: n, a: n.Operator.ID, data: cfg.DataDir}
}

func (w *world) account(name string) string {
	w.t.Helper()
	acc, err := w.n.RAM.CreateAccount(w.t.Context(), name)
	if err != nil {
		w.t.Fatal(err)
	}
	return acc.ID
}

// role creates a role trusted by trust, with system or custom policies.
func (w *world) role(account, name, trust string, policies ...string) string {
	w.t.Helper()
	ctx := w.t.Context()
	r, err := w.n.RAM.CreateRole(ctx, account, ram.RoleInput{RoleName: name, AssumeRolePolicyDocument: trust})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, p := range policies {
		typ := ram.Custom
		if _, err := w.n.RAM.GetPolicy(ctx, account, ram.System, p); err == nil {
			typ = ram.System
		}
		if err := w.n.RAM.AttachPolicy(ctx, account, typ, p, ram.ToRole, name); err != nil {
			w.t.Fatal(err)
		}
	}
	return r.ARN()
}

func (w *world) policy(account, name, doc string) {
	w.t.Helper()
	if _, err := w.n.RAM.CreatePolicy(w.t.Context(), account, name, "", doc); err != nil {
		w.t.Fatal(err)
	}
}

// instance creates an instance; open instances admit the host
// (127.0.0.0/16) from the internet.
func (w *world) instance(account, region, name, spec string, open bool) acr.Instance {
	w.t.Helper()
	ctx := w.t.Context()
	inst, err := w.n.ACR.CreateInstance(ctx, account, region, name, spec)
	if err != nil {
		w.t.Fatal(err)
	}
	if open && inst.Enterprise() {
		if _, err := w.n.ACR.AddACL(ctx, account, inst.InstanceID, "127.0.0.0/16", "this host"); err != nil {
			w.t.Fatal(err)
		}
		if inst, err = w.n.ACR.SetInternet(ctx, account, inst.InstanceID, true); err != nil {
			w.t.Fatal(err)
		}
	}
	return inst
}

// user creates a RAM user of the operator's account with policies
// attached (system or custom, by name) and an AccessKey, and returns an
// OpenAPI client signing as it.
func (w *world) user(name string, policies ...string) *openapi.Client {
	w.t.Helper()
	ctx := w.t.Context()
	if _, err := w.n.RAM.CreateUser(ctx, w.a, ram.User{UserName: name}); err != nil {
		w.t.Fatal(err)
	}
	for _, p := range policies {
		typ := ram.Custom
		if _, err := w.n.RAM.GetPolicy(ctx, w.a, ram.System, p); err == nil {
			typ = ram.System
		}
		if err := w.n.RAM.AttachPolicy(ctx, w.a, typ, p, ram.ToUser, name); err != nil {
			w.t.Fatal(err)
		}
	}
	k, secret, err := w.n.RAM.CreateAccessKey(ctx, w.a, name)
	if err != nil {
		w.t.Fatal(err)
	}
	return &openapi.Client{Endpoint: w.n.OpenAPIURL(), AccessKeyID: k.AccessKeyID, AccessKeySecret: secret}
}

// hostTransport dials the registry listener from 127.0.0.1, whatever the
// host: the operator's own client.
func (w *world) hostTransport() http.RoundTripper {
	d := &net.Dialer{Timeout: 5 * time.Second}
	addr := strings.TrimPrefix(w.n.RegistryURL(), "http://")
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	// An idle connection left open holds the registry's graceful shutdown
	// for seconds at the end of the test.
	w.t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// push pushes a random image of small layers to host/repo:tag as the
// instance owner's root.
func (w *world) push(inst acr.Instance, host, repo string, layers int64) v1.Image {
	w.t.Helper()
	return w.pushImage(inst, host, repo, 2048, layers)
}

// pushLayers pushes an image of 8 random layers of the given size.
func pushLayers(w *world, inst acr.Instance, host, repo string, size int64) v1.Image {
	return w.pushImage(inst, host, repo, size, 8)
}

func (w *world) pushImage(inst acr.Instance, host, repo string, size, layers int64) v1.Image {
	w.t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		w.t.Fatal(err)
	}
	tp, err := w.n.ACR.IssueTempPassword(ram.RootIdentity(inst.Account), inst)
	if err != nil {
		w.t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/"+repo, name.Insecure)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: tp.Username, Password: tp.Password}), remote.WithTransport(w.hostTransport()), remote.WithContext(w.t.Context())); err != nil {
		w.t.Fatalf("push %s: %v", ref, err)
	}
	return img
}

// pushTwin pushes, as repo to, the image at from with another config: the
// same layers under a different manifest. It returns the new digest.
func (w *world) pushTwin(inst acr.Instance, host, from, to string) string {
	w.t.Helper()
	tp, err := w.n.ACR.IssueTempPassword(ram.RootIdentity(inst.Account), inst)
	if err != nil {
		w.t.Fatal(err)
	}
	opts := []remote.Option{remote.WithAuth(&authn.Basic{Username: tp.Username, Password: tp.Password}), remote.WithTransport(w.hostTransport()), remote.WithContext(w.t.Context())}
	src, err := name.ParseReference(host+"/"+from, name.Insecure)
	if err != nil {
		w.t.Fatal(err)
	}
	img, err := remote.Image(src, opts...)
	if err != nil {
		w.t.Fatalf("fetch %s: %v", src, err)
	}
	twin, err := mutate.Config(img, v1.Config{Env: []string{"TWIN=" + to}})
	if err != nil {
		w.t.Fatal(err)
	}
	dst, err := name.ParseReference(host+"/"+to, name.Insecure)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Write(dst, twin, opts...); err != nil {
		w.t.Fatalf("push %s: %v", dst, err)
	}
	d, _ := twin.Digest()
	return d.String()
}

// pod creates a one-or-more-container group in the pod account.
type podSpec struct {
	region    string
	vswitch   string
	images    []string
	chains    []pull.Chain
	instances []pull.InstanceRef
	creds     []pull.Credential
}

func (w *world) pod(name string, s podSpec) eci.ContainerGroup {
	w.t.Helper()
	if s.region == "" {
		s.region = "cn-hangzhou"
	}
	var cs []eci.Container
	for i, img := range s.images {
		cs = append(cs, eci.Container{Name: fmt.Sprintf("c%d", i), Image: img})
	}
	g, err := w.n.ECI.Create(w.t.Context(), eci.CreateInput{Account: w.a, Region: s.region, Name: name, VSwitchID: s.vswitch,
		Containers: cs, Chains: s.chains, Instances: s.instances, Credentials: s.creds})
	if err != nil {
		w.t.Fatalf("create %s: %v", name, err)
	}
	return g
}

// settle waits until a group is ImagesReady, Failed, or every unready
// container has failed at least once.
func (w *world) settle(id string) eci.ContainerGroup {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		g, err := w.n.ECI.Get(w.t.Context(), "", id)
		if err != nil {
			w.t.Fatal(err)
		}
		if g.Status != eci.StatusPending {
			return g
		}
		pulling, failed := 0, 0
		for _, c := range g.ContainerStatuses {
			switch {
			case c.FailureKind != "":
				failed++
			case !c.Ready:
				pulling++
			}
		}
		if failed > 0 && pulling == 0 {
			return g
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("group %s did not settle: %+v", id, g)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// events returns a group's events as "Reason: message" lines.
func (w *world) events(id string) string {
	w.t.Helper()
	evs, err := w.n.ECI.Events(w.t.Context(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %s: %s\n", e.Type, e.Reason, e.Message)
	}
	return b.String()
}

// expectReady asserts every container pulled, and returns the group.
func (w *world) expectReady(g eci.ContainerGroup) eci.ContainerGroup {
	w.t.Helper()
	g = w.settle(g.ID)
	if g.Status != eci.StatusImagesReady {
		w.t.Fatalf("group %s is %s, want ImagesReady\ncontainers: %+v\nevents:\n%s", g.Name, g.Status, g.ContainerStatuses, w.events(g.ID))
	}
	return g
}

// expectFailure asserts container i failed with kind, its message
// containing every want.
func (w *world) expectFailure(g eci.ContainerGroup, i int, kind pull.Kind, want ...string) eci.ContainerStatus {
	w.t.Helper()
	g = w.settle(g.ID)
	cs := g.ContainerStatuses[i]
	if cs.Ready || cs.FailureKind != string(kind) {
		w.t.Fatalf("container %s: ready=%v kind=%q, want failure %q\nmessage: %s\nevents:\n%s", cs.Name, cs.Ready, cs.FailureKind, kind, cs.Message, w.events(g.ID))
	}
	for _, s := range want {
		if !strings.Contains(cs.Message, s) {
			w.t.Errorf("container %s message does not contain %q:\n%s", cs.Name, s, cs.Message)
		}
	}
	return cs
}
