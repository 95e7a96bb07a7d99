package ram_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/policy"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/store"
	"github.com/rolepull/rolepull/internal/store/bolt"
)

type fixture struct {
	svc   *ram.Service
	st    store.Store
	keys  *keyring.Keyring
	clock *clock.Fake
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	svc, err := ram.New(st, keys, ram.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, st: st, keys: keys, clock: clk}
}

func (f *fixture) account(t *testing.T, name string) ram.Account {
	t.Helper()
	a, err := f.svc.CreateAccount(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) role(t *testing.T, uid, name, trust string, policies ...string) ram.Role {
	t.Helper()
	r, err := f.svc.CreateRole(t.Context(), uid, ram.RoleInput{RoleName: name, AssumeRolePolicyDocument: trust})
	if err != nil {
		t.Fatalf("CreateRole(%s): %v", name, err)
	}
	for _, p := range policies {
		ptype := ram.System
		if _, err := f.svc.GetPolicy(t.Context(), uid, ram.System, p); err != nil {
			ptype = ram.Custom
		}
		if err := f.svc.AttachPolicy(t.Context(), uid, ptype, p, ram.ToRole, name); err != nil {
			t.Fatalf("AttachPolicy(%s → %s): %v", p, name, err)
		}
	}
	return r
}

func session(r ram.Role, name string) ram.Identity {
	return ram.Identity{Kind: ram.KindRoleSession, Account: r.Account, RoleName: r.RoleName, RoleID: r.RoleID, SessionName: name}
}

func (f *fixture) allowed(t *testing.T, id ram.Identity, action string, resources ...string) bool {
	t.Helper()
	d, err := f.svc.Authorize(t.Context(), id, ram.Request{Action: action, Resources: resources})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if d.Reason == "" {
		t.Errorf("Authorize(%s, %s) gave no reason", id.ARN(), action)
	}
	return d.Allowed
}

const (
	eciTrust     = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["eci.aliyuncs.com"]}}]}`
	seedACRTest  = `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:List*"],"Resource":"*"},{"Effect":"Allow","Action":["cr:Pull*"],"Resource":["acs:cr:cn-hangzhou:UID:instance/cri-nwj395hgf6f30000"]}]}`
	instanceA    = "cri-nwj395hgf6f30000"
	instanceB    = "cri-otherinstance0001"
	repoActionNS = "eci_test/nginx"
)

func repoSet(uid, instance string) []string {
	return []string{
		"acs:cr:cn-hangzhou:" + uid + ":repository/" + instance + "/" + repoActionNS,
		"acs:cr:cn-hangzhou:" + uid + ":instance/" + instance,
	}
}

// The seed's same-account restricted role: cr:Get*/cr:List* anywhere,
// cr:Pull* only on one instance.
func TestSeedRestrictedRole(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, "acct-a")
	ctx := t.Context()
	if _, err := f.svc.CreatePolicy(ctx, a.ID, "acr-test-pull", "", strings.ReplaceAll(seedACRTest, "UID", a.ID)); err != nil {
		t.Fatal(err)
	}
	r := f.role(t, a.ID, "acr-test", eciTrust, "acr-test-pull")
	s := session(r, "eci-1")

	tests := []struct {
		name      string
		action    string
		resources []string
		want      bool
	}{
		{"pull from the allowed instance", "cr:PullRepository", repoSet(a.ID, instanceA), true},
		{"pull from another instance", "cr:PullRepository", repoSet(a.ID, instanceB), false},
		{"push to the allowed instance", "cr:PushRepository", repoSet(a.ID, instanceA), false},
		{"token for the allowed instance", "cr:GetAuthorizationToken", []string{"acs:cr:cn-hangzhou:" + a.ID + ":instance/" + instanceA}, true},
		{"token for another instance", "cr:GetAuthorizationToken", []string{"acs:cr:cn-beijing:" + a.ID + ":instance/" + instanceB}, true},
		{"action names are case-insensitive", "CR:pullrepository", repoSet(a.ID, instanceA), true},
		{"another account's instance", "cr:PullRepository", repoSet("1298452580000000", instanceA), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.allowed(t, s, tt.action, tt.resources...); got != tt.want {
				t.Errorf("Authorize(%s on %v) = %v, want %v", tt.action, tt.resources, got, tt.want)
			}
		})
	}
}

func TestExplicitDenyOnRepositoryBeatsInstanceAllow(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, "acct-a")
	ctx := t.Context()
	deny := `{"Version":"1","Statement":[{"Effect":"Deny","Action":"cr:PullRepository","Resource":"acs:cr:*:*:repository/` + instanceA + `/secret/*"}]}`
	if _, err := f.svc.CreatePolicy(ctx, a.ID, "deny-secret", "", deny); err != nil {
		t.Fatal(err)
	}
	r := f.role(t, a.ID, "puller", eciTrust, "AliyunContainerRegistryReadOnlyAccess", "deny-secret")
	s := session(r, "eci-1")
	if !f.allowed(t, s, "cr:PullRepository", repoSet(a.ID, instanceA)...) {
		t.Error("pull of an ordinary repository denied")
	}
	secret := []string{"acs:cr:cn-hangzhou:" + a.ID + ":repository/" + instanceA + "/secret/app", "acs:cr:cn-hangzhou:" + a.ID + ":instance/" + instanceA}
	d, err := f.svc.Authorize(ctx, s, ram.Request{Action: "cr:PullRepository", Resources: secret})
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.Result.Decision != policy.Denied {
		t.Fatalf("pull of the denied repository = %+v, want an explicit deny", d)
	}
	if !strings.Contains(d.Reason, "deny-secret") {
		t.Errorf("reason %q does not name the deciding policy", d.Reason)
	}
}

// The seed's cross-account chain: role-assume (account A, trusted by ECI,
// with AliyunSTSAssumeRoleAccess) → role-acr (account B, trusting A, then
// only role-assume).
func TestSeedCrossAccountTrust(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.account(t, "acct-a")
	b := f.account(t, "acct-b")
	assume := f.role(t, a.ID, "role-assume", eciTrust, "AliyunSTSAssumeRoleAccess")
	other := f.role(t, a.ID, "role-other", eciTrust, "AliyunSTSAssumeRoleAccess")
	accountTrust := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::` + a.ID + `:root"]}}]}`
	acr := f.role(t, b.ID, "role-acr", accountTrust, "AliyunContainerRegistryFullAccess")

	admits := func(t *testing.T, role ram.Role, caller ram.Identity) bool {
		t.Helper()
		d, err := f.svc.TrustAdmits(ctx, role, caller, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	}
	// The caller's half: AliyunSTSAssumeRoleAccess covers another account's role.
	if !f.allowed(t, session(assume, "eci-1"), "sts:AssumeRole", acr.ARN()) {
		t.Fatal("role-assume may not call sts:AssumeRole on role-acr")
	}
	if !admits(t, acr, session(assume, "eci-1")) || !admits(t, acr, session(other, "eci-2")) {
		t.Fatal("a trust policy naming account A's root must admit every role session of A")
	}
	if admits(t, acr, ram.ServiceIdentity("eci.aliyuncs.com")) {
		t.Error("account trust admitted the ECI service directly")
	}

	narrowed := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::` + a.ID + `:role/role-assume"]}}]}`
	acr, err := f.svc.UpdateRole(ctx, b.ID, "role-acr", ram.RoleUpdate{NewAssumeRolePolicyDocument: &narrowed})
	if err != nil {
		t.Fatal(err)
	}
	if !admits(t, acr, session(assume, "eci-1")) {
		t.Error("narrowed trust does not admit role-assume")
	}
	if admits(t, acr, session(other, "eci-2")) {
		t.Error("narrowed trust admits role-other")
	}
	// ECI's service trust admits the service and nobody else.
	if !admits(t, assume, ram.ServiceIdentity("eci.aliyuncs.com")) {
		t.Error("ECI trust does not admit eci.aliyuncs.com")
	}
	if admits(t, assume, ram.ServiceIdentity("eci.aliyuncs.com.evil")) {
		t.Error("ECI trust admits a look-alike service")
	}
	u, err := f.svc.CreateUser(ctx, a.ID, ram.User{UserName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if admits(t, assume, ram.Identity{Kind: ram.KindUser, Account: a.ID, UserName: u.UserName}) {
		t.Error("a RAM user was admitted by a service-trusted role")
	}
}

func TestRootAndServiceIdentities(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, "acct-a")
	root := ram.RootIdentity(a.ID)
	if !f.allowed(t, root, "ram:CreateRole", "acs:ram:*:"+a.ID+":role/x") {
		t.Error("root may not act in its own account")
	}
	if f.allowed(t, root, "ram:CreateRole", "acs:ram:*:1298452580000000:role/x") {
		t.Error("root may act in another account")
	}
	d, err := f.svc.Authorize(t.Context(), root, ram.Request{Action: "sts:AssumeRole", Resources: []string{"acs:ram::" + a.ID + ":role/x"}})
	if err != nil || d.Allowed || d.Reason != "Roles may not be assumed by root accounts." {
		t.Errorf("root AssumeRole = %+v, %v", d, err)
	}
	if f.allowed(t, ram.ServiceIdentity("eci.aliyuncs.com"), "cr:PullRepository", repoSet(a.ID, instanceA)...) {
		t.Error("a service principal was allowed an action directly")
	}
}

func TestRevocationAndRecreatedRole(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.account(t, "acct-a")
	r := f.role(t, a.ID, "puller", eciTrust, "AliyunContainerRegistryReadOnlyAccess")
	s := session(r, "eci-1")
	if !f.allowed(t, s, "cr:PullRepository", repoSet(a.ID, instanceA)...) {
		t.Fatal("pull denied before revocation")
	}
	if err := f.svc.DetachPolicy(ctx, a.ID, ram.System, "AliyunContainerRegistryReadOnlyAccess", ram.ToRole, "puller"); err != nil {
		t.Fatal(err)
	}
	if f.allowed(t, s, "cr:PullRepository", repoSet(a.ID, instanceA)...) {
		t.Fatal("pull allowed after the policy was detached")
	}
	if err := f.svc.DeleteRole(ctx, a.ID, "puller"); err != nil {
		t.Fatal(err)
	}
	f.role(t, a.ID, "PULLER", eciTrust, "AliyunContainerRegistryReadOnlyAccess")
	d, err := f.svc.Authorize(ctx, s, ram.Request{Action: "cr:PullRepository", Resources: repoSet(a.ID, instanceA)})
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || !strings.Contains(d.Reason, "deleted") {
		t.Fatalf("a session of a deleted role, recreated under the same name = %+v", d)
	}
}

func TestSessionPolicyNarrows(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, "acct-a")
	r := f.role(t, a.ID, "puller", eciTrust, "AliyunContainerRegistryReadOnlyAccess")
	narrow, err := policy.Parse(policy.Session, []byte(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:PullRepository","Resource":"acs:cr:*:*:instance/`+instanceA+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	widen, err := policy.Parse(policy.Session, []byte(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := session(r, "eci-1")
	s.SessionPolicy = narrow
	if !f.allowed(t, s, "cr:PullRepository", repoSet(a.ID, instanceA)...) {
		t.Error("session policy blocked what both allow")
	}
	if f.allowed(t, s, "cr:PullRepository", repoSet(a.ID, instanceB)...) {
		t.Error("session policy did not narrow")
	}
	s.SessionPolicy = widen
	if f.allowed(t, s, "cr:PushRepository", repoSet(a.ID, instanceA)...) {
		t.Error("a widening session policy granted push")
	}
	if f.allowed(t, s, "ram:CreateRole", "acs:ram:*:"+a.ID+":role/x") {
		t.Error("a widening session policy granted ram:CreateRole")
	}
}

func TestRoleValidation(t *testing.T) {
	f := newFixture(t)
	a := f.account(t, "acct-a")
	tests := []struct {
		name  string
		in    ram.RoleInput
		field string
	}{
		{"max session too short", ram.RoleInput{RoleName: "r1", AssumeRolePolicyDocument: eciTrust, MaxSessionDuration: 3599}, "MaxSessionDuration"},
		{"max session too long", ram.RoleInput{RoleName: "r1", AssumeRolePolicyDocument: eciTrust, MaxSessionDuration: 43201}, "MaxSessionDuration"},
		{"bad name", ram.RoleInput{RoleName: "a/b", AssumeRolePolicyDocument: eciTrust}, "RoleName"},
		{"missing trust", ram.RoleInput{RoleName: "r1"}, "AssumeRolePolicyDocument"},
		{"identity policy as trust", ram.RoleInput{RoleName: "r1", AssumeRolePolicyDocument: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"}]}`}, "PolicyGrammar"},
		{"reserved name", ram.RoleInput{RoleName: "AliyunServiceRoleForECI", AssumeRolePolicyDocument: eciTrust}, "RoleName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateRole(t.Context(), a.ID, tt.in)
			var e *ram.Error
			if !errors.As(err, &e) || !errors.Is(err, ram.ErrInvalid) {
				t.Fatalf("CreateRole = %v, want an invalid-parameter error", err)
			}
			if e.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", e.Field, tt.field, err)
			}
		})
	}
	if _, err := f.svc.CreateRole(t.Context(), a.ID, ram.RoleInput{RoleName: "Dup", AssumeRolePolicyDocument: eciTrust}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateRole(t.Context(), a.ID, ram.RoleInput{RoleName: "dup", AssumeRolePolicyDocument: eciTrust}); !errors.Is(err, ram.ErrExists) {
		t.Errorf("CreateRole of a case-variant name = %v, want ErrExists", err)
	}
	if _, err := f.svc.CreateRole(t.Context(), "1111111111111111", ram.RoleInput{RoleName: "x", AssumeRolePolicyDocument: eciTrust}); !errors.Is(err, ram.ErrNotFound) {
		t.Errorf("CreateRole in a missing account = %v, want ErrNotFound", err)
	}
}

func TestDeleteConflicts(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.account(t, "acct-a")
	if _, err := f.svc.CreatePolicy(ctx, a.ID, "p1", "", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	f.role(t, a.ID, "r1", eciTrust, "p1")
	if err := f.svc.DeleteRole(ctx, a.ID, "r1"); !errors.Is(err, ram.ErrConflict) {
		t.Errorf("DeleteRole with a policy attached = %v, want ErrConflict", err)
	}
	if err := f.svc.DeletePolicy(ctx, a.ID, "p1"); !errors.Is(err, ram.ErrConflict) {
		t.Errorf("DeletePolicy while attached = %v, want ErrConflict", err)
	}
	if err := f.svc.AttachPolicy(ctx, a.ID, ram.Custom, "p1", ram.ToRole, "r1"); !errors.Is(err, ram.ErrExists) {
		t.Errorf("second AttachPolicy = %v, want ErrExists", err)
	}
	if err := f.svc.DetachPolicy(ctx, a.ID, ram.Custom, "p1", ram.ToRole, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeletePolicy(ctx, a.ID, "p1"); err != nil {
		t.Errorf("DeletePolicy after detach: %v", err)
	}
	if err := f.svc.DeleteRole(ctx, a.ID, "r1"); err != nil {
		t.Errorf("DeleteRole after detach: %v", err)
	}
	if _, err := f.svc.CreateUser(ctx, a.ID, ram.User{UserName: "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.CreateAccessKey(ctx, a.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteUser(ctx, a.ID, "bob"); !errors.Is(err, ram.ErrConflict) {
		t.Errorf("DeleteUser with a key = %v, want ErrConflict", err)
	}
}

func TestPolicyVersions(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.account(t, "acct-a")
	doc := func(action string) string {
		return `{"Version":"1","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"*"}]}`
	}
	if _, err := f.svc.CreatePolicy(ctx, a.ID, "p", "", doc("cr:GetInstance")); err != nil {
		t.Fatal(err)
	}
	r := f.role(t, a.ID, "r", eciTrust, "p")
	s := session(r, "s1")
	res := []string{"acs:cr:cn-hangzhou:" + a.ID + ":instance/" + instanceA}
	if f.allowed(t, s, "cr:PullRepository", res...) {
		t.Fatal("v1 allows pull")
	}
	v, err := f.svc.CreatePolicyVersion(ctx, a.ID, "p", doc("cr:PullRepository"), false, false)
	if err != nil || v.VersionID != "v2" {
		t.Fatalf("CreatePolicyVersion = %+v, %v", v, err)
	}
	if f.allowed(t, s, "cr:PullRepository", res...) {
		t.Fatal("a non-default version took effect")
	}
	if err := f.svc.SetDefaultPolicyVersion(ctx, a.ID, "p", "v2"); err != nil {
		t.Fatal(err)
	}
	if !f.allowed(t, s, "cr:PullRepository", res...) {
		t.Fatal("the new default version did not take effect")
	}
	for i := 0; i < 3; i++ {
		if _, err := f.svc.CreatePolicyVersion(ctx, a.ID, "p", doc("cr:GetInstance"), false, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.CreatePolicyVersion(ctx, a.ID, "p", doc("cr:GetInstance"), false, false); !errors.Is(err, ram.ErrLimitExceeded) {
		t.Fatalf("sixth version = %v, want ErrLimitExceeded", err)
	}
	if _, err := f.svc.CreatePolicyVersion(ctx, a.ID, "p", doc("cr:GetInstance"), false, true); err != nil {
		t.Fatalf("rotating sixth version: %v", err)
	}
	p, err := f.svc.GetPolicy(ctx, a.ID, ram.Custom, "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Versions) != ram.MaxPolicyVersions || p.Versions[0].VersionID != "v2" || p.DefaultVersion != "v2" {
		t.Errorf("after rotation: %d versions, first %s, default %s", len(p.Versions), p.Versions[0].VersionID, p.DefaultVersion)
	}
	if err := f.svc.DeletePolicyVersion(ctx, a.ID, "p", "v2"); !errors.Is(err, ram.ErrConflict) {
		t.Errorf("deleting the default version = %v, want ErrConflict", err)
	}
	if _, err := f.svc.CreatePolicyVersion(ctx, a.ID, "p", `{"Version":"1"}`, true, true); !errors.Is(err, ram.ErrInvalid) {
		t.Errorf("invalid document = %v, want ErrInvalid", err)
	}
}

func TestAccessKeys(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.account(t, "acct-a")
	if _, err := f.svc.CreateUser(ctx, a.ID, ram.User{UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	k, secret, err := f.svc.CreateAccessKey(ctx, a.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.AccessKeyID, "LTAI") || len(secret) != 30 || k.Status != ram.KeyActive {
		t.Errorf("CreateAccessKey = %+v, secret of %d chars", k, len(secret))
	}
	if got := f.svc.AccessKeySecret(k.AccessKeyID); got != secret {
		t.Error("the derived secret differs from the one returned at creation")
	}
	// No secret at rest: nothing in the store contains it.
	kvs, _, err := f.st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		if strings.Contains(string(kv.Value), secret) {
			t.Fatalf("the AccessKey secret is stored under %s", kv.Key)
		}
	}
	if err := f.svc.UpdateAccessKey(ctx, a.ID, "alice", k.AccessKeyID, ram.KeyInactive); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.GetAccessKey(ctx, k.AccessKeyID)
	if err != nil || got.Status != ram.KeyInactive {
		t.Errorf("after deactivation: %+v, %v", got, err)
	}
	other := f.account(t, "acct-b")
	if err := f.svc.DeleteAccessKey(ctx, other.ID, "alice", k.AccessKeyID); !errors.Is(err, ram.ErrNotFound) {
		t.Errorf("deleting another account's key = %v, want ErrNotFound", err)
	}

	// At most two keys per owner, even when eight creations race.
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 1
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := f.svc.CreateAccessKey(context.WithoutCancel(ctx), a.ID, "alice"); err == nil {
				mu.Lock()
				created++
				mu.Unlock()
			} else if !errors.Is(err, ram.ErrLimitExceeded) && !errors.Is(err, ram.ErrConflict) {
				t.Errorf("racing CreateAccessKey: %v", err)
			}
		}()
	}
	wg.Wait()
	keys, err := f.svc.ListAccessKeys(ctx, a.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != created || len(keys) > ram.MaxAccessKeysPerOwner {
		t.Errorf("%d keys listed, %d created, limit %d", len(keys), created, ram.MaxAccessKeysPerOwner)
	}
	for _, k := range keys {
		if err := f.svc.DeleteAccessKey(ctx, a.ID, "alice", k.AccessKeyID); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.DeleteUser(ctx, a.ID, "alice"); err != nil {
		t.Errorf("DeleteUser after its keys are gone: %v", err)
	}
}

func TestServiceLinkedRole(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.account(t, "acct-a")
	var wg sync.WaitGroup
	ids := make([]string, 4)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := f.svc.EnsureServiceLinkedRole(context.WithoutCancel(ctx), a.ID, ram.ECIServiceLinkedRole)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = r.RoleID
		}()
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("concurrent EnsureServiceLinkedRole returned different roles: %v", ids)
		}
	}
	r, err := f.svc.GetRole(ctx, a.ID, "AliyunServiceRoleForECI")
	if err != nil || !r.IsServiceLinkedRole || r.MaxSessionDuration != 3600 {
		t.Fatalf("GetRole = %+v, %v", r, err)
	}
	atts, err := f.svc.ListAttachments(ctx, a.ID, ram.ToRole, r.RoleName)
	if err != nil || len(atts) != 1 || atts[0].PolicyName != "AliyunServiceRolePolicyForECI" {
		t.Fatalf("attachments = %+v, %v", atts, err)
	}
	if !f.allowed(t, session(r, "eci-1"), "cr:GetAuthorizationToken", "acs:cr:cn-hangzhou:"+a.ID+":instance/"+instanceA) {
		t.Error("the ECI service-linked role may not get a token in its own account")
	}
	if f.allowed(t, session(r, "eci-1"), "cr:PullRepository", repoSet("1298452580000000", instanceA)...) {
		t.Error("the ECI service-linked role may pull from another account")
	}
	trust := `{"Version":"1","Statement":[]}`
	if _, err := f.svc.UpdateRole(ctx, a.ID, r.RoleName, ram.RoleUpdate{NewAssumeRolePolicyDocument: &trust}); !errors.Is(err, ram.ErrForbidden) {
		t.Errorf("UpdateRole of a service-linked role = %v, want ErrForbidden", err)
	}
	if err := f.svc.DeleteRole(ctx, a.ID, r.RoleName); !errors.Is(err, ram.ErrForbidden) {
		t.Errorf("DeleteRole of a service-linked role = %v, want ErrForbidden", err)
	}
	if err := f.svc.DeleteServiceLinkedRole(ctx, a.ID, r.RoleName); err != nil {
		t.Fatal(err)
	}
	if atts, _ := f.svc.ListEntitiesForPolicy(ctx, a.ID, ram.System, "AliyunServiceRolePolicyForECI"); len(atts) != 0 {
		t.Errorf("attachments outlived the service-linked role: %+v", atts)
	}
}

func TestUsers(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.account(t, "acct-a")
	u, err := f.svc.CreateUser(ctx, a.ID, ram.User{UserName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	id := ram.Identity{Kind: ram.KindUser, Account: a.ID, UserName: u.UserName}
	if f.allowed(t, id, "ram:ListRoles", "acs:ram:*:"+a.ID+":role/*") {
		t.Error("a user with no policy was allowed")
	}
	if err := f.svc.AttachPolicy(ctx, a.ID, ram.System, "AliyunRAMReadOnlyAccess", ram.ToUser, "Alice"); err != nil {
		t.Fatal(err)
	}
	if !f.allowed(t, id, "ram:ListRoles", "acs:ram:*:"+a.ID+":role/*") {
		t.Error("AliyunRAMReadOnlyAccess does not allow ram:ListRoles")
	}
	if f.allowed(t, id, "ram:CreateRole", "acs:ram:*:"+a.ID+":role/x") {
		t.Error("AliyunRAMReadOnlyAccess allows ram:CreateRole")
	}
	if _, err := f.svc.CreateUser(ctx, a.ID, ram.User{UserName: "ALICE"}); !errors.Is(err, ram.ErrExists) {
		t.Errorf("case-variant user = %v, want ErrExists", err)
	}
}

// An account and its root key are made together: both exist, the key is
// the root's one of two, and a second account of the name makes neither.
func TestCreateAccountWithKey(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, k, secret, err := f.svc.CreateAccountWithKey(ctx, "team-a")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.GetAccessKey(ctx, k.AccessKeyID); err != nil || got.Account != a.ID || got.UserName != "" || got.Status != ram.KeyActive {
		t.Errorf("GetAccessKey = %+v, %v; want an active root key of %s", got, err, a.ID)
	}
	if secret == "" || secret != f.svc.AccessKeySecret(k.AccessKeyID) {
		t.Error("the secret returned is not the key's derived secret")
	}
	if keys, err := f.svc.ListAccessKeys(ctx, a.ID, ""); err != nil || len(keys) != 1 {
		t.Errorf("ListAccessKeys = %v, %v; want the one key", keys, err)
	}
	// The root may still have its second key.
	if _, _, err := f.svc.CreateAccessKey(ctx, a.ID, ""); err != nil {
		t.Errorf("a second root key: %v", err)
	}
	if _, _, _, err := f.svc.CreateAccountWithKey(ctx, "team-a"); !errors.Is(err, ram.ErrExists) {
		t.Errorf("a second account named team-a = %v, want ErrExists", err)
	}
	if accs, _ := f.svc.ListAccounts(ctx); len(accs) != 1 {
		t.Errorf("%d accounts, want 1", len(accs))
	}
}
