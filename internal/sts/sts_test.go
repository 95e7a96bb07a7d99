package sts_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/policy"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/store/bolt"
	"github.com/rolepull/rolepull/internal/sts"
)

type fixture struct {
	ram   *ram.Service
	sts   *sts.Service
	keys  *keyring.Keyring
	clock *clock.Fake
	acct  ram.Account
}

const eciTrust = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["eci.aliyuncs.com"]}}]}`

var eci = ram.ServiceIdentity("eci.aliyuncs.com")

func newFixture(t testing.TB) *fixture {
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
	r, err := ram.New(st, keys, ram.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ram: r, sts: sts.New(r, keys, sts.Options{Clock: clk}), keys: keys, clock: clk}
	if f.acct, err = r.CreateAccount(t.Context(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) role(t testing.TB, name, trust string, maxDur int, policies ...string) ram.Role {
	t.Helper()
	r, err := f.ram.CreateRole(t.Context(), f.acct.ID, ram.RoleInput{RoleName: name, AssumeRolePolicyDocument: trust, MaxSessionDuration: maxDur})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range policies {
		if err := f.ram.AttachPolicy(t.Context(), f.acct.ID, ram.System, p, ram.ToRole, name); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestAssumeAndVerify(t *testing.T) {
	f := newFixture(t)
	r := f.role(t, "puller", eciTrust, 7200, "AliyunContainerRegistryReadOnlyAccess")
	creds, user, err := f.sts.AssumeRole(t.Context(), eci, sts.AssumeRoleInput{RoleArn: r.ARN(), RoleSessionName: "eci-1", DurationSeconds: 7200})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "STS.") || len(creds.AccessKeySecret) != 30 {
		t.Errorf("credentials %q / %d-char secret", creds.AccessKeyID, len(creds.AccessKeySecret))
	}
	if want := f.clock.Now().Add(7200 * time.Second); !creds.Expiration.Equal(want) {
		t.Errorf("Expiration = %v, want %v", creds.Expiration, want)
	}
	if user.Arn != r.ARN()+"/eci-1" || user.AssumedRoleID != r.RoleID+":eci-1" {
		t.Errorf("AssumedRoleUser = %+v", user)
	}
	id, secret, err := f.sts.Verify(creds.AccessKeyID, creds.SecurityToken)
	if err != nil {
		t.Fatal(err)
	}
	if secret != creds.AccessKeySecret || id.Kind != ram.KindRoleSession || id.RoleID != r.RoleID || id.SessionName != "eci-1" {
		t.Errorf("Verify = %+v, secret match %v", id, secret == creds.AccessKeySecret)
	}

	// The checklist: binding, integrity, issuer, expiry.
	other, _ := keyring.Generate()
	tests := []struct {
		name  string
		akid  string
		token string
		sts   *sts.Service
		want  error
	}{
		{"other AccessKeyId", "STS.other", creds.SecurityToken, f.sts, sts.ErrTokenMismatch},
		{"flipped bit", creds.AccessKeyID, flip(creds.SecurityToken), f.sts, sts.ErrTokenMalformed},
		{"truncated", creds.AccessKeyID, creds.SecurityToken[:len(creds.SecurityToken)-3], f.sts, sts.ErrTokenMalformed},
		{"another deployment's key", creds.AccessKeyID, creds.SecurityToken, sts.New(f.ram, other, sts.Options{Clock: f.clock}), sts.ErrTokenMalformed},
		{"empty", creds.AccessKeyID, "", f.sts, sts.ErrTokenMalformed},
		{"huge", creds.AccessKeyID, "RP1." + strings.Repeat("A", sts.MaxTokenBytes), f.sts, sts.ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := tt.sts.Verify(tt.akid, tt.token); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	f.clock.Advance(7200*time.Second - time.Second)
	if _, _, err := f.sts.Verify(creds.AccessKeyID, creds.SecurityToken); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
	f.clock.Advance(time.Second)
	if _, _, err := f.sts.Verify(creds.AccessKeyID, creds.SecurityToken); !errors.Is(err, sts.ErrTokenExpired) {
		t.Errorf("at expiry: %v, want ErrTokenExpired", err)
	}
}

func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestDurations(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	first := f.role(t, "first", eciTrust, 43200, "AliyunSTSAssumeRoleAccess")
	accountTrust := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::` + f.acct.ID + `:root"]}}]}`
	second := f.role(t, "second", accountTrust, 43200)
	creds, _, err := f.sts.AssumeRole(ctx, eci, sts.AssumeRoleInput{RoleArn: first.ARN(), RoleSessionName: "s1", DurationSeconds: 43200})
	if err != nil {
		t.Fatalf("the service assuming for the role's maximum: %v", err)
	}
	session, _, err := f.sts.Verify(creds.AccessKeyID, creds.SecurityToken)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		caller   ram.Identity
		role     ram.Role
		duration int
		ok       bool
	}{
		{"default", eci, first, 0, true},
		{"minimum", eci, first, 900, true},
		{"below minimum", eci, first, 899, false},
		{"above the role's maximum", eci, first, 43201, false},
		{"chained at the cap", session, second, 3600, true},
		{"chained above the cap", session, second, 3601, false},
		{"chained 7200", session, second, 7200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.sts.AssumeRole(ctx, tt.caller, sts.AssumeRoleInput{RoleArn: tt.role.ARN(), RoleSessionName: "s2", DurationSeconds: tt.duration})
			if tt.ok && err != nil {
				t.Fatalf("AssumeRole(%d) = %v", tt.duration, err)
			}
			var e *sts.Error
			if !tt.ok && (!errors.As(err, &e) || e.Field != "DurationSeconds") {
				t.Fatalf("AssumeRole(%d) = %v, want an invalid DurationSeconds", tt.duration, err)
			}
		})
	}
}

func TestAuthenticateLongTermKeys(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.ram.CreateUser(ctx, f.acct.ID, ram.User{UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	k, secret, err := f.ram.CreateAccessKey(ctx, f.acct.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	id, got, err := f.sts.Authenticate(ctx, k.AccessKeyID, "")
	if err != nil || got != secret || id.Kind != ram.KindUser || id.UserName != "alice" {
		t.Fatalf("Authenticate = %+v, %v", id, err)
	}
	if _, _, err := f.sts.Authenticate(ctx, k.AccessKeyID, "RP1.x.y"); !errors.Is(err, sts.ErrTokenForbidden) {
		t.Errorf("long-term key with a token = %v", err)
	}
	if _, _, err := f.sts.Authenticate(ctx, "LTAInope", ""); !errors.Is(err, sts.ErrKeyNotFound) {
		t.Errorf("unknown key = %v", err)
	}
	if _, _, err := f.sts.Authenticate(ctx, "STS.x", ""); !errors.Is(err, sts.ErrTokenRequired) {
		t.Errorf("STS key without token = %v", err)
	}
	if err := f.ram.UpdateAccessKey(ctx, f.acct.ID, "alice", k.AccessKeyID, ram.KeyInactive); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.sts.Authenticate(ctx, k.AccessKeyID, ""); !errors.Is(err, sts.ErrKeyInactive) {
		t.Errorf("inactive key = %v", err)
	}
}

// A session's effective permissions are never wider than its role's,
// whatever session policy it carries (reliability.md §2 item 19).
func TestPropertySessionNeverWiderThanRole(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	custom := `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:Pull*"],"Resource":"acs:cr:*:*:*/cri-a*"},{"Effect":"Deny","Action":"cr:PullRepository","Resource":"acs:cr:*:*:repository/cri-a1/secret/*"}]}`
	if _, err := f.ram.CreatePolicy(ctx, f.acct.ID, "custom", "", custom); err != nil {
		t.Fatal(err)
	}
	r := f.role(t, "puller", eciTrust, 0)
	if err := f.ram.AttachPolicy(ctx, f.acct.ID, ram.Custom, "custom", ram.ToRole, "puller"); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	actions := []string{"cr:PullRepository", "cr:PushRepository", "cr:GetInstance", "cr:GetAuthorizationToken", "ram:CreateRole", "sts:AssumeRole"}
	resource := func() string {
		return fmt.Sprintf("acs:cr:%s:%s:%s", pick("cn-hangzhou", "cn-beijing"), f.acct.ID,
			pick("instance/cri-a1", "instance/cri-b1", "repository/cri-a1/secret/app", "repository/cri-a1/ns/app", "repository/cri-b1/ns/app"))
	}
	const cases = 2000
	narrowed := 0
	for i := 0; i < cases; i++ {
		doc := fmt.Sprintf(`{"Version":"1","Statement":[{"Effect":%q,"Action":%q,"Resource":%q}]}`,
			pick("Allow", "Allow", "Deny"), pick("*", "cr:*", "cr:Pull*", "cr:PushRepository", "ram:*"), pick("*", "acs:cr:*:*:*", "acs:cr:*:*:instance/cri-b*", "acs:cr:*:*:repository/cri-a1/*"))
		sp, err := policy.Parse(policy.Session, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		req := ram.Request{Action: pick(actions...), Resources: []string{resource(), resource()}}
		base := ram.Identity{Kind: ram.KindRoleSession, Account: f.acct.ID, RoleName: r.RoleName, RoleID: r.RoleID, SessionName: "p"}
		withPolicy := base
		withPolicy.SessionPolicy = sp
		dRole, err := f.ram.Authorize(ctx, base, req)
		if err != nil {
			t.Fatal(err)
		}
		dSess, err := f.ram.Authorize(ctx, withPolicy, req)
		if err != nil {
			t.Fatal(err)
		}
		if dSess.Allowed && !dRole.Allowed {
			t.Fatalf("session policy %s widened %+v: session allowed, role alone denied", doc, req)
		}
		if dRole.Allowed && !dSess.Allowed {
			narrowed++ // counted to show the generator bites
		}
	}
	if narrowed == 0 {
		t.Errorf("no session policy narrowed anything in %d cases: the generator is too weak", cases)
	}
}

// A clock-skew sweep (reliability.md §4): a 900-second session issued at
// T, verified at T-10 min … T+25 min in 1-second steps, is accepted exactly
// while the clock is before its expiry. A clock behind the issuer's (a
// replica, or a step back) does not refuse it; no clock extends it.
func TestClockSkewSweep(t *testing.T) {
	f := newFixture(t)
	r := f.role(t, "skew", eciTrust, 3600)
	issued := f.clock.Now()
	creds, _, err := f.sts.AssumeRole(t.Context(), eci, sts.AssumeRoleInput{RoleArn: r.ARN(), RoleSessionName: "eci-skew", DurationSeconds: 900})
	if err != nil {
		t.Fatal(err)
	}
	for off := -600; off <= 25*60; off++ {
		now := issued.Add(time.Duration(off) * time.Second)
		f.clock.Set(now)
		_, _, err := f.sts.Verify(creds.AccessKeyID, creds.SecurityToken)
		if want := now.Before(creds.Expiration); (err == nil) != want {
			t.Fatalf("offset %+ds: accepted=%v (%v), want %v", off, err == nil, err, want)
		}
	}
}
