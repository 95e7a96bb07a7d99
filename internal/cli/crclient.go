package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/crapi"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/profile"
)

// crAPI is Container Registry's OpenAPI (2018-12-01) as the CLI calls it:
// a client like any SDK, with the profile's AccessKey.
type crAPI struct {
	c *openapi.Client
	p profile.Profile
}

// loadCR loads a profile for Container Registry calls. They name no region:
// an instance id names one instance in whichever region it is, and
// ListInstance then lists every region (package crapi, "Region").
func loadCR(path string) (crAPI, error) {
	c, p, err := loadClient(path)
	if err != nil {
		return crAPI{}, err
	}
	c.RegionID = ""
	return crAPI{c: c, p: p}, nil
}

func (a crAPI) do(ctx context.Context, action string, params map[string]string, out any) error {
	return a.c.Do(ctx, crapi.Version, action, params, out)
}

// crPageSize is the largest page the API serves.
const crPageSize = 100

// crInstance is one instance as ListInstance reports it.
type crInstance struct {
	InstanceId, InstanceName, InstanceSpecification, InstanceStatus, RegionId, CreateTime string
}

// personal reports whether the instance is of the Personal edition.
func (i crInstance) personal() bool { return i.InstanceSpecification == "Personal" }

func (a crAPI) listInstances(ctx context.Context) ([]crInstance, error) {
	var all []crInstance
	for page := 1; ; page++ {
		var out struct{ Instances []crInstance }
		if err := a.do(ctx, "ListInstance", map[string]string{"PageNo": strconv.Itoa(page), "PageSize": strconv.Itoa(crPageSize)}, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Instances...)
		if len(out.Instances) < crPageSize {
			return all, nil
		}
	}
}

type crACLEntry struct{ Entry, Comment string }

type crDomain struct{ Domain, Type string }

type crLinkedVPC struct{ VpcId, VswitchId, Ip, Status string }

// crEndpoint is an instance's internet or vpc endpoint (ListInstanceEndpoint).
type crEndpoint struct {
	EndpointType string
	Enable       bool
	Status       string
	AclEnable    bool
	AclEntries   []crACLEntry
	Domains      []crDomain
	LinkedVpcs   []crLinkedVPC
}

// endpoints returns the instance's internet and vpc endpoints, in that order
// (an absent one is zero).
func (a crAPI) endpoints(ctx context.Context, id string) (internet, vpc crEndpoint, err error) {
	var out struct{ Endpoints []crEndpoint }
	if err := a.do(ctx, "ListInstanceEndpoint", map[string]string{"InstanceId": id}, &out); err != nil {
		return internet, vpc, err
	}
	for _, e := range out.Endpoints {
		switch strings.ToLower(e.EndpointType) {
		case "internet":
			internet = e
		case "vpc":
			vpc = e
		}
	}
	return internet, vpc, nil
}

// errNotInstanceDomain says a host names none of the account's instances.
var errNotInstanceDomain = errors.New("not a domain of any registry instance of the profile's account (see `rolepull cr instance list` and `rolepull cr instance get ID`)")

// crTarget is what a registry host reaches.
type crTarget struct {
	Host     string // normalized
	Instance crInstance
	Network  string // internet or vpc
	Type     string // SYSTEM or USER
	// Legacy is the Personal edition's shared domain registry.REGION.BASE,
	// where the namespace names the instance: the caller's own Personal
	// instance of that region stands for it.
	Legacy   bool
	Internet crEndpoint // the instance's internet endpoint, for hints
}

// normalizeHost lower-cases a host and drops a port and a trailing dot, as
// the registry matches hosts.
func normalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// resolveHost finds the instance a registry host names, by exact match
// against the domains every instance reports: its SYSTEM and USER domains,
// and for a Personal instance the region's legacy shared domain. A host
// that matches none wraps errNotInstanceDomain.
func (a crAPI) resolveHost(ctx context.Context, host string) (crTarget, error) {
	h := normalizeHost(host)
	if h == "" {
		return crTarget{}, errors.New("no registry host given")
	}
	insts, err := a.listInstances(ctx)
	if err != nil {
		return crTarget{}, err
	}
	for _, inst := range insts {
		internet, vpc, err := a.endpoints(ctx, inst.InstanceId)
		if err != nil {
			return crTarget{}, err
		}
		for _, e := range []crEndpoint{internet, vpc} {
			for _, d := range e.Domains {
				if normalizeHost(d.Domain) == h {
					return crTarget{Host: h, Instance: inst, Network: strings.ToLower(e.EndpointType), Type: d.Type, Internet: internet}, nil
				}
			}
		}
		if !inst.personal() {
			continue
		}
		for _, d := range internet.Domains {
			base, ok := strings.CutPrefix(normalizeHost(d.Domain), strings.ToLower(inst.InstanceId)+"."+inst.RegionId+".personal.cr.")
			if !ok || d.Type != "SYSTEM" {
				continue
			}
			switch h {
			case "registry." + inst.RegionId + "." + base:
				return crTarget{Host: h, Instance: inst, Network: "internet", Type: "SYSTEM", Legacy: true, Internet: internet}, nil
			case "registry-vpc." + inst.RegionId + "." + base:
				return crTarget{Host: h, Instance: inst, Network: "vpc", Type: "SYSTEM", Legacy: true, Internet: internet}, nil
			}
		}
	}
	return crTarget{}, fmt.Errorf("%s: %w", h, errNotInstanceDomain)
}

// tempPassword is a temporary registry password (GetAuthorizationToken).
type tempPassword struct {
	Username, Password string
	Expires            time.Time
}

// authorizationToken asks for a temporary password that stands for the
// profile's identity on one instance. (For the legacy shared Personal
// domain this is the same password as the Personal edition's GET /tokens:
// both are issued for the caller's Personal instance of the region.)
func (a crAPI) authorizationToken(ctx context.Context, instanceID string) (tempPassword, error) {
	var out struct {
		TempUsername, AuthorizationToken string
		ExpireTime                       int64
	}
	if err := a.do(ctx, "GetAuthorizationToken", map[string]string{"InstanceId": instanceID}, &out); err != nil {
		return tempPassword{}, err
	}
	if out.AuthorizationToken == "" {
		return tempPassword{}, fmt.Errorf("GetAuthorizationToken for %s returned no password", instanceID)
	}
	return tempPassword{out.TempUsername, out.AuthorizationToken, time.UnixMilli(out.ExpireTime).UTC()}, nil
}

// splitRepo splits NAMESPACE/REPOSITORY.
func splitRepo(s string) (ns, repo string, err error) {
	ns, repo, ok := strings.Cut(s, "/")
	if !ok || ns == "" || repo == "" || strings.Contains(repo, "/") {
		return "", "", fmt.Errorf("%q: want NAMESPACE/REPOSITORY, such as demo/app", s)
	}
	return ns, repo, nil
}

// millisTime renders epoch milliseconds (a number or a decimal string, as
// the API declares per field) in RFC 3339, UTC; "" stays "".
func millisTime[T int64 | string](v T) string {
	var ms int64
	switch x := any(v).(type) {
	case int64:
		ms = x
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return x
		}
		ms = n
	}
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}
