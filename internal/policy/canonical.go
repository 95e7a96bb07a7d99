package policy

// The canonical form is compact JSON with a fixed member order, one-element
// lists written as a bare value, condition clauses sorted, and numbers and
// booleans in condition values written as JSON literals. Every choice here
// makes the output no longer than any document that parses to the same
// policy, so the canonical form of a policy always fits its kind's byte cap
// and Parse(kind, p.String()) always succeeds.

// String returns p's canonical JSON.
func (p *Policy) String() string {
	if p == nil {
		return "<nil>"
	}
	return string(p.appendJSON(nil))
}

// MarshalJSON returns p's canonical JSON.
func (p *Policy) MarshalJSON() ([]byte, error) {
	return p.appendJSON(nil), nil
}

func (p *Policy) appendJSON(b []byte) []byte {
	b = append(b, `{"Version":"1","Statement":[`...)
	for i := range p.stmts {
		if i > 0 {
			b = append(b, ',')
		}
		b = p.stmts[i].appendJSON(b)
	}
	return append(b, "]}"...)
}

func (s *statement) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if s.Sid != "" {
		b = append(b, `"Sid":`...)
		b = appendString(b, s.Sid)
		b = append(b, ',')
	}
	b = append(b, `"Effect":`...)
	b = appendString(b, s.Effect.String())
	b = appendList(b, "Action", s.Action)
	b = appendList(b, "NotAction", s.NotAction)
	b = appendList(b, "Resource", s.Resource)
	b = appendList(b, "NotResource", s.NotResource)
	if !s.Principal.empty() {
		b = append(b, `,"Principal":{`...)
		first := true
		for _, m := range []struct {
			name   string
			values []string
		}{{"RAM", s.Principal.RAM}, {"Service", s.Principal.Service}, {"Federated", s.Principal.Federated}} {
			if len(m.values) == 0 {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, m.name)
			b = append(b, ':')
			b = appendValues(b, m.values, appendString)
		}
		b = append(b, '}')
	}
	if len(s.Condition) > 0 {
		b = append(b, `,"Condition":{`...)
		for i, c := range s.Condition {
			// Clauses are sorted by operator, so each operator's keys
			// are contiguous and become one object.
			switch {
			case i == 0:
			case c.Operator != s.Condition[i-1].Operator:
				b = append(b, "},"...)
			default:
				b = append(b, ',')
			}
			if i == 0 || c.Operator != s.Condition[i-1].Operator {
				b = appendString(b, c.Operator)
				b = append(b, ":{"...)
			}
			b = appendString(b, c.Key)
			b = append(b, ':')
			appendValue := appendString
			if f := s.conds[i].op.family; f == familyNumeric || f == familyBool {
				appendValue = appendLiteral
			}
			b = appendValues(b, c.Values, appendValue)
		}
		b = append(b, "}}"...)
	}
	return append(b, '}')
}

func appendList(b []byte, name string, values []string) []byte {
	if values == nil {
		return b
	}
	b = append(b, ',')
	b = appendString(b, name)
	b = append(b, ':')
	return appendValues(b, values, appendString)
}

func appendValues(b []byte, values []string, appendValue func([]byte, string) []byte) []byte {
	if len(values) == 1 {
		return appendValue(b, values[0])
	}
	b = append(b, '[')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, v)
	}
	return append(b, ']')
}

// appendString quotes s. Parse has already refused every character that
// JSON would need to escape other than '"' and '\', and writes the rest raw
// so the output is never longer than the input spelling.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func appendLiteral(b []byte, s string) []byte { return append(b, s...) }
