package stsapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/sts"
	"github.com/rolepull/rolepull/internal/stsapi"
)

// setup returns the corpus world's account (corpus_test.go) behind an
// OpenAPI server on loopback, and a client signing as its RAM user.
func setup(b *testing.B) (*openapi.Client, *corpusWorld) {
	b.Helper()
	w := newCorpusWorld(b)
	ts := httptest.NewServer(w.newServer())
	b.Cleanup(ts.Close)
	c := *w.client
	c.Endpoint, c.HTTP = ts.URL, nil
	return &c, w
}

// BenchmarkAssumeRole measures AssumeRole end to end over loopback HTTP
// (client signing, server signature check, RAM decisions, token minting),
// and, as sub-benchmarks, the server-side parts alone.
func BenchmarkAssumeRole(b *testing.B) {
	c, w := setup(b)
	r, s, alice, role := w.ram, w.sts, w.alice, w.target
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
