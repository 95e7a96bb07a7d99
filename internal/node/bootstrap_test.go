package node

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rolepull/rolepull/internal/profile"
	"github.com/rolepull/rolepull/internal/store"
)

// A first start killed between its bootstrap steps (the account made, the
// key perhaps, the record not) must not leave a data directory that never
// starts again: the next start picks up what the last one made.
func TestBootstrapResumes(t *testing.T) {
	for _, tt := range []struct {
		name    string
		dropKey bool // the start died before the key too
	}{
		{"after the account and the key", false},
		{"after the account only", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := Config{DataDir: dir, OpenAPIAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0"}
			n, err := New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			operator := n.Operator.ID
			if tt.dropKey {
				if err := n.RAM.DeleteAccessKey(ctx, operator, "", n.Profile.AccessKeyID); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := n.Store.Txn(ctx, nil, []store.Op{store.Delete(bootstrapKey)}); err != nil {
				t.Fatal(err)
			}
			n.Close()

			n, err = New(ctx, cfg)
			if err != nil {
				t.Fatalf("the start after an interrupted bootstrap: %v", err)
			}
			defer n.Close()
			if n.Operator.ID != operator {
				t.Errorf("operator account %s, want the one the interrupted start made (%s)", n.Operator.ID, operator)
			}
			if accs, _ := n.RAM.ListAccounts(ctx); len(accs) != 1 {
				t.Errorf("%d accounts, want 1", len(accs))
			}
			if _, err := n.RAM.GetAccessKey(ctx, n.Profile.AccessKeyID); err != nil {
				t.Errorf("the admin profile's AccessKey: %v", err)
			}
			p, err := profile.Load(filepath.Join(dir, "admin-profile.json"))
			if err != nil || p.AccessKeyID != n.Profile.AccessKeyID {
				t.Errorf("admin profile = %+v, %v", p, err)
			}
		})
	}
}
