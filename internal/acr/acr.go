package acr

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/store"
)

// DefaultBase is the domain suffix of instance domains, so the seed's
// manifests apply verbatim.
const DefaultBase = "aliyuncs.com"

var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInvalid  = errors.New("invalid parameter")
	ErrLimit    = errors.New("quota exceeded")
	ErrConflict = errors.New("conflict")
)

// Error is a registry control-plane failure naming the entity and field.
type Error struct {
	Err    error
	Entity string // "Instance", "Namespace", "Repository", "Domain", "Acl", "Vpc"
	Field  string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func errorf(err error, entity, field, format string, args ...any) error {
	return &Error{Err: err, Entity: entity, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Options configure a Service.
type Options struct {
	Base   string // default DefaultBase
	Clock  clock.Clock
	Logger *slog.Logger
}

// Service is Container Registry's control plane.
type Service struct {
	st    store.Store
	ram   *ram.Service
	net   *netmodel.Service
	keys  *keyring.Keyring
	base  string
	clock clock.Clock
	log   *slog.Logger
}

// New returns a Service.
func New(st store.Store, r *ram.Service, n *netmodel.Service, keys *keyring.Keyring, opts Options) *Service {
	s := &Service{st: st, ram: r, net: n, keys: keys, base: strings.ToLower(opts.Base), clock: clock.Or(opts.Clock), log: opts.Logger}
	if s.base == "" {
		s.base = DefaultBase
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Base is the domain suffix of default domains.
func (s *Service) Base() string { return s.base }

const prefix = "acr/"

func instanceKey(id string) string { return prefix + "instance/" + id }

// hostKey indexes every domain of every instance.
func hostKey(host string) string { return prefix + "host/" + strings.ToLower(host) }

// nameKey keeps Enterprise instance names unique per region (they are part
// of the default domains).
func nameKey(region, name string) string { return prefix + "name/" + region + "/" + name }

// personalKey allows one Personal instance per account and region.
func personalKey(account, region string) string { return prefix + "personal/" + account + "/" + region }

// legacyNSKey maps a Personal namespace to its instance on the legacy
// shared domain, where namespaces are unique per region.
func legacyNSKey(region, ns string) string { return prefix + "legacy-ns/" + region + "/" + ns }

func namespaceKey(inst, ns string) string  { return prefix + "ns/" + inst + "/" + ns }
func namespacePrefix(inst string) string   { return prefix + "ns/" + inst + "/" }
func repoKey(inst, ns, repo string) string { return prefix + "repo/" + inst + "/" + ns + "/" + repo }
func repoPrefix(inst string) string        { return prefix + "repo/" + inst + "/" }
func repoIDKey(id string) string           { return prefix + "repo-id/" + id }

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("acr: marshal %T: %v", v, err))
	}
	return b
}

func randomID(p string, n int) string { return p + strings.ToLower(rand.Text()[:n]) }

// IsInstanceName reports whether s is a valid Enterprise instance name:
// 3–30 of lower-case letters, digits and '-', not starting or ending with
// '-'.
func IsInstanceName(s string) bool {
	if len(s) < 3 || len(s) > 30 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// CreateInstance creates an instance. Enterprise instances start closed to
// every network; Personal instances are reachable publicly (one per account
// and region; their name is their id).
func (s *Service) CreateInstance(ctx context.Context, account, region, name, spec string) (Instance, error) {
	if !arn.IsRegion(region) {
		return Instance{}, errorf(ErrInvalid, "Instance", "RegionId", "region %q is not a region id such as cn-hangzhou", region)
	}
	if err := s.ram.RequireAccount(ctx, account); err != nil {
		return Instance{}, err
	}
	now := s.now()
	inst := Instance{Account: account, Region: region, Specification: spec, CreateTime: now, ModifiedTime: now,
		Options: InstanceOptions{AutoCreateNamespace: true}}
	var conds []store.Cond
	var ops []store.Op
	switch spec {
	case SpecPersonal:
		inst.InstanceID = randomID("crpi-", 16)
		inst.InstanceName = inst.InstanceID
		inst.Internet.Enabled = true
		conds = append(conds, store.Absent(personalKey(account, region)))
		ops = append(ops, store.Put(personalKey(account, region), []byte(inst.InstanceID)))
	case SpecEnterpriseBasic, SpecEnterpriseStandard, SpecEnterpriseAdvanced:
		if !IsInstanceName(name) {
			return Instance{}, errorf(ErrInvalid, "Instance", "InstanceName", "instance name %q: want 3–30 of a-z 0-9 -, not starting or ending with -", name)
		}
		inst.InstanceID = randomID("cri-", 16)
		inst.InstanceName = name
		conds = append(conds, store.Absent(nameKey(region, name)))
		ops = append(ops, store.Put(nameKey(region, name), []byte(inst.InstanceID)))
	default:
		return Instance{}, errorf(ErrInvalid, "Instance", "InstanceType", "instance type %q: want Basic, Standard, Advanced (Enterprise) or Personal", spec)
	}
	conds = append(conds, store.Absent(instanceKey(inst.InstanceID)))
	ops = append(ops, store.Put(instanceKey(inst.InstanceID), mustJSON(inst)))
	for _, d := range inst.Domains(s.base) {
		conds = append(conds, store.Absent(hostKey(d.Host)))
		ops = append(ops, store.Put(hostKey(d.Host), []byte(inst.InstanceID)))
	}
	_, err := s.st.Txn(ctx, conds, ops)
	if errors.Is(err, store.ErrConflict) {
		if spec == SpecPersonal {
			return Instance{}, errorf(ErrExists, "Instance", "", "account %s already has a Personal instance in %s", account, region)
		}
		return Instance{}, errorf(ErrExists, "Instance", "InstanceName", "an instance named %q already exists in %s", name, region)
	}
	if err != nil {
		return Instance{}, fmt.Errorf("acr: create instance: %w", err)
	}
	s.log.Info("instance created", "account", account, "instance", inst.InstanceID, "name", inst.InstanceName, "specification", spec)
	return inst, nil
}

// GetInstance returns an instance. With a non-empty account, an instance of
// another account does not exist.
func (s *Service) GetInstance(ctx context.Context, account, id string) (Instance, error) {
	inst, _, err := s.getInstance(ctx, account, id)
	return inst, err
}

func (s *Service) getInstance(ctx context.Context, account, id string) (Instance, int64, error) {
	var inst Instance
	if !arn.IsInstanceID(id) {
		return inst, 0, errorf(ErrNotFound, "Instance", "InstanceId", "instance %q does not exist", id)
	}
	kv, err := s.st.Get(ctx, instanceKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return inst, 0, errorf(ErrNotFound, "Instance", "InstanceId", "instance %s does not exist", id)
	}
	if err != nil {
		return inst, 0, err
	}
	if err := json.Unmarshal(kv.Value, &inst); err != nil {
		return inst, 0, err
	}
	if account != "" && inst.Account != account {
		return Instance{}, 0, errorf(ErrNotFound, "Instance", "InstanceId", "instance %s does not exist in account %s", id, account)
	}
	return inst, kv.ModRevision, nil
}

// ListInstances lists an account's instances, in one region or all
// (region "").
func (s *Service) ListInstances(ctx context.Context, account, region string) ([]Instance, error) {
	kvs, _, err := s.st.List(ctx, prefix+"instance/")
	if err != nil {
		return nil, err
	}
	var out []Instance
	for _, kv := range kvs {
		var inst Instance
		if err := json.Unmarshal(kv.Value, &inst); err != nil {
			return nil, err
		}
		if (account == "" || inst.Account == account) && (region == "" || inst.Region == region) {
			out = append(out, inst)
		}
	}
	return out, nil
}

// DeleteInstance deletes an instance with no repositories left.
func (s *Service) DeleteInstance(ctx context.Context, account, id string) error {
	inst, rev, err := s.getInstance(ctx, account, id)
	if err != nil {
		return err
	}
	repos, _, err := s.st.List(ctx, repoPrefix(id))
	if err != nil {
		return err
	}
	if len(repos) > 0 {
		return errorf(ErrConflict, "Instance", "Repository", "instance %s still has %d repositories; delete them first", id, len(repos))
	}
	nss, _, err := s.st.List(ctx, namespacePrefix(id))
	if err != nil {
		return err
	}
	ops := []store.Op{store.Delete(instanceKey(id))}
	for _, d := range inst.Domains(s.base) {
		ops = append(ops, store.Delete(hostKey(d.Host)))
	}
	if inst.Enterprise() {
		ops = append(ops, store.Delete(nameKey(inst.Region, inst.InstanceName)))
	} else {
		ops = append(ops, store.Delete(personalKey(inst.Account, inst.Region)))
	}
	for _, kv := range nss {
		ops = append(ops, store.Delete(kv.Key))
		if !inst.Enterprise() {
			var ns Namespace
			if json.Unmarshal(kv.Value, &ns) == nil {
				ops = append(ops, store.Delete(legacyNSKey(inst.Region, ns.Name)))
			}
		}
	}
	_, err = s.st.Txn(ctx, []store.Cond{store.At(instanceKey(id), rev)}, ops)
	if errors.Is(err, store.ErrConflict) {
		return errorf(ErrConflict, "Instance", "Concurrent", "instance %s changed while being deleted; retry", id)
	}
	return err
}

// update applies fn to an instance under compare-and-swap. fn may return
// extra conditions and operations (index entries) to commit with it.
func (s *Service) update(ctx context.Context, account, id string, fn func(*Instance) ([]store.Cond, []store.Op, error)) (Instance, error) {
	inst, rev, err := s.getInstance(ctx, account, id)
	if err != nil {
		return Instance{}, err
	}
	conds, ops, err := fn(&inst)
	if err != nil {
		return Instance{}, err
	}
	inst.ModifiedTime = s.now()
	conds = append(conds, store.At(instanceKey(id), rev))
	ops = append(ops, store.Put(instanceKey(id), mustJSON(inst)))
	if _, err := s.st.Txn(ctx, conds, ops); errors.Is(err, store.ErrConflict) {
		return Instance{}, errorf(ErrConflict, "Instance", "Concurrent", "instance %s changed concurrently; retry", id)
	} else if err != nil {
		return Instance{}, err
	}
	return inst, nil
}

// SetInternet turns the internet endpoint on or off. A Personal instance's
// is always on.
func (s *Service) SetInternet(ctx context.Context, account, id string, enabled bool) (Instance, error) {
	return s.update(ctx, account, id, func(inst *Instance) ([]store.Cond, []store.Op, error) {
		if !inst.Enterprise() && !enabled {
			return nil, nil, errorf(ErrInvalid, "Instance", "Enable", "a Personal instance's internet endpoint cannot be turned off")
		}
		inst.Internet.Enabled = enabled
		return nil, nil, nil
	})
}

// MaxACLEntries bounds the allow-list.
const MaxACLEntries = 100

// AddACL admits a CIDR block (or one address) to the internet endpoint.
func (s *Service) AddACL(ctx context.Context, account, id, entry, comment string) (Instance, error) {
	p, err := parseEntry(entry)
	if err != nil {
		return Instance{}, err
	}
	return s.update(ctx, account, id, func(inst *Instance) ([]store.Cond, []store.Op, error) {
		for _, e := range inst.Internet.ACL {
			if e.Entry == p.String() {
				return nil, nil, errorf(ErrExists, "Acl", "Entry", "%s is already on the allow-list", p)
			}
		}
		if len(inst.Internet.ACL) >= MaxACLEntries {
			return nil, nil, errorf(ErrLimit, "Acl", "Entry", "the allow-list already has %d entries", MaxACLEntries)
		}
		inst.Internet.ACL = append(inst.Internet.ACL, ACLEntry{Entry: p.String(), Comment: comment})
		return nil, nil, nil
	})
}

func parseEntry(entry string) (netip.Prefix, error) {
	if !strings.Contains(entry, "/") {
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return netip.Prefix{}, errorf(ErrInvalid, "Acl", "Entry", "ACL entry %q: want a CIDR block such as 192.168.1.0/24 or an address", entry)
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(entry)
	if err != nil || p != p.Masked() {
		return netip.Prefix{}, errorf(ErrInvalid, "Acl", "Entry", "ACL entry %q: want a CIDR block with no host bits set, such as 192.168.1.0/24", entry)
	}
	return p, nil
}

// RemoveACL removes an allow-list entry.
func (s *Service) RemoveACL(ctx context.Context, account, id, entry string) (Instance, error) {
	p, err := parseEntry(entry)
	if err != nil {
		return Instance{}, err
	}
	return s.update(ctx, account, id, func(inst *Instance) ([]store.Cond, []store.Op, error) {
		for i, e := range inst.Internet.ACL {
			if e.Entry == p.String() {
				inst.Internet.ACL = append(inst.Internet.ACL[:i:i], inst.Internet.ACL[i+1:]...)
				return nil, nil, nil
			}
		}
		return nil, nil, errorf(ErrNotFound, "Acl", "Entry", "%s is not on the allow-list", p)
	})
}

// LinkVPC binds a VPC (through one of its vSwitches) to the instance's -vpc
// domain. The first binding of an account creates the PrivateZone
// service-linked role, as ACR does.
func (s *Service) LinkVPC(ctx context.Context, account, id, vpcID, vswitchID string) (Instance, error) {
	vpc, err := s.net.GetVPC(ctx, account, vpcID)
	if err != nil {
		return Instance{}, err
	}
	vsw, err := s.net.GetVSwitch(ctx, account, vswitchID)
	if err != nil {
		return Instance{}, err
	}
	if vsw.VpcID != vpc.VpcID {
		return Instance{}, errorf(ErrInvalid, "Vpc", "VswitchId", "vSwitch %s is not in VPC %s", vswitchID, vpcID)
	}
	check := func(inst Instance) error {
		if !inst.Enterprise() {
			return errorf(ErrInvalid, "Vpc", "InstanceId", "VPC access control is an Enterprise feature; a Personal instance's -vpc domain is open to every VPC of its region")
		}
		if vpc.Region != inst.Region {
			return errorf(ErrInvalid, "Vpc", "VpcId", "VPC %s is in %s, the instance in %s: bind a VPC of the instance's region", vpcID, vpc.Region, inst.Region)
		}
		if inst.LinkedTo(vpcID) {
			return errorf(ErrExists, "Vpc", "VpcId", "VPC %s is already bound to %s", vpcID, id)
		}
		if q := vpcQuota[inst.Specification]; len(inst.VPCs) >= q {
			return errorf(ErrLimit, "Vpc", "VpcId", "a %s instance binds at most %d VPC(s)", inst.Specification, q)
		}
		return nil
	}
	// A binding that will be refused creates no service-linked role: the
	// checks run first, and again in the transaction that binds.
	inst, err := s.GetInstance(ctx, account, id)
	if err != nil {
		return Instance{}, err
	}
	if err := check(inst); err != nil {
		return Instance{}, err
	}
	if _, err := s.ram.EnsureServiceLinkedRole(ctx, account, ram.PrivateZoneServiceLinkedRole); err != nil {
		return Instance{}, err
	}
	return s.update(ctx, account, id, func(inst *Instance) ([]store.Cond, []store.Op, error) {
		if err := check(*inst); err != nil {
			return nil, nil, err
		}
		ip := netmodel.WorkloadAddr(vpc.Number, vsw.Number, 254) // the endpoint's address in the vSwitch
		inst.VPCs = append(inst.VPCs, VPCLink{VpcID: vpcID, VswitchID: vswitchID, IP: ip.String(), CreateTime: s.now()})
		return nil, nil, nil
	})
}

// UnlinkVPC removes a VPC binding.
func (s *Service) UnlinkVPC(ctx context.Context, account, id, vpcID string) (Instance, error) {
	return s.update(ctx, account, id, func(inst *Instance) ([]store.Cond, []store.Op, error) {
		for i, l := range inst.VPCs {
			if l.VpcID == vpcID {
				inst.VPCs = append(inst.VPCs[:i:i], inst.VPCs[i+1:]...)
				return nil, nil, nil
			}
		}
		return nil, nil, errorf(ErrNotFound, "Vpc", "VpcId", "VPC %s is not bound to %s", vpcID, id)
	})
}

// AddDomain binds a custom domain to an Enterprise instance.
func (s *Service) AddDomain(ctx context.Context, account, id, domain string) (Instance, error) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if !isDomainName(d) {
		return Instance{}, errorf(ErrInvalid, "Domain", "DomainName", "%q is not a domain name", domain)
	}
	if _, err := s.ResolveHost(ctx, d); err == nil {
		return Instance{}, errorf(ErrExists, "Domain", "DomainName", "%s already names an instance", d)
	}
	if IsDefaultDomain(d, s.base) {
		return Instance{}, errorf(ErrInvalid, "Domain", "DomainName", "%s has the shape of a default domain; choose a custom name", d)
	}
	return s.update(ctx, account, id, func(inst *Instance) ([]store.Cond, []store.Op, error) {
		if !inst.Enterprise() {
			return nil, nil, errorf(ErrInvalid, "Domain", "InstanceId", "custom domains are an Enterprise feature")
		}
		if len(inst.CustomDomains) >= 10 {
			return nil, nil, errorf(ErrLimit, "Domain", "DomainName", "an instance has at most 10 custom domains")
		}
		inst.CustomDomains = append(inst.CustomDomains, d)
		return []store.Cond{store.Absent(hostKey(d))}, []store.Op{store.Put(hostKey(d), []byte(inst.InstanceID))}, nil
	})
}

// RemoveDomain unbinds a custom domain.
func (s *Service) RemoveDomain(ctx context.Context, account, id, domain string) (Instance, error) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	return s.update(ctx, account, id, func(inst *Instance) ([]store.Cond, []store.Op, error) {
		for i, x := range inst.CustomDomains {
			if x == d {
				inst.CustomDomains = append(inst.CustomDomains[:i:i], inst.CustomDomains[i+1:]...)
				return nil, []store.Op{store.Delete(hostKey(d))}, nil
			}
		}
		return nil, nil, errorf(ErrNotFound, "Domain", "DomainName", "%s is not a domain of %s", d, id)
	})
}

func isDomainName(s string) bool {
	if len(s) < 3 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
