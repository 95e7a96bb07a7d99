package eciapi

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/pull"
)

// Limits on the lists CreateContainerGroup takes.
const (
	maxRegistryInfos = pull.MaxListEntries // AcrRegistryInfo.N, as the annotations allow
	maxDomains       = 16                  // AcrRegistryInfo.N.Domain.N
	maxCredentials   = 16                  // ImageRegistryCredential.N
	maxValueLen      = 1024                // a registry server, user name or password
)

func (a *api) createContainerGroup(ctx context.Context, c *openapi.Call) (any, error) {
	s, err := scopeOf(c)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize(ctx, "eci:CreateContainerGroup", s.resource("*")); err != nil {
		return nil, err
	}
	in, err := createInput(c.Params, s)
	if err != nil {
		return nil, err
	}
	g, err := a.eci.Create(ctx, in)
	if err != nil {
		return nil, err
	}
	return struct {
		ContainerGroupID string `json:"ContainerGroupId"`
	}{g.ID}, nil
}

// createInput translates CreateContainerGroup's parameters. Package eci
// validates what is its own (names, counts, pull policies, the vSwitch);
// this reports what only the wire knows: list numbering, AcrRegistryInfo
// and ImageRegistryCredential entries.
func createInput(p openapi.Params, s scope) (eci.CreateInput, error) {
	name, err := p.Require("ContainerGroupName")
	if err != nil {
		return eci.CreateInput{}, err
	}
	var ps problems
	switch rp := p.Get("RestartPolicy"); rp {
	case "", "Always", "Never", "OnFailure":
	default:
		ps.add("RestartPolicy", "%q: want Always, Never or OnFailure (accepted, though no process runs here to restart)", rp)
	}
	in := eci.CreateInput{
		Account:    s.account,
		Region:     s.region,
		ZoneID:     p.Get("ZoneId"),
		VSwitchID:  p.Get("VSwitchId"),
		Name:       name,
		Containers: containers(p, &ps),
	}
	in.Instances, in.Chains = registryInfo(p, s.account, &ps)
	in.Credentials = credentials(p, &ps)
	// Image caches: off unless asked for, as the vendor's API has it (the
	// virtual node's eci-auto-imc annotation defaults to on instead).
	switch v := p.Get("AutoMatchImageCache"); v {
	case "", "false":
	case "true":
		in.Cache.AutoMatch = true
	default:
		ps.add("AutoMatchImageCache", "%q: want true or false", v)
	}
	if id := p.Get("ImageSnapshotId"); id != "" {
		if !strings.HasPrefix(id, "imc-") {
			ps.add("ImageSnapshotId", "%q: want an image cache id, imc-… (DescribeImageCaches)", id)
		}
		in.Cache.Pinned = id
	}
	if err := ps.err(); err != nil {
		return eci.CreateInput{}, err
	}
	return in, nil
}

// containers reads Container.N.{Name, Image, ImagePullPolicy}; the other
// fields of a container concern a runtime and are accepted unread.
func containers(p openapi.Params, ps *problems) []eci.Container {
	before := len(*ps)
	n := listLen(p, "Container", eci.MaxContainers, ps)
	if n == 0 && len(*ps) == before {
		ps.add("Container", "a container group needs 1–%d containers and this request has none: send Container.1.Name and Container.1.Image", eci.MaxContainers)
	}
	out := make([]eci.Container, n)
	for i := range out {
		get := field(p, "Container", i+1)
		out[i] = eci.Container{Name: get("Name"), Image: get("Image"), ImagePullPolicy: get("ImagePullPolicy")}
	}
	return out
}

// field returns a getter for NAME.i.<field>.
func field(p openapi.Params, name string, i int) func(string) string {
	return func(f string) string { return p.Get(fmt.Sprintf("%s.%d.%s", name, i, f)) }
}

// registryInfo translates AcrRegistryInfo.N into the instances whose
// domains are pulled secret-free and the role chains that pull. A chain
// starts at a role of account, the group's: the only kind the ECI service
// may assume for it.
func registryInfo(p openapi.Params, account string, ps *problems) ([]pull.InstanceRef, []pull.Chain) {
	const name = "AcrRegistryInfo"
	onlyFields(p, name, []string{"InstanceId", "InstanceName", "RegionId", "ArnService", "ArnUser"}, []string{"Domain"}, ps)
	n := listLen(p, name, maxRegistryInfos, ps)
	var instances []pull.InstanceRef
	var chains []pull.Chain
	for i := 1; i <= n; i++ {
		get := field(p, name, i)
		at := func(f string) string { return fmt.Sprintf("%s.%d.%s", name, i, f) }
		id, region, svc, usr := get("InstanceId"), get("RegionId"), get("ArnService"), get("ArnUser")
		domains := entryDomains(p, at("Domain"), ps)

		switch {
		case id != "":
			if !strings.HasPrefix(id, "cri-") || !arn.IsInstanceID(id) {
				ps.add(at("InstanceId"), "%q is not an Enterprise instance id: write cri- followed by lower-case letters and digits, as ListInstance reports it", id)
			}
		case get("InstanceName") != "" || region != "" || len(domains) > 0:
			ps.add(at("InstanceId"), "the entry names an instance (InstanceName %q, RegionId %q, %d domains) but no InstanceId: rolepull maps a registry to an instance only by its id, which ListInstance reports", get("InstanceName"), region, len(domains))
		case svc == "" && usr == "":
			ps.add(fmt.Sprintf("%s.%d", name, i), "the entry names neither an instance (InstanceId) nor a role (ArnService)")
		}
		if region != "" && !arn.IsRegion(region) {
			ps.add(at("RegionId"), "%q is not a region id such as cn-beijing: give the region of instance %s, or leave it empty when the instance is in the group's region", region, id)
		}
		if id != "" {
			instances = mergeInstance(instances, pull.InstanceRef{Region: region, InstanceID: id, Domains: domains})
		}

		if usr != "" && svc == "" {
			ps.add(at("ArnUser"), "%q has no ArnService: the ECI service assumes only a role of the group's own account, which then assumes %s; set %s to such a role (trusting eci.aliyuncs.com, with AliyunSTSAssumeRoleAccess)", usr, usr, at("ArnService"))
			continue
		}
		if svc == "" {
			continue
		}
		role, ok := roleARN(at("ArnService"), svc, ps)
		if ok && role.Account != account {
			ps.add(at("ArnService"), "%q is a role of account %s, but the ECI service acts for account %s, which owns this group: name a role of %s here (trusting eci.aliyuncs.com), and the role of %s in %s", svc, role.Account, account, account, role.Account, at("ArnUser"))
			ok = false
		}
		if usr != "" {
			_, userOK := roleARN(at("ArnUser"), usr, ps)
			ok = ok && userOK
		}
		if ch := (pull.Chain{Service: svc, User: usr}); ok && !slices.Contains(chains, ch) {
			chains = append(chains, ch)
		}
	}
	return instances, chains
}

// roleARN parses a role ARN, reporting a malformed one.
func roleARN(field, s string, ps *problems) (arn.Principal, bool) {
	role, err := arn.ParseRole(s)
	if err != nil {
		ps.add(field, "%v: write a role ARN such as acs:ram::UID:role/NAME", err)
		return arn.Principal{}, false
	}
	return role, true
}

// entryDomains reads and checks an entry's Domain.N: host names, lower
// case, without scheme or port.
func entryDomains(p openapi.Params, name string, ps *problems) []string {
	n := listLen(p, name, maxDomains, ps)
	var out []string
	for j := 1; j <= n; j++ {
		given := p.Get(fmt.Sprintf("%s.%d", name, j))
		d := strings.ToLower(given)
		if !isDomain(d) {
			ps.add(fmt.Sprintf("%s.%d", name, j), "%.128q is not a domain name: write a host such as test1-registry.example.com, with no scheme, port or path", given)
			continue
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// isDomain reports whether s is a lower-case DNS name of at least two
// labels.
func isDomain(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// mergeInstance adds ref, merging it into an entry for the same instance:
// the domains are combined, and an entry with no domains (all of them)
// wins.
func mergeInstance(refs []pull.InstanceRef, ref pull.InstanceRef) []pull.InstanceRef {
	for i, r := range refs {
		if r.InstanceID != ref.InstanceID || r.Region != ref.Region {
			continue
		}
		if len(r.Domains) == 0 || len(ref.Domains) == 0 {
			refs[i].Domains = nil
			return refs
		}
		for _, d := range ref.Domains {
			if !slices.Contains(r.Domains, d) {
				refs[i].Domains = append(refs[i].Domains, d)
			}
		}
		return refs
	}
	return append(refs, ref)
}

// credentials reads ImageRegistryCredential.N. No message repeats a
// password, or says anything about one but that it is missing or too long.
func credentials(p openapi.Params, ps *problems) []pull.Credential {
	const name = "ImageRegistryCredential"
	onlyFields(p, name, []string{"Server", "UserName", "Password"}, nil, ps)
	n := listLen(p, name, maxCredentials, ps)
	out := make([]pull.Credential, 0, n)
	for i := 1; i <= n; i++ {
		get := field(p, name, i)
		at := func(f string) string { return fmt.Sprintf("%s.%d.%s", name, i, f) }
		c := pull.Credential{Server: get("Server"), Username: get("UserName"), Password: get("Password")}
		switch {
		case c.Server == "":
			ps.add(at("Server"), "missing: give the registry's address, such as registry.example.com")
		case len(c.Server) > maxValueLen || strings.ContainsFunc(c.Server, isSpaceOrControl):
			ps.add(at("Server"), "%.64q is not a registry address such as registry.example.com", c.Server)
		}
		switch {
		case c.Username == "":
			ps.add(at("UserName"), "missing: give the user name for %s", c.Server)
		case len(c.Username) > maxValueLen:
			ps.add(at("UserName"), "longer than %d bytes", maxValueLen)
		}
		switch {
		case c.Password == "":
			ps.add(at("Password"), "missing: give the password for %s", c.Server)
		case len(c.Password) > maxValueLen:
			ps.add(at("Password"), "longer than %d bytes", maxValueLen)
		}
		out = append(out, c)
	}
	return out
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
