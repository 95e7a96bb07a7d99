package tlsca

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
)

func newKeys(t *testing.T) *keyring.Keyring {
	t.Helper()
	k, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var start = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func TestOpenMakesThenKeepsTheCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	keys := newKeys(t)
	clk := clock.NewFake(start)
	ca, err := Open(dir, keys, clk)
	if err != nil {
		t.Fatal(err)
	}
	c := ca.Certificate()
	if !c.IsCA || !c.MaxPathLenZero || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA certificate: IsCA %v, MaxPathLenZero %v, KeyUsage %v", c.IsCA, c.MaxPathLenZero, c.KeyUsage)
	}
	for name, mode := range map[string]os.FileMode{CertFile: 0o644, KeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	// The key is never on disk in the clear.
	sealed, _ := os.ReadFile(filepath.Join(dir, KeyFile))
	if bytes.Contains(sealed, []byte("PRIVATE KEY")) || bytes.Contains(sealed, []byte{0x30, 0x77, 0x02, 0x01, 0x01}) {
		t.Errorf("%s holds a plain private key", KeyFile)
	}

	again, err := Open(dir, keys, clk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.CertPEM(), ca.CertPEM()) {
		t.Error("a second Open made another CA; want the same one")
	}
	// A leaf from the reopened CA verifies against the first one's pool.
	l, err := again.Leaf("a-registry.cn-hangzhou.cr.aliyuncs.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "a-registry.cn-hangzhou.cr.aliyuncs.com", CurrentTime: start}); err != nil {
		t.Errorf("leaf of the reopened CA: %v", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, tt := range []struct {
		name    string
		breakIt func(t *testing.T, dir string, keys *keyring.Keyring) *keyring.Keyring // returns the keyring to reopen with, nil for keys
		want    string
	}{
		{"another master key", func(t *testing.T, dir string, keys *keyring.Keyring) *keyring.Keyring { return newKeys(t) }, "another master key"},
		{"key file missing", func(t *testing.T, dir string, keys *keyring.Keyring) *keyring.Keyring {
			os.Remove(filepath.Join(dir, KeyFile))
			return nil
		}, "ca.key.sealed does not"},
		{"certificate not PEM", func(t *testing.T, dir string, keys *keyring.Keyring) *keyring.Keyring {
			os.WriteFile(filepath.Join(dir, CertFile), []byte("not a certificate"), 0o644)
			return nil
		}, "is not one PEM certificate"},
		{"key of another CA", func(t *testing.T, dir string, keys *keyring.Keyring) *keyring.Keyring {
			// Both sealed under the same master key: the seal binds the key
			// to its certificate.
			other := t.TempDir()
			if _, err := Open(other, keys, clock.NewFake(start)); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(filepath.Join(other, KeyFile))
			os.WriteFile(filepath.Join(dir, KeyFile), b, 0o600)
			return nil
		}, "belongs to another certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys, dir := newKeys(t), t.TempDir()
			if _, err := Open(dir, keys, clock.NewFake(start)); err != nil {
				t.Fatal(err)
			}
			if other := tt.breakIt(t, dir, keys); other != nil {
				keys = other
			}
			before, _ := os.ReadFile(filepath.Join(dir, CertFile))
			_, err := Open(dir, keys, clock.NewFake(start))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tt.want)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, CertFile)); !bytes.Equal(before, after) {
				t.Error("a refused Open changed the CA certificate")
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		keys, dir := newKeys(t), t.TempDir()
		if _, err := Open(dir, keys, clock.NewFake(start)); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir, keys, clock.NewFake(start.Add(caLifetime+time.Hour)))
		if err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("Open after the CA's end = %v, want it to say expired", err)
		}
	})
	t.Run("key without certificate is replaced", func(t *testing.T) {
		keys, dir := newKeys(t), t.TempDir()
		os.WriteFile(filepath.Join(dir, KeyFile), []byte("left by a crash"), 0o600)
		if _, err := Open(dir, keys, clock.NewFake(start)); err != nil {
			t.Fatalf("Open over a lone key file = %v, want a new CA", err)
		}
	})
}

func TestLeaf(t *testing.T) {
	clk := clock.NewFake(start)
	ca, err := Open(t.TempDir(), newKeys(t), clk)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, ask, verifyAs string }{
		{"DNS name", "a-registry.cn-hangzhou.cr.aliyuncs.com", "a-registry.cn-hangzhou.cr.aliyuncs.com"},
		{"upper case, trailing dot, port", "A-Registry.CN-Hangzhou.cr.aliyuncs.com.:443", "a-registry.cn-hangzhou.cr.aliyuncs.com"},
		{"IPv4", "127.0.0.1", "127.0.0.1"},
		{"IPv6 with port", "[::1]:7400", "::1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ca.Leaf(tt.ask)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: tt.verifyAs, CurrentTime: start, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("Verify as %s: %v", tt.verifyAs, err)
			}
			if _, err := l.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "other.example.com", CurrentTime: start}); err == nil {
				t.Error("the leaf verifies for other.example.com too")
			}
		})
	}
	t.Run("cached, then renewed a day before its end", func(t *testing.T) {
		a, _ := ca.Leaf("x.example.com")
		b, _ := ca.Leaf("x.example.com")
		if a != b {
			t.Error("a second Leaf issued again; want the cached one")
		}
		clk.Advance(leafLifetime - renewBefore + time.Minute)
		c, _ := ca.Leaf("x.example.com")
		if c == a || !c.Leaf.NotAfter.After(a.Leaf.NotAfter) {
			t.Errorf("Leaf a day before the end = the old one (until %v)", c.Leaf.NotAfter)
		}
	})
	t.Run("empty name", func(t *testing.T) {
		if _, err := ca.Leaf(""); !errors.Is(err, ErrUnknownHost) {
			t.Errorf("Leaf(\"\") = %v, want ErrUnknownHost", err)
		}
	})
}

// A real handshake: the name a client asks for gets its leaf, a client
// without SNI gets one for the address it reached, and a name the server
// does not serve gets no certificate at all.
func TestServerConfigHandshake(t *testing.T) {
	ca, err := Open(t.TempDir(), newKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	serves := func(name string) bool { return name == "reg.example.com" }
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ca.ServerConfig(serves))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	dial := func(serverName string) error {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: serverName})
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial("reg.example.com"); err != nil {
		t.Errorf("handshake for a served name: %v", err)
	}
	if err := dial("127.0.0.1"); err != nil {
		t.Errorf("handshake by IP (no SNI): %v", err)
	}
	if err := dial("evil.example.com"); err == nil {
		t.Error("handshake for a name not served succeeded")
	}
	// Without the CA in its roots a client refuses the server.
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "reg.example.com", RootCAs: x509.NewCertPool()})
	if err == nil {
		c.Close()
		t.Error("a client that does not trust the CA completed the handshake")
	} else if !errors.As(err, new(x509.UnknownAuthorityError)) && !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("untrusting client: %v, want an unknown-authority error", err)
	}
}
