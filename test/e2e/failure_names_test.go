package e2e

import (
	"strings"
	"testing"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/pull"
)

// Every failed pull of an ACR image names the instance and the role it was
// made as — in the container's message and its identity — whatever the
// kind: here a tag that does not exist, pulled as the seed's role and as
// the ECI service-linked role.
func TestFailureNamesInstanceAndRole(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "names", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	w.push(ee, host, "ns/app:1", 1)
	role := w.role(w.a, "acr-test", eciTrust, "AliyunContainerRegistryReadOnlyAccess")
	for _, tt := range []struct {
		name   string
		chains []pull.Chain
		as     string
	}{
		{"seed role", []pull.Chain{{Service: role}}, role},
		{"service-linked role", nil, "AliyunServiceRoleForECI"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := w.pod("missing-"+strings.ReplaceAll(tt.name, " ", "-"), podSpec{images: []string{host + "/ns/app:nope"}, chains: tt.chains})
			cs := w.expectFailure(g, 0, pull.NotFound, ee.InstanceID, tt.as)
			if !strings.Contains(cs.Identity, tt.as) {
				t.Errorf("the failed container's identity is %q, want it to name %s", cs.Identity, tt.as)
			}
		})
	}
}
