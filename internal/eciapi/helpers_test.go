package eciapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkcredentials "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	ecisdk "github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eciapi"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
)

const (
	region   = "cn-hangzhou"
	eciTrust = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["eci.aliyuncs.com"]}}]}`
)

// cred is an AccessKey a client signs with.
type cred struct{ ID, Secret string }

// world is one rolepull node on loopback ports, as `rolepull up` runs it.
type world struct {
	t       testing.TB
	n       *node.Node
	dataDir string
	host    string // the OpenAPI listener, 127.0.0.1:PORT
	a       string // the operator's account: pods and, unless said otherwise, registries
	root    cred   // the operator's root AccessKey
	// tr carries every OpenAPI client's requests. Its idle connections
	// are closed before the node stops: net/http holds a shutdown up to
	// 5 s for a connection dialled and never used.
	tr *http.Transport
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	// Upstream registries in these tests listen on loopback.
	n, err := node.New(ctx, node.Config{DataDir: dir, OpenAPIAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", AllowLoopbackRegistries: true})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	w := &world{t: t, n: n, dataDir: dir, host: strings.TrimPrefix(n.OpenAPIURL(), "http://"), a: n.Operator.ID,
		root: cred{n.Profile.AccessKeyID, n.Profile.AccessKeySecret}, tr: &http.Transport{}}
	t.Cleanup(func() { w.tr.CloseIdleConnections(); cancel(); <-done; n.Close() })
	return w
}

// account creates another account and returns its id and root key.
func (w *world) account(name string) (string, cred) {
	w.t.Helper()
	acc, err := w.n.RAM.CreateAccount(w.t.Context(), name)
	if err != nil {
		w.t.Fatal(err)
	}
	return acc.ID, w.key(acc.ID, "")
}

func (w *world) key(account, user string) cred {
	w.t.Helper()
	k, secret, err := w.n.RAM.CreateAccessKey(w.t.Context(), account, user)
	if err != nil {
		w.t.Fatal(err)
	}
	return cred{k.AccessKeyID, secret}
}

// user creates a RAM user of account with system or custom policies and
// returns its key.
func (w *world) user(account, name string, policies ...string) cred {
	w.t.Helper()
	if _, err := w.n.RAM.CreateUser(w.t.Context(), account, ram.User{UserName: name}); err != nil {
		w.t.Fatal(err)
	}
	w.attach(account, ram.ToUser, name, policies...)
	return w.key(account, name)
}

// role creates a role trusted by trust, with system or custom policies,
// and returns its ARN.
func (w *world) role(account, name, trust string, policies ...string) string {
	w.t.Helper()
	r, err := w.n.RAM.CreateRole(w.t.Context(), account, ram.RoleInput{RoleName: name, AssumeRolePolicyDocument: trust})
	if err != nil {
		w.t.Fatal(err)
	}
	w.attach(account, ram.ToRole, name, policies...)
	return r.ARN()
}

func (w *world) attach(account string, to ram.PrincipalType, principal string, policies ...string) {
	w.t.Helper()
	ctx := w.t.Context()
	for _, p := range policies {
		typ := ram.Custom
		if _, err := w.n.RAM.GetPolicy(ctx, account, ram.System, p); err == nil {
			typ = ram.System
		}
		if err := w.n.RAM.AttachPolicy(ctx, account, typ, p, to, principal); err != nil {
			w.t.Fatalf("AttachPolicy(%s → %s): %v", p, principal, err)
		}
	}
}

func (w *world) policy(account, name, doc string) string {
	w.t.Helper()
	if _, err := w.n.RAM.CreatePolicy(w.t.Context(), account, name, "", doc); err != nil {
		w.t.Fatal(err)
	}
	return name
}

// instance creates an Enterprise instance open to this host from the
// internet.
func (w *world) instance(account, name string) acr.Instance {
	w.t.Helper()
	ctx := w.t.Context()
	inst, err := w.n.ACR.CreateInstance(ctx, account, region, name, acr.SpecEnterpriseStandard)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.n.ACR.AddACL(ctx, account, inst.InstanceID, "127.0.0.0/16", "this host"); err != nil {
		w.t.Fatal(err)
	}
	if inst, err = w.n.ACR.SetInternet(ctx, account, inst.InstanceID, true); err != nil {
		w.t.Fatal(err)
	}
	return inst
}

// push pushes a random image to host/repo as the instance owner's root,
// through the registry listener.
func (w *world) push(inst acr.Instance, host, repo string) v1.Image {
	w.t.Helper()
	img, err := random.Image(2048, 2)
	if err != nil {
		w.t.Fatal(err)
	}
	tp, err := w.n.ACR.IssueTempPassword(ram.RootIdentity(inst.Account), inst)
	if err != nil {
		w.t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/"+repo, name.Insecure)
	if err != nil {
		w.t.Fatal(err)
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	addr := strings.TrimPrefix(w.n.RegistryURL(), "http://")
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	// A connection dialled and never used would hold the node's shutdown
	// for 5 s (net/http waits that long for a first request).
	defer tr.CloseIdleConnections()
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: tp.Username, Password: tp.Password}),
		remote.WithTransport(tr), remote.WithContext(w.t.Context())); err != nil {
		w.t.Fatalf("push %s: %v", ref, err)
	}
	return img
}

// sdk returns an alibaba-cloud-sdk-go services/eci client (RPC v1,
// HMAC-SHA1; it sends RegionId with every request).
func (w *world) sdk(c cred) *ecisdk.Client {
	w.t.Helper()
	cl, err := ecisdk.NewClientWithOptions(region, sdk.NewConfig(), sdkcredentials.NewAccessKeyCredential(c.ID, c.Secret))
	if err != nil {
		w.t.Fatal(err)
	}
	cl.SetTransport(w.tr)
	return cl
}

// at points a v1 request at the node.
func at[R interface {
	SetScheme(string)
	SetDomain(string)
}](w *world, r R) R {
	r.SetScheme("http")
	r.SetDomain(w.host)
	return r
}

// raw returns an openapi.Client: raw parameters, for what the v1 SDK
// cannot send.
func (w *world) raw(c cred) *openapi.Client {
	return &openapi.Client{Endpoint: "http://" + w.host, AccessKeyID: c.ID, AccessKeySecret: c.Secret, RegionID: region,
		HTTP: &http.Client{Transport: w.tr}}
}

// common calls an action through the v1 SDK's CommonRequest and returns
// the body.
func (w *world) common(c cred, action string, query map[string]string) ([]byte, error) {
	w.t.Helper()
	req := requests.NewCommonRequest()
	req.Method = "POST"
	req.Scheme = "http"
	req.Domain = w.host
	req.Version = eciapi.Version
	req.ApiName = action
	req.QueryParams["RegionId"] = region
	for k, v := range query {
		req.QueryParams[k] = v
	}
	resp, err := w.sdk(c).ProcessCommonRequest(req)
	if err != nil {
		return nil, err
	}
	return resp.GetHttpContentBytes(), nil
}

// ids renders ContainerGroupIds as the SDK sends it: a JSON array.
func ids(id ...string) string {
	b, _ := json.Marshal(id)
	return string(b)
}

// describe returns the caller's groups named by id (SDK shapes).
func (w *world) describe(c cred, id ...string) *ecisdk.DescribeContainerGroupsResponse {
	w.t.Helper()
	req := at(w, ecisdk.CreateDescribeContainerGroupsRequest())
	req.ContainerGroupIds = ids(id...)
	resp, err := w.sdk(c).DescribeContainerGroups(req)
	if err != nil {
		w.t.Fatalf("DescribeContainerGroups(%v): %v", id, err)
	}
	return resp
}

// settle polls DescribeContainerGroups until the group is no longer
// Pending, and returns it.
func (w *world) settle(c cred, id string) ecisdk.DescribeContainerGroupsContainerGroup0 {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := w.describe(c, id)
		if len(resp.ContainerGroups) != 1 {
			w.t.Fatalf("DescribeContainerGroups(%s) = %d groups, want 1", id, len(resp.ContainerGroups))
		}
		g := resp.ContainerGroups[0]
		if g.Status != "Pending" {
			return g
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("group %s is still Pending: %+v", id, g)
		}
		select {
		case <-w.t.Context().Done():
			w.t.Fatal(w.t.Context().Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// expectReady settles a group and checks that every container is Ready,
// with a Pulled event.
func (w *world) expectReady(c cred, id string) ecisdk.DescribeContainerGroupsContainerGroup0 {
	w.t.Helper()
	g := w.settle(c, id)
	if g.Status != "ImagesReady" {
		w.t.Fatalf("group %s is %s, want ImagesReady\ncontainers: %+v\nevents:\n%s", id, g.Status, g.Containers, eventLines(g.Events))
	}
	for _, ct := range g.Containers {
		if !ct.Ready || ct.CurrentState.State != "Waiting" || ct.CurrentState.DetailStatus != "ImagesReady" {
			w.t.Errorf("container %s: Ready=%v CurrentState=%+v, want Ready, Waiting/ImagesReady", ct.Name, ct.Ready, ct.CurrentState)
		}
	}
	if !strings.Contains(eventLines(g.Events), "Normal Pulled:") {
		w.t.Errorf("group %s has no Normal Pulled event:\n%s", id, eventLines(g.Events))
	}
	return g
}

func eventLines(evs []ecisdk.DescribeContainerGroupsEvent1) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Type + " " + e.Reason + ": " + e.Message + "\n")
	}
	return b.String()
}

// apiError is a vendor error as a client saw it.
type apiError struct {
	Status        int
	Code, Message string
}

func apiErrorOf(err error) (apiError, bool) {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return apiError{se.HttpStatus(), se.ErrorCode(), se.Message()}, true
	}
	var oe *openapi.Error
	if errors.As(err, &oe) {
		return apiError{oe.Status, oe.Code, oe.Message}, true
	}
	return apiError{}, false
}

// wantError checks that err is the vendor error code with HTTP status,
// its message mentioning every one of mentions.
func wantError(t *testing.T, what string, err error, code string, status int, mentions ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s = success, want %s (HTTP %d)", what, code, status)
		return
	}
	e, ok := apiErrorOf(err)
	if !ok {
		t.Errorf("%s = %v, want the vendor error %s", what, err, code)
		return
	}
	t.Logf("%s: HTTP %d %s: %s", what, e.Status, e.Code, e.Message)
	if e.Code != code || e.Status != status {
		t.Errorf("%s = %s (HTTP %d): %s, want %s (HTTP %d)", what, e.Code, e.Status, e.Message, code, status)
	}
	for _, m := range mentions {
		if !strings.Contains(e.Message, m) {
			t.Errorf("%s message %q does not mention %q", what, e.Message, m)
		}
	}
}
