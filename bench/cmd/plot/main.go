// Command plot draws the ratio column of bench/run.sh's tables as an SVG
// bar chart: one bar per figure, rolepull against its peer, with the line
// at 1.0 where the two are equal. It reads the Markdown tables whose header
// is "| figure | rolepull | peer | ratio | machine |" and ignores the rest.
//
//	plot -out bench/results/ratios.svg bench/results/registry.md bench/results/pull.md
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"os"
	"strconv"
	"strings"
)

// bar is one figure of a table.
type bar struct {
	figure string
	ratio  float64
	goal   bool // marked * in the table: an acceptance figure
}

func main() {
	out := flag.String("out", "", "the SVG file to write (required)")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: plot -out FILE.svg TABLE.md...")
		os.Exit(2)
	}
	var bars []bar
	for _, path := range flag.Args() {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "plot:", err)
			os.Exit(1)
		}
		b, err := parse(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "plot: %s: %v\n", path, err)
			os.Exit(1)
		}
		bars = append(bars, b...)
	}
	if len(bars) == 0 {
		fmt.Fprintln(os.Stderr, "plot: no table with a ratio column in", strings.Join(flag.Args(), ", "))
		os.Exit(1)
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, []byte(svg(bars)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
	if err := os.Rename(tmp, *out); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

// parse returns the rows of every "figure | rolepull | peer | ratio" table
// in r. A row whose ratio is not a number is an error naming its line.
func parse(r io.Reader) ([]bar, error) {
	var bars []bar
	in := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		cells := row(sc.Text())
		switch {
		case cells == nil:
			in = false
		case len(cells) >= 4 && cells[0] == "figure" && cells[1] == "rolepull" && cells[2] == "peer" && cells[3] == "ratio":
			in = true
		case in && strings.HasPrefix(cells[0], "---"):
		case in && len(cells) >= 4:
			field, _, _ := strings.Cut(cells[3], " ")
			v, err := strconv.ParseFloat(field, 64)
			if err != nil || v <= 0 {
				return nil, fmt.Errorf("line %d: ratio %q is not a positive number", line, cells[3])
			}
			fig, goal := strings.CutPrefix(cells[0], "*")
			bars = append(bars, bar{figure: strings.ReplaceAll(fig, "**", ""), ratio: v, goal: goal})
		case in:
			return nil, errors.New("line " + strconv.Itoa(line) + ": a table row with fewer than 4 cells")
		}
	}
	return bars, sc.Err()
}

// row splits a Markdown table row into trimmed cells, or returns nil when
// the line is not one.
func row(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
		return nil
	}
	parts := strings.Split(line[1:len(line)-1], "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// svg draws the bars on a linear scale from 0 to the largest ratio (at
// least 2), labelled with their figures and values.
func svg(bars []bar) string {
	const (
		labelW, plotW, barH, gap, top, width = 760, 320, 18, 8, 40, 760 + 320 + 70
	)
	maxV := 2.0
	for _, b := range bars {
		maxV = max(maxV, b.ratio)
	}
	x := func(v float64) float64 { return labelW + v/maxV*plotW }
	height := top + len(bars)*(barH+gap) + 30
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&s, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&s, `<text x="10" y="20" font-size="14" font-weight="bold">rolepull / peer, same run (≥ 1 favours rolepull; * acceptance figures)</text>`+"\n")
	for i, b := range bars {
		y := top + i*(barH+gap)
		label := strings.ReplaceAll(b.figure, "`", "")
		if len([]rune(label)) > 112 {
			label = string([]rune(label)[:111]) + "…"
		}
		if b.goal {
			label = "* " + label
		}
		fill := "#4c78a8"
		if b.ratio < 1 {
			fill = "#e45756"
		}
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+barH-5, html.EscapeString(label))
		fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelW, y, x(b.ratio)-labelW, barH, fill)
		fmt.Fprintf(&s, `<text x="%.1f" y="%d">%.2f×</text>`+"\n", x(b.ratio)+4, y+barH-5, b.ratio)
	}
	bottom := top + len(bars)*(barH+gap)
	fmt.Fprintf(&s, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-dasharray="4 3"/>`+"\n", x(1), top-6, x(1), bottom)
	fmt.Fprintf(&s, `<text x="%.1f" y="%d" text-anchor="middle">1.0 (equal)</text>`+"\n", x(1), bottom+16)
	s.WriteString("</svg>\n")
	return s.String()
}
