package ram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/policy"
	"github.com/rolepull/rolepull/internal/store"
)

// MaxPolicyVersions is the vendor's limit of versions kept per custom policy.
const MaxPolicyVersions = 5

func unmarshal(kv store.KV, v any) error {
	if err := json.Unmarshal(kv.Value, v); err != nil {
		return fmt.Errorf("ram: decode %s: %w", kv.Key, err)
	}
	return nil
}

func validatePolicyDocument(doc string) error {
	if doc == "" {
		return invalid("Policy", "PolicyDocument", "the policy document is required")
	}
	if _, err := policy.Parse(policy.Identity, []byte(doc)); err != nil {
		return &Error{Err: ErrInvalid, Entity: "Policy", Field: "PolicyGrammar", Msg: err.Error()}
	}
	return nil
}

// CreatePolicy creates a custom policy whose first version, v1, is its
// default.
func (s *Service) CreatePolicy(ctx context.Context, uid, name, description, doc string) (Policy, error) {
	if !arn.IsPolicyName(name) {
		return Policy{}, invalid("Policy", "PolicyName", "policy name %q: want 1–128 of A-Z a-z 0-9 -, starting with a letter or digit", name)
	}
	if _, ok := s.system[lower(name)]; ok {
		return Policy{}, exists("Policy", "%q is the name of a system policy", name)
	}
	if len(description) > MaxDescription {
		return Policy{}, invalid("Policy", "Description", "description of %d bytes, at most %d", len(description), MaxDescription)
	}
	if err := validatePolicyDocument(doc); err != nil {
		return Policy{}, err
	}
	if err := s.RequireAccount(ctx, uid); err != nil {
		return Policy{}, err
	}
	now := s.now()
	p := Policy{
		PolicyName: name, PolicyType: Custom, Account: uid, Description: description,
		DefaultVersion: "v1", NextVersion: 2, CreateDate: now, UpdateDate: now,
		Versions: []PolicyVersion{{VersionID: "v1", IsDefaultVersion: true, PolicyDocument: doc, CreateDate: now}},
	}
	_, err := s.st.Txn(ctx, []store.Cond{store.Absent(policyKey(uid, name))}, []store.Op{store.Put(policyKey(uid, name), mustJSON(p))})
	if isConflict(err) {
		return Policy{}, exists("Policy", "policy %q already exists in account %s", name, uid)
	}
	if err != nil {
		return Policy{}, fmt.Errorf("ram: create policy: %w", err)
	}
	s.log.Info("policy created", "account", uid, "policy", name)
	return p, nil
}

// GetPolicy returns a system policy, or one of the account's custom
// policies.
func (s *Service) GetPolicy(ctx context.Context, uid string, ptype PolicyType, name string) (Policy, error) {
	p, _, err := s.getPolicy(ctx, uid, ptype, name)
	return p, err
}

func (s *Service) getPolicy(ctx context.Context, uid string, ptype PolicyType, name string) (Policy, int64, error) {
	switch ptype {
	case System:
		sp, ok := s.system[lower(name)]
		if !ok {
			return Policy{}, 0, notFound("Policy", "system policy %q does not exist", name)
		}
		return sp.policy, 0, nil
	case Custom:
		var p Policy
		if !arn.IsPolicyName(name) {
			return p, 0, notFound("Policy", "policy %q does not exist in account %s", name, uid)
		}
		rev, err := s.get(ctx, policyKey(uid, name), &p)
		if errors.Is(err, store.ErrNotFound) {
			return p, 0, notFound("Policy", "policy %q does not exist in account %s", name, uid)
		}
		return p, rev, err
	}
	return Policy{}, 0, invalid("Policy", "PolicyType", "policy type %q: want System or Custom", ptype)
}

// ListPolicies lists system policies, the account's custom policies, or
// both (ptype "").
func (s *Service) ListPolicies(ctx context.Context, uid string, ptype PolicyType) ([]Policy, error) {
	var out []Policy
	if ptype == "" || ptype == System {
		for _, name := range systemPolicyOrder {
			out = append(out, s.system[lower(name)].policy)
		}
	}
	if ptype == "" || ptype == Custom {
		custom, err := list[Policy](ctx, s.st, policyPrefix(uid))
		if err != nil {
			return nil, err
		}
		out = append(out, custom...)
	}
	return out, nil
}

// CreatePolicyVersion adds a version to a custom policy. With setAsDefault
// it becomes the default at once. When the policy already has
// MaxPolicyVersions versions the call fails, unless rotate is set, in which
// case the oldest non-default version is deleted (the vendor's
// DeleteOldestNonDefaultVersionWhenLimitExceeded strategy).
func (s *Service) CreatePolicyVersion(ctx context.Context, uid, name, doc string, setAsDefault, rotate bool) (PolicyVersion, error) {
	if err := validatePolicyDocument(doc); err != nil {
		return PolicyVersion{}, err
	}
	p, rev, err := s.getPolicy(ctx, uid, Custom, name)
	if err != nil {
		return PolicyVersion{}, err
	}
	if len(p.Versions) >= MaxPolicyVersions {
		if !rotate {
			return PolicyVersion{}, limit("Policy", "Policy.Version", "policy %q already has %d versions; delete one or use RotateStrategy=DeleteOldestNonDefaultVersionWhenLimitExceeded", name, len(p.Versions))
		}
		for i, v := range p.Versions {
			if !v.IsDefaultVersion {
				p.Versions = append(p.Versions[:i:i], p.Versions[i+1:]...)
				break
			}
		}
	}
	now := s.now()
	v := PolicyVersion{VersionID: "v" + strconv.Itoa(p.NextVersion), PolicyDocument: doc, CreateDate: now}
	p.NextVersion++
	if setAsDefault {
		for i := range p.Versions {
			p.Versions[i].IsDefaultVersion = false
		}
		v.IsDefaultVersion = true
		p.DefaultVersion = v.VersionID
	}
	p.Versions = append(p.Versions, v)
	p.UpdateDate = now
	if err := s.putPolicy(ctx, uid, p, rev); err != nil {
		return PolicyVersion{}, err
	}
	return v, nil
}

func (s *Service) putPolicy(ctx context.Context, uid string, p Policy, rev int64) error {
	_, err := s.st.Txn(ctx, []store.Cond{store.At(policyKey(uid, p.PolicyName), rev)}, []store.Op{store.Put(policyKey(uid, p.PolicyName), mustJSON(p))})
	if isConflict(err) {
		return conflict("Policy", "Concurrent", "policy %q changed concurrently; retry", p.PolicyName)
	}
	return err
}

// SetDefaultPolicyVersion makes an existing version the default.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, uid, name, versionID string) error {
	p, rev, err := s.getPolicy(ctx, uid, Custom, name)
	if err != nil {
		return err
	}
	found := false
	for i := range p.Versions {
		p.Versions[i].IsDefaultVersion = p.Versions[i].VersionID == versionID
		found = found || p.Versions[i].IsDefaultVersion
	}
	if !found {
		return notFound("PolicyVersion", "policy %q has no version %q", name, versionID)
	}
	p.DefaultVersion = versionID
	p.UpdateDate = s.now()
	return s.putPolicy(ctx, uid, p, rev)
}

// DeletePolicyVersion deletes a non-default version.
func (s *Service) DeletePolicyVersion(ctx context.Context, uid, name, versionID string) error {
	p, rev, err := s.getPolicy(ctx, uid, Custom, name)
	if err != nil {
		return err
	}
	for i, v := range p.Versions {
		if v.VersionID != versionID {
			continue
		}
		if v.IsDefaultVersion {
			return conflict("PolicyVersion", "Default", "version %s is the default of policy %q; set another default first", versionID, name)
		}
		p.Versions = append(p.Versions[:i:i], p.Versions[i+1:]...)
		p.UpdateDate = s.now()
		return s.putPolicy(ctx, uid, p, rev)
	}
	return notFound("PolicyVersion", "policy %q has no version %q", name, versionID)
}

// DeletePolicy deletes a custom policy that is attached to nothing.
func (s *Service) DeletePolicy(ctx context.Context, uid, name string) error {
	_, rev, err := s.getPolicy(ctx, uid, Custom, name)
	if err != nil {
		return err
	}
	att, _, err := s.st.List(ctx, attachedToPrefix(uid, Custom, name))
	if err != nil {
		return err
	}
	if len(att) > 0 {
		return conflict("Policy", "Attachment", "policy %q is still attached to %d principal(s); detach it first", name, len(att))
	}
	// Attaching rewrites the policy record, so this condition also catches
	// an attachment made after the listing.
	_, err = s.st.Txn(ctx, []store.Cond{store.At(policyKey(uid, name), rev)}, []store.Op{store.Delete(policyKey(uid, name))})
	if isConflict(err) {
		return conflict("Policy", "Concurrent", "policy %q changed while being deleted; retry", name)
	}
	return err
}

// AttachPolicy attaches a system or custom policy to a user or role of the
// same account.
func (s *Service) AttachPolicy(ctx context.Context, uid string, ptype PolicyType, pname string, kind PrincipalType, principal string) error {
	conds, ops, a, err := s.attachTxn(ctx, uid, ptype, pname, kind, principal)
	if err != nil {
		return err
	}
	_, err = s.st.Txn(ctx, conds, ops)
	if isConflict(err) {
		if _, err := s.st.Get(ctx, attachKey(uid, kind, principal, ptype, pname)); err == nil {
			return exists("Policy", "policy %q is already attached to %s %q", pname, kind, principal)
		}
		return conflict(entityOf(kind), "Concurrent", "%s %q or policy %q changed concurrently; retry", kind, principal, pname)
	}
	if err != nil {
		return err
	}
	s.log.Info("policy attached", "account", uid, "policy_type", string(a.PolicyType), "policy", a.PolicyName, "principal_type", string(kind), "principal", a.PrincipalName)
	return nil
}

func entityOf(kind PrincipalType) string {
	if kind == ToUser {
		return "User"
	}
	return "Role"
}

// attachTxn builds the transaction that attaches a policy: the attachment
// and its reverse index, plus rewrites of the principal and (custom) policy
// records, so that a concurrent delete of either fails its own
// compare-and-swap instead of leaving a dangling attachment.
func (s *Service) attachTxn(ctx context.Context, uid string, ptype PolicyType, pname string, kind PrincipalType, principal string) ([]store.Cond, []store.Op, Attachment, error) {
	p, prev, err := s.getPolicy(ctx, uid, ptype, pname)
	if err != nil {
		return nil, nil, Attachment{}, err
	}
	var pkey string
	switch kind {
	case ToUser:
		u, err := s.GetUser(ctx, uid, principal)
		if err != nil {
			return nil, nil, Attachment{}, err
		}
		principal, pkey = u.UserName, userKey(uid, u.UserName)
	case ToRole:
		r, err := s.GetRole(ctx, uid, principal)
		if err != nil {
			return nil, nil, Attachment{}, err
		}
		principal, pkey = r.RoleName, roleKey(uid, r.RoleName)
	default:
		return nil, nil, Attachment{}, invalid("Policy", "PrincipalType", "principal type %q: want user or role", kind)
	}
	pkv, err := s.st.Get(ctx, pkey)
	if err != nil {
		return nil, nil, Attachment{}, err
	}
	a := Attachment{PolicyName: p.PolicyName, PolicyType: p.PolicyType, PrincipalType: kind, PrincipalName: principal, AttachDate: s.now()}
	akey := attachKey(uid, kind, principal, p.PolicyType, p.PolicyName)
	conds := []store.Cond{store.Absent(akey), store.At(pkey, pkv.ModRevision)}
	ops := []store.Op{
		store.Put(akey, mustJSON(a)),
		store.Put(attachedToKey(uid, p.PolicyType, p.PolicyName, kind, principal), mustJSON(a)),
		store.Put(pkey, pkv.Value),
	}
	if p.PolicyType == Custom {
		conds = append(conds, store.At(policyKey(uid, p.PolicyName), prev))
		ops = append(ops, store.Put(policyKey(uid, p.PolicyName), mustJSON(p)))
	}
	return conds, ops, a, nil
}

// DetachPolicy removes an attachment.
func (s *Service) DetachPolicy(ctx context.Context, uid string, ptype PolicyType, pname string, kind PrincipalType, principal string) error {
	akey := attachKey(uid, kind, principal, ptype, pname)
	kv, err := s.st.Get(ctx, akey)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Attachment", "policy %q (%s) is not attached to %s %q", pname, ptype, kind, principal)
	}
	if err != nil {
		return err
	}
	_, err = s.st.Txn(ctx, []store.Cond{store.At(akey, kv.ModRevision)},
		[]store.Op{store.Delete(akey), store.Delete(attachedToKey(uid, ptype, pname, kind, principal))})
	if isConflict(err) {
		return conflict("Policy", "Concurrent", "the attachment changed concurrently; retry")
	}
	if err != nil {
		return err
	}
	s.log.Info("policy detached", "account", uid, "policy_type", string(ptype), "policy", pname, "principal_type", string(kind), "principal", principal)
	return nil
}

// ListAttachments lists the policies attached to a user or role.
func (s *Service) ListAttachments(ctx context.Context, uid string, kind PrincipalType, principal string) ([]Attachment, error) {
	return list[Attachment](ctx, s.st, attachPrefix(uid, kind, principal))
}

// ListEntitiesForPolicy lists what a policy is attached to.
func (s *Service) ListEntitiesForPolicy(ctx context.Context, uid string, ptype PolicyType, pname string) ([]Attachment, error) {
	return list[Attachment](ctx, s.st, attachedToPrefix(uid, ptype, pname))
}
