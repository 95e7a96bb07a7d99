// Command gobench turns `go test -bench` output (several -count runs) into
// the Markdown tables of bench/run.sh's "go" section: each figure is the
// median over runs with its range, and a pair of figures measured in the
// same run (a cache hit against a cold start, a cached credential against a
// cold one) gets their ratio.
//
//	go test -run '^$' -bench . -count 5 ./... | gobench -out bench/results/go.md
package main
