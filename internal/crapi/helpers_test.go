package crapi_test

import (
	"errors"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	cr "github.com/alibabacloud-go/cr-20181201/v2/client"
	openapiv2 "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkauth "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	sdkcredentials "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	crsdk "github.com/aliyun/alibaba-cloud-sdk-go/services/cr"
	creesdk "github.com/aliyun/alibaba-cloud-sdk-go/services/cr_ee"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/crapi"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/store/bolt"
	"github.com/rolepull/rolepull/internal/sts"
)

// defaultRegion is the server's default region and the v1 clients'.
const defaultRegion = "cn-hangzhou"

// cred is a credential a client signs with.
type cred struct{ ID, Secret, Token string }

// fixture is RAM, STS, the network model and ACR over one bolt store, and
// an OpenAPI server with Container Registry's actions on loopback.
type fixture struct {
	host string // 127.0.0.1:PORT
	port string
	ram  *ram.Service
	sts  *sts.Service
	net  *netmodel.Service
	acr  *acr.Service
	a, b ram.Account
	// rootA and rootB are the accounts' root AccessKeys.
	rootA, rootB cred
}

func newFixture(t *testing.T, tags crapi.TagLister) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{}
	if f.ram, err = ram.New(st, keys, ram.Options{}); err != nil {
		t.Fatal(err)
	}
	f.sts = sts.New(f.ram, keys, sts.Options{})
	f.net = netmodel.New(st, nil)
	f.acr = acr.New(st, f.ram, f.net, keys, acr.Options{})
	if f.a, err = f.ram.CreateAccount(t.Context(), "acct-a"); err != nil {
		t.Fatal(err)
	}
	if f.b, err = f.ram.CreateAccount(t.Context(), "acct-b"); err != nil {
		t.Fatal(err)
	}
	f.rootA, f.rootB = f.key(t, f.a.ID, ""), f.key(t, f.b.ID, "")

	srv := openapi.NewServer(f.sts, f.ram, openapi.Options{DefaultRegion: defaultRegion})
	crapi.Register(srv, f.acr, tags)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	f.host = strings.TrimPrefix(ts.URL, "http://")
	_, f.port, _ = net.SplitHostPort(f.host)
	return f
}

// key creates an AccessKey of a user ("" = the account's root).
func (f *fixture) key(t *testing.T, account, user string) cred {
	t.Helper()
	k, secret, err := f.ram.CreateAccessKey(t.Context(), account, user)
	if err != nil {
		t.Fatal(err)
	}
	return cred{ID: k.AccessKeyID, Secret: secret}
}

// policy creates a custom policy in account and returns its name.
func (f *fixture) policy(t *testing.T, account, name, doc string) string {
	t.Helper()
	if _, err := f.ram.CreatePolicy(t.Context(), account, name, "", doc); err != nil {
		t.Fatalf("CreatePolicy(%s): %v", name, err)
	}
	return name
}

func (f *fixture) attach(t *testing.T, account string, kind ram.PrincipalType, principal string, policies ...string) {
	t.Helper()
	for _, p := range policies {
		ptype := ram.System
		if _, err := f.ram.GetPolicy(t.Context(), account, ram.System, p); err != nil {
			ptype = ram.Custom
		}
		if err := f.ram.AttachPolicy(t.Context(), account, ptype, p, kind, principal); err != nil {
			t.Fatalf("AttachPolicy(%s → %s): %v", p, principal, err)
		}
	}
}

// user creates a RAM user with the policies attached and returns its key.
func (f *fixture) user(t *testing.T, account, name string, policies ...string) cred {
	t.Helper()
	if _, err := f.ram.CreateUser(t.Context(), account, ram.User{UserName: name}); err != nil {
		t.Fatal(err)
	}
	f.attach(t, account, ram.ToUser, name, policies...)
	return f.key(t, account, name)
}

// role creates a role its account's users may assume, with the policies
// attached.
func (f *fixture) role(t *testing.T, account, name string, policies ...string) ram.Role {
	t.Helper()
	r, err := f.ram.CreateRole(t.Context(), account, ram.RoleInput{RoleName: name,
		AssumeRolePolicyDocument: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::` + account + `:root"]}}]}`})
	if err != nil {
		t.Fatal(err)
	}
	f.attach(t, account, ram.ToRole, name, policies...)
	return r
}

// session assumes role as user (of the role's account) for duration
// seconds and returns the session's credential and expiry.
func (f *fixture) session(t *testing.T, user string, role ram.Role, duration int) (cred, sts.Credentials) {
	t.Helper()
	caller := ram.Identity{Kind: ram.KindUser, Account: role.Account, UserName: user}
	c, _, err := f.sts.AssumeRole(t.Context(), caller, sts.AssumeRoleInput{RoleArn: role.ARN(), RoleSessionName: "s-" + role.RoleName, DurationSeconds: duration})
	if err != nil {
		t.Fatalf("AssumeRole(%s): %v", role.RoleName, err)
	}
	return cred{ID: c.AccessKeyID, Secret: c.AccessKeySecret, Token: c.SecurityToken}, c
}

// v2 returns a cr-20181201/v2 client: ACS3-HMAC-SHA256, no RegionId.
func (f *fixture) v2(t *testing.T, c cred) *cr.Client {
	t.Helper()
	cfg := &openapiv2.Config{
		AccessKeyId:     tea.String(c.ID),
		AccessKeySecret: tea.String(c.Secret),
		Endpoint:        tea.String(f.host),
		Protocol:        tea.String("http"),
	}
	if c.Token != "" {
		cfg.SecurityToken = tea.String(c.Token)
	}
	cl, err := cr.NewClient(cfg)
	if err != nil {
		t.Fatalf("cr.NewClient: %v", err)
	}
	return cl
}

// call invokes an action the public SDK lacks through the same client's
// generic CallApi, and returns the response body.
func call(cl *cr.Client, action string, query map[string]string) (map[string]any, error) {
	q := map[string]*string{}
	for k, v := range query {
		q[k] = tea.String(v)
	}
	out, err := cl.CallApi(&openapiv2.Params{
		Action: tea.String(action), Version: tea.String(crapi.Version), Protocol: tea.String("HTTP"), Pathname: tea.String("/"),
		Method: tea.String("POST"), AuthType: tea.String("AK"), Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}, &openapiv2.OpenApiRequest{Query: q}, &dara.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	body, _ := out["body"].(map[string]any)
	return body, nil
}

func v1cred(c cred) sdkauth.Credential {
	if c.Token != "" {
		return sdkcredentials.NewStsTokenCredential(c.ID, c.Secret, c.Token)
	}
	return sdkcredentials.NewAccessKeyCredential(c.ID, c.Secret)
}

// v1 returns an alibaba-cloud-sdk-go services/cr_ee client (RPC v1
// HMAC-SHA1; it sends RegionId=region with every request).
func (f *fixture) v1(t *testing.T, c cred, region string) *creesdk.Client {
	t.Helper()
	cl, err := creesdk.NewClientWithOptions(region, sdk.NewConfig(), v1cred(c))
	if err != nil {
		t.Fatalf("cr_ee.NewClientWithOptions: %v", err)
	}
	return cl
}

// at points a v1 RPC request at the fixture's server.
func at[R interface {
	SetScheme(string)
	SetDomain(string)
}](f *fixture, r R) R {
	r.SetScheme("http")
	r.SetDomain(f.host)
	return r
}

// personalClient returns an alibaba-cloud-sdk-go services/cr client (ROA) and a
// GetAuthorizationToken request aimed at the fixture's server.
func (f *fixture) personalClient(t *testing.T, c cred) (*crsdk.Client, *crsdk.GetAuthorizationTokenRequest) {
	t.Helper()
	cl, err := crsdk.NewClientWithOptions(defaultRegion, sdk.NewConfig(), v1cred(c))
	if err != nil {
		t.Fatalf("cr.NewClientWithOptions: %v", err)
	}
	req := crsdk.CreateGetAuthorizationTokenRequest()
	req.Scheme = "http"
	req.Domain = "127.0.0.1"
	req.Port = f.port
	return cl, req
}

type apiError struct {
	Code    string
	Status  int
	Message string
}

// apiErrorOf extracts the vendor error from whatever an SDK returned.
func apiErrorOf(err error) (apiError, bool) {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return apiError{Code: se.ErrorCode(), Status: se.HttpStatus(), Message: se.Message()}, true
	}
	var de interface {
		GetCode() *string
		GetStatusCode() *int
		GetMessage() *string
	}
	if errors.As(err, &de) {
		return apiError{Code: tea.StringValue(de.GetCode()), Status: tea.IntValue(de.GetStatusCode()), Message: tea.StringValue(de.GetMessage())}, true
	}
	var te *tea.SDKError
	if errors.As(err, &te) {
		return apiError{Code: tea.StringValue(te.Code), Status: tea.IntValue(te.StatusCode), Message: tea.StringValue(te.Message)}, true
	}
	return apiError{}, false
}

// wantError checks that err is the vendor error code with HTTP status,
// and that its message mentions every one of mentions.
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
