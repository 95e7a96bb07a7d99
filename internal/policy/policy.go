package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Kind says which document a policy is; the required elements and the size
// cap differ between them.
type Kind int

const (
	// Identity policies are attached to users and roles: Resource or
	// NotResource is required and Principal is forbidden.
	Identity Kind = iota
	// Trust is a role's AssumeRolePolicyDocument: Principal is required,
	// Resource and NotResource are forbidden, and Action may only name sts
	// actions.
	Trust
	// Session is the Policy parameter of AssumeRole; it reads like an
	// Identity policy but has a smaller cap.
	Session
)

// Byte caps per kind, checked before any parsing.
const (
	MaxIdentityBytes = 6144
	MaxTrustBytes    = 6144
	MaxSessionBytes  = 2048
)

// maxPatternBytes caps every wildcard pattern in a statement. Matching is
// linear in the subject with at most ⌈r/64⌉ words of state per subject byte
// (r the pattern's longest star-free run, see Match), so the cap bounds
// that factor at 16.
const maxPatternBytes = 1024

func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Trust:
		return "trust"
	case Session:
		return "session"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MaxBytes is the document size cap for k, or 0 for an unknown kind.
func (k Kind) MaxBytes() int {
	switch k {
	case Identity:
		return MaxIdentityBytes
	case Trust:
		return MaxTrustBytes
	case Session:
		return MaxSessionBytes
	}
	return 0
}

// Effect is a statement's Effect. The zero value is invalid, so a statement
// that was never filled in cannot read as either.
type Effect int

const (
	Allow Effect = iota + 1
	Deny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return fmt.Sprintf("Effect(%d)", int(e))
}

// Statement is the read-only view of one parsed statement. Lists hold the
// values as written (a single string becomes a one-element list).
type Statement struct {
	Sid         string
	Effect      Effect
	Action      []string
	NotAction   []string
	Resource    []string
	NotResource []string
	Principal   Principal
	// Condition is sorted by Operator, then by Key, so that documents that
	// differ only in member order have equal views.
	Condition []ConditionClause
}

// Principal is a trust statement's Principal element.
type Principal struct {
	RAM       []string
	Service   []string
	Federated []string
}

func (p Principal) empty() bool {
	return len(p.RAM) == 0 && len(p.Service) == 0 && len(p.Federated) == 0
}

// ConditionClause is one operator applied to one key.
type ConditionClause struct {
	// Operator is the name as written, including any IfExists suffix.
	Operator string
	// Key is the canonical spelling of the condition key (the tag name of
	// acs:RequestTag/ and acs:ResourceTag/ keys is kept as written).
	Key string
	// Values are the listed values as written; numbers keep their literal
	// text and booleans read "true" or "false".
	Values []string
}

// Policy is a parsed and compiled policy document. It is immutable and safe
// for concurrent use.
type Policy struct {
	kind  Kind
	stmts []statement
}

type statement struct {
	Statement
	conds []condition
}

// Kind reports which kind of document p was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Statements returns a copy of p's statements; changing it does not change p.
func (p *Policy) Statements() []Statement {
	out := make([]Statement, len(p.stmts))
	for i := range p.stmts {
		out[i] = p.stmts[i].Statement.clone()
	}
	return out
}

func (s Statement) clone() Statement {
	c := s
	c.Action = slices.Clone(s.Action)
	c.NotAction = slices.Clone(s.NotAction)
	c.Resource = slices.Clone(s.Resource)
	c.NotResource = slices.Clone(s.NotResource)
	c.Principal = Principal{
		RAM:       slices.Clone(s.Principal.RAM),
		Service:   slices.Clone(s.Principal.Service),
		Federated: slices.Clone(s.Principal.Federated),
	}
	c.Condition = make([]ConditionClause, len(s.Condition))
	for i, cl := range s.Condition {
		c.Condition[i] = ConditionClause{Operator: cl.Operator, Key: cl.Key, Values: slices.Clone(cl.Values)}
	}
	if s.Condition == nil {
		c.Condition = nil
	}
	return c
}

// Parse parses doc strictly as a policy of the given kind. It reports every
// problem it finds, each as a *ParseError with its location, joined with
// errors.Join. On error the policy is nil: there is no partial result.
func Parse(kind Kind, doc []byte) (*Policy, error) {
	limit := kind.MaxBytes()
	if limit == 0 {
		return nil, &ParseError{Msg: fmt.Sprintf("unknown policy kind %d", int(kind))}
	}
	// The cap comes first so an oversized document costs O(1), whatever it
	// contains.
	if len(doc) > limit {
		return nil, &ParseError{
			Msg: fmt.Sprintf("document is %d bytes; the cap for %s policies is %d", len(doc), kind, limit),
			Err: ErrTooLarge,
		}
	}
	var probs problems
	if errs := checkCharset(doc); len(errs) > 0 {
		probs.list = errs
		return nil, probs.err()
	}
	root, errs := readTree(doc)
	probs.list = errs
	if root == nil {
		return nil, probs.err()
	}
	p := compilePolicy(kind, root, &probs)
	if len(probs.list) > 0 {
		return nil, probs.err()
	}
	return p, nil
}

func compilePolicy(kind Kind, root *node, probs *problems) *Policy {
	if root.kind != kindObject {
		probs.add("", "document must be a JSON object, got %s", root.kind)
		return nil
	}
	for _, m := range root.fields {
		if m.key != "Version" && m.key != "Statement" {
			probs.add(childKey("", m.key), "unknown field; a policy has only Version and Statement, and names are case-sensitive")
		}
	}
	switch v := root.get("Version"); {
	case v == nil:
		probs.add("Version", `is required and must be "1"`)
	case v.kind != kindString:
		probs.add("Version", `must be the string "1", got %s`, v.kind)
	case v.text != "1":
		probs.add("Version", `must be "1", got %q`, v.text)
	}

	p := &Policy{kind: kind}
	switch s := root.get("Statement"); {
	case s == nil:
		probs.add("Statement", "is required")
	case s.kind != kindArray:
		// RAM documents always use a list; accepting a lone object too
		// would be a second spelling of the same thing.
		probs.add("Statement", "must be a list of statements, got %s", s.kind)
	case len(s.elems) == 0:
		probs.add("Statement", "must not be empty")
	default:
		for i, e := range s.elems {
			p.stmts = append(p.stmts, compileStatement(kind, childIndex("Statement", i), e, probs))
		}
	}
	return p
}

func compileStatement(kind Kind, path string, n *node, probs *problems) statement {
	var st statement
	if n.kind != kindObject {
		probs.add(path, "must be an object, got %s", n.kind)
		return st
	}
	for _, m := range n.fields {
		switch m.key {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "Condition":
		default:
			probs.add(childKey(path, m.key), "unknown field; names are case-sensitive")
		}
	}

	if sid := n.get("Sid"); sid != nil {
		if sid.kind != kindString {
			probs.add(childKey(path, "Sid"), "must be a string, got %s", sid.kind)
		} else {
			st.Sid = sid.text
		}
	}

	switch e := n.get("Effect"); {
	case e == nil:
		probs.add(childKey(path, "Effect"), `is required and must be "Allow" or "Deny"`)
	case e.kind != kindString:
		probs.add(childKey(path, "Effect"), `must be the string "Allow" or "Deny", got %s`, e.kind)
	case e.text == "Allow":
		st.Effect = Allow
	case e.text == "Deny":
		st.Effect = Deny
	default:
		probs.add(childKey(path, "Effect"), `must be "Allow" or "Deny" (case-sensitive), got %q`, e.text)
	}

	action, notAction := n.get("Action"), n.get("NotAction")
	switch {
	case action == nil && notAction == nil:
		probs.add(path, "needs Action or NotAction")
	case action != nil && notAction != nil:
		probs.add(path, "has both Action and NotAction; a statement takes exactly one")
	}
	if action != nil {
		st.Action = compileActions(kind, childKey(path, "Action"), action, probs)
	}
	if notAction != nil {
		if kind == Trust {
			// NotAction would reach beyond sts, which a trust policy
			// cannot grant.
			probs.add(childKey(path, "NotAction"), "not allowed in a trust policy; use Action with sts actions")
		} else {
			st.NotAction = compileActions(kind, childKey(path, "NotAction"), notAction, probs)
		}
	}

	resource, notResource := n.get("Resource"), n.get("NotResource")
	if kind == Trust {
		for _, name := range []string{"Resource", "NotResource"} {
			if n.get(name) != nil {
				probs.add(childKey(path, name), "not allowed in a trust policy, which names a Principal instead")
			}
		}
	} else {
		switch {
		case resource == nil && notResource == nil:
			probs.add(path, "needs Resource or NotResource")
		case resource != nil && notResource != nil:
			probs.add(path, "has both Resource and NotResource; a statement takes exactly one")
		}
		if resource != nil {
			st.Resource = compileResources(childKey(path, "Resource"), resource, probs)
		}
		if notResource != nil {
			st.NotResource = compileResources(childKey(path, "NotResource"), notResource, probs)
		}
	}

	principal := n.get("Principal")
	switch {
	case kind == Trust && principal == nil:
		probs.add(path, "needs a Principal: a trust policy must say who may assume the role")
	case kind == Trust:
		st.Principal = compilePrincipal(childKey(path, "Principal"), principal, probs)
	case principal != nil:
		probs.add(childKey(path, "Principal"), "only allowed in a trust policy, not in %s policies", kind)
	}

	if c := n.get("Condition"); c != nil {
		st.Condition, st.conds = compileConditions(childKey(path, "Condition"), c, probs)
	}
	return st
}

// located is a string value with its path, for element-wise validation.
type located struct {
	path, s string
}

// stringList reads the "string or non-empty list of non-empty strings"
// shape shared by Action, Resource and the Principal members.
func stringList(path string, n *node, probs *problems) []located {
	switch n.kind {
	case kindString:
		if n.text == "" {
			probs.add(path, "must not be empty")
			return nil
		}
		return []located{{path, n.text}}
	case kindArray:
		if len(n.elems) == 0 {
			probs.add(path, "must not be an empty list")
			return nil
		}
		out := make([]located, 0, len(n.elems))
		for i, e := range n.elems {
			p := childIndex(path, i)
			switch {
			case e.kind != kindString:
				probs.add(p, "must be a string, got %s", e.kind)
			case e.text == "":
				probs.add(p, "must not be empty")
			default:
				out = append(out, located{p, e.text})
			}
		}
		return out
	}
	probs.add(path, "must be a string or a non-empty list of strings, got %s", n.kind)
	return nil
}

func compileActions(kind Kind, path string, n *node, probs *problems) []string {
	var out []string
	for _, v := range stringList(path, n, probs) {
		if msg := checkAction(v.s); msg != "" {
			probs.add(v.path, "%s", msg)
			continue
		}
		if kind == Trust {
			if svc, _, _ := strings.Cut(v.s, ":"); svc != "sts" {
				probs.add(v.path, "%q is not an sts action; a trust policy may only allow sts actions such as sts:AssumeRole", v.s)
				continue
			}
		}
		out = append(out, v.s)
	}
	return out
}

func compileResources(path string, n *node, probs *problems) []string {
	var out []string
	for _, v := range stringList(path, n, probs) {
		if msg := checkResource(v.s); msg != "" {
			probs.add(v.path, "%s", msg)
			continue
		}
		out = append(out, v.s)
	}
	return out
}

func compilePrincipal(path string, n *node, probs *problems) Principal {
	var p Principal
	if n.kind != kindObject {
		probs.add(path, "must be an object with RAM, Service or Federated, got %s", n.kind)
		return p
	}
	if len(n.fields) == 0 {
		probs.add(path, "must name at least one principal")
		return p
	}
	for _, m := range n.fields {
		mpath := childKey(path, m.key)
		var check func(string) string
		var dst *[]string
		switch m.key {
		case "RAM":
			check, dst = checkRAMPrincipal, &p.RAM
		case "Service":
			check, dst = checkServicePrincipal, &p.Service
		case "Federated":
			check, dst = checkFederatedPrincipal, &p.Federated
		default:
			probs.add(mpath, "unknown field; a Principal has only RAM, Service and Federated, and names are case-sensitive")
			continue
		}
		for _, v := range stringList(mpath, m.value, probs) {
			if msg := check(v.s); msg != "" {
				probs.add(v.path, "%s", msg)
				continue
			}
			*dst = append(*dst, v.s)
		}
	}
	return p
}
