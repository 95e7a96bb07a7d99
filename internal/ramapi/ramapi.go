package ramapi

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
)

// Version is RAM's API version.
const Version = "2015-05-01"

// ResourceManagerVersion is the API version of CreateServiceLinkedRole.
const ResourceManagerVersion = "2020-03-31"

// Register adds RAM's actions to srv.
func Register(srv *openapi.Server, svc *ram.Service) {
	a := &api{svc: svc}
	for name, h := range map[string]openapi.Handler{
		"CreateUser":              a.createUser,
		"GetUser":                 a.getUser,
		"ListUsers":               a.listUsers,
		"DeleteUser":              a.deleteUser,
		"CreateAccessKey":         a.createAccessKey,
		"ListAccessKeys":          a.listAccessKeys,
		"UpdateAccessKey":         a.updateAccessKey,
		"DeleteAccessKey":         a.deleteAccessKey,
		"CreateRole":              a.createRole,
		"GetRole":                 a.getRole,
		"UpdateRole":              a.updateRole,
		"DeleteRole":              a.deleteRole,
		"ListRoles":               a.listRoles,
		"CreatePolicy":            a.createPolicy,
		"GetPolicy":               a.getPolicy,
		"ListPolicies":            a.listPolicies,
		"DeletePolicy":            a.deletePolicy,
		"CreatePolicyVersion":     a.createPolicyVersion,
		"GetPolicyVersion":        a.getPolicyVersion,
		"ListPolicyVersions":      a.listPolicyVersions,
		"SetDefaultPolicyVersion": a.setDefaultPolicyVersion,
		"DeletePolicyVersion":     a.deletePolicyVersion,
		"AttachPolicyToRole":      a.attach(ram.ToRole, "RoleName"),
		"DetachPolicyFromRole":    a.detach(ram.ToRole, "RoleName"),
		"ListPoliciesForRole":     a.listPoliciesFor(ram.ToRole, "RoleName"),
		"AttachPolicyToUser":      a.attach(ram.ToUser, "UserName"),
		"DetachPolicyFromUser":    a.detach(ram.ToUser, "UserName"),
		"ListPoliciesForUser":     a.listPoliciesFor(ram.ToUser, "UserName"),
		"ListEntitiesForPolicy":   a.listEntitiesForPolicy,
		"CreateServiceLinkedRole": a.createServiceLinkedRole,
	} {
		srv.Handle(Version, name, h)
	}
	srv.Handle(ResourceManagerVersion, "CreateServiceLinkedRole", a.createServiceLinkedRole)
}

type api struct{ svc *ram.Service }

// date formats a time as the SDKs expect.
func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func resource(c *openapi.Call, relative string) string {
	return arn.RAMResource(c.Caller.Account, relative)
}

// --- users ---

type userOut struct {
	UserID      string `json:"UserId"`
	UserName    string `json:"UserName"`
	DisplayName string `json:"DisplayName"`
	Comments    string `json:"Comments,omitempty"`
	CreateDate  string `json:"CreateDate"`
	UpdateDate  string `json:"UpdateDate,omitempty"`
}

func userView(u ram.User) userOut {
	return userOut{UserID: u.UserID, UserName: u.UserName, DisplayName: u.DisplayName, Comments: u.Comments, CreateDate: date(u.CreateDate), UpdateDate: date(u.UpdateDate)}
}

func (a *api) createUser(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("UserName")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:CreateUser", resource(c, "user/"+name)); err != nil {
		return nil, err
	}
	u, err := a.svc.CreateUser(ctx, c.Caller.Account, ram.User{UserName: name, DisplayName: c.Params.Get("DisplayName"), Comments: c.Params.Get("Comments")})
	if err != nil {
		return nil, err
	}
	return map[string]any{"User": userView(u)}, nil
}

func (a *api) getUser(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("UserName")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:GetUser", resource(c, "user/"+name)); err != nil {
		return nil, err
	}
	u, err := a.svc.GetUser(ctx, c.Caller.Account, name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"User": userView(u)}, nil
}

func (a *api) listUsers(ctx context.Context, c *openapi.Call) (any, error) {
	if err := c.Authorize(ctx, "ram:ListUsers", resource(c, "user/*")); err != nil {
		return nil, err
	}
	users, err := a.svc.ListUsers(ctx, c.Caller.Account)
	if err != nil {
		return nil, err
	}
	out := make([]userOut, 0, len(users))
	for _, u := range users {
		out = append(out, userView(u))
	}
	page, marker, truncated, err := paginate(c, out, func(u userOut) string { return u.UserName })
	if err != nil {
		return nil, err
	}
	return map[string]any{"IsTruncated": truncated, "Marker": marker, "Users": map[string]any{"User": page}}, nil
}

func (a *api) deleteUser(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("UserName")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:DeleteUser", resource(c, "user/"+name)); err != nil {
		return nil, err
	}
	return struct{}{}, a.svc.DeleteUser(ctx, c.Caller.Account, name)
}

// --- access keys ---

type keyOut struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret,omitempty"`
	Status          string `json:"Status"`
	CreateDate      string `json:"CreateDate"`
}

// keyOwner is the user a key call concerns: UserName, or the caller itself
// when it is a user, or the account's root.
func keyOwner(c *openapi.Call) (user, res string) {
	user = c.Params.Get("UserName")
	if user == "" && c.Caller.Kind == ram.KindUser {
		user = c.Caller.UserName
	}
	if user == "" {
		return "", resource(c, "root")
	}
	return user, resource(c, "user/"+user)
}

func (a *api) createAccessKey(ctx context.Context, c *openapi.Call) (any, error) {
	user, res := keyOwner(c)
	if err := c.Authorize(ctx, "ram:CreateAccessKey", res); err != nil {
		return nil, err
	}
	k, secret, err := a.svc.CreateAccessKey(ctx, c.Caller.Account, user)
	if err != nil {
		return nil, err
	}
	return map[string]any{"AccessKey": keyOut{AccessKeyID: k.AccessKeyID, AccessKeySecret: secret, Status: string(k.Status), CreateDate: date(k.CreateDate)}}, nil
}

func (a *api) listAccessKeys(ctx context.Context, c *openapi.Call) (any, error) {
	user, res := keyOwner(c)
	if err := c.Authorize(ctx, "ram:ListAccessKeys", res); err != nil {
		return nil, err
	}
	keys, err := a.svc.ListAccessKeys(ctx, c.Caller.Account, user)
	if err != nil {
		return nil, err
	}
	out := make([]keyOut, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyOut{AccessKeyID: k.AccessKeyID, Status: string(k.Status), CreateDate: date(k.CreateDate)})
	}
	return map[string]any{"AccessKeys": map[string]any{"AccessKey": out}}, nil
}

func (a *api) updateAccessKey(ctx context.Context, c *openapi.Call) (any, error) {
	id, err := c.Params.Require("UserAccessKeyId")
	if err != nil {
		return nil, err
	}
	status, err := c.Params.Require("Status")
	if err != nil {
		return nil, err
	}
	user, res := keyOwner(c)
	if err := c.Authorize(ctx, "ram:UpdateAccessKey", res); err != nil {
		return nil, err
	}
	return struct{}{}, a.svc.UpdateAccessKey(ctx, c.Caller.Account, user, id, ram.KeyStatus(status))
}

func (a *api) deleteAccessKey(ctx context.Context, c *openapi.Call) (any, error) {
	id, err := c.Params.Require("UserAccessKeyId")
	if err != nil {
		return nil, err
	}
	user, res := keyOwner(c)
	if err := c.Authorize(ctx, "ram:DeleteAccessKey", res); err != nil {
		return nil, err
	}
	return struct{}{}, a.svc.DeleteAccessKey(ctx, c.Caller.Account, user, id)
}

// --- roles ---

type roleOut struct {
	RoleID                   string `json:"RoleId"`
	RoleName                 string `json:"RoleName"`
	Arn                      string `json:"Arn"`
	Description              string `json:"Description"`
	AssumeRolePolicyDocument string `json:"AssumeRolePolicyDocument,omitempty"`
	MaxSessionDuration       int    `json:"MaxSessionDuration"`
	IsServiceLinkedRole      bool   `json:"IsServiceLinkedRole"`
	RolePrincipalName        string `json:"RolePrincipalName,omitempty"`
	CreateDate               string `json:"CreateDate"`
	UpdateDate               string `json:"UpdateDate"`
}

func roleView(r ram.Role, withTrust bool) roleOut {
	o := roleOut{RoleID: r.RoleID, RoleName: r.RoleName, Arn: r.ARN(), Description: r.Description,
		MaxSessionDuration: r.MaxSessionDuration, IsServiceLinkedRole: r.IsServiceLinkedRole,
		CreateDate: date(r.CreateDate), UpdateDate: date(r.UpdateDate)}
	if withTrust {
		o.AssumeRolePolicyDocument = r.AssumeRolePolicyDocument
	}
	if sl, ok := ram.ServiceLinkedFor(r.RoleName); ok && r.IsServiceLinkedRole {
		o.RolePrincipalName = sl.Service
	}
	return o
}

func (a *api) createRole(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("RoleName")
	if err != nil {
		return nil, err
	}
	doc, err := c.Params.Require("AssumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	maxDur, err := c.Params.Int("MaxSessionDuration", ram.DefaultSessionDuration, ram.MinMaxSessionDuration, ram.MaxMaxSessionDuration)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:CreateRole", resource(c, "role/"+name)); err != nil {
		return nil, err
	}
	r, err := a.svc.CreateRole(ctx, c.Caller.Account, ram.RoleInput{RoleName: name, Description: c.Params.Get("Description"), AssumeRolePolicyDocument: doc, MaxSessionDuration: maxDur})
	if err != nil {
		return nil, err
	}
	return map[string]any{"Role": roleView(r, true)}, nil
}

func (a *api) getRole(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("RoleName")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:GetRole", resource(c, "role/"+name)); err != nil {
		return nil, err
	}
	r, err := a.svc.GetRole(ctx, c.Caller.Account, name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Role": roleView(r, true)}, nil
}

func (a *api) updateRole(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("RoleName")
	if err != nil {
		return nil, err
	}
	var u ram.RoleUpdate
	if c.Params.Has("NewAssumeRolePolicyDocument") {
		s := c.Params.Get("NewAssumeRolePolicyDocument")
		u.NewAssumeRolePolicyDocument = &s
	}
	if c.Params.Has("NewDescription") {
		s := c.Params.Get("NewDescription")
		u.NewDescription = &s
	}
	if c.Params.Has("NewMaxSessionDuration") {
		n, err := c.Params.Int("NewMaxSessionDuration", 0, ram.MinMaxSessionDuration, ram.MaxMaxSessionDuration)
		if err != nil {
			return nil, err
		}
		u.NewMaxSessionDuration = &n
	}
	if err := c.Authorize(ctx, "ram:UpdateRole", resource(c, "role/"+name)); err != nil {
		return nil, err
	}
	r, err := a.svc.UpdateRole(ctx, c.Caller.Account, name, u)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Role": roleView(r, true)}, nil
}

func (a *api) deleteRole(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("RoleName")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:DeleteRole", resource(c, "role/"+name)); err != nil {
		return nil, err
	}
	return struct{}{}, a.svc.DeleteRole(ctx, c.Caller.Account, name)
}

func (a *api) listRoles(ctx context.Context, c *openapi.Call) (any, error) {
	if err := c.Authorize(ctx, "ram:ListRoles", resource(c, "role/*")); err != nil {
		return nil, err
	}
	roles, err := a.svc.ListRoles(ctx, c.Caller.Account)
	if err != nil {
		return nil, err
	}
	out := make([]roleOut, 0, len(roles))
	for _, r := range roles {
		out = append(out, roleView(r, false))
	}
	page, marker, truncated, err := paginate(c, out, func(r roleOut) string { return r.RoleName })
	if err != nil {
		return nil, err
	}
	return map[string]any{"IsTruncated": truncated, "Marker": marker, "Roles": map[string]any{"Role": page}}, nil
}

func (a *api) createServiceLinkedRole(ctx context.Context, c *openapi.Call) (any, error) {
	service, err := c.Params.Require("ServiceName")
	if err != nil {
		return nil, err
	}
	sl, ok := ram.ServiceLinkedFor(service)
	if !ok || !strings.Contains(service, ".") {
		return nil, openapi.InvalidParameter("ServiceName", "ServiceName %q: rolepull knows eci.aliyuncs.com and cr.aliyuncs.com.", service)
	}
	if err := c.Authorize(ctx, "ram:CreateServiceLinkedRole", resource(c, "role/"+sl.RoleName)); err != nil {
		return nil, err
	}
	r, err := a.svc.EnsureServiceLinkedRole(ctx, c.Caller.Account, sl)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Role": roleView(r, true)}, nil
}

// paginate applies Marker/MaxItems to a list sorted by key.
func paginate[T any](c *openapi.Call, items []T, key func(T) string) ([]T, string, bool, error) {
	maxItems, err := c.Params.Int("MaxItems", 100, 1, 1000)
	if err != nil {
		return nil, "", false, err
	}
	sort.Slice(items, func(i, j int) bool { return strings.ToLower(key(items[i])) < strings.ToLower(key(items[j])) })
	if m := strings.ToLower(c.Params.Get("Marker")); m != "" {
		i := sort.Search(len(items), func(i int) bool { return strings.ToLower(key(items[i])) > m })
		items = items[i:]
	}
	if len(items) > maxItems {
		return items[:maxItems], key(items[maxItems-1]), true, nil
	}
	return items, "", false, nil
}
