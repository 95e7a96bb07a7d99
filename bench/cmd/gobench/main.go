package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// samples holds, per benchmark name (without the -GOMAXPROCS suffix) and
// unit, every value the runs reported.
type samples map[string]map[string][]float64

// benchLine is a result line: name, iterations, then value-unit pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parse reads go test output, keeping result lines and the cpu line.
func parse(r io.Reader) (samples, string, error) {
	s := samples{}
	cpu := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = strings.TrimSpace(c)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		if len(f)%2 != 0 {
			return nil, "", fmt.Errorf("result line %q: values and units do not pair", line)
		}
		for i := 0; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, "", fmt.Errorf("result line %q: %v", line, err)
			}
			if s[m[1]] == nil {
				s[m[1]] = map[string][]float64{}
			}
			s[m[1]][f[i+1]] = append(s[m[1]][f[i+1]], v)
		}
	}
	return s, cpu, sc.Err()
}

// stat is the median, minimum and maximum of some runs.
type stat struct {
	med, min, max float64
	n             int
}

func summarize(vs []float64) stat {
	v := slices.Clone(vs)
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return stat{med: med, min: v[0], max: v[len(v)-1], n: len(v)}
}

// figure names one measured value: a benchmark, a unit, and the scale to
// the unit shown (ns/op to ms: 1e-6).
type figure struct {
	bench, unit string
	scale       float64
}

func (s samples) get(f figure) (stat, bool) {
	vs := s[f.bench][f.unit]
	if len(vs) == 0 {
		return stat{}, false
	}
	st := summarize(vs)
	st.med, st.min, st.max = st.med*f.scale, st.min*f.scale, st.max*f.scale
	return st, true
}

func cell(st stat, ok bool) string {
	if !ok {
		return "not run"
	}
	return fmt.Sprintf("%s (%s–%s, n=%d)", num(st.med), num(st.min), num(st.max), st.n)
}

// num prints three significant digits, without an exponent.
func num(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// pair is a figure measured two ways in one run; ratio = slow / fast.
type pair struct {
	label      string
	fast, slow figure
}

// single is a figure with nothing to compare it with.
type single struct {
	label string
	f     figure
}

const (
	ns2us = 1e-3
	ns2ms = 1e-6
)

var pairs = []struct {
	title, fastName, slowName string
	rows                      []pair
}{
	{"Pod start with an image cache hit vs without (issue 7)", "cache hit", "cold", []pair{{
		"pod start, create → ImagesReady, 8-layer image of $IMAGE_MB MiB: a cache hit checks the pod's identity (token + manifest HEAD, no layer) (ms)",
		figure{"BenchmarkPodStart/cache-hit", "ns/op", ns2ms}, figure{"BenchmarkPodStart/cold", "ns/op", ns2ms}}}},
	{"Role credentials: cached vs a cold chain (issue 5)", "cached", "cold", []pair{{
		"temporary password for the seed's cross-account chain (ECI → role-assume → role-acr → GetAuthorizationToken) (µs)",
		figure{"BenchmarkCredentialChain/cached", "ns/op", ns2us}, figure{"BenchmarkCredentialChain/cold", "ns/op", ns2us}}}},
}

var singles = []struct {
	title string
	rows  []single
}{
	{"STS AssumeRole and its cost split (issue 3)", []single{
		{"AssumeRole end to end over loopback HTTP: client signing, server checks, RAM, minting (calls/s)", figure{"BenchmarkAssumeRole/http", "calls/s", 1}},
		{"… signature check: HMAC-SHA1 string-to-sign of an AssumeRole request (µs)", figure{"BenchmarkSignatureV1", "ns/op", ns2us}},
		{"… authenticate: AccessKey lookup and secret derivation (µs)", figure{"BenchmarkAssumeRole/authenticate", "ns/op", ns2us}},
		{"… policy evaluation: the caller's policies and the role's trust policy, store reads included (µs)", figure{"BenchmarkAssumeRole/policy", "ns/op", ns2us}},
		{"… token minting: the SecurityToken alone (µs)", figure{"BenchmarkMintToken", "ns/op", ns2us}},
		{"… everything but HTTP and signatures, in process (µs)", figure{"BenchmarkAssumeRole/in-process", "ns/op", ns2us}},
	}},
	{"RAM decisions and the policy language (issue 2)", []single{
		{"RAM decision for a role with 10 policies × 10 statements, attachments read from the store (decisions/s)", figure{"BenchmarkAuthorizeRole", "decisions/s", 1}},
		{"policy.Evaluate alone, 10 policies × 10 statements (decisions/s)", figure{"BenchmarkEvaluate10x10", "decisions/s", 1}},
		{"wildcard match: 1,000 stars against 64 KiB, matching after walking it all (reliability.md §2 item 22) (ms)", figure{"BenchmarkMatchAdversarial/match", "ns/op", ns2ms}},
		{"wildcard match: 1,000 stars and a trailing star against 64 KiB, no match (ms)", figure{"BenchmarkMatchAdversarial/trailing-star", "ns/op", ns2ms}},
		{"wildcard match, worst case: one 1 KiB star-free piece against 64 KiB (ms)", figure{"BenchmarkMatchWorstCase/literal", "ns/op", ns2ms}},
		{"wildcard match, worst case with `?` (ms)", figure{"BenchmarkMatchWorstCase/question", "ns/op", ns2ms}},
	}},
}

func report(w io.Writer, s samples, cpu, imageMB string, when time.Time) {
	machine := fmt.Sprintf("nproc %d, %s, %s", runtime.NumCPU(), cpu, runtime.Version())
	fmt.Fprintf(w, "# In-process figures: Go benchmarks\n\n")
	fmt.Fprintf(w, "Run %s by `bench/run.sh go` (`go test -bench`, several -count runs). Cells: median (min–max, n runs). Where two ways of doing the same thing were measured in the same run, the ratio is the slower over the faster.\n", when.UTC().Format("2006-01-02 15:04 UTC"))
	for _, t := range pairs {
		fmt.Fprintf(w, "\n## %s\n\n| figure | %s | %s | ratio | machine |\n| --- | --- | --- | --- | --- |\n", t.title, t.fastName, t.slowName)
		for _, r := range t.rows {
			fast, okF := s.get(r.fast)
			slow, okS := s.get(r.slow)
			ratio := "—"
			if okF && okS && fast.med > 0 {
				ratio = fmt.Sprintf("%s×", num(slow.med/fast.med))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", strings.ReplaceAll(r.label, "$IMAGE_MB", imageMB), cell(fast, okF), cell(slow, okS), ratio, machine)
		}
	}
	for _, t := range singles {
		fmt.Fprintf(w, "\n## %s\n\n| figure | rolepull | machine |\n| --- | --- | --- |\n", t.title)
		for _, r := range t.rows {
			st, ok := s.get(r.f)
			fmt.Fprintf(w, "| %s | %s | %s |\n", r.label, cell(st, ok), machine)
		}
	}
}

func main() {
	out := flag.String("out", "", "the Markdown file to write (required)")
	imageMB := flag.String("image-mb", "1024", "the pod-start image's size, for the label")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: go test -bench ... | gobench -out FILE.md [-image-mb N]")
		os.Exit(2)
	}
	s, cpu, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobench:", err)
		os.Exit(1)
	}
	if len(s) == 0 {
		fmt.Fprintln(os.Stderr, "gobench: no benchmark results on stdin")
		os.Exit(1)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobench:", err)
		os.Exit(1)
	}
	report(f, s, cpu, *imageMB, time.Now())
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "gobench:", err)
		os.Exit(1)
	}
}
