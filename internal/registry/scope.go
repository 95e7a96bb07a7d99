package registry

import (
	"errors"
	"fmt"
	"strings"
)

// Scope is one Docker token scope, TYPE:NAME:ACTIONS
// (distribution docs/spec/auth/scope.md).
type Scope struct {
	Type    string   // "repository" or "registry"
	Name    string   // "ns/repo" or "catalog"
	Actions []string // "pull", "push", "delete", "*"
}

func (s Scope) String() string { return s.Type + ":" + s.Name + ":" + strings.Join(s.Actions, ",") }

// Limits on what a token request may ask.
const (
	MaxScopes     = 64
	maxScopeBytes = 512
)

var errScope = errors.New("malformed scope")

// ParseScope parses one scope. The name may itself contain one ':' (a
// registry host with a port), so the type is before the first ':' and the
// actions after the last.
func ParseScope(s string) (Scope, error) {
	if len(s) > maxScopeBytes {
		return Scope{}, fmt.Errorf("%w: longer than %d bytes", errScope, maxScopeBytes)
	}
	typ, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Scope{}, fmt.Errorf("%w %q: want TYPE:NAME:ACTIONS", errScope, s)
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return Scope{}, fmt.Errorf("%w %q: want TYPE:NAME:ACTIONS", errScope, s)
	}
	name, actions := rest[:i], rest[i+1:]
	if typ == "" || name == "" || actions == "" || strings.Count(name, ":") > 1 {
		return Scope{}, fmt.Errorf("%w %q: want TYPE:NAME:ACTIONS", errScope, s)
	}
	sc := Scope{Type: typ, Name: name}
	for _, a := range strings.Split(actions, ",") {
		switch a {
		case "pull", "push", "delete", "*":
			sc.Actions = appendUnique(sc.Actions, a)
		case "":
		default:
			// Unknown actions are ignored, as distribution does: a token
			// never grants what it does not know.
		}
	}
	if len(sc.Actions) == 0 {
		return Scope{}, fmt.Errorf("%w %q: no known action (pull, push, delete, *)", errScope, s)
	}
	return sc, nil
}

func appendUnique(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// splitRepo splits an ACR repository path into namespace and name: ACR
// repositories are exactly NS/REPO.
func splitRepo(name string) (ns, repo string, ok bool) {
	ns, repo, ok = strings.Cut(name, "/")
	if !ok || strings.Contains(repo, "/") {
		return "", "", false
	}
	return ns, repo, true
}
