package e2e

import (
	"testing"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/pull"
)

// BenchmarkCredentialChain measures getting a temporary password for the
// seed's cross-account chain (ECI → role-assume → role-acr →
// GetAuthorizationToken): cold (every AssumeRole and the token minted
// again) against cached (a lookup).
func BenchmarkCredentialChain(b *testing.B) {
	w := newWorld(b)
	bAcct := w.account("acct-b")
	inst := w.instance(bAcct, "cn-hangzhou", "binst", acr.SpecEnterpriseStandard, true)
	assume := w.role(w.a, "role-assume", eciTrust, "AliyunSTSAssumeRoleAccess")
	acrRole := w.role(bAcct, "role-acr", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["`+assume+`"]}}]}`, "AliyunContainerRegistryFullAccess")
	s := pull.Settings{Account: w.a, Region: "cn-hangzhou", Session: "eci-bench", Chains: []pull.Chain{{Service: assume, User: acrRole}}}
	plan, err := w.n.Puller.Plan(b.Context(), s, inst.PublicHost(acr.DefaultBase)+"/ns/app:1")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			w.n.Puller.Forget(plan)
			if _, err := w.n.Puller.Credentials(b.Context(), plan); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := w.n.Puller.Credentials(b.Context(), plan); err != nil {
				b.Fatal(err)
			}
		}
	})
}
