package arn

import (
	"errors"
	"fmt"
	"strings"
)

// MaxLen caps an ARN before any parsing, so that hostile input costs O(1).
const MaxLen = 1024

// ErrInvalid is wrapped by every *Error.
var ErrInvalid = errors.New("invalid ARN")

// Error reports what is wrong with an ARN and in which field.
type Error struct {
	Input string // the ARN as given, truncated for display
	Field string // "prefix", "service", "region", "account", "resource", ...
	Msg   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("ARN %q: %s: %s", e.Input, e.Field, e.Msg)
}

func (e *Error) Unwrap() error { return ErrInvalid }

func newError(input, field, format string, args ...any) *Error {
	if len(input) > 96 {
		input = input[:96] + "…"
	}
	return &Error{Input: input, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ARN is a parsed resource name.
type ARN struct {
	Service  string // "ram", "cr", "sts", ...
	Region   string // empty for global services such as RAM
	Account  string // 16-digit account id, or "*" in a pattern
	Resource string // service-relative id, e.g. "role/acr-test"
}

func (a ARN) String() string {
	return "acs:" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// Parse parses a concrete ARN: no wildcards anywhere.
func Parse(s string) (ARN, error) { return parse(s, false) }

// ParsePattern parses an ARN as a policy may write it: region and account may
// be "*". (Wildcards inside the resource are the policy matcher's business.)
func ParsePattern(s string) (ARN, error) { return parse(s, true) }

func parse(s string, pattern bool) (ARN, error) {
	if len(s) > MaxLen {
		return ARN{}, newError(s, "length", "%d bytes, at most %d", len(s), MaxLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return ARN{}, newError(s, "characters", "byte %d is %q: only printable ASCII is allowed", i, c)
		}
	}
	rest, ok := strings.CutPrefix(s, "acs:")
	if !ok {
		return ARN{}, newError(s, "prefix", `must start with "acs:"`)
	}
	parts := strings.SplitN(rest, ":", 4)
	if len(parts) != 4 {
		return ARN{}, newError(s, "format", "want acs:SERVICE:REGION:ACCOUNT:RESOURCE")
	}
	a := ARN{Service: parts[0], Region: parts[1], Account: parts[2], Resource: parts[3]}
	if !isService(a.Service) {
		return ARN{}, newError(s, "service", "%q must be lower-case letters, digits and '-'", a.Service)
	}
	if a.Region != "" && !(pattern && a.Region == "*") && !IsRegion(a.Region) {
		return ARN{}, newError(s, "region", "%q is not a region id such as cn-hangzhou", a.Region)
	}
	if !(pattern && a.Account == "*") && !IsAccountID(a.Account) {
		return ARN{}, newError(s, "account", "%q must be a 16-digit account id", a.Account)
	}
	if a.Resource == "" {
		return ARN{}, newError(s, "resource", "empty")
	}
	if !pattern && strings.ContainsAny(a.Resource, "*?") {
		return ARN{}, newError(s, "resource", "%q: wildcards are allowed only in policies", a.Resource)
	}
	return a, nil
}

func isService(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// IsAccountID reports whether s is a 16-digit account id.
func IsAccountID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsRegion reports whether s looks like a region id: lower-case words joined
// by '-', at least two of them, the first all letters (cn-hangzhou,
// ap-southeast-1, cn-shanghai-finance-1).
func IsRegion(s string) bool {
	if len(s) < 4 || len(s) > 32 {
		return false
	}
	words := strings.Split(s, "-")
	if len(words) < 2 {
		return false
	}
	for i, w := range words {
		if w == "" {
			return false
		}
		for j := 0; j < len(w); j++ {
			c := w[j]
			if !(c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
