// Package stsapi serves STS's OpenAPI actions (version 2015-04-01) over
// package openapi: AssumeRole and GetCallerIdentity, with responses shaped
// exactly as the official SDKs and credentials-go decode them.
package stsapi

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/sts"
)

// Version is STS's API version.
const Version = "2015-04-01"

// Register adds STS's actions to srv.
func Register(srv *openapi.Server, s *sts.Service, r *ram.Service) {
	a := &api{sts: s, ram: r}
	srv.Handle(Version, "AssumeRole", a.assumeRole)
	srv.Handle(Version, "GetCallerIdentity", a.getCallerIdentity)
}

type api struct {
	sts *sts.Service
	ram *ram.Service
}

func (a *api) assumeRole(ctx context.Context, c *openapi.Call) (any, error) {
	// Every AssumeRole is in the audit log, also one refused here.
	roleArn, session := c.Params.Get("RoleArn"), c.Params.Get("RoleSessionName")
	if _, err := c.Params.Require("RoleArn"); err != nil {
		return nil, a.sts.Refuse(c.Caller, roleArn, session, err)
	}
	if _, err := c.Params.Require("RoleSessionName"); err != nil {
		return nil, a.sts.Refuse(c.Caller, roleArn, session, err)
	}
	duration := 0
	if s := c.Params.Get("DurationSeconds"); s != "" {
		// Range checks belong to sts, which knows the role's maximum and
		// the chaining cap; here only the syntax.
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || strings.Trim(s, "0123456789") != "" { // Atoi takes a sign
			return nil, a.sts.Refuse(c.Caller, roleArn, session,
				openapi.InvalidParameter("DurationSeconds", "DurationSeconds %q: want a number of seconds, at least %d.", s, ram.MinSessionDuration))
		}
		duration = n
	}
	creds, user, err := a.sts.AssumeRole(ctx, c.Caller, sts.AssumeRoleInput{
		RoleArn:         roleArn,
		RoleSessionName: session,
		DurationSeconds: duration,
		Policy:          c.Params.Get("Policy"),
		ExternalID:      c.Params.Get("ExternalId"),
		Context:         c.Context(),
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"Credentials": map[string]string{
			"AccessKeyId":     creds.AccessKeyID,
			"AccessKeySecret": creds.AccessKeySecret,
			"SecurityToken":   creds.SecurityToken,
			"Expiration":      creds.Expiration.UTC().Format("2006-01-02T15:04:05Z"),
		},
		"AssumedRoleUser": map[string]string{
			"Arn":           user.Arn,
			"AssumedRoleId": user.AssumedRoleID,
		},
	}, nil
}

// getCallerIdentity needs no permission: every caller may ask who it is.
func (a *api) getCallerIdentity(ctx context.Context, c *openapi.Call) (any, error) {
	id := c.Caller
	out := map[string]string{"AccountId": id.Account, "Arn": id.ARN()}
	switch id.Kind {
	case ram.KindRoot:
		out["IdentityType"] = "Account"
		out["UserId"] = id.Account
		out["PrincipalId"] = id.Account
	case ram.KindUser:
		u, err := a.ram.GetUser(ctx, id.Account, id.UserName)
		if err != nil {
			return nil, err
		}
		out["IdentityType"] = "RAMUser"
		out["UserId"] = u.UserID
		out["PrincipalId"] = u.UserID
	case ram.KindRoleSession:
		out["IdentityType"] = "AssumedRoleUser"
		out["RoleId"] = id.RoleID
		out["PrincipalId"] = id.RoleID + ":" + id.SessionName
		out["UserId"] = id.RoleID + ":" + id.SessionName
		if !id.Expiration.IsZero() {
			out["Expiration"] = id.Expiration.UTC().Format(time.RFC3339)
		}
	}
	return out, nil
}
