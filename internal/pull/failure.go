package pull

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies a failed pull for the person who must fix it.
type Kind string

const (
	Trust      Kind = "trust"      // a role's trust policy does not admit the caller
	Permission Kind = "permission" // RAM does not allow the action
	Network    Kind = "network"    // the registry, or STS, is unreachable from the pod
	NotFound   Kind = "not found"  // the instance, role, repository or tag does not exist
	Registry   Kind = "registry"   // the registry answered with something unusable: a broken manifest or challenge, corrupt content, a 5xx
	Invalid    Kind = "invalid"    // the pod's pull settings are malformed
	Internal   Kind = "internal"   // rolepull failed; the message says how
)

// Failure is a classified pull failure.
type Failure struct {
	Kind     Kind
	Image    string
	Instance string // cri-… when known
	ARN      string // the role or resource concerned, when known
	Msg      string
	Fix      string
	Err      error // the underlying error, if any
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", f.Kind, f.Msg)
	// The instance and the role, unless the message already names them.
	var where []string
	if f.Instance != "" && !strings.Contains(f.Msg, f.Instance) {
		where = append(where, "instance "+f.Instance)
	}
	if f.ARN != "" && !strings.Contains(f.Msg, f.ARN) {
		where = append(where, "as "+f.ARN)
	}
	if len(where) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(where, ", "))
	}
	if f.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(f.Fix)
	}
	return b.String()
}

func (f *Failure) Unwrap() error { return f.Err }

// KindOf returns the Kind of a pull error (Internal when it is not a
// *Failure).
func KindOf(err error) Kind {
	var f *Failure
	if errors.As(err, &f) {
		return f.Kind
	}
	return Internal
}

func fail(kind Kind, image, instance, arn string, err error, fix, format string, args ...any) *Failure {
	return &Failure{Kind: kind, Image: image, Instance: instance, ARN: arn, Msg: fmt.Sprintf(format, args...), Fix: fix, Err: err}
}
