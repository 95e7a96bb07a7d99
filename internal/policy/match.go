package policy

import "strings"

// Match reports whether s matches pattern, where '*' matches any run of
// bytes including none (it crosses '/' and ':'), '?' matches exactly one
// byte, and letters compare ASCII case-insensitively.
//
// Match never recurses, and it never allocates for a pattern whose
// star-free runs are at most maxPatternBytes long (every pattern Parse
// accepts). It costs O((len(s)+len(pattern))·⌈r/64⌉) word operations, where
// r ≤ len(pattern) is the longest run of the pattern without a star: each
// byte of s enters at most one bit-parallel Shift-And step of ⌈r/64⌉
// words, and each star-free piece of the pattern is compared directly once
// and tabulated at most once. With patterns capped at 1024 bytes, ⌈r/64⌉ ≤
// 16, so the cost is linear in len(s). A pattern with a middle piece
// longer than 64 bytes also clears a fixed 32 KiB table on the stack, once
// per call.
func Match(pattern, s string) bool {
	return match(pattern, s, true)
}

// matchCase is Match with exact byte comparison, for StringLike.
func matchCase(pattern, s string) bool {
	return match(pattern, s, false)
}

// match splits pattern at its stars into head*mid₁*…*midₖ*tail. Each piece
// has a fixed length (a '?' is one byte), so head can only match the start
// of s and tail only its end, and the middle pieces match in order without
// overlapping. Taking each middle piece at its leftmost occurrence is
// always safe: any match that places it further right can be rewritten to
// use the leftmost one, the stars on either side absorbing the difference,
// which leaves at least as much of s for the pieces after it.
func match(pattern, s string, fold bool) bool {
	first := strings.IndexByte(pattern, '*')
	if first < 0 {
		return len(pattern) == len(s) && matchFixed(pattern, s, fold)
	}
	last := strings.LastIndexByte(pattern, '*')
	head, tail := pattern[:first], pattern[last+1:]
	// The tail is checked first because ARNs that do not match usually
	// differ in their last segment.
	if len(head)+len(tail) > len(s) ||
		!matchFixed(tail, s[len(s)-len(tail):], fold) ||
		!matchFixed(head, s[:len(head)], fold) {
		return false
	}
	if first == last {
		return true
	}
	mid, rest := pattern[first+1:last], s[len(head):len(s)-len(tail)]
	if len(mid) <= 64 || longestPiece(mid) <= 64 {
		var lit [65]uint64 // one row per distinct byte of a ≤ 64-byte piece, plus row 0
		f := finder{fold: fold, masks: lit[:]}
		return f.matchPieces(mid, rest)
	}
	return matchPiecesWide(mid, rest, fold)
}

// matchPiecesWide is the case of a star-free piece longer than 64 bytes,
// kept apart so that the common case does not pay for its table.
func matchPiecesWide(mid, s string, fold bool) bool {
	var masks [maxFinderRows * maxPatternWords]uint64
	var state [maxPatternWords]uint64
	f := finder{fold: fold, masks: masks[:], state: state[:]}
	return f.matchPieces(mid, s)
}

// longestPiece is the length of the longest run of mid without a star.
func longestPiece(mid string) int {
	longest := 0
	for mid != "" {
		piece, after, _ := strings.Cut(mid, "*")
		longest = max(longest, len(piece))
		mid = after
	}
	return longest
}

const (
	// maxPatternWords is the number of 64-bit words a piece of a pattern
	// Parse accepts can need.
	maxPatternWords = (maxPatternBytes + 63) / 64
	// maxFinderRows bounds the rows of a finder's table: one per distinct
	// subject byte a piece names (at most the 254 bytes other than '*' and
	// '?'), plus row 0 for all the bytes it does not name.
	maxFinderRows = 255
)

// finder searches s for star-free pieces with the Shift-And algorithm
// (Baeza-Yates and Gonnet): bit j of the state is set when the piece's
// first j+1 bytes match the subject bytes just read, so each subject byte
// costs a shift and an AND or two per 64 bytes of piece.
type finder struct {
	fold bool
	// row maps a subject byte to its row of masks; row 0 serves every byte
	// the current piece does not name. Only the bytes of the current piece
	// have non-zero rows, and index puts them back to zero before it
	// returns.
	row [256]uint8
	// masks holds rows of ⌈len(piece)/64⌉ words: bit j of a row is set when
	// byte j of the piece accepts the row's subject bytes. For a piece of
	// at most 64 bytes it leaves out the '?' positions, which accept every
	// byte, and index1 adds them as it scans.
	masks []uint64
	// state is the scan state of a piece longer than 64 bytes; index1
	// keeps the one word of a shorter piece's state in a variable.
	state []uint64
}

// matchPieces reports whether the star-separated pieces of mid occur in s
// in order without overlapping. Each search starts where the previous
// occurrence ended, so every byte of s is scanned at most once.
func (f *finder) matchPieces(mid, s string) bool {
	for mid != "" {
		piece, after, _ := strings.Cut(mid, "*")
		mid = after
		if piece == "" {
			continue
		}
		i := f.index(piece, s)
		if i < 0 {
			return false
		}
		s = s[i+len(piece):]
	}
	return true
}

// index returns the offset of the leftmost occurrence of the non-empty,
// star-free piece in s, or -1.
//
// Most pieces in real policies occur where their first byte first does,
// so index compares the piece there directly and builds the Shift-And
// tables only when that fails. The one comparison costs at most
// len(piece), as building the tables would.
func (f *finder) index(piece, s string) int {
	start := f.indexFirst(piece[0], s)
	switch {
	case start < 0 || len(s)-start < len(piece):
		return -1
	case matchFixed(piece, s[start:start+len(piece)], f.fold):
		return start
	}
	// No occurrence starts at or before start, and no byte before start
	// can begin one, so the scan may begin after it with an empty state.
	var i int
	if len(piece) <= 64 {
		i = f.index1(piece, s[start+1:])
	} else {
		i = f.indexWide(piece, s[start+1:])
	}
	if i < 0 {
		return -1
	}
	return start + 1 + i
}

// indexFirst returns the offset of the first byte of s that the piece byte
// c accepts, or -1.
func (f *finder) indexFirst(c byte, s string) int {
	switch {
	case c == '?':
		return 0
	case f.fold && isLetterASCII(c):
		// Two IndexByte calls, one per case, could each read all of s
		// for every piece, which is not linear.
		for i := 0; i < len(s); i++ {
			if s[i]|0x20 == c|0x20 {
				return i
			}
		}
		return -1
	}
	return strings.IndexByte(s, c)
}

// index1 is index for a piece of at most 64 bytes, whose state is one word.
func (f *finder) index1(piece, s string) int {
	row, lit := &f.row, f.masks
	var wild uint64
	rows := uint8(1)
	for j := 0; j < len(piece); j++ {
		c := piece[j]
		if c == '?' {
			wild |= 1 << j
			continue
		}
		r := row[c]
		if r == 0 {
			r, rows = rows, rows+1
			row[c] = r
			if f.fold && isLetterASCII(c) {
				row[c^0x20] = r // the other case shares the row
			}
			lit[r] = 0
		}
		lit[r] |= 1 << j
	}
	lit[0] = 0
	// While no prefix of the piece is pending, only a byte the piece can
	// start with changes the state, so when that is a single byte the scan
	// jumps to it with IndexByte. Skipped bytes are not read again, which
	// keeps the scan linear.
	first := piece[0]
	jump := first != '?' && !(f.fold && isLetterASCII(first))
	found := uint64(1) << (len(piece) - 1)
	at := -1
	var d uint64
	for i := 0; i < len(s); i++ {
		if d == 0 && jump && s[i] != first {
			n := strings.IndexByte(s[i:], first)
			if n < 0 {
				break
			}
			i += n
		}
		d = (d<<1 | 1) & (lit[row[s[i]]] | wild)
		if d&found != 0 {
			at = i + 1 - len(piece)
			break
		}
	}
	f.reset(piece)
	return at
}

// indexWide is index for a piece longer than 64 bytes; the bit shifted out
// of each word of the state carries into the next.
func (f *finder) indexWide(piece, s string) int {
	w := (len(piece) + 63) / 64
	if rows := min(len(piece), maxFinderRows-1) + 1; rows*w > len(f.masks) || w > len(f.state) {
		// Only a piece longer than maxPatternBytes, which Parse never
		// accepts, gets here.
		f.masks, f.state = make([]uint64, rows*w), make([]uint64, w)
	}
	row, masks := &f.row, f.masks
	wild := masks[:w] // row 0: only the '?' positions accept bytes the piece does not name
	clear(wild)
	for j := 0; j < len(piece); j++ {
		if piece[j] == '?' {
			wild[j/64] |= 1 << (j % 64)
		}
	}
	rows := 1
	for j := 0; j < len(piece); j++ {
		c := piece[j]
		if c == '?' {
			continue
		}
		r := int(row[c])
		if r == 0 {
			r, rows = rows, rows+1
			row[c] = uint8(r)
			if f.fold && isLetterASCII(c) {
				row[c^0x20] = uint8(r)
			}
			copy(masks[r*w:(r+1)*w], wild)
		}
		masks[r*w+j/64] |= 1 << (j % 64)
	}
	d := f.state[:w]
	clear(d)
	found := uint64(1) << ((len(piece) - 1) % 64)
	at := -1
	for i := 0; i < len(s); i++ {
		r := int(row[s[i]]) * w
		m := masks[r : r+len(d) : r+len(d)]
		carry := uint64(1)
		for k := range d {
			out := d[k] >> 63
			d[k] = (d[k]<<1 | carry) & m[k]
			carry = out
		}
		if d[w-1]&found != 0 {
			at = i + 1 - len(piece)
			break
		}
	}
	f.reset(piece)
	return at
}

// reset undoes index's changes to row, in time proportional to the piece
// rather than to the alphabet.
func (f *finder) reset(piece string) {
	for j := 0; j < len(piece); j++ {
		c := piece[j]
		f.row[c] = 0
		if f.fold && isLetterASCII(c) {
			f.row[c^0x20] = 0
		}
	}
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

func isLetterASCII(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
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
