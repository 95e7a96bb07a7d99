package ram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rolepull/rolepull/internal/store"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/policy"
)

// IdentityKind says what kind of caller an Identity is.
type IdentityKind int

const (
	KindRoot IdentityKind = iota + 1
	KindUser
	KindRoleSession
	KindService
)

func (k IdentityKind) String() string {
	switch k {
	case KindRoot:
		return "root"
	case KindUser:
		return "user"
	case KindRoleSession:
		return "role session"
	case KindService:
		return "service"
	}
	return fmt.Sprintf("IdentityKind(%d)", int(k))
}

// Identity is an authenticated caller.
type Identity struct {
	Kind        IdentityKind
	Account     string // the account the identity belongs to (empty for a service)
	UserName    string // KindUser
	RoleName    string // KindRoleSession
	RoleID      string // KindRoleSession: the immutable id the session is bound to
	SessionName string // KindRoleSession
	Service     string // KindService: e.g. eci.aliyuncs.com
	AccessKeyID string // the credential used, for audit
	// SessionPolicy narrows a role session (nil: no session policy).
	SessionPolicy *policy.Policy
	// Expiration is when a role session ends (zero for long-term keys).
	Expiration time.Time
}

// RootIdentity returns the root identity of an account.
func RootIdentity(account string) Identity { return Identity{Kind: KindRoot, Account: account} }

// ServiceIdentity returns the identity of a cloud service principal.
func ServiceIdentity(service string) Identity { return Identity{Kind: KindService, Service: service} }

// ARN names the identity as GetCallerIdentity reports it.
func (id Identity) ARN() string {
	switch id.Kind {
	case KindRoot:
		return arn.RootARN(id.Account)
	case KindUser:
		return arn.UserARN(id.Account, id.UserName)
	case KindRoleSession:
		return arn.AssumedRoleARN(id.Account, id.RoleName, id.SessionName)
	case KindService:
		return id.Service
	}
	return ""
}

// Principals is every principal the identity counts as in a trust policy:
// a RAM user or role session counts as its account's root (the vendor's
// "trust the whole account" form) and as itself; a service only as itself.
// The root identity is listed too, though STS refuses it before any trust
// policy is read.
func (id Identity) Principals() []policy.PrincipalID {
	ram := func(v string) policy.PrincipalID { return policy.PrincipalID{Type: "RAM", Value: v} }
	switch id.Kind {
	case KindRoot:
		return []policy.PrincipalID{ram(arn.RootARN(id.Account))}
	case KindUser:
		return []policy.PrincipalID{ram(arn.RootARN(id.Account)), ram(arn.UserARN(id.Account, id.UserName))}
	case KindRoleSession:
		return []policy.PrincipalID{ram(arn.RootARN(id.Account)), ram(arn.RoleARN(id.Account, id.RoleName))}
	case KindService:
		return []policy.PrincipalID{{Type: "Service", Value: id.Service}}
	}
	return nil
}

// Request is one authorization question.
type Request struct {
	Action    string              // e.g. "cr:PullRepository"
	Resources []string            // a resource set: allowed if any member is allowed and none denied
	Context   map[string][]string // condition keys (acs:SourceIp, sts:ExternalId, ...)
}

// Decision is the Authorizer's answer.
type Decision struct {
	Allowed bool
	// Result holds the statements that decided (empty for root, and for a
	// denial that no statement produced).
	Result policy.Result
	// Reason says, for a person, why: which identity, action and resource,
	// and which policy decided or that none allowed it.
	Reason string
}

// ActionAssumeRole is the one action whose resource may live in another
// account: the target role's trust policy decides that half.
const ActionAssumeRole = "sts:AssumeRole"

// Authorize decides whether id may perform req. A non-nil error means the
// question could not be answered (store failure); callers deny.
func (s *Service) Authorize(ctx context.Context, id Identity, req Request) (Decision, error) {
	deny := func(format string, args ...any) (Decision, error) {
		return Decision{Reason: fmt.Sprintf(format, args...)}, nil
	}
	who := id.ARN()
	if req.Action == "" || len(req.Resources) == 0 {
		return deny("%s: empty action or resource set", who)
	}
	what := req.Action + " on " + strings.Join(req.Resources, ", ")
	if !strings.EqualFold(req.Action, ActionAssumeRole) {
		for _, r := range req.Resources {
			a, err := arn.ParsePattern(r)
			if err != nil {
				return deny("%s may not %s: resource %q is not a valid ARN", who, what, r)
			}
			if a.Account != id.Account {
				return deny("%s may not %s: the resource belongs to account %s; cross-account access goes through a role that account owns", who, what, a.Account)
			}
		}
	}
	c := make(map[string][]string, len(req.Context)+2)
	for k, v := range req.Context {
		c[k] = v
	}
	c["acs:CurrentTime"] = []string{s.clock.Now().UTC().Format(time.RFC3339)}
	c["acs:PrincipalArn"] = []string{who}
	preq := policy.Request{Action: req.Action, Resources: req.Resources, Context: c}

	switch id.Kind {
	case KindRoot:
		if strings.EqualFold(req.Action, ActionAssumeRole) {
			return deny("Roles may not be assumed by root accounts.")
		}
		if err := s.RequireAccount(ctx, id.Account); err != nil {
			return deny("%s: %v", who, err)
		}
		return Decision{Allowed: true, Reason: who + " is the root of the owning account"}, nil
	case KindService:
		return deny("%s holds no permissions of its own; it acts only by assuming a role that trusts it", who)
	case KindUser:
		if _, err := s.GetUser(ctx, id.Account, id.UserName); err != nil {
			if errors.Is(err, ErrNotFound) {
				return deny("%s no longer exists", who)
			}
			return Decision{}, err
		}
		set, err := s.attachedPolicies(ctx, id.Account, ToUser, id.UserName)
		if err != nil {
			return Decision{}, err
		}
		return explain(who, what, "user "+id.UserName, policy.Evaluate(preq, set...)), nil
	case KindRoleSession:
		role, err := s.GetRole(ctx, id.Account, id.RoleName)
		if errors.Is(err, ErrNotFound) || err == nil && role.RoleID != id.RoleID {
			return deny("%s: role %s was deleted since the session began", who, arn.RoleARN(id.Account, id.RoleName))
		}
		if err != nil {
			return Decision{}, err
		}
		set, err := s.attachedPolicies(ctx, id.Account, ToRole, role.RoleName)
		if err != nil {
			return Decision{}, err
		}
		res := policy.Evaluate(preq, set...)
		if id.SessionPolicy == nil {
			return explain(who, what, "role "+role.RoleName, res), nil
		}
		sess := policy.Evaluate(preq, policy.Named{Name: "session policy", Policy: id.SessionPolicy})
		return explainSession(who, what, role.RoleName, res, sess), nil
	}
	return deny("unknown identity kind %v", id.Kind)
}

func explain(who, what, holder string, res policy.Result) Decision {
	d := Decision{Result: res}
	switch res.Decision {
	case policy.Allowed:
		d.Allowed = true
		d.Reason = fmt.Sprintf("%s may %s: allowed by %s", who, what, refs(res.Deciding))
	case policy.Denied:
		d.Reason = fmt.Sprintf("%s may not %s: explicitly denied by %s", who, what, refs(res.Deciding))
	default:
		d.Reason = fmt.Sprintf("%s may not %s: no policy attached to %s allows it", who, what, holder)
	}
	return d
}

func explainSession(who, what, role string, roleRes, sessRes policy.Result) Decision {
	res := policy.Intersect(roleRes, sessRes)
	d := Decision{Result: res}
	switch {
	case res.Decision == policy.Allowed:
		d.Allowed = true
		d.Reason = fmt.Sprintf("%s may %s: allowed by %s and by the session policy", who, what, refs(roleRes.Deciding))
	case res.Decision == policy.Denied:
		d.Reason = fmt.Sprintf("%s may not %s: explicitly denied by %s", who, what, refs(res.Deciding))
	case roleRes.Decision != policy.Allowed:
		d.Reason = fmt.Sprintf("%s may not %s: no policy attached to role %s allows it", who, what, role)
	default:
		d.Reason = fmt.Sprintf("%s may not %s: the session policy does not allow it", who, what)
	}
	return d
}

func refs(rs []policy.Ref) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s Statement[%d]", r.Policy, r.Statement)
		if r.Sid != "" {
			fmt.Fprintf(&b, " (%s)", r.Sid)
		}
	}
	return b.String()
}

// attachedPolicies compiles the default versions of the policies attached
// to a principal. It reads the store every time, so a detach takes effect
// on the next decision.
func (s *Service) attachedPolicies(ctx context.Context, uid string, kind PrincipalType, principal string) ([]policy.Named, error) {
	atts, err := s.ListAttachments(ctx, uid, kind, principal)
	if err != nil {
		return nil, err
	}
	out := make([]policy.Named, 0, len(atts))
	for _, a := range atts {
		switch a.PolicyType {
		case System:
			sp, ok := s.system[lower(a.PolicyName)]
			if !ok {
				continue // a system policy this build no longer has grants nothing
			}
			out = append(out, policy.Named{Name: "system policy " + sp.policy.PolicyName, Policy: sp.compiled})
		case Custom:
			named, found, err := s.customPolicy(ctx, uid, a.PolicyName)
			if err != nil {
				return nil, err
			}
			if found {
				out = append(out, named)
			}
		}
	}
	return out, nil
}

// customPolicy reads a custom policy's record and returns its compiled
// default version, from the cache when the record's revision is the one
// cached.
func (s *Service) customPolicy(ctx context.Context, uid, name string) (policy.Named, bool, error) {
	if !arn.IsPolicyName(name) {
		return policy.Named{}, false, nil
	}
	key := policyKey(uid, name)
	kv, err := s.st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return policy.Named{}, false, nil
	}
	if err != nil {
		return policy.Named{}, false, err
	}
	s.mu.Lock()
	c, ok := s.stored[key]
	s.mu.Unlock()
	if ok && c.rev == kv.ModRevision {
		return c.named, true, nil
	}
	var p Policy
	if err := json.Unmarshal(kv.Value, &p); err != nil {
		return policy.Named{}, false, fmt.Errorf("ram: decode %s: %w", key, err)
	}
	compiled, err := s.compile(policy.Identity, p.Default().PolicyDocument)
	if err != nil {
		return policy.Named{}, false, fmt.Errorf("ram: stored policy %s no longer parses: %w", p.PolicyName, err)
	}
	named := policy.Named{Name: "policy " + p.PolicyName + " " + p.DefaultVersion, Policy: compiled}
	s.mu.Lock()
	if len(s.stored) >= maxCompiled {
		clear(s.stored)
	}
	s.stored[key] = storedPolicy{rev: kv.ModRevision, named: named}
	s.mu.Unlock()
	return named, true, nil
}

// TrustAdmits evaluates a role's trust policy for a caller: may caller
// assume role? It answers only the trust half; the caller's own
// sts:AssumeRole permission is Authorize's.
func (s *Service) TrustAdmits(ctx context.Context, role Role, caller Identity, c map[string][]string) (Decision, error) {
	target := role.ARN()
	who := caller.ARN()
	tp, err := s.compile(policy.Trust, role.AssumeRolePolicyDocument)
	if err != nil {
		return Decision{}, fmt.Errorf("ram: trust policy of %s no longer parses: %w", target, err)
	}
	cc := make(map[string][]string, len(c)+1)
	for k, v := range c {
		cc[k] = v
	}
	cc["acs:CurrentTime"] = []string{s.clock.Now().UTC().Format(time.RFC3339)}
	res := policy.Evaluate(policy.Request{Action: ActionAssumeRole, Principals: caller.Principals(), Context: cc},
		policy.Named{Name: "trust policy of " + target, Policy: tp})
	d := Decision{Result: res}
	switch res.Decision {
	case policy.Allowed:
		d.Allowed = true
		d.Reason = fmt.Sprintf("the trust policy of %s admits %s (%s)", target, who, refs(res.Deciding))
	case policy.Denied:
		d.Reason = fmt.Sprintf("the trust policy of %s explicitly denies %s (%s)", target, who, refs(res.Deciding))
	default:
		d.Reason = fmt.Sprintf("the trust policy of %s does not admit %s", target, who)
	}
	return d, nil
}
