package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/profile"
)

// profileFlag adds --profile to a command that calls the OpenAPI. Its
// default is $ROLEPULL_PROFILE, else DATA_DIR/admin-profile.json.
func profileFlag(cmd *cobra.Command, path *string) {
	def := os.Getenv("ROLEPULL_PROFILE")
	if def == "" {
		def = filepath.Join(defaultDataDir(), "admin-profile.json")
	}
	cmd.Flags().StringVar(path, "profile", def, "profile file: endpoints and the AccessKey to call with ($ROLEPULL_PROFILE)")
}

func loadClient(path string) (*openapi.Client, profile.Profile, error) {
	p, err := profile.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, p, fmt.Errorf("no profile at %s: start rolepull with `rolepull up`, or pass --profile FILE", path)
	}
	if err != nil {
		return nil, p, err
	}
	return &openapi.Client{Endpoint: p.Endpoint, AccessKeyID: p.AccessKeyID, AccessKeySecret: p.AccessKeySecret, RegionID: p.Region}, p, nil
}

// call runs one action with the profile's credentials.
func call(ctx context.Context, profilePath, version, action string, params map[string]string, out any) error {
	c, _, err := loadClient(profilePath)
	if err != nil {
		return err
	}
	return c.Do(ctx, version, action, params, out)
}
