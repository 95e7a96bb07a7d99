package kube

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/rolepull/rolepull/internal/eci"
)

// generatedSuffix stands for what a Deployment appends to its name for a
// pod: -<template hash, 10>-<random, 5>.
const generatedSuffix = "-xxxxxxxxxx-xxxxx"

// preflight runs, for every object that passed validation, the checks the
// ECI service runs when the object is applied — a pod name it refuses, a
// vSwitch that does not exist, an image cache that cannot be updated now —
// so that a file applies whole or not at all: nothing is stored before
// every object is known to go through. Errors carry the document, object
// and manifest field.
func (s *Service) preflight(ctx context.Context, t Target, plans []plan) ([]*FieldError, error) {
	if s.eci == nil {
		return nil, nil // a Service for the manifest language alone (its corpus tests)
	}
	var all []*FieldError
	for _, p := range plans {
		e := &errs{doc: p.obj.Index, ref: p.obj.Ref()}
		var err error
		switch p.obj.Kind {
		case "Pod":
			err = s.preflightPod(ctx, t, e, p)
		case "Deployment":
			d := p.obj.Deployment
			in := eci.CreateInput{Account: t.Account, Region: t.Region, Name: d.Name + generatedSuffix, VSwitchID: p.settings.vswitch,
				Containers: containersOf(d.Spec.Template.Spec), Chains: p.settings.chains}
			err = s.eciCheck(e, "spec.template.", s.eci.CheckCreate(ctx, in))
		case "ImageCache":
			err = s.preflightCache(ctx, t, e, p)
		}
		if err != nil {
			return nil, err
		}
		all = append(all, e.list...)
	}
	return all, nil
}

func (s *Service) preflightPod(ctx context.Context, t Target, e *errs, p plan) error {
	pod := p.obj.Pod
	var old storedPod
	found, err := s.getJSON(ctx, podKey(t.Account, pod.Namespace, pod.Name), &old)
	if err != nil {
		return err
	}
	if found {
		if !equality.Semantic.DeepEqual(old.Pod.Spec, pod.Spec) {
			e.add("spec", "a pod's spec cannot change once created (only its labels and annotations): delete the pod and apply it again")
		}
		return nil
	}
	in := eci.CreateInput{Account: t.Account, Region: t.Region, Name: pod.Name, VSwitchID: p.settings.vswitch,
		Containers: containersOf(pod.Spec), Chains: p.settings.chains}
	return s.eciCheck(e, "", s.eci.CheckCreate(ctx, in))
}

func (s *Service) preflightCache(ctx context.Context, t Target, e *errs, p plan) error {
	ic := p.obj.ImageCache
	var old storedCache
	found, err := s.getJSON(ctx, cacheObjKey(t.Account, ic.Name), &old)
	if err != nil {
		return err
	}
	if found {
		if _, err := s.eci.GetImageCache(ctx, t.Account, old.CacheID); errors.Is(err, eci.ErrNotFound) {
			found = false // it expired: apply creates it again
		} else if err != nil {
			return err
		}
	}
	if !found {
		in := eci.CacheInput{Account: t.Account, Region: t.Region, Name: ic.Name, Images: ic.Spec.Images, Chains: p.settings.chains}
		if ic.Spec.ImageCacheSize != nil {
			in.SizeGiB = int(*ic.Spec.ImageCacheSize)
		}
		if ic.Spec.RetentionDays != nil {
			in.RetentionDays = int(*ic.Spec.RetentionDays)
		}
		return s.eciCheck(e, "", s.eci.CheckCreateImageCache(ctx, in))
	}
	if equality.Semantic.DeepEqual(old.Object.Spec, ic.Spec) {
		return nil
	}
	// An update changes the images and the retention only.
	if !equality.Semantic.DeepEqual(old.Object.Spec.ImageCacheSize, ic.Spec.ImageCacheSize) {
		e.add("spec.imageCacheSize", "the size of an existing image cache cannot change: delete the ImageCache and apply it again")
	}
	if !equality.Semantic.DeepEqual(old.Object.Spec.ImagePullSecrets, ic.Spec.ImagePullSecrets) {
		e.add("spec.imagePullSecrets", "the registry logins of an existing image cache cannot change: delete the ImageCache and apply it again")
	}
	var retention *int
	if ic.Spec.RetentionDays != nil {
		n := int(*ic.Spec.RetentionDays)
		retention = &n
	}
	return s.eciCheck(e, "", s.eci.CheckUpdateImageCache(ctx, t.Account, old.CacheID, ic.Spec.Images, retention))
}

// eciCheck records a refusal of the ECI service as a located error, and
// returns what is not a refusal (a store failure) for the caller to stop on.
func (s *Service) eciCheck(e *errs, prefix string, err error) error {
	if err == nil {
		return nil
	}
	// errors.Join of several refusals: each in its place.
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, one := range j.Unwrap() {
			if err := s.eciCheck(e, prefix, one); err != nil {
				return err
			}
		}
		return nil
	}
	var ee *eci.Error
	switch {
	case errors.As(err, &ee):
		e.add(manifestField(prefix, ee.Field), "%s", ee.Msg)
		return nil
	case errors.Is(err, eci.ErrInvalid), errors.Is(err, eci.ErrConflict):
		e.add("", "%v", err)
		return nil
	}
	return fmt.Errorf("checking with ECI: %w", err)
}

// manifestField is where in a manifest an ECI parameter comes from.
func manifestField(prefix, field string) string {
	switch {
	case field == "ContainerGroupName" || field == "ImageCacheName":
		return "metadata.name"
	case field == "VSwitchId":
		return prefix + "metadata.annotations[" + AnnVSwitch + "]"
	case field == "Status":
		return "status"
	case field == "RetentionDays":
		return "spec.retentionDays"
	case field == "ImageCacheSize":
		return "spec.imageCacheSize"
	case field == "Image":
		return "spec.images"
	case strings.HasPrefix(field, "Container."):
		// Container.N.Name → spec.containers[N-1].name
		parts := strings.Split(field, ".")
		if n, err := strconv.Atoi(parts[1]); err == nil && len(parts) == 3 {
			return fmt.Sprintf("%sspec.containers[%d].%s", prefix, n-1, strings.ToLower(parts[2][:1])+parts[2][1:])
		}
	case field == "Container":
		return prefix + "spec.containers"
	case strings.HasPrefix(field, "AcrRegistryInfo"):
		return prefix + "metadata.annotations[" + AnnServiceARNs + "]"
	}
	return field
}
