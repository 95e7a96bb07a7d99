package registry

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
)

func newTestTokens(t testing.TB) (*tokens, *clock.Fake) {
	t.Helper()
	keys, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	tk, err := newTokens(keys, clk)
	if err != nil {
		t.Fatal(err)
	}
	return tk, clk
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// forge builds a token by hand with any header and a signature function.
func forge(header, payload map[string]any, sign func(signingInput string) []byte) string {
	in := b64(header) + "." + b64(payload)
	return in + "." + base64.RawURLEncoding.EncodeToString(sign(in))
}

func goodPayload(now time.Time, aud any) map[string]any {
	return map[string]any{
		"iss": Issuer, "sub": "acs:ram::1:root", "aud": aud,
		"exp": now.Add(time.Minute).Unix(), "nbf": now.Unix(), "iat": now.Unix(),
		"access": []Access{{Type: "repository", Name: "ns/app", Actions: []string{"pull"}}},
	}
}

// The JWT attack corpus of reference/reliability.md §3.6 (items 55–64).
func TestVerifyRejects(t *testing.T) {
	tk, clk := newTestTokens(t)
	now := clk.Now()
	attacker := ed25519.NewKeyFromSeed(make([]byte, 32))
	attackerSigner, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: attacker}, (&jose.SignerOptions{EmbedJWK: true}).WithHeader("kid", "rolepull"))
	withJWK, _ := jwt.Signed(attackerSigner).Claims(goodPayload(now, "cri-a")).Serialize()
	hs := func(key []byte) func(string) []byte {
		return func(in string) []byte {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(in))
			return m.Sum(nil)
		}
	}
	pemLike := []byte("-----BEGIN PUBLIC KEY-----\n" + base64.StdEncoding.EncodeToString(tk.pub) + "\n-----END PUBLIC KEY-----\n")
	valid := func(p map[string]any) string {
		s, err := jwt.Signed(tk.sig).Claims(p).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	payload := goodPayload(now, "cri-a")
	mod := func(k string, v any) map[string]any {
		p := map[string]any{}
		for kk, vv := range payload {
			p[kk] = vv
		}
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
		return p
	}
	tests := []struct {
		name  string
		token string
	}{
		{"alg none", forge(map[string]any{"alg": "none", "typ": "JWT"}, payload, func(string) []byte { return nil })},
		{"alg None", forge(map[string]any{"alg": "None"}, payload, func(string) []byte { return []byte("x") })},
		{"HS256 keyed with the public key", forge(map[string]any{"alg": "HS256"}, payload, hs(tk.pub))},
		{"HS256 keyed with the public key PEM", forge(map[string]any{"alg": "HS256"}, payload, hs(pemLike))},
		{"attacker key in a jwk header with our kid", withJWK},
		{"wrong audience", valid(mod("aud", "cri-b"))},
		{"audience list with ours and another", valid(mod("aud", []string{"cri-a", "other"}))},
		{"empty audience list", valid(mod("aud", []string{}))},
		{"issuer with a trailing slash", valid(mod("iss", Issuer+"/"))},
		{"issuer in another case", valid(mod("iss", "Rolepull"))},
		{"expired 61 s ago", valid(mod("exp", now.Add(-61*time.Second).Unix()))},
		{"not valid for 61 s", valid(mod("nbf", now.Add(61*time.Second).Unix()))},
		{"no exp", valid(mod("exp", nil))},
		{"exp as a string", valid(mod("exp", "9999999999"))},
		{"one flipped signature byte", flipLast(valid(payload))},
		{"a megabyte of dots", strings.Repeat(".", 1<<20)},
		{"four segments", valid(payload) + ".x"},
		{"non-JSON payload", "eyJhbGciOiJFZERTQSJ9.bm90IGpzb24.c2ln"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tk.verify(tt.token, "cri-a"); err == nil {
				t.Fatalf("verify accepted %s", tt.name)
			}
		})
	}
	// The leeway is exactly 60 s.
	if _, err := tk.verify(valid(mod("exp", now.Add(-59*time.Second).Unix())), "cri-a"); err != nil {
		t.Errorf("expired 59 s ago (within the leeway): %v", err)
	}
}

func flipLast(s string) string {
	b := []byte(s)
	i := len(b) - 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestIssueVerifyAndScope(t *testing.T) {
	tk, clk := newTestTokens(t)
	tok, exp, err := tk.issue("acs:ram::1:root", "cri-a", []Access{{Type: "repository", Name: "ns/app", Actions: []string{"pull"}}}, TokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(clk.Now().Add(TokenTTL)) {
		t.Errorf("exp = %v", exp)
	}
	c, err := tk.verify(tok, "cri-a")
	if err != nil {
		t.Fatal(err)
	}
	if !c.allows("repository", "ns/app", "pull") {
		t.Error("the granted scope is not allowed")
	}
	for _, tt := range []struct{ typ, name, action string }{
		{"repository", "ns/app", "push"},
		{"repository", "ns/other", "pull"},
		{"repository", "ns/app/x", "pull"},
		{"registry", "catalog", "*"},
	} {
		if c.allows(tt.typ, tt.name, tt.action) {
			t.Errorf("a pull token allows %s %s %s", tt.typ, tt.name, tt.action)
		}
	}
	if _, err := tk.verify(tok, "cri-b"); err == nil {
		t.Error("a token of instance A verified for instance B")
	}
	// The cache does not outlive the token: time moves past exp + leeway.
	clk.Advance(TokenTTL + Leeway + time.Second)
	if _, err := tk.verify(tok, "cri-a"); err == nil {
		t.Error("a cached token verified after it expired")
	}
}

// A clock-skew sweep (reliability.md §5): for offsets of -10..+10 minutes
// in 1-second steps, a token is accepted iff nbf-60s <= now <= exp+60s.
func TestClockSkewSweep(t *testing.T) {
	tk, clk := newTestTokens(t)
	issued := clk.Now()
	tok, exp, err := tk.issue("s", "cri-a", nil, TokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	for off := -600; off <= 600; off++ {
		now := issued.Add(time.Duration(off) * time.Second)
		clk.Set(now)
		_, err := tk.verify(tok, "cri-a")
		want := !now.Before(issued.Add(-Leeway)) && !now.After(exp.Add(Leeway))
		if (err == nil) != want {
			t.Fatalf("offset %+ds: accepted=%v, want %v", off, err == nil, want)
		}
	}
}

func FuzzScope(f *testing.F) {
	for _, s := range []string{
		"repository:ns/app:pull", "repository:ns/app:pull,push", "repository:reg:5000/ns/app:pull",
		"registry:catalog:*", "repository:ns/app:", "::", "repository:a:b:c:d:pull", "repository:ns/app:pull,,push,bogus",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			return
		}
		if len(sc.Actions) == 0 || sc.Type == "" || sc.Name == "" {
			t.Fatalf("ParseScope(%q) = %+v: an empty part was accepted", s, sc)
		}
		again, err := ParseScope(sc.String())
		if err != nil || again.String() != sc.String() {
			t.Fatalf("ParseScope(%q) does not round-trip: %+v, %v", s, again, err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	tk, clk := newTestTokens(f)
	good, _, _ := tk.issue("s", "cri-a", []Access{{Type: "repository", Name: "ns/app", Actions: []string{"pull"}}}, TokenTTL)
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(strings.Repeat("a.", 100))
	f.Fuzz(func(t *testing.T, raw string) {
		clk.Set(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
		c, err := tk.verify(raw, "cri-a")
		// Only what we signed verifies (the fuzzer cannot forge Ed25519):
		// an accepted input must carry exactly the claims we issued.
		if err == nil && (c.Subject != "s" || !c.allows("repository", "ns/app", "pull") || len(c.Access) != 1) {
			t.Fatalf("verify accepted claims we did not issue: %q (%+v)", raw, c)
		}
	})
}
