package policy

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrTooLarge is wrapped by the error Parse returns when a document exceeds
// its kind's byte cap, so callers can map it to their own "policy too large"
// wire error without looking at the message.
var ErrTooLarge = errors.New("policy document too large")

// ParseError is one problem found in a policy document. Parse joins all of
// them with errors.Join; use errors.As on each to get the location.
type ParseError struct {
	// Path locates the offending element, e.g. `Statement[2].Resource[0]` or
	// `Statement[0].Condition.StringEquals["acs:SourceVpc"]`. It is empty
	// when the problem concerns the document as a whole (size, encoding).
	Path string
	Msg  string
	// Err is an optional sentinel such as ErrTooLarge.
	Err error
}

func (e *ParseError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func (e *ParseError) Unwrap() error { return e.Err }

// problems collects located errors so that Parse can report all of them at
// once instead of making the author fix one mistake per round-trip.
type problems struct{ list []error }

func (p *problems) add(path, format string, args ...any) {
	p.list = append(p.list, &ParseError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error { return errors.Join(p.list...) }

// childKey is the path of the member key inside the object at path. Keys
// that are not plain identifiers (condition keys such as "acs:SourceIp")
// are bracket-quoted so the path stays unambiguous.
func childKey(path, key string) string {
	if isIdentifier(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func childIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
