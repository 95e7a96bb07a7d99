package acr

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Specifications (the vendor's InstanceSpecification values).
const (
	SpecPersonal           = "Personal"
	SpecEnterpriseBasic    = "Enterprise_Basic"
	SpecEnterpriseStandard = "Enterprise_Standard"
	SpecEnterpriseAdvanced = "Enterprise_Advanced"
)

// VPC binding quotas per specification.
var vpcQuota = map[string]int{SpecEnterpriseBasic: 1, SpecEnterpriseStandard: 3, SpecEnterpriseAdvanced: 7}

// Instance is a registry instance.
type Instance struct {
	InstanceID    string    `json:"instanceId"`
	Account       string    `json:"account"`
	Region        string    `json:"region"`
	InstanceName  string    `json:"instanceName"`
	Specification string    `json:"specification"`
	CreateTime    time.Time `json:"createTime"`
	ModifiedTime  time.Time `json:"modifiedTime"`
	// Internet is the public endpoint: off by default on Enterprise
	// instances, always on for Personal ones.
	Internet      Endpoint        `json:"internet"`
	VPCs          []VPCLink       `json:"vpcs,omitempty"`
	CustomDomains []string        `json:"customDomains,omitempty"` // USER domains, lower case
	Options       InstanceOptions `json:"options"`
}

// InstanceOptions are instance-wide behaviours.
type InstanceOptions struct {
	// AutoCreateNamespace lets a push create a missing namespace (ACR's
	// "automatically create namespaces"); on by default.
	AutoCreateNamespace bool `json:"autoCreateNamespace"`
}

// Endpoint is the internet endpoint's state.
type Endpoint struct {
	Enabled bool       `json:"enabled"`
	ACL     []ACLEntry `json:"acl,omitempty"`
}

// ACLEntry admits a CIDR block to the internet endpoint.
type ACLEntry struct {
	Entry   string `json:"entry"` // canonical CIDR
	Comment string `json:"comment,omitempty"`
}

// VPCLink binds a VPC to the instance's -vpc domain.
type VPCLink struct {
	VpcID      string    `json:"vpcId"`
	VswitchID  string    `json:"vswitchId"`
	IP         string    `json:"ip"`
	CreateTime time.Time `json:"createTime"`
}

// Enterprise reports whether the instance is an Enterprise edition.
func (i Instance) Enterprise() bool { return i.Specification != SpecPersonal }

// DomainType says who owns a domain name.
type DomainType string

const (
	SystemDomain DomainType = "SYSTEM" // the instance's default domains
	UserDomain   DomainType = "USER"   // custom domains
)

// Network says which endpoint a domain reaches.
type Network string

const (
	Internet Network = "internet"
	VPC      Network = "vpc"
)

// Domain is one host name of an instance.
type Domain struct {
	Host    string
	Type    DomainType
	Network Network
}

// Domains lists the instance's domains under base (e.g. aliyuncs.com).
func (i Instance) Domains(base string) []Domain {
	var out []Domain
	if i.Enterprise() {
		out = append(out,
			Domain{Host: fmt.Sprintf("%s-registry.%s.cr.%s", i.InstanceName, i.Region, base), Type: SystemDomain, Network: Internet},
			Domain{Host: fmt.Sprintf("%s-registry-vpc.%s.cr.%s", i.InstanceName, i.Region, base), Type: SystemDomain, Network: VPC})
	} else {
		out = append(out,
			Domain{Host: fmt.Sprintf("%s.%s.personal.cr.%s", i.InstanceID, i.Region, base), Type: SystemDomain, Network: Internet},
			Domain{Host: fmt.Sprintf("%s-vpc.%s.personal.cr.%s", i.InstanceID, i.Region, base), Type: SystemDomain, Network: VPC})
	}
	for _, d := range i.CustomDomains {
		out = append(out, Domain{Host: d, Type: UserDomain, Network: Internet})
	}
	return out
}

// PublicHost is the instance's default public domain.
func (i Instance) PublicHost(base string) string { return i.Domains(base)[0].Host }

// VPCHost is the instance's default -vpc domain.
func (i Instance) VPCHost(base string) string { return i.Domains(base)[1].Host }

// Admits reports whether the internet endpoint admits addr.
func (i Instance) Admits(addr netip.Addr) bool {
	if !i.Enterprise() {
		return true
	}
	if !i.Internet.Enabled {
		return false
	}
	addr = addr.Unmap()
	for _, e := range i.Internet.ACL {
		if p, err := netip.ParsePrefix(e.Entry); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// LinkedTo reports whether a VPC is bound to the instance.
func (i Instance) LinkedTo(vpcID string) bool {
	for _, l := range i.VPCs {
		if l.VpcID == vpcID {
			return true
		}
	}
	return false
}

// RepoType is a repository's visibility.
type RepoType string

const (
	RepoPrivate RepoType = "PRIVATE"
	RepoPublic  RepoType = "PUBLIC"
)

// ParseRepoType accepts PUBLIC or PRIVATE, any case.
func ParseRepoType(s string) (RepoType, bool) {
	switch strings.ToUpper(s) {
	case "PRIVATE":
		return RepoPrivate, true
	case "PUBLIC":
		return RepoPublic, true
	}
	return "", false
}

// Namespace groups repositories.
type Namespace struct {
	InstanceID      string    `json:"instanceId"`
	Name            string    `json:"name"`
	AutoCreateRepo  bool      `json:"autoCreateRepo"`
	DefaultRepoType RepoType  `json:"defaultRepoType"`
	CreateTime      time.Time `json:"createTime"`
}

// Repository is one image repository.
type Repository struct {
	RepoID       string    `json:"repoId"`
	InstanceID   string    `json:"instanceId"`
	Namespace    string    `json:"namespace"`
	Name         string    `json:"name"`
	RepoType     RepoType  `json:"repoType"`
	Summary      string    `json:"summary,omitempty"`
	CreateTime   time.Time `json:"createTime"`
	ModifiedTime time.Time `json:"modifiedTime"`
}

// Path is NS/REPO.
func (r Repository) Path() string { return r.Namespace + "/" + r.Name }
