package sts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/policy"
	"github.com/rolepull/rolepull/internal/ram"
)

// ChainedMaxDuration caps a session assumed by another session (role
// chaining), as AWS does; reference/domain.md §1.10.
const ChainedMaxDuration = 3600

// Errors with identity; the OpenAPI layer maps them to vendor codes.
var (
	// ErrNoPermission: the caller may not assume the role — its own
	// policies do not allow sts:AssumeRole, the trust policy does not admit
	// it, or it is a root identity.
	ErrNoPermission = errors.New("no permission")
	// ErrInvalid: a parameter is malformed or out of range.
	ErrInvalid = errors.New("invalid parameter")
)

// Error is an STS failure with the parameter or the reason it concerns.
type Error struct {
	Err   error  // ErrNoPermission or ErrInvalid
	Field string // for ErrInvalid: "RoleArn", "RoleSessionName", "DurationSeconds", "PolicyGrammar", "ExternalId"
	// Kind says which half refused for ErrNoPermission: "root", "permission" or "trust".
	Kind string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func invalid(field, format string, args ...any) error {
	return &Error{Err: ErrInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Options configure a Service.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Audit receives one record per AssumeRole decision (nil: discard).
	Audit *slog.Logger
}

// Service issues and verifies temporary credentials.
type Service struct {
	ram   *ram.Service
	keys  *keyring.Keyring
	clock clock.Clock
	log   *slog.Logger
	audit *slog.Logger
}

// New returns an STS service over RAM.
func New(r *ram.Service, keys *keyring.Keyring, opts Options) *Service {
	discard := slog.New(slog.DiscardHandler)
	s := &Service{ram: r, keys: keys, clock: clock.Or(opts.Clock), log: opts.Logger, audit: opts.Audit}
	if s.log == nil {
		s.log = discard
	}
	if s.audit == nil {
		s.audit = discard
	}
	return s
}

// AssumeRoleInput is AssumeRole's parameters.
type AssumeRoleInput struct {
	RoleArn         string
	RoleSessionName string
	DurationSeconds int // 0: 3600
	Policy          string
	ExternalID      string
	// Context carries request condition keys (acs:SourceIp, ...).
	Context map[string][]string
}

// Credentials are a session's temporary credentials.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	Expiration      time.Time
}

// AssumedRoleUser names the session.
type AssumedRoleUser struct {
	Arn           string // acs:ram::UID:role/NAME/SESSION
	AssumedRoleID string // RoleId:SESSION
}

// AssumeRole lets caller assume the role named by in.RoleArn.
func (s *Service) AssumeRole(ctx context.Context, caller ram.Identity, in AssumeRoleInput) (Credentials, AssumedRoleUser, error) {
	creds, user, reason, err := s.assumeRole(ctx, caller, in)
	attrs := []any{"caller", caller.ARN(), "target", in.RoleArn, "session", in.RoleSessionName}
	if err != nil {
		var e *Error
		var re *ram.Error
		reason := err.Error()
		decision := "error"
		if errors.As(err, &e) {
			decision = "deny"
			if e.Kind != "" {
				attrs = append(attrs, "refused_by", e.Kind)
			}
		} else if errors.As(err, &re) {
			// A refusal RAM explains (no such role): the caller's
			// mistake, not a failure of the service.
			decision = "deny"
		}
		s.audit.Info("assume role", append(attrs, "decision", decision, "reason", reason)...)
		return Credentials{}, AssumedRoleUser{}, err
	}
	s.audit.Info("assume role", append(attrs, "decision", "allow", "reason", reason, "access_key_id", creds.AccessKeyID, "expiration", creds.Expiration)...)
	return creds, user, nil
}

// Refuse records, as a denied AssumeRole, a request refused before it
// reached AssumeRole (a missing or malformed parameter), and returns err.
func (s *Service) Refuse(caller ram.Identity, roleArn, session string, err error) error {
	s.audit.Info("assume role", "caller", caller.ARN(), "target", roleArn, "session", session, "decision", "deny", "reason", err.Error())
	return err
}

// assumeRole decides and, when allowed, issues the session; reason says
// which policies allowed it.
func (s *Service) assumeRole(ctx context.Context, caller ram.Identity, in AssumeRoleInput) (Credentials, AssumedRoleUser, string, error) {
	target, err := arn.ParseRole(in.RoleArn)
	if err != nil {
		return fail(invalid("RoleArn", "RoleArn %q is not a role ARN (acs:ram::UID:role/NAME): %v", in.RoleArn, err))
	}
	if !arn.IsSessionName(in.RoleSessionName) {
		return fail(invalid("RoleSessionName", "RoleSessionName %q: want 2–64 of A-Z a-z 0-9 . @ _ -", in.RoleSessionName))
	}
	if in.Policy != "" {
		if _, err := policy.Parse(policy.Session, []byte(in.Policy)); err != nil {
			return fail(invalid("PolicyGrammar", "the session policy is invalid: %v", err))
		}
	}
	if in.ExternalID != "" && !validExternalID(in.ExternalID) {
		return fail(invalid("ExternalId", "ExternalId: want 2–1224 of A-Z a-z 0-9 _ + = , . @ : / -"))
	}
	if caller.Kind == ram.KindRoot {
		return fail(&Error{Err: ErrNoPermission, Kind: "root", Msg: "Roles may not be assumed by root accounts."})
	}
	role, err := s.ram.GetRole(ctx, target.Account, target.Name)
	if err != nil {
		return fail(err) // EntityNotExist.Role and store failures alike
	}

	duration := in.DurationSeconds
	if duration == 0 {
		duration = ram.DefaultSessionDuration
	}
	maxDur := role.MaxSessionDuration
	chained := caller.Kind == ram.KindRoleSession
	if chained && maxDur > ChainedMaxDuration {
		maxDur = ChainedMaxDuration
	}
	if duration < ram.MinSessionDuration || duration > maxDur {
		why := fmt.Sprintf("the role's MaxSessionDuration is %d", role.MaxSessionDuration)
		if chained {
			why = fmt.Sprintf("a role session assuming another role (role chaining) is capped at %d", ChainedMaxDuration)
		}
		return fail(invalid("DurationSeconds", "DurationSeconds %d is out of range [%d, %d]: %s", duration, ram.MinSessionDuration, maxDur, why))
	}

	c := map[string][]string{}
	for k, v := range in.Context {
		c[k] = v
	}
	if in.ExternalID != "" {
		c["sts:ExternalId"] = []string{in.ExternalID}
	}
	var reasons []string
	if caller.Kind != ram.KindService {
		d, err := s.ram.Authorize(ctx, caller, ram.Request{Action: ram.ActionAssumeRole, Resources: []string{role.ARN()}, Context: c})
		if err != nil {
			return fail(err)
		}
		if !d.Allowed {
			return fail(&Error{Err: ErrNoPermission, Kind: "permission", Msg: notAuthorized + " " + d.Reason})
		}
		reasons = append(reasons, d.Reason)
	}
	d, err := s.ram.TrustAdmits(ctx, role, caller, c)
	if err != nil {
		return fail(err)
	}
	if !d.Allowed {
		return fail(&Error{Err: ErrNoPermission, Kind: "trust", Msg: notAuthorized + " " + d.Reason})
	}
	reasons = append(reasons, d.Reason)

	now := s.clock.Now().UTC().Truncate(time.Second)
	cl := claims{
		AccessKeyID:   "STS." + rand.Text(),
		Account:       role.Account,
		RoleName:      role.RoleName,
		RoleID:        role.RoleID,
		SessionName:   in.RoleSessionName,
		IssuedAt:      now.Unix(),
		Expires:       now.Add(time.Duration(duration) * time.Second).Unix(),
		SessionPolicy: in.Policy,
		Caller:        caller.ARN(),
	}
	token, err := seal(s.keys, cl)
	if err != nil {
		return fail(err)
	}
	return Credentials{
			AccessKeyID:     cl.AccessKeyID,
			AccessKeySecret: s.keys.Secret(keyring.PurposeSTSSecret, cl.AccessKeyID),
			SecurityToken:   token,
			Expiration:      cl.expiry(),
		}, AssumedRoleUser{
			Arn:           role.ARN() + "/" + in.RoleSessionName,
			AssumedRoleID: role.RoleID + ":" + in.RoleSessionName,
		}, strings.Join(reasons, "; "), nil
}

// notAuthorized is the vendor's message for a refused AssumeRole; rolepull
// appends which half refused and why.
const notAuthorized = "You are not authorized to do this action. You should be authorized by RAM."

func fail(err error) (Credentials, AssumedRoleUser, string, error) {
	return Credentials{}, AssumedRoleUser{}, "", err
}

func validExternalID(s string) bool {
	if len(s) < 2 || len(s) > 1224 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@:/-", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// Verify checks a session's AccessKeyId and SecurityToken and returns the
// session's identity and its derived AccessKeySecret (for the caller to
// check the request signature with). It performs no lookup.
func (s *Service) Verify(accessKeyID, token string) (ram.Identity, string, error) {
	c, err := open(s.keys, token)
	if err != nil {
		return ram.Identity{}, "", err
	}
	if c.AccessKeyID != accessKeyID {
		return ram.Identity{}, "", ErrTokenMismatch
	}
	if !s.clock.Now().Before(c.expiry()) {
		return ram.Identity{}, "", fmt.Errorf("%w at %s", ErrTokenExpired, c.expiry().Format(time.RFC3339))
	}
	id := ram.Identity{
		Kind:        ram.KindRoleSession,
		Account:     c.Account,
		RoleName:    c.RoleName,
		RoleID:      c.RoleID,
		SessionName: c.SessionName,
		AccessKeyID: c.AccessKeyID,
		Expiration:  c.expiry(),
	}
	if c.SessionPolicy != "" {
		// The policy was validated when the session was issued; a failure
		// now means the grammar narrowed since, and the session fails closed.
		p, err := policy.Parse(policy.Session, []byte(c.SessionPolicy))
		if err != nil {
			return ram.Identity{}, "", fmt.Errorf("%w: its session policy no longer parses", ErrTokenMalformed)
		}
		id.SessionPolicy = p
	}
	return id, s.keys.Secret(keyring.PurposeSTSSecret, c.AccessKeyID), nil
}

// Credential errors of long-term keys.
var (
	ErrKeyNotFound    = errors.New("the AccessKeyId is not found")
	ErrKeyInactive    = errors.New("the AccessKey is disabled")
	ErrTokenRequired  = errors.New("a SecurityToken is required with an STS AccessKeyId")
	ErrTokenForbidden = errors.New("a SecurityToken was given with a long-term AccessKeyId")
)

// Authenticate resolves the credential of a signed request to the caller's
// identity and the secret its signature must be checked with: an STS
// AccessKeyId with its SecurityToken, or a long-term AccessKey (root or RAM
// user) that must exist and be Active.
func (s *Service) Authenticate(ctx context.Context, accessKeyID, securityToken string) (ram.Identity, string, error) {
	if strings.HasPrefix(accessKeyID, "STS.") {
		if securityToken == "" {
			return ram.Identity{}, "", ErrTokenRequired
		}
		return s.Verify(accessKeyID, securityToken)
	}
	if securityToken != "" {
		return ram.Identity{}, "", ErrTokenForbidden
	}
	k, err := s.ram.GetAccessKey(ctx, accessKeyID)
	if errors.Is(err, ram.ErrNotFound) {
		return ram.Identity{}, "", ErrKeyNotFound
	}
	if err != nil {
		return ram.Identity{}, "", err
	}
	if k.Status != ram.KeyActive {
		return ram.Identity{}, "", ErrKeyInactive
	}
	id := ram.Identity{Kind: ram.KindRoot, Account: k.Account, AccessKeyID: k.AccessKeyID}
	if k.UserName != "" {
		id.Kind, id.UserName = ram.KindUser, k.UserName
	}
	return id, s.ram.AccessKeySecret(k.AccessKeyID), nil
}
