package kube

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/rolepull/rolepull/internal/store/bolt"
)

// The corpus is the manifest language as a contract: every adversarial
// input of reliability.md §3.7 and §3.8 is a file under testdata/accepted
// or testdata/rejected, named NN-what.yaml for item NN. A file moving from
// rejected to accepted is a deliberate widening, the other way a breaking
// change. Each file opens with YAML comment lines:
//
//	# reliability.md §3.7 item 67: what the input is
//	# want: a substring the error must contain (rejected; one or more)
//	# warn: a substring of a warning (accepted; every warning needs one)
//
// Inputs too big to store (item 68's 10 MB file, item 75's 10,000 images)
// are built by TestCorpusGenerated.

// corpusTarget is who applies the corpus: acr-service-arns in the files
// name roles of this account.
var corpusTarget = Target{Account: "1609982529000000", Namespace: "default"}

type corpusFile struct {
	name string // the file name without .yaml
	data []byte
	want []string
	warn []string
}

var corpusTitle = regexp.MustCompile(`^# reliability\.md §(3\.[78]) item ([0-9]+): \S`)

func readCorpus(tb testing.TB, dir string) []corpusFile {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) == 0 {
		tb.Fatalf("no corpus files in testdata/%s", dir)
	}
	var out []corpusFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		f := corpusFile{name: strings.TrimSuffix(filepath.Base(p), ".yaml"), data: data}
		if err := f.readHeader(); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		if dir == "rejected" && len(f.want) == 0 {
			tb.Fatalf("%s: a rejected file needs at least one # want: line", p)
		}
		if dir == "accepted" && len(f.want) > 0 {
			tb.Fatalf("%s: # want: lines belong in rejected files", p)
		}
		if dir == "rejected" && len(f.warn) > 0 {
			tb.Fatalf("%s: # warn: lines belong in accepted files", p)
		}
		out = append(out, f)
	}
	return out
}

// readHeader reads the leading comment lines: the title, which must name
// the item the file name starts with, then # want: and # warn: lines.
func (f *corpusFile) readHeader() error {
	num, _, _ := strings.Cut(f.name, "-")
	item, err := strconv.Atoi(num)
	if err != nil || item < 66 || item > 78 {
		return fmt.Errorf("the file name must start with a reliability.md item number, 66–78")
	}
	text := string(bytes.TrimPrefix(f.data, []byte("\xef\xbb\xbf")))
	if b, ok := bytes.CutPrefix(f.data, []byte{0xff, 0xfe}); ok { // a UTF-16LE file
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
		text = string(utf16.Decode(u))
	}
	lines := strings.Split(text, "\n")
	m := corpusTitle.FindStringSubmatch(strings.TrimRight(lines[0], "\r"))
	if m == nil {
		return fmt.Errorf("the first line must read: # reliability.md §3.N item NN: <what it is>")
	}
	wantSection := "3.7"
	if item >= 73 {
		wantSection = "3.8"
	}
	if m[1] != wantSection || m[2] != num {
		return fmt.Errorf("the title names §%s item %s, the file name item %d of §%s", m[1], m[2], item, wantSection)
	}
	for _, line := range lines[1:] {
		line = strings.TrimRight(line, "\r")
		if !strings.HasPrefix(line, "#") {
			break
		}
		if v, ok := strings.CutPrefix(line, "# want:"); ok {
			f.want = append(f.want, strings.TrimSpace(v))
		} else if v, ok := strings.CutPrefix(line, "# warn:"); ok {
			f.warn = append(f.warn, strings.TrimSpace(v))
		}
	}
	for _, s := range append(f.want, f.warn...) {
		if s == "" {
			return fmt.Errorf("an empty # want: or # warn: line")
		}
	}
	return nil
}

// newCorpusService returns a Service over an empty store: only the
// Namespaces and Secrets of a file itself (and default, kube-system) exist.
func newCorpusService(t *testing.T) *Service {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), bolt.Options{})
	if err != nil {
		t.Fatalf("bolt.Open() = %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return &Service{st: st}
}

// decodeAndValidate runs what Apply runs before it applies anything, and
// checks the all-or-nothing contract: an error comes with no objects.
func decodeAndValidate(t *testing.T, s *Service, manifest []byte) ([]string, error) {
	t.Helper()
	objs, err := Decode(manifest)
	if err != nil {
		if objs != nil {
			t.Errorf("Decode returned %d objects together with %v", len(objs), err)
		}
		return nil, err
	}
	plans, warnings, err := s.validate(t.Context(), corpusTarget, objs)
	if err != nil {
		if plans != nil {
			t.Errorf("validate returned %d plans together with %v", len(plans), err)
		}
		return warnings, err
	}
	if len(plans) != len(objs) {
		t.Errorf("validate returned %d plans for %d objects", len(plans), len(objs))
	}
	return warnings, nil
}

func TestCorpus(t *testing.T) {
	s := newCorpusService(t)
	t.Run("accepted", func(t *testing.T) {
		for _, f := range readCorpus(t, "accepted") {
			t.Run(f.name, func(t *testing.T) {
				warnings, err := decodeAndValidate(t, s, f.data)
				if err != nil {
					t.Fatalf("Decode and validate = %v, want success", err)
				}
				for _, w := range f.warn {
					if !containsAny(warnings, w) {
						t.Errorf("no warning contains %q; warnings: %q", w, warnings)
					}
				}
				for _, got := range warnings {
					if !containsAny([]string{got}, f.warn...) {
						t.Errorf("unexpected warning %q: add a # warn: line if it is meant", got)
					}
				}
			})
		}
	})
	t.Run("rejected", func(t *testing.T) {
		for _, f := range readCorpus(t, "rejected") {
			t.Run(f.name, func(t *testing.T) {
				_, err := decodeAndValidate(t, s, f.data)
				if err == nil {
					t.Fatal("Decode and validate succeeded, want an error")
				}
				checkValidationError(t, err)
				for _, w := range f.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not contain %q:\n%v", w, err)
					}
				}
			})
		}
	})
}

// containsAny reports whether one of ss contains one of subs.
func containsAny(ss []string, subs ...string) bool {
	for _, s := range ss {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
	}
	return false
}

// checkValidationError checks that err is a *ValidationError whose every
// entry has a message.
func checkValidationError(t *testing.T, err error) {
	t.Helper()
	ve, ok := errors.AsType[*ValidationError](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	if len(ve.Errs) == 0 {
		t.Errorf("*ValidationError with no entries")
	}
	for _, fe := range ve.Errs {
		if fe.Msg == "" {
			t.Errorf("entry %+v has no message", fe)
		}
	}
}

// TestCorpusGenerated holds the corpus inputs too large to keep in
// testdata.
func TestCorpusGenerated(t *testing.T) {
	s := newCorpusService(t)

	// Item 68: a 10 MB manifest is refused by its length, before it is
	// read line by line or parsed.
	t.Run("68-10MB-manifest", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n")
		for i := 0; b.Len() < 10<<20; i++ {
			fmt.Fprintf(&b, "    example.com/note-%07d: %q\n", i, strings.Repeat("x", 100))
		}
		b.WriteString("spec:\n  containers:\n  - name: web\n    image: nginx\n")
		manifest := b.Bytes()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(manifest)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Decode(%d bytes) = %v, want ErrTooLarge", len(manifest), err)
		}
		if want := fmt.Sprintf("%d bytes, at most %d", len(manifest), MaxManifestBytes); !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%d bytes) = %v, want it to say %q", len(manifest), err, want)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("Decode allocated %d bytes refusing a %d-byte manifest: it read or parsed it", alloc, len(manifest))
		}
	})

	// Item 68: under the file cap, one document over the document cap.
	t.Run("68-2MB-document", func(t *testing.T) {
		manifest := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n  annotations:\n    example.com/note: \"" +
			strings.Repeat("x", 2<<20) + "\"\n"
		_, err := decodeAndValidate(t, s, []byte(manifest))
		if err == nil {
			t.Fatal("Decode and validate succeeded, want an error")
		}
		checkValidationError(t, err)
		if want := fmt.Sprintf("document 1: document of %d bytes, at most %d", len(manifest), MaxDocumentBytes); !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	})

	// Item 68: a document under every size cap whose aliases name a
	// 400 KB block 100,000 times — 40 GB once expanded. It is refused from
	// its node tree, before anything expands it.
	t.Run("68-aliases-multiply-a-1MB-document", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    big: &big \"")
		b.WriteString(strings.Repeat("x", 400<<10))
		b.WriteString("\"\nspec:\n  copies: [")
		for i := range 100_000 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("*big")
		}
		b.WriteString("]\n")
		manifest := b.Bytes()
		if len(manifest) > MaxDocumentBytes {
			t.Fatalf("the test document is %d bytes, over MaxDocumentBytes", len(manifest))
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := decodeAndValidate(t, s, manifest)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatal("Decode and validate succeeded, want an error")
		}
		checkValidationError(t, err)
		if want := "document 1 (Pod): yaml: its aliases expand it past"; !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
			t.Errorf("refusing a %d-byte document allocated %d bytes: its aliases were expanded", len(manifest), alloc)
		}
	})

	// Item 68: more documents than the cap, each small.
	t.Run("68-257-documents", func(t *testing.T) {
		var b strings.Builder
		for i := range MaxDocuments + 1 {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-%d\n", i)
		}
		_, err := decodeAndValidate(t, s, []byte(b.String()))
		if err == nil {
			t.Fatal("Decode and validate succeeded, want an error")
		}
		checkValidationError(t, err)
		if want := fmt.Sprintf("document %d: more than %d documents in one file", MaxDocuments+1, MaxDocuments); !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	})

	// Item 75: 10,000 images in one ImageCache.
	t.Run("75-10000-images", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("apiVersion: eci.alibabacloud.com/v1\nkind: ImageCache\nmetadata:\n  name: nginx-cache\nspec:\n  images:\n")
		for i := range 10000 {
			fmt.Fprintf(&b, "  - registry.cn-hangzhou.aliyuncs.com/eci_open/app-%05d:1.0\n", i)
		}
		_, err := decodeAndValidate(t, s, []byte(b.String()))
		if err == nil {
			t.Fatal("Decode and validate succeeded, want an error")
		}
		checkValidationError(t, err)
		if want := "document 1 (ImageCache nginx-cache): spec.images: 10000 images, at most 100"; !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	})
}
