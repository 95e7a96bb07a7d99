package eciapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"io/fs"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	ecisdk "github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eciapi"
	"github.com/rolepull/rolepull/internal/pull"
)

// rawGroups decodes DescribeContainerGroups with rolepull's additions,
// which the SDK's types do not carry.
type rawGroups struct {
	TotalCount      int
	NextToken       string
	ContainerGroups []struct {
		ContainerGroupId string
		CreationTime     string
		Status           string
		Containers       []struct {
			Name, ImageDigest, Identity, FailureKind string
		}
		Progress struct{ Layers, LayersDone int }
	}
}

// rawEvents decodes DescribeContainerGroupEvents.
type rawEvents struct {
	TotalCount int
	Data       []struct {
		ContainerGroupId, Name string
		Events                 []struct {
			Count                                                int
			Type, Reason, Message, FirstTimestamp, LastTimestamp string
			Source                                               struct{ Component string }
		}
	}
}

// A group created with the official SDK pulls an image from an open
// Enterprise instance of its own account with the service-linked role, is
// described with the SDK's shapes and rolepull's additions, and is gone
// once deleted.
func TestContainerGroupLifecycle(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "test1")
	host := ee.PublicHost(acr.DefaultBase)
	img := w.push(ee, host, "eci_test/nginx:1.0")
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	cl := w.sdk(w.root)

	req := at(w, ecisdk.CreateCreateContainerGroupRequest())
	req.RegionId = region
	req.ContainerGroupName = "nginx-test"
	req.SecurityGroupId = "sg-uf66jeqopgqa9hdn0001" // accepted, not kept
	req.RestartPolicy = "Always"
	req.Tag = &[]ecisdk.CreateContainerGroupTag{{Key: "env", Value: "test"}}
	req.Container = &[]ecisdk.CreateContainerGroupContainer{{
		Name: "nginx", Image: host + "/eci_test/nginx:1.0", ImagePullPolicy: "IfNotPresent",
		Cpu: requests.NewFloat(0.5), Command: []string{"nginx"}, // a runtime's business: accepted, not kept
	}}
	created, err := cl.CreateContainerGroup(req)
	if err != nil {
		t.Fatalf("CreateContainerGroup: %v", err)
	}
	id := created.ContainerGroupId
	if !strings.HasPrefix(id, "eci-") || created.RequestId == "" {
		t.Fatalf("CreateContainerGroup = %+v, want an eci- id and a RequestId", created)
	}

	g := w.expectReady(w.root, id)
	if g.ContainerGroupName != "nginx-test" || g.RegionId != region || g.ContainerGroupId != id {
		t.Errorf("group = %s %s %s, want %s nginx-test %s", g.ContainerGroupId, g.ContainerGroupName, g.RegionId, id, region)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", g.CreationTime); err != nil {
		t.Errorf("CreationTime %q: %v", g.CreationTime, err)
	}
	if c := g.Containers[0]; c.Name != "nginx" || c.Image != host+"/eci_test/nginx:1.0" || c.ImagePullPolicy != "IfNotPresent" {
		t.Errorf("container = %+v", c)
	}
	if len(g.Tags) != 0 {
		t.Errorf("Tags = %v, want none (tags are accepted and not kept)", g.Tags)
	}
	for _, e := range g.Events {
		if e.Name == "" || e.Count < 1 || e.FirstTimestamp == "" || e.LastTimestamp == "" {
			t.Errorf("event %+v lacks a name, count or timestamps", e)
		}
	}

	// rolepull's additions: the verified digest, who pulled, progress.
	var raw rawGroups
	if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DescribeContainerGroups", map[string]string{"ContainerGroupIds": ids(id)}, &raw); err != nil {
		t.Fatal(err)
	}
	rc := raw.ContainerGroups[0].Containers[0]
	if rc.ImageDigest != digest.String() {
		t.Errorf("ImageDigest = %s, want %s", rc.ImageDigest, digest)
	}
	if !strings.Contains(rc.Identity, "AliyunServiceRoleForECI") {
		t.Errorf("Identity = %q, want the service-linked role", rc.Identity)
	}
	if p := raw.ContainerGroups[0].Progress; p.Layers == 0 || p.LayersDone != p.Layers {
		t.Errorf("Progress = %+v, want every layer done", p)
	}

	// DescribeContainerGroupEvents, newer than the v1 SDK: its CommonRequest.
	body, err := w.common(w.root, "DescribeContainerGroupEvents", map[string]string{"ContainerGroupIds": ids(id)})
	if err != nil {
		t.Fatalf("DescribeContainerGroupEvents: %v", err)
	}
	var evs rawEvents
	if err := json.Unmarshal(body, &evs); err != nil {
		t.Fatal(err)
	}
	if len(evs.Data) != 1 || evs.Data[0].ContainerGroupId != id || evs.Data[0].Name != "nginx-test" {
		t.Fatalf("DescribeContainerGroupEvents = %s, want the events of %s", body, id)
	}
	pulled := false
	for _, e := range evs.Data[0].Events {
		pulled = pulled || e.Reason == "Pulled" && e.Type == "Normal" && e.Source.Component == "EciService"
	}
	if !pulled || evs.TotalCount != len(evs.Data[0].Events) {
		t.Errorf("DescribeContainerGroupEvents = %s, want a Normal Pulled event from EciService and TotalCount = the events returned", body)
	}

	del := at(w, ecisdk.CreateDeleteContainerGroupRequest())
	del.RegionId = region
	del.ContainerGroupId = id
	if _, err := cl.DeleteContainerGroup(del); err != nil {
		t.Fatalf("DeleteContainerGroup: %v", err)
	}
	if resp := w.describe(w.root, id); resp.TotalCount != 0 || len(resp.ContainerGroups) != 0 {
		t.Errorf("after delete, DescribeContainerGroups = %d (TotalCount %d), want none", len(resp.ContainerGroups), resp.TotalCount)
	}
	_, err = cl.DeleteContainerGroup(del)
	wantError(t, "DeleteContainerGroup(deleted)", err, "InvalidParameter.NotFound", http.StatusNotFound, id, "DescribeContainerGroups")
}

// AcrRegistryInfo, which the v1 SDK cannot send, names the seed's
// cross-account chain and a custom domain of the registry account's
// instance: the group pulls as role-assume → role-acr, and its frozen pull
// settings hold the chain once and the instance with its domain.
func TestAcrRegistryInfo(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	b, _ := w.account("acct-b")
	inst := w.instance(b, "binst")
	const domain = "test-registry.example.com"
	if _, err := w.n.ACR.AddDomain(ctx, b, inst.InstanceID, domain); err != nil {
		t.Fatal(err)
	}
	w.push(inst, domain, "eci_test/nginx:1.0")
	assume := w.role(w.a, "role-assume", eciTrust, "AliyunSTSAssumeRoleAccess")
	acrRole := w.role(b, "role-acr", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::`+w.a+`:root"]}}]}`,
		"AliyunContainerRegistryReadOnlyAccess")

	params := map[string]string{
		"ContainerGroupName": "chain",
		"Container.1.Name":   "app",
		"Container.1.Image":  domain + "/eci_test/nginx:1.0",
		// The domain in upper case: host names compare case-insensitively.
		"AcrRegistryInfo.1.InstanceId":   inst.InstanceID,
		"AcrRegistryInfo.1.InstanceName": "binst",
		"AcrRegistryInfo.1.RegionId":     region,
		"AcrRegistryInfo.1.Domain.1":     strings.ToUpper(domain),
		"AcrRegistryInfo.1.ArnService":   assume,
		"AcrRegistryInfo.1.ArnUser":      acrRole,
		// The same chain again in an entry of its own: kept once.
		"AcrRegistryInfo.2.ArnService": assume,
		"AcrRegistryInfo.2.ArnUser":    acrRole,
	}
	var out struct{ ContainerGroupId string }
	if err := w.raw(w.root).Do(ctx, eciapi.Version, "CreateContainerGroup", params, &out); err != nil {
		t.Fatalf("CreateContainerGroup: %v", err)
	}
	w.expectReady(w.root, out.ContainerGroupId)

	var raw rawGroups
	if err := w.raw(w.root).Do(ctx, eciapi.Version, "DescribeContainerGroups", map[string]string{"ContainerGroupIds": ids(out.ContainerGroupId)}, &raw); err != nil {
		t.Fatal(err)
	}
	if id := raw.ContainerGroups[0].Containers[0].Identity; !strings.Contains(id, "role-assume → "+acrRole) {
		t.Errorf("Identity = %q, want the chain role-assume → %s", id, acrRole)
	}
	g, err := w.n.ECI.Get(ctx, w.a, out.ContainerGroupId)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]pull.Chain{{Service: assume, User: acrRole}}, g.Pull.Chains); diff != "" {
		t.Errorf("frozen chains (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]pull.InstanceRef{{Region: region, InstanceID: inst.InstanceID, Domains: []string{domain}}}, g.Pull.Instances); diff != "" {
		t.Errorf("frozen instances (-want +got):\n%s", diff)
	}
	if err := w.raw(w.root).Do(ctx, eciapi.Version, "DeleteContainerGroup", map[string]string{"ContainerGroupId": out.ContainerGroupId}, nil); err != nil {
		t.Fatalf("DeleteContainerGroup: %v", err)
	}
	if n := w.describe(w.root, out.ContainerGroupId).TotalCount; n != 0 {
		t.Errorf("after delete, TotalCount = %d, want 0", n)
	}
}

// Malformed requests are refused before anything is created, with a code
// naming the parameter and a message naming it, its value and the fix.
func TestCreateContainerGroupRejects(t *testing.T) {
	w := newWorld(t)
	role := "acs:ram::" + w.a + ":role/role-assume"
	userRole := "acs:ram::" + w.a + ":role/role-acr"
	base := map[string]string{
		"ContainerGroupName": "bad",
		"Container.1.Name":   "app",
		"Container.1.Image":  "registry.example.com/ns/app:1",
	}
	tests := []struct {
		name     string
		set      map[string]string
		drop     []string
		code     string
		status   int
		mentions []string
	}{
		{name: "ArnUser without ArnService",
			set:  map[string]string{"AcrRegistryInfo.1.InstanceId": "cri-abc123", "AcrRegistryInfo.1.ArnUser": userRole},
			code: "InvalidParameter.AcrRegistryInfo.1.ArnUser", status: 400,
			mentions: []string{"AcrRegistryInfo.1.ArnUser", userRole, "set AcrRegistryInfo.1.ArnService", "eci.aliyuncs.com"}},
		{name: "ArnService is a user, not a role",
			set:  map[string]string{"AcrRegistryInfo.1.ArnService": "acs:ram::" + w.a + ":user/bob"},
			code: "InvalidParameter.AcrRegistryInfo.1.ArnService", status: 400,
			mentions: []string{"AcrRegistryInfo.1.ArnService", "user/bob", "acs:ram::UID:role/NAME"}},
		{name: "ArnService of another account",
			set:  map[string]string{"AcrRegistryInfo.1.ArnService": "acs:ram::1234567890123456:role/role-assume"},
			code: "InvalidParameter.AcrRegistryInfo.1.ArnService", status: 400,
			mentions: []string{"1234567890123456", "eci.aliyuncs.com", "AcrRegistryInfo.1.ArnUser"}},
		{name: "ArnUser is not an ARN",
			set:  map[string]string{"AcrRegistryInfo.1.ArnService": role, "AcrRegistryInfo.1.ArnUser": "role-acr"},
			code: "InvalidParameter.AcrRegistryInfo.1.ArnUser", status: 400,
			mentions: []string{"AcrRegistryInfo.1.ArnUser", "role-acr", "acs:ram::UID:role/NAME"}},
		{name: "malformed InstanceId",
			set:  map[string]string{"AcrRegistryInfo.1.InstanceId": "cri_ABC"},
			code: "InvalidParameter.AcrRegistryInfo.1.InstanceId", status: 400,
			mentions: []string{"AcrRegistryInfo.1.InstanceId", "cri_ABC", "ListInstance"}},
		{name: "Personal instance id",
			set:  map[string]string{"AcrRegistryInfo.1.InstanceId": "crpi-abc123"},
			code: "InvalidParameter.AcrRegistryInfo.1.InstanceId", status: 400,
			mentions: []string{"crpi-abc123", "Enterprise"}},
		{name: "instance region is not a region",
			set:  map[string]string{"AcrRegistryInfo.1.InstanceId": "cri-abc123", "AcrRegistryInfo.1.RegionId": "beijing"},
			code: "InvalidParameter.AcrRegistryInfo.1.RegionId", status: 400,
			mentions: []string{"AcrRegistryInfo.1.RegionId", "beijing", "cn-beijing"}},
		{name: "domain with a scheme",
			set:  map[string]string{"AcrRegistryInfo.1.InstanceId": "cri-abc123", "AcrRegistryInfo.1.Domain.1": "https://reg.example.com"},
			code: "InvalidParameter.AcrRegistryInfo.1.Domain.1", status: 400,
			mentions: []string{"https://reg.example.com", "no scheme"}},
		{name: "instance name without id",
			set:  map[string]string{"AcrRegistryInfo.1.InstanceName": "test1"},
			code: "InvalidParameter.AcrRegistryInfo.1.InstanceId", status: 400,
			mentions: []string{"test1", "InstanceId", "ListInstance"}},
		{name: "misspelt AcrRegistryInfo field",
			set:  map[string]string{"AcrRegistryInfo.1.ArnRole": role},
			code: "InvalidParameter.AcrRegistryInfo.1.ArnRole", status: 400,
			mentions: []string{"AcrRegistryInfo.1.ArnRole", "ArnService"}},
		{name: "every AcrRegistryInfo problem at once",
			set: map[string]string{"AcrRegistryInfo.1.InstanceId": "cri_ABC", "AcrRegistryInfo.2.ArnUser": userRole,
				"AcrRegistryInfo.3.ArnService": "acs:ram::" + w.a + ":user/bob"},
			code: "InvalidParameter.AcrRegistryInfo.1.InstanceId", status: 400,
			mentions: []string{"AcrRegistryInfo.1.InstanceId", "AcrRegistryInfo.2.ArnUser", "AcrRegistryInfo.3.ArnService"}},
		{name: "zero containers",
			drop: []string{"Container.1.Name", "Container.1.Image"},
			code: "InvalidParameter.Container", status: 400,
			mentions: []string{"Container.1.Name", "Container.1.Image"}},
		{name: "containers numbered with a gap",
			drop: []string{"Container.1.Name", "Container.1.Image"},
			set:  map[string]string{"Container.2.Name": "app", "Container.2.Image": "registry.example.com/ns/app:1"},
			code: "InvalidParameter.Container.1", status: 400,
			mentions: []string{"Container.1", "Container.2"}},
		{name: "unknown ImagePullPolicy",
			set:  map[string]string{"Container.1.ImagePullPolicy": "Sometimes"},
			code: "InvalidParameter.Container.1.ImagePullPolicy", status: 400,
			mentions: []string{"Container.1.ImagePullPolicy", "Sometimes", "IfNotPresent"}},
		{name: "container without an image",
			drop: []string{"Container.1.Image"},
			code: "InvalidParameter.Container.1.Image", status: 400,
			mentions: []string{"Container.1.Image"}},
		{name: "credential without a password",
			set:  map[string]string{"ImageRegistryCredential.1.Server": "reg.example.com", "ImageRegistryCredential.1.UserName": "u"},
			code: "InvalidParameter.ImageRegistryCredential.1.Password", status: 400,
			mentions: []string{"ImageRegistryCredential.1.Password", "reg.example.com"}},
		{name: "unknown RestartPolicy",
			set:  map[string]string{"RestartPolicy": "Sometimes"},
			code: "InvalidParameter.RestartPolicy", status: 400,
			mentions: []string{"Sometimes", "OnFailure"}},
		{name: "RegionId is not a region",
			set:  map[string]string{"RegionId": "mars"},
			code: "InvalidParameter.RegionId", status: 400,
			mentions: []string{"mars", "cn-hangzhou"}},
		{name: "vSwitch that does not exist",
			set:  map[string]string{"VSwitchId": "vsw-doesnotexist"},
			code: "InvalidParameter.VSwitchId", status: 400,
			mentions: []string{"vsw-doesnotexist"}},
		{name: "no name",
			drop: []string{"ContainerGroupName"},
			code: "MissingParameter", status: 400,
			mentions: []string{"ContainerGroupName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := maps.Clone(base)
			for _, k := range tt.drop {
				delete(params, k)
			}
			maps.Copy(params, tt.set)
			err := w.raw(w.root).Do(t.Context(), eciapi.Version, "CreateContainerGroup", params, nil)
			wantError(t, "CreateContainerGroup", err, tt.code, tt.status, tt.mentions...)
		})
	}

	// The official SDK decodes the same errors.
	req := at(w, ecisdk.CreateCreateContainerGroupRequest())
	req.RegionId, req.ContainerGroupName = region, "bad"
	req.Container = &[]ecisdk.CreateContainerGroupContainer{{Name: "app", Image: "registry.example.com/ns/app:1", ImagePullPolicy: "Sometimes"}}
	_, err := w.sdk(w.root).CreateContainerGroup(req)
	wantError(t, "SDK CreateContainerGroup", err, "InvalidParameter.Container.1.ImagePullPolicy", 400, "Sometimes")

	if gs, err := w.n.ECI.List(t.Context(), ""); err != nil || len(gs) != 0 {
		t.Errorf("after refused requests, groups = %d (%v), want none", len(gs), err)
	}
}

// Another account's group does not exist for the caller: Describe* shows
// nothing, Delete answers not found, and the group survives. A group of
// another region of the caller's own account does not exist either.
func TestOtherAccountsGroup(t *testing.T) {
	w := newWorld(t)
	_, rootB := w.account("acct-b")
	id := w.create(w.root, "mine", "not a reference!") // fails fast: no pull retries in the background

	if resp := w.describe(rootB, id); resp.TotalCount != 0 || len(resp.ContainerGroups) != 0 {
		t.Errorf("B's DescribeContainerGroups(%s) = %d groups, want none", id, len(resp.ContainerGroups))
	}
	var all rawGroups
	if err := w.raw(rootB).Do(t.Context(), eciapi.Version, "DescribeContainerGroups", nil, &all); err != nil || all.TotalCount != 0 {
		t.Errorf("B's DescribeContainerGroups() = %+v, %v, want none", all, err)
	}
	body, err := w.common(rootB, "DescribeContainerGroupEvents", map[string]string{"ContainerGroupIds": ids(id)})
	if err != nil {
		t.Fatal(err)
	}
	var evs rawEvents
	if err := json.Unmarshal(body, &evs); err != nil || len(evs.Data) != 0 {
		t.Errorf("B's DescribeContainerGroupEvents(%s) = %s, want no data", id, body)
	}
	del := at(w, ecisdk.CreateDeleteContainerGroupRequest())
	del.ContainerGroupId = id
	_, err = w.sdk(rootB).DeleteContainerGroup(del)
	wantError(t, "B's DeleteContainerGroup", err, "InvalidParameter.NotFound", http.StatusNotFound, id)

	// The caller's own group, asked for in another region.
	err = w.raw(w.root).Do(t.Context(), eciapi.Version, "DeleteContainerGroup", map[string]string{"ContainerGroupId": id, "RegionId": "cn-beijing"}, nil)
	wantError(t, "DeleteContainerGroup in cn-beijing", err, "InvalidParameter.NotFound", http.StatusNotFound, id, "RegionId="+region)
	var other rawGroups
	if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DescribeContainerGroups", map[string]string{"RegionId": "cn-beijing"}, &other); err != nil || other.TotalCount != 0 {
		t.Errorf("DescribeContainerGroups in cn-beijing = %+v, %v, want none", other, err)
	}

	if resp := w.describe(w.root, id); len(resp.ContainerGroups) != 1 {
		t.Fatalf("the owner's DescribeContainerGroups(%s) = %d groups, want 1", id, len(resp.ContainerGroups))
	}
	if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DeleteContainerGroup", map[string]string{"ContainerGroupId": id}, nil); err != nil {
		t.Errorf("the owner's DeleteContainerGroup: %v", err)
	}
}

// create creates a one-container group through the raw client and
// returns its id.
func (w *world) create(c cred, name, image string) string {
	w.t.Helper()
	var out struct{ ContainerGroupId string }
	params := map[string]string{"ContainerGroupName": name, "Container.1.Name": "c", "Container.1.Image": image}
	if err := w.raw(c).Do(w.t.Context(), eciapi.Version, "CreateContainerGroup", params, &out); err != nil {
		w.t.Fatalf("CreateContainerGroup(%s): %v", name, err)
	}
	return out.ContainerGroupId
}

// RAM decides every action: a user with no policy may do nothing, a
// reader may only describe, and a policy on one group's ARN allows
// deleting that group only.
func TestNoPermission(t *testing.T) {
	w := newWorld(t)
	nobody := w.user(w.a, "nobody")
	reader := w.user(w.a, "reader", w.policy(w.a, "eci-read",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"eci:Describe*","Resource":"acs:eci:*:*:containergroup/*"}]}`))
	admin := w.user(w.a, "admin", "AliyunECIFullAccess")
	id := w.create(admin, "by-admin", "not a reference!")
	other := w.create(admin, "other", "not a reference!")
	deleter := w.user(w.a, "deleter", w.policy(w.a, "eci-delete-one",
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"eci:DeleteContainerGroup","Resource":"acs:eci:`+region+`:`+w.a+`:containergroup/`+id+`"}]}`))

	create := map[string]string{"ContainerGroupName": "x", "Container.1.Name": "c", "Container.1.Image": "registry.example.com/a/b:1"}
	tests := []struct {
		name    string
		who     cred
		action  string
		params  map[string]string
		allowed bool
	}{
		{"nobody creates", nobody, "CreateContainerGroup", create, false},
		{"nobody describes", nobody, "DescribeContainerGroups", nil, false},
		{"nobody lists events", nobody, "DescribeContainerGroupEvents", nil, false},
		{"nobody deletes", nobody, "DeleteContainerGroup", map[string]string{"ContainerGroupId": id}, false},
		{"reader creates", reader, "CreateContainerGroup", create, false},
		{"reader describes", reader, "DescribeContainerGroups", nil, true},
		{"reader lists events", reader, "DescribeContainerGroupEvents", nil, true},
		{"reader deletes", reader, "DeleteContainerGroup", map[string]string{"ContainerGroupId": id}, false},
		{"deleter deletes another group", deleter, "DeleteContainerGroup", map[string]string{"ContainerGroupId": other}, false},
		{"deleter describes", deleter, "DescribeContainerGroups", nil, false},
		{"deleter deletes its group", deleter, "DeleteContainerGroup", map[string]string{"ContainerGroupId": id}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.raw(tt.who).Do(t.Context(), eciapi.Version, tt.action, tt.params, nil)
			if tt.allowed {
				if err != nil {
					t.Errorf("%s = %v, want success", tt.action, err)
				}
				return
			}
			wantError(t, tt.action, err, "NoPermission", http.StatusForbidden, "eci:"+tt.action)
		})
	}
	// Nothing a refused request asked for happened.
	if gs, _ := w.n.ECI.List(t.Context(), w.a); len(gs) != 1 || gs[0].ID != other {
		t.Errorf("groups after the table = %d, want only %s", len(gs), other)
	}
}

// A registry password handed over in ImageRegistryCredential is used for
// its registry and never appears in plain text anywhere: not in the data
// directory, not in DescribeContainerGroups or DescribeContainerGroupEvents,
// not in an error message.
func TestRegistryPasswordNeverStored(t *testing.T) {
	w := newWorld(t)
	canary := "canary-" + rand.Text()
	upstream := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "puller" || p != canary {
			rw.Header().Set("WWW-Authenticate", `Basic realm="private"`)
			http.Error(rw, `{"errors":[{"code":"UNAUTHORIZED","message":"login required"}]}`, http.StatusUnauthorized)
			return
		}
		upstream.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/library/app:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "puller", Password: canary})); err != nil {
		t.Fatal(err)
	}

	req := at(w, ecisdk.CreateCreateContainerGroupRequest())
	req.RegionId, req.ContainerGroupName = region, "private"
	req.Container = &[]ecisdk.CreateContainerGroupContainer{{Name: "app", Image: host + "/library/app:1"}}
	req.ImageRegistryCredential = &[]ecisdk.CreateContainerGroupImageRegistryCredential{{Server: host, UserName: "puller", Password: canary}}
	created, err := w.sdk(w.root).CreateContainerGroup(req)
	if err != nil {
		t.Fatalf("CreateContainerGroup: %v", err)
	}
	id := created.ContainerGroupId
	w.expectReady(w.root, id)

	for _, action := range []string{"DescribeContainerGroups", "DescribeContainerGroupEvents"} {
		body, err := w.common(w.root, action, map[string]string{"ContainerGroupIds": ids(id)})
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		if bytes.Contains(body, []byte(canary)) {
			t.Errorf("%s shows the registry password:\n%s", action, body)
		}
		if !bytes.Contains(body, []byte(id)) {
			t.Errorf("%s does not show the group at all:\n%s", action, body)
		}
	}
	var raw rawGroups
	if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DescribeContainerGroups", map[string]string{"ContainerGroupIds": ids(id)}, &raw); err != nil {
		t.Fatal(err)
	}
	if got := raw.ContainerGroups[0].Containers[0].Identity; got != "imagePullSecret for "+host {
		t.Errorf("Identity = %q, want the registry credential for %s", got, host)
	}

	// A refused credential: the error names the field, never the value.
	err = w.raw(w.root).Do(t.Context(), eciapi.Version, "CreateContainerGroup", map[string]string{
		"ContainerGroupName": "refused", "Container.1.Name": "app", "Container.1.Image": host + "/library/app:1",
		"ImageRegistryCredential.1.UserName": "puller", "ImageRegistryCredential.1.Password": canary,
	}, nil)
	wantError(t, "CreateContainerGroup without Server", err, "InvalidParameter.ImageRegistryCredential.1.Server", 400)
	if err != nil && strings.Contains(err.Error(), canary) {
		t.Errorf("the error repeats the password: %v", err)
	}

	// Every file of the data directory, the database included.
	var scanned int
	err = filepath.WalkDir(w.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s holds the registry password in plain text", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 3 {
		t.Errorf("scanned %d files of %s, want the database, the master key, the audit log and more", scanned, w.dataDir)
	}
}

// DescribeContainerGroups pages newest first with NextToken, survives a
// deletion between pages, filters, and refuses malformed filters.
func TestDescribeContainerGroupsPaging(t *testing.T) {
	w := newWorld(t)
	var created []string
	for _, n := range []string{"p0", "p1", "p2", "p3", "p4"} {
		created = append(created, w.create(w.root, n, "not a reference!"))
	}
	for _, id := range created {
		if g := w.settle(w.root, id); g.Status != "Failed" {
			t.Fatalf("group %s is %s, want Failed (an invalid image reference)", id, g.Status)
		}
	}

	page := func(token string) rawGroups {
		t.Helper()
		var out rawGroups
		params := map[string]string{"Limit": "2"}
		if token != "" {
			params["NextToken"] = token
		}
		if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DescribeContainerGroups", params, &out); err != nil {
			t.Fatalf("DescribeContainerGroups(NextToken %q): %v", token, err)
		}
		return out
	}
	var seen []string
	var last time.Time
	first := page("")
	token := first.NextToken
	for _, g := range first.ContainerGroups {
		seen = append(seen, g.ContainerGroupId)
	}
	if first.TotalCount != 5 || len(first.ContainerGroups) != 2 || token == "" {
		t.Fatalf("first page = %d groups of %d, NextToken %q; want 2 of 5 and a token", len(first.ContainerGroups), first.TotalCount, token)
	}
	// Deleting a group already listed shifts nothing for the next page.
	if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DeleteContainerGroup", map[string]string{"ContainerGroupId": seen[0]}, nil); err != nil {
		t.Fatal(err)
	}
	for pages := 1; token != ""; pages++ {
		if pages > 5 {
			t.Fatal("NextToken never ends")
		}
		p := page(token)
		for _, g := range p.ContainerGroups {
			seen = append(seen, g.ContainerGroupId)
			ct, err := time.Parse("2006-01-02T15:04:05Z", g.CreationTime)
			if err != nil || !last.IsZero() && ct.After(last) {
				t.Errorf("group %s created %s after %s: want newest first", g.ContainerGroupId, g.CreationTime, last)
			}
			last = ct
		}
		token = p.NextToken
	}
	if diff := cmp.Diff(sorted(created), sorted(seen)); diff != "" {
		t.Errorf("paged groups (-created +seen):\n%s", diff)
	}

	remaining := slices.DeleteFunc(slices.Clone(created), func(id string) bool { return id == seen[0] })
	kept, err := w.n.ECI.Get(t.Context(), w.a, remaining[0])
	if err != nil {
		t.Fatal(err)
	}
	filters := []struct {
		name   string
		params map[string]string
		want   int
	}{
		{"by name", map[string]string{"ContainerGroupName": kept.Name}, 1},
		{"by status", map[string]string{"Status": "Failed"}, 4},
		{"by ids", map[string]string{"ContainerGroupIds": ids(remaining[0], remaining[1], seen[0], "eci-doesnotexist")}, 2},
		{"by zone", map[string]string{"ZoneId": "cn-hangzhou-k"}, 0},
	}
	for _, tt := range filters {
		t.Run(tt.name, func(t *testing.T) {
			var out rawGroups
			if err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DescribeContainerGroups", tt.params, &out); err != nil {
				t.Fatal(err)
			}
			if out.TotalCount != tt.want || len(out.ContainerGroups) != tt.want {
				t.Errorf("DescribeContainerGroups(%v) = %d (TotalCount %d), want %d", tt.params, len(out.ContainerGroups), out.TotalCount, tt.want)
			}
		})
	}

	refused := []struct {
		name     string
		params   map[string]string
		code     string
		mentions []string
	}{
		{"Limit 0", map[string]string{"Limit": "0"}, "InvalidParameter.Limit", []string{"[1, 100]"}},
		{"Limit 101", map[string]string{"Limit": "101"}, "InvalidParameter.Limit", []string{"101"}},
		{"forged NextToken", map[string]string{"NextToken": "page-2"}, "InvalidParameter.NextToken", []string{"page-2", "previous response"}},
		{"ids not JSON", map[string]string{"ContainerGroupIds": created[0]}, "InvalidParameter.ContainerGroupIds", []string{"JSON array"}},
		{"too many ids", map[string]string{"ContainerGroupIds": ids(strings.Split(strings.Repeat("eci-x,", 21), ",")[:21]...)}, "InvalidParameter.ContainerGroupIds", []string{"21", "20"}},
		{"Running is never a status", map[string]string{"Status": "Running"}, "InvalidParameter.Status", []string{"Running", "ImagesReady"}},
		{"tags are not kept", map[string]string{"Tag.1.Key": "env", "Tag.1.Value": "prod"}, "InvalidParameter.Tag", []string{"keeps none"}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			err := w.raw(w.root).Do(t.Context(), eciapi.Version, "DescribeContainerGroups", tt.params, nil)
			wantError(t, "DescribeContainerGroups", err, tt.code, http.StatusBadRequest, tt.mentions...)
		})
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// FuzzCreateContainerGroup sends arbitrary parameters on top of a valid
// request. Whatever they are, the answer is a success or a 4xx — never a
// 5xx — and no message repeats a registry password (unless the request
// also sent that text as something else).
func FuzzCreateContainerGroup(f *testing.F) {
	const canary = "fuzz-canary-password"
	for _, seed := range []string{
		"",
		"Container.1.ImagePullPolicy=Sometimes",
		"Container.2.Name=b&Container.2.Image=reg.example.com/a/b:1",
		"Container.3.Name=c",
		"Container.01.Name=x",
		"Container.99999999999999999999.Name=x",
		"AcrRegistryInfo.1.InstanceId=cri-abc&AcrRegistryInfo.1.Domain.1=REG.EXAMPLE.COM&AcrRegistryInfo.1.Domain.3=x.example.com",
		"AcrRegistryInfo.1.ArnUser=acs:ram::1234567890123456:role/r",
		"AcrRegistryInfo.1.ArnService=acs%3Aram%3A%3A1%3Arole%2Fr&AcrRegistryInfo.1.ArnUser=%00",
		"AcrRegistryInfo.0.InstanceId=cri-a&AcrRegistryInfo..InstanceId=cri-b&AcrRegistryInfo.1.=x",
		"ImageRegistryCredential.1.Server=",
		"ImageRegistryCredential.1.Server=a b&ImageRegistryCredential.2.Password=other-secret-value",
		"ImageRegistryCredential.1.Password=" + strings.Repeat("p", 2000),
		"RegionId=cn-&ZoneId=%FF&VSwitchId=vsw-x",
		"ContainerGroupName=" + strings.Repeat("n", 200),
	} {
		f.Add(seed)
	}
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, extra string) {
		q, err := url.ParseQuery(extra)
		if err != nil {
			t.Skip()
		}
		params := map[string]string{
			"ContainerGroupName": "fuzz", "Container.1.Name": "c", "Container.1.Image": "not a reference!",
			"ImageRegistryCredential.1.Server": "reg.example.com", "ImageRegistryCredential.1.UserName": "u",
			"ImageRegistryCredential.1.Password": canary,
		}
		for k, v := range q {
			params[k] = v[len(v)-1]
			// Images stay invalid references: a created group fails at
			// once, and nothing dials out of the test.
			if strings.HasPrefix(k, "Container.") && strings.HasSuffix(k, ".Image") && v[len(v)-1] != "" {
				params[k] = "not a reference!"
			}
		}
		var out struct{ ContainerGroupId string }
		err = w.raw(w.root).Do(t.Context(), eciapi.Version, "CreateContainerGroup", params, &out)
		if err == nil {
			// Groups created are not deleted, and the node does not stop,
			// while their pulls are reconciled: either panics package eci
			// (reconcile indexes the zero group a failed update returns).
			waitFailed(t, w, out.ContainerGroupId)
			return
		}
		e, ok := apiErrorOf(err)
		if !ok {
			t.Fatalf("CreateContainerGroup(%q) = %v, want a vendor error", extra, err)
		}
		if e.Status >= 500 {
			t.Errorf("CreateContainerGroup(%q) = HTTP %d %s: %s, want success or a 4xx", extra, e.Status, e.Code, e.Message)
		}
		for k, secret := range params {
			if !strings.HasSuffix(k, ".Password") || len(secret) < 8 || sentAsOther(params, k, secret) {
				continue
			}
			if strings.Contains(e.Message, secret) {
				t.Errorf("CreateContainerGroup(%q): the message repeats %s: %s", extra, k, e.Message)
			}
		}
	})
}

// waitFailed waits until every container of a group has failed.
func waitFailed(t *testing.T, w *world, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, err := w.n.ECI.Get(t.Context(), "", id)
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for _, cs := range g.ContainerStatuses {
			done = done && cs.FailureKind != ""
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s: containers still pulling: %+v", id, g.ContainerStatuses)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sentAsOther reports whether secret is also part of another parameter's
// name or value, which a message may legitimately quote.
func sentAsOther(params map[string]string, key, secret string) bool {
	for k, v := range params {
		if k != key && (strings.Contains(k, secret) || strings.Contains(v, secret)) {
			return true
		}
	}
	return false
}
