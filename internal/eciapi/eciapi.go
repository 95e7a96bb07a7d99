package eciapi

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/openapi"
)

// Version is ECI's API version.
const Version = "2018-08-08"

// Register adds Elastic Container Instance's actions to srv.
func Register(srv *openapi.Server, svc *eci.Service) {
	a := &api{eci: svc}
	srv.Handle(Version, "CreateContainerGroup", a.createContainerGroup)
	srv.Handle(Version, "DescribeContainerGroups", a.describeContainerGroups)
	srv.Handle(Version, "DescribeContainerGroupEvents", a.describeContainerGroupEvents)
	srv.Handle(Version, "DeleteContainerGroup", a.deleteContainerGroup)
	srv.Handle(Version, "CreateImageCache", a.createImageCache)
	srv.Handle(Version, "DescribeImageCaches", a.describeImageCaches)
	srv.Handle(Version, "UpdateImageCache", a.updateImageCache)
	srv.Handle(Version, "DeleteImageCache", a.deleteImageCache)
}

type api struct{ eci *eci.Service }

// scope is the account and region a request acts in.
type scope struct{ account, region string }

// scopeOf checks the request's region and that the caller belongs to an
// account: a caller of no account (a service principal) owns no groups.
func scopeOf(c *openapi.Call) (scope, error) {
	if !arn.IsRegion(c.Region) {
		return scope{}, openapi.InvalidParameter("RegionId", "RegionId %q is not a region id such as cn-hangzhou.", c.Region)
	}
	if c.Caller.Account == "" {
		return scope{}, openapi.NoPermission("The caller belongs to no account, so it owns no container groups.")
	}
	return scope{account: c.Caller.Account, region: c.Region}, nil
}

// resource is acs:eci:REGION:UID:containergroup/ID (or /*).
func (s scope) resource(id string) string {
	return "acs:eci:" + s.region + ":" + s.account + ":containergroup/" + id
}

// date formats a time as the SDK's string fields carry it; "" for zero.
func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// problems collects every malformed parameter of a request, so that one
// answer names them all. Its error is InvalidParameter.<first field>.
type problems []problem

type problem struct{ field, msg string }

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, problem{field, field + ": " + fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.msg
	}
	return openapi.InvalidParameter(ps[0].field, "%s", strings.Join(msgs, "; "))
}

// listLen returns n for a flattened list NAME.1 … NAME.n, read from every
// parameter NAME.<i> or NAME.<i>.<field>. Indexes are decimal without
// leading zeros, at most limit, and without gaps (the SDKs number entries
// from 1). An entry whose values were all empty is not sent by the v1 SDK,
// so a gap is reported as that entry missing.
func listLen(p openapi.Params, name string, limit int, ps *problems) int {
	present := map[int]bool{}
	n := 0
	for _, k := range sortedKeys(p, name+".") {
		idx, _, _ := strings.Cut(k[len(name)+1:], ".")
		i, ok := index(idx)
		if !ok {
			ps.add(k, "%q is not an entry number: %s entries are %s.1, %s.2, …", idx, name, name, name)
			continue
		}
		if i > limit {
			ps.add(k, "at most %d %s entries are accepted", limit, name)
			continue
		}
		present[i] = true
		n = max(n, i)
	}
	for i := 1; i <= n; i++ {
		if !present[i] {
			ps.add(fmt.Sprintf("%s.%d", name, i), "missing, but %s.%d is set: number entries from 1 without gaps, and give each a non-empty value", name, n)
			return 0
		}
	}
	return n
}

// sortedKeys returns the parameter names with prefix in order, so that
// the problems reported, and the code named after the first, are the same
// for the same request.
func sortedKeys(p openapi.Params, prefix string) []string {
	keys := p.Keys(prefix)
	slices.Sort(keys)
	return keys
}

// index parses a list index: 1–9999, no sign, no leading zero.
func index(s string) (int, bool) {
	if s == "" || len(s) > 4 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// onlyFields reports every NAME.<i>.<field> whose field is not one of
// fields, or NAME.<i>.<list>.<j> with list in lists: a misspelt field of a
// security-relevant list is an error, not silently dropped.
func onlyFields(p openapi.Params, name string, fields, lists []string, ps *problems) {
	for _, k := range sortedKeys(p, name+".") {
		_, rest, _ := strings.Cut(k[len(name)+1:], ".")
		ok := false
		for _, f := range fields {
			ok = ok || rest == f
		}
		for _, l := range lists {
			if j, found := strings.CutPrefix(rest, l+"."); found {
				_, valid := index(j)
				ok = ok || valid
			}
		}
		if !ok {
			all := append([]string{}, fields...)
			for _, l := range lists {
				all = append(all, l+".N")
			}
			ps.add(k, "not a field of %s: its fields are %s", name, strings.Join(all, ", "))
		}
	}
}
