package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// exitError carries a specific exit status out of a command. A quiet one
// has already said what it had to say (e.g. on stdout, as a protocol
// wants), so Main prints nothing more.
type exitError struct {
	code  int
	err   error
	quiet bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Main runs the command line and returns the process exit status.
func Main(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.quiet {
			fmt.Fprintln(stderr, "rolepull:", err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "rolepull:", err)
	return 1
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "rolepull",
		Short: "Secret-free container image pulls by role identity",
		Long: `rolepull lets workloads pull private container images with no registry secret
anywhere: the identity behind a pull is a RAM role, and every credential on the
way is short-lived. It implements Alibaba Cloud's RAM, STS, Container Registry
and Elastic Container Instance semantics on their public wire protocols.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVersionCmd(), newUpCmd(), newTLSCmd(), newAccountCmd(), newWhoamiCmd(), newRoleCmd(), newPolicyCmd(), newUserCmd(), newAssumeRoleCmd(),
		newVPCCmd(), newCRCmd(), newCredentialHelperCmd(), newApplyCmd(), newGetCmd(), newDescribeCmd(), newDeleteCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
				v = bi.Main.Version
			}
			fmt.Fprintln(cmd.OutOrStdout(), "rolepull", v)
			return nil
		},
	}
}
