package e2e

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/pull"
)

// FuzzPlan resolves fuzzed image references under fuzzed pull annotations,
// as a pod's are resolved, against a node with a Personal instance, an
// Enterprise instance and a custom domain. Whatever the input: no panic; a
// failure is classified; role credentials are planned only for an image on
// a domain of the instance they are for; a custom domain is secret-free
// only when acr-instance-ids lists its instance; and anything else is
// planned without any role.
func FuzzPlan(f *testing.F) {
	w := newWorld(f)
	ee := w.instance(w.a, "cn-hangzhou", "fuzz", acr.SpecEnterpriseStandard, true)
	p := w.instance(w.a, "cn-beijing", "", acr.SpecPersonal, true)
	const custom = "registry.fuzz.example.com"
	if _, err := w.n.ACR.AddDomain(f.Context(), w.a, ee.InstanceID, custom); err != nil {
		f.Fatal(err)
	}
	instances := map[string]acr.Instance{ee.InstanceID: ee, p.InstanceID: p}
	role := "acs:ram::" + w.a + ":role/puller"
	for _, s := range [][3]string{
		{ee.PublicHost(acr.DefaultBase) + "/ns/app:1", "", ""},
		{ee.VPCHost(acr.DefaultBase) + "/ns/app@sha256:" + strings.Repeat("a", 64), "", role},
		{custom + "/ns/app:1", ee.InstanceID, role},
		{custom + "/ns/app:1", "cn-beijing:" + ee.InstanceID, ""},
		{custom + "/ns/app:1", "", ""},
		{p.PublicHost(acr.DefaultBase) + "/ns/app:1", "", ""},
		{"registry.cn-beijing.aliyuncs.com/ns/app:1", "", ""},
		{"REGISTRY.CN-HANGZHOU.ALIYUNCS.COM/ns/app", "", ""},
		{"docker.io/library/nginx:latest", ee.InstanceID, role},
		{"nginx", "", ""},
		{ee.PublicHost(acr.DefaultBase) + ":443/ns/app:1", "", ""},
		{"fuzz-registry.cn-hangzhou.cr.aliyuncs.com.evil.com/ns/app:1", "", role},
		{"", "", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	for _, r := range imageRefs { // reliability.md §3.4
		f.Add(expand(r.image, ee), "", role)
	}
	f.Fuzz(func(t *testing.T, image, ids, services string) {
		s := pull.Settings{Account: w.a, Region: "cn-hangzhou", Session: "eci-fuzz"}
		if refs, err := pull.ParseInstanceIDs(ids); err == nil {
			s.Instances = refs
		}
		if chains, err := pull.ParseChains(services, ""); err == nil {
			s.Chains = chains
		}
		pl, err := w.n.Puller.Plan(t.Context(), s, image)
		if err != nil {
			var fl *pull.Failure
			if !errors.As(err, &fl) || fl.Msg == "" || fl.Kind == pull.Internal {
				t.Fatalf("Plan(%q) failed unclassified: %v", image, err)
			}
			return
		}
		if !pl.ACR {
			if len(pl.Chain) > 0 {
				t.Fatalf("Plan(%q) plans roles %v for a registry that is not ACR", image, pl.Chain)
			}
			return
		}
		inst, ok := instances[pl.Instance.InstanceID]
		if !ok || len(pl.Chain) == 0 {
			t.Fatalf("Plan(%q) = instance %q, chain %v", image, pl.Instance.InstanceID, pl.Chain)
		}
		host := acr.NormalizeHost(pl.Ref.Context().RegistryStr()) // a port or trailing dot names the same host
		var domains []string
		for _, d := range inst.Domains(acr.DefaultBase) {
			domains = append(domains, d.Host)
		}
		switch {
		case slices.Contains(domains, host):
		case host == custom:
			listed := slices.ContainsFunc(s.Instances, func(r pull.InstanceRef) bool { return r.InstanceID == inst.InstanceID })
			if !listed {
				t.Fatalf("Plan(%q) pulls secret-free from a custom domain acr-instance-ids does not list (%q)", image, ids)
			}
		case host == "registry."+inst.Region+".aliyuncs.com" && !inst.Enterprise():
			// The legacy shared domain of a Personal instance's region.
		default:
			t.Fatalf("Plan(%q) resolves host %q to instance %s, whose domains are %v", image, host, inst.InstanceID, domains)
		}
	})
}
