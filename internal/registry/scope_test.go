package registry

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// ScopeCase is one line of testdata/scopes.txt.
type ScopeCase struct {
	Line    int
	Scope   string
	Parsed  string // "TYPE NAME ACTIONS" or "error"
	Granted string // actions granted to a read-only role, "-" or "400"
}

var repField = regexp.MustCompile(`\{rep:([0-9]+):(.)\}`)

// ReadScopeCorpus reads testdata/scopes.txt (exported for the token
// endpoint's test in package registry_test).
func ReadScopeCorpus(t testing.TB) []ScopeCase {
	t.Helper()
	f, err := os.Open("testdata/scopes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	field := func(n int, v string) string {
		if strings.HasPrefix(v, `"`) {
			u, err := strconv.Unquote(v)
			if err != nil {
				t.Fatalf("testdata/scopes.txt:%d: %v", n, err)
			}
			return u
		}
		return repField.ReplaceAllStringFunc(v, func(m string) string {
			sub := repField.FindStringSubmatch(m)
			count, _ := strconv.Atoi(sub[1])
			return strings.Repeat(sub[2], count)
		})
	}
	var cases []ScopeCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("testdata/scopes.txt:%d: %d columns, want 3", n, len(cols))
		}
		cases = append(cases, ScopeCase{Line: n, Scope: field(n, cols[0]), Parsed: field(n, cols[1]), Granted: cols[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestScopeCorpus(t *testing.T) {
	for _, c := range ReadScopeCorpus(t) {
		t.Run(strconv.Itoa(c.Line), func(t *testing.T) {
			sc, err := ParseScope(c.Scope)
			got := "error"
			if err == nil {
				got = sc.Type + " " + sc.Name + " " + strings.Join(sc.Actions, ",")
			}
			if got != c.Parsed {
				t.Errorf("line %d: ParseScope(%q) = %q (%v), want %q", c.Line, c.Scope, got, err, c.Parsed)
			}
		})
	}
}

// FuzzScope: a scope that parses has every part, and round-trips.
// Seeded from testdata/scopes.txt.
func FuzzScope(f *testing.F) {
	for _, c := range ReadScopeCorpus(f) {
		f.Add(c.Scope)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			return
		}
		if len(sc.Actions) == 0 || sc.Type == "" || sc.Name == "" {
			t.Fatalf("ParseScope(%q) = %+v: an empty part was accepted", s, sc)
		}
		again, err := ParseScope(sc.String())
		if err != nil || again.String() != sc.String() {
			t.Fatalf("ParseScope(%q) does not round-trip: %+v, %v", s, again, err)
		}
	})
}
