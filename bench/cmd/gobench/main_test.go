package main

import (
	"strings"
	"testing"
	"time"
)

const sample = `goos: linux
cpu: Test CPU @ 2GHz
BenchmarkCredentialChain/cold-2         	     200	    130000 ns/op
BenchmarkCredentialChain/cached-2       	     200	       290 ns/op
BenchmarkCredentialChain/cold-2         	     200	    120000 ns/op
BenchmarkCredentialChain/cached-2       	     200	       310 ns/op
BenchmarkCredentialChain/cold-2         	     200	    140000 ns/op
BenchmarkCredentialChain/cached-2       	     200	       300 ns/op
BenchmarkAssumeRole/http-2              	     300	    161000 ns/op	      6194 calls/s	   12 B/op	  3 allocs/op
PASS
ok  	github.com/rolepull/rolepull/test/e2e	1.2s
`

func TestReport(t *testing.T) {
	s, cpu, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if cpu != "Test CPU @ 2GHz" {
		t.Errorf("cpu = %q", cpu)
	}
	if got := s["BenchmarkCredentialChain/cold"]["ns/op"]; len(got) != 3 {
		t.Fatalf("cold runs = %v, want 3", got)
	}
	var b strings.Builder
	report(&b, s, cpu, "1024", time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
	out := b.String()
	for _, want := range []string{
		"| 0.3 (0.29–0.31, n=3) | 130 (120–140, n=3) | 433× |", // µs; ratio cold/cached
		"| 6194 (6194–6194, n=1) |",
		"| not run |", // a benchmark absent from the input
		"Run 2026-11-27 10:00 UTC",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestParseRejectsUnpairedValues(t *testing.T) {
	if _, _, err := parse(strings.NewReader("BenchmarkX-2  10  5 ns/op 7\n")); err == nil {
		t.Error("a result line with a value and no unit parsed")
	}
}
