package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// This file holds the reference model of reliability.md §1.1: a naive
// evaluator written as a direct transcription of the rules in doc.go, with
// no short-circuits and no code shared with the production evaluator except
// the exported Statement view. The differential and property tests run both
// on seeded random policy sets drawn from small alphabets, so that actions,
// resources, principals and conditions match often.

// Three-valued results of the reference: ordered so that AND is min.
const (
	refNo      = 0
	refUnknown = 1
	refYes     = 2
)

func naiveEvaluate(req Request, set []Named) Result {
	var allows, denies []Ref
	for _, n := range set {
		if n.Policy == nil {
			continue
		}
		for i, s := range n.Policy.Statements() {
			v := naiveApplies(n.Policy.Kind(), s, req)
			ref := Ref{Policy: n.Name, Statement: i, Sid: s.Sid, Effect: s.Effect}
			if s.Effect == Deny && v >= refUnknown {
				denies = append(denies, ref)
			}
			if s.Effect == Allow && v == refYes {
				allows = append(allows, ref)
			}
		}
	}
	byPosition := func(refs []Ref) []Ref {
		sort.SliceStable(refs, func(i, j int) bool {
			if refs[i].Policy != refs[j].Policy {
				return refs[i].Policy < refs[j].Policy
			}
			return refs[i].Statement < refs[j].Statement
		})
		return refs
	}
	if len(denies) > 0 {
		return Result{Decision: Denied, Deciding: byPosition(denies)}
	}
	if len(allows) > 0 {
		return Result{Decision: Allowed, Deciding: byPosition(allows)}
	}
	return Result{Decision: NoMatch}
}

func naiveApplies(kind Kind, s Statement, req Request) int {
	action := refNo
	if req.Action != "" {
		matched := false
		for _, p := range append(slices.Clone(s.Action), s.NotAction...) {
			if naiveMatch(p, req.Action, true) {
				matched = true
			}
		}
		if len(s.NotAction) > 0 {
			matched = !matched
		}
		if matched {
			action = refYes
		}
	}

	target := refNo
	if kind == Trust {
		listed := map[string][]string{"RAM": s.Principal.RAM, "Service": s.Principal.Service, "Federated": s.Principal.Federated}
		for _, id := range req.Principals {
			for _, p := range listed[id.Type] {
				if id.Value != "" && asciiLower(p) == asciiLower(id.Value) {
					target = refYes
				}
			}
		}
	} else {
		for _, r := range req.Resources {
			if r == "" {
				continue
			}
			if len(s.Resource) > 0 {
				for _, p := range s.Resource {
					if naiveMatch(p, r, true) {
						target = refYes
					}
				}
			} else {
				matchesNone := true
				for _, p := range s.NotResource {
					if naiveMatch(p, r, true) {
						matchesNone = false
					}
				}
				if matchesNone {
					target = refYes
				}
			}
		}
	}

	result := min(action, target)
	for _, c := range s.Condition {
		result = min(result, naiveCondition(c, req.Context))
	}
	return result
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func naiveCondition(c ConditionClause, ctx map[string][]string) int {
	base, ifExists := strings.CutSuffix(c.Operator, "IfExists")
	negated := map[string]bool{
		"StringNotEquals": true, "StringNotEqualsIgnoreCase": true, "StringNotLike": true,
		"NumericNotEquals": true, "DateNotEquals": true, "NotIpAddress": true,
	}[base]
	var found [][]string
	for k, v := range ctx {
		if asciiLower(k) == asciiLower(c.Key) {
			found = append(found, v)
		}
	}
	if len(found) > 1 {
		return refUnknown
	}
	if len(found) == 0 || len(found[0]) == 0 {
		if ifExists || negated {
			return refYes
		}
		return refNo
	}
	anyMatch, anyMalformed := false, false
	for _, v := range found[0] {
		for _, listed := range c.Values {
			m, ok := naiveValueMatch(base, listed, v)
			if !ok {
				anyMalformed = true
			}
			if m {
				anyMatch = true
			}
		}
	}
	switch {
	case anyMatch && negated:
		return refNo
	case anyMatch:
		return refYes
	case anyMalformed:
		return refUnknown
	case negated:
		return refYes
	}
	return refNo
}

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

func naiveNumber(s string) (float64, bool) {
	if !jsonNumber.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0)
}

// naiveValueMatch compares one request value with one listed value for the
// operator's positive form; ok is false when the request value is
// unreadable.
func naiveValueMatch(op, listed, v string) (matched, ok bool) {
	switch op {
	case "StringEquals", "StringNotEquals":
		return v == listed, true
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		return asciiLower(v) == asciiLower(listed), true
	case "StringLike", "StringNotLike":
		return naiveMatch(listed, v, false), true
	}
	if strings.HasPrefix(op, "Numeric") {
		x, ok := naiveNumber(v)
		if !ok {
			return false, false
		}
		y, _ := strconv.ParseFloat(listed, 64)
		switch strings.TrimPrefix(op, "Numeric") {
		case "Equals", "NotEquals":
			return x == y, true
		case "LessThan":
			return x < y, true
		case "LessThanEquals":
			return x <= y, true
		case "GreaterThan":
			return x > y, true
		case "GreaterThanEquals":
			return x >= y, true
		}
	}
	if strings.HasPrefix(op, "Date") {
		x, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return false, false
		}
		y, _ := time.Parse(time.RFC3339, listed)
		switch strings.TrimPrefix(op, "Date") {
		case "Equals", "NotEquals":
			return x.Equal(y), true
		case "LessThan":
			return x.Before(y), true
		case "LessThanEquals":
			return !x.After(y), true
		case "GreaterThan":
			return x.After(y), true
		case "GreaterThanEquals":
			return !x.Before(y), true
		}
	}
	switch op {
	case "Bool":
		if v != "true" && v != "false" {
			return false, false
		}
		return v == listed, true
	case "IpAddress", "NotIpAddress":
		ip := net.ParseIP(v)
		if ip == nil {
			return false, false
		}
		if strings.Contains(listed, "/") {
			_, block, _ := net.ParseCIDR(listed)
			return block.Contains(ip), true
		}
		return net.ParseIP(listed).Equal(ip), true
	}
	panic("reference model does not know operator " + op)
}

// ---- random generation ----

type genCondition struct {
	op, key string
	values  []string // raw JSON values
}

type genStatement struct {
	sid         string
	effect      string
	actions     []string
	notAction   bool
	resources   []string
	notResource bool
	principal   map[string][]string
	conditions  []genCondition
}

type genPolicy struct {
	kind  Kind
	stmts []genStatement
}

type valuePools struct {
	policy  []string // raw JSON
	request []string
}

type conditionFamily struct {
	ops  []string
	keys []string
	valuePools
}

var (
	actionPatterns = []string{"*", "cr:*", "cr:Pull*", "cr:PullRepository", "cr:pull*", "cr:Get*", "cr:*Repository",
		"cr:?ushRepository", "cr:P*", "ram:*", "sts:AssumeRole", "sts:*", "cr:List*", "cr:*e*"}
	requestActions = []string{"cr:PullRepository", "cr:PushRepository", "cr:GetAuthorizationToken", "cr:ListInstance",
		"CR:PULLREPOSITORY", "sts:AssumeRole", "ram:ListUsers", "cr:Pull", "cr:Pu", ""}
	resourcePatterns = []string{"*", "acs:cr:*:*:*", "acs:cr:*:*:instance/cri-a", "acs:cr:*:*:repository/cri-a/*",
		"acs:cr:cn-hangzhou:1:*", "acs:cr:*:*:*cri-b*", "acs:cr:cn-?angzhou:*:instance/*",
		"acs:cr:*:*:repository/cri-?/ns/*", "acs:ram::*:role/*", "acs:cr::1:instance/cri-a"}
	requestResources = []string{"acs:cr:cn-hangzhou:1:instance/cri-a", "acs:cr:cn-hangzhou:1:repository/cri-a/ns/repo",
		"acs:cr:cn-beijing:2:instance/cri-b", "acs:cr:cn-beijing:2:repository/cri-b/ns/x", "acs:cr:cn-hangzhou:1:a/b",
		"ACS:CR:CN-HANGZHOU:1:INSTANCE/CRI-A", "acs:ram::1:role/x", "", "acs:cr::1:instance/cri-a"}
	ramPrincipals = []string{"acs:ram::" + acctA + ":root", "acs:ram::" + acctA + ":role/r1", "acs:ram::" + acctA + ":role/r2",
		"acs:ram::" + acctB + ":root", "acs:ram::" + acctA + ":user/u"}
	servicePrincipals   = []string{"eci.aliyuncs.com", "ecs.aliyuncs.com"}
	federatedPrincipals = []string{"acs:ram::" + acctA + ":oidc-provider/p", "acs:ram::" + acctB + ":saml-provider/s"}

	families = []conditionFamily{
		{[]string{"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"},
			[]string{"acs:SourceVpc", "acs:RequestTag/team"},
			valuePools{[]string{`"a"`, `"b"`, `"A"`, `"a*"`, `"?"`, `""`, `"*b"`}, []string{"a", "b", "A", "ab", "", "bb"}}},
		{[]string{"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals"},
			[]string{"acs:RequestTag/n"},
			valuePools{[]string{`1`, `"2"`, `2.5`, `-1`, `"0"`, `1e1`}, []string{"1", "2", "2.5", "-1", "0", "-0", "10", "abc", "1e999", "01", " 1", "0x10"}}},
		{[]string{"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"},
			[]string{"acs:CurrentTime"},
			valuePools{[]string{`"2024-01-01T00:00:00Z"`, `"2024-01-01T08:00:00+08:00"`, `"2025-06-01T00:00:00Z"`},
				[]string{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z", "2023-12-31T23:59:59Z", "2025-06-01T00:00:00Z", "2030-01-01T00:00:00Z", "bad", "1700000000"}}},
		{[]string{"Bool"},
			[]string{"acs:SecureTransport", "acs:MFAPresent"},
			valuePools{[]string{`true`, `"false"`, `false`, `"true"`}, []string{"true", "false", "True", ""}}},
		{[]string{"IpAddress", "NotIpAddress"},
			[]string{"acs:SourceIp"},
			valuePools{[]string{`"10.0.0.0/8"`, `"10.1.0.0/16"`, `"192.0.2.1"`, `"2001:db8::/32"`, `"::ffff:10.0.0.1"`, `"::/0"`},
				[]string{"10.1.2.3", "10.0.0.1", "192.0.2.1", "::ffff:10.1.2.3", "2001:db8::5", "fe80::1%eth0", "x", "10.0.0.0/8", "11.0.0.1"}}},
	}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func pickN[T any](r *rand.Rand, s []T, lo, hi int) []T {
	n := lo + r.IntN(hi-lo+1)
	out := make([]T, n)
	for i := range out {
		out[i] = pick(r, s)
	}
	return out
}

// randomCase flips the case of some ASCII letters, to exercise
// case-insensitive keys.
func randomCase(r *rand.Rand, s string) string {
	if r.IntN(4) != 0 {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if r.IntN(2) == 0 {
			switch {
			case c >= 'a' && c <= 'z':
				b[i] = c - 32
			case c >= 'A' && c <= 'Z':
				b[i] = c + 32
			}
		}
	}
	return string(b)
}

func randomPattern(r *rand.Rand, prefix string, alphabet string) string {
	n := 1 + r.IntN(5)
	b := []byte(prefix)
	for range n {
		b = append(b, alphabet[r.IntN(len(alphabet))])
	}
	return string(b)
}

func genStmt(r *rand.Rand, kind Kind, effect string) genStatement {
	s := genStatement{effect: effect}
	if effect == "" {
		s.effect = "Allow"
		if r.IntN(4) == 0 {
			s.effect = "Deny"
		}
	}
	if r.IntN(5) == 0 {
		s.sid = fmt.Sprintf("S%d", r.IntN(100))
	}
	if kind == Trust {
		s.actions = pickN(r, []string{"sts:AssumeRole", "sts:*", "sts:Assume*", "sts:AssumeRoleWithOIDC"}, 1, 2)
		s.principal = map[string][]string{}
		for len(s.principal) == 0 {
			if r.IntN(2) == 0 {
				s.principal["RAM"] = pickN(r, ramPrincipals, 1, 2)
			}
			if r.IntN(3) == 0 {
				s.principal["Service"] = pickN(r, servicePrincipals, 1, 2)
			}
			if r.IntN(4) == 0 {
				s.principal["Federated"] = pickN(r, federatedPrincipals, 1, 1)
			}
		}
	} else {
		s.notAction = r.IntN(6) == 0
		s.actions = pickN(r, actionPatterns, 1, 3)
		if r.IntN(3) == 0 {
			s.actions = append(s.actions, randomPattern(r, "cr:", "PuslRe*?"))
		}
		s.notResource = r.IntN(6) == 0
		s.resources = pickN(r, resourcePatterns, 1, 3)
		if r.IntN(3) == 0 {
			s.resources = append(s.resources, randomPattern(r, "acs:cr:*:*:", "ab/*?"))
		}
	}
	if r.IntN(2) == 0 {
		seen := map[string]bool{}
		for range 1 + r.IntN(3) {
			f := pick(r, families)
			op := pick(r, f.ops)
			if r.IntN(4) == 0 {
				op += "IfExists"
			}
			key := pick(r, f.keys)
			if seen[op+"|"+strings.ToLower(key)] {
				continue
			}
			seen[op+"|"+strings.ToLower(key)] = true
			s.conditions = append(s.conditions, genCondition{op: op, key: randomCase(r, key), values: pickN(r, f.policy, 1, 3)})
		}
	}
	return s
}

func genPolicyOf(r *rand.Rand, kind Kind, effect string) genPolicy {
	p := genPolicy{kind: kind}
	for range 1 + r.IntN(4) {
		p.stmts = append(p.stmts, genStmt(r, kind, effect))
	}
	return p
}

// render writes g as JSON with random spelling choices that must not change
// its meaning: member order, string or list for one value, whitespace.
func (g genPolicy) render(r *rand.Rand) string {
	ws := func() string { return pick(r, []string{"", "", " ", "\n  ", "\t"}) }
	obj := func(members [][2]string) string {
		r.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		parts := make([]string, len(members))
		for i, m := range members {
			parts[i] = ws() + m[0] + ws() + ":" + ws() + m[1]
		}
		return "{" + strings.Join(parts, ",") + ws() + "}"
	}
	list := func(raw []string) string {
		if len(raw) == 1 && r.IntN(2) == 0 {
			return raw[0]
		}
		return "[" + strings.Join(raw, ","+ws()) + "]"
	}
	quote := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	quoteAll := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = quote(s)
		}
		return out
	}
	var stmts []string
	for _, s := range g.stmts {
		var m [][2]string
		if s.sid != "" {
			m = append(m, [2]string{`"Sid"`, quote(s.sid)})
		}
		m = append(m, [2]string{`"Effect"`, quote(s.effect)})
		actionKey, resourceKey := `"Action"`, `"Resource"`
		if s.notAction {
			actionKey = `"NotAction"`
		}
		if s.notResource {
			resourceKey = `"NotResource"`
		}
		m = append(m, [2]string{actionKey, list(quoteAll(s.actions))})
		if g.kind != Trust {
			m = append(m, [2]string{resourceKey, list(quoteAll(s.resources))})
		}
		if s.principal != nil {
			var pm [][2]string
			for _, k := range []string{"RAM", "Service", "Federated"} {
				if v := s.principal[k]; v != nil {
					pm = append(pm, [2]string{quote(k), list(quoteAll(v))})
				}
			}
			m = append(m, [2]string{`"Principal"`, obj(pm)})
		}
		if len(s.conditions) > 0 {
			byOp := map[string][][2]string{}
			var ops []string
			for _, c := range s.conditions {
				if byOp[c.op] == nil {
					ops = append(ops, c.op)
				}
				byOp[c.op] = append(byOp[c.op], [2]string{quote(c.key), list(c.values)})
			}
			var cm [][2]string
			for _, op := range ops {
				cm = append(cm, [2]string{quote(op), obj(byOp[op])})
			}
			m = append(m, [2]string{`"Condition"`, obj(cm)})
		}
		stmts = append(stmts, obj(m))
	}
	return obj([][2]string{{`"Version"`, `"1"`}, {`"Statement"`, "[" + strings.Join(stmts, ","+ws()) + "]"}})
}

func (g genPolicy) without(i int) genPolicy {
	c := g
	c.stmts = slices.Delete(slices.Clone(g.stmts), i, i+1)
	return c
}

func (g genPolicy) with(s genStatement) genPolicy {
	c := g
	c.stmts = append(slices.Clone(g.stmts), s)
	return c
}

func (g genPolicy) parse(tb testing.TB, r *rand.Rand) *Policy {
	tb.Helper()
	doc := g.render(r)
	p, err := Parse(g.kind, []byte(doc))
	if err != nil {
		tb.Fatalf("Parse(%s, generated %s): %v", g.kind, doc, err)
	}
	return p
}

func genRequest(r *rand.Rand, trust bool) Request {
	req := Request{Action: pick(r, requestActions)}
	if trust {
		req.Action = pick(r, []string{"sts:AssumeRole", "sts:AssumeRoleWithOIDC", "STS:ASSUMEROLE", "cr:PullRepository", ""})
		types := []string{"RAM", "Service", "Federated", "ram"}
		for range r.IntN(4) {
			var v string
			switch t := pick(r, types); t {
			case "Service":
				v = pick(r, append(servicePrincipals, "eci.aliyuncs.com.evil"))
			case "Federated":
				v = pick(r, federatedPrincipals)
			default:
				v = pick(r, append(ramPrincipals, ""))
			}
			req.Principals = append(req.Principals, PrincipalID{Type: pick(r, types), Value: randomCase(r, v)})
		}
	} else {
		req.Resources = pickN(r, requestResources, 0, 3)
		if r.IntN(4) == 0 {
			req.Resources = append(req.Resources, randomPattern(r, "acs:cr:x:y:", "ab/"))
		}
	}
	if r.IntN(3) != 0 {
		req.Context = map[string][]string{}
		for _, f := range families {
			for _, k := range f.keys {
				switch n := r.IntN(10); {
				case n < 3: // missing
				case n == 3:
					req.Context[randomCase(r, k)] = nil
				default:
					req.Context[randomCase(r, k)] = pickN(r, f.request, 1, 2)
				}
				if r.IntN(25) == 0 {
					// The same key spelled a second way.
					req.Context[strings.ToUpper(k)] = pickN(r, f.request, 1, 1)
				}
			}
		}
	}
	return req
}

// pooled is a pre-parsed random policy, so that the evaluation-heavy tests
// do not spend their time in Parse, kept with its generator form so that a
// test can derive a variant.
type pooled struct {
	gen    genPolicy
	policy *Policy
}

func newPool(tb testing.TB, r *rand.Rand, n int, kind Kind) []pooled {
	out := make([]pooled, n)
	for i := range out {
		g := genPolicyOf(r, kind, "")
		out[i] = pooled{gen: g, policy: g.parse(tb, r)}
	}
	return out
}

func randomSet(r *rand.Rand, pool []pooled, maxPolicies int) ([]Named, []int) {
	n := 1 + r.IntN(maxPolicies)
	set := make([]Named, n)
	idx := make([]int, n)
	for i := range set {
		idx[i] = r.IntN(len(pool))
		set[i] = Named{Name: fmt.Sprintf("p%d-%d", i, idx[i]), Policy: pool[idx[i]].policy}
	}
	return set, idx
}

func TestDifferentialReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	identity := newPool(t, r, 2000, Identity)
	trust := newPool(t, r, 500, Trust)

	counts := map[Decision]int{}
	undecidableDenies := 0
	cases := 100_000
	for i := range cases {
		isTrust := r.IntN(5) == 0
		pool := identity
		if isTrust {
			pool = trust
		}
		set, _ := randomSet(r, pool, 3)
		req := genRequest(r, isTrust)

		got := Evaluate(req, set...)
		want := naiveEvaluate(req, set)
		if !sameResult(got, want) {
			diff := cmp.Diff(want, got)
			var docs []string
			for _, n := range set {
				docs = append(docs, n.Name+": "+n.Policy.String())
			}
			t.Fatalf("case %d: Evaluate disagrees with the reference (-reference +Evaluate):\n%s\nrequest: %+v\npolicies:\n%s",
				i, diff, req, strings.Join(docs, "\n"))
		}
		// Order never matters, Deciding included.
		reversed := slices.Clone(set)
		slices.Reverse(reversed)
		if again := Evaluate(req, reversed...); !sameResult(got, again) {
			t.Fatalf("case %d: Evaluate depends on policy order:\n%s", i, cmp.Diff(got, again))
		}
		counts[got.Decision]++
		if got.Decision == Denied {
			for _, ref := range got.Deciding {
				for _, n := range set {
					if n.Name == ref.Policy && naiveApplies(n.Policy.Kind(), n.Policy.Statements()[ref.Statement], req) == refUnknown {
						undecidableDenies++
					}
				}
			}
		}
	}
	t.Logf("%d cases: NoMatch %d (%.1f%%), Allowed %d (%.1f%%), Denied %d (%.1f%%), Deny statements applied through undecidable conditions: %d",
		cases, counts[NoMatch], pct(counts[NoMatch], cases), counts[Allowed], pct(counts[Allowed], cases),
		counts[Denied], pct(counts[Denied], cases), undecidableDenies)
	for _, d := range []Decision{NoMatch, Allowed, Denied} {
		if pct(counts[d], cases) < 5 {
			t.Errorf("only %d of %d cases were %v; the generator no longer exercises it", counts[d], cases, d)
		}
	}
	if undecidableDenies == 0 {
		t.Error("no Deny applied through an undecidable condition; the generator no longer exercises it")
	}
}

// sameResult is a cheap equality for the hot loop; cmp.Diff explains a
// mismatch.
func sameResult(a, b Result) bool {
	return a.Decision == b.Decision && slices.Equal(a.Deciding, b.Deciding)
}

func pct(n, total int) float64 { return 100 * float64(n) / float64(total) }

// Property: an extra Deny statement, in a new policy or appended to an
// existing one, never turns Denied or NoMatch into Allowed and never undoes
// a Denied.
func TestPropertyAddingDenyNeverGrants(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pool := newPool(t, r, 500, Identity)
	for i := range 20_000 {
		set, idx := randomSet(r, pool, 3)
		req := genRequest(r, false)
		before := Evaluate(req, set...)

		after := slices.Clone(set)
		if i%2 == 0 {
			deny := genPolicyOf(r, Identity, "Deny")
			after = append(after, Named{Name: "extra-deny", Policy: deny.parse(t, r)})
		} else {
			j := r.IntN(len(set))
			g := pool[idx[j]].gen.with(genStmt(r, Identity, "Deny"))
			after[j].Policy = g.parse(t, r)
		}
		got := Evaluate(req, after...)
		if before.Decision != Allowed && got.Decision == Allowed {
			t.Fatalf("case %d: adding a Deny turned %v into Allowed", i, before.Decision)
		}
		if before.Decision == Denied && got.Decision != Denied {
			t.Fatalf("case %d: adding a Deny turned Denied into %v", i, got.Decision)
		}
	}
}

// Property: removing an Allow statement never grants and never undoes a
// Denied.
func TestPropertyRemovingAllowNeverGrants(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pool := newPool(t, r, 500, Identity)
	tested := 0
	for i := 0; tested < 20_000; i++ {
		set, idx := randomSet(r, pool, 3)
		j := r.IntN(len(set))
		g := pool[idx[j]].gen
		var allows []int
		for k, s := range g.stmts {
			if s.effect == "Allow" {
				allows = append(allows, k)
			}
		}
		if len(allows) == 0 || len(g.stmts) < 2 {
			continue
		}
		tested++
		req := genRequest(r, false)
		before := Evaluate(req, set...)
		after := slices.Clone(set)
		after[j].Policy = g.without(pick(r, allows)).parse(t, r)
		got := Evaluate(req, after...)
		if before.Decision != Allowed && got.Decision == Allowed {
			t.Fatalf("case %d: removing an Allow turned %v into Allowed", i, before.Decision)
		}
		if before.Decision == Denied && got.Decision != Denied {
			t.Fatalf("case %d: removing an Allow turned Denied into %v", i, got.Decision)
		}
	}
}

// Property (reliability.md §2 item 19): a session never gets more than its
// role: Intersect(role, session) Allowed implies both layers Allowed.
func TestPropertySessionNeverWidens(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	roles := newPool(t, r, 500, Identity)
	sessions := newPool(t, r, 500, Session)
	allowed := 0
	for i := range 20_000 {
		role, _ := randomSet(r, roles, 3)
		session, _ := randomSet(r, sessions, 1)
		req := genRequest(r, false)
		roleResult, sessionResult := Evaluate(req, role...), Evaluate(req, session...)
		got := Intersect(roleResult, sessionResult)
		if got.Decision == Allowed {
			allowed++
			if roleResult.Decision != Allowed || sessionResult.Decision != Allowed {
				t.Fatalf("case %d: session allowed with role %v and session policy %v", i, roleResult.Decision, sessionResult.Decision)
			}
		}
		if (roleResult.Decision == Denied || sessionResult.Decision == Denied) && got.Decision != Denied {
			t.Fatalf("case %d: a Deny in one layer was lost: %v", i, got.Decision)
		}
	}
	if allowed == 0 {
		t.Error("no case was allowed; the property was never exercised")
	}
}

// Property: Parse(String()) round-trips, and different spellings of the
// same generated policy have the same canonical form.
func TestPropertyRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 10_000 {
		kind := pick(r, []Kind{Identity, Trust, Session})
		g := genPolicyOf(r, kind, "")
		doc := g.render(r)
		p, err := Parse(kind, []byte(doc))
		if err != nil {
			t.Fatalf("case %d: Parse(%s, %s): %v", i, kind, doc, err)
		}
		checkRoundTrip(t, kind, []byte(doc), p)
		if other := g.parse(t, r); other.String() != p.String() {
			t.Fatalf("case %d: two spellings have different canonical forms:\n%s\n%s", i, p, other)
		}
	}
}
