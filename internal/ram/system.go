package ram

import (
	"fmt"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/policy"
)

// systemPolicyOrder lists the built-in policies in the order ListPolicies
// shows them. Their documents follow the vendor's published ones for the
// actions rolepull implements.
var systemPolicyOrder = []string{
	"AdministratorAccess",
	"AliyunRAMFullAccess",
	"AliyunRAMReadOnlyAccess",
	"AliyunSTSAssumeRoleAccess",
	"AliyunContainerRegistryFullAccess",
	"AliyunContainerRegistryReadOnlyAccess",
	"AliyunECIFullAccess",
	"AliyunServiceRolePolicyForECI",
	"AliyunServiceRolePolicyForContainerRegistryAccessCustomerPrivateZone",
}

var systemPolicyDocs = map[string]struct{ description, doc string }{
	"AdministratorAccess": {"Provides full access to Alibaba Cloud services and resources.",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
	"AliyunRAMFullAccess": {"Provides full access to Resource Access Management (RAM).",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*"}]}`},
	"AliyunRAMReadOnlyAccess": {"Provides read-only access to Resource Access Management (RAM).",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":["ram:Get*","ram:List*"],"Resource":"*"}]}`},
	"AliyunSTSAssumeRoleAccess": {"Provides access to call the AssumeRole operation of Security Token Service (STS).",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`},
	"AliyunContainerRegistryFullAccess": {"Provides full access to Container Registry.",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"}]}`},
	"AliyunContainerRegistryReadOnlyAccess": {"Provides read-only access to Container Registry.",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:List*","cr:Pull*"],"Resource":"*"}]}`},
	"AliyunECIFullAccess": {"Provides full access to Elastic Container Instance.",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"eci:*","Resource":"*"}]}`},
	"AliyunServiceRolePolicyForECI": {"The policy of the service-linked role AliyunServiceRoleForECI.",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:PullRepository","cr:GetAuthorizationToken","cr:GetRepository","cr:GetRepositoryTag","cr:ListRepositoryTag","cr:ListRepoTag","cr:GetInstance","cr:GetInstanceEndpoint","cr:ListInstance","cr:ListInstanceEndpoint"],"Resource":"*"}]}`},
	"AliyunServiceRolePolicyForContainerRegistryAccessCustomerPrivateZone": {"The policy of the service-linked role AliyunServiceRoleForContainerRegistryAccessCustomerPrivateZone.",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":["pvtz:*"],"Resource":"*"}]}`},
}

type systemPolicy struct {
	policy   Policy
	compiled *policy.Policy
}

// systemEpoch is the creation date system policies report.
var systemEpoch = time.Date(2015, 4, 1, 0, 0, 0, 0, time.UTC)

func compileSystemPolicies() (map[string]systemPolicy, error) {
	out := make(map[string]systemPolicy, len(systemPolicyOrder))
	for _, name := range systemPolicyOrder {
		d := systemPolicyDocs[name]
		c, err := policy.Parse(policy.Identity, []byte(d.doc))
		if err != nil {
			return nil, fmt.Errorf("ram: system policy %s: %w", name, err)
		}
		out[lower(name)] = systemPolicy{
			policy: Policy{
				PolicyName: name, PolicyType: System, Description: d.description, DefaultVersion: "v1",
				Versions:   []PolicyVersion{{VersionID: "v1", IsDefaultVersion: true, PolicyDocument: d.doc, CreateDate: systemEpoch}},
				CreateDate: systemEpoch, UpdateDate: systemEpoch,
			},
			compiled: c,
		}
	}
	return out, nil
}

func lower(s string) string { return strings.ToLower(s) }
