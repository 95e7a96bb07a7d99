package e2e

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
)

// TestSTSInputs is reliability.md §3.3 items 35–36 against a running
// node: a session of a recreated role and a self-chain of 100 hops. Items
// 32–34 (each malformed parameter and its vendor code) are the corpus
// internal/stsapi/testdata/assume_role.txt, checked by TestAssumeRoleCorpus
// and seeding FuzzAssumeRole.
func TestSTSInputs(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	user := w.user("sts-inputs", "AliyunSTSAssumeRoleAccess")
	trustRoot := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::` + w.a + `:root"]}}]}`

	type creds struct{ AccessKeyId, AccessKeySecret, SecurityToken, Expiration string }
	assume := func(c *openapi.Client, params map[string]string) (creds, error) {
		var out struct{ Credentials creds }
		err := c.Do(ctx, "2015-04-01", "AssumeRole", params, &out)
		return out.Credentials, err
	}

	// Item 35: a session of a role deleted and recreated under the same
	// name is not honoured — it is bound to the old RoleId, so the new
	// role's policies never apply to it.
	t.Run("35 role deleted and recreated", func(t *testing.T) {
		w.role(w.a, "sts-recreated", trustRoot, "AliyunContainerRegistryReadOnlyAccess")
		c, err := assume(user, map[string]string{"RoleArn": "acs:ram::" + w.a + ":role/sts-recreated", "RoleSessionName": "inputs"})
		if err != nil {
			t.Fatal(err)
		}
		session := &openapi.Client{Endpoint: w.n.OpenAPIURL(), AccessKeyID: c.AccessKeyId, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken, RegionID: "cn-hangzhou"}
		list := func() error { return session.Do(ctx, "2018-12-01", "ListInstance", nil, &struct{}{}) }
		if err := list(); err != nil {
			t.Fatalf("ListInstance as the fresh session: %v", err)
		}
		if err := w.n.RAM.DetachPolicy(ctx, w.a, ram.System, "AliyunContainerRegistryReadOnlyAccess", ram.ToRole, "sts-recreated"); err != nil {
			t.Fatal(err)
		}
		if err := w.n.RAM.DeleteRole(ctx, w.a, "sts-recreated"); err != nil {
			t.Fatal(err)
		}
		w.role(w.a, "sts-recreated", trustRoot, "AliyunContainerRegistryReadOnlyAccess")
		err = list()
		var ae *openapi.Error
		if !errors.As(err, &ae) || ae.Code != "NoPermission" || !strings.Contains(ae.Message, "deleted since the session began") {
			t.Errorf("ListInstance as the old session after the role was recreated = %v, want NoPermission saying the role was deleted", err)
		}
	})

	// Item 36: a self-chain A→A→… 100 times: every hop is its own
	// session of at most an hour (3601 refused, not clamped), and none
	// outlives an hour from its own issue.
	t.Run("36 self-chain of 100 hops", func(t *testing.T) {
		self := w.role(w.a, "sts-self", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::`+w.a+`:root"]}}]}`, "AliyunSTSAssumeRoleAccess")
		c, err := assume(user, map[string]string{"RoleArn": self, "RoleSessionName": "hop-0"})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 100; i++ {
			s := &openapi.Client{Endpoint: w.n.OpenAPIURL(), AccessKeyID: c.AccessKeyId, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
			if i == 50 {
				_, err := assume(s, map[string]string{"RoleArn": self, "RoleSessionName": "hop-long", "DurationSeconds": "3601"})
				var ae *openapi.Error
				if !errors.As(err, &ae) || ae.Code != "InvalidParameter.DurationSeconds" {
					t.Fatalf("hop %d asking 3601 s = %v, want InvalidParameter.DurationSeconds", i, err)
				}
			}
			before := time.Now()
			if c, err = assume(s, map[string]string{"RoleArn": self, "RoleSessionName": "hop-" + strconv.Itoa(i)}); err != nil {
				t.Fatalf("hop %d: %v", i, err)
			}
			exp, err := time.Parse(time.RFC3339, c.Expiration)
			if err != nil {
				t.Fatalf("hop %d: Expiration %q: %v", i, c.Expiration, err)
			}
			if exp.After(before.Add(time.Hour + 2*time.Second)) {
				t.Fatalf("hop %d expires at %v, more than an hour after it was asked for (%v)", i, exp, before)
			}
		}
	})
}
