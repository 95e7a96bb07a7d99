package crapi

import (
	"context"
	"sort"
	"strings"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/openapi"
)

// instanceTypes maps CreateInstance's InstanceType to a specification.
var instanceTypes = map[string]string{
	"basic":    acr.SpecEnterpriseBasic,
	"standard": acr.SpecEnterpriseStandard,
	"advanced": acr.SpecEnterpriseAdvanced,
	"personal": acr.SpecPersonal,
}

// instanceStatus is every instance's status: rolepull's are ready as soon
// as they exist.
const instanceStatus = "RUNNING"

func (a *api) createInstance(ctx context.Context, c *openapi.Call) (any, error) {
	typ, err := c.Params.Require("InstanceType")
	if err != nil {
		return nil, err
	}
	spec, ok := instanceTypes[strings.ToLower(typ)]
	if !ok {
		return nil, openapi.InvalidParameter("InstanceType", "InstanceType %q: want Basic, Standard or Advanced (Enterprise editions) or Personal.", typ)
	}
	name := c.Params.Get("InstanceName")
	if spec != acr.SpecPersonal && name == "" {
		return nil, openapi.InvalidParameter("InstanceName", "InstanceName is required for an Enterprise instance (InstanceType %s): 3–30 of a-z 0-9 -, not starting or ending with -.", typ)
	}
	region, named, err := a.requestRegion(c)
	if err != nil {
		return nil, err
	}
	if !named {
		region = c.Region
	}
	if err := c.Authorize(ctx, "cr:CreateInstance", "acs:cr:"+region+":"+c.Caller.Account+":instance/*"); err != nil {
		return nil, err
	}
	inst, err := a.acr.CreateInstance(ctx, c.Caller.Account, region, name, spec)
	if err != nil {
		return nil, err
	}
	return struct {
		InstanceID string `json:"InstanceId"`
		result
	}{inst.InstanceID, success}, nil
}

func (a *api) getInstance(ctx context.Context, c *openapi.Call) (any, error) {
	inst, err := a.authorizedInstance(ctx, c, "GetInstance")
	if err != nil {
		return nil, err
	}
	return struct {
		InstanceID            string `json:"InstanceId"`
		InstanceName          string `json:"InstanceName"`
		InstanceSpecification string `json:"InstanceSpecification"`
		InstanceStatus        string `json:"InstanceStatus"`
		CreateTime            int64  `json:"CreateTime"`
		ModifiedTime          int64  `json:"ModifiedTime"`
		result
	}{inst.InstanceID, inst.InstanceName, inst.Specification, instanceStatus, millis(inst.CreateTime), millis(inst.ModifiedTime), success}, nil
}

type instanceItem struct {
	InstanceID            string `json:"InstanceId"`
	InstanceName          string `json:"InstanceName"`
	InstanceSpecification string `json:"InstanceSpecification"`
	InstanceStatus        string `json:"InstanceStatus"`
	RegionID              string `json:"RegionId"`
	CreateTime            string `json:"CreateTime"`
	ModifiedTime          string `json:"ModifiedTime"`
}

func (a *api) listInstance(ctx context.Context, c *openapi.Call) (any, error) {
	p, err := pageOf(c)
	if err != nil {
		return nil, err
	}
	region, named, err := a.requestRegion(c)
	if err != nil {
		return nil, err
	}
	resRegion := region
	if !named {
		resRegion = "*"
	}
	if err := c.Authorize(ctx, "cr:ListInstance", "acs:cr:"+resRegion+":"+c.Caller.Account+":instance/*"); err != nil {
		return nil, err
	}
	insts, err := a.acr.ListInstances(ctx, c.Caller.Account, region)
	if err != nil {
		return nil, err
	}
	sort.Slice(insts, func(i, j int) bool {
		if !insts[i].CreateTime.Equal(insts[j].CreateTime) {
			return insts[i].CreateTime.Before(insts[j].CreateTime)
		}
		return insts[i].InstanceID < insts[j].InstanceID
	})
	name, status := c.Params.Get("InstanceName"), c.Params.Get("InstanceStatus")
	items := []instanceItem{}
	for _, inst := range insts {
		if name != "" && inst.InstanceName != name || status != "" && !strings.EqualFold(status, instanceStatus) {
			continue
		}
		items = append(items, instanceItem{inst.InstanceID, inst.InstanceName, inst.Specification, instanceStatus, inst.Region,
			millisString(inst.CreateTime), millisString(inst.ModifiedTime)})
	}
	return struct {
		Instances  []instanceItem `json:"Instances"`
		PageNo     int            `json:"PageNo"`
		PageSize   int            `json:"PageSize"`
		TotalCount int            `json:"TotalCount"`
		result
	}{slice(p, items), p.no, p.size, len(items), success}, nil
}

func (a *api) deleteInstance(ctx context.Context, c *openapi.Call) (any, error) {
	inst, err := a.authorizedInstance(ctx, c, "DeleteInstance")
	if err != nil {
		return nil, err
	}
	if err := a.acr.DeleteInstance(ctx, c.Caller.Account, inst.InstanceID); err != nil {
		return nil, err
	}
	return success, nil
}
