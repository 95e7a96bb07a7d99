package arn

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
)

const uid = "1609982529000000"

func TestParsePrincipal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Principal
	}{
		{"root", "acs:ram::" + uid + ":root", Principal{Kind: KindRoot, Account: uid}},
		{"user", "acs:ram::" + uid + ":user/alice@corp", Principal{Kind: KindUser, Account: uid, Name: "alice@corp"}},
		{"role", "acs:ram::" + uid + ":role/role-assume", Principal{Kind: KindRole, Account: uid, Name: "role-assume"}},
		{"assumed role", "acs:ram::" + uid + ":assumed-role/acr-test/eci-1234", Principal{Kind: KindAssumedRole, Account: uid, Name: "acr-test", Session: "eci-1234"}},
		{"session in AssumeRole shape", "acs:ram::" + uid + ":role/AdminRole/alice", Principal{Kind: KindAssumedRole, Account: uid, Name: "AdminRole", Session: "alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrincipal(tt.in)
			if err != nil {
				t.Fatalf("ParsePrincipal(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParsePrincipal(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if tt.want.Kind != KindAssumedRole || strings.Contains(tt.in, "assumed-role") {
				if s := got.String(); s != tt.in {
					t.Errorf("String() = %q, want %q", s, tt.in)
				}
			}
		})
	}
}

// The adversarial inputs of reference/reliability.md §3.1, each with the
// field its error must name.
func TestParsePrincipalRejects(t *testing.T) {
	tests := []struct {
		name, in, field string
	}{
		{"empty role name", "acs:ram::" + uid + ":role/", "resource"},
		{"short account", "acs:ram::12ab:role/x", "account"},
		{"long account", "acs:ram::16099825290000001:role/x", "account"},
		{"dot-dot role", "acs:ram::" + uid + ":role/../admin", "resource"},
		{"nested dot-dot", "acs:ram::" + uid + ":role/a/../../b", "resource"},
		{"region in RAM ARN", "acs:ram:cn-hangzhou:" + uid + ":role/x", "region"},
		{"wildcard account", "acs:ram::*:role/*", "account"},
		{"wildcard role", "acs:ram::" + uid + ":role/*", "resource"},
		{"upper-case prefix", "ACS:RAM::" + uid + ":role/x", "prefix"},
		{"mixed-case service", "acs:Ram::" + uid + ":role/x", "service"},
		{"cyrillic a", "acs:ram::" + uid + ":role/\u0430dmin", "characters"},
		{"zero-width space", "acs:ram::" + uid + ":role/admin\u200b", "characters"},
		{"NUL", "acs:ram::" + uid + ":role/admin\x00", "characters"},
		{"newline", "acs:ram::" + uid + ":role/admin\n", "characters"},
		{"full-width colon", "acs\uff1aram::" + uid + ":role/x", "characters"},
		{"65-char role", "acs:ram::" + uid + ":role/" + strings.Repeat("r", 65), "resource"},
		{"64 KiB", "acs:ram::" + uid + ":role/" + strings.Repeat("r", 64<<10), "length"},
		{"extra segments", "acs:ram::" + uid + ":role/a:b:c", "resource"},
		{"not ram", "acs:cr:cn-hangzhou:" + uid + ":instance/cri-abc", "service"},
		{"unknown kind", "acs:ram::" + uid + ":group/dev", "resource"},
		{"root with name", "acs:ram::" + uid + ":root/x", "resource"},
		{"assumed role without session", "acs:ram::" + uid + ":assumed-role/x", "resource"},
		{"one-char session", "acs:ram::" + uid + ":assumed-role/x/s", "resource"},
		{"too few fields", "acs:ram::" + uid, "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrincipal(tt.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParsePrincipal(%q) = %v, want *Error", tt.in, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid")
			}
			if e.Field != tt.field {
				t.Errorf("ParsePrincipal(%q) field = %q (%v), want %q", tt.in, e.Field, err, tt.field)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error message of %d bytes: hostile input must be truncated", len(err.Error()))
			}
		})
	}
}

func TestParseRole(t *testing.T) {
	if _, err := ParseRole("acs:ram::" + uid + ":user/bob"); err == nil {
		t.Fatal("ParseRole accepted a user ARN")
	}
	p, err := ParseRole("acs:ram::" + uid + ":role/acr-test")
	if err != nil || p.Name != "acr-test" {
		t.Fatalf("ParseRole = %+v, %v", p, err)
	}
}

func TestParsePattern(t *testing.T) {
	for _, in := range []string{
		"acs:cr:*:*:repository/cri-abc/*",
		"acs:cr:cn-hangzhou:*:instance/*",
		"acs:ram:*:" + uid + ":role/*",
	} {
		if _, err := ParsePattern(in); err != nil {
			t.Errorf("ParsePattern(%q): %v", in, err)
		}
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted a wildcard", in)
		}
	}
}

func TestRegistry(t *testing.T) {
	tests := []struct {
		name, in string
		want     Registry
	}{
		{"instance", "acs:cr:cn-hangzhou:" + uid + ":instance/cri-nwj395hgf6f30000", Registry{Region: "cn-hangzhou", Account: uid, Instance: "cri-nwj395hgf6f30000"}},
		{"whole instance as repository", "acs:cr:cn-hangzhou:" + uid + ":repository/cri-abc", Registry{Region: "cn-hangzhou", Account: uid, Instance: "cri-abc"}},
		{"namespace", "acs:cr:cn-beijing:" + uid + ":repository/cri-abc/eci_test", Registry{Region: "cn-beijing", Account: uid, Instance: "cri-abc", Namespace: "eci_test"}},
		{"repository", "acs:cr:cn-beijing:" + uid + ":repository/cri-abc/eci_test/nginx", Registry{Region: "cn-beijing", Account: uid, Instance: "cri-abc", Namespace: "eci_test", Repo: "nginx"}},
		{"personal", "acs:cr:cn-hangzhou:" + uid + ":repository/crpi-abc123/ns/app", Registry{Region: "cn-hangzhou", Account: uid, Instance: "crpi-abc123", Namespace: "ns", Repo: "app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRegistry(tt.in)
			if err != nil {
				t.Fatalf("ParseRegistry(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseRegistry(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if strings.Contains(tt.in, ":instance/") {
				if s := got.InstanceARN(); s != tt.in {
					t.Errorf("InstanceARN() = %q", s)
				}
			} else if s := got.RepositoryARN(); s != tt.in {
				t.Errorf("RepositoryARN() = %q", s)
			}
		})
	}
	for _, bad := range []string{
		"acs:cr::" + uid + ":instance/cri-abc",
		"acs:cr:cn-hangzhou:" + uid + ":instance/abc",
		"acs:cr:cn-hangzhou:" + uid + ":instance/cri-ABC",
		"acs:cr:cn-hangzhou:" + uid + ":repository/cri-abc/NS/app",
		"acs:cr:cn-hangzhou:" + uid + ":repository/cri-abc/ns/app/extra",
		"acs:cr:cn-hangzhou:" + uid + ":repository/cri-abc/ns/../app",
		"acs:cr:cn-hangzhou:" + uid + ":chart/cri-abc",
	} {
		if _, err := ParseRegistry(bad); err == nil {
			t.Errorf("ParseRegistry(%q) accepted", bad)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"session 2", IsSessionName, "ab", true},
		{"session 1", IsSessionName, "a", false},
		{"session 64", IsSessionName, strings.Repeat("s", 64), true},
		{"session 65", IsSessionName, strings.Repeat("s", 65), false},
		{"session slash", IsSessionName, "a/b", false},
		{"session chars", IsSessionName, "eci-a.b@c_d", true},
		{"region", IsRegion, "cn-hangzhou", true},
		{"region finance", IsRegion, "cn-shanghai-finance-1", true},
		{"region digit first", IsRegion, "1n-hangzhou", false},
		{"region one word", IsRegion, "hangzhou", false},
		{"region upper", IsRegion, "CN-hangzhou", false},
		{"namespace", IsNamespace, "eci_test", true},
		{"namespace leading sep", IsNamespace, "_eci", false},
		{"namespace trailing dot", IsNamespace, "app.", false},
		{"namespace double sep", IsNamespace, "a..b", false},
		{"instance", IsInstanceID, "cri-j36zhodptmyq0000", true},
		{"instance masked", IsInstanceID, "cri-j36zhodptmyq****", false},
		{"instance empty", IsInstanceID, "cri-", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.want {
				t.Errorf("(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// readCorpus returns the non-empty, non-comment lines of a testdata file;
// the files hold the accepted and rejected language of this package.
func readCorpus(t testing.TB, name string) []string {
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCorpus(t *testing.T) {
	for _, s := range readCorpus(t, "accepted.txt") {
		if _, err := ParsePattern(s); err != nil {
			t.Errorf("accepted corpus: ParsePattern(%q): %v", s, err)
		}
	}
	for _, s := range readCorpus(t, "rejected.txt") {
		if _, err := ParsePrincipal(s); err == nil {
			if _, err := ParseRegistry(s); err == nil {
				t.Errorf("rejected corpus: %q parsed as a principal and a registry ARN", s)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range readCorpus(f, "accepted.txt") {
		f.Add(s)
	}
	for _, s := range readCorpus(f, "rejected.txt") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParsePattern(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if got := a.String(); got != s {
			t.Fatalf("ParsePattern(%q).String() = %q", s, got)
		}
		if p, err := ParsePrincipal(s); err == nil {
			if p.Kind != KindAssumedRole || strings.Contains(s, ":assumed-role/") {
				if got := p.String(); got != s {
					t.Fatalf("ParsePrincipal(%q).String() = %q", s, got)
				}
			}
		}
		if r, err := ParseRegistry(s); err == nil {
			if r2, err := ParseRegistry(r.RepositoryARN()); err != nil || r2.Instance != r.Instance {
				t.Fatalf("ParseRegistry(%q) does not round-trip: %v", s, err)
			}
		}
	})
}
