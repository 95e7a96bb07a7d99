package eciapi

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/openapi"
)

// Paging and filter bounds.
const (
	defaultLimit = 20
	maxLimit     = 100
	maxGroupIDs  = 20 // ContainerGroupIds, as the vendor documents for DescribeContainerGroupEvents
	// maxEventsPerGroup is how many of a group's latest events
	// DescribeContainerGroupEvents returns, as the vendor's does.
	maxEventsPerGroup = 50
)

// statuses are the ones a group can have (package eci).
var statuses = []string{eci.StatusPending, eci.StatusImagesReady, eci.StatusFailed}

// selection is what a Describe* request selects: one page of the caller's
// groups in its region, newest first, and the total.
type selection struct {
	page      []eci.ContainerGroup
	total     int
	nextToken string
}

func (a *api) selectGroups(ctx context.Context, p openapi.Params, s scope) (selection, error) {
	var ps problems
	var ids map[string]bool
	if raw := p.Get("ContainerGroupIds"); raw != "" {
		var list []string
		switch err := json.Unmarshal([]byte(raw), &list); {
		case err != nil:
			ps.add("ContainerGroupIds", "%.64q is not a JSON array of ids: write [\"eci-…\", \"eci-…\"]", raw)
		case len(list) > maxGroupIDs:
			ps.add("ContainerGroupIds", "%d ids, at most %d: split the request", len(list), maxGroupIDs)
		default:
			ids = make(map[string]bool, len(list))
			for _, id := range list {
				ids[id] = true
			}
		}
	}
	status := p.Get("Status")
	if status != "" && !slices.Contains(statuses, status) {
		ps.add("Status", "%q: rolepull's container groups are %s (no runtime runs containers here, so none is ever Running)", status, strings.Join(statuses, ", "))
	}
	if len(p.Keys("Tag.")) > 0 {
		ps.add("Tag", "rolepull accepts tags on CreateContainerGroup but keeps none, so it cannot select groups by tag: leave Tag out")
	}
	limit, err := p.Int("Limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return selection{}, err
	}
	var after *position
	if tok := p.Get("NextToken"); tok != "" {
		pos, ok := parseToken(tok)
		if !ok {
			ps.add("NextToken", "%.64q is not a NextToken this API returned: send the previous response's NextToken, or none for the first page", tok)
		}
		after = &pos
	}
	if err := ps.err(); err != nil {
		return selection{}, err
	}

	all, err := a.eci.List(ctx, s.account)
	if err != nil {
		return selection{}, err
	}
	name, zone, vswitch := p.Get("ContainerGroupName"), p.Get("ZoneId"), p.Get("VSwitchId")
	var sel []eci.ContainerGroup
	for _, g := range all {
		if g.Region != s.region || ids != nil && !ids[g.ID] || name != "" && g.Name != name ||
			status != "" && g.Status != status || zone != "" && g.ZoneID != zone || vswitch != "" && g.VSwitchID != vswitch {
			continue
		}
		sel = append(sel, g)
	}
	slices.SortFunc(sel, func(x, y eci.ContainerGroup) int { return positionOf(x).compare(positionOf(y)) })
	out := selection{total: len(sel)}
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(sel, *after, func(g eci.ContainerGroup, p position) int {
			if c := positionOf(g).compare(p); c != 0 {
				return c
			}
			return -1 // the token's own group comes before the page
		})
	}
	end := min(start+limit, len(sel))
	out.page = sel[start:end]
	if end < len(sel) {
		out.nextToken = positionOf(sel[end-1]).token()
	}
	return out, nil
}

// position is a group's place in a listing: newest first, then by id.
type position struct {
	unix int64
	id   string
}

func positionOf(g eci.ContainerGroup) position { return position{g.CreationTime.Unix(), g.ID} }

func (p position) compare(q position) int {
	if c := cmp.Compare(q.unix, p.unix); c != 0 {
		return c
	}
	return strings.Compare(p.id, q.id)
}

// token renders a position as a NextToken: "SECONDS.ID".
func (p position) token() string { return strconv.FormatInt(p.unix, 10) + "." + p.id }

func parseToken(s string) (position, bool) {
	secs, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(secs, 10, 64)
	if !ok || err != nil || n < 0 || !strings.HasPrefix(id, "eci-") {
		return position{}, false
	}
	return position{n, id}, true
}

// The response shapes, with the SDK's field names. Fields after a
// "rolepull" comment are additions the SDK ignores.
type (
	groupsOut struct {
		TotalCount      int        `json:"TotalCount"`
		NextToken       string     `json:"NextToken"`
		ContainerGroups []groupOut `json:"ContainerGroups"`
	}
	groupOut struct {
		ContainerGroupID   string         `json:"ContainerGroupId"`
		ContainerGroupName string         `json:"ContainerGroupName"`
		RegionID           string         `json:"RegionId"`
		ZoneID             string         `json:"ZoneId"`
		VSwitchID          string         `json:"VSwitchId"`
		VpcID              string         `json:"VpcId"`
		Status             string         `json:"Status"`
		CreationTime       string         `json:"CreationTime"`
		Containers         []containerOut `json:"Containers"`
		Events             []eventOut     `json:"Events"`
		Tags               []tagOut       `json:"Tags"`
		// rolepull
		Progress progressOut `json:"Progress"`
	}
	containerOut struct {
		Name            string   `json:"Name"`
		Image           string   `json:"Image"`
		ImagePullPolicy string   `json:"ImagePullPolicy"`
		Ready           bool     `json:"Ready"`
		RestartCount    int      `json:"RestartCount"`
		CurrentState    stateOut `json:"CurrentState"`
		// rolepull
		ImageDigest string `json:"ImageDigest,omitempty"`
		Identity    string `json:"Identity,omitempty"`
		FailureKind string `json:"FailureKind,omitempty"`
	}
	stateOut struct {
		State        string `json:"State"`
		DetailStatus string `json:"DetailStatus"`
		Reason       string `json:"Reason"`
		Message      string `json:"Message"`
	}
	eventOut struct {
		Count          int    `json:"Count"`
		Type           string `json:"Type"`
		Name           string `json:"Name"`
		Message        string `json:"Message"`
		FirstTimestamp string `json:"FirstTimestamp"`
		LastTimestamp  string `json:"LastTimestamp"`
		Reason         string `json:"Reason"`
	}
	tagOut struct {
		Key   string `json:"Key"`
		Value string `json:"Value"`
	}
	progressOut struct {
		Layers     int   `json:"Layers"`
		LayersDone int   `json:"LayersDone"`
		Bytes      int64 `json:"Bytes"`
		BytesDone  int64 `json:"BytesDone"`
	}
)

func (a *api) describeContainerGroups(ctx context.Context, c *openapi.Call) (any, error) {
	s, err := scopeOf(c)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:DescribeContainerGroups", s.resource("*")); err != nil {
		return nil, err
	}
	sel, err := a.selectGroups(ctx, c.Params, s)
	if err != nil {
		return nil, err
	}
	out := groupsOut{TotalCount: sel.total, NextToken: sel.nextToken, ContainerGroups: []groupOut{}}
	for _, g := range sel.page {
		evs, err := a.eci.Events(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		out.ContainerGroups = append(out.ContainerGroups, groupView(g, evs))
	}
	return out, nil
}

func groupView(g eci.ContainerGroup, evs []eci.Event) groupOut {
	out := groupOut{
		ContainerGroupID: g.ID, ContainerGroupName: g.Name, RegionID: g.Region, ZoneID: g.ZoneID,
		VSwitchID: g.VSwitchID, VpcID: g.VpcID, Status: g.Status, CreationTime: date(g.CreationTime),
		Containers: []containerOut{}, Events: []eventOut{}, Tags: []tagOut{},
		Progress: progressOut(g.Progress),
	}
	for i, c := range g.Containers {
		co := containerOut{Name: c.Name, Image: c.Image, ImagePullPolicy: c.ImagePullPolicy}
		if i < len(g.ContainerStatuses) {
			cs := g.ContainerStatuses[i]
			co.Ready, co.ImageDigest, co.Identity, co.FailureKind = cs.Ready, cs.ImageDigest, cs.Identity, cs.FailureKind
			co.CurrentState = stateOut{State: cs.State, DetailStatus: cs.Reason, Reason: cs.Reason, Message: cs.Message}
		}
		out.Containers = append(out.Containers, co)
	}
	for _, e := range evs {
		out.Events = append(out.Events, eventOut{Count: e.Count, Type: e.Type, Name: eventName(g.ID, e), Message: e.Message,
			FirstTimestamp: date(e.FirstTimestamp), LastTimestamp: date(e.LastTimestamp), Reason: e.Reason})
	}
	return out
}

// eventName names an event as Kubernetes does: the object, a dot, a
// number unique to the object.
func eventName(id string, e eci.Event) string { return id + "." + strconv.FormatInt(e.Seq, 16) }

// DescribeContainerGroupEvents' shapes (the darabonba SDK's
// DescribeContainerGroupEventsResponseBody).
type (
	groupEventsOut struct {
		TotalCount int             `json:"TotalCount"` // events returned
		Data       []groupEventSet `json:"Data"`
		// rolepull
		NextToken string `json:"NextToken"`
	}
	groupEventSet struct {
		ContainerGroupID string         `json:"ContainerGroupId"`
		Name             string         `json:"Name"`
		Namespace        string         `json:"Namespace"`
		Events           []fullEventOut `json:"Events"`
	}
	fullEventOut struct {
		Count          int    `json:"Count"`
		Type           string `json:"Type"`
		Reason         string `json:"Reason"`
		Message        string `json:"Message"`
		FirstTimestamp string `json:"FirstTimestamp"`
		LastTimestamp  string `json:"LastTimestamp"`
		Source         struct {
			Component string `json:"Component"`
		} `json:"Source"`
		Metadata struct {
			Name      string `json:"Name"`
			Namespace string `json:"Namespace"`
		} `json:"Metadata"`
	}
)

func (a *api) describeContainerGroupEvents(ctx context.Context, c *openapi.Call) (any, error) {
	s, err := scopeOf(c)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:DescribeContainerGroupEvents", s.resource("*")); err != nil {
		return nil, err
	}
	sel, err := a.selectGroups(ctx, c.Params, s)
	if err != nil {
		return nil, err
	}
	out := groupEventsOut{NextToken: sel.nextToken, Data: []groupEventSet{}}
	for _, g := range sel.page {
		evs, err := a.eci.Events(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		set := groupEventSet{ContainerGroupID: g.ID, Name: g.Name, Namespace: g.Namespace, Events: []fullEventOut{}}
		for _, e := range evs[max(0, len(evs)-maxEventsPerGroup):] {
			fe := fullEventOut{Count: e.Count, Type: e.Type, Reason: e.Reason, Message: e.Message,
				FirstTimestamp: date(e.FirstTimestamp), LastTimestamp: date(e.LastTimestamp)}
			fe.Source.Component = e.Source
			fe.Metadata.Name, fe.Metadata.Namespace = eventName(g.ID, e), g.Namespace
			set.Events = append(set.Events, fe)
		}
		out.TotalCount += len(set.Events)
		out.Data = append(out.Data, set)
	}
	return out, nil
}

func (a *api) deleteContainerGroup(ctx context.Context, c *openapi.Call) (any, error) {
	s, err := scopeOf(c)
	if err != nil {
		return nil, err
	}
	id, err := c.Params.Require("ContainerGroupId")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:DeleteContainerGroup", s.resource(id)); err != nil {
		return nil, err
	}
	g, err := a.eci.Get(ctx, s.account, id)
	if err != nil {
		return nil, err
	}
	if g.Region != s.region {
		// The caller's own group, so naming its region reveals nothing.
		return nil, &eci.Error{Err: eci.ErrNotFound, Field: "ContainerGroupId",
			Msg: fmt.Sprintf("container group %s is in %s, not in %s, the region of this request: send RegionId=%s", id, g.Region, s.region, g.Region)}
	}
	if err := a.eci.Delete(ctx, s.account, id); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
