package registry_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/registry"
	"github.com/rolepull/rolepull/internal/store/bolt"
	"github.com/rolepull/rolepull/internal/sts"
)

type env struct {
	ram  *ram.Service
	sts  *sts.Service
	net  *netmodel.Service
	acr  *acr.Service
	reg  *registry.Server
	addr string // the registry listener
	a    ram.Account
}

func newEnv(t testing.TB) *env { return newEnvClock(t, nil) }

// newEnvClock is newEnv with the registry and Container Registry on clk
// (nil: the real clock).
func newEnvClock(t testing.TB, clk clock.Clock) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "m.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, _ := keyring.Generate()
	r, err := ram.New(st, keys, ram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ram: r, sts: sts.New(r, keys, sts.Options{}), net: netmodel.New(st, nil)}
	e.acr = acr.New(st, r, e.net, keys, acr.Options{Clock: clk})
	if e.reg, err = registry.New(e.acr, e.net, e.sts, r, keys, registry.Options{Root: filepath.Join(dir, "registry"), Clock: clk}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e.reg}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); e.reg.Close() })
	e.addr = ln.Addr().String()
	if e.a, err = r.CreateAccount(t.Context(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	return e
}

// transport dials every host at the registry listener from source address
// src, as a workload at that address would.
func (e *env) transport(src string) http.RoundTripper {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, e.addr)
	}}
}

func (e *env) role(t testing.TB, name string, policies ...string) ram.Identity {
	t.Helper()
	trust := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["eci.aliyuncs.com"]}}]}`
	r, err := e.ram.CreateRole(t.Context(), e.a.ID, ram.RoleInput{RoleName: name, AssumeRolePolicyDocument: trust})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range policies {
		typ := ram.System
		if !strings.HasPrefix(p, "Aliyun") {
			typ = ram.Custom
		}
		if err := e.ram.AttachPolicy(t.Context(), e.a.ID, typ, p, ram.ToRole, name); err != nil {
			t.Fatal(err)
		}
	}
	return ram.Identity{Kind: ram.KindRoleSession, Account: e.a.ID, RoleName: r.RoleName, RoleID: r.RoleID, SessionName: "t", Expiration: time.Now().Add(time.Hour)}
}

func (e *env) openInstance(t testing.TB, name string) acr.Instance {
	t.Helper()
	ctx := t.Context()
	inst, err := e.acr.CreateInstance(ctx, e.a.ID, "cn-hangzhou", name, acr.SpecEnterpriseStandard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.acr.AddACL(ctx, e.a.ID, inst.InstanceID, "127.0.0.0/16", "this host"); err != nil {
		t.Fatal(err)
	}
	if inst, err = e.acr.SetInternet(ctx, e.a.ID, inst.InstanceID, true); err != nil {
		t.Fatal(err)
	}
	return inst
}

func (e *env) password(t testing.TB, id ram.Identity, inst acr.Instance) authn.Authenticator {
	t.Helper()
	tp, err := e.acr.IssueTempPassword(id, inst)
	if err != nil {
		t.Fatal(err)
	}
	return &authn.Basic{Username: tp.Username, Password: tp.Password}
}

func TestPushPullDecidedByRAM(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.openInstance(t, "insta")
	b := e.openInstance(t, "instb")
	admin := e.role(t, "admin", "AliyunContainerRegistryFullAccess")
	pullA := `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:List*"],"Resource":"*"},{"Effect":"Allow","Action":["cr:Pull*"],"Resource":"acs:cr:*:*:instance/` + a.InstanceID + `"}]}`
	if _, err := e.ram.CreatePolicy(ctx, e.a.ID, "pull-a", "", pullA); err != nil {
		t.Fatal(err)
	}
	restricted := e.role(t, "restricted", "pull-a")

	img, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	tr := e.transport("127.0.0.1")
	for _, inst := range []acr.Instance{a, b} {
		ref, _ := name.ParseReference(inst.PublicHost(acr.DefaultBase)+"/eci_test/nginx:1.0", name.Insecure)
		if err := remote.Write(ref, img, remote.WithAuth(e.password(t, admin, inst)), remote.WithTransport(tr), remote.WithContext(ctx)); err != nil {
			t.Fatalf("push to %s: %v", inst.InstanceName, err)
		}
	}
	if _, err := e.acr.GetRepository(ctx, a.InstanceID, "eci_test", "nginx"); err != nil {
		t.Errorf("the push did not create the repository: %v", err)
	}

	pull := func(inst acr.Instance, id ram.Identity) error {
		ref, _ := name.ParseReference(inst.PublicHost(acr.DefaultBase)+"/eci_test/nginx:1.0", name.Insecure)
		got, err := remote.Image(ref, remote.WithAuth(e.password(t, id, inst)), remote.WithTransport(tr), remote.WithContext(ctx))
		if err != nil {
			return err
		}
		want, _ := img.Digest()
		if d, _ := got.Digest(); d != want {
			t.Fatalf("pulled %s, want %s", d, want)
		}
		_, err = got.Layers()
		return err
	}
	if err := pull(a, restricted); err != nil {
		t.Errorf("restricted role pulling from instance A: %v", err)
	}
	err = pull(b, restricted)
	if err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") || !strings.Contains(err.Error(), "restricted") {
		t.Errorf("restricted role pulling from instance B = %v, want UNAUTHORIZED naming the role", err)
	}
	ref, _ := name.ParseReference(a.PublicHost(acr.DefaultBase)+"/eci_test/nginx:2.0", name.Insecure)
	// Refused at the token endpoint, each for its own reason: the push
	// scope is not granted, the password is not B's, the policy is gone.
	err = remote.Write(ref, img, remote.WithAuth(e.password(t, restricted, a)), remote.WithTransport(tr))
	if !isUnauthorized(err, "cr:PushRepository") {
		t.Errorf("restricted role pushing to instance A = %v, want UNAUTHORIZED naming cr:PushRepository", err)
	}
	// A password for A is no password for B.
	refB, _ := name.ParseReference(b.PublicHost(acr.DefaultBase)+"/eci_test/nginx:1.0", name.Insecure)
	_, err = remote.Image(refB, remote.WithAuth(e.password(t, admin, a)), remote.WithTransport(tr))
	if !isUnauthorized(err, "issued for another instance") {
		t.Errorf("a temporary password of instance A pulling from instance B = %v, want UNAUTHORIZED saying it is another instance's", err)
	}
	// Revocation: the next token request is denied.
	if err := e.ram.DetachPolicy(ctx, e.a.ID, ram.Custom, "pull-a", ram.ToRole, "restricted"); err != nil {
		t.Fatal(err)
	}
	if err := pull(a, restricted); !isUnauthorized(err, "cr:PullRepository") {
		t.Errorf("pull after the policy was detached = %v, want UNAUTHORIZED naming cr:PullRepository", err)
	}
}

// isUnauthorized reports whether err is the registry's 401 and its text
// holds why.
func isUnauthorized(err error, why string) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusUnauthorized && strings.Contains(err.Error(), why)
}

func TestNetworkACL(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	inst, err := e.acr.CreateInstance(ctx, e.a.ID, "cn-hangzhou", "closed", acr.SpecEnterpriseBasic)
	if err != nil {
		t.Fatal(err)
	}
	admin := e.role(t, "admin", "AliyunContainerRegistryFullAccess")
	vpc, _ := e.net.CreateVPC(ctx, e.a.ID, "cn-hangzhou", "v")
	vsw, _ := e.net.CreateVSwitch(ctx, e.a.ID, vpc.VpcID, "", "")
	other, _ := e.net.CreateVPC(ctx, e.a.ID, "cn-hangzhou", "w")
	osw, _ := e.net.CreateVSwitch(ctx, e.a.ID, other.VpcID, "", "")
	inVPC := netmodel.WorkloadAddr(vpc.Number, vsw.Number, 10).String()
	inOther := netmodel.WorkloadAddr(other.Number, osw.Number, 10).String()

	// ping reports nil when the registry answers at all (here: the
	// manifest does not exist), and the transport error otherwise.
	ping := func(host, src string) error {
		ref, _ := name.ParseReference(host+"/ns/missing:v1", name.Insecure)
		_, err := remote.Head(ref, remote.WithAuth(e.password(t, admin, inst)), remote.WithTransport(e.transport(src)),
			remote.WithContext(ctx), remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return nil
		}
		return err
	}
	isNetwork := func(err error) bool {
		return err != nil && (errors.Is(err, syscall.ECONNRESET) || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection reset"))
	}
	public, private := inst.PublicHost(acr.DefaultBase), inst.VPCHost(acr.DefaultBase)
	if err := ping(public, "127.0.0.1"); !isNetwork(err) {
		t.Errorf("a new Enterprise instance from the internet = %v, want a network error", err)
	}
	if err := ping(private, inVPC); !isNetwork(err) {
		t.Errorf("an unbound VPC = %v, want a network error", err)
	}
	if _, err := e.acr.LinkVPC(ctx, e.a.ID, inst.InstanceID, vpc.VpcID, vsw.VSwitchID); err != nil {
		t.Fatal(err)
	}
	if err := ping(private, inVPC); err != nil {
		t.Errorf("the bound VPC: %v", err)
	}
	if err := ping(private, inOther); !isNetwork(err) {
		t.Errorf("another VPC = %v, want a network error", err)
	}
	if err := ping(private, "127.0.0.1"); !isNetwork(err) {
		t.Errorf("the internet on the -vpc domain = %v, want a network error", err)
	}
	if _, err := e.acr.SetInternet(ctx, e.a.ID, inst.InstanceID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.acr.AddACL(ctx, e.a.ID, inst.InstanceID, "127.0.0.2", ""); err != nil {
		t.Fatal(err)
	}
	if err := ping(public, "127.0.0.2"); err != nil {
		t.Errorf("a listed source: %v", err)
	}
	if err := ping(public, "127.0.0.3"); !isNetwork(err) {
		t.Errorf("an unlisted source = %v, want a network error", err)
	}
}

func TestListTags(t *testing.T) {
	e := newEnv(t)
	inst := e.openInstance(t, "tags")
	admin := e.role(t, "admin", "AliyunContainerRegistryFullAccess")
	img, _ := random.Image(512, 1)
	ref, _ := name.ParseReference(inst.PublicHost(acr.DefaultBase)+"/ns/app:v1", name.Insecure)
	if err := remote.Write(ref, img, remote.WithAuth(e.password(t, admin, inst)), remote.WithTransport(e.transport("127.0.0.1"))); err != nil {
		t.Fatal(err)
	}
	tags, err := e.reg.ListTags(t.Context(), inst.InstanceID, "ns", "app")
	if err != nil || len(tags) != 1 {
		t.Fatalf("ListTags = %+v, %v", tags, err)
	}
	d, _ := img.Digest()
	if tags[0].Tag != "v1" || tags[0].Digest != d.String() || tags[0].ImageSize <= 0 || time.Since(tags[0].ImageUpdate) > time.Minute {
		t.Errorf("tag %+v", tags[0])
	}
}
