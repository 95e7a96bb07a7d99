package crapi

import (
	"context"
	"fmt"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/openapi"
)

// authorizeToken asks RAM for cr:GetAuthorizationToken on the instance and
// on its instance-level repository ARN (reference domain.md §1.7: older
// documents authorize it on the instance, newer ones on repository/ID).
func authorizeToken(ctx context.Context, c *openapi.Call, inst acr.Instance) error {
	return c.Authorize(ctx, "cr:GetAuthorizationToken", instanceARN(inst), repositoryARN(inst, "", ""))
}

// getAuthorizationToken issues a temporary password that stands for the
// caller on one instance, for min(1 h, the rest of the caller's session).
func (a *api) getAuthorizationToken(ctx context.Context, c *openapi.Call) (any, error) {
	inst, err := a.instance(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := authorizeToken(ctx, c, inst); err != nil {
		return nil, err
	}
	pw, err := a.acr.IssueTempPassword(c.Caller, inst)
	if err != nil {
		return nil, err
	}
	return struct {
		TempUsername       string `json:"TempUsername"`
		AuthorizationToken string `json:"AuthorizationToken"`
		ExpireTime         int64  `json:"ExpireTime"`
		result
	}{pw.Username, pw.Password, millis(pw.Expiration), success}, nil
}

// personalToken is the Personal edition's `GET /tokens` (2016-06-07): a
// temporary password for the caller's Personal instance in the request's
// region.
func (a *api) personalToken(ctx context.Context, c *openapi.Call) (any, error) {
	region, named, err := a.requestRegion(c)
	if err != nil {
		return nil, err
	}
	if !named {
		region = c.Region
	}
	insts, err := a.acr.ListInstances(ctx, c.Caller.Account, region)
	if err != nil {
		return nil, err
	}
	var inst acr.Instance
	for _, i := range insts {
		if !i.Enterprise() {
			inst = i
		}
	}
	if inst.InstanceID == "" {
		return nil, &acr.Error{Err: acr.ErrNotFound, Entity: "Instance", Field: "RegionId",
			Msg: fmt.Sprintf("account %s has no Personal instance in %s: create one (CreateInstance InstanceType=Personal RegionId=%s), or send the x-acs-region-id header naming the region of yours", c.Caller.Account, region, region)}
	}
	if err := authorizeToken(ctx, c, inst); err != nil {
		return nil, err
	}
	pw, err := a.acr.IssueTempPassword(c.Caller, inst)
	if err != nil {
		return nil, err
	}
	type data struct {
		AuthorizationToken string `json:"authorizationToken"`
		TempUserName       string `json:"tempUserName"`
		ExpireDate         int64  `json:"expireDate"`
	}
	return struct {
		Data      data   `json:"data"`
		RequestID string `json:"requestId"`
	}{data{pw.Password, pw.Username, millis(pw.Expiration)}, c.RequestID}, nil
}
