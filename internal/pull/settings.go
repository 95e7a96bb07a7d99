package pull

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rolepull/rolepull/internal/arn"
)

// Chain is one role chain: the ECI service assumes Service (a role of the
// pod's account), which assumes User (a role of the registry's account)
// when set.
type Chain struct {
	Service string `json:"service"`
	User    string `json:"user,omitempty"`
}

// Last is the ARN of the role the chain ends in: its credentials pull.
func (c Chain) Last() string {
	if c.User != "" {
		return c.User
	}
	return c.Service
}

// String renders the chain for status and events.
func (c Chain) String() string {
	if c.User == "" {
		return "eci.aliyuncs.com → " + c.Service
	}
	return "eci.aliyuncs.com → " + c.Service + " → " + c.User
}

// InstanceRef names an instance, optionally in another region than the
// pod's.
type InstanceRef struct {
	Region     string   `json:"region,omitempty"`
	InstanceID string   `json:"instanceId"`
	Domains    []string `json:"domains,omitempty"` // limit to these domains; empty: all of the instance's
}

func (r InstanceRef) String() string {
	if r.Region == "" {
		return r.InstanceID
	}
	return r.Region + ":" + r.InstanceID
}

// Credential is a registry login from an imagePullSecret or an
// ImageRegistryCredential: used only for its own server, never for ACR
// role-based pulls.
type Credential struct {
	Server   string `json:"server"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// Settings are a pod's (or image cache's) pull settings, frozen when it is
// created.
type Settings struct {
	Account   string        `json:"account"`
	Region    string        `json:"region"`
	VSwitchID string        `json:"vSwitchId,omitempty"`
	Chains    []Chain       `json:"chains,omitempty"`
	Instances []InstanceRef `json:"instances,omitempty"`
	// Session is the STS role session name, eci-<id> or imc-<id>.
	Session string `json:"session"`
	// Credentials are kept out of JSON: whoever persists Settings stores
	// them encrypted (package eci).
	Credentials []Credential `json:"-"`
}

// MaxListEntries caps annotation lists.
const MaxListEntries = 16

// SplitList splits a comma-separated annotation value, trimming spaces.
// Empty entries ("a,,b") are errors, not silently dropped.
func SplitList(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty list")
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxListEntries {
		return nil, fmt.Errorf("%d entries, at most %d", len(parts), MaxListEntries)
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = strings.TrimSpace(p)
		if out[i] == "" {
			return nil, fmt.Errorf("entry %d is empty", i)
		}
	}
	return out, nil
}

// ParseInstanceIDs parses acr-instance-ids: "[REGION:]cri-…", comma
// separated.
func ParseInstanceIDs(s string) ([]InstanceRef, error) {
	parts, err := SplitList(s)
	if err != nil {
		return nil, err
	}
	var out []InstanceRef
	for i, p := range parts {
		region, id, hasRegion := strings.Cut(p, ":")
		if !hasRegion {
			id, region = region, ""
		}
		if hasRegion && !arn.IsRegion(region) {
			return nil, fmt.Errorf("entry %d %q: %q is not a region id such as cn-beijing (write REGION:cri-…)", i, p, region)
		}
		if !strings.HasPrefix(id, "cri-") || !arn.IsInstanceID(id) {
			return nil, fmt.Errorf("entry %d %q: %q is not an Enterprise instance id (cri- and lower-case letters and digits)", i, p, id)
		}
		out = append(out, InstanceRef{Region: region, InstanceID: id})
	}
	return out, nil
}

// ParseChains pairs acr-service-arns[i] with acr-user-arns[i]. A user ARN
// with no service ARN at its index is an error: the ECI service cannot
// assume an account-trusted role directly.
func ParseChains(services, users string) ([]Chain, error) {
	var svc, usr []string
	var err error
	if strings.TrimSpace(services) != "" {
		if svc, err = SplitList(services); err != nil {
			return nil, fmt.Errorf("acr-service-arns: %w", err)
		}
	}
	if strings.TrimSpace(users) != "" {
		if usr, err = SplitList(users); err != nil {
			return nil, fmt.Errorf("acr-user-arns: %w", err)
		}
	}
	if len(usr) > len(svc) {
		return nil, fmt.Errorf("acr-user-arns has %d entries but acr-service-arns only %d: every user ARN needs a service ARN at the same position (the ECI service cannot assume a role of another account directly)", len(usr), len(svc))
	}
	chains := make([]Chain, len(svc))
	for i, s := range svc {
		if _, err := arn.ParseRole(s); err != nil {
			return nil, fmt.Errorf("acr-service-arns[%d]: %q is not a role ARN: %v", i, s, err)
		}
		chains[i].Service = s
		if i < len(usr) {
			if _, err := arn.ParseRole(usr[i]); err != nil {
				return nil, fmt.Errorf("acr-user-arns[%d]: %q is not a role ARN: %v", i, usr[i], err)
			}
			chains[i].User = usr[i]
		}
	}
	return chains, nil
}
