package crapi_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	cr "github.com/alibabacloud-go/cr-20181201/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/google/go-cmp/cmp"

	"github.com/rolepull/rolepull/internal/crapi"
	"github.com/rolepull/rolepull/internal/ram"
)

// ok fails the test unless an SDK call succeeded with the vendor's
// success envelope.
func ok(t *testing.T, what string, err error, code *string, isSuccess *bool) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if tea.StringValue(code) != "success" || !tea.BoolValue(isSuccess) {
		t.Fatalf("%s: Code %q IsSuccess %v, want success true", what, tea.StringValue(code), tea.BoolValue(isSuccess))
	}
}

func okBody(t *testing.T, what string, body map[string]any, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if body["Code"] != "success" || body["IsSuccess"] != true {
		t.Fatalf("%s: body %v, want Code success and IsSuccess true", what, body)
	}
}

type domain struct{ Domain, Type string }

type endpointView struct {
	Type       string
	Enable     bool
	AclEnable  bool
	AclEntries []string
	Domains    []domain
	LinkedVpcs []string
}

func endpoints(t *testing.T, cl *cr.Client, id string) map[string]endpointView {
	t.Helper()
	r, err := cl.ListInstanceEndpoint(&cr.ListInstanceEndpointRequest{InstanceId: tea.String(id)})
	ok(t, "ListInstanceEndpoint", err, r.Body.Code, r.Body.IsSuccess)
	out := map[string]endpointView{}
	for _, e := range r.Body.Endpoints {
		v := endpointView{Type: tea.StringValue(e.EndpointType), Enable: tea.BoolValue(e.Enable), AclEnable: tea.BoolValue(e.AclEnable)}
		for _, a := range e.AclEntries {
			v.AclEntries = append(v.AclEntries, tea.StringValue(a.Entry))
		}
		for _, d := range e.Domains {
			v.Domains = append(v.Domains, domain{tea.StringValue(d.Domain), tea.StringValue(d.Type)})
		}
		for _, l := range e.LinkedVpcs {
			v.LinkedVpcs = append(v.LinkedVpcs, tea.StringValue(l.VpcId))
		}
		out[v.Type] = v
	}
	return out
}

// TestSeedSetup walks the seed's registry setup with the official
// cr-20181201/v2 SDK (ACS3-HMAC-SHA256, no region): an Enterprise instance
// closed to every network, opened to one address, bound to a VPC (which
// creates the PrivateZone service-linked role), given a custom domain, a
// namespace and a repository with tags.
func TestSeedSetup(t *testing.T) {
	pushed := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	tags := crapi.TagListerFunc(func(_ context.Context, inst, ns, repo string) ([]crapi.Tag, error) {
		if ns == "ns1" && repo == "app" {
			return []crapi.Tag{
				{Tag: "v1", Digest: "sha256:" + strings.Repeat("a", 64), ImageSize: 1234, ImageUpdate: pushed},
				{Tag: "v2", Digest: "sha256:" + strings.Repeat("b", 64), ImageSize: 2345, ImageUpdate: pushed.Add(time.Hour)},
			}, nil
		}
		return nil, nil
	})
	f := newFixture(t, tags)
	ctx := t.Context()
	cl := f.v2(t, f.rootA)

	body, err := call(cl, "CreateInstance", map[string]string{"InstanceName": "test1", "InstanceType": "Standard", "RegionId": defaultRegion})
	okBody(t, "CreateInstance", body, err)
	id, _ := body["InstanceId"].(string)

	gi, err := cl.GetInstance(&cr.GetInstanceRequest{InstanceId: tea.String(id)})
	ok(t, "GetInstance", err, gi.Body.Code, gi.Body.IsSuccess)
	type instance struct {
		ID, Name, Spec, Status string
	}
	if diff := cmp.Diff(instance{id, "test1", "Enterprise_Standard", "RUNNING"},
		instance{tea.StringValue(gi.Body.InstanceId), tea.StringValue(gi.Body.InstanceName), tea.StringValue(gi.Body.InstanceSpecification), tea.StringValue(gi.Body.InstanceStatus)}); diff != "" {
		t.Errorf("GetInstance (-want +got):\n%s", diff)
	}
	created := tea.Int64Value(gi.Body.CreateTime)
	if d := time.Since(time.UnixMilli(created)); d < 0 || d > time.Minute {
		t.Errorf("GetInstance CreateTime = %d, want epoch milliseconds of now", created)
	}

	li, err := cl.ListInstance(&cr.ListInstanceRequest{InstanceName: tea.String("test1")})
	ok(t, "ListInstance", err, li.Body.Code, li.Body.IsSuccess)
	if tea.Int32Value(li.Body.TotalCount) != 1 || len(li.Body.Instances) != 1 {
		t.Fatalf("ListInstance(InstanceName=test1) = %d instances (TotalCount %d), want 1", len(li.Body.Instances), tea.Int32Value(li.Body.TotalCount))
	}
	if got := li.Body.Instances[0]; tea.StringValue(got.InstanceId) != id || tea.StringValue(got.RegionId) != defaultRegion || tea.StringValue(got.CreateTime) != strconv.FormatInt(created, 10) {
		t.Errorf("ListInstance item = %s in %s created %s, want %s in %s created %d", tea.StringValue(got.InstanceId), tea.StringValue(got.RegionId), tea.StringValue(got.CreateTime), id, defaultRegion, created)
	}

	public := domain{"test1-registry.cn-hangzhou.cr.aliyuncs.com", "SYSTEM"}
	private := domain{"test1-registry-vpc.cn-hangzhou.cr.aliyuncs.com", "SYSTEM"}
	closed := map[string]endpointView{
		"internet": {Type: "internet", AclEnable: true, Domains: []domain{public}},
		"vpc":      {Type: "vpc", Domains: []domain{private}},
	}
	if diff := cmp.Diff(closed, endpoints(t, cl, id)); diff != "" {
		t.Errorf("a new Enterprise instance's endpoints (-want +got):\n%s", diff)
	}

	up, err := cl.UpdateInstanceEndpointStatus(&cr.UpdateInstanceEndpointStatusRequest{InstanceId: tea.String(id), EndpointType: tea.String("internet"), Enable: tea.Bool(true)})
	ok(t, "UpdateInstanceEndpointStatus", err, up.Body.Code, up.Body.IsSuccess)
	acl, err := cl.CreateInstanceEndpointAclPolicy(&cr.CreateInstanceEndpointAclPolicyRequest{InstanceId: tea.String(id), EndpointType: tea.String("internet"), Entry: tea.String("127.0.0.1/32"), Comment: tea.String("loopback")})
	ok(t, "CreateInstanceEndpointAclPolicy", err, acl.Body.Code, acl.Body.IsSuccess)
	ge, err := cl.GetInstanceEndpoint(&cr.GetInstanceEndpointRequest{InstanceId: tea.String(id), EndpointType: tea.String("internet")})
	ok(t, "GetInstanceEndpoint", err, ge.Body.Code, ge.Body.IsSuccess)
	if !tea.BoolValue(ge.Body.Enable) || !tea.BoolValue(ge.Body.AclEnable) || len(ge.Body.AclEntries) != 1 ||
		tea.StringValue(ge.Body.AclEntries[0].Entry) != "127.0.0.1/32" || tea.StringValue(ge.Body.AclEntries[0].Comment) != "loopback" {
		t.Errorf("GetInstanceEndpoint(internet) after opening = %s", tea.Prettify(ge.Body))
	}

	vpc, err := f.net.CreateVPC(ctx, f.a.ID, defaultRegion, "seed-vpc")
	if err != nil {
		t.Fatal(err)
	}
	vsw, err := f.net.CreateVSwitch(ctx, f.a.ID, vpc.VpcID, defaultRegion+"-k", "seed-vsw")
	if err != nil {
		t.Fatal(err)
	}
	slr := ram.PrivateZoneServiceLinkedRole.RoleName
	if _, err := f.ram.GetRole(ctx, f.a.ID, slr); !errors.Is(err, ram.ErrNotFound) {
		t.Fatalf("GetRole(%s) before any VPC binding = %v, want not found", slr, err)
	}
	lv, err := cl.CreateInstanceVpcEndpointLinkedVpc(&cr.CreateInstanceVpcEndpointLinkedVpcRequest{InstanceId: tea.String(id), VpcId: tea.String(vpc.VpcID), VswitchId: tea.String(vsw.VSwitchID), EnableCreateDNSRecordInPvzt: tea.Bool(true)})
	ok(t, "CreateInstanceVpcEndpointLinkedVpc", err, lv.Body.Code, lv.Body.IsSuccess)
	if role, err := f.ram.GetRole(ctx, f.a.ID, slr); err != nil || !role.IsServiceLinkedRole {
		t.Errorf("GetRole(%s) after the first VPC binding = %+v, %v; want the service-linked role", slr, role, err)
	}
	gv, err := cl.GetInstanceVpcEndpoint(&cr.GetInstanceVpcEndpointRequest{InstanceId: tea.String(id)})
	ok(t, "GetInstanceVpcEndpoint", err, gv.Body.Code, gv.Body.IsSuccess)
	if !tea.BoolValue(gv.Body.Enable) || len(gv.Body.LinkedVpcs) != 1 || len(gv.Body.Domains) != 1 ||
		tea.StringValue(gv.Body.LinkedVpcs[0].VpcId) != vpc.VpcID || tea.StringValue(gv.Body.LinkedVpcs[0].VswitchId) != vsw.VSwitchID ||
		tea.StringValue(gv.Body.LinkedVpcs[0].Ip) == "" || tea.StringValue(gv.Body.Domains[0]) != private.Domain {
		t.Errorf("GetInstanceVpcEndpoint = %s, want %s through %s on %s", tea.Prettify(gv.Body), vpc.VpcID, vsw.VSwitchID, private.Domain)
	}

	body, err = call(cl, "CreateInstanceDomain", map[string]string{"InstanceId": id, "DomainName": "Registry.Example.com"})
	okBody(t, "CreateInstanceDomain", body, err)
	custom := domain{"registry.example.com", "USER"}
	open := map[string]endpointView{
		"internet": {Type: "internet", Enable: true, AclEnable: true, AclEntries: []string{"127.0.0.1/32"}, Domains: []domain{public, custom}},
		"vpc":      {Type: "vpc", Enable: true, Domains: []domain{private}, LinkedVpcs: []string{vpc.VpcID}},
	}
	if diff := cmp.Diff(open, endpoints(t, cl, id)); diff != "" {
		t.Errorf("the endpoints of the opened instance (-want +got):\n%s", diff)
	}
	body, err = call(cl, "ListInstanceDomain", map[string]string{"InstanceId": id})
	okBody(t, "ListInstanceDomain", body, err)
	if ds, _ := body["Domains"].([]any); len(ds) != 3 {
		t.Errorf("ListInstanceDomain = %v, want the two SYSTEM domains and one USER domain", body["Domains"])
	}

	ns, err := cl.CreateNamespace(&cr.CreateNamespaceRequest{InstanceId: tea.String(id), NamespaceName: tea.String("ns1"), AutoCreateRepo: tea.Bool(false), DefaultRepoType: tea.String("PRIVATE")})
	ok(t, "CreateNamespace", err, ns.Body.Code, ns.Body.IsSuccess)
	gn, err := cl.GetNamespace(&cr.GetNamespaceRequest{InstanceId: tea.String(id), NamespaceName: tea.String("ns1")})
	ok(t, "GetNamespace", err, gn.Body.Code, gn.Body.IsSuccess)
	if tea.StringValue(gn.Body.NamespaceName) != "ns1" || tea.BoolValue(gn.Body.AutoCreateRepo) || tea.StringValue(gn.Body.DefaultRepoType) != "PRIVATE" || tea.StringValue(gn.Body.NamespaceId) == "" {
		t.Errorf("GetNamespace(ns1) = %s", tea.Prettify(gn.Body))
	}
	byID, err := cl.GetNamespace(&cr.GetNamespaceRequest{InstanceId: tea.String(id), NamespaceId: gn.Body.NamespaceId})
	ok(t, "GetNamespace by id", err, byID.Body.Code, byID.Body.IsSuccess)
	if tea.StringValue(byID.Body.NamespaceName) != "ns1" {
		t.Errorf("GetNamespace(NamespaceId=%s) = %s, want ns1", tea.StringValue(gn.Body.NamespaceId), tea.StringValue(byID.Body.NamespaceName))
	}
	ln, err := cl.ListNamespace(&cr.ListNamespaceRequest{InstanceId: tea.String(id)})
	ok(t, "ListNamespace", err, ln.Body.Code, ln.Body.IsSuccess)
	if tea.StringValue(ln.Body.TotalCount) != "1" || len(ln.Body.Namespaces) != 1 {
		t.Errorf("ListNamespace = %s, want ns1 alone", tea.Prettify(ln.Body))
	}

	cre, err := cl.CreateRepository(&cr.CreateRepositoryRequest{InstanceId: tea.String(id), RepoNamespaceName: tea.String("ns1"), RepoName: tea.String("app"), RepoType: tea.String("PRIVATE"), Summary: tea.String("the seed's app")})
	ok(t, "CreateRepository", err, cre.Body.Code, cre.Body.IsSuccess)
	repoID := tea.StringValue(cre.Body.RepoId)
	byName, err := cl.GetRepository(&cr.GetRepositoryRequest{InstanceId: tea.String(id), RepoNamespaceName: tea.String("ns1"), RepoName: tea.String("app")})
	ok(t, "GetRepository", err, byName.Body.Code, byName.Body.IsSuccess)
	byRepoID, err := cl.GetRepository(&cr.GetRepositoryRequest{InstanceId: tea.String(id), RepoId: tea.String(repoID)})
	ok(t, "GetRepository by id", err, byRepoID.Body.Code, byRepoID.Body.IsSuccess)
	byName.Body.RequestId, byRepoID.Body.RequestId = nil, nil
	if diff := cmp.Diff(byName.Body, byRepoID.Body); diff != "" {
		t.Errorf("GetRepository by name and by id differ (-name +id):\n%s", diff)
	}
	if tea.StringValue(byName.Body.RepoId) != repoID || tea.StringValue(byName.Body.RepoType) != "PRIVATE" || tea.StringValue(byName.Body.Summary) != "the seed's app" || tea.Int64Value(byName.Body.CreateTime) < created {
		t.Errorf("GetRepository = %s", tea.Prettify(byName.Body))
	}
	lr, err := cl.ListRepository(&cr.ListRepositoryRequest{InstanceId: tea.String(id), RepoNamespaceName: tea.String("ns1")})
	ok(t, "ListRepository", err, lr.Body.Code, lr.Body.IsSuccess)
	if tea.StringValue(lr.Body.TotalCount) != "1" || len(lr.Body.Repositories) != 1 || tea.StringValue(lr.Body.Repositories[0].RepoId) != repoID {
		t.Errorf("ListRepository(ns1) = %s, want app alone", tea.Prettify(lr.Body))
	}

	lt, err := cl.ListRepoTag(&cr.ListRepoTagRequest{InstanceId: tea.String(id), RepoId: tea.String(repoID)})
	ok(t, "ListRepoTag", err, lt.Body.Code, lt.Body.IsSuccess)
	type image struct {
		Tag, Digest string
		Size        int64
		Update      string
	}
	var gotImages []image
	for _, i := range lt.Body.Images {
		gotImages = append(gotImages, image{tea.StringValue(i.Tag), tea.StringValue(i.Digest), tea.Int64Value(i.ImageSize), tea.StringValue(i.ImageUpdate)})
	}
	wantImages := []image{
		{"v2", "sha256:" + strings.Repeat("b", 64), 2345, strconv.FormatInt(pushed.Add(time.Hour).UnixMilli(), 10)},
		{"v1", "sha256:" + strings.Repeat("a", 64), 1234, strconv.FormatInt(pushed.UnixMilli(), 10)},
	}
	if diff := cmp.Diff(wantImages, gotImages); diff != "" || tea.StringValue(lt.Body.TotalCount) != "2" {
		t.Errorf("ListRepoTag (-want +got), TotalCount %s:\n%s", tea.StringValue(lt.Body.TotalCount), diff)
	}

	// Undo the network access: the instance is closed again.
	dacl, err := cl.DeleteInstanceEndpointAclPolicy(&cr.DeleteInstanceEndpointAclPolicyRequest{InstanceId: tea.String(id), EndpointType: tea.String("internet"), Entry: tea.String("127.0.0.1/32")})
	ok(t, "DeleteInstanceEndpointAclPolicy", err, dacl.Body.Code, dacl.Body.IsSuccess)
	dv, err := cl.DeleteInstanceVpcEndpointLinkedVpc(&cr.DeleteInstanceVpcEndpointLinkedVpcRequest{InstanceId: tea.String(id), VpcId: tea.String(vpc.VpcID), VswitchId: tea.String(vsw.VSwitchID)})
	ok(t, "DeleteInstanceVpcEndpointLinkedVpc", err, dv.Body.Code, dv.Body.IsSuccess)
	off, err := cl.UpdateInstanceEndpointStatus(&cr.UpdateInstanceEndpointStatusRequest{InstanceId: tea.String(id), EndpointType: tea.String("internet"), Enable: tea.Bool(false)})
	ok(t, "UpdateInstanceEndpointStatus(off)", err, off.Body.Code, off.Body.IsSuccess)
	body, err = call(cl, "DeleteInstanceDomain", map[string]string{"InstanceId": id, "DomainName": "registry.example.com"})
	okBody(t, "DeleteInstanceDomain", body, err)
	if diff := cmp.Diff(closed, endpoints(t, cl, id)); diff != "" {
		t.Errorf("the endpoints after undoing every access (-want +got):\n%s", diff)
	}
}
