package vpcapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkcredentials "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	vpcsdk "github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	"github.com/google/go-cmp/cmp"

	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/store/bolt"
	"github.com/rolepull/rolepull/internal/sts"
	"github.com/rolepull/rolepull/internal/vpcapi"
)

const region = "cn-hangzhou"

type cred struct{ ID, Secret string }

type fixture struct {
	host         string
	ram          *ram.Service
	net          *netmodel.Service
	a, b         ram.Account
	rootA, rootB cred
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{net: netmodel.New(st, nil)}
	if f.ram, err = ram.New(st, keys, ram.Options{}); err != nil {
		t.Fatal(err)
	}
	if f.a, err = f.ram.CreateAccount(t.Context(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	if f.b, err = f.ram.CreateAccount(t.Context(), "acct-b"); err != nil {
		t.Fatal(err)
	}
	f.rootA, f.rootB = f.key(t, f.a.ID, ""), f.key(t, f.b.ID, "")
	srv := openapi.NewServer(sts.New(f.ram, keys, sts.Options{}), f.ram, openapi.Options{DefaultRegion: region})
	vpcapi.Register(srv, f.net)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	f.host = strings.TrimPrefix(ts.URL, "http://")
	return f
}

func (f *fixture) key(t *testing.T, account, user string) cred {
	t.Helper()
	k, secret, err := f.ram.CreateAccessKey(t.Context(), account, user)
	if err != nil {
		t.Fatal(err)
	}
	return cred{k.AccessKeyID, secret}
}

// user creates a RAM user of account A with one custom policy (none when
// doc is "").
func (f *fixture) user(t *testing.T, name, doc string) cred {
	t.Helper()
	ctx := t.Context()
	if _, err := f.ram.CreateUser(ctx, f.a.ID, ram.User{UserName: name}); err != nil {
		t.Fatal(err)
	}
	if doc != "" {
		if _, err := f.ram.CreatePolicy(ctx, f.a.ID, name+"-policy", "", doc); err != nil {
			t.Fatal(err)
		}
		if err := f.ram.AttachPolicy(ctx, f.a.ID, ram.Custom, name+"-policy", ram.ToUser, name); err != nil {
			t.Fatal(err)
		}
	}
	return f.key(t, f.a.ID, name)
}

// client is an alibaba-cloud-sdk-go services/vpc client (RPC v1, RegionId
// = clientRegion on every request).
func (f *fixture) client(t *testing.T, c cred, clientRegion string) *vpcsdk.Client {
	t.Helper()
	cl, err := vpcsdk.NewClientWithOptions(clientRegion, sdk.NewConfig(), sdkcredentials.NewAccessKeyCredential(c.ID, c.Secret))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func at[R interface {
	SetScheme(string)
	SetDomain(string)
}](f *fixture, r R) R {
	r.SetScheme("http")
	r.SetDomain(f.host)
	return r
}

func (f *fixture) createVpc(t *testing.T, cl *vpcsdk.Client, name string) *vpcsdk.CreateVpcResponse {
	t.Helper()
	req := at(f, vpcsdk.CreateCreateVpcRequest())
	req.VpcName, req.CidrBlock = name, "192.168.0.0/16"
	r, err := cl.CreateVpc(req)
	if err != nil {
		t.Fatalf("CreateVpc(%s): %v", name, err)
	}
	return r
}

func (f *fixture) createVSwitch(t *testing.T, cl *vpcsdk.Client, vpcID, zone, name string) (*vpcsdk.CreateVSwitchResponse, error) {
	t.Helper()
	req := at(f, vpcsdk.CreateCreateVSwitchRequest())
	req.VpcId, req.ZoneId, req.VSwitchName, req.CidrBlock = vpcID, zone, name, "192.168.1.0/24"
	return cl.CreateVSwitch(req)
}

func wantError(t *testing.T, what string, err error, code string, status int, mentions ...string) {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Errorf("%s = %v, want %s (HTTP %d)", what, err, code, status)
		return
	}
	t.Logf("%s: HTTP %d %s: %s", what, se.HttpStatus(), se.ErrorCode(), se.Message())
	if se.ErrorCode() != code || se.HttpStatus() != status {
		t.Errorf("%s = %s (HTTP %d): %s, want %s (HTTP %d)", what, se.ErrorCode(), se.HttpStatus(), se.Message(), code, status)
	}
	for _, m := range mentions {
		if !strings.Contains(se.Message(), m) {
			t.Errorf("%s message %q does not mention %q", what, se.Message(), m)
		}
	}
}

// TestVpcLifecycle creates VPCs and vSwitches with the official SDK and
// reads them back, in their region only.
func TestVpcLifecycle(t *testing.T) {
	f := newFixture(t)
	cl := f.client(t, f.rootA, region)
	vpc := f.createVpc(t, cl, "seed-vpc")
	if !strings.HasPrefix(vpc.VpcId, "vpc-") || vpc.RequestId == "" {
		t.Fatalf("CreateVpc = %+v", vpc)
	}
	var assigned struct{ CidrBlock string }
	if err := json.Unmarshal(vpc.GetHttpContentBytes(), &assigned); err != nil || !strings.HasPrefix(assigned.CidrBlock, "127.") {
		t.Errorf("CreateVpc CidrBlock = %q (%v), want the assigned loopback block", assigned.CidrBlock, err)
	}
	vsw, err := f.createVSwitch(t, cl, vpc.VpcId, region+"-k", "seed-vsw")
	if err != nil || !strings.HasPrefix(vsw.VSwitchId, "vsw-") {
		t.Fatalf("CreateVSwitch = %+v, %v", vsw, err)
	}
	// A VPC in another region, and one of another account: neither listed.
	f.createVpc(t, f.client(t, f.rootA, "cn-beijing"), "beijing-vpc")
	f.createVpc(t, f.client(t, f.rootB, region), "other-account")

	dv := at(f, vpcsdk.CreateDescribeVpcsRequest())
	vpcs, err := cl.DescribeVpcs(dv)
	if err != nil {
		t.Fatal(err)
	}
	type vpcView struct {
		VpcID, Region, Name, Status, Cidr string
		OwnerID                           int64
		VSwitches                         []string
	}
	var got []vpcView
	for _, v := range vpcs.Vpcs.Vpc {
		got = append(got, vpcView{v.VpcId, v.RegionId, v.VpcName, v.Status, v.CidrBlock, v.OwnerId, v.VSwitchIds.VSwitchId})
		if v.CreationTime == "" {
			t.Errorf("DescribeVpcs %s: no CreationTime", v.VpcId)
		}
	}
	want := []vpcView{{vpc.VpcId, region, "seed-vpc", "Available", assigned.CidrBlock, mustInt(f.a.ID), []string{vsw.VSwitchId}}}
	if diff := cmp.Diff(want, got); diff != "" || vpcs.TotalCount != 1 || vpcs.PageNumber != 1 || vpcs.PageSize != 10 {
		t.Errorf("DescribeVpcs in %s (-want +got), total %d page %d/%d:\n%s", region, vpcs.TotalCount, vpcs.PageNumber, vpcs.PageSize, diff)
	}

	dw := at(f, vpcsdk.CreateDescribeVSwitchesRequest())
	dw.VpcId = vpc.VpcId
	sws, err := cl.DescribeVSwitches(dw)
	if err != nil {
		t.Fatal(err)
	}
	if sws.TotalCount != 1 || len(sws.VSwitches.VSwitch) != 1 {
		t.Fatalf("DescribeVSwitches(%s) = %+v", vpc.VpcId, sws.VSwitches)
	}
	if w := sws.VSwitches.VSwitch[0]; w.VSwitchId != vsw.VSwitchId || w.VpcId != vpc.VpcId || w.ZoneId != region+"-k" || w.VSwitchName != "seed-vsw" ||
		w.Status != "Available" || !strings.HasPrefix(w.CidrBlock, strings.TrimSuffix(assigned.CidrBlock, "0.0/16")) || w.AvailableIpAddressCount != 252 {
		t.Errorf("DescribeVSwitches item = %+v", w)
	}

	tests := []struct {
		name    string
		mutate  func(*vpcsdk.DescribeVpcsRequest)
		wantIDs int
	}{
		{"by id", func(r *vpcsdk.DescribeVpcsRequest) { r.VpcId = vpc.VpcId }, 1},
		{"by an unknown id", func(r *vpcsdk.DescribeVpcsRequest) { r.VpcId = "vpc-nope" }, 0},
		{"by name", func(r *vpcsdk.DescribeVpcsRequest) { r.VpcName = "seed-vpc" }, 1},
		{"past the last page", func(r *vpcsdk.DescribeVpcsRequest) { r.PageNumber = requests.NewInteger(2) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := at(f, vpcsdk.CreateDescribeVpcsRequest())
			tt.mutate(req)
			r, err := cl.DescribeVpcs(req)
			if err != nil || len(r.Vpcs.Vpc) != tt.wantIDs {
				t.Errorf("DescribeVpcs = %+v, %v; want %d", r, err, tt.wantIDs)
			}
		})
	}
}

// TestVpcRefusals checks authorization, ownership and parameters.
func TestVpcRefusals(t *testing.T) {
	f := newFixture(t)
	root := f.client(t, f.rootA, region)
	vpc := f.createVpc(t, root, "seed-vpc")
	other := f.createVpc(t, f.client(t, f.rootB, region), "other")
	beijing := f.createVpc(t, f.client(t, f.rootA, "cn-beijing"), "beijing")
	nobody := f.client(t, f.user(t, "nobody", ""), region)
	reader := f.client(t, f.user(t, "reader", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"vpc:Describe*","Resource":"*"}]}`), region)
	oneVPC := f.client(t, f.user(t, "one-vpc", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"vpc:CreateVSwitch","Resource":"acs:vpc:*:*:vpc/`+vpc.VpcId+`"}]}`), region)

	createVpc := func(cl *vpcsdk.Client, mutate func(*vpcsdk.CreateVpcRequest)) func() error {
		return func() error {
			req := at(f, vpcsdk.CreateCreateVpcRequest())
			if mutate != nil {
				mutate(req)
			}
			_, err := cl.CreateVpc(req)
			return err
		}
	}
	createVSwitch := func(cl *vpcsdk.Client, vpcID, zone string, mutate func(*vpcsdk.CreateVSwitchRequest)) func() error {
		return func() error {
			req := at(f, vpcsdk.CreateCreateVSwitchRequest())
			req.VpcId, req.ZoneId = vpcID, zone
			if mutate != nil {
				mutate(req)
			}
			_, err := cl.CreateVSwitch(req)
			return err
		}
	}
	describe := func(cl *vpcsdk.Client) func() error {
		return func() error {
			_, err := cl.DescribeVpcs(at(f, vpcsdk.CreateDescribeVpcsRequest()))
			return err
		}
	}
	tests := []struct {
		name     string
		do       func() error
		code     string
		status   int
		mentions []string
	}{
		{"CreateVpc with no policy", createVpc(nobody, nil), "NoPermission", http.StatusForbidden, []string{"vpc:CreateVpc", "acs:vpc:" + region + ":" + f.a.ID + ":vpc/*"}},
		{"DescribeVpcs with no policy", describe(nobody), "NoPermission", http.StatusForbidden, []string{"vpc:DescribeVpcs"}},
		{"DescribeVpcs allowed vpc:Describe*", describe(reader), "", 0, nil},
		{"CreateVpc allowed vpc:Describe*", createVpc(reader, nil), "NoPermission", http.StatusForbidden, []string{"vpc:CreateVpc"}},
		{"CreateVSwitch in the one allowed VPC", createVSwitch(oneVPC, vpc.VpcId, region+"-a", nil), "", 0, nil},
		{"CreateVSwitch elsewhere", func() error {
			v := f.createVpc(t, root, "second")
			return createVSwitch(oneVPC, v.VpcId, region+"-a", nil)()
		}, "NoPermission", http.StatusForbidden, []string{"vpc:CreateVSwitch"}},
		{"a vSwitch in another account's VPC", createVSwitch(root, other.VpcId, region+"-a", nil), "InvalidVpcId.NotFound", http.StatusNotFound, []string{other.VpcId, "DescribeVpcs"}},
		{"a vSwitch in a VPC of another region", createVSwitch(root, beijing.VpcId, region+"-a", nil), "InvalidVpcId.NotFound", http.StatusNotFound, []string{beijing.VpcId, "cn-beijing", "RegionId=cn-beijing"}},
		{"a zone of another region", createVSwitch(root, vpc.VpcId, "cn-beijing-a", nil), "InvalidZoneId.NotFound", http.StatusBadRequest, []string{"cn-beijing-a", region + "-a"}},
		{"no ZoneId", createVSwitch(root, vpc.VpcId, "", nil), "MissingParameter", http.StatusBadRequest, []string{"ZoneId"}},
		{"no VpcId", createVSwitch(root, "", region+"-a", nil), "MissingParameter", http.StatusBadRequest, []string{"VpcId"}},
		{"a malformed CidrBlock", createVSwitch(root, vpc.VpcId, region+"-a", func(r *vpcsdk.CreateVSwitchRequest) { r.CidrBlock = "192.168.1.0/33" }), "InvalidCidrBlock.Malformed", http.StatusBadRequest, []string{"192.168.1.0/33", "assigns"}},
		{"a VpcName too long", createVpc(root, func(r *vpcsdk.CreateVpcRequest) { r.VpcName = strings.Repeat("n", 129) }), "InvalidVpcName.Malformed", http.StatusBadRequest, []string{"128"}},
		{"a PageSize out of range", func() error {
			req := at(f, vpcsdk.CreateDescribeVSwitchesRequest())
			req.PageSize = requests.NewInteger(51)
			_, err := root.DescribeVSwitches(req)
			return err
		}, "InvalidParameter.PageSize", http.StatusBadRequest, []string{"51", "[1, 50]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.code == "" {
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				return
			}
			wantError(t, tt.name, err, tt.code, tt.status, tt.mentions...)
		})
	}
}

func mustInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}
