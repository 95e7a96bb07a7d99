// Package credhelper owns the Docker credential-helper protocol for
// rolepull: installed as docker-credential-rolepull (a link to the rolepull
// binary), it answers `get` with a fresh temporary password for a registry
// instance domain, so docker, crane, oras and skopeo configs name the helper
// and hold no password. It stores nothing: `store` and `erase` accept and
// discard their input, `list` is empty.
//
// The protocol (github.com/docker/docker-credential-helpers): the verb is
// the first argument; `get` reads a server URL on stdin and writes
// {"ServerURL","Username","Secret"} on stdout, or the message
// "credentials not found in native keychain" and a non-zero exit when it
// has none.
package credhelper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// ErrNotFound is the protocol's "no credentials for this server".
var ErrNotFound = errors.New("credentials not found in native keychain")

// Source finds credentials for a registry host (no scheme, no path; may
// carry a port).
type Source interface {
	Credentials(ctx context.Context, host string) (username, secret string, err error)
}

// maxInput bounds what a verb reads from stdin.
const maxInput = 64 << 10

// Run executes one verb of the protocol. A returned ErrNotFound has already
// been written to stdout, as the protocol wants.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, src Source) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: docker-credential-rolepull get|store|erase|list|version")
	}
	in, err := io.ReadAll(io.LimitReader(stdin, maxInput+1))
	if err != nil {
		return err
	}
	if len(in) > maxInput {
		return fmt.Errorf("more than %d bytes on stdin", maxInput)
	}
	switch args[0] {
	case "get":
		server := strings.TrimSpace(string(in))
		host, err := hostOf(server)
		if err != nil {
			return err
		}
		user, secret, err := src.Credentials(ctx, host)
		if errors.Is(err, ErrNotFound) {
			fmt.Fprintln(stdout, ErrNotFound.Error())
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(struct {
			ServerURL string `json:"ServerURL"`
			Username  string `json:"Username"`
			Secret    string `json:"Secret"`
		}{server, user, secret})
	case "store", "erase":
		return nil // nothing is ever stored: passwords are minted on demand
	case "list":
		_, err := io.WriteString(stdout, "{}\n")
		return err
	case "version":
		_, err := io.WriteString(stdout, "docker-credential-rolepull (rolepull)\n")
		return err
	}
	return fmt.Errorf("unknown verb %q: want get, store, erase, list or version", args[0])
}

// hostOf accepts "host", "host:port", "https://host/v1/" and the like.
func hostOf(server string) (string, error) {
	if server == "" {
		return "", errors.New("no server URL on stdin")
	}
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a registry server URL", server)
	}
	return strings.ToLower(u.Host), nil
}
