package pull

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestBlockedReason(t *testing.T) {
	for _, tt := range []struct {
		addr          string
		allowLoopback bool
		want          string // "" when allowed
	}{
		{"203.0.113.7", false, ""},
		{"10.0.0.5", false, ""}, // private registries are common (a Harbor in the VPC)
		{"192.168.1.10", false, ""},
		{"2001:db8::1", false, ""},
		{"127.0.0.1", false, "loopback"},
		{"127.3.4.5", false, "loopback"},
		{"::1", false, "loopback"},
		{"::ffff:127.0.0.1", false, "loopback"},
		{"127.0.0.1", true, ""},
		{"169.254.169.254", true, "link-local"},
		{"fe80::1", true, "link-local"},
		{"100.100.100.200", true, "metadata"},
		{"::ffff:100.100.100.200", true, "metadata"},
		{"0.0.0.0", true, "unspecified"},
		{"::", true, "unspecified"},
		{"239.1.2.3", true, "multicast"},
		{"255.255.255.255", true, "broadcast"},
	} {
		got := blockedReason(netip.MustParseAddr(tt.addr), tt.allowLoopback)
		if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
			t.Errorf("blockedReason(%s, loopback allowed %v) = %q, want %q", tt.addr, tt.allowLoopback, got, tt.want)
		}
	}
}

// The guard dials the address it checked, never the name again (a name
// that re-resolves elsewhere between check and dial is not followed), and
// refuses without dialling.
func TestGuardEgressDialsWhatItChecked(t *testing.T) {
	var dialled []string
	dial := guardEgress(func(_ context.Context, _, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		return nil, errors.New("not really")
	}, false)
	dial(t.Context(), "tcp", "203.0.113.7:443")
	dial(t.Context(), "tcp", "[2001:db8::1]:5000")
	_, err := dial(t.Context(), "tcp", "localhost:5000")
	var ee *EgressError
	if !errors.As(err, &ee) || !errors.Is(err, ErrEgressBlocked) || !strings.Contains(err.Error(), "localhost resolves to") {
		t.Errorf("dial localhost = %v, want an EgressError", err)
	}
	if want := []string{"203.0.113.7:443", "[2001:db8::1]:5000"}; strings.Join(dialled, " ") != strings.Join(want, " ") {
		t.Errorf("dialled %v, want %v", dialled, want)
	}
}
