// Command rolepull runs and drives rolepull: secret-free container image
// pulls by role identity. See README.md.
//
// Run under the name docker-credential-rolepull (a link to this binary), it
// is the Docker credential helper for rolepull's instance domains.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rolepull/rolepull/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	run := cli.Main
	if cli.IsCredentialHelper(os.Args[0]) {
		run = cli.CredentialHelperMain
	}
	code := run(ctx, os.Stdin, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(code)
}
