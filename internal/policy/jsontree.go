package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// maxDepth bounds JSON nesting. A well-formed policy never goes deeper than
// six levels (document, Statement, statement, Condition, operator, values);
// the slack is for nothing in particular, the bound is what matters.
const maxDepth = 32

// maxCharsetErrors keeps a document full of bad bytes from producing
// thousands of joined errors.
const maxCharsetErrors = 10

type nodeKind uint8

const (
	kindObject nodeKind = iota + 1
	kindArray
	kindString
	kindNumber
	kindBool
	kindNull
)

func (k nodeKind) String() string {
	switch k {
	case kindObject:
		return "object"
	case kindArray:
		return "list"
	case kindString:
		return "string"
	case kindNumber:
		return "number"
	case kindBool:
		return "boolean"
	case kindNull:
		return "null"
	}
	return "nothing"
}

// node is a JSON value with object members kept in document order. Parsing
// into this tree instead of into structs is what lets Parse see duplicate
// keys, which encoding/json silently resolves to the last value — a parser
// differential an attacker can use when another component reads the same
// document with a first-wins parser.
type node struct {
	kind   nodeKind
	text   string // decoded string, number literal, or "true"/"false"
	fields []member
	elems  []*node
}

type member struct {
	key   string
	value *node
}

func (n *node) get(key string) *node {
	for _, m := range n.fields {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

// checkCharset enforces the policy character set on the raw bytes, before
// any JSON parsing, so nothing downstream ever sees invalid UTF-8 or text
// that renders differently from how it compares.
func checkCharset(doc []byte) []error {
	var errs []error
	if bytes.HasPrefix(doc, []byte("\xef\xbb\xbf")) {
		return []error{&ParseError{Msg: "document starts with a UTF-8 byte order mark"}}
	}
	bad := 0
	for i := 0; i < len(doc); {
		r, size := utf8.DecodeRune(doc[i:])
		var msg string
		switch {
		case r == utf8.RuneError && size == 1:
			msg = fmt.Sprintf("byte %d: invalid UTF-8", i)
		case !allowedRawRune(r):
			msg = fmt.Sprintf("byte %d: character %U is not allowed; policy text is limited to tab, line feed, carriage return and U+0020-U+00FF", i, r)
		}
		if msg != "" {
			bad++
			if bad <= maxCharsetErrors {
				errs = append(errs, &ParseError{Msg: msg})
			}
		}
		i += size
	}
	if bad > maxCharsetErrors {
		errs = append(errs, &ParseError{Msg: fmt.Sprintf("%d more characters are not allowed", bad-maxCharsetErrors)})
	}
	return errs
}

func allowedRawRune(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || 0x20 <= r && r <= 0xff
}

// allowedDecodedRune is stricter than allowedRawRune: whitespace controls are
// fine between tokens but have no business inside a name or value, and a
// JSON escape must not smuggle in what the raw text may not contain.
func allowedDecodedRune(r rune) bool {
	return 0x20 <= r && r <= 0xff
}

type frame struct {
	n         *node
	path      string
	expectKey bool   // object frames: the next token is a key or '}'
	key       string // object frames: the key whose value comes next
}

// childPath is the path of the value just read into f: the pending key for
// an object, the last element for a list. Paths are built only when needed,
// for an error or a container, to keep the common case allocation-free. A
// nil frame is the document itself.
func (f *frame) childPath() string {
	switch {
	case f == nil:
		return ""
	case f.n.kind == kindObject:
		return childKey(f.path, f.key)
	}
	return childIndex(f.path, len(f.n.elems)-1)
}

// readTree decodes doc into a tree. It returns a nil node when the document
// cannot be read at all (syntax, depth, trailing data); duplicate keys and
// bad characters in strings are reported but reading continues, so that
// Parse can report them together with semantic errors.
func readTree(doc []byte) (*node, []error) {
	var probs problems
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()

	var root *node
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			path := ""
			if len(stack) > 0 {
				path = stack[len(stack)-1].path
			}
			switch {
			case errors.Is(err, io.EOF) && root == nil:
				probs.add("", "document is empty")
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				probs.add(path, "document ends before the JSON value is complete")
			default:
				probs.add(path, "invalid JSON at byte %d: %v", syntaxOffset(dec, err), err)
			}
			return nil, probs.list
		}

		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.n.kind == kindObject && top.expectKey {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					break
				}
				continue
			}
			// The decoder only yields strings in key position.
			key := tok.(string)
			if r, ok := firstDisallowed(key); ok {
				probs.add(top.path, "key %q contains %U; strings are limited to U+0020-U+00FF", key, r)
			}
			top.key, top.expectKey = key, false
			continue
		}
		if tok == json.Delim(']') {
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				break
			}
			continue
		}

		n := &node{}
		switch t := tok.(type) {
		case json.Delim:
			n.kind = kindObject
			if t == '[' {
				n.kind = kindArray
			}
		case string:
			n.kind, n.text = kindString, t
		case json.Number:
			n.kind, n.text = kindNumber, string(t)
		case bool:
			n.kind, n.text = kindBool, "false"
			if t {
				n.text = "true"
			}
		case nil:
			n.kind = kindNull
		}

		switch {
		case top == nil:
			root = n
		case top.n.kind == kindObject:
			if top.n.get(top.key) != nil {
				// Keep the first value and keep reading so the rest of
				// the document is still checked.
				probs.add(top.childPath(), "duplicate key")
			} else {
				top.n.fields = append(top.n.fields, member{key: top.key, value: n})
			}
			top.expectKey = true
		default:
			top.n.elems = append(top.n.elems, n)
		}
		if r, ok := firstDisallowed(n.text); n.kind == kindString && ok {
			probs.add(top.childPath(), "string contains %U; strings are limited to U+0020-U+00FF", r)
		}

		if n.kind == kindObject || n.kind == kindArray {
			path := top.childPath()
			if len(stack) >= maxDepth {
				probs.add(path, "nesting is deeper than %d levels", maxDepth)
				return nil, probs.list
			}
			stack = append(stack, &frame{n: n, path: path, expectKey: n.kind == kindObject})
			continue
		}
		if len(stack) == 0 {
			break
		}
	}

	// Exactly one JSON value: anything after it, including a second
	// document or a comment, is rejected rather than ignored.
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		for end < int64(len(doc)) && isJSONSpace(doc[end]) {
			end++
		}
		probs.add("", "unexpected data after the document at byte %d", end)
		return nil, probs.list
	}
	return root, probs.list
}

func syntaxOffset(dec *json.Decoder, err error) int64 {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return se.Offset
	}
	return dec.InputOffset()
}

func firstDisallowed(s string) (rune, bool) {
	for _, r := range s {
		if !allowedDecodedRune(r) {
			return r, true
		}
	}
	return 0, false
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}
