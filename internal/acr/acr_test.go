package acr_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/store/bolt"
)

type fixture struct {
	acr   *acr.Service
	ram   *ram.Service
	net   *netmodel.Service
	clock *clock.Fake
	a, b  ram.Account
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, _ := keyring.Generate()
	clk := clock.NewFake(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	r, err := ram.New(st, keys, ram.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	n := netmodel.New(st, clk)
	f := &fixture{acr: acr.New(st, r, n, keys, acr.Options{Clock: clk}), ram: r, net: n, clock: clk}
	if f.a, err = r.CreateAccount(t.Context(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	if f.b, err = r.CreateAccount(t.Context(), "acct-b"); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestInstancesAndHosts(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	ee, err := f.acr.CreateInstance(ctx, f.a.ID, "cn-hangzhou", "test1", acr.SpecEnterpriseStandard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ee.InstanceID, "cri-") || len(ee.InstanceID) != 20 {
		t.Errorf("instance id %q: want cri- and 16 characters", ee.InstanceID)
	}
	if ee.Internet.Enabled || len(ee.VPCs) != 0 {
		t.Errorf("a new Enterprise instance is open: %+v", ee.Internet)
	}
	if ee.Admits(netip.MustParseAddr("127.0.0.1")) {
		t.Error("a new Enterprise instance admits the internet")
	}
	p, err := f.acr.CreateInstance(ctx, f.a.ID, "cn-hangzhou", "", acr.SpecPersonal)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Admits(netip.MustParseAddr("127.0.0.1")) {
		t.Error("a Personal instance is not public")
	}
	if _, err := f.acr.CreateInstance(ctx, f.a.ID, "cn-hangzhou", "", acr.SpecPersonal); !errors.Is(err, acr.ErrExists) {
		t.Errorf("second Personal instance in a region = %v, want ErrExists", err)
	}
	if _, err := f.acr.CreateInstance(ctx, f.b.ID, "cn-hangzhou", "test1", acr.SpecEnterpriseBasic); !errors.Is(err, acr.ErrExists) {
		t.Errorf("a duplicate instance name in a region = %v, want ErrExists", err)
	}
	if _, err := f.acr.CreateInstance(ctx, f.a.ID, "cn-hangzhou", "-bad", acr.SpecEnterpriseBasic); !errors.Is(err, acr.ErrInvalid) {
		t.Errorf("a bad name = %v, want ErrInvalid", err)
	}
	if _, err := f.acr.AddDomain(ctx, f.a.ID, ee.InstanceID, "Test1-Registry.Example.com"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		host    string
		inst    string
		network acr.Network
		domain  acr.DomainType
		legacy  bool
	}{
		{"test1-registry.cn-hangzhou.cr.aliyuncs.com", ee.InstanceID, acr.Internet, acr.SystemDomain, false},
		{"TEST1-registry-vpc.cn-hangzhou.cr.aliyuncs.com:443", ee.InstanceID, acr.VPC, acr.SystemDomain, false},
		{"test1-registry.example.com.", ee.InstanceID, acr.Internet, acr.UserDomain, false},
		{p.InstanceID + ".cn-hangzhou.personal.cr.aliyuncs.com", p.InstanceID, acr.Internet, acr.SystemDomain, false},
		{p.InstanceID + "-vpc.cn-hangzhou.personal.cr.aliyuncs.com", p.InstanceID, acr.VPC, acr.SystemDomain, false},
		{"registry.cn-hangzhou.aliyuncs.com", "", acr.Internet, acr.SystemDomain, true},
		{"registry-vpc.cn-beijing.aliyuncs.com", "", acr.VPC, acr.SystemDomain, true},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, err := f.acr.ResolveHost(ctx, tt.host)
			if err != nil {
				t.Fatalf("ResolveHost: %v", err)
			}
			if got.Instance.InstanceID != tt.inst || got.Network != tt.network || got.Domain != tt.domain || got.Legacy != tt.legacy {
				t.Errorf("ResolveHost(%q) = %s %s %s legacy=%v", tt.host, got.Instance.InstanceID, got.Network, got.Domain, got.Legacy)
			}
		})
	}
	for _, host := range []string{
		"test1-registry.cn-hangzhou.cr.aliyuncs.com.attacker.example",
		"evil.aliyuncs.com",
		"xtest1-registry.cn-hangzhou.cr.aliyuncs.com",
		"test2-registry.cn-hangzhou.cr.aliyuncs.com",
		"registry.cn-hangzhou.aliyuncs.com.evil",
		"docker.io",
		"",
	} {
		if _, err := f.acr.ResolveHost(ctx, host); !errors.Is(err, acr.ErrNotACR) {
			t.Errorf("ResolveHost(%q) = %v, want ErrNotACR", host, err)
		}
	}
}

func TestNetworkAccess(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	ee, err := f.acr.CreateInstance(ctx, f.a.ID, "cn-hangzhou", "test1", acr.SpecEnterpriseBasic)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.acr.AddACL(ctx, f.a.ID, ee.InstanceID, "127.0.0.1/24", ""); !errors.Is(err, acr.ErrInvalid) {
		t.Errorf("a CIDR with host bits = %v, want ErrInvalid", err)
	}
	ee, err = f.acr.AddACL(ctx, f.a.ID, ee.InstanceID, "127.0.0.1", "this host")
	if err != nil {
		t.Fatal(err)
	}
	if ee.Admits(netip.MustParseAddr("127.0.0.1")) {
		t.Error("the allow-list admits while internet access is off")
	}
	if ee, err = f.acr.SetInternet(ctx, f.a.ID, ee.InstanceID, true); err != nil {
		t.Fatal(err)
	}
	if !ee.Admits(netip.MustParseAddr("127.0.0.1")) || ee.Admits(netip.MustParseAddr("127.0.0.2")) {
		t.Errorf("allow-list %+v", ee.Internet)
	}
	vpc, err := f.net.CreateVPC(ctx, f.a.ID, "cn-hangzhou", "v")
	if err != nil {
		t.Fatal(err)
	}
	vsw, err := f.net.CreateVSwitch(ctx, f.a.ID, vpc.VpcID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// Bindings that are refused create no role.
	personal, err := f.acr.CreateInstance(ctx, f.a.ID, "cn-hangzhou", "mine", acr.SpecPersonal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.acr.LinkVPC(ctx, f.a.ID, personal.InstanceID, vpc.VpcID, vsw.VSwitchID); !errors.Is(err, acr.ErrInvalid) {
		t.Errorf("binding a VPC to a Personal instance = %v, want ErrInvalid", err)
	}
	far, _ := f.net.CreateVPC(ctx, f.a.ID, "cn-beijing", "far")
	farsw, _ := f.net.CreateVSwitch(ctx, f.a.ID, far.VpcID, "", "")
	if _, err := f.acr.LinkVPC(ctx, f.a.ID, ee.InstanceID, far.VpcID, farsw.VSwitchID); !errors.Is(err, acr.ErrInvalid) {
		t.Errorf("binding a VPC of another region = %v, want ErrInvalid", err)
	}
	if _, err := f.ram.GetRole(ctx, f.a.ID, ram.PrivateZoneServiceLinkedRole.RoleName); !errors.Is(err, ram.ErrNotFound) {
		t.Fatalf("the PrivateZone role exists before any VPC binding: %v", err)
	}
	if ee, err = f.acr.LinkVPC(ctx, f.a.ID, ee.InstanceID, vpc.VpcID, vsw.VSwitchID); err != nil {
		t.Fatal(err)
	}
	if !ee.LinkedTo(vpc.VpcID) {
		t.Error("VPC not linked")
	}
	if _, err := f.ram.GetRole(ctx, f.a.ID, ram.PrivateZoneServiceLinkedRole.RoleName); err != nil {
		t.Errorf("the first VPC binding did not create the PrivateZone role: %v", err)
	}
	other, _ := f.net.CreateVPC(ctx, f.a.ID, "cn-hangzhou", "w")
	osw, _ := f.net.CreateVSwitch(ctx, f.a.ID, other.VpcID, "", "")
	if _, err := f.acr.LinkVPC(ctx, f.a.ID, ee.InstanceID, other.VpcID, osw.VSwitchID); !errors.Is(err, acr.ErrLimit) {
		t.Errorf("a second VPC on a Basic instance = %v, want ErrLimit", err)
	}
	bvpc, _ := f.net.CreateVPC(ctx, f.b.ID, "cn-hangzhou", "b")
	bsw, _ := f.net.CreateVSwitch(ctx, f.b.ID, bvpc.VpcID, "", "")
	if _, err := f.acr.LinkVPC(ctx, f.a.ID, ee.InstanceID, bvpc.VpcID, bsw.VSwitchID); !errors.Is(err, netmodel.ErrNotFound) {
		t.Errorf("binding another account's VPC = %v, want not found", err)
	}
	if _, err := f.acr.SetInternet(ctx, f.b.ID, ee.InstanceID, true); !errors.Is(err, acr.ErrNotFound) {
		t.Errorf("another account changing the instance = %v, want ErrNotFound", err)
	}
}

func TestRepositories(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	ee, _ := f.acr.CreateInstance(ctx, f.a.ID, "cn-hangzhou", "test1", acr.SpecEnterpriseBasic)
	r, err := f.acr.EnsureRepository(ctx, ee, "eci_test", "nginx")
	if err != nil {
		t.Fatal(err)
	}
	if r.RepoType != acr.RepoPrivate || r.Path() != "eci_test/nginx" {
		t.Errorf("auto-created repository %+v", r)
	}
	again, err := f.acr.EnsureRepository(ctx, ee, "eci_test", "nginx")
	if err != nil || again.RepoID != r.RepoID {
		t.Errorf("EnsureRepository twice = %+v, %v", again, err)
	}
	if _, err := f.acr.CreateNamespace(ctx, f.a.ID, ee.InstanceID, "closed", false, acr.RepoPublic); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acr.EnsureRepository(ctx, ee, "closed", "app"); !errors.Is(err, acr.ErrNotFound) {
		t.Errorf("push into a namespace without auto-create = %v, want ErrNotFound", err)
	}
	pub, err := f.acr.CreateRepository(ctx, f.a.ID, ee.InstanceID, "closed", "app", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.acr.GetRepositoryByID(ctx, ee.InstanceID, pub.RepoID); err != nil || got.Path() != "closed/app" {
		t.Errorf("GetRepositoryByID = %+v, %v", got, err)
	}
	p, _ := f.acr.CreateInstance(ctx, f.a.ID, "cn-hangzhou", "", acr.SpecPersonal)
	q, _ := f.acr.CreateInstance(ctx, f.b.ID, "cn-hangzhou", "", acr.SpecPersonal)
	if _, err := f.acr.CreateNamespace(ctx, f.a.ID, p.InstanceID, "shared", true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acr.CreateNamespace(ctx, f.b.ID, q.InstanceID, "shared", true, ""); !errors.Is(err, acr.ErrExists) {
		t.Errorf("a Personal namespace taken in the region = %v, want ErrExists", err)
	}
	if got, err := f.acr.ResolveLegacy(ctx, "cn-hangzhou", "shared"); err != nil || got.InstanceID != p.InstanceID {
		t.Errorf("ResolveLegacy = %+v, %v", got.InstanceID, err)
	}
}

func TestTempPassword(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	ee, _ := f.acr.CreateInstance(ctx, f.a.ID, "cn-hangzhou", "test1", acr.SpecEnterpriseBasic)
	other, _ := f.acr.CreateInstance(ctx, f.a.ID, "cn-hangzhou", "test2", acr.SpecEnterpriseBasic)
	session := ram.Identity{Kind: ram.KindRoleSession, Account: f.a.ID, RoleName: "r", RoleID: "123", SessionName: "s",
		Expiration: f.clock.Now().Add(20 * time.Minute)}
	tp, err := f.acr.IssueTempPassword(session, ee)
	if err != nil {
		t.Fatal(err)
	}
	if tp.Username != acr.TempUsername || !tp.Expiration.Equal(session.Expiration) {
		t.Errorf("TTL of a 20-minute session's password = %v, want %v", tp.Expiration, session.Expiration)
	}
	id, _, err := f.acr.VerifyTempPassword(tp.Password, ee.InstanceID)
	if err != nil || id.RoleID != "123" || id.Kind != ram.KindRoleSession {
		t.Fatalf("VerifyTempPassword = %+v, %v", id, err)
	}
	if _, _, err := f.acr.VerifyTempPassword(tp.Password, other.InstanceID); !errors.Is(err, acr.ErrPasswordInstance) {
		t.Errorf("the password on another instance = %v", err)
	}
	if _, _, err := f.acr.VerifyTempPassword(tp.Password[:len(tp.Password)-2]+"AA", ee.InstanceID); !errors.Is(err, acr.ErrPasswordInvalid) {
		t.Errorf("a tampered password = %v", err)
	}
	root, err := f.acr.IssueTempPassword(ram.RootIdentity(f.a.ID), ee)
	if err != nil || !root.Expiration.Equal(f.clock.Now().Add(time.Hour)) {
		t.Errorf("root password expires %v, %v; want in 1 h", root.Expiration, err)
	}
	f.clock.Advance(20 * time.Minute)
	if _, _, err := f.acr.VerifyTempPassword(tp.Password, ee.InstanceID); !errors.Is(err, acr.ErrPasswordExpired) {
		t.Errorf("an expired password = %v", err)
	}
}

// A clock-skew sweep (reliability.md §4): a temporary password issued at
// T for 15 minutes, checked at T-10 min … T+25 min in 1-second steps, is
// accepted exactly while the clock is before its expiry — no leeway, so a
// clock that jumps ahead never extends it.
func TestTempPasswordClockSkewSweep(t *testing.T) {
	f := newFixture(t)
	inst, _ := f.acr.CreateInstance(t.Context(), f.a.ID, "cn-hangzhou", "skew", acr.SpecEnterpriseBasic)
	issued := f.clock.Now()
	session := ram.Identity{Kind: ram.KindRoleSession, Account: f.a.ID, RoleName: "r", RoleID: "1", SessionName: "s", Expiration: issued.Add(15 * time.Minute)}
	tp, err := f.acr.IssueTempPassword(session, inst)
	if err != nil {
		t.Fatal(err)
	}
	for off := -600; off <= 25*60; off++ {
		now := issued.Add(time.Duration(off) * time.Second)
		f.clock.Set(now)
		_, _, err := f.acr.VerifyTempPassword(tp.Password, inst.InstanceID)
		if want := now.Before(tp.Expiration); (err == nil) != want {
			t.Fatalf("offset %+ds: accepted=%v (%v), want %v", off, err == nil, err, want)
		}
	}
}
