// Package v1 holds the Go types of the eci.alibabacloud.com/v1 ImageCache
// resource, as ECI's Kubernetes CRD defines it (cluster scoped; printer
// columns Age, CacheId, Phase, Progress). It is rolepull's only public
// package: other programs may decode the objects rolepull prints.
package v1
