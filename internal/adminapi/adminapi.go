// Package adminapi serves rolepull's own operator actions (version
// Version), which have no vendor counterpart: creating accounts, the
// tenants of a self-hosted deployment. Only identities of the operator
// account — the one `rolepull up` bootstraps — may call them, and only with
// the rolepull:* permission (the operator's root has it implicitly).
package adminapi

import (
	"context"
	"time"

	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
)

// Version is the API version of rolepull's operator actions.
const Version = "2026-11-27"

// Register adds the operator actions to srv; operator is the operator
// account's UID.
func Register(srv *openapi.Server, svc *ram.Service, operator string) {
	a := &api{svc: svc, operator: operator}
	srv.Handle(Version, "CreateAccount", a.createAccount)
	srv.Handle(Version, "ListAccounts", a.listAccounts)
}

type api struct {
	svc      *ram.Service
	operator string
}

func (a *api) authorize(ctx context.Context, c *openapi.Call, action, resource string) error {
	if c.Caller.Account != a.operator {
		return openapi.NoPermission("only identities of the operator account " + a.operator + " may manage accounts")
	}
	return c.Authorize(ctx, action, "acs:rolepull:*:"+a.operator+":"+resource)
}

type accountOut struct {
	AccountID   string `json:"AccountId"`
	AccountName string `json:"AccountName"`
	CreateDate  string `json:"CreateDate"`
}

func view(acc ram.Account) accountOut {
	return accountOut{AccountID: acc.ID, AccountName: acc.Name, CreateDate: acc.CreateDate.UTC().Format(time.RFC3339)}
}

// createAccount creates an account and an AccessKey for its root, whose
// secret appears in this response only.
func (a *api) createAccount(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("AccountName")
	if err != nil {
		return nil, err
	}
	if err := a.authorize(ctx, c, "rolepull:CreateAccount", "account/"+name); err != nil {
		return nil, err
	}
	acc, k, secret, err := a.svc.CreateAccountWithKey(ctx, name)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"Account":   view(acc),
		"AccessKey": map[string]string{"AccessKeyId": k.AccessKeyID, "AccessKeySecret": secret},
	}, nil
}

func (a *api) listAccounts(ctx context.Context, c *openapi.Call) (any, error) {
	if err := a.authorize(ctx, c, "rolepull:ListAccounts", "account/*"); err != nil {
		return nil, err
	}
	accs, err := a.svc.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]accountOut, 0, len(accs))
	for _, acc := range accs {
		out = append(out, view(acc))
	}
	return map[string]any{"Accounts": map[string]any{"Account": out}}, nil
}
