package ram

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ServiceLinked describes a service-linked role: a role only its service
// may assume, whose permissions the service defines, created on first need.
type ServiceLinked struct {
	RoleName    string
	Service     string // the trusted service principal
	PolicyName  string // the system policy attached to it
	Description string
}

// The service-linked roles rolepull knows.
var (
	ECIServiceLinkedRole = ServiceLinked{
		RoleName:    "AliyunServiceRoleForECI",
		Service:     "eci.aliyuncs.com",
		PolicyName:  "AliyunServiceRolePolicyForECI",
		Description: "Elastic Container Instance uses this role to pull images from Container Registry instances of this account.",
	}
	PrivateZoneServiceLinkedRole = ServiceLinked{
		RoleName:    "AliyunServiceRoleForContainerRegistryAccessCustomerPrivateZone",
		Service:     "cr.aliyuncs.com",
		PolicyName:  "AliyunServiceRolePolicyForContainerRegistryAccessCustomerPrivateZone",
		Description: "Container Registry uses this role to write PrivateZone records for the VPCs bound to an instance.",
	}
)

var serviceLinkedRoles = []ServiceLinked{ECIServiceLinkedRole, PrivateZoneServiceLinkedRole}

func isServiceLinkedName(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "aliyunservicerolefor")
}

// ServiceLinkedFor returns the service-linked role of a service name
// (eci.aliyuncs.com) or role name.
func ServiceLinkedFor(serviceOrRole string) (ServiceLinked, bool) {
	for _, sl := range serviceLinkedRoles {
		if strings.EqualFold(sl.Service, serviceOrRole) || strings.EqualFold(sl.RoleName, serviceOrRole) {
			return sl, true
		}
	}
	return ServiceLinked{}, false
}

func (sl ServiceLinked) trustPolicy() string {
	return `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["` + sl.Service + `"]}}]}`
}

// EnsureServiceLinkedRole returns the account's service-linked role for a
// service, creating it (trusting only that service, with its system policy
// attached) when it does not exist yet. Safe to call concurrently.
func (s *Service) EnsureServiceLinkedRole(ctx context.Context, uid string, sl ServiceLinked) (Role, error) {
	if r, err := s.GetRole(ctx, uid, sl.RoleName); err == nil {
		return r, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Role{}, err
	}
	r, err := s.createRole(ctx, uid, RoleInput{
		RoleName:                 sl.RoleName,
		Description:              sl.Description,
		AssumeRolePolicyDocument: sl.trustPolicy(),
		MaxSessionDuration:       DefaultSessionDuration, // fixed for service-linked roles
	}, &sl)
	if errors.Is(err, ErrExists) {
		return s.GetRole(ctx, uid, sl.RoleName) // lost a race to another caller: fine
	}
	if err != nil {
		return Role{}, fmt.Errorf("ram: create %s: %w", sl.RoleName, err)
	}
	s.log.Info("service-linked role created", "account", uid, "role", sl.RoleName, "service", sl.Service)
	return r, nil
}

// DeleteServiceLinkedRole deletes a service-linked role and its attachment.
func (s *Service) DeleteServiceLinkedRole(ctx context.Context, uid, roleName string) error {
	r, rev, err := s.getRole(ctx, uid, roleName)
	if err != nil {
		return err
	}
	if !r.IsServiceLinkedRole {
		return invalid("Role", "RoleName", "role %q is not a service-linked role", roleName)
	}
	return s.deleteRole(ctx, r, rev)
}
