package sts_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/sts"
)

// FuzzSecurityToken feeds Verify the SecurityToken and AccessKeyId a
// request presents: untrusted input, parsed before anything else is known
// about the caller. Seeds are reliability.md §3.3 item 35: a good token, one
// with a flipped bit, truncated, expired, bound to another AccessKeyId,
// minted under another deployment's key, oversized, empty.
//
// Nothing but what this service sealed may verify, and the fuzzer cannot
// forge an HMAC-SHA256: an accepted input carries exactly the session
// that was issued, for exactly its AccessKeyId.
func FuzzSecurityToken(f *testing.F) {
	fx := newFixture(f)
	r := fx.role(f, "puller", eciTrust, 7200, "AliyunContainerRegistryReadOnlyAccess")
	creds, _, err := fx.sts.AssumeRole(f.Context(), eci, sts.AssumeRoleInput{RoleArn: r.ARN(), RoleSessionName: "eci-1", DurationSeconds: 7200})
	if err != nil {
		f.Fatal(err)
	}
	short, _, err := fx.sts.AssumeRole(f.Context(), eci, sts.AssumeRoleInput{RoleArn: r.ARN(), RoleSessionName: "eci-2", DurationSeconds: 900})
	if err != nil {
		f.Fatal(err)
	}
	otherKeys, _ := keyring.Generate()
	foreign, _, err := sts.New(fx.ram, otherKeys, sts.Options{Clock: fx.clock}).AssumeRole(f.Context(), eci, sts.AssumeRoleInput{RoleArn: r.ARN(), RoleSessionName: "eci-3"})
	if err != nil {
		f.Fatal(err)
	}
	tok := creds.SecurityToken
	for _, s := range [][2]string{
		{creds.AccessKeyID, tok},
		{creds.AccessKeyID, flip(tok)},
		{creds.AccessKeyID, tok[:len(tok)-3]},
		{creds.AccessKeyID, tok + "."},
		{creds.AccessKeyID, strings.Replace(tok, ".", "..", 1)},
		{"STS.other", tok},
		{short.AccessKeyID, short.SecurityToken}, // expired: the clock moves past it below
		{foreign.AccessKeyID, foreign.SecurityToken},
		{creds.AccessKeyID, "RP1." + strings.Repeat("A", sts.MaxTokenBytes)},
		{creds.AccessKeyID, "RP1."},
		{creds.AccessKeyID, "RP2." + strings.TrimPrefix(tok, "RP1.")},
		{creds.AccessKeyID, ""},
		{"", tok},
	} {
		f.Add(s[0], s[1])
	}
	want, wantSecret, err := fx.sts.Verify(creds.AccessKeyID, tok)
	if err != nil {
		f.Fatal(err)
	}
	fx.clock.Advance(time.Hour) // short (900 s) has expired; creds (7200 s) has not
	f.Fuzz(func(t *testing.T, akid, token string) {
		id, secret, err := fx.sts.Verify(akid, token)
		if err != nil {
			return
		}
		if akid != creds.AccessKeyID || id != want || secret != wantSecret {
			t.Fatalf("Verify(%q, %q) accepted a session that was not issued for it: %+v", akid, token, id)
		}
	})
}
