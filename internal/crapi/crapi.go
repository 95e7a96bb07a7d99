package crapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/openapi"
)

// Version is the Enterprise API's version.
const Version = "2018-12-01"

// PersonalVersion is the Personal edition's (ROA) API version.
const PersonalVersion = "2016-06-07"

// Tag is one tag of a repository, as the registry engine reports it.
type Tag struct {
	Tag         string
	Digest      string
	ImageSize   int64
	ImageUpdate time.Time
}

// TagLister lists a repository's tags (the registry engine implements
// it). A repository with no content has no tags and no error.
type TagLister interface {
	ListTags(ctx context.Context, instanceID, namespace, repo string) ([]Tag, error)
}

// TagListerFunc adapts a function to TagLister.
type TagListerFunc func(ctx context.Context, instanceID, namespace, repo string) ([]Tag, error)

// ListTags calls f.
func (f TagListerFunc) ListTags(ctx context.Context, instanceID, namespace, repo string) ([]Tag, error) {
	return f(ctx, instanceID, namespace, repo)
}

var _ TagLister = TagListerFunc(nil)

// Register adds Container Registry's actions to srv. tags may be nil:
// ListRepoTag then answers an empty list.
func Register(srv *openapi.Server, svc *acr.Service, tags TagLister) {
	a := &api{acr: svc, tags: tags}
	for name, h := range map[string]openapi.Handler{
		"CreateInstance":   a.createInstance,
		"GetInstance":      a.getInstance,
		"ListInstance":     a.listInstance,
		"DeleteInstance":   a.deleteInstance,
		"DeleteRepository": a.deleteRepository,

		"ListInstanceEndpoint":               a.listInstanceEndpoint,
		"GetInstanceEndpoint":                a.getInstanceEndpoint,
		"UpdateInstanceEndpointStatus":       a.updateInstanceEndpointStatus,
		"CreateInstanceEndpointAclPolicy":    a.createACL,
		"DeleteInstanceEndpointAclPolicy":    a.deleteACL,
		"GetInstanceVpcEndpoint":             a.getInstanceVpcEndpoint,
		"CreateInstanceVpcEndpointLinkedVpc": a.linkVPC,
		"DeleteInstanceVpcEndpointLinkedVpc": a.unlinkVPC,
		"CreateInstanceDomain":               a.createDomain,
		"DeleteInstanceDomain":               a.deleteDomain,
		"ListInstanceDomain":                 a.listDomains,

		"CreateNamespace":  a.createNamespace,
		"GetNamespace":     a.getNamespace,
		"ListNamespace":    a.listNamespace,
		"CreateRepository": a.createRepository,
		"GetRepository":    a.getRepository,
		"ListRepository":   a.listRepository,
		"ListRepoTag":      a.listRepoTag,

		"GetAuthorizationToken": a.getAuthorizationToken,
	} {
		srv.Handle(Version, name, h)
	}
	srv.HandleROA(http.MethodGet, "/tokens", PersonalVersion, a.personalToken)
}

type api struct {
	acr  *acr.Service
	tags TagLister
}

// result is the vendor's success envelope, embedded in every response.
type result struct {
	Code      string `json:"Code"`
	IsSuccess bool   `json:"IsSuccess"`
}

var success = result{Code: "success", IsSuccess: true}

// requestRegion is the region a request names: RegionId (for ROA, also the
// x-acs-region-id header), else a Host cr.REGION.BASE. named is false when
// it names none.
func (a *api) requestRegion(c *openapi.Call) (region string, named bool, err error) {
	if r := c.Params.Get("RegionId"); r != "" {
		if !arn.IsRegion(r) {
			return "", false, openapi.InvalidParameter("RegionId", "RegionId %q is not a region id such as cn-hangzhou.", r)
		}
		return r, true, nil
	}
	host := acr.NormalizeHost(c.Host)
	if rest, ok := strings.CutPrefix(host, "cr."); ok {
		if r, ok := strings.CutSuffix(rest, "."+a.acr.Base()); ok && arn.IsRegion(r) {
			return r, true, nil
		}
	}
	return "", false, nil
}

// instance returns the caller's instance named by InstanceId. An instance
// of another account, or of another region than the one the request
// names, does not exist.
func (a *api) instance(ctx context.Context, c *openapi.Call) (acr.Instance, error) {
	id, err := c.Params.Require("InstanceId")
	if err != nil {
		return acr.Instance{}, err
	}
	region, named, err := a.requestRegion(c)
	if err != nil {
		return acr.Instance{}, err
	}
	inst, err := a.acr.GetInstance(ctx, c.Caller.Account, id)
	if err != nil {
		return acr.Instance{}, err
	}
	if named && inst.Region != region {
		// Own-account instances only, so this reveals nothing to others.
		return acr.Instance{}, &acr.Error{Err: acr.ErrNotFound, Entity: "Instance", Field: "InstanceId",
			Msg: fmt.Sprintf("instance %s is in %s, but this request is for %s: call the %s endpoint or send RegionId=%s", id, inst.Region, region, inst.Region, inst.Region)}
	}
	return inst, nil
}

// authorizedInstance is instance followed by cr:<action> on the instance.
func (a *api) authorizedInstance(ctx context.Context, c *openapi.Call, action string) (acr.Instance, error) {
	inst, err := a.instance(ctx, c)
	if err != nil {
		return acr.Instance{}, err
	}
	if err := c.Authorize(ctx, "cr:"+action, instanceARN(inst)); err != nil {
		return acr.Instance{}, err
	}
	return inst, nil
}

func registry(inst acr.Instance) arn.Registry {
	return arn.Registry{Region: inst.Region, Account: inst.Account, Instance: inst.InstanceID}
}

func instanceARN(inst acr.Instance) string { return registry(inst).InstanceARN() }

// repositoryARN is repository/ID, repository/ID/NS or repository/ID/NS/REPO.
func repositoryARN(inst acr.Instance, namespace, repo string) string {
	r := registry(inst)
	r.Namespace, r.Repo = namespace, repo
	return r.RepositoryARN()
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// millisString is epoch milliseconds as a decimal string, for the fields
// the SDK declares as strings; "" for the zero time.
func millisString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// Paging bounds: PageNo from 1, PageSize 1–100 (default 30), nothing
// clamped.
const (
	defaultPageSize = 30
	maxPageSize     = 100
)

// paging is one page of a list.
type paging struct{ no, size int }

func pageOf(c *openapi.Call) (paging, error) {
	no, err := c.Params.Int("PageNo", 1, 1, 1<<20)
	if err != nil {
		return paging{}, err
	}
	size, err := c.Params.Int("PageSize", defaultPageSize, 1, maxPageSize)
	if err != nil {
		return paging{}, err
	}
	return paging{no, size}, nil
}

// slice returns the page's part of items.
func slice[T any](p paging, items []T) []T {
	start := (p.no - 1) * p.size
	if start >= len(items) {
		return []T{}
	}
	return items[start:min(start+p.size, len(items))]
}
