package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// figure is one row of the report. Ratios are oriented so that ≥ 1 means
// rolepull does at least as well as the peer: rolepull/peer for rates,
// peer/rolepull for costs.
type figure struct {
	key, label, unit string
	higherBetter     bool
	acceptance       bool // one of the acceptance figures (goal ≥ 0.95)
}

var figures = []figure{
	{"blob-get-verified", "BLOB blob GET, bearer token, client SHA-256 verifies", "MB/s", true, true},
	{"blob-get-read", "BLOB blob GET, bearer token, body read and discarded", "MB/s", true, false},
	{"blob-get-verified-srvcpu", "server CPU per GB served (verified GETs)", "core-s/GB", false, false},
	{"head-c16", "HEAD manifest, bearer token, ab -k -c 16", "req/s", true, true},
	{"head-c64", "HEAD manifest, bearer token, ab -k -c 64", "req/s", true, true},
	{"head-c16-srvcpu", "server CPU per HEAD request (c 16)", "µs", false, false},
	{"head-c64-srvcpu", "server CPU per HEAD request (c 64)", "µs", false, false},
}

// Goal is the acceptance ratio.
const Goal = 0.95

// report reads the raw TSV rows (FIGURE SIDE RUN VALUE) and writes the
// markdown report to -out and stdout.
func report(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	raw := fs.String("raw", "", "raw TSV rows (required)")
	out := fs.String("out", "", "write the markdown report here")
	peer := fs.String("peer", "CNCF distribution registry v3.1.2", "the peer's name")
	blobSize := fs.String("blob", "1 GiB", "the blob's size, for the labels")
	var notes []string
	fs.Func("note", "a line under the table (repeatable)", func(s string) error { notes = append(notes, s); return nil })
	if err := fs.Parse(args); err != nil {
		return err
	}
	values, err := readRaw(*raw)
	if err != nil {
		return err
	}
	var b strings.Builder
	machine := machineLine()
	fmt.Fprintf(&b, "# rolepull registry vs %s\n\n", *peer)
	fmt.Fprintf(&b, "Run %s. Cells: median (min–max, n runs). Ratio ≥ 1 means rolepull does at least as well "+
		"(rolepull/peer for rates, peer/rolepull for costs); goal ≥ %.2f on the acceptance figures (*).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), Goal)
	fmt.Fprintf(&b, "| figure | rolepull | peer | ratio | machine |\n| --- | --- | --- | --- | --- |\n")
	for _, f := range figures {
		r, p := values[f.key+"\trolepull"], values[f.key+"\tpeer"]
		if len(r) == 0 && len(p) == 0 {
			continue
		}
		label := fmt.Sprintf("%s (%s)", strings.Replace(f.label, "BLOB", *blobSize, 1), f.unit)
		if f.acceptance {
			label = "*" + label
		}
		ratio := "n/a"
		if len(r) > 0 && len(p) > 0 {
			q := median(r) / median(p)
			if !f.higherBetter {
				q = median(p) / median(r)
			}
			ratio = fmt.Sprintf("%.2f", q)
			if f.acceptance {
				mark := "meets"
				if q < Goal {
					mark = "below"
				}
				ratio += " (" + mark + " goal)"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", label, cell(r), cell(p), ratio, machine)
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return err
	}
	if *out == "" {
		return nil
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

func readRaw(path string) (map[string][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	values := map[string][]float64{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			return nil, fmt.Errorf("%s:%d: want FIGURE SIDE RUN VALUE", path, line)
		}
		v, err := strconv.ParseFloat(cols[3], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		values[cols[0]+"\t"+cols[1]] = append(values[cols[0]+"\t"+cols[1]], v)
	}
	return values, sc.Err()
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func cell(xs []float64) string {
	if len(xs) == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (%s–%s, n=%d)", num(median(xs)), num(slices.Min(xs)), num(slices.Max(xs)), len(xs))
}

func num(x float64) string {
	switch {
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 1:
		return strconv.FormatFloat(x, 'f', 2, 64)
	default:
		return strconv.FormatFloat(x, 'f', 3, 64)
	}
}

// machineLine names the CPU count, model, kernel and Go version.
func machineLine() string {
	model, cpus := "unknown CPU", 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			switch k = strings.TrimSpace(k); {
			case !ok:
			case k == "processor":
				cpus++
			case k == "model name":
				model = strings.TrimSpace(v)
			}
		}
	}
	kernel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		kernel = []byte("?")
	}
	return fmt.Sprintf("nproc %d, %s, Linux %s, %s", cpus, model, strings.TrimSpace(string(kernel)), runtime.Version())
}
