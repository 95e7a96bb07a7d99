package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/accepted/*.golden with the current canonical form")

// The corpora are the accepted language as a contract: a file moving from
// rejected to accepted is a deliberate widening, the other way a breaking
// change. Each file name starts with the kind it is parsed as; each
// rejected file has a .err file listing substrings (one per line) that the
// error must contain, and each accepted file a .golden canonical form.
type corpusFile struct {
	name string
	kind Kind
	data []byte
}

func readCorpus(tb testing.TB, dir string) []corpusFile {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) == 0 {
		tb.Fatalf("no corpus files in testdata/%s", dir)
	}
	var out []corpusFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		prefix, _, _ := strings.Cut(name, "-")
		kind, ok := kindNamed(prefix)
		if !ok {
			tb.Fatalf("%s: file name must start with identity-, trust- or session-", p)
		}
		out = append(out, corpusFile{name: name, kind: kind, data: data})
	}
	return out
}

func kindNamed(s string) (Kind, bool) {
	for _, k := range []Kind{Identity, Trust, Session} {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}

// parseErrors flattens the errors.Join tree into its *ParseErrors and fails
// if any leaf is not one.
func parseErrors(tb testing.TB, err error) []*ParseError {
	tb.Helper()
	var out []*ParseError
	var walk func(error)
	walk = func(e error) {
		if pe, ok := e.(*ParseError); ok {
			out = append(out, pe)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		tb.Errorf("error %v (%T) is not a *ParseError", e, e)
	}
	walk(err)
	return out
}

func TestCorpusAccepted(t *testing.T) {
	for _, f := range readCorpus(t, "accepted") {
		t.Run(f.name, func(t *testing.T) {
			p, err := Parse(f.kind, f.data)
			if err != nil {
				t.Fatalf("Parse(%s) = %v, want success", f.kind, err)
			}
			canon := p.String()
			golden := filepath.Join("testdata", "accepted", f.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(canon+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := canon + "\n"; got != string(want) {
				t.Errorf("canonical form differs from %s:\ngot  %s\nwant %s", golden, got, want)
			}
			checkRoundTrip(t, f.kind, f.data, p)
		})
	}
}

func TestCorpusRejected(t *testing.T) {
	for _, f := range readCorpus(t, "rejected") {
		t.Run(f.name, func(t *testing.T) {
			p, err := Parse(f.kind, f.data)
			if err == nil {
				t.Fatalf("Parse(%s) = %s, want an error", f.kind, p)
			}
			if p != nil {
				t.Errorf("Parse(%s) returned a policy together with an error", f.kind)
			}
			parseErrors(t, err)
			want, rerr := os.ReadFile(filepath.Join("testdata", "rejected", f.name+".err"))
			if rerr != nil {
				t.Fatal(rerr)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				if !strings.Contains(err.Error(), line) {
					t.Errorf("Parse(%s) error does not contain %q:\n%v", f.kind, line, err)
				}
			}
		})
	}
}

// checkRoundTrip asserts the canonical-form contract for a policy parsed
// from data: it is valid JSON, no longer than data, re-parses to an equal
// policy and is a fixed point.
func checkRoundTrip(tb testing.TB, kind Kind, data []byte, p *Policy) {
	tb.Helper()
	canon, err := p.MarshalJSON()
	if err != nil {
		tb.Fatalf("MarshalJSON: %v", err)
	}
	if string(canon) != p.String() {
		tb.Errorf("MarshalJSON and String differ:\n%s\n%s", canon, p)
	}
	if !json.Valid(canon) {
		tb.Fatalf("canonical form is not valid JSON: %s", canon)
	}
	if len(canon) > len(data) {
		tb.Errorf("canonical form is %d bytes, longer than the %d-byte input:\n%s\n%s", len(canon), len(data), canon, data)
	}
	q, err := Parse(kind, canon)
	if err != nil {
		tb.Fatalf("Parse(canonical %s) = %v\ncanonical: %s", kind, err, canon)
	}
	// reflect.DeepEqual first: this runs on every fuzz input and cmp.Diff
	// is only needed to explain a failure.
	if a, b := p.Statements(), q.Statements(); !reflect.DeepEqual(a, b) {
		tb.Errorf("re-parsed canonical form differs (-orig +reparsed):\n%s", cmp.Diff(a, b))
	}
	if q.Kind() != p.Kind() {
		tb.Errorf("re-parsed kind = %v, want %v", q.Kind(), p.Kind())
	}
	if q.String() != string(canon) {
		tb.Errorf("canonical form is not a fixed point:\n%s\n%s", canon, q)
	}
}

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"accepted", "rejected"} {
		for _, c := range readCorpus(f, dir) {
			f.Add(c.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []Kind{Identity, Trust, Session} {
			p, err := Parse(kind, data)
			if err != nil {
				if p != nil {
					t.Fatalf("Parse(%s) returned a policy together with %v", kind, err)
				}
				for _, pe := range parseErrors(t, err) {
					if pe.Msg == "" {
						t.Errorf("Parse(%s) returned an error without a message", kind)
					}
				}
				continue
			}
			// Anything accepted must read the same to encoding/json,
			// so no other reader of the same bytes (last-wins on
			// duplicates, case-insensitive field names) can see a
			// different document.
			var generic struct {
				Version   any
				Statement []map[string]any
			}
			if err := json.Unmarshal(data, &generic); err != nil {
				t.Fatalf("Parse(%s) accepted a document encoding/json rejects: %v", kind, err)
			}
			stmts := p.Statements()
			if generic.Version != "1" || len(generic.Statement) != len(stmts) {
				t.Fatalf("encoding/json reads Version %v and %d statements; Parse(%s) read %d", generic.Version, len(generic.Statement), kind, len(stmts))
			}
			for i, s := range stmts {
				if e := generic.Statement[i]["Effect"]; e != s.Effect.String() {
					t.Fatalf("encoding/json reads Statement[%d].Effect %v; Parse(%s) read %v", i, e, kind, s.Effect)
				}
			}
			checkRoundTrip(t, kind, data, p)
		}
	})
}

func TestParseErrorUnwrap(t *testing.T) {
	_, err := Parse(Session, bytes.Repeat([]byte(" "), MaxSessionBytes+1))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse(oversized) = %v, want ErrTooLarge", err)
	}
	pe, ok := errors.AsType[*ParseError](err)
	if !ok || pe.Path != "" {
		t.Errorf("Parse(oversized) = %#v, want a document-level *ParseError", err)
	}
}
