package leakcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// settle is how long Check waits for goroutines and descriptors to wind
// down: servers close connections and goroutines return asynchronously.
var settle = 10 * time.Second

// ignored names goroutines that are not a test's to clean up: process-wide
// workers started once, on first use, by a library, and never stopped.
var ignored = []string{
	"testing.(*T).Run",      // the test's own parent
	"testing.tRunner",       // the test itself, and siblings
	"testing.runFuzzing",    // the fuzzing coordinator
	"runtime.goexit0",       // exiting
	"os/signal.signal_recv", // signal.Notify's loop, process-wide
	// distribution's App starts a notifications broadcaster its Shutdown
	// does not stop (the field is unexported): one per instance engine
	// ever opened, a bounded cost rolepull cannot avoid.
	"github.com/docker/go-events.(*Broadcaster).run",
}

// Baseline is what a process held when a test started.
type Baseline struct {
	goroutines map[int]bool
	fds        map[int]string // descriptor → what it refers to
}

// Start records the baseline and registers a cleanup that checks it: call
// it first in a test, so that the check runs after every other cleanup
// (cleanups run last-registered first) — after servers shut down and
// temporary directories are removed.
func Start(t testing.TB) *Baseline {
	t.Helper()
	b := &Baseline{goroutines: goroutineIDs(), fds: openFDs()}
	t.Cleanup(func() { b.Check(t) })
	return b
}

// Check fails t when goroutines or file descriptors opened since the
// baseline are still there after a grace period, listing them.
func (b *Baseline) Check(t testing.TB) {
	t.Helper()
	if t.Failed() {
		return // the leak is likely the failure's consequence; do not bury it
	}
	deadline := time.Now().Add(settle)
	for {
		gs, fds := b.leakedGoroutines(), b.leakedFDs()
		if len(gs) == 0 && len(fds) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var msg strings.Builder
			if len(gs) > 0 {
				fmt.Fprintf(&msg, "%d goroutines started by the test are still running:\n\n%s\n", len(gs), strings.Join(gs, "\n\n"))
			}
			if len(fds) > 0 {
				fmt.Fprintf(&msg, "%d file descriptors opened by the test are still open:\n  %s\n", len(fds), strings.Join(fds, "\n  "))
			}
			t.Error(msg.String())
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// EmptyDir fails t when dir holds any entry (a missing dir is empty).
func EmptyDir(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) > 0 {
		t.Errorf("%s should be empty, but holds %s", dir, strings.Join(names, ", "))
	}
}

func (b *Baseline) leakedGoroutines() []string {
	var out []string
	for _, g := range goroutines() {
		if b.goroutines[g.id] || g.ignored() {
			continue
		}
		out = append(out, g.stack)
	}
	return out
}

func (b *Baseline) leakedFDs() []string {
	var out []string
	for fd, target := range openFDs() {
		if was, ok := b.fds[fd]; ok && was == target {
			continue
		}
		out = append(out, strconv.Itoa(fd)+" → "+target)
	}
	slices.Sort(out)
	return out
}

type goroutine struct {
	id    int
	stack string
}

func (g goroutine) ignored() bool {
	for _, fn := range ignored {
		if strings.Contains(g.stack, "\n"+fn+"(") || strings.Contains(g.stack, "\ncreated by "+fn) {
			return true
		}
	}
	return false
}

// goroutines parses runtime.Stack's dump of every goroutine.
func goroutines() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for _, block := range strings.Split(string(buf), "\n\n") {
		// "goroutine 42 [chan receive]:\n..."
		rest, ok := strings.CutPrefix(block, "goroutine ")
		if !ok {
			continue
		}
		idStr, _, _ := strings.Cut(rest, " ")
		id, err := strconv.Atoi(idStr)
		if err != nil {
			continue
		}
		out = append(out, goroutine{id: id, stack: block})
	}
	return out
}

func goroutineIDs() map[int]bool {
	ids := make(map[int]bool)
	for _, g := range goroutines() {
		ids[g.id] = true
	}
	return ids
}

// openFDs lists this process's descriptors where the system says
// (/proc/self/fd); elsewhere it returns nothing and only goroutines are
// checked.
func openFDs() map[int]string {
	fds := make(map[int]string)
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fds
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // the descriptor ReadDir itself used, closed by now
		}
		fds[fd] = target
	}
	return fds
}
