package acr

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/store"
)

// ErrNotACR reports a host that names no instance: role credentials are
// never sent to it.
var ErrNotACR = errors.New("not a Container Registry domain")

// Target is what a host name reaches.
type Target struct {
	Host     string // normalized: lower case, no port, no trailing dot
	Instance Instance
	Network  Network
	Domain   DomainType
	// Legacy is the Personal edition's shared domain
	// registry[-vpc].REGION.BASE, where Instance is empty and the
	// namespace of each repository names the instance (ResolveLegacy).
	Legacy bool
	Region string
}

// NormalizeHost lower-cases a host, drops the port and a trailing dot.
func NormalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// ResolveHost maps a host name to the instance it reaches. Exact matches
// only: an index entry per domain, or the legacy shared Personal domain.
func (s *Service) ResolveHost(ctx context.Context, host string) (Target, error) {
	h := NormalizeHost(host)
	if h == "" || len(h) > 253 {
		return Target{}, ErrNotACR
	}
	kv, err := s.st.Get(ctx, hostKey(h))
	switch {
	case err == nil:
		inst, err := s.GetInstance(ctx, "", string(kv.Value))
		if err != nil {
			return Target{}, err
		}
		for _, d := range inst.Domains(s.base) {
			if d.Host == h {
				return Target{Host: h, Instance: inst, Network: d.Network, Domain: d.Type, Region: inst.Region}, nil
			}
		}
		return Target{}, ErrNotACR // a stale index entry: never guess
	case errors.Is(err, store.ErrNotFound):
		if region, network, ok := legacyHost(h, s.base); ok {
			return Target{Host: h, Network: network, Domain: SystemDomain, Legacy: true, Region: region}, nil
		}
		return Target{}, ErrNotACR
	default:
		return Target{}, err
	}
}

// legacyHost recognizes registry[-vpc].REGION.BASE.
func legacyHost(h, base string) (region string, network Network, ok bool) {
	rest, ok := strings.CutSuffix(h, "."+base)
	if !ok {
		return "", "", false
	}
	first, region, ok := strings.Cut(rest, ".")
	if !ok || !arn.IsRegion(region) {
		return "", "", false
	}
	switch first {
	case "registry":
		return region, Internet, true
	case "registry-vpc":
		return region, VPC, true
	}
	return "", "", false
}

// IsDefaultDomain reports whether h has the shape of a default domain
// under base, whether or not an instance owns it.
func IsDefaultDomain(h, base string) bool {
	h = NormalizeHost(h)
	if _, _, ok := legacyHost(h, base); ok {
		return true
	}
	return strings.HasSuffix(h, ".cr."+base)
}

// ResolveLegacy finds the Personal instance that owns a namespace on the
// legacy shared domain of a region.
func (s *Service) ResolveLegacy(ctx context.Context, region, namespace string) (Instance, error) {
	kv, err := s.st.Get(ctx, legacyNSKey(region, namespace))
	if errors.Is(err, store.ErrNotFound) {
		return Instance{}, errorf(ErrNotFound, "Namespace", "NamespaceName", "no Personal instance in %s has a namespace %q", region, namespace)
	}
	if err != nil {
		return Instance{}, err
	}
	return s.GetInstance(ctx, "", string(kv.Value))
}
