package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rolepull assume-role prints a profile that other verbs take as it is:
// a RAM user assumes a role and acts as the session.
func TestAssumeRoleProfile(t *testing.T) {
	e := newEnv(t)
	acct := e.n.Operator.ID
	e.must("user", "create", "alice")
	e.must("policy", "attach", "AliyunSTSAssumeRoleAccess", "--user", "alice")
	alice := filepath.Join(t.TempDir(), "alice.json")
	if err := os.WriteFile(alice, []byte(e.must("user", "create-key", "alice")), 0o600); err != nil {
		t.Fatal(err)
	}
	e.must("role", "create", "reader", "--trusted-account", acct)
	r := e.run("", "assume-role", "acs:ram::"+acct+":role/reader", "--session", "cli-test", "--profile", alice)
	if r.code != 0 || !strings.Contains(r.stderr, "assumed acs:ram::"+acct+":role/reader/cli-test") {
		t.Fatalf("assume-role: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	session := filepath.Join(t.TempDir(), "session.json")
	if err := os.WriteFile(session, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	who := e.must("whoami", "--profile", session)
	if !strings.Contains(who, "AssumedRoleUser") || !strings.Contains(who, "assumed-role/reader/cli-test") {
		t.Errorf("whoami as the session:\n%s", who)
	}
}
