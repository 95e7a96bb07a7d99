package netmodel

import (
	"errors"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/rolepull/rolepull/internal/store/bolt"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		in   string
		want Source
	}{
		{"127.0.0.1", Source{Kind: Internet}},
		{"10.1.2.3", Source{Kind: Internet}},
		{"::1", Source{Kind: Internet}},
		{"127.11.3.9", Source{Kind: InVPC, VPCNumber: 1, VSwitchNumber: 3}},
		{"127.210.250.2", Source{Kind: InVPC, VPCNumber: 200, VSwitchNumber: 250}},
		{"127.211.0.1", Source{Kind: Internet}},
		{"127.250.4.7", Source{Kind: Internet, Egress: true, VPCNumber: 4, VSwitchNumber: 7}},
		{"::ffff:127.12.1.5", Source{Kind: InVPC, VPCNumber: 2, VSwitchNumber: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Classify(netip.MustParseAddr(tt.in))
			got.Addr = netip.Addr{}
			if got != tt.want {
				t.Errorf("Classify(%s) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestVPCsAndVSwitches(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(st, nil)
	ctx := t.Context()
	v1, err := s.CreateVPC(ctx, "1111111111111111", "cn-hangzhou", "a")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.CreateVPC(ctx, "1111111111111111", "cn-hangzhou", "b")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Number == v2.Number || v1.CidrBlock == v2.CidrBlock {
		t.Fatalf("two VPCs share a block: %+v %+v", v1, v2)
	}
	w, err := s.CreateVSwitch(ctx, "1111111111111111", v2.VpcID, "", "w")
	if err != nil {
		t.Fatal(err)
	}
	addr := WorkloadAddr(v2.Number, w.Number, 9)
	src := Classify(addr)
	got, err := s.VPCOf(ctx, src)
	if err != nil || got.VpcID != v2.VpcID {
		t.Fatalf("VPCOf(%s) = %+v, %v; want %s", addr, got, err, v2.VpcID)
	}
	if !netip.MustParsePrefix(w.CidrBlock).Contains(addr) || !netip.MustParsePrefix(v2.CidrBlock).Contains(addr) {
		t.Errorf("%s is outside %s / %s", addr, w.CidrBlock, v2.CidrBlock)
	}
	if e := Classify(w.EgressAddr(v2.Number)); e.Kind != Internet || !e.Egress {
		t.Errorf("egress address classified as %+v", e)
	}
	if _, err := s.GetVPC(ctx, "2222222222222222", v1.VpcID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account's VPC = %v, want ErrNotFound", err)
	}
	if _, err := s.CreateVSwitch(ctx, "2222222222222222", v1.VpcID, "", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("vSwitch in another account's VPC = %v, want ErrNotFound", err)
	}
}
