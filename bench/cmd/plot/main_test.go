package main

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const md = `# registry

| figure | rolepull | peer | ratio | machine |
| --- | --- | --- | --- | --- |
| *1 GiB blob GET (MB/s) | 1240 | 1246 | 1.00 (meets goal) | m |
| server CPU per GB (core-s/GB) | 0.54 | 0.47 | 0.88 | m |

| figure | go-containerregistry | oras-go | ggcr + GET | oras vs ggcr | machine |
| --- | --- | --- | --- | --- | --- |
| pull (MB/s) | 496 | 755 | 779 | 1.52 | m |
`
	bars, err := parse(strings.NewReader(md))
	if err != nil {
		t.Fatal(err)
	}
	want := []bar{{"1 GiB blob GET (MB/s)", 1.00, true}, {"server CPU per GB (core-s/GB)", 0.88, false}}
	if len(bars) != len(want) {
		t.Fatalf("parse = %+v, want %+v (the library table has no peer column and is not plotted)", bars, want)
	}
	for i := range want {
		if bars[i] != want[i] {
			t.Errorf("bar %d = %+v, want %+v", i, bars[i], want[i])
		}
	}

	for _, bad := range []struct{ name, md string }{
		{"ratio not a number", "| figure | rolepull | peer | ratio |\n| --- |\n| x | 1 | 2 | n/a |\n"},
		{"ratio zero", "| figure | rolepull | peer | ratio |\n| --- |\n| x | 1 | 2 | 0 |\n"},
		{"short row", "| figure | rolepull | peer | ratio |\n| --- |\n| x | 1 |\n"},
	} {
		if _, err := parse(strings.NewReader(bad.md)); err == nil || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("%s: parse error %v, want one naming line 3", bad.name, err)
		}
	}
}

// The SVG is well-formed XML, escapes figure names and draws one bar per
// figure.
func TestSVG(t *testing.T) {
	out := svg([]bar{{"a <b> & c", 2.5, true}, {"d", 0.5, false}})
	d := xml.NewDecoder(strings.NewReader(out))
	rects := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, out)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	if rects != 3 { // the background and two bars
		t.Errorf("%d rects, want 3:\n%s", rects, out)
	}
	if !strings.Contains(out, "2.50×") || !strings.Contains(out, "0.50×") {
		t.Errorf("values not labelled:\n%s", out)
	}
}
