package keyring

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadCreatesOnceAndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	k1, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := k1.Secret(PurposeAccessKey, "LTAIx"), k2.Secret(PurposeAccessKey, "LTAIx"); a != b {
		t.Errorf("reloaded keyring derives %q, want %q", b, a)
	}
}

func TestLoadRefusesLooseMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Fatal("Load accepted a world-readable master key")
	}
}

func TestDeriveSeparatesPurposesAndIDs(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, p := range []string{PurposeAccessKey, PurposeSTSSecret, PurposeSTSToken} {
		for _, id := range []string{"a", "b", "ab"} {
			s := k.Secret(p, id)
			if len(s) != 30 {
				t.Errorf("Secret(%q, %q) has %d characters, want 30", p, id, len(s))
			}
			if prev, dup := seen[s]; dup {
				t.Errorf("Secret(%q, %q) equals %s", p, id, prev)
			}
			seen[s] = p + "/" + id
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "zz", "00"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestSeal(t *testing.T) {
	k, _ := Generate()
	other, _ := Generate()
	sealed, err := k.Seal("eci-1", []byte("canary-password"))
	if err != nil {
		t.Fatal(err)
	}
	if string(sealed) == "canary-password" || len(sealed) < 20 {
		t.Fatal("Seal returned the plaintext")
	}
	if got, err := k.Open("eci-1", sealed); err != nil || string(got) != "canary-password" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open("eci-2", sealed); err == nil {
		t.Error("opened under another context")
	}
	if _, err := other.Open("eci-1", sealed); err == nil {
		t.Error("opened with another master key")
	}
}
