package ramapi

import (
	"context"

	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
)

type policyOut struct {
	PolicyName      string `json:"PolicyName"`
	PolicyType      string `json:"PolicyType"`
	Description     string `json:"Description"`
	DefaultVersion  string `json:"DefaultVersion"`
	CreateDate      string `json:"CreateDate"`
	UpdateDate      string `json:"UpdateDate,omitempty"`
	AttachDate      string `json:"AttachDate,omitempty"`
	AttachmentCount *int   `json:"AttachmentCount,omitempty"`
	PolicyDocument  string `json:"PolicyDocument,omitempty"`
}

type versionOut struct {
	VersionID        string `json:"VersionId"`
	IsDefaultVersion bool   `json:"IsDefaultVersion"`
	PolicyDocument   string `json:"PolicyDocument"`
	CreateDate       string `json:"CreateDate"`
}

func policyView(p ram.Policy) policyOut {
	return policyOut{PolicyName: p.PolicyName, PolicyType: string(p.PolicyType), Description: p.Description,
		DefaultVersion: p.DefaultVersion, CreateDate: date(p.CreateDate), UpdateDate: date(p.UpdateDate)}
}

func versionView(v ram.PolicyVersion) versionOut {
	return versionOut{VersionID: v.VersionID, IsDefaultVersion: v.IsDefaultVersion, PolicyDocument: v.PolicyDocument, CreateDate: date(v.CreateDate)}
}

// policyType reads PolicyType, required where the vendor requires it.
func policyType(c *openapi.Call, required bool) (ram.PolicyType, error) {
	s := c.Params.Get("PolicyType")
	if s == "" && !required {
		return "", nil
	}
	if s == "" {
		_, err := c.Params.Require("PolicyType")
		return "", err
	}
	t, ok := ram.ParsePolicyType(s)
	if !ok {
		return "", openapi.InvalidParameter("PolicyType", "PolicyType %q: want System or Custom.", s)
	}
	return t, nil
}

func (a *api) createPolicy(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("PolicyName")
	if err != nil {
		return nil, err
	}
	doc, err := c.Params.Require("PolicyDocument")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:CreatePolicy", resource(c, "policy/"+name)); err != nil {
		return nil, err
	}
	p, err := a.svc.CreatePolicy(ctx, c.Caller.Account, name, c.Params.Get("Description"), doc)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Policy": policyView(p)}, nil
}

func (a *api) getPolicy(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("PolicyName")
	if err != nil {
		return nil, err
	}
	t, err := policyType(c, true)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:GetPolicy", resource(c, "policy/"+name)); err != nil {
		return nil, err
	}
	p, err := a.svc.GetPolicy(ctx, c.Caller.Account, t, name)
	if err != nil {
		return nil, err
	}
	atts, err := a.svc.ListEntitiesForPolicy(ctx, c.Caller.Account, t, name)
	if err != nil {
		return nil, err
	}
	out := policyView(p)
	n := len(atts)
	out.AttachmentCount = &n
	def := p.Default()
	out.PolicyDocument = def.PolicyDocument
	return map[string]any{"Policy": out, "DefaultPolicyVersion": versionView(def)}, nil
}

func (a *api) listPolicies(ctx context.Context, c *openapi.Call) (any, error) {
	t, err := policyType(c, false)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:ListPolicies", resource(c, "policy/*")); err != nil {
		return nil, err
	}
	ps, err := a.svc.ListPolicies(ctx, c.Caller.Account, t)
	if err != nil {
		return nil, err
	}
	out := make([]policyOut, 0, len(ps))
	for _, p := range ps {
		out = append(out, policyView(p))
	}
	page, marker, truncated, err := paginate(c, out, func(p policyOut) string { return p.PolicyName })
	if err != nil {
		return nil, err
	}
	return map[string]any{"IsTruncated": truncated, "Marker": marker, "Policies": map[string]any{"Policy": page}}, nil
}

func (a *api) deletePolicy(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("PolicyName")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:DeletePolicy", resource(c, "policy/"+name)); err != nil {
		return nil, err
	}
	return struct{}{}, a.svc.DeletePolicy(ctx, c.Caller.Account, name)
}

func (a *api) createPolicyVersion(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("PolicyName")
	if err != nil {
		return nil, err
	}
	doc, err := c.Params.Require("PolicyDocument")
	if err != nil {
		return nil, err
	}
	setDefault, err := c.Params.Bool("SetAsDefault", false)
	if err != nil {
		return nil, err
	}
	rotate := false
	switch s := c.Params.Get("RotateStrategy"); s {
	case "", "None":
	case "DeleteOldestNonDefaultVersionWhenLimitExceeded":
		rotate = true
	default:
		return nil, openapi.InvalidParameter("RotateStrategy", "RotateStrategy %q: want None or DeleteOldestNonDefaultVersionWhenLimitExceeded.", s)
	}
	if err := c.Authorize(ctx, "ram:CreatePolicyVersion", resource(c, "policy/"+name)); err != nil {
		return nil, err
	}
	v, err := a.svc.CreatePolicyVersion(ctx, c.Caller.Account, name, doc, setDefault, rotate)
	if err != nil {
		return nil, err
	}
	return map[string]any{"PolicyVersion": versionView(v)}, nil
}

func (a *api) getPolicyVersion(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("PolicyName")
	if err != nil {
		return nil, err
	}
	vid, err := c.Params.Require("VersionId")
	if err != nil {
		return nil, err
	}
	t, err := policyType(c, true)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:GetPolicyVersion", resource(c, "policy/"+name)); err != nil {
		return nil, err
	}
	p, err := a.svc.GetPolicy(ctx, c.Caller.Account, t, name)
	if err != nil {
		return nil, err
	}
	for _, v := range p.Versions {
		if v.VersionID == vid {
			return map[string]any{"PolicyVersion": versionView(v)}, nil
		}
	}
	return nil, openapi.Errorf(404, "EntityNotExist.Policy.Version", "Policy %q has no version %q.", name, vid)
}

func (a *api) listPolicyVersions(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("PolicyName")
	if err != nil {
		return nil, err
	}
	t, err := policyType(c, true)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:ListPolicyVersions", resource(c, "policy/"+name)); err != nil {
		return nil, err
	}
	p, err := a.svc.GetPolicy(ctx, c.Caller.Account, t, name)
	if err != nil {
		return nil, err
	}
	out := make([]versionOut, 0, len(p.Versions))
	for _, v := range p.Versions {
		out = append(out, versionView(v))
	}
	return map[string]any{"PolicyVersions": map[string]any{"PolicyVersion": out}}, nil
}

func (a *api) setDefaultPolicyVersion(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("PolicyName")
	if err != nil {
		return nil, err
	}
	vid, err := c.Params.Require("VersionId")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:SetDefaultPolicyVersion", resource(c, "policy/"+name)); err != nil {
		return nil, err
	}
	return struct{}{}, a.svc.SetDefaultPolicyVersion(ctx, c.Caller.Account, name, vid)
}

func (a *api) deletePolicyVersion(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("PolicyName")
	if err != nil {
		return nil, err
	}
	vid, err := c.Params.Require("VersionId")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:DeletePolicyVersion", resource(c, "policy/"+name)); err != nil {
		return nil, err
	}
	return struct{}{}, a.svc.DeletePolicyVersion(ctx, c.Caller.Account, name, vid)
}

// attach and detach are authorized on the principal and on the policy,
// separately: the caller needs the action on both.
func (a *api) attach(kind ram.PrincipalType, param string) openapi.Handler {
	return a.attachment(kind, param, "ram:Attach", func(ctx context.Context, c *openapi.Call, t ram.PolicyType, p, who string) error {
		return a.svc.AttachPolicy(ctx, c.Caller.Account, t, p, kind, who)
	})
}

func (a *api) detach(kind ram.PrincipalType, param string) openapi.Handler {
	return a.attachment(kind, param, "ram:Detach", func(ctx context.Context, c *openapi.Call, t ram.PolicyType, p, who string) error {
		return a.svc.DetachPolicy(ctx, c.Caller.Account, t, p, kind, who)
	})
}

func (a *api) attachment(kind ram.PrincipalType, param, verb string, do func(context.Context, *openapi.Call, ram.PolicyType, string, string) error) openapi.Handler {
	return func(ctx context.Context, c *openapi.Call) (any, error) {
		t, err := policyType(c, true)
		if err != nil {
			return nil, err
		}
		p, err := c.Params.Require("PolicyName")
		if err != nil {
			return nil, err
		}
		who, err := c.Params.Require(param)
		if err != nil {
			return nil, err
		}
		action := verb + "PolicyTo" + titleKind(kind)
		if verb == "ram:Detach" {
			action = verb + "PolicyFrom" + titleKind(kind)
		}
		if err := c.Authorize(ctx, action, resource(c, string(kind)+"/"+who)); err != nil {
			return nil, err
		}
		if err := c.Authorize(ctx, action, resource(c, "policy/"+p)); err != nil {
			return nil, err
		}
		return struct{}{}, do(ctx, c, t, p, who)
	}
}

func titleKind(kind ram.PrincipalType) string {
	if kind == ram.ToUser {
		return "User"
	}
	return "Role"
}

func (a *api) listPoliciesFor(kind ram.PrincipalType, param string) openapi.Handler {
	return func(ctx context.Context, c *openapi.Call) (any, error) {
		who, err := c.Params.Require(param)
		if err != nil {
			return nil, err
		}
		if err := c.Authorize(ctx, "ram:ListPoliciesFor"+titleKind(kind), resource(c, string(kind)+"/"+who)); err != nil {
			return nil, err
		}
		atts, err := a.svc.ListAttachments(ctx, c.Caller.Account, kind, who)
		if err != nil {
			return nil, err
		}
		out := make([]policyOut, 0, len(atts))
		for _, at := range atts {
			p, err := a.svc.GetPolicy(ctx, c.Caller.Account, at.PolicyType, at.PolicyName)
			if err != nil {
				continue // detached concurrently
			}
			v := policyView(p)
			v.AttachDate = date(at.AttachDate)
			v.UpdateDate = ""
			out = append(out, v)
		}
		return map[string]any{"Policies": map[string]any{"Policy": out}}, nil
	}
}

func (a *api) listEntitiesForPolicy(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("PolicyName")
	if err != nil {
		return nil, err
	}
	t, err := policyType(c, true)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "ram:ListEntitiesForPolicy", resource(c, "policy/"+name)); err != nil {
		return nil, err
	}
	atts, err := a.svc.ListEntitiesForPolicy(ctx, c.Caller.Account, t, name)
	if err != nil {
		return nil, err
	}
	roles, users := []map[string]string{}, []map[string]string{}
	for _, at := range atts {
		e := map[string]string{"AttachDate": date(at.AttachDate)}
		if at.PrincipalType == ram.ToRole {
			e["RoleName"] = at.PrincipalName
			roles = append(roles, e)
		} else {
			e["UserName"] = at.PrincipalName
			users = append(users, e)
		}
	}
	return map[string]any{"Roles": map[string]any{"Role": roles}, "Users": map[string]any{"User": users}, "Groups": map[string]any{"Group": []any{}}}, nil
}
