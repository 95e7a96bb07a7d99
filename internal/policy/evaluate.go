package policy

import (
	"cmp"
	"fmt"
	"slices"
)

// Request is one authorization question.
type Request struct {
	// Action is the action asked for, e.g. "cr:PullRepository". An empty
	// Action matches no statement.
	Action string
	// Resources is the set of ARNs the action touches; a statement applies
	// if it matches any of them (a pull checks the repository ARN and the
	// instance ARN together). Empty strings are ignored. Identity and
	// Session policies never apply to a request without resources.
	Resources []string
	// Principals lists every identity the caller counts as, for Trust
	// policies only; the RAM layer expands a role session into its role and
	// its account root. Entries with an empty Value are ignored.
	Principals []PrincipalID
	// Context holds condition values. Keys are matched ASCII
	// case-insensitively; a key listed with no values counts as missing.
	Context map[string][]string
}

// PrincipalID is one identity of the caller.
type PrincipalID struct {
	Type  string // exactly "RAM", "Service" or "Federated"
	Value string
}

// Decision is the outcome of an evaluation. The zero value is NoMatch, which
// callers must treat as a denial.
type Decision int

const (
	// NoMatch means no statement allowed the request: implicit deny.
	NoMatch Decision = iota
	// Allowed means some statement allowed the request and none denied it.
	Allowed
	// Denied means an explicit Deny statement applied.
	Denied
)

func (d Decision) String() string {
	switch d {
	case NoMatch:
		return "NoMatch"
	case Allowed:
		return "Allowed"
	case Denied:
		return "Denied"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// Ref identifies the statement that decided, for audit logs and for
// telling a user which statement to change.
type Ref struct {
	Policy    string
	Statement int // index into the policy's Statement list
	Sid       string
	Effect    Effect
}

// Result is a decision with the statements that produced it: every
// applicable Deny when Denied, every applicable Allow when Allowed, none when
// NoMatch.
type Result struct {
	Decision Decision
	Deciding []Ref
}

// Named is a policy with the name it is attached under.
type Named struct {
	Name   string
	Policy *Policy
}

// Evaluate decides req against a set of policies evaluated together: an
// explicit Deny anywhere wins, otherwise any Allow allows, otherwise
// NoMatch. Every statement is considered, so the order of the set and of the
// statements never changes the result; Deciding is sorted by policy name and
// statement index. A nil Policy contributes nothing.
func Evaluate(req Request, set ...Named) Result {
	if req.Action == "" {
		return Result{}
	}
	var allows, denies []Ref
	for _, n := range set {
		if n.Policy == nil {
			continue
		}
		for i := range n.Policy.stmts {
			s := &n.Policy.stmts[i]
			t := s.applies(n.Policy.kind, &req)
			ref := Ref{Policy: n.Name, Statement: i, Sid: s.Sid, Effect: s.Effect}
			switch {
			case s.Effect == Deny && t != no:
				denies = append(denies, ref)
			case s.Effect == Allow && t == yes:
				allows = append(allows, ref)
			}
		}
	}
	switch {
	case len(denies) > 0:
		return Result{Decision: Denied, Deciding: sortRefs(denies)}
	case len(allows) > 0:
		return Result{Decision: Allowed, Deciding: sortRefs(allows)}
	}
	return Result{}
}

func sortRefs(refs []Ref) []Ref {
	slices.SortStableFunc(refs, func(a, b Ref) int {
		return cmp.Or(cmp.Compare(a.Policy, b.Policy), cmp.Compare(a.Statement, b.Statement))
	})
	return refs
}

// Intersect combines the results of policy layers that must all allow, such
// as a role's policies and the session policy of its session: any Denied
// layer denies, all layers Allowed allows, anything else is NoMatch. With no
// layers there is nothing that allowed, so the result is NoMatch. Deciding
// collects the deciding statements of the layers that agree with the
// outcome, in argument order.
func Intersect(results ...Result) Result {
	if len(results) == 0 {
		return Result{}
	}
	denied, allAllowed := false, true
	for _, r := range results {
		switch r.Decision {
		case Denied:
			denied = true
		case Allowed:
		default:
			allAllowed = false
		}
	}
	var want Decision
	switch {
	case denied:
		want = Denied
	case allAllowed:
		want = Allowed
	default:
		return Result{}
	}
	out := Result{Decision: want}
	for _, r := range results {
		if r.Decision == want {
			out.Deciding = append(out.Deciding, r.Deciding...)
		}
	}
	return out
}

// applies is three-valued only through conditions: action, resource and
// principal matching are always decidable.
func (s *statement) applies(kind Kind, req *Request) truth {
	if !s.matchesAction(req.Action) {
		return no
	}
	if kind == Trust {
		if !s.matchesPrincipal(req.Principals) {
			return no
		}
	} else if !s.matchesResources(req.Resources) {
		return no
	}
	result := yes
	for i := range s.conds {
		switch s.conds[i].eval(req.Context) {
		case no:
			return no
		case unknown:
			result = unknown
		}
	}
	return result
}

func (s *statement) matchesAction(action string) bool {
	if s.NotAction != nil {
		return !matchesAny(s.NotAction, action)
	}
	return matchesAny(s.Action, action)
}

func (s *statement) matchesResources(resources []string) bool {
	for _, r := range resources {
		if r == "" {
			continue
		}
		if s.NotResource != nil {
			if !matchesAny(s.NotResource, r) {
				return true
			}
		} else if matchesAny(s.Resource, r) {
			return true
		}
	}
	return false
}

func matchesAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if Match(p, s) {
			return true
		}
	}
	return false
}

func (s *statement) matchesPrincipal(ids []PrincipalID) bool {
	for _, id := range ids {
		if id.Value == "" {
			continue
		}
		var listed []string
		switch id.Type {
		case "RAM":
			listed = s.Principal.RAM
		case "Service":
			listed = s.Principal.Service
		case "Federated":
			listed = s.Principal.Federated
		}
		for _, p := range listed {
			if equalFoldASCII(p, id.Value) {
				return true
			}
		}
	}
	return false
}
