package leakcheck

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps what Check reports.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Failed() bool { return false }

func (r *recorder) Error(args ...any) {
	r.mu.Lock()
	r.errors = append(r.errors, fmt.Sprint(args...))
	r.mu.Unlock()
}

func (r *recorder) Errorf(format string, args ...any) { r.Error(fmt.Sprintf(format, args...)) }

func TestCheck(t *testing.T) {
	settle = 200 * time.Millisecond
	t.Cleanup(func() { settle = 10 * time.Second })

	for _, tt := range []struct {
		name string
		leak func(t *testing.T) (undo func())
		want string // "" for a clean run
	}{
		{"nothing left behind", func(*testing.T) func() {
			done := make(chan struct{})
			go func() { <-done }()
			close(done) // ends within the grace period
			return func() {}
		}, ""},
		{"a goroutine left blocked", func(*testing.T) func() {
			stop := make(chan struct{})
			go func() { <-stop }()
			return func() { close(stop) }
		}, "goroutines started by the test are still running"},
		{"a file left open", func(t *testing.T) func() {
			f, err := os.Open(os.Args[0])
			if err != nil {
				t.Fatal(err)
			}
			return func() { f.Close() }
		}, "file descriptors opened by the test are still open"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &Baseline{goroutines: goroutineIDs(), fds: openFDs()}
			undo := tt.leak(t)
			r := &recorder{TB: t}
			b.Check(r)
			undo()
			got := strings.Join(r.errors, "\n")
			switch {
			case tt.want == "" && got != "":
				t.Errorf("Check reported a leak that is not there:\n%s", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("Check = %q, want it to report %q", got, tt.want)
			}
		})
	}
}

func TestEmptyDir(t *testing.T) {
	dir := t.TempDir()
	r := &recorder{TB: t}
	EmptyDir(r, dir)
	EmptyDir(r, dir+"/missing")
	if len(r.errors) > 0 {
		t.Fatalf("EmptyDir of an empty dir: %v", r.errors)
	}
	os.WriteFile(dir+"/partial", nil, 0o600)
	EmptyDir(r, dir)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "partial") {
		t.Fatalf("EmptyDir with a leftover file: %v", r.errors)
	}
}
