package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolepull/rolepull/internal/credhelper"
)

// CredentialHelperName is the name under which the rolepull binary speaks
// the Docker credential-helper protocol (a link to it, on PATH), so that a
// docker config's {"credHelpers": {"DOMAIN": "rolepull"}} finds it.
const CredentialHelperName = "docker-credential-rolepull"

// IsCredentialHelper reports whether argv0 (the name the binary was run
// under) is CredentialHelperName.
func IsCredentialHelper(argv0 string) bool {
	return strings.TrimSuffix(filepath.Base(argv0), ".exe") == CredentialHelperName
}

// CredentialHelperMain runs the credential-helper protocol, as the binary
// does when it runs as docker-credential-rolepull, and returns the exit
// status: args are the verb (get, store, erase, list, version). The
// profile is $ROLEPULL_PROFILE, else the admin profile, as for every verb.
// "Not found" is written to stdout, as the protocol wants; other errors go
// to stderr.
func CredentialHelperMain(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) int {
	err := credhelper.Run(ctx, args, stdin, stdout, crSource{profilePath: defaultProfilePath()})
	switch {
	case err == nil:
		return 0
	case errors.Is(err, credhelper.ErrNotFound):
		return 1
	}
	fmt.Fprintln(stderr, CredentialHelperName+":", err)
	return 1
}

// crSource finds registry credentials over the OpenAPI: the instance a
// host names, and a fresh temporary password for it (GetAuthorizationToken).
// A host that names none of the profile's instances has no credentials, so
// role credentials never go to another registry.
type crSource struct{ profilePath string }

var _ credhelper.Source = crSource{}

func (s crSource) Credentials(ctx context.Context, host string) (username, secret string, err error) {
	a, err := loadCR(s.profilePath)
	if err != nil {
		return "", "", err
	}
	t, err := a.resolveHost(ctx, host)
	if errors.Is(err, errNotInstanceDomain) {
		return "", "", credhelper.ErrNotFound
	}
	if err != nil {
		return "", "", err
	}
	pw, err := a.authorizationToken(ctx, t.Instance.InstanceId)
	if err != nil {
		return "", "", err
	}
	return pw.Username, pw.Password, nil
}

func newCredentialHelperCmd() *cobra.Command {
	var prof string
	cmd := &cobra.Command{
		Use:   "credential-helper get|store|erase|list|version",
		Short: "Docker credential helper: a fresh temporary password per instance domain",
		Long: `Speak the Docker credential-helper protocol, so that docker, crane, oras,
skopeo and regctl get a fresh temporary password (GetAuthorizationToken) for
an instance domain whenever they need one, and their config files hold no
password at all.

` + "`get`" + ` reads a registry host on stdin and answers {"ServerURL","Username","Secret"}
when the host is a domain of one of the profile's instances, and otherwise
"credentials not found in native keychain" with exit status 1, so the
profile's identity is never offered to another registry. ` + "`store`" + ` and
` + "`erase`" + ` accept and discard their input; ` + "`list`" + ` is empty.

Install it as a link named docker-credential-rolepull on PATH: the rolepull
binary run under that name speaks the protocol directly, with the profile
$ROLEPULL_PROFILE (default: the admin profile). Then name it per domain in
the client's docker config (~/.docker/config.json):

  {"credHelpers": {"test1-registry.cn-hangzhou.cr.aliyuncs.com": "rolepull"}}`,
		Example: `  ln -s "$(command -v rolepull)" ~/bin/docker-credential-rolepull
  echo test1-registry.cn-hangzhou.cr.aliyuncs.com | rolepull credential-helper get`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"get", "store", "erase", "list", "version"},
		RunE: func(cmd *cobra.Command, args []string) error {
			err := credhelper.Run(cmd.Context(), args, cmd.InOrStdin(), cmd.OutOrStdout(), crSource{profilePath: prof})
			if errors.Is(err, credhelper.ErrNotFound) {
				// Already on stdout, where the protocol wants it.
				return &exitError{code: 1, err: err, quiet: true}
			}
			return err
		},
	}
	profileFlag(cmd, &prof)
	return cmd
}
