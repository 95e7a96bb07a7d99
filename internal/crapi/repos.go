package crapi

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"sort"
	"strconv"
	"strings"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/openapi"
)

// Every namespace and repository is NORMAL: rolepull deletes synchronously.
const (
	namespaceStatus = "NORMAL"
	repoStatus      = "NORMAL"
	repoBuildType   = "MANUAL"
)

// namespaceID derives a namespace's stable id (acr keys namespaces by
// name; the API also names them by id).
func namespaceID(instanceID, name string) string {
	sum := sha256.Sum256([]byte(instanceID + "/" + name))
	return "crn-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))[:16]
}

// repoType reads an optional PUBLIC/PRIVATE parameter.
func repoType(c *openapi.Call, name string) (acr.RepoType, error) {
	s := c.Params.Get(name)
	if s == "" {
		return "", nil
	}
	t, ok := acr.ParseRepoType(s)
	if !ok {
		return "", openapi.InvalidParameter(name, "%s %q: want PUBLIC or PRIVATE.", name, s)
	}
	return t, nil
}

func (a *api) createNamespace(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("NamespaceName")
	if err != nil {
		return nil, err
	}
	auto, err := c.Params.Bool("AutoCreateRepo", false)
	if err != nil {
		return nil, err
	}
	typ, err := repoType(c, "DefaultRepoType")
	if err != nil {
		return nil, err
	}
	inst, err := a.instance(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "cr:CreateNamespace", repositoryARN(inst, name, "")); err != nil {
		return nil, err
	}
	if _, err := a.acr.CreateNamespace(ctx, c.Caller.Account, inst.InstanceID, name, auto, typ); err != nil {
		return nil, err
	}
	return success, nil
}

type namespaceItem struct {
	AutoCreateRepo  bool   `json:"AutoCreateRepo"`
	DefaultRepoType string `json:"DefaultRepoType"`
	InstanceID      string `json:"InstanceId"`
	NamespaceID     string `json:"NamespaceId"`
	NamespaceName   string `json:"NamespaceName"`
	NamespaceStatus string `json:"NamespaceStatus"`
}

func namespaceView(ns acr.Namespace) namespaceItem {
	return namespaceItem{ns.AutoCreateRepo, string(ns.DefaultRepoType), ns.InstanceID, namespaceID(ns.InstanceID, ns.Name), ns.Name, namespaceStatus}
}

func (a *api) getNamespace(ctx context.Context, c *openapi.Call) (any, error) {
	name, id := c.Params.Get("NamespaceName"), c.Params.Get("NamespaceId")
	if name == "" && id == "" {
		return nil, openapi.InvalidParameter("NamespaceName", "Name the namespace with NamespaceName (or NamespaceId).")
	}
	inst, err := a.instance(ctx, c)
	if err != nil {
		return nil, err
	}
	if name == "" {
		nss, err := a.acr.ListNamespaces(ctx, inst.InstanceID)
		if err != nil {
			return nil, err
		}
		for _, ns := range nss {
			if namespaceID(inst.InstanceID, ns.Name) == id {
				name = ns.Name
			}
		}
		if name == "" {
			return nil, &acr.Error{Err: acr.ErrNotFound, Entity: "Namespace", Field: "NamespaceId", Msg: "namespace " + strconv.Quote(id) + " does not exist in " + inst.InstanceID}
		}
	}
	if err := c.Authorize(ctx, "cr:GetNamespace", repositoryARN(inst, name, "")); err != nil {
		return nil, err
	}
	ns, err := a.acr.GetNamespace(ctx, inst.InstanceID, name)
	if err != nil {
		return nil, err
	}
	return struct {
		namespaceItem
		result
	}{namespaceView(ns), success}, nil
}

func (a *api) listNamespace(ctx context.Context, c *openapi.Call) (any, error) {
	p, err := pageOf(c)
	if err != nil {
		return nil, err
	}
	inst, err := a.authorizedInstance(ctx, c, "ListNamespace")
	if err != nil {
		return nil, err
	}
	nss, err := a.acr.ListNamespaces(ctx, inst.InstanceID)
	if err != nil {
		return nil, err
	}
	name, st := c.Params.Get("NamespaceName"), c.Params.Get("NamespaceStatus")
	items := []namespaceItem{}
	for _, ns := range nss {
		if name != "" && ns.Name != name || st != "" && !strings.EqualFold(st, namespaceStatus) {
			continue
		}
		items = append(items, namespaceView(ns))
	}
	return struct {
		Namespaces []namespaceItem `json:"Namespaces"`
		PageNo     int             `json:"PageNo"`
		PageSize   int             `json:"PageSize"`
		TotalCount string          `json:"TotalCount"`
		result
	}{slice(p, items), p.no, p.size, strconv.Itoa(len(items)), success}, nil
}

func (a *api) createRepository(ctx context.Context, c *openapi.Call) (any, error) {
	ns, err := c.Params.Require("RepoNamespaceName")
	if err != nil {
		return nil, err
	}
	name, err := c.Params.Require("RepoName")
	if err != nil {
		return nil, err
	}
	typ, err := repoType(c, "RepoType")
	if err != nil {
		return nil, err
	}
	inst, err := a.instance(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "cr:CreateRepository", repositoryARN(inst, ns, name)); err != nil {
		return nil, err
	}
	r, err := a.acr.CreateRepository(ctx, c.Caller.Account, inst.InstanceID, ns, name, typ, c.Params.Get("Summary"))
	if err != nil {
		return nil, err
	}
	return struct {
		RepoID string `json:"RepoId"`
		result
	}{r.RepoID, success}, nil
}

type repoItem struct {
	InstanceID        string `json:"InstanceId"`
	RepoID            string `json:"RepoId"`
	RepoName          string `json:"RepoName"`
	RepoNamespaceName string `json:"RepoNamespaceName"`
	RepoType          string `json:"RepoType"`
	RepoStatus        string `json:"RepoStatus"`
	RepoBuildType     string `json:"RepoBuildType"`
	Summary           string `json:"Summary"`
	TagImmutability   bool   `json:"TagImmutability"`
	CreateTime        int64  `json:"CreateTime"`
	ModifiedTime      int64  `json:"ModifiedTime"`
}

func repoView(r acr.Repository) repoItem {
	return repoItem{r.InstanceID, r.RepoID, r.Name, r.Namespace, string(r.RepoType), repoStatus, repoBuildType, r.Summary, false,
		millis(r.CreateTime), millis(r.ModifiedTime)}
}

// repository returns the repository named by RepoId, or by
// RepoNamespaceName and RepoName, authorized for action.
func (a *api) repository(ctx context.Context, c *openapi.Call, action string) (acr.Instance, acr.Repository, error) {
	id, ns, name := c.Params.Get("RepoId"), c.Params.Get("RepoNamespaceName"), c.Params.Get("RepoName")
	if id == "" && (ns == "" || name == "") {
		return acr.Instance{}, acr.Repository{}, openapi.InvalidParameter("RepoId", "Name the repository with RepoId, or with RepoNamespaceName and RepoName.")
	}
	inst, err := a.instance(ctx, c)
	if err != nil {
		return acr.Instance{}, acr.Repository{}, err
	}
	var r acr.Repository
	if id != "" {
		r, err = a.acr.GetRepositoryByID(ctx, inst.InstanceID, id)
		if err != nil {
			return acr.Instance{}, acr.Repository{}, err
		}
		ns, name = r.Namespace, r.Name
	}
	if err := c.Authorize(ctx, "cr:"+action, repositoryARN(inst, ns, name)); err != nil {
		return acr.Instance{}, acr.Repository{}, err
	}
	if id == "" {
		r, err = a.acr.GetRepository(ctx, inst.InstanceID, ns, name)
	}
	return inst, r, err
}

func (a *api) getRepository(ctx context.Context, c *openapi.Call) (any, error) {
	_, r, err := a.repository(ctx, c, "GetRepository")
	if err != nil {
		return nil, err
	}
	return struct {
		repoItem
		Detail string `json:"Detail"`
		result
	}{repoView(r), "", success}, nil
}

func (a *api) listRepository(ctx context.Context, c *openapi.Call) (any, error) {
	p, err := pageOf(c)
	if err != nil {
		return nil, err
	}
	inst, err := a.instance(ctx, c)
	if err != nil {
		return nil, err
	}
	ns := c.Params.Get("RepoNamespaceName")
	res := instanceARN(inst)
	if ns != "" {
		res = repositoryARN(inst, ns, "")
	}
	if err := c.Authorize(ctx, "cr:ListRepository", res); err != nil {
		return nil, err
	}
	repos, err := a.acr.ListRepositories(ctx, inst.InstanceID, ns)
	if err != nil {
		return nil, err
	}
	sort.Slice(repos, func(i, j int) bool { return repos[i].Path() < repos[j].Path() })
	name, st := c.Params.Get("RepoName"), c.Params.Get("RepoStatus")
	items := []repoItem{}
	for _, r := range repos {
		if name != "" && r.Name != name || st != "" && !strings.EqualFold(st, "ALL") && !strings.EqualFold(st, repoStatus) {
			continue
		}
		items = append(items, repoView(r))
	}
	return struct {
		Repositories []repoItem `json:"Repositories"`
		PageNo       int        `json:"PageNo"`
		PageSize     int        `json:"PageSize"`
		TotalCount   string     `json:"TotalCount"`
		result
	}{slice(p, items), p.no, p.size, strconv.Itoa(len(items)), success}, nil
}

type imageItem struct {
	Tag         string `json:"Tag"`
	Digest      string `json:"Digest"`
	ImageSize   int64  `json:"ImageSize"`
	ImageUpdate string `json:"ImageUpdate,omitempty"`
	ImageCreate string `json:"ImageCreate,omitempty"`
	Status      string `json:"Status"`
}

func (a *api) listRepoTag(ctx context.Context, c *openapi.Call) (any, error) {
	p, err := pageOf(c)
	if err != nil {
		return nil, err
	}
	if _, err := c.Params.Require("RepoId"); err != nil {
		return nil, err
	}
	inst, r, err := a.repository(ctx, c, "ListRepoTag")
	if err != nil {
		return nil, err
	}
	var tags []Tag
	if a.tags != nil {
		if tags, err = a.tags.ListTags(ctx, inst.InstanceID, r.Namespace, r.Name); err != nil {
			return nil, err
		}
	}
	// Newest first, as the console shows them; ties by name.
	sort.SliceStable(tags, func(i, j int) bool {
		if !tags[i].ImageUpdate.Equal(tags[j].ImageUpdate) {
			return tags[i].ImageUpdate.After(tags[j].ImageUpdate)
		}
		return tags[i].Tag < tags[j].Tag
	})
	items := make([]imageItem, 0, len(tags))
	for _, t := range tags {
		// The engine knows when a tag last moved, not when its image was
		// built: ImageCreate repeats ImageUpdate.
		u := millisString(t.ImageUpdate)
		items = append(items, imageItem{t.Tag, t.Digest, t.ImageSize, u, u, "NORMAL"})
	}
	return struct {
		Images     []imageItem `json:"Images"`
		PageNo     int         `json:"PageNo"`
		PageSize   int         `json:"PageSize"`
		TotalCount string      `json:"TotalCount"`
		result
	}{slice(p, items), p.no, p.size, strconv.Itoa(len(items)), success}, nil
}

// deleteRepository removes a repository record (RepoId, or RepoNamespaceName
// and RepoName), so that its instance can be deleted. The engine's blobs
// stay until the instance is deleted.
func (a *api) deleteRepository(ctx context.Context, c *openapi.Call) (any, error) {
	inst, r, err := a.repository(ctx, c, "DeleteRepository")
	if err != nil {
		return nil, err
	}
	if err := a.acr.DeleteRepository(ctx, c.Caller.Account, inst.InstanceID, r.Namespace, r.Name); err != nil {
		return nil, err
	}
	return success, nil
}
