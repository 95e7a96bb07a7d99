package cli

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/pull"
)

// defaultDataDir is $XDG_DATA_HOME/rolepull, else ~/.local/share/rolepull.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "rolepull")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "rolepull")
	}
	return "rolepull-data"
}

func newUpCmd() *cobra.Command {
	var cfg node.Config
	var etcd, logLevel string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run every part of rolepull in this process, on the embedded store",
		Long: `Run rolepull: RAM, STS, Container Registry and the OpenAPI endpoint the
official SDKs speak, plus the OCI registry of every instance, in one process,
with metadata in an embedded database and blobs under --data-dir.

On the first start it creates the operator account and writes its profile
(endpoints, account id and root AccessKey) to DATA_DIR/admin-profile.json with
mode 0600; every other rolepull command takes that file with --profile.
Restarting on the same data directory keeps everything.

The master key, from which every AccessKey and session secret is derived, is
DATA_DIR/master.key (created on first start), or --master-key-file, or the
ROLEPULL_MASTER_KEY environment variable (64 hex characters). Replicas that
share it and an etcd cluster (--etcd) verify each other's credentials.

Plain HTTP on loopback is the default. With --tls rolepull makes a local CA
on its first start (DATA_DIR/tls/ca.crt; its key sealed under the master
key), serves the OpenAPI over HTTPS, and terminates TLS for instance domains
inside proxy CONNECT tunnels, so crane, oras and skopeo verify the registry
when they trust the CA (SSL_CERT_FILE, or the system store).`,
		Example: `  rolepull up
  rolepull up --tls
  rolepull up --data-dir /var/lib/rolepull --openapi-addr 0.0.0.0:7400
  rolepull up --etcd http://10.0.0.5:2379,http://10.0.0.6:2379`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			cfg.AuditStderr = cmd.ErrOrStderr()
			cfg.MasterKey = os.Getenv("ROLEPULL_MASTER_KEY")
			if etcd != "" {
				cfg.EtcdEndpoints = strings.Split(etcd, ",")
			}
			n, err := node.New(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer n.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "rolepull is up\n")
			fmt.Fprintf(out, "  OpenAPI (RAM, STS, CR, VPC): %s\n", n.OpenAPIURL())
			fmt.Fprintf(out, "  registry (and proxy): %s   (OCI clients: HTTP_PROXY=%s)\n", n.RegistryURL(), n.RegistryURL())
			fmt.Fprintf(out, "  region:              %s\n", n.Profile.Region)
			fmt.Fprintf(out, "  operator account:    %s (%s)\n", n.Operator.ID, n.Operator.Name)
			if n.CA != nil {
				fmt.Fprintf(out, "  local CA (--tls):    %s   (OCI clients: SSL_CERT_FILE=%s HTTPS_PROXY=%s)\n", n.CA.CertPath(), n.CA.CertPath(), n.RegistryURL())
			}
			fmt.Fprintf(out, "  admin profile:       %s\n", adminProfilePath(cfg))
			fmt.Fprintf(out, "  data directory:      %s\n", cfg.DataDir)
			fmt.Fprintf(out, "Try: rolepull whoami --profile %s\n", adminProfilePath(cfg))
			return n.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "directory for the database, master key, audit log and admin profile")
	f.StringVar(&cfg.OpenAPIAddr, "openapi-addr", node.DefaultOpenAPIAddr, "listen address of the OpenAPI endpoint (RAM, STS)")
	f.StringVar(&cfg.RegistryAddr, "registry-addr", node.DefaultRegistryAddr, "listen address of the registry (every instance domain) and of its HTTP proxy for those domains")
	f.StringVar(&cfg.BaseDomain, "base-domain", "aliyuncs.com", "suffix of instance default domains (NAME-registry.REGION.cr.BASE)")
	f.StringVar(&cfg.Region, "region", node.DefaultRegion, "default region of this deployment")
	f.StringVar(&cfg.MasterKeyFile, "master-key-file", "", "master key file (default DATA_DIR/master.key; ROLEPULL_MASTER_KEY overrides)")
	f.StringVar(&cfg.AdminProfile, "admin-profile", "", "where to write the operator's profile (default DATA_DIR/admin-profile.json)")
	f.StringVar(&etcd, "etcd", "", "comma-separated etcd endpoints: use etcd instead of the embedded store")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.BoolVar(&cfg.AllowLoopbackRegistries, "allow-loopback-registries", false, "let pods pull from registries on this machine's loopback addresses (e.g. a development registry on localhost:5000); off by default, as the puller runs inside rolepull. Link-local and metadata addresses are refused always")
	f.BoolVar(&cfg.TLS, "tls", false, "make (on first start) and use a local CA in DATA_DIR/tls: the OpenAPI endpoint serves HTTPS, and the registry answers proxy CONNECTs to instance domains with TLS, so OCI clients verify it (export it with `rolepull tls ca`); the registry's own port stays plain HTTP for the proxy")
	f.StringSliceVar(&cfg.TLSNames, "tls-name", nil, "a further DNS name the OpenAPI certificate may carry (repeatable); localhost, this machine's hostname and any address a client reaches are always served")
	f.DurationVar(&cfg.STSTimeout, "sts-timeout", pull.DefaultSTSTimeout, "how long a pod's pull waits for STS to assume its role chain before failing as a network failure and retrying with back-off; a cached credential still valid is used meanwhile")
	return cmd
}

func adminProfilePath(cfg node.Config) string {
	if cfg.AdminProfile != "" {
		return cfg.AdminProfile
	}
	return filepath.Join(cfg.DataDir, "admin-profile.json")
}
