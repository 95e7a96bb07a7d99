package policy

import "slices"

// Warning is a construct Parse accepts but that usually grants more than
// its author meant. Warnings are advice for whoever writes the policy; they
// never change a decision.
type Warning struct {
	Path string // located like ParseError.Path
	Msg  string
}

func (w Warning) String() string { return w.Path + ": " + w.Msg }

// Warnings lists the risky constructs in p, in statement order.
func (p *Policy) Warnings() []Warning {
	var out []Warning
	for i := range p.stmts {
		s := &p.stmts[i]
		if s.Effect != Allow {
			continue
		}
		path := childIndex("Statement", i)
		if s.NotAction != nil {
			out = append(out, Warning{childKey(path, "NotAction"),
				"Allow with NotAction grants every other action, including those of every other service"})
		}
		if s.NotResource != nil {
			out = append(out, Warning{childKey(path, "NotResource"),
				"Allow with NotResource grants every other resource, including those of other accounts"})
		}
		if len(s.Condition) == 0 && slices.Contains(s.Action, "*") && slices.Contains(s.Resource, "*") {
			out = append(out, Warning{path, `Allow of action "*" on resource "*" grants full access`})
		}
	}
	return out
}
