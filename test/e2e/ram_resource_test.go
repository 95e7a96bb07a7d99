package e2e

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rolepull/rolepull/internal/openapi"
)

// RAM's own actions are decided on the ARN RAM returns (acs:ram::UID:...):
// a policy may name a role as GetRole prints it, or with a * region, and
// an Allow and a Deny each match in either spelling.
func TestRAMResourceSpelling(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	role := w.role(w.a, "acr-test", eciTrust) // acs:ram::UID:role/acr-test
	star := "acs:ram:*:" + w.a + ":role/acr-test"
	allow := func(resource string) string {
		return `{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetRole","Resource":"` + resource + `"}]}`
	}
	for i, tt := range []struct {
		name, policy string
		allowed      bool
	}{
		{"Allow on the ARN as returned", allow(role), true},
		{"Allow with a * region", allow(star), true},
		{"Allow on another role", allow("acs:ram::" + w.a + ":role/other"), false},
		{"Deny on the ARN as returned beats Allow *", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetRole","Resource":"*"},{"Effect":"Deny","Action":"ram:GetRole","Resource":"` + role + `"}]}`, false},
		{"Deny with a * region beats Allow *", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetRole","Resource":"*"},{"Effect":"Deny","Action":"ram:GetRole","Resource":"` + star + `"}]}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("spelling-%d", i)
			w.policy(w.a, "p-"+name, tt.policy)
			c := w.user(name, "p-"+name)
			err := c.Do(ctx, "2015-05-01", "GetRole", map[string]string{"RoleName": "acr-test"}, &struct{}{})
			var ae *openapi.Error
			switch {
			case tt.allowed && err != nil:
				t.Errorf("GetRole = %v, want it allowed", err)
			case !tt.allowed && (!errors.As(err, &ae) || ae.Code != "NoPermission"):
				t.Errorf("GetRole = %v, want NoPermission", err)
			}
		})
	}
}
