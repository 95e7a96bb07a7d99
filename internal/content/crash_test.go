//go:build unix

package content

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/rolepull/rolepull/internal/leakcheck"
	"github.com/rolepull/rolepull/internal/store/bolt"
)

// The crash test re-executes the test binary as a child that ingests, pins,
// releases and collects blobs in a loop until it is killed with SIGKILL.
const (
	crashDirEnv  = "ROLEPULL_CONTENT_CRASH_DIR"  // set in the child: the store directory
	crashSeedEnv = "ROLEPULL_CONTENT_CRASH_SEED" // the child's blob sizes and bytes
	crashStepEnv = "ROLEPULL_CONTENT_CRASH_STEP" // the child kills itself at this step...
	crashNthEnv  = "ROLEPULL_CONTENT_CRASH_NTH"  // ...the nth time it reaches it
	// crashPointsEnv sets how many random kill points the test tries
	// (default 20), on top of one kill at each named step.
	crashPointsEnv = "ROLEPULL_CRASH_POINTS"
)

// crashSteps are the named points of the commit protocol and of GC.
var crashSteps = []string{"written", "synced", "renamed", "committed", "gc-scanned", "gc-remove"}

// TestCrashSafety kills a child process at random moments and at each
// commit step, reopens the store after every kill and checks: the ingest
// directory is empty, every visible blob re-hashes to its digest (no partial
// blob is visible), and every blob the child acknowledged as committed and
// pinned is present.
func TestCrashSafety(t *testing.T) {
	leakcheck.Start(t)
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	base := t.TempDir()
	dir, metaPath := filepath.Join(base, "content"), filepath.Join(base, "meta.db")
	type point struct {
		step string // "" for a kill at a random time
		nth  int
	}
	var points []point
	for range envInt(t, crashPointsEnv, 20) {
		points = append(points, point{})
	}
	for _, step := range crashSteps {
		points = append(points, point{step, 1 + rand.IntN(3)})
	}
	rand.Shuffle(len(points), func(i, j int) { points[i], points[j] = points[j], points[i] })

	kept := make(map[digest.Digest]bool) // acknowledged and still pinned
	partials, acks := 0, 0
	defer func() {
		t.Logf("%d kills, %d of them left a partial ingest file; %d blobs acknowledged in all", len(points), partials, acks)
	}()
	for i, p := range points {
		name := fmt.Sprintf("%d random kill", i)
		if p.step != "" {
			name = fmt.Sprintf("%d kill at %s #%d", i, p.step, p.nth)
		}
		t.Run(name, func(t *testing.T) {
			acks += runCrashChild(t, dir, p.step, p.nth, kept)
			if checkAfterCrash(t, dir, metaPath, kept) {
				partials++
			}
		})
		if t.Failed() {
			return
		}
	}
}

// runCrashChild runs one child until it is killed, records what it
// acknowledged in kept and returns how many blobs it acknowledged.
func runCrashChild(t *testing.T, dir, step string, nth int, kept map[digest.Digest]bool) (acks int) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashSafety$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		crashDirEnv+"="+dir,
		crashSeedEnv+"="+strconv.FormatUint(rand.Uint64(), 10),
		crashStepEnv+"="+step,
		crashNthEnv+"="+strconv.Itoa(nth),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var other strings.Builder // the child's test output, if it fails
	handle := func(line string) {
		verb, arg, _ := strings.Cut(line, " ")
		switch verb {
		case "ready":
		case "kept":
			kept[digest.Digest(arg)] = true
			acks++
		case "releasing":
			delete(kept, digest.Digest(arg)) // may or may not survive now
		default:
			other.WriteString(line + "\n")
		}
	}
	var killAt <-chan time.Time
	for line := range lines {
		if line == "ready" && step == "" {
			killAt = time.After(time.Duration(rand.IntN(500)) * time.Millisecond)
			break
		}
		handle(line)
	}
	if killAt != nil {
	wait:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break wait // exited on its own: Wait reports how
				}
				handle(line)
			case <-killAt:
				_ = cmd.Process.Kill() // SIGKILL
				killAt = nil
			}
		}
	}
	for line := range lines {
		handle(line)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL; output:\n%s%s", err, other.String(), stderr.String())
	}
	return acks
}

// checkAfterCrash reopens the store as a restarted process would. It
// reports whether the kill left a partial ingest file behind.
func checkAfterCrash(t *testing.T, dir, metaPath string, kept map[digest.Digest]bool) bool {
	partial := len(listDir(t, filepath.Join(dir, "ingest"))) > 0
	meta, err := bolt.Open(metaPath, bolt.Options{})
	if err != nil {
		t.Fatalf("reopen metadata: %v", err)
	}
	defer meta.Close()
	s, err := Open(dir, meta, Options{})
	if err != nil {
		t.Fatalf("Open after a crash = %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	if names := listDir(t, s.ingestDir()); len(names) != 0 {
		t.Errorf("ingest/ after Open = %q, want empty", names)
	}
	bad, err := s.Verify(ctx, false)
	if err != nil || len(bad) != 0 {
		t.Errorf("Verify() after a crash = %v, %v: a visible blob does not match its digest", bad, err)
	}
	for d := range kept {
		if ok, err := s.Has(ctx, d); !ok || err != nil {
			t.Errorf("Has(%s) = %v, %v: an acknowledged, pinned blob was lost", d, ok, err)
		}
	}
	return partial
}

// crashChild is the child's side: it never returns normally, it is killed.
func crashChild(t *testing.T, dir string) {
	seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	meta, err := bolt.Open(filepath.Join(filepath.Dir(dir), "meta.db"), bolt.Options{})
	if err != nil {
		t.Fatalf("child: open metadata: %v", err)
	}
	// A grace of 1ns: whatever is unpinned is collected at once.
	s, err := Open(dir, meta, Options{GCGrace: time.Nanosecond})
	if err != nil {
		t.Fatalf("child: Open = %v", err)
	}
	if step := os.Getenv(crashStepEnv); step != "" {
		nth, _ := strconv.Atoi(os.Getenv(crashNthEnv))
		s.hook = func(got string) {
			if got == step {
				if nth--; nth <= 0 {
					_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {}
				}
			}
		}
	}
	ctx := t.Context()
	// Release what earlier children left pinned, so the disk use stays
	// bounded over many kills.
	kvs, _, err := meta.List(ctx, PinPrefix+"child-")
	if err != nil {
		t.Fatalf("child: list pins: %v", err)
	}
	for _, kv := range kvs {
		ds, err := decodePins(kv)
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		for _, d := range ds {
			fmt.Println("releasing", d)
		}
		if err := s.Unpin(ctx, strings.TrimPrefix(kv.Key, PinPrefix)); err != nil {
			t.Fatalf("child: Unpin = %v", err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var pinned []digest.Digest
	fmt.Println("ready")
	for i := uint64(0); ; i++ {
		size := 1 + rng.IntN(32<<20)
		if i%4 == 3 {
			size = rng.IntN(4096)
		}
		b, d := randomBlob(size, seed+i)
		claim := int64(size)
		if i%2 == 1 {
			claim = -1
		}
		if err := s.Ingest(ctx, d, claim, bytesFetch(b), nil); err != nil {
			t.Fatalf("child: Ingest(%s) = %v", d, err)
		}
		owner := "child-" + d.Encoded()[:16]
		if err := s.Pin(ctx, owner, []digest.Digest{d}); err != nil {
			t.Fatalf("child: Pin = %v", err)
		}
		fmt.Println("kept", d)
		if pinned = append(pinned, d); len(pinned) > 2 {
			old := pinned[0]
			pinned = pinned[1:]
			fmt.Println("releasing", old)
			if err := s.Unpin(ctx, "child-"+old.Encoded()[:16]); err != nil {
				t.Fatalf("child: Unpin = %v", err)
			}
		}
		if _, err := s.GC(ctx); err != nil {
			t.Fatalf("child: GC = %v", err)
		}
	}
}
