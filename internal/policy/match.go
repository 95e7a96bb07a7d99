package policy

import "strings"

// Match reports whether s matches pattern, where '*' matches any run of
// bytes including none (it crosses '/' and ':'), '?' matches exactly one
// byte, and letters compare ASCII case-insensitively. It never recurses or
// allocates and does at most len(pattern)·len(s) byte comparisons, whatever
// the input; a backtracking matcher is exponential in the number of stars.
func Match(pattern, s string) bool {
	return match(pattern, s, true)
}

// matchCase is Match with exact byte comparison, for StringLike.
func matchCase(pattern, s string) bool {
	return match(pattern, s, false)
}

// match is the two-pointer glob algorithm. Only the most recent star is ever
// retried: if the rest of the pattern cannot match with that star covering
// s[mark:i], giving an earlier star more of s cannot help, because the later
// star can absorb whatever the earlier one would have taken.
func match(pattern, s string, fold bool) bool {
	// The part after the last star has a fixed length, so it can only match
	// the end of s. Checking it first rejects most non-matching ARNs (which
	// differ in their last segment) without any backtracking.
	if last := strings.LastIndexByte(pattern, '*'); last >= 0 {
		tail := pattern[last+1:]
		if len(tail) > len(s) || !matchFixed(tail, s[len(s)-len(tail):], fold) {
			return false
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
			case c == '?' || c == s[i] || fold && lowerASCII(c) == lowerASCII(s[i]):
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

// matchFixed matches a star-free pattern against a string of the same
// length.
func matchFixed(pattern, s string, fold bool) bool {
	for i := 0; i < len(pattern); i++ {
		if c := pattern[i]; c != '?' && c != s[i] && !(fold && lowerASCII(c) == lowerASCII(s[i])) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldASCII is strings.EqualFold restricted to ASCII. Unicode folding
// would let a request spell a name with U+212A KELVIN SIGN and match 'k'.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}
