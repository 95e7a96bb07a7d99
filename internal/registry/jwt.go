package registry

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	kjson "sigs.k8s.io/json"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
)

// Token rules.
const (
	Issuer = "rolepull"
	// TokenTTL is the longest a bearer token lives; RAM decisions made at
	// issue time hold for at most this long.
	TokenTTL = 5 * time.Minute
	// Leeway is the clock skew tolerated on exp and nbf, as distribution's
	// verifier does.
	Leeway = 60 * time.Second
	// MaxTokenBytes caps a bearer token (and an Authorization header)
	// before any parsing.
	MaxTokenBytes = 8 << 10
)

// Access is one granted (type, name, actions) entry of a token.
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

type claims struct {
	jwt.Claims
	Access []Access `json:"access"`
}

// tokens signs and verifies bearer tokens with an Ed25519 key derived from
// the master key, so every replica verifies every other's tokens.
type tokens struct {
	key   ed25519.PrivateKey
	pub   ed25519.PublicKey
	sig   jose.Signer
	clock clock.Clock

	mu    sync.Mutex
	cache map[string]claims // verified tokens until they expire
}

const maxCachedTokens = 16384

func newTokens(keys *keyring.Keyring, clk clock.Clock) (*tokens, error) {
	seed := keys.Derive(keyring.PurposeSigningKey, "registry-token-v1")[:ed25519.SeedSize]
	key := ed25519.NewKeyFromSeed(seed)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return &tokens{key: key, pub: key.Public().(ed25519.PublicKey), sig: sig, clock: clock.Or(clk), cache: make(map[string]claims)}, nil
}

func (t *tokens) issue(subject, audience string, access []Access, ttl time.Duration) (string, time.Time, error) {
	now := t.clock.Now().UTC().Truncate(time.Second)
	exp := now.Add(ttl)
	var jti [16]byte
	rand.Read(jti[:])
	c := claims{Claims: jwt.Claims{
		Issuer: Issuer, Subject: subject, Audience: jwt.Audience{audience},
		Expiry: jwt.NewNumericDate(exp), NotBefore: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now),
		ID: base64.RawURLEncoding.EncodeToString(jti[:]),
	}, Access: access}
	if c.Access == nil {
		c.Access = []Access{}
	}
	s, err := jwt.Signed(t.sig).Claims(c).Serialize()
	return s, exp, err
}

var errToken = errors.New("invalid bearer token")

// verify is the checklist: size, algorithm (EdDSA only), signature with our
// key (headers naming other keys are never followed), issuer, audience
// exactly the service, exp and nbf with Leeway on our clock.
func (t *tokens) verify(raw, audience string) (claims, error) {
	now := t.clock.Now()
	t.mu.Lock()
	c, ok := t.cache[raw]
	t.mu.Unlock()
	if ok {
		// A cached token was fully verified; only time and audience can
		// have changed since.
		if err := checkTimeAndAudience(c, audience, now); err != nil {
			return claims{}, err
		}
		return c, nil
	}
	if len(raw) > MaxTokenBytes || strings.Count(raw, ".") != 2 {
		return claims{}, fmt.Errorf("%w: malformed", errToken)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return claims{}, fmt.Errorf("%w: %v", errToken, err)
	}
	payload, err := jws.Verify(t.pub)
	if err != nil {
		return claims{}, fmt.Errorf("%w: bad signature", errToken)
	}
	// Only the claims this service issues, each once: a payload another
	// parser could read differently (a duplicate key) is refused even
	// under our signature.
	strict, err := kjson.UnmarshalStrict(payload, &c, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil || len(strict) > 0 {
		return claims{}, fmt.Errorf("%w: claims: %v", errToken, errors.Join(append(strict, err)...))
	}
	if c.Issuer != Issuer {
		return claims{}, fmt.Errorf("%w: issuer %q", errToken, c.Issuer)
	}
	if c.Expiry == nil || c.NotBefore == nil {
		return claims{}, fmt.Errorf("%w: exp and nbf are required", errToken)
	}
	if err := checkTimeAndAudience(c, audience, now); err != nil {
		return claims{}, err
	}
	t.mu.Lock()
	if len(t.cache) >= maxCachedTokens {
		for k, v := range t.cache {
			if now.After(v.Expiry.Time().Add(Leeway)) {
				delete(t.cache, k)
			}
		}
		if len(t.cache) >= maxCachedTokens {
			clear(t.cache)
		}
	}
	t.cache[raw] = c
	t.mu.Unlock()
	return c, nil
}

func checkTimeAndAudience(c claims, audience string, now time.Time) error {
	if len(c.Audience) != 1 || c.Audience[0] != audience {
		return fmt.Errorf("%w: audience %v, want %q", errToken, []string(c.Audience), audience)
	}
	if now.After(c.Expiry.Time().Add(Leeway)) {
		return fmt.Errorf("%w: expired at %s", errToken, c.Expiry.Time().UTC().Format(time.RFC3339))
	}
	if now.Add(Leeway).Before(c.NotBefore.Time()) {
		return fmt.Errorf("%w: not valid before %s", errToken, c.NotBefore.Time().UTC().Format(time.RFC3339))
	}
	return nil
}

// allows reports whether the token grants every action on the resource.
func (c claims) allows(typ, name string, actions ...string) bool {
	for _, want := range actions {
		ok := false
		for _, a := range c.Access {
			if a.Type == typ && a.Name == name && (slices.Contains(a.Actions, want) || slices.Contains(a.Actions, "*")) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
