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

func TestCheckReferenceExplains(t *testing.T) {
	d := strings.Repeat("a", 64)
	for _, tt := range []struct{ name, image, want string }{
		{"scheme", "https://reg.example.com/ns/app:1", "no scheme"},
		{"credentials", "user:pass@reg.example.com/ns/app", "imagePullSecret"},
		{"short digest", "reg.example.com/ns/app@sha256:" + d[:63], "64 lowercase hex"},
		{"uppercase digest", "reg.example.com/ns/app@sha256:" + strings.ToUpper(d), "64 lowercase hex"},
		{"md5", "reg.example.com/ns/app@md5:" + d[:32], "sha256 or sha512"},
		{"tag starting with a dot", "reg.example.com/ns/app:.t", `tag ".t"`},
		{"long tag", "reg.example.com/ns/app:" + strings.Repeat("t", 129), "1–128"},
		{"dot-dot", "reg.example.com/ns/../app:1", `component ".."`},
		{"empty component", "reg.example.com/ns//app", `component ""`},
		{"uppercase", "reg.example.com/Ns/app", "lowercase"},
		{"long name", "reg.example.com/" + strings.Repeat("a", 300), "255"},
		{"port 0", "reg.example.com:0/ns/app", "1–65535"},
	} {
		err := checkReference(tt.image)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: checkReference(%q) = %v, want it to say %q", tt.name, tt.image, err, tt.want)
		}
	}
	for _, ok := range []string{"nginx", "reg.example.com:5000/ns/app:1.0", "reg.example.com/ns/app@sha256:" + d, "localhost/a__b-c.d"} {
		if err := checkReference(ok); err != nil {
			t.Errorf("checkReference(%q) = %v", ok, err)
		}
	}
}
