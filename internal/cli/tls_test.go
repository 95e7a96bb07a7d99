package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolepull/rolepull/internal/cli"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/profile"
)

// With --tls the profile names an https endpoint and the CA file; the CLI
// trusts that CA (and a profile without it refuses the server), and
// `rolepull tls ca` prints the same certificate.
func TestTLSProfile(t *testing.T) {
	var dataDir string
	e := newEnvWith(t, func(c *node.Config) { c.TLS = true; dataDir = c.DataDir })
	p, err := profile.Load(e.profile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Endpoint, "https://") || p.CAFile != filepath.Join(dataDir, "tls", "ca.crt") {
		t.Fatalf("profile endpoint %q, caFile %q; want https and DATA_DIR/tls/ca.crt", p.Endpoint, p.CAFile)
	}
	if out := e.must("whoami"); !strings.Contains(out, e.n.Operator.ID) {
		t.Errorf("whoami over https:\n%s", out)
	}

	mustNot := p
	mustNot.CAFile = ""
	untrusting := filepath.Join(t.TempDir(), "no-ca.json")
	if err := profile.Write(untrusting, mustNot); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "whoami", "--profile", untrusting)
	if r.code == 0 || !strings.Contains(r.stderr, "certificate signed by unknown authority") {
		t.Errorf("whoami without the CA = %d, %q; want a refusal naming the unknown authority", r.code, r.stderr)
	}

	broken := p
	broken.CAFile = filepath.Join(t.TempDir(), "empty.crt")
	os.WriteFile(broken.CAFile, []byte("nothing"), 0o644)
	brokenPath := filepath.Join(t.TempDir(), "broken.json")
	if err := profile.Write(brokenPath, broken); err != nil {
		t.Fatal(err)
	}
	if r := e.run("", "whoami", "--profile", brokenPath); r.code == 0 || !strings.Contains(r.stderr, "holds no PEM certificate") {
		t.Errorf("whoami with a CA file that is not PEM = %d, %q", r.code, r.stderr)
	}

	tlsCA := func(dir string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := cli.Main(t.Context(), strings.NewReader(""), &out, &errOut, []string{"tls", "ca", "--data-dir", dir})
		return out.String(), errOut.String(), code
	}
	if got, _, code := tlsCA(dataDir); code != 0 || got != string(e.n.CA.CertPEM()) {
		t.Errorf("tls ca = %d, printed:\n%s\nwant the CA certificate", code, got)
	}
	if _, stderr, code := tlsCA(t.TempDir()); code == 0 || !strings.Contains(stderr, "rolepull up --tls") {
		t.Errorf("tls ca without a CA = %d, %q", code, stderr)
	}
}
