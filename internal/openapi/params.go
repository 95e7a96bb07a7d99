package openapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Params are a request's parameters: the query and the form body merged,
// without the signature's own.
type Params struct {
	v url.Values
}

// Get returns a parameter's value, or "" when absent.
func (p Params) Get(name string) string { return p.v.Get(name) }

// Has reports whether a parameter was sent (possibly empty).
func (p Params) Has(name string) bool { return p.v.Has(name) }

// Require returns a non-empty parameter, or MissingParameter.
func (p Params) Require(name string) (string, error) {
	s := p.v.Get(name)
	if s == "" {
		return "", missingParameter(name)
	}
	return s, nil
}

// Int returns an integer parameter, def when absent, and an error naming
// the parameter and the accepted range when it is malformed or out of
// [minV, maxV]. Nothing is clamped.
func (p Params) Int(name string, def, minV, maxV int) (int, error) {
	s := p.v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < minV || n > maxV {
		return 0, InvalidParameter(name, "%s %q: want an integer in [%d, %d]", name, s, minV, maxV)
	}
	return n, nil
}

// Bool returns a boolean parameter ("true"/"false", any case), def when
// absent.
func (p Params) Bool(name string, def bool) (bool, error) {
	switch s := strings.ToLower(p.v.Get(name)); s {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, InvalidParameter(name, "%s %q: want true or false", name, p.v.Get(name))
}

// List returns the values of a repeated parameter NAME.1, NAME.2, ...
// (the SDKs' flattening of a list), stopping at the first gap.
func (p Params) List(name string) []string {
	var out []string
	for i := 1; ; i++ {
		k := name + "." + strconv.Itoa(i)
		if !p.v.Has(k) {
			return out
		}
		out = append(out, p.v.Get(k))
	}
}

// Keys returns every parameter name with the prefix.
func (p Params) Keys(prefix string) []string {
	var out []string
	for k := range p.v {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

// mergeParams merges query and form parameters. A name sent twice, in one
// place or both, is ambiguous and refused: two parsers could disagree on
// which value was signed and which acted on.
func mergeParams(query, form url.Values) (url.Values, *Error) {
	out := make(url.Values, len(query)+len(form))
	for _, src := range []url.Values{query, form} {
		for k, vs := range src {
			if len(vs) != 1 || out.Has(k) {
				return nil, Errorf(http.StatusBadRequest, "InvalidParameter.Duplicate", "parameter %q is given more than once", k)
			}
			out[k] = vs
		}
	}
	return out, nil
}
