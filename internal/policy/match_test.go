package policy

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name       string
		pattern, s string
		want       bool
	}{
		{"empty pattern empty string", "", "", true},
		{"empty pattern non-empty string", "", "a", false},
		{"star matches empty", "*", "", true},
		{"star matches anything", "*", "acs:cr:cn-hangzhou:1:instance/x", true},
		{"literal", "cr:PullRepository", "cr:PullRepository", true},
		{"literal case-insensitive", "cr:PullRepository", "CR:pullrepository", true},
		{"literal prefix is not a match", "cr:Pull", "cr:PullRepository", false},
		{"literal longer than string", "cr:PullRepository", "cr:Pull", false},
		{"trailing star", "cr:Pull*", "cr:PullRepository", true},
		{"trailing star matches empty rest", "cr:Pull*", "cr:Pull", true},
		{"leading star", "*Repository", "cr:PullRepository", true},
		{"inner star", "cr:*Repository", "cr:PushRepository", true},
		{"star crosses slash", "acs:cr:*:*:repository/cri-1/*", "acs:cr:cn-hangzhou:1:repository/cri-1/ns/repo", true},
		{"star crosses colon", "acs:cr:*", "acs:cr:cn-hangzhou:1:instance/x", true},
		{"question mark is one byte", "cr:?ull*", "cr:Pull", true},
		{"question mark needs a byte", "cr:?", "cr:", false},
		{"question mark is not two bytes", "a?c", "abbc", false},
		{"question mark matches slash", "a?c", "a/c", true},
		{"question mark is one byte of UTF-8", "a?c", "aéc", false},
		{"two question marks cover two-byte rune", "a??c", "aéc", true},
		{"consecutive stars", "a**b", "ab", true},
		{"star then literal backtracks", "*ab", "aab", true},
		{"star literal star", "*a*", "bbbabbb", true},
		{"no match after backtracking", "*a*b", "aaaa", false},
		{"star must not swallow mandatory suffix", "a*bc", "abcbc", true},
		{"suffix missing", "a*bc", "abcb", false},
		{"different instance", "acs:cr:*:*:instance/cri-a", "acs:cr:cn-hangzhou:1:instance/cri-b", false},
		{"fold only ASCII: Kelvin sign is not k", "k", "\u212a", false},
		{"fold only ASCII: long s is not s", "s*", "\u017f", false},
		{"non-letters do not fold", "[", "{", false},
		{"at sign is not backquote", "@", "`", false},
		{"literal star in subject matches star", "a*", "a*", true},
		{"trailing question mark needs a byte", "a?", "a", false},
		{"adversarial minio pattern", strings.Repeat("*a", 8) + "*b", strings.Repeat("a", 40), false},
		{"adversarial matches when b present", strings.Repeat("*a", 8) + "*b", strings.Repeat("a", 40) + "b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.pattern, tt.s); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
			if got := naiveMatch(tt.pattern, tt.s, true); got != tt.want {
				t.Errorf("naiveMatch(%q, %q) = %v, want %v (the reference disagrees with the table)", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

func TestMatchCaseSensitive(t *testing.T) {
	tests := []struct {
		name       string
		pattern, s string
		want       bool
	}{
		{"same case", "team-*", "team-a", true},
		{"different case", "team-*", "Team-a", false},
		{"question mark", "t?am", "tEam", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchCase(tt.pattern, tt.s); got != tt.want {
				t.Errorf("matchCase(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

// adversarialPattern and adversarialSubject are reliability.md §2 item 22:
// 1,000 stars against 64 KiB. A backtracking matcher never finishes.
func adversarialPattern() string { return strings.Repeat("*a", 1000) + "*b" }
func adversarialSubject() string { return strings.Repeat("a", 64<<10) }

// TestMatchAdversarialCompletes proves the adversarial inputs finish under
// go test; BenchmarkMatchAdversarial measures them. The second pair is the
// true worst case for the two-pointer algorithm, len(pattern)·len(s) steps.
func TestMatchAdversarialCompletes(t *testing.T) {
	if Match(adversarialPattern(), adversarialSubject()) {
		t.Error("Match(adversarial) = true, want false")
	}
	if !Match(adversarialPattern(), adversarialSubject()+"b") {
		t.Error("Match(adversarial, ...b) = false, want true")
	}
	if Match(adversarialPattern()+"*", adversarialSubject()) {
		t.Error("Match(adversarial with trailing star) = true, want false")
	}
	worst := "*" + strings.Repeat("a", maxPatternBytes-3) + "b*"
	if Match(worst, adversarialSubject()) {
		t.Error("Match(worst case) = true, want false")
	}
	worst = "*" + strings.Repeat("a", maxPatternBytes-3) + "b"
	if Match(worst, adversarialSubject()) {
		t.Error("Match(worst case) = true, want false")
	}
	resource := "acs:cr:*:*:repository/" + strings.Repeat("*a", 13) + "*b"
	if Match(resource, "acs:cr:cn-hangzhou:1:repository/"+adversarialSubject()) {
		t.Error("Match(reliability.md §3.2 item 26) = true, want false")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	p, s := adversarialPattern()+"*", strings.Repeat("a", 4096)
	if n := testing.AllocsPerRun(10, func() { Match(p, s) }); n != 0 {
		t.Errorf("Match allocates %v times per call, want 0", n)
	}
}

// naiveMatch is the reference matcher for differential tests: the textbook
// dynamic program over (pattern prefix, subject prefix). It shares no code
// with match.
func naiveMatch(pattern, s string, fold bool) bool {
	eq := func(a, b byte) bool {
		if !fold {
			return a == b
		}
		lower := func(c byte) byte {
			if c >= 'A' && c <= 'Z' {
				return c | 0x20
			}
			return c
		}
		return lower(a) == lower(b)
	}
	// dp[j] reports whether pattern[:i] matches s[:j] for the current i.
	dp, next := make([]bool, len(s)+1), make([]bool, len(s)+1)
	dp[0] = true
	for i := 0; i < len(pattern); i++ {
		clear(next)
		switch pattern[i] {
		case '*':
			for j := 0; j <= len(s); j++ {
				next[j] = dp[j] || j > 0 && next[j-1]
			}
		case '?':
			for j := 1; j <= len(s); j++ {
				next[j] = dp[j-1]
			}
		default:
			for j := 1; j <= len(s); j++ {
				next[j] = dp[j-1] && eq(pattern[i], s[j-1])
			}
		}
		dp, next = next, dp
	}
	return dp[len(s)]
}

func FuzzMatch(f *testing.F) {
	seeds := [][2]string{
		{"*", ""}, {"a*b", "ab"}, {"*a*b", "aaaa"}, {"?", "é"}, {"cr:Pull*", "CR:PULLREPOSITORY"},
		{strings.Repeat("*a", 8) + "*b", strings.Repeat("a", 40)},
		{"K", "\u212a"},
	}
	// Every pattern in the accepted corpus against every action and
	// resource it contains, so the fuzzer starts from realistic shapes.
	var patterns []string
	for _, c := range readCorpus(f, "accepted") {
		p, err := Parse(c.kind, c.data)
		if err != nil {
			f.Fatal(err)
		}
		for _, s := range p.Statements() {
			patterns = append(patterns, s.Action...)
			patterns = append(patterns, s.NotAction...)
			patterns = append(patterns, s.Resource...)
			patterns = append(patterns, s.NotResource...)
		}
	}
	subjects := []string{"cr:PullRepository", "sts:AssumeRole", "acs:cr:cn-hangzhou:1609982529000000:repository/cri-nwj395hgf6f30000/ns/repo"}
	for _, p := range patterns {
		for _, s := range subjects {
			seeds = append(seeds, [2]string{p, s})
		}
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		// The reference is quadratic in memory churn; keep it cheap.
		if len(pattern) > 512 || len(s) > 512 {
			t.Skip()
		}
		if got, want := Match(pattern, s), naiveMatch(pattern, s, true); got != want {
			t.Errorf("Match(%q, %q) = %v, want %v", pattern, s, got, want)
		}
		if got, want := matchCase(pattern, s), naiveMatch(pattern, s, false); got != want {
			t.Errorf("matchCase(%q, %q) = %v, want %v", pattern, s, got, want)
		}
	})
}
