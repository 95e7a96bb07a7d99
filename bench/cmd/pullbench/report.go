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

// PodGoal is the goal for the pod pull ratio.
const PodGoal = 1.0

type podFigure struct {
	key, peer, label, unit string
	higherBetter, goal     bool
}

var podFigures = []podFigure{
	{"pod-pull", "crane-sync", "*pod pull IMAGE → ImagesReady, cold store, vs `crane pull --format oci` + `sync` — **the fair comparison**: both durable", "MB/s", true, true},
	{"pod-pull", "crane", "*pod pull IMAGE → ImagesReady, cold store, vs `crane pull --format oci` (crane's writes left in the page cache)", "MB/s", true, true},
	{"pod-cpu", "crane", "CPU per GB, every process of the pull (rolepull: its one process, client + registry; peer: crane + registry)", "core-s/GB", false, false},
}

type libFigure struct {
	key, label, unit string
	higherBetter     bool
}

var libFigures = []libFigure{
	{"lib-pull", "pull IMAGE into content.Ingest, concurrency 4", "MB/s", true},
	{"lib-cpu", "client CPU per GB, user + sys (getrusage)", "core-s/GB", false},
	{"lib-user", "client CPU per GB, user", "core-s/GB", false},
	{"lib-sys", "client CPU per GB, sys", "core-s/GB", false},
	{"lib-srvcpu", "registry CPU per GB (rolepull's registry process)", "core-s/GB", false},
}

// report reads the raw rows and writes bench/results/pull.md.
func report(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	raw := fs.String("raw", "", "raw TSV rows (required)")
	out := fs.String("out", "", "write the markdown report here")
	imageLabel := fs.String("image", "1 GiB image of 8 layers", "the image, for the labels")
	ggcrV := fs.String("ggcr", "go-containerregistry v0.22.1", "ggcr's name and version")
	orasV := fs.String("oras", "oras-go v2.7.0", "oras-go's name and version")
	notesFile := fs.String("notes", "", "lines SECTION<TAB>TEXT (SECTION pod or lib) to print under each table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var podNotes, libNotes []string
	if *notesFile != "" {
		b, err := os.ReadFile(*notesFile)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			sec, text, ok := strings.Cut(l, "\t")
			switch {
			case !ok:
			case sec == "pod":
				podNotes = append(podNotes, text)
			case sec == "lib":
				libNotes = append(libNotes, text)
			}
		}
	}
	values, err := readRaw(*raw)
	if err != nil {
		return err
	}
	machine := machineLine()
	var b strings.Builder
	fmt.Fprintf(&b, "# Image pull: rolepull pods vs crane pull, and the client library\n\n")
	fmt.Fprintf(&b, "Run %s. Cells: median (min–max, n runs). Ratio ≥ 1 means rolepull does at least as well "+
		"(rolepull/peer for rates, peer/rolepull for costs); the issue's goal is ≥ %.1f on the figures marked *.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), PodGoal)

	if hasPrefix(values, "pod-") {
		fmt.Fprintf(&b, "## Pod pull vs crane pull\n\n")
		fmt.Fprintf(&b, "| figure | rolepull | peer | ratio | machine |\n| --- | --- | --- | --- | --- |\n")
		for _, f := range podFigures {
			r, p := values[f.key+"\trolepull"], values[f.key+"\t"+f.peer]
			if len(r) == 0 && len(p) == 0 {
				continue
			}
			ratio := "n/a"
			if len(r) > 0 && len(p) > 0 {
				q := median(r) / median(p)
				if !f.higherBetter {
					q = median(p) / median(r)
				}
				ratio = fmt.Sprintf("%.2f", q)
				if f.goal {
					mark := "meets goal"
					if q < PodGoal {
						mark = "below goal"
					}
					ratio += " (" + mark + ")"
				}
			}
			label := fmt.Sprintf("%s (%s)", strings.Replace(f.label, "IMAGE", *imageLabel, 1), f.unit)
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", label, cell(r), cell(p), ratio, machine)
		}
		if c := values["pod-clientcpu\tcrane"]; len(c) > 0 {
			fmt.Fprintf(&b, "\ncrane's own CPU (client only): %s core-s/GB.\n", cell(c))
		}
		notes(&b, podNotes)
	}

	if hasPrefix(values, "lib-") {
		sides := []string{"ggcr", "oras", "ggcr-transport"}
		fmt.Fprintf(&b, "\n## Client library: %s vs %s\n\n", *ggcrV, *orasV)
		fmt.Fprintf(&b, "| figure | %s | %s | ggcr transport + plain GET | oras vs ggcr | machine |\n| --- | --- | --- | --- | --- | --- |\n", *ggcrV, *orasV)
		for _, f := range libFigures {
			var cells []string
			any := false
			for _, s := range sides {
				v := values[f.key+"\t"+s]
				any = any || len(v) > 0
				cells = append(cells, cell(v))
			}
			if !any {
				continue
			}
			ratio := "n/a"
			g, o := values[f.key+"\tggcr"], values[f.key+"\toras"]
			if len(g) > 0 && len(o) > 0 {
				q := median(o) / median(g)
				if !f.higherBetter {
					q = median(g) / median(o)
				}
				ratio = fmt.Sprintf("%.2f", q)
			}
			label := fmt.Sprintf("%s (%s)", strings.Replace(f.label, "IMAGE", *imageLabel, 1), f.unit)
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", label, strings.Join(cells, " | "), ratio, machine)
		}
		fmt.Fprintf(&b, "\nRatio ≥ 1: oras-go does better (oras/ggcr for rates, ggcr/oras for costs).\n")
		notes(&b, libNotes)
	}

	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return err
	}
	if *out == "" {
		return nil
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

func notes(b *strings.Builder, ns []string) {
	if len(ns) == 0 {
		return
	}
	b.WriteString("\n")
	for _, n := range ns {
		fmt.Fprintf(b, "- %s\n", n)
	}
}

func hasPrefix(values map[string][]float64, p string) bool {
	for k := range values {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
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
