package arn

import (
	"fmt"
	"strings"
)

// IsRoleName reports whether s is a valid RAM role name: 1–64 of
// [A-Za-z0-9.-], starting with a letter or digit (so "." and ".." are never
// names).
func IsRoleName(s string) bool { return validName(s, 1, 64, ".-") }

// IsUserName reports whether s is a valid RAM user name: 1–64 of
// [A-Za-z0-9.@_-], starting with a letter or digit.
func IsUserName(s string) bool { return validName(s, 1, 64, ".@_-") }

// IsPolicyName reports whether s is a valid RAM policy name: 1–128 of
// [A-Za-z0-9-].
func IsPolicyName(s string) bool { return validName(s, 1, 128, "-") }

// IsSessionName reports whether s is a valid STS role session name: 2–64 of
// [A-Za-z0-9.@_-] (the vendor's grammar: any of them may come first).
func IsSessionName(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && strings.IndexByte(".@_-", c) < 0 {
			return false
		}
	}
	return true
}

func validName(s string, minLen, maxLen int, extra string) bool {
	if len(s) < minLen || len(s) > maxLen || !isAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// IsInstanceID reports whether s is a Container Registry instance id:
// "cri-" (Enterprise) or "crpi-" (Personal) and 1–32 lower-case letters and
// digits.
func IsInstanceID(s string) bool {
	rest, ok := strings.CutPrefix(s, "cri-")
	if !ok {
		rest, ok = strings.CutPrefix(s, "crpi-")
	}
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

// IsNamespace reports whether s is a valid registry namespace (and, the same
// grammar, a repository name): 2–64 of lower-case letters and digits, with
// single '.', '_' or '-' between them (OCI path component rules).
func IsNamespace(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	prevSep := true // forbids a leading separator
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			prevSep = false
		case c == '.' || c == '_' || c == '-':
			if prevSep {
				return false
			}
			prevSep = true
		default:
			return false
		}
	}
	return !prevSep
}

// Principal kinds a RAM ARN can name.
type PrincipalKind int

const (
	KindRoot PrincipalKind = iota + 1
	KindUser
	KindRole
	KindAssumedRole
)

func (k PrincipalKind) String() string {
	switch k {
	case KindRoot:
		return "root"
	case KindUser:
		return "user"
	case KindRole:
		return "role"
	case KindAssumedRole:
		return "assumed-role"
	}
	return fmt.Sprintf("PrincipalKind(%d)", int(k))
}

// Principal is a parsed RAM identity ARN.
type Principal struct {
	Kind    PrincipalKind
	Account string
	Name    string // user or role name; empty for root
	Session string // for KindAssumedRole
}

// ParsePrincipal parses acs:ram::UID:root, user/NAME, role/NAME,
// assumed-role/ROLE/SESSION and role/ROLE/SESSION (the shape AssumeRole
// returns). A RAM ARN carries no region.
func ParsePrincipal(s string) (Principal, error) {
	a, err := Parse(s)
	if err != nil {
		return Principal{}, err
	}
	if a.Service != "ram" {
		return Principal{}, newError(s, "service", "%q: a principal is a ram ARN", a.Service)
	}
	if a.Region != "" {
		return Principal{}, newError(s, "region", "%q: RAM is global, the region must be empty", a.Region)
	}
	p := Principal{Account: a.Account}
	kind, rest, _ := strings.Cut(a.Resource, "/")
	switch kind {
	case "root":
		if a.Resource != "root" {
			return Principal{}, newError(s, "resource", "%q: root takes no name", a.Resource)
		}
		p.Kind = KindRoot
		return p, nil
	case "user":
		if !IsUserName(rest) {
			return Principal{}, newError(s, "resource", "%q is not a user name (1–64 of A-Z a-z 0-9 . @ _ -)", rest)
		}
		p.Kind, p.Name = KindUser, rest
		return p, nil
	case "role", "assumed-role":
		name, session, chained := strings.Cut(rest, "/")
		if !IsRoleName(name) {
			return Principal{}, newError(s, "resource", "%q is not a role name (1–64 of A-Z a-z 0-9 . -)", name)
		}
		p.Kind, p.Name = KindRole, name
		if kind == "assumed-role" && !chained {
			return Principal{}, newError(s, "resource", "assumed-role needs ROLE/SESSION")
		}
		if chained {
			if !IsSessionName(session) {
				return Principal{}, newError(s, "resource", "%q is not a session name (2–64 of A-Z a-z 0-9 . @ _ -)", session)
			}
			p.Kind, p.Session = KindAssumedRole, session
		}
		return p, nil
	}
	return Principal{}, newError(s, "resource", "%q: want root, user/NAME, role/NAME or assumed-role/ROLE/SESSION", a.Resource)
}

// ParseRole parses exactly acs:ram::UID:role/NAME.
func ParseRole(s string) (Principal, error) {
	p, err := ParsePrincipal(s)
	if err != nil {
		return Principal{}, err
	}
	if p.Kind != KindRole {
		return Principal{}, newError(s, "resource", "is a %s, not a role (want acs:ram::UID:role/NAME)", p.Kind)
	}
	return p, nil
}

func (p Principal) String() string {
	switch p.Kind {
	case KindRoot:
		return RootARN(p.Account)
	case KindUser:
		return UserARN(p.Account, p.Name)
	case KindRole:
		return RoleARN(p.Account, p.Name)
	case KindAssumedRole:
		return AssumedRoleARN(p.Account, p.Name, p.Session)
	}
	return ""
}

// RootARN names an account's root identity.
func RootARN(account string) string { return "acs:ram::" + account + ":root" }

// UserARN names a RAM user.
func UserARN(account, name string) string { return "acs:ram::" + account + ":user/" + name }

// RoleARN names a RAM role.
func RoleARN(account, name string) string { return "acs:ram::" + account + ":role/" + name }

// AssumedRoleARN names a role session as GetCallerIdentity reports it.
func AssumedRoleARN(account, role, session string) string {
	return "acs:ram::" + account + ":assumed-role/" + role + "/" + session
}

// PolicyARN names a RAM policy (type "system" or "custom").
func PolicyARN(account, name string) string { return "acs:ram::" + account + ":policy/" + name }

// RAMResource names a RAM resource for the authorization of RAM's own
// actions: ram:GetRole is decided on acs:ram::UID:role/NAME, the very ARN
// GetRole returns, with the region empty as RAM's ARNs have it — so a
// policy may name it so, or with a * region (acs:ram:*:UID:role/NAME), and
// an Allow and a Deny match alike either way.
func RAMResource(account, relative string) string { return "acs:ram::" + account + ":" + relative }

// Registry names a Container Registry resource: an instance or a repository
// scope within one.
type Registry struct {
	Region    string
	Account   string
	Instance  string
	Namespace string // empty for the whole instance
	Repo      string // empty for a whole namespace
}

// InstanceARN is acs:cr:REGION:UID:instance/ID.
func (r Registry) InstanceARN() string {
	return "acs:cr:" + r.Region + ":" + r.Account + ":instance/" + r.Instance
}

// RepositoryARN is acs:cr:REGION:UID:repository/ID[/NS[/REPO]].
func (r Registry) RepositoryARN() string {
	s := "acs:cr:" + r.Region + ":" + r.Account + ":repository/" + r.Instance
	if r.Namespace != "" {
		s += "/" + r.Namespace
		if r.Repo != "" {
			s += "/" + r.Repo
		}
	}
	return s
}

// ParseRegistry parses acs:cr:REGION:UID:instance/ID or
// acs:cr:REGION:UID:repository/ID[/NS[/REPO]]. The region is required.
func ParseRegistry(s string) (Registry, error) {
	a, err := Parse(s)
	if err != nil {
		return Registry{}, err
	}
	if a.Service != "cr" {
		return Registry{}, newError(s, "service", "%q: want cr", a.Service)
	}
	if a.Region == "" {
		return Registry{}, newError(s, "region", "empty: a registry ARN names its region")
	}
	r := Registry{Region: a.Region, Account: a.Account}
	kind, rest, _ := strings.Cut(a.Resource, "/")
	switch kind {
	case "instance":
		if !IsInstanceID(rest) {
			return Registry{}, newError(s, "resource", "%q is not an instance id (cri-… or crpi-…)", rest)
		}
		r.Instance = rest
		return r, nil
	case "repository":
		parts := strings.Split(rest, "/")
		if len(parts) > 3 {
			return Registry{}, newError(s, "resource", "%q: want repository/ID[/NS[/REPO]]", a.Resource)
		}
		if !IsInstanceID(parts[0]) {
			return Registry{}, newError(s, "resource", "%q is not an instance id (cri-… or crpi-…)", parts[0])
		}
		r.Instance = parts[0]
		if len(parts) > 1 {
			if !IsNamespace(parts[1]) {
				return Registry{}, newError(s, "resource", "%q is not a namespace name", parts[1])
			}
			r.Namespace = parts[1]
		}
		if len(parts) > 2 {
			if !IsNamespace(parts[2]) {
				return Registry{}, newError(s, "resource", "%q is not a repository name", parts[2])
			}
			r.Repo = parts[2]
		}
		return r, nil
	}
	return Registry{}, newError(s, "resource", "%q: want instance/ID or repository/ID[/NS[/REPO]]", a.Resource)
}
