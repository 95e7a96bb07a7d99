package acr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/policy"
	"github.com/rolepull/rolepull/internal/ram"
)

// TempUsername is the user name that goes with every temporary password.
const TempUsername = "cr_temp_user"

// TempPasswordTTL is the longest a temporary password lives.
const TempPasswordTTL = time.Hour

// MaxPasswordBytes caps a password before any decoding.
const MaxPasswordBytes = 8 << 10

const passwordPrefix = "RPT1."

// Password errors.
var (
	ErrPasswordInvalid  = errors.New("the temporary password is not valid")
	ErrPasswordExpired  = errors.New("the temporary password has expired")
	ErrPasswordInstance = errors.New("the temporary password is for another instance")
)

// TempPassword is the result of GetAuthorizationToken.
type TempPassword struct {
	Username   string
	Password   string
	Expiration time.Time
}

// passwordClaims rebuild the identity that asked for the password.
type passwordClaims struct {
	Instance      string `json:"inst"`
	Kind          int    `json:"kind"`
	Account       string `json:"acct"`
	UserName      string `json:"user,omitempty"`
	RoleName      string `json:"role,omitempty"`
	RoleID        string `json:"rid,omitempty"`
	SessionName   string `json:"sess,omitempty"`
	SessionPolicy string `json:"pol,omitempty"`
	AccessKeyID   string `json:"ak,omitempty"`
	IssuedAt      int64  `json:"iat"`
	Expires       int64  `json:"exp"`
}

// IssueTempPassword mints a temporary password for id on inst, valid for
// min(TempPasswordTTL, the rest of id's session). The caller has already
// authorized cr:GetAuthorizationToken.
func (s *Service) IssueTempPassword(id ram.Identity, inst Instance) (TempPassword, error) {
	now := s.clock.Now().UTC().Truncate(time.Second)
	exp := now.Add(TempPasswordTTL)
	if !id.Expiration.IsZero() && id.Expiration.Before(exp) {
		exp = id.Expiration
	}
	if !exp.After(now) {
		return TempPassword{}, ErrPasswordExpired
	}
	c := passwordClaims{
		Instance: inst.InstanceID, Kind: int(id.Kind), Account: id.Account, UserName: id.UserName,
		RoleName: id.RoleName, RoleID: id.RoleID, SessionName: id.SessionName, AccessKeyID: id.AccessKeyID,
		IssuedAt: now.Unix(), Expires: exp.Unix(),
	}
	if id.SessionPolicy != nil {
		c.SessionPolicy = id.SessionPolicy.String()
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return TempPassword{}, err
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	return TempPassword{
		Username:   TempUsername,
		Password:   passwordPrefix + p + "." + base64.RawURLEncoding.EncodeToString(passwordMAC(s.keys, p)),
		Expiration: exp,
	}, nil
}

func passwordMAC(keys *keyring.Keyring, payload string) []byte {
	m := hmac.New(sha256.New, keys.Derive(keyring.PurposeACRToken, "v1"))
	m.Write([]byte(passwordPrefix))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// IsTempPassword reports whether a secret has the shape of a temporary
// password (as opposed to an AccessKey secret).
func IsTempPassword(s string) bool { return strings.HasPrefix(s, passwordPrefix) }

// VerifyTempPassword checks a temporary password for instanceID and
// returns the identity it stands for and its expiry: integrity, expiry,
// then the instance binding. The identity's permissions are RAM's to
// decide at each use.
func (s *Service) VerifyTempPassword(password, instanceID string) (ram.Identity, time.Time, error) {
	var c passwordClaims
	if len(password) > MaxPasswordBytes {
		return ram.Identity{}, time.Time{}, ErrPasswordInvalid
	}
	rest, ok := strings.CutPrefix(password, passwordPrefix)
	if !ok {
		return ram.Identity{}, time.Time{}, ErrPasswordInvalid
	}
	p, m, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(m, ".") {
		return ram.Identity{}, time.Time{}, ErrPasswordInvalid
	}
	mac, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || !hmac.Equal(mac, passwordMAC(s.keys, p)) {
		return ram.Identity{}, time.Time{}, ErrPasswordInvalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return ram.Identity{}, time.Time{}, ErrPasswordInvalid
	}
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return ram.Identity{}, time.Time{}, ErrPasswordInvalid
	}
	exp := time.Unix(c.Expires, 0).UTC()
	if !s.clock.Now().Before(exp) {
		return ram.Identity{}, exp, ErrPasswordExpired
	}
	if c.Instance != instanceID {
		return ram.Identity{}, exp, ErrPasswordInstance
	}
	id := ram.Identity{
		Kind: ram.IdentityKind(c.Kind), Account: c.Account, UserName: c.UserName, RoleName: c.RoleName,
		RoleID: c.RoleID, SessionName: c.SessionName, AccessKeyID: c.AccessKeyID,
	}
	switch id.Kind {
	case ram.KindRoot, ram.KindUser:
	case ram.KindRoleSession:
		id.Expiration = exp
	default:
		return ram.Identity{}, exp, ErrPasswordInvalid
	}
	if c.SessionPolicy != "" {
		sp, err := policy.Parse(policy.Session, []byte(c.SessionPolicy))
		if err != nil {
			return ram.Identity{}, exp, ErrPasswordInvalid
		}
		id.SessionPolicy = sp
	}
	return id, exp, nil
}
