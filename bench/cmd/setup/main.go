// Command setup runs a rolepull node for the registry benchmark and
// provisions what a client needs to pull from it: an open Enterprise
// instance and a temporary password of a role allowed to push and pull.
//
// It starts the node in-process (node.New + Run, as internal/node's tests
// do), because the node's bbolt store cannot be opened by a second process
// while `rolepull up` runs. Provisioning goes through the provisioner
// interface, whose methods are the control-plane actions a user would call
// (CreateInstance, UpdateInstanceEndpointStatus,
// CreateInstanceEndpointAclPolicy, GetAuthorizationToken): once the
// Container Registry OpenAPI lands, an implementation over the OpenAPI
// replaces the in-process one and the node can be `rolepull up` itself.
//
// When ready it writes KEY=VALUE lines to -out (atomically) and serves
// until SIGINT or SIGTERM:
//
//	REGISTRY=127.0.0.1:PORT    the registry listener
//	HOST=NAME-registry.…       the instance domain every request must carry as Host
//	SERVICE=cri-…              the instance id, the tokens' audience
//	USERNAME, PASSWORD         the temporary credentials for /token
//	PPROF=127.0.0.1:PORT       net/http/pprof of this process (with -pprof)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // served on -pprof only
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/ram"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "the node's data directory (required)")
	registryAddr := fs.String("registry-addr", "127.0.0.1:0", "registry listen address")
	openapiAddr := fs.String("openapi-addr", "127.0.0.1:0", "OpenAPI listen address")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (empty: off)")
	instance := fs.String("instance", "bench1", "instance name")
	out := fs.String("out", "", "write the KEY=VALUE lines here (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("-data-dir is required")
	}

	n, err := node.New(ctx, node.Config{DataDir: *dataDir, OpenAPIAddr: *openapiAddr, RegistryAddr: *registryAddr})
	if err != nil {
		return err
	}
	defer n.Close()
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(ctx) }()

	env := []string{"REGISTRY=" + strings.TrimPrefix(n.RegistryURL(), "http://")}
	if *pprofAddr != "" {
		ln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return fmt.Errorf("pprof listener: %w", err)
		}
		go http.Serve(ln, http.DefaultServeMux)
		env = append(env, "PPROF="+ln.Addr().String())
	}

	creds, err := provision(ctx, inProcess{n}, *instance)
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	env = append(env, "HOST="+creds.host, "SERVICE="+creds.instanceID, "USERNAME="+creds.user, "PASSWORD="+creds.password)
	if err := writeEnv(*out, env); err != nil {
		return err
	}
	return <-runErr
}

// provisioner is what the benchmark needs from rolepull's control plane,
// one method per user-facing action.
type provisioner interface {
	// CreateInstance creates an Enterprise instance (cr CreateInstance) and
	// returns its id and public domain.
	CreateInstance(ctx context.Context, name string) (id, host string, err error)
	// OpenInternet turns internet access on (UpdateInstanceEndpointStatus)
	// and allows a source range (CreateInstanceEndpointAclPolicy).
	OpenInternet(ctx context.Context, id, cidr string) error
	// TempPassword returns a temporary password of an identity allowed to
	// push and pull on the instance (GetAuthorizationToken, called as a
	// role with AliyunContainerRegistryFullAccess).
	TempPassword(ctx context.Context, id string) (user, password string, err error)
}

type credentials struct {
	instanceID, host, user, password string
}

func provision(ctx context.Context, p provisioner, name string) (credentials, error) {
	id, host, err := p.CreateInstance(ctx, name)
	if err != nil {
		return credentials{}, err
	}
	if err := p.OpenInternet(ctx, id, "127.0.0.0/16"); err != nil {
		return credentials{}, err
	}
	user, pass, err := p.TempPassword(ctx, id)
	if err != nil {
		return credentials{}, err
	}
	return credentials{instanceID: id, host: host, user: user, password: pass}, nil
}

// inProcess provisions through the node's services directly.
type inProcess struct{ n *node.Node }

var _ provisioner = inProcess{}

func (p inProcess) CreateInstance(ctx context.Context, name string) (string, string, error) {
	inst, err := p.n.ACR.CreateInstance(ctx, p.n.Operator.ID, node.DefaultRegion, name, acr.SpecEnterpriseStandard)
	if err != nil {
		return "", "", err
	}
	return inst.InstanceID, inst.PublicHost(p.n.ACR.Base()), nil
}

func (p inProcess) OpenInternet(ctx context.Context, id, cidr string) error {
	if _, err := p.n.ACR.SetInternet(ctx, p.n.Operator.ID, id, true); err != nil {
		return err
	}
	_, err := p.n.ACR.AddACL(ctx, p.n.Operator.ID, id, cidr, "benchmark clients")
	return err
}

func (p inProcess) TempPassword(ctx context.Context, id string) (string, string, error) {
	const roleName = "bench-pusher"
	acct := p.n.Operator.ID
	trust := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::` + acct + `:root"]}}]}`
	role, err := p.n.RAM.CreateRole(ctx, acct, ram.RoleInput{RoleName: roleName, AssumeRolePolicyDocument: trust})
	if err != nil {
		return "", "", err
	}
	if err := p.n.RAM.AttachPolicy(ctx, acct, ram.System, "AliyunContainerRegistryFullAccess", ram.ToRole, roleName); err != nil {
		return "", "", err
	}
	inst, err := p.n.ACR.GetInstance(ctx, acct, id)
	if err != nil {
		return "", "", err
	}
	session := ram.Identity{Kind: ram.KindRoleSession, Account: acct, RoleName: role.RoleName, RoleID: role.RoleID,
		SessionName: "bench", Expiration: time.Now().Add(2 * time.Hour)}
	tp, err := p.n.ACR.IssueTempPassword(session, inst)
	if err != nil {
		return "", "", err
	}
	return tp.Username, tp.Password, nil
}

// writeEnv writes the lines to path through a rename, so that a script
// polling for the file never reads half of it.
func writeEnv(path string, lines []string) error {
	var b []byte
	for _, l := range lines {
		b = append(b, l...)
		b = append(b, '\n')
	}
	if path == "" {
		_, err := os.Stdout.Write(b)
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
