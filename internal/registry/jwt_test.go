package registry

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
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

// jwtAttack is one token the verifier must refuse.
type jwtAttack struct {
	name  string
	token string
}

// jwtAttacks is the JWT attack corpus of reference/reliability.md §3.6
// (items 55–59, 63–64; 60–62 are scopes, testdata/scopes.txt), built for
// tk at now: the tokens that need our key to exist cannot be files.
// keyURL is where the jku and x5u headers point; verifying must never
// fetch it.
func jwtAttacks(t testing.TB, tk *tokens, now time.Time, keyURL string) []jwtAttack {
	t.Helper()
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
	ed := func(in string) []byte { return ed25519.Sign(attacker, []byte(in)) }
	der, err := x509.MarshalPKIXPublicKey(tk.pub)
	if err != nil {
		t.Fatal(err)
	}
	pemForm := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwkForm, err := json.Marshal(jose.JSONWebKey{Key: tk.pub, KeyID: "rolepull"})
	if err != nil {
		t.Fatal(err)
	}
	selfSigned := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rolepull"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, selfSigned, selfSigned, attacker.Public(), attacker)
	if err != nil {
		t.Fatal(err)
	}
	valid := func(p map[string]any) string {
		s, err := jwt.Signed(tk.sig).Claims(p).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// signedRaw signs a payload spelt by hand (what a map cannot hold).
	signedRaw := func(payload string) string {
		in := b64(map[string]any{"alg": "EdDSA"}) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
		return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(tk.key, []byte(in)))
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
	good, _ := json.Marshal(payload)
	goodBody := strings.TrimSuffix(string(good), "}")
	padded := strings.Split(valid(payload), ".")
	// A signature in standard base64 differs from the base64url one only
	// where the latter has '-' or '_' (most signatures, not all): re-sign
	// with a changing jti until it has one, or the "attack" is the valid
	// token itself.
	var stdSig string
	for i := 0; stdSig == ""; i++ {
		parts := strings.Split(valid(mod("jti", strconv.Itoa(i))), ".")
		if strings.ContainsAny(parts[2], "-_") {
			stdSig = parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2])
		}
	}
	return []jwtAttack{
		// 55
		{"alg none", forge(map[string]any{"alg": "none", "typ": "JWT"}, payload, func(string) []byte { return nil })},
		{"alg None", forge(map[string]any{"alg": "None"}, payload, func(string) []byte { return []byte("x") })},
		{"alg NONE", forge(map[string]any{"alg": "NONE"}, payload, func(string) []byte { return nil })},
		// 56
		{"HS256 keyed with the public key", forge(map[string]any{"alg": "HS256"}, payload, hs(tk.pub))},
		{"HS256 keyed with the public key PEM", forge(map[string]any{"alg": "HS256"}, payload, hs(pemForm))},
		{"HS256 keyed with the public key DER", forge(map[string]any{"alg": "HS256"}, payload, hs(der))},
		{"HS256 keyed with the public key JWK", forge(map[string]any{"alg": "HS256"}, payload, hs(jwkForm))},
		// 57
		{"attacker key in a jwk header with our kid", withJWK},
		{"jku naming an attacker's key set", forge(map[string]any{"alg": "EdDSA", "kid": "rolepull", "jku": keyURL}, payload, ed)},
		{"x5u naming an attacker's certificate", forge(map[string]any{"alg": "EdDSA", "kid": "rolepull", "x5u": keyURL}, payload, ed)},
		{"x5c with a self-signed chain", forge(map[string]any{"alg": "EdDSA", "x5c": []string{base64.StdEncoding.EncodeToString(cert)}}, payload, ed)},
		// 58
		{"expired 61 s ago", valid(mod("exp", now.Add(-61*time.Second).Unix()))},
		{"not valid for 61 s", valid(mod("nbf", now.Add(61*time.Second).Unix()))},
		{"no exp", valid(mod("exp", nil))},
		{"no nbf", valid(mod("nbf", nil))},
		{"exp as a string", valid(mod("exp", "9999999999"))},
		{"exp 1e309", signedRaw(strings.Replace(string(good), `"exp":`, `"exp":1e309,"x":`, 1))},
		// 59
		{"wrong audience", valid(mod("aud", "cri-b"))},
		{"audience list with ours and another", valid(mod("aud", []string{"cri-a", "other"}))},
		{"empty audience list", valid(mod("aud", []string{}))},
		{"issuer with a trailing slash", valid(mod("iss", Issuer+"/"))},
		{"issuer in another case", valid(mod("iss", "Rolepull"))},
		// 63
		{"a megabyte of dots", strings.Repeat(".", 1<<20)},
		{"four segments", valid(payload) + ".x"},
		{"padded base64url", padded[0] + "==." + padded[1] + "==." + padded[2] + "=="},
		{"standard base64 signature", stdSig},
		{"non-JSON payload", "eyJhbGciOiJFZERTQSJ9.bm90IGpzb24.c2ln"},
		{"non-JSON payload we signed", signedRaw("not json")},
		{"duplicate access key we signed", signedRaw(goodBody + `,"access":[{"type":"repository","name":"ns/other","actions":["push"]}]}`)},
		{"an unknown claim we signed", signedRaw(goodBody + `,"admin":true}`)},
		{"one flipped signature byte", flipLast(valid(payload))},
		// 64
		{"instance B's token at instance A", valid(mod("aud", "cri-b"))},
	}
}

func TestVerifyRejects(t *testing.T) {
	tk, clk := newTestTokens(t)
	now := clk.Now()
	var fetched atomic.Int32
	keySrv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { fetched.Add(1) }))
	defer keySrv.Close()
	for _, tt := range jwtAttacks(t, tk, now, keySrv.URL+"/keys") {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tk.verify(tt.token, "cri-a"); err == nil {
				t.Fatalf("verify accepted %s", tt.name)
			}
		})
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("verifying fetched a key from a URL in a token header %d times", n)
	}
	// The leeway is exactly 60 s, and the corpus's own good token verifies
	// (so each refusal above is for its one change).
	payload := goodPayload(now, "cri-a")
	payload["exp"] = now.Add(-59 * time.Second).Unix()
	for name, p := range map[string]map[string]any{"the good payload": goodPayload(now, "cri-a"), "expired 59 s ago (within the leeway)": payload} {
		s, err := jwt.Signed(tk.sig).Claims(p).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tk.verify(s, "cri-a"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
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

func FuzzVerify(f *testing.F) {
	tk, clk := newTestTokens(f)
	good, _, _ := tk.issue("s", "cri-a", []Access{{Type: "repository", Name: "ns/app", Actions: []string{"pull"}}}, TokenTTL)
	f.Add(good)
	for _, a := range jwtAttacks(f, tk, clk.Now(), "http://192.0.2.1/keys") {
		if len(a.token) <= 64<<10 { // the fuzzer mutates small inputs well, huge ones slowly
			f.Add(a.token)
		}
	}
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
