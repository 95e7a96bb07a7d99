package sts

import (
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/keyring"
)

// BenchmarkMintToken measures minting one session's SecurityToken alone
// (claims to JSON, HMAC, encoding) — the token-minting part of the
// AssumeRole cost split (stsapi's BenchmarkAssumeRole has the rest).
func BenchmarkMintToken(b *testing.B) {
	keys, _ := keyring.Generate()
	now := time.Now()
	c := claims{AccessKeyID: "STS.NUgYrLnoC37mZZCNnAbez2fCk", Account: "1609982529000000", RoleName: "acr-test",
		RoleID: "3841907539142860145", SessionName: "eci-ab12cd34ef56gh78", IssuedAt: now.Unix(), Expires: now.Add(time.Hour).Unix(),
		Caller: "acs:ram::1609982529000000:root"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seal(keys, c); err != nil {
			b.Fatal(err)
		}
	}
}
