package crapi

import (
	"context"
	"strings"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/openapi"
)

type domainItem struct {
	Domain string `json:"Domain"`
	Type   string `json:"Type"`
}

type aclItem struct {
	Entry   string `json:"Entry"`
	Comment string `json:"Comment,omitempty"`
}

type linkedVPC struct {
	VpcID         string `json:"VpcId"`
	VswitchID     string `json:"VswitchId,omitempty"`
	IP            string `json:"Ip,omitempty"`
	Status        string `json:"Status,omitempty"`
	DefaultAccess bool   `json:"DefaultAccess"`
}

// endpoint is one network endpoint of an instance, in the union of the
// shapes ListInstanceEndpoint and GetInstanceEndpoint return.
type endpoint struct {
	EndpointType string       `json:"EndpointType"`
	Enable       bool         `json:"Enable"`
	Status       string       `json:"Status"`
	AclEnable    bool         `json:"AclEnable"`
	AclEntries   []aclItem    `json:"AclEntries"`
	Domains      []domainItem `json:"Domains"`
	LinkedVpcs   []linkedVPC  `json:"LinkedVpcs,omitempty"`
}

func status(enabled bool) string {
	if enabled {
		return "RUNNING"
	}
	return "STOPPED"
}

// endpointOf describes an instance's internet or vpc endpoint. An
// Enterprise instance's internet endpoint always applies its allow-list
// (an empty list admits nobody); its vpc endpoint is open exactly to the
// bound VPCs. A Personal instance's endpoints are open.
func (a *api) endpointOf(inst acr.Instance, network acr.Network) endpoint {
	e := endpoint{EndpointType: string(network), AclEntries: []aclItem{}, Domains: []domainItem{}}
	for _, d := range inst.Domains(a.acr.Base()) {
		if d.Network == network {
			e.Domains = append(e.Domains, domainItem{d.Host, string(d.Type)})
		}
	}
	switch network {
	case acr.Internet:
		e.Enable = inst.Internet.Enabled
		e.AclEnable = inst.Enterprise()
		for _, x := range inst.Internet.ACL {
			e.AclEntries = append(e.AclEntries, aclItem{x.Entry, x.Comment})
		}
	case acr.VPC:
		e.Enable = !inst.Enterprise() || len(inst.VPCs) > 0
		e.LinkedVpcs = []linkedVPC{}
		for _, l := range inst.VPCs {
			e.LinkedVpcs = append(e.LinkedVpcs, linkedVPC{VpcID: l.VpcID, VswitchID: l.VswitchID, IP: l.IP, Status: "RUNNING"})
		}
	}
	e.Status = status(e.Enable)
	return e
}

// endpointType reads EndpointType: internet or vpc, any case. def is used
// when it is absent ("" makes it required).
func endpointType(c *openapi.Call, def acr.Network) (acr.Network, error) {
	s := c.Params.Get("EndpointType")
	if s == "" {
		if def == "" {
			_, err := c.Params.Require("EndpointType")
			return "", err
		}
		return def, nil
	}
	switch n := acr.Network(strings.ToLower(s)); n {
	case acr.Internet, acr.VPC:
		return n, nil
	}
	return "", openapi.InvalidParameter("EndpointType", "EndpointType %q: want internet or vpc.", s)
}

// internetOnly refuses EndpointType=vpc for the calls that change the
// internet endpoint, naming the calls that manage VPC access instead.
func internetOnly(c *openapi.Call) error {
	n, err := endpointType(c, acr.Internet)
	if err != nil {
		return err
	}
	if n != acr.Internet {
		return openapi.InvalidParameter("EndpointType", "EndpointType vpc: the vpc endpoint admits exactly the bound VPCs; bind one with CreateInstanceVpcEndpointLinkedVpc, unbind with DeleteInstanceVpcEndpointLinkedVpc. This call takes EndpointType=internet.")
	}
	return nil
}

func (a *api) listInstanceEndpoint(ctx context.Context, c *openapi.Call) (any, error) {
	inst, err := a.authorizedInstance(ctx, c, "ListInstanceEndpoint")
	if err != nil {
		return nil, err
	}
	return struct {
		Endpoints []endpoint `json:"Endpoints"`
		result
	}{[]endpoint{a.endpointOf(inst, acr.Internet), a.endpointOf(inst, acr.VPC)}, success}, nil
}

func (a *api) getInstanceEndpoint(ctx context.Context, c *openapi.Call) (any, error) {
	n, err := endpointType(c, "")
	if err != nil {
		return nil, err
	}
	inst, err := a.authorizedInstance(ctx, c, "GetInstanceEndpoint")
	if err != nil {
		return nil, err
	}
	e := a.endpointOf(inst, n)
	return struct {
		Enable     bool         `json:"Enable"`
		Status     string       `json:"Status"`
		AclEnable  bool         `json:"AclEnable"`
		AclEntries []aclItem    `json:"AclEntries"`
		Domains    []domainItem `json:"Domains"`
		result
	}{e.Enable, e.Status, e.AclEnable, e.AclEntries, e.Domains, success}, nil
}

func (a *api) updateInstanceEndpointStatus(ctx context.Context, c *openapi.Call) (any, error) {
	if err := internetOnly(c); err != nil {
		return nil, err
	}
	if _, err := c.Params.Require("Enable"); err != nil {
		return nil, err
	}
	enable, err := c.Params.Bool("Enable", false)
	if err != nil {
		return nil, err
	}
	inst, err := a.authorizedInstance(ctx, c, "UpdateInstanceEndpointStatus")
	if err != nil {
		return nil, err
	}
	if _, err := a.acr.SetInternet(ctx, c.Caller.Account, inst.InstanceID, enable); err != nil {
		return nil, err
	}
	return success, nil
}

func (a *api) createACL(ctx context.Context, c *openapi.Call) (any, error) {
	if err := internetOnly(c); err != nil {
		return nil, err
	}
	entry, err := c.Params.Require("Entry")
	if err != nil {
		return nil, err
	}
	inst, err := a.authorizedInstance(ctx, c, "CreateInstanceEndpointAclPolicy")
	if err != nil {
		return nil, err
	}
	if _, err := a.acr.AddACL(ctx, c.Caller.Account, inst.InstanceID, entry, c.Params.Get("Comment")); err != nil {
		return nil, err
	}
	return success, nil
}

func (a *api) deleteACL(ctx context.Context, c *openapi.Call) (any, error) {
	if err := internetOnly(c); err != nil {
		return nil, err
	}
	entry, err := c.Params.Require("Entry")
	if err != nil {
		return nil, err
	}
	inst, err := a.authorizedInstance(ctx, c, "DeleteInstanceEndpointAclPolicy")
	if err != nil {
		return nil, err
	}
	if _, err := a.acr.RemoveACL(ctx, c.Caller.Account, inst.InstanceID, entry); err != nil {
		return nil, err
	}
	return success, nil
}

func (a *api) getInstanceVpcEndpoint(ctx context.Context, c *openapi.Call) (any, error) {
	inst, err := a.authorizedInstance(ctx, c, "GetInstanceVpcEndpoint")
	if err != nil {
		return nil, err
	}
	e := a.endpointOf(inst, acr.VPC)
	domains := make([]string, 0, len(e.Domains))
	for _, d := range e.Domains {
		domains = append(domains, d.Domain)
	}
	return struct {
		Domains    []string    `json:"Domains"`
		Enable     bool        `json:"Enable"`
		LinkedVpcs []linkedVPC `json:"LinkedVpcs"`
		ModuleName string      `json:"ModuleName"`
		result
	}{domains, e.Enable, e.LinkedVpcs, "Registry", success}, nil
}

func (a *api) linkVPC(ctx context.Context, c *openapi.Call) (any, error) {
	vpc, err := c.Params.Require("VpcId")
	if err != nil {
		return nil, err
	}
	vsw, err := c.Params.Require("VswitchId")
	if err != nil {
		return nil, err
	}
	inst, err := a.authorizedInstance(ctx, c, "CreateInstanceVpcEndpointLinkedVpc")
	if err != nil {
		return nil, err
	}
	if _, err := a.acr.LinkVPC(ctx, c.Caller.Account, inst.InstanceID, vpc, vsw); err != nil {
		return nil, err
	}
	return success, nil
}

func (a *api) unlinkVPC(ctx context.Context, c *openapi.Call) (any, error) {
	vpc, err := c.Params.Require("VpcId")
	if err != nil {
		return nil, err
	}
	inst, err := a.authorizedInstance(ctx, c, "DeleteInstanceVpcEndpointLinkedVpc")
	if err != nil {
		return nil, err
	}
	// VswitchId is optional here; when given it must be the binding's, so
	// that a caller never removes a binding other than the one it named.
	if vsw := c.Params.Get("VswitchId"); vsw != "" {
		for _, l := range inst.VPCs {
			if l.VpcID == vpc && l.VswitchID != vsw {
				return nil, openapi.InvalidParameter("VswitchId", "VPC %s is bound to %s through vSwitch %s, not %s: send VswitchId=%s or omit it.", vpc, inst.InstanceID, l.VswitchID, vsw, l.VswitchID)
			}
		}
	}
	if _, err := a.acr.UnlinkVPC(ctx, c.Caller.Account, inst.InstanceID, vpc); err != nil {
		return nil, err
	}
	return success, nil
}

func (a *api) createDomain(ctx context.Context, c *openapi.Call) (any, error) {
	domain, err := c.Params.Require("DomainName")
	if err != nil {
		return nil, err
	}
	inst, err := a.authorizedInstance(ctx, c, "CreateInstanceDomain")
	if err != nil {
		return nil, err
	}
	if _, err := a.acr.AddDomain(ctx, c.Caller.Account, inst.InstanceID, domain); err != nil {
		return nil, err
	}
	return success, nil
}

func (a *api) deleteDomain(ctx context.Context, c *openapi.Call) (any, error) {
	domain, err := c.Params.Require("DomainName")
	if err != nil {
		return nil, err
	}
	inst, err := a.authorizedInstance(ctx, c, "DeleteInstanceDomain")
	if err != nil {
		return nil, err
	}
	host := acr.NormalizeHost(domain)
	for _, d := range inst.Domains(a.acr.Base()) {
		if d.Host == host && d.Type == acr.SystemDomain {
			return nil, openapi.InvalidParameter("DomainName", "%s is a default (SYSTEM) domain of %s, which cannot be deleted; only custom (USER) domains can.", host, inst.InstanceID)
		}
	}
	if _, err := a.acr.RemoveDomain(ctx, c.Caller.Account, inst.InstanceID, domain); err != nil {
		return nil, err
	}
	return success, nil
}

func (a *api) listDomains(ctx context.Context, c *openapi.Call) (any, error) {
	inst, err := a.authorizedInstance(ctx, c, "ListInstanceDomain")
	if err != nil {
		return nil, err
	}
	type item struct {
		Domain       string `json:"Domain"`
		Type         string `json:"Type"`
		EndpointType string `json:"EndpointType"`
	}
	items := []item{}
	for _, d := range inst.Domains(a.acr.Base()) {
		items = append(items, item{d.Host, string(d.Type), string(d.Network)})
	}
	return struct {
		Domains []item `json:"Domains"`
		result
	}{items, success}, nil
}
