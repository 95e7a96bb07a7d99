package stsapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/store/bolt"
	"github.com/rolepull/rolepull/internal/sts"
	"github.com/rolepull/rolepull/internal/stsapi"
)

// setup returns an OpenAPI server over loopback and a RAM user allowed to
// assume a role trusted by its account.
func setup(b *testing.B) (*httptest.Server, *openapi.Client, *ram.Service, *sts.Service, ram.Identity, ram.Role) {
	b.Helper()
	st, err := bolt.Open(filepath.Join(b.TempDir(), "meta.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	keys, _ := keyring.Generate()
	r, err := ram.New(st, keys, ram.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s := sts.New(r, keys, sts.Options{})
	ctx := context.Background()
	acct, err := r.CreateAccount(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.CreateUser(ctx, acct.ID, ram.User{UserName: "alice"}); err != nil {
		b.Fatal(err)
	}
	if err := r.AttachPolicy(ctx, acct.ID, ram.System, "AliyunSTSAssumeRoleAccess", ram.ToUser, "alice"); err != nil {
		b.Fatal(err)
	}
	k, secret, err := r.CreateAccessKey(ctx, acct.ID, "alice")
	if err != nil {
		b.Fatal(err)
	}
	role, err := r.CreateRole(ctx, acct.ID, ram.RoleInput{RoleName: "target",
		AssumeRolePolicyDocument: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::` + acct.ID + `:root"]}}]}`})
	if err != nil {
		b.Fatal(err)
	}
	srv := openapi.NewServer(s, r, openapi.Options{})
	stsapi.Register(srv, s, r)
	ts := httptest.NewServer(srv)
	b.Cleanup(ts.Close)
	c := &openapi.Client{Endpoint: ts.URL, AccessKeyID: k.AccessKeyID, AccessKeySecret: secret}
	return ts, c, r, s, ram.Identity{Kind: ram.KindUser, Account: acct.ID, UserName: "alice"}, role
}

// BenchmarkAssumeRole measures AssumeRole end to end over loopback HTTP
// (client signing, server signature check, RAM decisions, token minting),
// and, as sub-benchmarks, the server-side parts alone.
func BenchmarkAssumeRole(b *testing.B) {
	_, c, r, s, alice, role := setup(b)
	ctx := context.Background()
	b.Run("http", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var out struct{ Credentials struct{ AccessKeyId string } }
			if err := c.Do(ctx, stsapi.Version, "AssumeRole", map[string]string{"RoleArn": role.ARN(), "RoleSessionName": fmt.Sprintf("s%d", i)}, &out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
	b.Run("authenticate", func(b *testing.B) { // key lookup + secret derivation
		for b.Loop() {
			if _, _, err := s.Authenticate(ctx, c.AccessKeyID, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("policy", func(b *testing.B) { // the caller's permission and the trust policy
		for b.Loop() {
			d, err := r.Authorize(ctx, alice, ram.Request{Action: "sts:AssumeRole", Resources: []string{role.ARN()}})
			if err != nil || !d.Allowed {
				b.Fatal(d.Reason, err)
			}
			if d, err := r.TrustAdmits(ctx, role, alice, nil); err != nil || !d.Allowed {
				b.Fatal(d.Reason, err)
			}
		}
	})
	b.Run("in-process", func(b *testing.B) { // everything but HTTP and signatures
		for b.Loop() {
			if _, _, err := s.AssumeRole(ctx, alice, sts.AssumeRoleInput{RoleArn: role.ARN(), RoleSessionName: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
