package pull

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// ErrEgressBlocked marks a pull refused because its registry host resolves
// only to addresses pods may not pull from (an *EgressError says which).
var ErrEgressBlocked = errors.New("egress blocked")

// metadataAddr is the instance metadata service of Alibaba Cloud; other
// clouds' (169.254.169.254) fall under link-local.
var metadataAddr = netip.MustParseAddr("100.100.100.200")

// blockedReason says why a pod may not pull from addr, or "" when it may.
// The puller runs inside rolepull, so a registry named by a pod is dialled
// from rolepull's own network position: loopback would reach rolepull's
// own listeners, link-local and the metadata address the machine's
// credentials.
func blockedReason(addr netip.Addr, allowLoopback bool) string {
	addr = addr.Unmap()
	switch {
	case addr.IsUnspecified():
		return "an unspecified address"
	case addr.IsLoopback() && !allowLoopback:
		return "a loopback address (rolepull's own machine; start rolepull with --allow-loopback-registries for a registry on this machine)"
	case addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast():
		return "a link-local address (instance metadata lives there)"
	case addr == metadataAddr:
		return "the instance metadata service"
	case addr.IsMulticast() || addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "a multicast or broadcast address"
	}
	return ""
}

// guardEgress wraps the dialer of registries that are not ACR: it resolves
// the host itself and dials only an address that passes blockedReason, so
// a name that resolves (or re-resolves) to a forbidden address is refused,
// and so is every redirect to one.
func guardEgress(dial func(ctx context.Context, network, addr string) (net.Conn, error), allowLoopback bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, hostport string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return nil, err
		}
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{a}
		} else if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
		var why string
		for _, a := range addrs {
			if why = blockedReason(a, allowLoopback); why == "" {
				return dial(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
			}
		}
		return nil, &EgressError{Host: host, Addr: addrs[len(addrs)-1].Unmap(), Why: why}
	}
}

// EgressError is a dial the egress guard refused.
type EgressError struct {
	Host string
	Addr netip.Addr
	Why  string
}

func (e *EgressError) Error() string {
	if e.Host == e.Addr.String() {
		return fmt.Sprintf("%s is %s", e.Host, e.Why)
	}
	return fmt.Sprintf("%s resolves to %s, %s", e.Host, e.Addr, e.Why)
}

func (e *EgressError) Is(target error) bool { return target == ErrEgressBlocked }
