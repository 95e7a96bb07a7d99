package vpcapi

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/openapi"
)

// Version is the VPC API's version.
const Version = "2016-04-28"

// Register adds the VPC actions to srv.
func Register(srv *openapi.Server, n *netmodel.Service) {
	a := &api{net: n}
	srv.Handle(Version, "CreateVpc", a.createVpc)
	srv.Handle(Version, "DescribeVpcs", a.describeVpcs)
	srv.Handle(Version, "CreateVSwitch", a.createVSwitch)
	srv.Handle(Version, "DescribeVSwitches", a.describeVSwitches)
}

type api struct{ net *netmodel.Service }

// status is every VPC's and vSwitch's: they are usable once created.
const status = "Available"

// usableAddresses is what a /24 vSwitch offers: the vendor reserves the
// first address and the last three.
const usableAddresses = 252

// region is the request's region, validated.
func region(c *openapi.Call) (string, error) {
	if !arn.IsRegion(c.Region) {
		return "", openapi.InvalidParameter("RegionId", "RegionId %q is not a region id such as cn-hangzhou.", c.Region)
	}
	return c.Region, nil
}

func resource(region, account, relative string) string {
	return "acs:vpc:" + region + ":" + account + ":" + relative
}

// cidrBlock checks an optional CidrBlock's syntax. The block itself is
// assigned by the address plan, whatever was asked.
func cidrBlock(c *openapi.Call) error {
	s := c.Params.Get("CidrBlock")
	if s == "" {
		return nil
	}
	if _, err := netip.ParsePrefix(s); err != nil {
		return openapi.Errorf(http.StatusBadRequest, "InvalidCidrBlock.Malformed", "CidrBlock %q is not a CIDR block such as 192.168.0.0/16. (rolepull assigns each VPC and vSwitch the next free block of its loopback address plan, whatever block is asked for.)", s)
	}
	return nil
}

func ownerID(account string) int64 {
	n, _ := strconv.ParseInt(account, 10, 64)
	return n
}

func date(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// page reads PageNumber (from 1) and PageSize (1–50, default 10).
func page(c *openapi.Call) (no, size int, err error) {
	if no, err = c.Params.Int("PageNumber", 1, 1, 1<<20); err != nil {
		return 0, 0, err
	}
	if size, err = c.Params.Int("PageSize", 10, 1, 50); err != nil {
		return 0, 0, err
	}
	return no, size, nil
}

func slice[T any](no, size int, items []T) []T {
	start := (no - 1) * size
	if start >= len(items) {
		return []T{}
	}
	return items[start:min(start+size, len(items))]
}

func (a *api) createVpc(ctx context.Context, c *openapi.Call) (any, error) {
	r, err := region(c)
	if err != nil {
		return nil, err
	}
	if err := cidrBlock(c); err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "vpc:CreateVpc", resource(r, c.Caller.Account, "vpc/*")); err != nil {
		return nil, err
	}
	v, err := a.net.CreateVPC(ctx, c.Caller.Account, r, c.Params.Get("VpcName"))
	if err != nil {
		return nil, err
	}
	return struct {
		VpcID     string `json:"VpcId"`
		CidrBlock string `json:"CidrBlock"`
	}{v.VpcID, v.CidrBlock}, nil
}

type vpcItem struct {
	VpcID        string `json:"VpcId"`
	RegionID     string `json:"RegionId"`
	VpcName      string `json:"VpcName"`
	CidrBlock    string `json:"CidrBlock"`
	Status       string `json:"Status"`
	CreationTime string `json:"CreationTime"`
	IsDefault    bool   `json:"IsDefault"`
	OwnerID      int64  `json:"OwnerId"`
	VSwitchIDs   struct {
		VSwitchID []string `json:"VSwitchId"`
	} `json:"VSwitchIds"`
}

// vpcList and vswitchList are the SDK's wrappers of a list.
type (
	vpcList     struct{ Vpc []vpcItem }
	vswitchList struct{ VSwitch []vswitchItem }
)

// ids splits a comma-separated id list ("" = no filter).
func ids(s string) map[string]bool {
	if s == "" {
		return nil
	}
	m := map[string]bool{}
	for _, id := range strings.Split(s, ",") {
		m[strings.TrimSpace(id)] = true
	}
	return m
}

func (a *api) describeVpcs(ctx context.Context, c *openapi.Call) (any, error) {
	r, err := region(c)
	if err != nil {
		return nil, err
	}
	no, size, err := page(c)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "vpc:DescribeVpcs", resource(r, c.Caller.Account, "vpc/*")); err != nil {
		return nil, err
	}
	vpcs, err := a.net.ListVPCs(ctx, c.Caller.Account)
	if err != nil {
		return nil, err
	}
	switches, err := a.net.ListVSwitches(ctx, c.Caller.Account, "")
	if err != nil {
		return nil, err
	}
	byVPC := map[string][]string{}
	for _, w := range switches {
		byVPC[w.VpcID] = append(byVPC[w.VpcID], w.VSwitchID)
	}
	want, name := ids(c.Params.Get("VpcId")), c.Params.Get("VpcName")
	sort.Slice(vpcs, func(i, j int) bool { return vpcs[i].Number < vpcs[j].Number })
	items := []vpcItem{}
	for _, v := range vpcs {
		if v.Region != r || want != nil && !want[v.VpcID] || name != "" && v.Name != name {
			continue
		}
		it := vpcItem{VpcID: v.VpcID, RegionID: v.Region, VpcName: v.Name, CidrBlock: v.CidrBlock, Status: status,
			CreationTime: date(v.CreateTime), OwnerID: ownerID(v.Account)}
		it.VSwitchIDs.VSwitchID = append([]string{}, byVPC[v.VpcID]...)
		sort.Strings(it.VSwitchIDs.VSwitchID)
		items = append(items, it)
	}
	return struct {
		Vpcs       vpcList `json:"Vpcs"`
		TotalCount int     `json:"TotalCount"`
		PageNumber int     `json:"PageNumber"`
		PageSize   int     `json:"PageSize"`
	}{vpcList{slice(no, size, items)}, len(items), no, size}, nil
}

func (a *api) createVSwitch(ctx context.Context, c *openapi.Call) (any, error) {
	r, err := region(c)
	if err != nil {
		return nil, err
	}
	vpcID, err := c.Params.Require("VpcId")
	if err != nil {
		return nil, err
	}
	zone, err := c.Params.Require("ZoneId")
	if err != nil {
		return nil, err
	}
	if err := cidrBlock(c); err != nil {
		return nil, err
	}
	v, err := a.net.GetVPC(ctx, c.Caller.Account, vpcID)
	if err != nil {
		return nil, err
	}
	if v.Region != r {
		// Own-account VPCs only, so this reveals nothing to others.
		return nil, &netmodel.Error{Err: netmodel.ErrNotFound, Entity: "Vpc", Field: "VpcId",
			Msg: fmt.Sprintf("VPC %s is in %s, not in %s, the region of this request: send RegionId=%s", vpcID, v.Region, r, v.Region)}
	}
	if !strings.HasPrefix(zone, v.Region+"-") || !arn.IsRegion(zone) {
		return nil, openapi.Errorf(http.StatusBadRequest, "InvalidZoneId.NotFound", "ZoneId %q is not a zone of %s, the region of VPC %s: use one such as %s-a.", zone, v.Region, vpcID, v.Region)
	}
	if err := c.Authorize(ctx, "vpc:CreateVSwitch", resource(v.Region, v.Account, "vpc/"+v.VpcID)); err != nil {
		return nil, err
	}
	w, err := a.net.CreateVSwitch(ctx, c.Caller.Account, v.VpcID, zone, c.Params.Get("VSwitchName"))
	if err != nil {
		return nil, err
	}
	return struct {
		VSwitchID string `json:"VSwitchId"`
		CidrBlock string `json:"CidrBlock"`
	}{w.VSwitchID, w.CidrBlock}, nil
}

type vswitchItem struct {
	VSwitchID               string `json:"VSwitchId"`
	VpcID                   string `json:"VpcId"`
	ZoneID                  string `json:"ZoneId"`
	VSwitchName             string `json:"VSwitchName"`
	CidrBlock               string `json:"CidrBlock"`
	Status                  string `json:"Status"`
	CreationTime            string `json:"CreationTime"`
	IsDefault               bool   `json:"IsDefault"`
	AvailableIPAddressCount int64  `json:"AvailableIpAddressCount"`
	OwnerID                 int64  `json:"OwnerId"`
}

func (a *api) describeVSwitches(ctx context.Context, c *openapi.Call) (any, error) {
	r, err := region(c)
	if err != nil {
		return nil, err
	}
	no, size, err := page(c)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "vpc:DescribeVSwitches", resource(r, c.Caller.Account, "vswitch/*")); err != nil {
		return nil, err
	}
	switches, err := a.net.ListVSwitches(ctx, c.Caller.Account, c.Params.Get("VpcId"))
	if err != nil {
		return nil, err
	}
	sort.Slice(switches, func(i, j int) bool {
		if switches[i].VpcID != switches[j].VpcID {
			return switches[i].VpcID < switches[j].VpcID
		}
		return switches[i].Number < switches[j].Number
	})
	want, zone, name := ids(c.Params.Get("VSwitchId")), c.Params.Get("ZoneId"), c.Params.Get("VSwitchName")
	items := []vswitchItem{}
	for _, w := range switches {
		if w.Region != r || want != nil && !want[w.VSwitchID] || zone != "" && w.ZoneID != zone || name != "" && w.Name != name {
			continue
		}
		items = append(items, vswitchItem{w.VSwitchID, w.VpcID, w.ZoneID, w.Name, w.CidrBlock, status, date(w.CreateTime), false, usableAddresses, ownerID(w.Account)})
	}
	return struct {
		VSwitches  vswitchList `json:"VSwitches"`
		TotalCount int         `json:"TotalCount"`
		PageNumber int         `json:"PageNumber"`
		PageSize   int         `json:"PageSize"`
	}{vswitchList{slice(no, size, items)}, len(items), no, size}, nil
}
