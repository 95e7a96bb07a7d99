package ram_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/store/bolt"
)

// BenchmarkAuthorizeRole measures whole RAM decisions, as every request
// makes them: a role session with 10 custom policies of 10 statements
// attached, the attachments and default versions read from the store
// (bbolt) at each decision, the request allowed by the last statement of
// the last policy. It reports decisions per second.
func BenchmarkAuthorizeRole(b *testing.B) {
	st, err := bolt.Open(filepath.Join(b.TempDir(), "meta.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	keys, _ := keyring.Generate()
	svc, err := ram.New(st, keys, ram.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	a, err := svc.CreateAccount(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	r, err := svc.CreateRole(ctx, a.ID, ram.RoleInput{RoleName: "puller",
		AssumeRolePolicyDocument: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["eci.aliyuncs.com"]}}]}`})
	if err != nil {
		b.Fatal(err)
	}
	for p := range 10 {
		var stmts []string
		for s := range 10 {
			stmts = append(stmts, fmt.Sprintf(`{"Effect":"Allow","Action":["cr:Pull*","cr:Get*"],"Resource":"acs:cr:*:%s:repository/cri-bench%02d%02d/ns*/app-?"}`, a.ID, p, s))
		}
		name := fmt.Sprintf("p%d", p)
		if _, err := svc.CreatePolicy(ctx, a.ID, name, "", `{"Version":"1","Statement":[`+strings.Join(stmts, ",")+`]}`); err != nil {
			b.Fatal(err)
		}
		if err := svc.AttachPolicy(ctx, a.ID, ram.Custom, name, ram.ToRole, "puller"); err != nil {
			b.Fatal(err)
		}
	}
	id := ram.Identity{Kind: ram.KindRoleSession, Account: a.ID, RoleName: r.RoleName, RoleID: r.RoleID, SessionName: "eci-bench"}
	req := ram.Request{Action: "cr:PullRepository", Resources: []string{"acs:cr:cn-hangzhou:" + a.ID + ":repository/cri-bench0909/ns1/app-x"}}
	b.ReportAllocs()
	for b.Loop() {
		d, err := svc.Authorize(ctx, id, req)
		if err != nil || !d.Allowed {
			b.Fatal(d.Reason, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}
