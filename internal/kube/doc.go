// Package kube owns rolepull's Kubernetes surface: it decodes manifests —
// Pod, Deployment (apps/v1), ImageCache (eci.alibabacloud.com/v1, cluster
// scoped), Secret (kubernetes.io/dockerconfigjson) and Namespace — with the
// k8s.io/api types, validates a whole file before changing anything, and
// turns the objects into ECI container groups the way ACK's virtual node
// does:
//
//   - a Pod is one container group whose pull settings come from its own
//     annotations (k8s.aliyun.com/acr-service-arns, acr-user-arns,
//     acr-instance-ids, the image-cache keys) and its imagePullSecrets;
//   - a Deployment owns replicas pods built from spec.template, named
//     <deployment>-<template hash>-<suffix>: re-applying scales it, and a
//     changed template rolls out new pods. Annotations on the Deployment's
//     own metadata have no effect on its pods, and Apply warns, naming
//     spec.template.metadata.annotations as the fix;
//   - annotations take effect only when a pod is created: re-applying a pod
//     with changed annotations stores them and records an event saying they
//     changed nothing (package eci).
//
// Input is bounded before it is parsed (MaxManifestBytes, documents and
// objects per file); decoding is strict (unknown fields, duplicate keys and
// YAML alias bombs are errors); every error names the document, the object
// and the field.
package kube
