package policy

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

type family uint8

const (
	familyString family = iota + 1
	familyNumeric
	familyDate
	familyBool
	familyIP
)

type test uint8

const (
	testEqual test = iota + 1
	testEqualFold
	testLike
	testLess
	testLessEqual
	testGreater
	testGreaterEqual
	testContains // IP prefix containment
)

// operator is a condition operator decomposed into the value type it
// compares, the positive comparison, and whether the result is negated
// (true when no listed value matches).
type operator struct {
	family   family
	test     test
	negated  bool
	ifExists bool
}

// lookupOperator is a switch rather than a map so that the operator set is
// fixed at compile time and there is no package-level table to mutate.
func lookupOperator(name string) (operator, bool) {
	base, ifExists := strings.CutSuffix(name, "IfExists")
	var op operator
	switch base {
	case "StringEquals":
		op = operator{family: familyString, test: testEqual}
	case "StringNotEquals":
		op = operator{family: familyString, test: testEqual, negated: true}
	case "StringEqualsIgnoreCase":
		op = operator{family: familyString, test: testEqualFold}
	case "StringNotEqualsIgnoreCase":
		op = operator{family: familyString, test: testEqualFold, negated: true}
	case "StringLike":
		op = operator{family: familyString, test: testLike}
	case "StringNotLike":
		op = operator{family: familyString, test: testLike, negated: true}
	case "NumericEquals":
		op = operator{family: familyNumeric, test: testEqual}
	case "NumericNotEquals":
		op = operator{family: familyNumeric, test: testEqual, negated: true}
	case "NumericLessThan":
		op = operator{family: familyNumeric, test: testLess}
	case "NumericLessThanEquals":
		op = operator{family: familyNumeric, test: testLessEqual}
	case "NumericGreaterThan":
		op = operator{family: familyNumeric, test: testGreater}
	case "NumericGreaterThanEquals":
		op = operator{family: familyNumeric, test: testGreaterEqual}
	case "DateEquals":
		op = operator{family: familyDate, test: testEqual}
	case "DateNotEquals":
		op = operator{family: familyDate, test: testEqual, negated: true}
	case "DateLessThan":
		op = operator{family: familyDate, test: testLess}
	case "DateLessThanEquals":
		op = operator{family: familyDate, test: testLessEqual}
	case "DateGreaterThan":
		op = operator{family: familyDate, test: testGreater}
	case "DateGreaterThanEquals":
		op = operator{family: familyDate, test: testGreaterEqual}
	case "Bool":
		op = operator{family: familyBool, test: testEqual}
	case "IpAddress":
		op = operator{family: familyIP, test: testContains}
	case "NotIpAddress":
		op = operator{family: familyIP, test: testContains, negated: true}
	default:
		return operator{}, false
	}
	op.ifExists = ifExists
	return op, true
}

// tagKeyMax is the longest tag name accepted after acs:RequestTag/ or
// acs:ResourceTag/, matching the cloud's tag-key limit.
const tagKeyMax = 128

// canonicalKey maps a condition key, compared ASCII case-insensitively, to
// its canonical spelling. Unknown keys are errors rather than keys that are
// simply never present: a typo in a Deny condition would otherwise turn the
// Deny off without anyone noticing.
func canonicalKey(k string) (string, string) {
	known := [...]string{
		"acs:SourceIp", "acs:SourceVpc", "acs:AccessId", "acs:CurrentTime",
		"acs:SecureTransport", "acs:MFAPresent", "acs:PrincipalArn",
		"sts:ExternalId", "oidc:iss", "oidc:aud", "oidc:sub",
	}
	for _, name := range known {
		if equalFoldASCII(k, name) {
			return name, ""
		}
	}
	for _, prefix := range [...]string{"acs:RequestTag/", "acs:ResourceTag/"} {
		if len(k) >= len(prefix) && equalFoldASCII(k[:len(prefix)], prefix) {
			tag := k[len(prefix):]
			if tag == "" || len(tag) > tagKeyMax {
				return "", fmt.Sprintf("the tag name after %s must be 1-%d bytes", prefix, tagKeyMax)
			}
			return prefix + tag, ""
		}
	}
	return "", "unknown condition key; known keys are acs:SourceIp, acs:SourceVpc, acs:AccessId, acs:CurrentTime, " +
		"acs:SecureTransport, acs:MFAPresent, acs:PrincipalArn, sts:ExternalId, oidc:iss, oidc:aud, oidc:sub, " +
		"acs:RequestTag/<tag> and acs:ResourceTag/<tag>"
}

// condition is a compiled clause: the listed values are parsed once, at
// Parse time, into the type the operator compares.
type condition struct {
	op       operator
	key      string
	strs     []string
	nums     []float64
	times    []time.Time
	prefixes []netip.Prefix
	bools    []bool
}

func compileConditions(path string, n *node, probs *problems) ([]ConditionClause, []condition) {
	if n.kind != kindObject {
		probs.add(path, "must be an object of operators, got %s", n.kind)
		return nil, nil
	}
	if len(n.fields) == 0 {
		// An empty block is vacuously true; it is almost certainly a
		// mistake, and in a Deny it would widen the Deny silently.
		probs.add(path, "must not be empty")
		return nil, nil
	}
	type pair struct {
		clause ConditionClause
		cond   condition
	}
	var pairs []pair
	for _, om := range n.fields {
		opPath := childKey(path, om.key)
		op, ok := lookupOperator(om.key)
		if !ok {
			probs.add(opPath, "unknown condition operator (operators are case-sensitive; set operators such as ForAllValues: and Null are not supported)")
			continue
		}
		if om.value.kind != kindObject {
			probs.add(opPath, "must be an object of condition keys, got %s", om.value.kind)
			continue
		}
		if len(om.value.fields) == 0 {
			probs.add(opPath, "must not be empty")
			continue
		}
		var seen []string
		for _, km := range om.value.fields {
			keyPath := childKey(opPath, km.key)
			key, msg := canonicalKey(km.key)
			if msg != "" {
				probs.add(keyPath, "%s", msg)
				continue
			}
			if slices.ContainsFunc(seen, func(s string) bool { return equalFoldASCII(s, key) }) {
				probs.add(keyPath, "duplicate condition key; keys are case-insensitive")
				continue
			}
			seen = append(seen, key)
			c, values, ok := compileValues(keyPath, op, km.value, probs)
			if !ok {
				continue
			}
			c.key = key
			pairs = append(pairs, pair{ConditionClause{Operator: om.key, Key: key, Values: values}, c})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		return cmp.Or(
			strings.Compare(a.clause.Operator, b.clause.Operator),
			strings.Compare(strings.ToLower(a.clause.Key), strings.ToLower(b.clause.Key)),
		)
	})
	clauses := make([]ConditionClause, len(pairs))
	conds := make([]condition, len(pairs))
	for i, p := range pairs {
		clauses[i], conds[i] = p.clause, p.cond
	}
	return clauses, conds
}

// compileValues reads a value or non-empty list of values and parses each
// for the operator's family. JSON numbers are accepted for Numeric and JSON
// booleans for Bool; everything else must be a string.
func compileValues(path string, op operator, n *node, probs *problems) (condition, []string, bool) {
	c := condition{op: op}
	var items []located
	var kinds []nodeKind
	switch n.kind {
	case kindString, kindNumber, kindBool:
		items, kinds = []located{{path, n.text}}, []nodeKind{n.kind}
	case kindArray:
		if len(n.elems) == 0 {
			probs.add(path, "must not be an empty list")
			return c, nil, false
		}
		for i, e := range n.elems {
			items = append(items, located{childIndex(path, i), e.text})
			kinds = append(kinds, e.kind)
		}
	default:
		probs.add(path, "must be a value or a non-empty list of values, got %s", n.kind)
		return c, nil, false
	}

	ok := true
	values := make([]string, 0, len(items))
	for i, it := range items {
		if msg := c.addValue(it.s, kinds[i]); msg != "" {
			probs.add(it.path, "%s", msg)
			ok = false
			continue
		}
		values = append(values, it.s)
	}
	return c, values, ok
}

func (c *condition) addValue(s string, kind nodeKind) string {
	switch {
	case kind == kindNumber && c.op.family != familyNumeric,
		kind == kindBool && c.op.family != familyBool,
		kind != kindString && kind != kindNumber && kind != kindBool:
		return fmt.Sprintf("must be a string, got %s", kind)
	}
	switch c.op.family {
	case familyString:
		if c.op.test == testLike {
			if msg := tooLong(s); msg != "" {
				return msg
			}
		}
		c.strs = append(c.strs, s)
	case familyNumeric:
		f, ok := parseNumber(s)
		if !ok {
			return fmt.Sprintf("%q is not a finite decimal number", s)
		}
		c.nums = append(c.nums, f)
	case familyDate:
		t, ok := parseDate(s)
		if !ok {
			return fmt.Sprintf("%q is not an RFC 3339 date-time such as 2006-01-02T15:04:05Z", s)
		}
		c.times = append(c.times, t)
	case familyBool:
		b, ok := parseBool(s)
		if !ok {
			return fmt.Sprintf(`%q is not "true" or "false"`, s)
		}
		c.bools = append(c.bools, b)
	case familyIP:
		p, msg := parsePrefix(s)
		if msg != "" {
			return msg
		}
		c.prefixes = append(c.prefixes, p)
	}
	return ""
}

// parseNumber accepts exactly the JSON number grammar (no hex, no
// underscores, no "Inf") with a finite float64 value, for both policy values
// and request values, so that the two sides agree on what a number is.
func parseNumber(s string) (float64, bool) {
	if !isJSONNumber(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// parseDate accepts RFC 3339 only. Epoch seconds are refused because a bare
// number is ambiguous between seconds and milliseconds.
func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

func parseBool(s string) (bool, bool) {
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// parsePrefix accepts an address or a CIDR block. IPv4-mapped IPv6
// addresses are treated as IPv4 so that "::ffff:10.0.0.1" cannot slip past
// a NotIpAddress on 10.0.0.0/8.
func parsePrefix(s string) (netip.Prefix, string) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			return netip.Prefix{}, fmt.Sprintf("%q is not an IP address or CIDR block", s)
		case p.Addr().Is4In6():
			return netip.Prefix{}, fmt.Sprintf("%q: write IPv4-mapped blocks in IPv4 form", s)
		case p != p.Masked():
			return netip.Prefix{}, fmt.Sprintf("%q has bits set beyond the prefix length; did you mean %s?", s, p.Masked())
		}
		return p, ""
	}
	a, ok := parseAddr(s)
	if !ok {
		return netip.Prefix{}, fmt.Sprintf("%q is not an IP address or CIDR block", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), ""
}

func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// truth is three-valued: a clause whose request value cannot be read for
// the operator's type is unknown, and the caller resolves unknown towards
// denial (an Allow does not apply, a Deny does).
type truth int8

const (
	no truth = iota
	unknown
	yes
)

func (c *condition) eval(ctx map[string][]string) truth {
	values, found := lookupContext(ctx, c.key)
	switch {
	case found > 1:
		// The request spells the key twice in different cases; picking
		// either would let the caller choose the outcome.
		return unknown
	case len(values) == 0:
		if c.op.ifExists || c.op.negated {
			return yes
		}
		return no
	}
	matched, malformed := false, false
	for _, v := range values {
		m, ok := c.matchValue(v)
		if !ok {
			malformed = true
			continue
		}
		if m {
			matched = true
			break
		}
	}
	switch {
	case matched:
		// One readable match settles it whatever the unreadable values
		// would have said.
		if c.op.negated {
			return no
		}
		return yes
	case malformed:
		return unknown
	case c.op.negated:
		return yes
	}
	return no
}

// lookupContext finds key ASCII case-insensitively and also reports how many
// request keys matched.
func lookupContext(ctx map[string][]string, key string) ([]string, int) {
	var values []string
	found := 0
	for k, v := range ctx {
		if equalFoldASCII(k, key) {
			values = v
			found++
		}
	}
	return values, found
}

// matchValue reports whether request value v matches any listed value, and
// false for ok when v cannot be read as the operator's type.
func (c *condition) matchValue(v string) (matched, ok bool) {
	switch c.op.family {
	case familyString:
		for _, s := range c.strs {
			switch c.op.test {
			case testEqual:
				matched = v == s
			case testEqualFold:
				matched = equalFoldASCII(v, s)
			case testLike:
				matched = matchCase(s, v)
			}
			if matched {
				return true, true
			}
		}
		return false, true
	case familyNumeric:
		f, ok := parseNumber(v)
		if !ok {
			return false, false
		}
		for _, n := range c.nums {
			if c.op.test.holds(cmp.Compare(f, n)) {
				return true, true
			}
		}
		return false, true
	case familyDate:
		t, ok := parseDate(v)
		if !ok {
			return false, false
		}
		for _, u := range c.times {
			if c.op.test.holds(t.Compare(u)) {
				return true, true
			}
		}
		return false, true
	case familyBool:
		b, ok := parseBool(v)
		if !ok {
			return false, false
		}
		return slices.Contains(c.bools, b), true
	case familyIP:
		a, ok := parseAddr(v)
		if !ok {
			return false, false
		}
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

// holds applies an ordering test to the result of comparing the request
// value with a listed value.
func (t test) holds(c int) bool {
	switch t {
	case testEqual:
		return c == 0
	case testLess:
		return c < 0
	case testLessEqual:
		return c <= 0
	case testGreater:
		return c > 0
	case testGreaterEqual:
		return c >= 0
	}
	return false
}
