package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rolepull/rolepull/internal/tlsca"
)

func newTLSCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tls",
		Short: "The local certificate authority of `rolepull up --tls`",
	}
	var dataDir string
	ca := &cobra.Command{
		Use:   "ca",
		Short: "Print the local CA certificate (PEM), for clients to trust",
		Long: `Print the certificate of the local CA that ` + "`rolepull up --tls`" + ` made in
DATA_DIR/tls. Trust it in a client (SSL_CERT_FILE for Go tools such as crane,
oras and skopeo; the system store with update-ca-certificates) and the
client verifies rolepull's OpenAPI endpoint and every instance domain
reached through the registry's proxy. The CA's key never leaves DATA_DIR,
sealed under the master key.`,
		Example: `  rolepull tls ca > rolepull-ca.crt
  SSL_CERT_FILE=rolepull-ca.crt HTTPS_PROXY=http://127.0.0.1:7500 crane ls cri-xxx-registry.cn-hangzhou.cr.aliyuncs.com/ns/app`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := filepath.Join(dataDir, "tls", tlsca.CertFile)
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no local CA at %s: start rolepull with `rolepull up --tls` (and the same --data-dir) first", path)
			}
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	ca.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "rolepull's data directory")
	cmd.AddCommand(ca)
	return cmd
}
