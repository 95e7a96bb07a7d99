package sts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/keyring"
)

// tokenPrefix marks rolepull session tokens and their format version.
const tokenPrefix = "RP1."

// MaxTokenBytes caps a SecurityToken before any decoding (a 2,048-byte
// session policy fits with room to spare).
const MaxTokenBytes = 8 << 10

// Token errors: each maps to the vendor's InvalidSecurityToken.* code.
var (
	ErrTokenMalformed = errors.New("the security token is malformed")
	ErrTokenExpired   = errors.New("the security token has expired")
	ErrTokenMismatch  = errors.New("the security token does not belong to this AccessKeyId")
)

// claims is what a SecurityToken carries. Field names are short: the token
// travels on every request.
type claims struct {
	AccessKeyID   string `json:"ak"`
	Account       string `json:"acct"`
	RoleName      string `json:"role"`
	RoleID        string `json:"rid"`
	SessionName   string `json:"sess"`
	IssuedAt      int64  `json:"iat"`
	Expires       int64  `json:"exp"`
	SessionPolicy string `json:"pol,omitempty"`
	// Caller is the ARN of the identity that assumed the role, for audit.
	Caller string `json:"src,omitempty"`
}

// seal encodes claims as RP1.<payload>.<mac>, both base64url.
func seal(keys *keyring.Keyring, c claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	mac := tokenMAC(keys, p)
	return tokenPrefix + p + "." + base64.RawURLEncoding.EncodeToString(mac), nil
}

func tokenMAC(keys *keyring.Keyring, payload string) []byte {
	m := hmac.New(sha256.New, keys.Derive(keyring.PurposeSTSToken, "v1"))
	m.Write([]byte(tokenPrefix))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// open verifies a token's MAC and decodes its claims. It checks nothing
// else: expiry and the AccessKeyId binding are the caller's checklist.
func open(keys *keyring.Keyring, token string) (claims, error) {
	var c claims
	if len(token) > MaxTokenBytes {
		return c, fmt.Errorf("%w: %d bytes, at most %d", ErrTokenMalformed, len(token), MaxTokenBytes)
	}
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return c, ErrTokenMalformed
	}
	p, m, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(m, ".") {
		return c, ErrTokenMalformed
	}
	mac, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil {
		return c, ErrTokenMalformed
	}
	if !hmac.Equal(mac, tokenMAC(keys, p)) {
		return c, ErrTokenMalformed
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return c, ErrTokenMalformed
	}
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, ErrTokenMalformed
	}
	if c.AccessKeyID == "" || c.Account == "" || c.RoleID == "" || c.Expires == 0 {
		return c, ErrTokenMalformed
	}
	return c, nil
}

func (c claims) expiry() time.Time { return time.Unix(c.Expires, 0).UTC() }
