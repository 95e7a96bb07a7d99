package policy

import (
	"math/rand/v2"
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
// go test; BenchmarkMatchAdversarial measures them. The "worst case" pairs
// cost the old two-pointer matcher len(pattern)·len(s) steps; they are the
// worst case of the Shift-And scan too, 16 words per subject byte.
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
	s := strings.Repeat("a", 4096)
	for _, p := range []string{
		adversarialPattern() + "*",
		"*" + strings.Repeat("a", 64) + "*",                     // the longest one-word piece
		"*" + strings.Repeat("a", 65) + "*",                     // the shortest two-word piece
		"*" + strings.Repeat("a?", (maxPatternBytes-2)/2) + "*", // one piece at the cap
	} {
		if n := testing.AllocsPerRun(10, func() { Match(p, s) }); n != 0 {
			t.Errorf("Match(%.20q…) allocates %v times per call, want 0", p, n)
		}
	}
}

// TestMatchLongPiece covers pieces longer than maxPatternBytes, which Parse
// never accepts but the exported Match must still get right.
func TestMatchLongPiece(t *testing.T) {
	piece := strings.Repeat("ab?", 700)
	s := strings.Repeat("x", 100) + strings.Repeat("abZ", 700) + "tail"
	if !Match("*"+piece+"*", s) {
		t.Errorf("Match(*%d-byte piece*) = false, want true", len(piece))
	}
	if Match("*"+piece+"*", s[:len(s)-10]) {
		t.Errorf("Match(*%d-byte piece*, truncated) = true, want false", len(piece))
	}
}

// TestMatchDifferential compares Match and matchCase with refMatch, the
// two-pointer matcher they replaced, on seeded random inputs. Each case
// draws its pattern and subject from a few tokens of an alphabet of case
// variants, multi-byte UTF-8 and bytes one bit away from letters, so that
// pieces repeat and overlap; stars and question marks appear from never to
// often. Most subjects are instances of the pattern, some with one byte
// changed, so both answers are common. Every tenth pattern has pieces
// longer than 64 bytes, for the multi-word scan.
func TestMatchDifferential(t *testing.T) {
	const cases = 200_000
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "A", "b", "B", "k", "K", "/", ":", "[", "{", "@", "`", "é", "É", "\u212a", "\u017f", "?"}
	randomString := func(toks []string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(toks[rng.IntN(len(toks))])
		}
		return b.String()
	}
	matches, long := 0, 0
	for i := range cases {
		toks := make([]string, 1+rng.IntN(4))
		for j := range toks {
			toks[j] = alphabet[rng.IntN(len(alphabet)-1)] // not '?': a subject's '?' is a literal
		}
		starEvery, questionEvery := []int{0, 2, 4, 10}[rng.IntN(4)], []int{0, 3, 8}[rng.IntN(3)]
		n := rng.IntN(14)
		if i%10 == 0 {
			starEvery, n = 60+rng.IntN(60), 70+rng.IntN(200)
		}
		var pb strings.Builder
		for range n {
			switch {
			case starEvery > 0 && rng.IntN(starEvery) == 0:
				pb.WriteByte('*')
			case questionEvery > 0 && rng.IntN(questionEvery) == 0:
				pb.WriteByte('?')
			default:
				pb.WriteString(toks[rng.IntN(len(toks))])
			}
		}
		pattern := pb.String()
		if first, last := strings.IndexByte(pattern, '*'), strings.LastIndexByte(pattern, '*'); first < last && longestPiece(pattern[first+1:last]) > 64 {
			long++
		}
		// An instance replaces each star with a run of tokens and each
		// question mark with any byte, and flips the case of some letters.
		var sb strings.Builder
		for j := 0; j < len(pattern); j++ {
			switch c := pattern[j]; {
			case c == '*':
				sb.WriteString(randomString(toks, rng.IntN(5)))
			case c == '?':
				sb.WriteByte(byte(rng.IntN(256)))
			case isLetterASCII(c) && rng.IntN(4) == 0:
				sb.WriteByte(c ^ 0x20)
			default:
				sb.WriteByte(c)
			}
		}
		s := sb.String()
		switch rng.IntN(5) {
		case 0:
			s = randomString(toks, rng.IntN(20))
		case 1, 2:
			if s != "" {
				j := rng.IntN(len(s))
				s = s[:j] + string([]byte{s[j] ^ byte(1<<rng.IntN(8))}) + s[j+1:]
			}
		}
		want := refMatch(pattern, s, true)
		if got := Match(pattern, s); got != want {
			t.Fatalf("Match(%q, %q) = %v, want %v", pattern, s, got, want)
		}
		if got, want := matchCase(pattern, s), refMatch(pattern, s, false); got != want {
			t.Fatalf("matchCase(%q, %q) = %v, want %v", pattern, s, got, want)
		}
		if want {
			matches++
		}
	}
	if matches < cases/5 || matches > cases*4/5 || long < cases/50 {
		t.Errorf("%d of %d cases match and %d have a middle piece over 64 bytes; the generator should give both answers and long pieces often", matches, cases, long)
	}
	t.Logf("%d of %d cases match; %d have a middle piece over 64 bytes", matches, cases, long)
}

// refMatch is the two-pointer glob matcher Match used before the Shift-And
// scan, kept as the reference for the differential tests. Only the most
// recent star is ever retried, so it costs up to len(pattern)·len(s) steps.
func refMatch(pattern, s string, fold bool) bool {
	eq := func(p, c byte) bool {
		return p == '?' || p == c || fold && lowerASCII(p) == lowerASCII(c)
	}
	if last := strings.LastIndexByte(pattern, '*'); last >= 0 {
		tail := pattern[last+1:]
		if len(tail) > len(s) {
			return false
		}
		for i := range len(tail) {
			if !eq(tail[i], s[len(s)-len(tail)+i]) {
				return false
			}
		}
		pattern, s = pattern[:last+1], s[:len(s)-len(tail)]
	}
	p, i := 0, 0
	star, mark := -1, 0 // star: pattern index just past the last '*'; mark: where its run ends in s
	for i < len(s) {
		if p < len(pattern) {
			switch c := pattern[p]; {
			case c == '*':
				p++
				star, mark = p, i
				continue
			case eq(c, s[i]):
				p++
				i++
				continue
			}
		}
		if star < 0 {
			return false
		}
		mark++
		p, i = star, mark
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
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
		{"*" + strings.Repeat("a?", 40) + "*b", strings.Repeat("ab", 50) + "b"},
		{"x*" + strings.Repeat("?", 65) + "*y", "x" + strings.Repeat("é", 40) + "y"},
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
		for _, fold := range []bool{true, false} {
			got, want := match(pattern, s, fold), naiveMatch(pattern, s, fold)
			if got != want {
				t.Errorf("match(%q, %q, fold=%v) = %v, want %v", pattern, s, fold, got, want)
			}
			if old := refMatch(pattern, s, fold); got != old {
				t.Errorf("match(%q, %q, fold=%v) = %v, but refMatch = %v", pattern, s, fold, got, old)
			}
		}
	})
}
