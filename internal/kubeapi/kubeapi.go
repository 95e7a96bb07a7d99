// Package kubeapi serves rolepull's Kubernetes-manifest actions (version
// adminapi.Version's sibling, Version below) over package openapi: apply
// and delete manifests, list and describe pods and Deployments. The CLI's
// apply/get/describe/delete are clients of these actions, never a back
// door. Authorization: applying or deleting needs eci:CreateContainerGroup
// / eci:DeleteContainerGroup on acs:eci:REGION:UID:containergroup/*, reading
// eci:DescribeContainerGroups.
package kubeapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/rolepull/rolepull/internal/kube"
	"github.com/rolepull/rolepull/internal/openapi"
)

// Version is the API version of rolepull's Kubernetes actions.
const Version = "2026-11-27"

// Register adds the actions to srv.
func Register(srv *openapi.Server, k *kube.Service) {
	a := &api{kube: k}
	srv.Handle(Version, "ApplyManifest", a.apply)
	srv.Handle(Version, "DeleteManifest", a.deleteManifest)
	srv.Handle(Version, "DeleteObject", a.deleteObject)
	srv.Handle(Version, "ListPods", a.listPods)
	srv.Handle(Version, "DescribePod", a.describePod)
	srv.Handle(Version, "ListDeployments", a.listDeployments)
	srv.Handle(Version, "ListImageCaches", a.listImageCaches)
	srv.Handle(Version, "DescribeImageCache", a.describeImageCache)
}

type api struct{ kube *kube.Service }

func target(c *openapi.Call) kube.Target {
	return kube.Target{Account: c.Caller.Account, Region: c.Region, Namespace: c.Params.Get("Namespace")}
}

func resource(c *openapi.Call) string {
	return "acs:eci:" + c.Region + ":" + c.Caller.Account + ":containergroup/*"
}

// wire turns kube errors into wire errors: a manifest with errors is one
// InvalidParameter.Manifest listing every error.
func wire(err error) error {
	var ve *kube.ValidationError
	switch {
	case errors.As(err, &ve):
		return openapi.InvalidParameter("Manifest", "%s", ve.Error())
	case errors.Is(err, kube.ErrTooLarge):
		return openapi.Errorf(http.StatusRequestEntityTooLarge, "InvalidParameter.Manifest", "%v", err)
	case errors.Is(err, kube.ErrNotFound):
		return openapi.Errorf(http.StatusNotFound, "InvalidParameter.NotFound", "%v", err)
	}
	return err
}

func (a *api) apply(ctx context.Context, c *openapi.Call) (any, error) {
	m, err := c.Params.Require("Manifest")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:CreateContainerGroup", resource(c)); err != nil {
		return nil, err
	}
	res, err := a.kube.Apply(ctx, target(c), []byte(m))
	if err != nil {
		return map[string]any{"Warnings": res.Warnings}, wire(err)
	}
	return map[string]any{"Objects": res.Objects, "Warnings": res.Warnings}, nil
}

func (a *api) deleteManifest(ctx context.Context, c *openapi.Call) (any, error) {
	m, err := c.Params.Require("Manifest")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:DeleteContainerGroup", resource(c)); err != nil {
		return nil, err
	}
	res, err := a.kube.DeleteManifest(ctx, target(c), []byte(m))
	if err != nil {
		return nil, wire(err)
	}
	return map[string]any{"Objects": res}, nil
}

func (a *api) deleteObject(ctx context.Context, c *openapi.Call) (any, error) {
	kind, err := c.Params.Require("Kind")
	if err != nil {
		return nil, err
	}
	name, err := c.Params.Require("Name")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:DeleteContainerGroup", resource(c)); err != nil {
		return nil, err
	}
	r, err := a.kube.Delete(ctx, target(c), kind, name)
	if err != nil {
		return nil, wire(err)
	}
	return map[string]any{"Objects": []kube.Result{r}}, nil
}

func (a *api) listPods(ctx context.Context, c *openapi.Call) (any, error) {
	if err := c.Authorize(ctx, "eci:DescribeContainerGroups", resource(c)); err != nil {
		return nil, err
	}
	ns := c.Params.Get("Namespace")
	if all, _ := c.Params.Bool("AllNamespaces", false); all {
		ns = ""
	} else if ns == "" {
		ns = "default"
	}
	pods, err := a.kube.Pods(ctx, c.Caller.Account, ns, false)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Pods": pods}, nil
}

func (a *api) describePod(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("Name")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:DescribeContainerGroups", resource(c)); err != nil {
		return nil, err
	}
	ns := c.Params.Get("Namespace")
	if ns == "" {
		ns = "default"
	}
	p, err := a.kube.Pod(ctx, c.Caller.Account, ns, name)
	if err != nil {
		return nil, wire(err)
	}
	return map[string]any{"Pod": p}, nil
}

func (a *api) listDeployments(ctx context.Context, c *openapi.Call) (any, error) {
	if err := c.Authorize(ctx, "eci:DescribeContainerGroups", resource(c)); err != nil {
		return nil, err
	}
	ns := c.Params.Get("Namespace")
	if all, _ := c.Params.Bool("AllNamespaces", false); all {
		ns = ""
	} else if ns == "" {
		ns = "default"
	}
	ds, err := a.kube.Deployments(ctx, c.Caller.Account, ns)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Deployments": ds}, nil
}

func (a *api) listImageCaches(ctx context.Context, c *openapi.Call) (any, error) {
	if err := c.Authorize(ctx, "eci:DescribeImageCaches", "acs:eci:"+c.Region+":"+c.Caller.Account+":imagecache/*"); err != nil {
		return nil, err
	}
	ics, err := a.kube.ImageCaches(ctx, c.Caller.Account)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ImageCaches": ics}, nil
}

func (a *api) describeImageCache(ctx context.Context, c *openapi.Call) (any, error) {
	name, err := c.Params.Require("Name")
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:DescribeImageCaches", "acs:eci:"+c.Region+":"+c.Caller.Account+":imagecache/*"); err != nil {
		return nil, err
	}
	ic, err := a.kube.ImageCache(ctx, c.Caller.Account, name)
	if err != nil {
		return nil, wire(err)
	}
	return map[string]any{"ImageCache": ic}, nil
}
