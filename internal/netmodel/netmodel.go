package netmodel

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/store"
)

// Limits of the address plan.
const (
	MaxVPCs            = 200
	MaxVSwitchesPerVPC = 250
)

var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid parameter")
	ErrLimit    = errors.New("quota exceeded")
)

// Error is a netmodel failure naming the entity and field.
type Error struct {
	Err    error
	Entity string // "Vpc", "VSwitch"
	Field  string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// VPC is a virtual private network of one account in one region.
type VPC struct {
	VpcID      string    `json:"vpcId"`
	Account    string    `json:"account"`
	Region     string    `json:"region"`
	Name       string    `json:"name,omitempty"`
	Number     int       `json:"number"` // k of the address plan
	CidrBlock  string    `json:"cidrBlock"`
	CreateTime time.Time `json:"createTime"`
}

// VSwitch is a subnet of a VPC in one zone.
type VSwitch struct {
	VSwitchID  string    `json:"vSwitchId"`
	VpcID      string    `json:"vpcId"`
	Account    string    `json:"account"`
	Region     string    `json:"region"`
	ZoneID     string    `json:"zoneId"`
	Name       string    `json:"name,omitempty"`
	Number     int       `json:"number"` // j of the address plan
	CidrBlock  string    `json:"cidrBlock"`
	CreateTime time.Time `json:"createTime"`
}

// EgressAddr is the internet egress (NAT) address of workloads in the
// vSwitch.
func (v VSwitch) EgressAddr(vpcNumber int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 250, byte(vpcNumber), byte(v.Number)})
}

// Service keeps VPCs and vSwitches in the store.
type Service struct {
	st    store.Store
	clock clock.Clock
}

// New returns a Service.
func New(st store.Store, clk clock.Clock) *Service {
	return &Service{st: st, clock: clock.Or(clk)}
}

const prefix = "net/"

func vpcKey(id string) string     { return prefix + "vpc/" + id }
func vpcNumberKey(n int) string   { return fmt.Sprintf("%svpc-number/%03d", prefix, n) }
func vswitchKey(id string) string { return prefix + "vswitch/" + id }
func vswitchNumberKey(vpc string, n int) string {
	return fmt.Sprintf("%svswitch-number/%s/%03d", prefix, vpc, n)
}

// newID returns p and 16 random characters of [a-z2-7].
func newID(p string) string { return p + strings.ToLower(rand.Text()[:16]) }

// CreateVPC creates a VPC and gives it the next free /16 of the plan.
func (s *Service) CreateVPC(ctx context.Context, account, region, name string) (VPC, error) {
	if len(name) > 128 {
		return VPC{}, &Error{Err: ErrInvalid, Entity: "Vpc", Field: "VpcName", Msg: "VpcName is longer than 128 characters"}
	}
	for n := 1; n <= MaxVPCs; n++ {
		if _, err := s.st.Get(ctx, vpcNumberKey(n)); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return VPC{}, err
		}
		v := VPC{VpcID: newID("vpc-"), Account: account, Region: region, Name: name, Number: n,
			CidrBlock: fmt.Sprintf("127.%d.0.0/16", 10+n), CreateTime: s.clock.Now().UTC()}
		b, _ := json.Marshal(v)
		_, err := s.st.Txn(ctx, []store.Cond{store.Absent(vpcNumberKey(n)), store.Absent(vpcKey(v.VpcID))},
			[]store.Op{store.Put(vpcKey(v.VpcID), b), store.Put(vpcNumberKey(n), []byte(v.VpcID))})
		if errors.Is(err, store.ErrConflict) {
			continue // another creation took this number
		}
		if err != nil {
			return VPC{}, err
		}
		return v, nil
	}
	return VPC{}, &Error{Err: ErrLimit, Entity: "Vpc", Msg: fmt.Sprintf("all %d VPC address blocks of this machine are in use; delete a VPC first", MaxVPCs)}
}

// GetVPC returns a VPC of account.
func (s *Service) GetVPC(ctx context.Context, account, id string) (VPC, error) {
	var v VPC
	if !validID(id, "vpc-") {
		return v, &Error{Err: ErrNotFound, Entity: "Vpc", Msg: fmt.Sprintf("VPC %q does not exist", id)}
	}
	kv, err := s.st.Get(ctx, vpcKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return v, &Error{Err: ErrNotFound, Entity: "Vpc", Msg: fmt.Sprintf("VPC %s does not exist", id)}
	}
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return v, err
	}
	if account != "" && v.Account != account {
		return VPC{}, &Error{Err: ErrNotFound, Entity: "Vpc", Msg: fmt.Sprintf("VPC %s does not exist in account %s", id, account)}
	}
	return v, nil
}

func validID(id, p string) bool {
	rest, ok := strings.CutPrefix(id, p)
	if !ok || rest == "" || len(rest) > 32 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ListVPCs lists an account's VPCs (all accounts when account is "").
func (s *Service) ListVPCs(ctx context.Context, account string) ([]VPC, error) {
	kvs, _, err := s.st.List(ctx, prefix+"vpc/")
	if err != nil {
		return nil, err
	}
	var out []VPC
	for _, kv := range kvs {
		var v VPC
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return nil, err
		}
		if account == "" || v.Account == account {
			out = append(out, v)
		}
	}
	return out, nil
}

// CreateVSwitch creates a vSwitch in a VPC of account.
func (s *Service) CreateVSwitch(ctx context.Context, account, vpcID, zone, name string) (VSwitch, error) {
	v, err := s.GetVPC(ctx, account, vpcID)
	if err != nil {
		return VSwitch{}, err
	}
	if zone == "" {
		zone = v.Region + "-a"
	}
	for n := 1; n <= MaxVSwitchesPerVPC; n++ {
		w := VSwitch{VSwitchID: newID("vsw-"), VpcID: v.VpcID, Account: account, Region: v.Region, ZoneID: zone, Name: name, Number: n,
			CidrBlock: fmt.Sprintf("127.%d.%d.0/24", 10+v.Number, n), CreateTime: s.clock.Now().UTC()}
		b, _ := json.Marshal(w)
		_, err := s.st.Txn(ctx, []store.Cond{store.Absent(vswitchNumberKey(v.VpcID, n))},
			[]store.Op{store.Put(vswitchKey(w.VSwitchID), b), store.Put(vswitchNumberKey(v.VpcID, n), []byte(w.VSwitchID))})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return VSwitch{}, err
		}
		return w, nil
	}
	return VSwitch{}, &Error{Err: ErrLimit, Entity: "VSwitch", Msg: fmt.Sprintf("VPC %s already has %d vSwitches", vpcID, MaxVSwitchesPerVPC)}
}

// GetVSwitch returns a vSwitch of account.
func (s *Service) GetVSwitch(ctx context.Context, account, id string) (VSwitch, error) {
	var w VSwitch
	if !validID(id, "vsw-") {
		return w, &Error{Err: ErrNotFound, Entity: "VSwitch", Msg: fmt.Sprintf("vSwitch %q does not exist", id)}
	}
	kv, err := s.st.Get(ctx, vswitchKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return w, &Error{Err: ErrNotFound, Entity: "VSwitch", Msg: fmt.Sprintf("vSwitch %s does not exist", id)}
	}
	if err != nil {
		return w, err
	}
	if err := json.Unmarshal(kv.Value, &w); err != nil {
		return w, err
	}
	if account != "" && w.Account != account {
		return VSwitch{}, &Error{Err: ErrNotFound, Entity: "VSwitch", Msg: fmt.Sprintf("vSwitch %s does not exist in account %s", id, account)}
	}
	return w, nil
}

// ListVSwitches lists the vSwitches of a VPC.
func (s *Service) ListVSwitches(ctx context.Context, account, vpcID string) ([]VSwitch, error) {
	kvs, _, err := s.st.List(ctx, prefix+"vswitch/")
	if err != nil {
		return nil, err
	}
	var out []VSwitch
	for _, kv := range kvs {
		var w VSwitch
		if err := json.Unmarshal(kv.Value, &w); err != nil {
			return nil, err
		}
		if (account == "" || w.Account == account) && (vpcID == "" || w.VpcID == vpcID) {
			out = append(out, w)
		}
	}
	return out, nil
}

// SourceKind says where a connection comes from.
type SourceKind int

const (
	// Internet is any address outside the VPC blocks (the host, or an
	// internet egress address).
	Internet SourceKind = iota + 1
	// InVPC is an address inside a VPC's block.
	InVPC
)

// Source is a classified source address.
type Source struct {
	Kind SourceKind
	Addr netip.Addr
	// For InVPC: the VPC and vSwitch numbers of the plan; resolve them to
	// ids with Resolve.
	VPCNumber, VSwitchNumber int
	// Egress is set for an internet egress address: the vSwitch whose NAT
	// it is.
	Egress bool
}

// Classify places an address in the plan. It needs no lookup.
func Classify(a netip.Addr) Source {
	a = a.Unmap()
	s := Source{Kind: Internet, Addr: a}
	if !a.Is4() {
		return s
	}
	b := a.As4()
	if b[0] != 127 {
		return s
	}
	switch {
	case b[1] >= 11 && int(b[1]) <= 10+MaxVPCs:
		s.Kind, s.VPCNumber, s.VSwitchNumber = InVPC, int(b[1])-10, int(b[2])
	case b[1] == 250:
		s.Egress, s.VPCNumber, s.VSwitchNumber = true, int(b[2]), int(b[3])
	}
	return s
}

// VPCOf returns the VPC an InVPC source belongs to.
func (s *Service) VPCOf(ctx context.Context, src Source) (VPC, error) {
	if src.Kind != InVPC {
		return VPC{}, &Error{Err: ErrNotFound, Entity: "Vpc", Msg: fmt.Sprintf("%s is not a VPC address", src.Addr)}
	}
	kv, err := s.st.Get(ctx, vpcNumberKey(src.VPCNumber))
	if errors.Is(err, store.ErrNotFound) {
		return VPC{}, &Error{Err: ErrNotFound, Entity: "Vpc", Msg: fmt.Sprintf("no VPC owns %s", src.Addr)}
	}
	if err != nil {
		return VPC{}, err
	}
	return s.GetVPC(ctx, "", string(kv.Value))
}

// WorkloadAddr returns the address of workload number h (2 ≤ h ≤ 254) in a
// vSwitch.
func WorkloadAddr(vpcNumber, vswitchNumber, h int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(10 + vpcNumber), byte(vswitchNumber), byte(h)})
}
