package crapi_test

import (
	"net/http"
	"testing"

	cr "github.com/alibabacloud-go/cr-20181201/v2/client"
	openapiv2 "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	creesdk "github.com/aliyun/alibaba-cloud-sdk-go/services/cr_ee"

	"github.com/rolepull/rolepull/internal/acr"
)

// TestBadParameters checks that every refused parameter comes back with
// a code that names it and a message with the value and the fix.
func TestBadParameters(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	inst, err := f.acr.CreateInstance(ctx, f.a.ID, defaultRegion, "test1", acr.SpecEnterpriseBasic)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.acr.CreateNamespace(ctx, f.a.ID, inst.InstanceID, "ns1", false, acr.RepoPrivate); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acr.CreateRepository(ctx, f.a.ID, inst.InstanceID, "ns1", "app", acr.RepoPrivate, ""); err != nil {
		t.Fatal(err)
	}
	id := inst.InstanceID
	cl := f.v2(t, f.rootA)
	q := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name     string
		action   string
		query    map[string]string
		code     string
		status   int
		mentions []string
	}{
		{"no InstanceId", "GetInstance", q(), "MissingParameter", http.StatusBadRequest, []string{"InstanceId"}},
		{"an unknown instance", "GetInstance", q("InstanceId", "cri-0000000000000000"), "INSTANCE_NOT_EXIST", http.StatusNotFound, []string{"InstanceId", "cri-0000000000000000", "ListInstance"}},
		{"a RegionId that is no region", "GetInstance", q("InstanceId", id, "RegionId", "Hangzhou"), "InvalidParameter.RegionId", http.StatusBadRequest, []string{"Hangzhou", "cn-hangzhou"}},
		{"the instance in another region", "GetInstance", q("InstanceId", id, "RegionId", "cn-beijing"), "INSTANCE_NOT_EXIST", http.StatusNotFound, []string{id, "cn-hangzhou", "cn-beijing", "RegionId=cn-hangzhou"}},
		{"an unknown InstanceType", "CreateInstance", q("InstanceName", "x1y", "InstanceType", "Huge"), "InvalidParameter.InstanceType", http.StatusBadRequest, []string{"Huge", "Basic", "Personal"}},
		{"no InstanceType", "CreateInstance", q("InstanceName", "x1y"), "MissingParameter", http.StatusBadRequest, []string{"InstanceType"}},
		{"an Enterprise instance without a name", "CreateInstance", q("InstanceType", "Basic"), "InvalidParameter.InstanceName", http.StatusBadRequest, []string{"InstanceName", "3–30"}},
		{"a malformed InstanceName", "CreateInstance", q("InstanceName", "-bad", "InstanceType", "Basic"), "InvalidParameter.InstanceName", http.StatusBadRequest, []string{`"-bad"`, "3–30"}},
		{"a taken InstanceName", "CreateInstance", q("InstanceName", "test1", "InstanceType", "Basic"), "Instance.AlreadyExist", http.StatusConflict, []string{"test1", "cn-hangzhou"}},
		{"an unknown EndpointType", "GetInstanceEndpoint", q("InstanceId", id, "EndpointType", "public"), "InvalidParameter.EndpointType", http.StatusBadRequest, []string{"public", "internet or vpc"}},
		{"no EndpointType", "GetInstanceEndpoint", q("InstanceId", id), "MissingParameter", http.StatusBadRequest, []string{"EndpointType"}},
		{"opening the vpc endpoint by status", "UpdateInstanceEndpointStatus", q("InstanceId", id, "EndpointType", "vpc", "Enable", "true"), "InvalidParameter.EndpointType", http.StatusBadRequest, []string{"CreateInstanceVpcEndpointLinkedVpc"}},
		{"an Enable that is no boolean", "UpdateInstanceEndpointStatus", q("InstanceId", id, "EndpointType", "internet", "Enable", "yes"), "InvalidParameter.Enable", http.StatusBadRequest, []string{`"yes"`, "true or false"}},
		{"an ACL entry with host bits", "CreateInstanceEndpointAclPolicy", q("InstanceId", id, "Entry", "10.0.0.1/8"), "InvalidParameter.Entry", http.StatusBadRequest, []string{"10.0.0.1/8", "host bits"}},
		{"removing an absent ACL entry", "DeleteInstanceEndpointAclPolicy", q("InstanceId", id, "Entry", "192.168.0.0/24"), "Acl.NotExist", http.StatusNotFound, []string{"192.168.0.0/24", "GetInstanceEndpoint"}},
		{"binding an unknown VPC", "CreateInstanceVpcEndpointLinkedVpc", q("InstanceId", id, "VpcId", "vpc-doesnotexist", "VswitchId", "vsw-doesnotexist"), "InvalidVpcId.NotFound", http.StatusNotFound, []string{"vpc-doesnotexist", "DescribeVpcs"}},
		{"unbinding a VPC that is not bound", "DeleteInstanceVpcEndpointLinkedVpc", q("InstanceId", id, "VpcId", "vpc-doesnotexist"), "VPC_NOT_EXIST", http.StatusNotFound, []string{"vpc-doesnotexist", id}},
		{"a custom domain that is no domain", "CreateInstanceDomain", q("InstanceId", id, "DomainName", "not a domain"), "InvalidParameter.DomainName", http.StatusBadRequest, []string{"not a domain"}},
		{"deleting a default domain", "DeleteInstanceDomain", q("InstanceId", id, "DomainName", "test1-registry.cn-hangzhou.cr.aliyuncs.com"), "InvalidParameter.DomainName", http.StatusBadRequest, []string{"SYSTEM", "USER"}},
		{"a malformed NamespaceName", "CreateNamespace", q("InstanceId", id, "NamespaceName", "Bad_NS!"), "InvalidParameter.NamespaceName", http.StatusBadRequest, []string{"Bad_NS!", "2–64"}},
		{"a taken NamespaceName", "CreateNamespace", q("InstanceId", id, "NamespaceName", "ns1"), "Namespace.AlreadyExist", http.StatusConflict, []string{"ns1", id}},
		{"an unknown DefaultRepoType", "CreateNamespace", q("InstanceId", id, "NamespaceName", "ns2", "DefaultRepoType", "SECRET"), "InvalidParameter.DefaultRepoType", http.StatusBadRequest, []string{"SECRET", "PUBLIC or PRIVATE"}},
		{"an unknown RepoType", "CreateRepository", q("InstanceId", id, "RepoNamespaceName", "ns1", "RepoName", "app", "RepoType", "SECRET"), "InvalidParameter.RepoType", http.StatusBadRequest, []string{"SECRET", "PUBLIC or PRIVATE"}},
		{"a repository in an unknown namespace", "CreateRepository", q("InstanceId", id, "RepoNamespaceName", "nope", "RepoName", "app"), "NAMESPACE_NOT_EXIST", http.StatusNotFound, []string{"nope", "CreateNamespace"}},
		{"an unknown RepoId", "GetRepository", q("InstanceId", id, "RepoId", "crr-nope"), "REPO_NOT_EXIST", http.StatusNotFound, []string{"crr-nope", "ListRepository"}},
		{"a repository named by half", "GetRepository", q("InstanceId", id, "RepoName", "app"), "InvalidParameter.RepoId", http.StatusBadRequest, []string{"RepoNamespaceName"}},
		{"a PageSize out of range", "ListRepository", q("InstanceId", id, "PageSize", "1000"), "InvalidParameter.PageSize", http.StatusBadRequest, []string{"1000", "[1, 100]"}},
		{"a PageNo of zero", "ListNamespace", q("InstanceId", id, "PageNo", "0"), "InvalidParameter.PageNo", http.StatusBadRequest, []string{`"0"`}},
		{"ListRepoTag without RepoId", "ListRepoTag", q("InstanceId", id), "MissingParameter", http.StatusBadRequest, []string{"RepoId"}},
		{"a taken repository name", "CreateRepository", q("InstanceId", id, "RepoNamespaceName", "ns1", "RepoName", "app"), "Repository.AlreadyExist", http.StatusConflict, []string{"ns1/app"}},
		{"deleting an instance with repositories", "DeleteInstance", q("InstanceId", id), "Conflict.Instance.Repository", http.StatusConflict, []string{"1 repositories", "delete them first"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(cl, tt.action, tt.query)
			wantError(t, tt.action, err, tt.code, tt.status, tt.mentions...)
		})
	}
	// Once its repository is deleted, the instance deletes.
	if _, err := call(cl, "DeleteRepository", q("InstanceId", id, "RepoNamespaceName", "ns1", "RepoName", "app")); err != nil {
		t.Fatalf("DeleteRepository: %v", err)
	}
	if _, err := call(cl, "GetRepository", q("InstanceId", id, "RepoNamespaceName", "ns1", "RepoName", "app")); err == nil {
		t.Error("the deleted repository is still there")
	}
	if _, err := call(cl, "DeleteInstance", q("InstanceId", id)); err != nil {
		t.Errorf("DeleteInstance after its repositories are gone: %v", err)
	}
}

// TestRegion checks that an instance's region is enforced exactly when a
// request names one: through RegionId (the v1 SDK always sends its
// client's) or through a regional Host (here reached through an HTTP
// proxy, as a client with the vendor's regional endpoint would).
func TestRegion(t *testing.T) {
	f := newFixture(t, nil)
	inst, err := f.acr.CreateInstance(t.Context(), f.a.ID, defaultRegion, "test1", acr.SpecEnterpriseBasic)
	if err != nil {
		t.Fatal(err)
	}
	v1 := func(region string) error {
		req := at(f, creesdk.CreateGetInstanceRequest())
		req.InstanceId = inst.InstanceID
		_, err := f.v1(t, f.rootA, region).GetInstance(req)
		return err
	}
	viaHost := func(host string) error {
		cfg := &openapiv2.Config{AccessKeyId: tea.String(f.rootA.ID), AccessKeySecret: tea.String(f.rootA.Secret),
			Endpoint: tea.String(host), Protocol: tea.String("http"), HttpProxy: tea.String("http://" + f.host)}
		cl, err := cr.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.GetInstance(&cr.GetInstanceRequest{InstanceId: tea.String(inst.InstanceID)})
		return err
	}
	tests := []struct {
		name  string
		do    func() error
		found bool
	}{
		{"v1 SDK in the instance's region", func() error { return v1(defaultRegion) }, true},
		{"v1 SDK in another region", func() error { return v1("cn-beijing") }, false},
		{"the instance's regional endpoint", func() error { return viaHost("cr.cn-hangzhou.aliyuncs.com") }, true},
		{"another regional endpoint", func() error { return viaHost("cr.cn-beijing.aliyuncs.com") }, false},
		{"an endpoint that names no region", func() error { return viaHost("registry-api.example.com") }, true},
		{"v2 SDK with no region", func() error {
			_, err := f.v2(t, f.rootA).GetInstance(&cr.GetInstanceRequest{InstanceId: tea.String(inst.InstanceID)})
			return err
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.found {
				if err != nil {
					t.Fatalf("GetInstance: %v", err)
				}
				return
			}
			wantError(t, "GetInstance", err, "INSTANCE_NOT_EXIST", http.StatusNotFound, "cn-beijing", "cn-hangzhou")
		})
	}
}

// TestListInstancePaging checks the filters and the page arithmetic.
func TestListInstancePaging(t *testing.T) {
	f := newFixture(t, nil)
	names := []string{"one", "two", "three"}
	for _, n := range names {
		if _, err := f.acr.CreateInstance(t.Context(), f.a.ID, defaultRegion, n, acr.SpecEnterpriseBasic); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.acr.CreateInstance(t.Context(), f.a.ID, "cn-beijing", "four", acr.SpecEnterpriseBasic); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acr.CreateInstance(t.Context(), f.b.ID, defaultRegion, "other", acr.SpecEnterpriseBasic); err != nil {
		t.Fatal(err)
	}
	cl := f.v2(t, f.rootA)
	tests := []struct {
		name             string
		req              cr.ListInstanceRequest
		wantTotal, wantN int
	}{
		{"every region of the account", cr.ListInstanceRequest{}, 4, 4},
		{"second page of two", cr.ListInstanceRequest{PageNo: tea.Int32(2), PageSize: tea.Int32(2)}, 4, 2},
		{"past the end", cr.ListInstanceRequest{PageNo: tea.Int32(9), PageSize: tea.Int32(2)}, 4, 0},
		{"by name", cr.ListInstanceRequest{InstanceName: tea.String("two")}, 1, 1},
		{"another account's name", cr.ListInstanceRequest{InstanceName: tea.String("other")}, 0, 0},
		{"a status no instance has", cr.ListInstanceRequest{InstanceStatus: tea.String("STOPPED")}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := cl.ListInstance(&tt.req)
			ok(t, "ListInstance", err, r.Body.Code, r.Body.IsSuccess)
			if got := int(tea.Int32Value(r.Body.TotalCount)); got != tt.wantTotal || len(r.Body.Instances) != tt.wantN {
				t.Errorf("ListInstance(%s) = %d of TotalCount %d, want %d of %d", tea.Prettify(tt.req), len(r.Body.Instances), got, tt.wantN, tt.wantTotal)
			}
		})
	}
	// The v1 SDK names its region: only that region's instances.
	req := at(f, creesdk.CreateListInstanceRequest())
	r, err := f.v1(t, f.rootA, "cn-beijing").ListInstance(req)
	if err != nil || r.TotalCount != 1 || len(r.Instances) != 1 || r.Instances[0].InstanceName != "four" {
		t.Errorf("ListInstance in cn-beijing (cr_ee) = %+v, %v; want four alone", r, err)
	}
}

// TestListRepoTagWithoutEngine checks that with no TagLister every
// repository has an empty tag list.
func TestListRepoTagWithoutEngine(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	inst, err := f.acr.CreateInstance(ctx, f.a.ID, defaultRegion, "test1", acr.SpecEnterpriseBasic)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.acr.CreateNamespace(ctx, f.a.ID, inst.InstanceID, "ns1", false, acr.RepoPrivate); err != nil {
		t.Fatal(err)
	}
	repo, err := f.acr.CreateRepository(ctx, f.a.ID, inst.InstanceID, "ns1", "app", acr.RepoPrivate, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.v2(t, f.rootA).ListRepoTag(&cr.ListRepoTagRequest{InstanceId: tea.String(inst.InstanceID), RepoId: tea.String(repo.RepoID)})
	ok(t, "ListRepoTag", err, r.Body.Code, r.Body.IsSuccess)
	if len(r.Body.Images) != 0 || tea.StringValue(r.Body.TotalCount) != "0" {
		t.Errorf("ListRepoTag with no engine = %s, want no images", tea.Prettify(r.Body))
	}
}
