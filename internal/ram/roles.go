package ram

import (
	"context"
	"errors"
	"fmt"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/policy"
	"github.com/rolepull/rolepull/internal/store"
)

// MaxDescription bounds role and policy descriptions (the vendor's limit).
const MaxDescription = 1024

// RoleInput is what CreateRole and UpdateRole take.
type RoleInput struct {
	RoleName                 string
	Description              string
	AssumeRolePolicyDocument string
	MaxSessionDuration       int // 0: the default, 3600
}

// CreateRole creates a role in account uid after validating its trust
// policy.
func (s *Service) CreateRole(ctx context.Context, uid string, in RoleInput) (Role, error) {
	if !arn.IsRoleName(in.RoleName) {
		return Role{}, invalid("Role", "RoleName", "role name %q: want 1–64 of A-Z a-z 0-9 . -, starting with a letter or digit", in.RoleName)
	}
	if isServiceLinkedName(in.RoleName) {
		return Role{}, invalid("Role", "RoleName", "role name %q is reserved for a service-linked role; use CreateServiceLinkedRole", in.RoleName)
	}
	return s.createRole(ctx, uid, in, nil)
}

// createRole creates a role; for a service-linked role (sl non-nil) the
// service's system policy is attached in the same transaction, so the role
// never exists without its permissions.
func (s *Service) createRole(ctx context.Context, uid string, in RoleInput, sl *ServiceLinked) (Role, error) {
	if err := s.validateRoleInput(&in); err != nil {
		return Role{}, err
	}
	if err := s.RequireAccount(ctx, uid); err != nil {
		return Role{}, err
	}
	now := s.now()
	r := Role{
		RoleID:                   randomDigits(19),
		Account:                  uid,
		RoleName:                 in.RoleName,
		Description:              in.Description,
		AssumeRolePolicyDocument: in.AssumeRolePolicyDocument,
		MaxSessionDuration:       in.MaxSessionDuration,
		IsServiceLinkedRole:      sl != nil,
		CreateDate:               now,
		UpdateDate:               now,
	}
	ops := []store.Op{store.Put(roleKey(uid, r.RoleName), mustJSON(r))}
	if sl != nil {
		a := Attachment{PolicyName: sl.PolicyName, PolicyType: System, PrincipalType: ToRole, PrincipalName: r.RoleName, AttachDate: now}
		ops = append(ops,
			store.Put(attachKey(uid, ToRole, r.RoleName, System, sl.PolicyName), mustJSON(a)),
			store.Put(attachedToKey(uid, System, sl.PolicyName, ToRole, r.RoleName), mustJSON(a)))
	}
	_, err := s.st.Txn(ctx, []store.Cond{store.Absent(roleKey(uid, r.RoleName))}, ops)
	if isConflict(err) {
		return Role{}, exists("Role", "role %q already exists in account %s", r.RoleName, uid)
	}
	if err != nil {
		return Role{}, fmt.Errorf("ram: create role: %w", err)
	}
	s.log.Info("role created", "account", uid, "role", r.RoleName, "role_id", r.RoleID)
	return r, nil
}

func (s *Service) validateRoleInput(in *RoleInput) error {
	var errs []error
	if len(in.Description) > MaxDescription {
		errs = append(errs, invalid("Role", "Description", "description of %d bytes, at most %d", len(in.Description), MaxDescription))
	}
	if in.MaxSessionDuration == 0 {
		in.MaxSessionDuration = DefaultSessionDuration
	}
	if in.MaxSessionDuration < MinMaxSessionDuration || in.MaxSessionDuration > MaxMaxSessionDuration {
		errs = append(errs, invalid("Role", "MaxSessionDuration", "MaxSessionDuration %d: want %d–%d seconds", in.MaxSessionDuration, MinMaxSessionDuration, MaxMaxSessionDuration))
	}
	if in.AssumeRolePolicyDocument == "" {
		errs = append(errs, invalid("Role", "AssumeRolePolicyDocument", "the trust policy (AssumeRolePolicyDocument) is required"))
	} else if _, err := policy.Parse(policy.Trust, []byte(in.AssumeRolePolicyDocument)); err != nil {
		errs = append(errs, &Error{Err: ErrInvalid, Entity: "Role", Field: "PolicyGrammar", Msg: "trust policy: " + err.Error()})
	}
	return errors.Join(errs...)
}

// GetRole returns a role by name.
func (s *Service) GetRole(ctx context.Context, uid, name string) (Role, error) {
	r, _, err := s.getRole(ctx, uid, name)
	return r, err
}

func (s *Service) getRole(ctx context.Context, uid, name string) (Role, int64, error) {
	var r Role
	if !arn.IsRoleName(name) {
		return r, 0, notFound("Role", "role %q does not exist in account %s", name, uid)
	}
	rev, err := s.get(ctx, roleKey(uid, name), &r)
	if errors.Is(err, store.ErrNotFound) {
		return r, 0, notFound("Role", "role %q does not exist in account %s", name, uid)
	}
	return r, rev, err
}

// ListRoles returns an account's roles.
func (s *Service) ListRoles(ctx context.Context, uid string) ([]Role, error) {
	return list[Role](ctx, s.st, rolePrefix(uid))
}

// RoleUpdate names the fields UpdateRole changes; nil leaves one as it is.
type RoleUpdate struct {
	NewAssumeRolePolicyDocument *string
	NewDescription              *string
	NewMaxSessionDuration       *int
}

// UpdateRole changes a role's trust policy, description or maximum session
// duration. Service-linked roles are managed by their service and refuse.
func (s *Service) UpdateRole(ctx context.Context, uid, name string, u RoleUpdate) (Role, error) {
	r, rev, err := s.getRole(ctx, uid, name)
	if err != nil {
		return Role{}, err
	}
	if r.IsServiceLinkedRole {
		return Role{}, forbidden("Role", "role %q is a service-linked role; its service manages it", r.RoleName)
	}
	in := RoleInput{RoleName: r.RoleName, Description: r.Description, AssumeRolePolicyDocument: r.AssumeRolePolicyDocument, MaxSessionDuration: r.MaxSessionDuration}
	if u.NewAssumeRolePolicyDocument != nil {
		in.AssumeRolePolicyDocument = *u.NewAssumeRolePolicyDocument
	}
	if u.NewDescription != nil {
		in.Description = *u.NewDescription
	}
	if u.NewMaxSessionDuration != nil {
		in.MaxSessionDuration = *u.NewMaxSessionDuration
		if in.MaxSessionDuration == 0 {
			return Role{}, invalid("Role", "MaxSessionDuration", "MaxSessionDuration 0: want %d–%d seconds", MinMaxSessionDuration, MaxMaxSessionDuration)
		}
	}
	if err := s.validateRoleInput(&in); err != nil {
		return Role{}, err
	}
	r.AssumeRolePolicyDocument, r.Description, r.MaxSessionDuration = in.AssumeRolePolicyDocument, in.Description, in.MaxSessionDuration
	r.UpdateDate = s.now()
	_, err = s.st.Txn(ctx, []store.Cond{store.At(roleKey(uid, name), rev)}, []store.Op{store.Put(roleKey(uid, name), mustJSON(r))})
	if isConflict(err) {
		return Role{}, conflict("Role", "Concurrent", "role %q changed concurrently; retry", name)
	}
	if err != nil {
		return Role{}, err
	}
	s.log.Info("role updated", "account", uid, "role", r.RoleName)
	return r, nil
}

// DeleteRole deletes a role with no attached policies. Its sessions die with
// it: they are bound to its RoleId.
func (s *Service) DeleteRole(ctx context.Context, uid, name string) error {
	r, rev, err := s.getRole(ctx, uid, name)
	if err != nil {
		return err
	}
	if r.IsServiceLinkedRole {
		return forbidden("Role", "role %q is a service-linked role; delete it with DeleteServiceLinkedRole", r.RoleName)
	}
	return s.deleteRole(ctx, r, rev)
}

func (s *Service) deleteRole(ctx context.Context, r Role, rev int64) error {
	att, _, err := s.st.List(ctx, attachPrefix(r.Account, ToRole, r.RoleName))
	if err != nil {
		return err
	}
	if len(att) > 0 && !r.IsServiceLinkedRole {
		return conflict("Role", "Policy", "role %q still has %d attached policy(ies); detach them first", r.RoleName, len(att))
	}
	ops := []store.Op{store.Delete(roleKey(r.Account, r.RoleName))}
	for _, kv := range att { // a service-linked role's own policy goes with it
		var a Attachment
		if err := unmarshal(kv, &a); err != nil {
			return err
		}
		ops = append(ops, store.Delete(kv.Key), store.Delete(attachedToKey(r.Account, a.PolicyType, a.PolicyName, ToRole, r.RoleName)))
	}
	// Attaching a policy rewrites the role, so this condition also fails
	// when a policy was attached after the listing above.
	_, err = s.st.Txn(ctx, []store.Cond{store.At(roleKey(r.Account, r.RoleName), rev)}, ops)
	if isConflict(err) {
		return conflict("Role", "Concurrent", "role %q changed while being deleted; retry", r.RoleName)
	}
	if err != nil {
		return err
	}
	s.log.Info("role deleted", "account", r.Account, "role", r.RoleName, "role_id", r.RoleID)
	return nil
}
