package registry_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/registry"
	"github.com/rolepull/rolepull/internal/sts"
)

// askToken asks inst's token endpoint for scopes with Basic user:pass
// ("" user: anonymous) and returns the status, the granted access (on a
// 200) and the body.
func (e *env) askToken(t *testing.T, inst acr.Instance, user, pass string, scopes ...string) (int, []registry.Access, string) {
	t.Helper()
	q := url.Values{"service": {inst.InstanceID}, "scope": scopes}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+inst.PublicHost(acr.DefaultBase)+"/token?"+q.Encode(), nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	tr := e.transport("127.0.0.1")
	defer tr.(*http.Transport).CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, string(body)
	}
	var out struct{ Token string }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(out.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWS", out.Token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Access []registry.Access }
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, claims.Access, string(body)
}

// granted is the actions access grants on one repository.
func granted(access []registry.Access, repo string) []string {
	for _, a := range access {
		if a.Type == "repository" && a.Name == repo {
			return a.Actions
		}
	}
	return nil
}

// An explicit Deny on one repository beats an Allow on the whole
// instance, at the token endpoint; the instance's other repositories and
// the actions not denied are still granted.
func TestRepositoryDenyBeatsInstanceAllow(t *testing.T) {
	e := newEnv(t)
	inst := e.openInstance(t, "deny")
	doc := `{"Version":"1","Statement":[` +
		`{"Effect":"Allow","Action":"cr:*","Resource":"acs:cr:*:` + e.a.ID + `:instance/` + inst.InstanceID + `"},` +
		`{"Effect":"Deny","Action":"cr:PullRepository","Resource":"acs:cr:*:` + e.a.ID + `:repository/` + inst.InstanceID + `/ns/secret"}]}`
	if _, err := e.ram.CreatePolicy(t.Context(), e.a.ID, "instance-but-secret", "", doc); err != nil {
		t.Fatal(err)
	}
	basic := e.password(t, e.role(t, "scoped", "instance-but-secret"), inst).(*authn.Basic)
	status, access, body := e.askToken(t, inst, basic.Username, basic.Password, "repository:ns/app:pull,push", "repository:ns/secret:pull,push")
	if status != http.StatusOK {
		t.Fatalf("token: %d %s", status, body)
	}
	if got := granted(access, "ns/app"); !slices.Equal(got, []string{"pull", "push"}) {
		t.Errorf("ns/app granted %q, want pull,push (the instance-level Allow)", got)
	}
	if got := granted(access, "ns/secret"); !slices.Equal(got, []string{"push"}) {
		t.Errorf("ns/secret granted %q, want push only (pull explicitly denied)", got)
	}
}

// An expired temporary password is refused at the token endpoint, saying
// that it expired and what to do, and grants nothing.
func TestExpiredTempPassword(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnvClock(t, clk)
	inst := e.openInstance(t, "expiry")
	basic := e.password(t, e.role(t, "reader", "AliyunContainerRegistryReadOnlyAccess"), inst).(*authn.Basic)
	if status, access, body := e.askToken(t, inst, basic.Username, basic.Password, "repository:ns/app:pull"); status != http.StatusOK || len(access) != 1 {
		t.Fatalf("a fresh password: %d %s", status, body)
	}
	clk.Advance(acr.TempPasswordTTL + time.Second)
	status, _, body := e.askToken(t, inst, basic.Username, basic.Password, "repository:ns/app:pull")
	if status != http.StatusUnauthorized || !strings.Contains(body, "expired") || !strings.Contains(body, "GetAuthorizationToken") {
		t.Errorf("an expired password: %d %s, want 401 saying it expired and to call GetAuthorizationToken", status, body)
	}
}

// Anonymous pulls: only from a PUBLIC repository of an Enterprise
// instance; never a push, never a private repository, never a Personal
// instance's.
func TestAnonymousPull(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	inst := e.openInstance(t, "anon")
	for _, r := range []struct {
		repo string
		typ  acr.RepoType
	}{{"open", acr.RepoPublic}, {"closed", acr.RepoPrivate}} {
		if _, err := e.acr.CreateNamespace(ctx, e.a.ID, inst.InstanceID, "ns", false, acr.RepoPrivate); err != nil && r.repo == "open" {
			t.Fatal(err)
		}
		if _, err := e.acr.CreateRepository(ctx, e.a.ID, inst.InstanceID, "ns", r.repo, r.typ, ""); err != nil {
			t.Fatal(err)
		}
	}
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	tr := e.transport("127.0.0.1")
	defer tr.(*http.Transport).CloseIdleConnections()
	admin := e.password(t, e.role(t, "admin", "AliyunContainerRegistryFullAccess"), inst)
	host := inst.PublicHost(acr.DefaultBase)
	for _, repo := range []string{"open", "closed"} {
		ref, _ := name.ParseReference(host+"/ns/"+repo+":1", name.Insecure)
		if err := remote.Write(ref, img, remote.WithAuth(admin), remote.WithTransport(tr), remote.WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
	}

	open, _ := name.ParseReference(host+"/ns/open:1", name.Insecure)
	got, err := remote.Image(open, remote.WithTransport(tr), remote.WithContext(ctx)) // anonymous
	if err != nil {
		t.Fatalf("anonymous pull of a PUBLIC repository: %v", err)
	}
	if _, err := got.Layers(); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("pulled %s, want %s", d, want)
	}
	other, _ := random.Image(512, 1) // not the image there: a write would change the tag
	if err := remote.Write(open, other, remote.WithTransport(tr), remote.WithContext(ctx)); !isUnauthorized(err, "anonymous") {
		t.Errorf("anonymous push to a PUBLIC repository = %v, want UNAUTHORIZED (anonymous)", err)
	}
	closed, _ := name.ParseReference(host+"/ns/closed:1", name.Insecure)
	if _, err := remote.Image(closed, remote.WithTransport(tr), remote.WithContext(ctx)); !isUnauthorized(err, "anonymous") {
		t.Errorf("anonymous pull of a PRIVATE repository = %v, want UNAUTHORIZED (anonymous)", err)
	}

	// A Personal instance's PUBLIC repository still needs a login.
	personal, err := e.acr.CreateInstance(ctx, e.a.ID, "cn-hangzhou", "mine", acr.SpecPersonal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.acr.CreateNamespace(ctx, e.a.ID, personal.InstanceID, "pns", false, acr.RepoPrivate); err != nil {
		t.Fatal(err)
	}
	if _, err := e.acr.CreateRepository(ctx, e.a.ID, personal.InstanceID, "pns", "open", acr.RepoPublic, ""); err != nil {
		t.Fatal(err)
	}
	status, _, body := e.askToken(t, personal, "", "", "repository:pns/open:pull")
	if status == http.StatusOK {
		var tok struct{ Token string }
		json.Unmarshal([]byte(body), &tok)
		parts := strings.Split(tok.Token, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[len(parts)/2])
		if strings.Contains(string(payload), `"pull"`) {
			t.Errorf("anonymous token for a Personal instance's PUBLIC repository grants pull: %s", payload)
		}
	}
}

// The token endpoint takes STS credentials (AccessKeyId as the user,
// "AccessKeySecret:SecurityToken" as the password) and a RAM user's
// AccessKey pair, and decides their scopes with RAM like a temporary
// password's; a session credential past its expiry is refused.
func TestTokenWithAccessKeys(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	inst := e.openInstance(t, "keys")
	role := e.role(t, "reader", "AliyunContainerRegistryReadOnlyAccess")
	creds, _, err := e.sts.AssumeRole(ctx, ram.ServiceIdentity("eci.aliyuncs.com"), sts.AssumeRoleInput{
		RoleArn: "acs:ram::" + e.a.ID + ":role/" + role.RoleName, RoleSessionName: "eci-keys", DurationSeconds: 900})
	if err != nil {
		t.Fatal(err)
	}
	status, access, body := e.askToken(t, inst, creds.AccessKeyID, creds.AccessKeySecret+":"+creds.SecurityToken, "repository:ns/app:pull,push")
	if status != http.StatusOK || !slices.Equal(granted(access, "ns/app"), []string{"pull"}) {
		t.Errorf("STS credentials of a read-only role: %d %+v %s, want pull only", status, access, body)
	}
	if status, _, body := e.askToken(t, inst, creds.AccessKeyID, creds.AccessKeySecret+":"+creds.SecurityToken[:len(creds.SecurityToken)-2], "repository:ns/app:pull"); status != http.StatusUnauthorized {
		t.Errorf("STS credentials with a damaged SecurityToken: %d %s, want 401", status, body)
	}
	if status, _, body := e.askToken(t, inst, creds.AccessKeyID, creds.AccessKeySecret, "repository:ns/app:pull"); status != http.StatusUnauthorized {
		t.Errorf("STS credentials without their SecurityToken: %d %s, want 401", status, body)
	}

	if _, err := e.ram.CreateUser(ctx, e.a.ID, ram.User{UserName: "dev"}); err != nil {
		t.Fatal(err)
	}
	if err := e.ram.AttachPolicy(ctx, e.a.ID, ram.System, "AliyunContainerRegistryFullAccess", ram.ToUser, "dev"); err != nil {
		t.Fatal(err)
	}
	k, secret, err := e.ram.CreateAccessKey(ctx, e.a.ID, "dev")
	if err != nil {
		t.Fatal(err)
	}
	status, access, body = e.askToken(t, inst, k.AccessKeyID, secret, "repository:ns/app:pull,push")
	if status != http.StatusOK || !slices.Equal(granted(access, "ns/app"), []string{"pull", "push"}) {
		t.Errorf("a RAM user's AccessKey: %d %+v %s, want pull,push", status, access, body)
	}
	if status, _, _ := e.askToken(t, inst, k.AccessKeyID, secret+"x", "repository:ns/app:pull"); status != http.StatusUnauthorized {
		t.Errorf("a wrong AccessKeySecret: %d, want 401", status)
	}
}

// The registry listener proxies its own instance domains only: a
// proxy-form request for any other host is refused, never forwarded.
func TestNotAnOpenProxy(t *testing.T) {
	e := newEnv(t)
	e.openInstance(t, "proxy")
	proxy, _ := url.Parse("http://" + e.addr)
	tr := &http.Transport{Proxy: http.ProxyURL(proxy)}
	defer tr.CloseIdleConnections()
	for _, target := range []string{"http://example.com/", "http://127.0.0.1:1/v2/", "http://169.254.169.254/latest/meta-data/"} {
		resp, err := (&http.Client{Transport: tr}).Get(target)
		if err != nil {
			t.Fatalf("GET %s through the registry: %v", target, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "proxies only its own registry domains") {
			t.Errorf("GET %s through the registry: %d %s, want 403", target, resp.StatusCode, body)
		}
	}
}

// reliability.md §3.6 item 62 and the token endpoint's bounds: repeated
// scope parameters each count; more than registry.MaxScopes in one
// request, a 10,000-scope URL, or a form body past 64 KiB are refused
// (the body after at most 64 KiB + 1 is read).
func TestTokenRequestBounds(t *testing.T) {
	e := newEnv(t)
	inst := e.openInstance(t, "bounds")
	basic := e.password(t, e.role(t, "reader", "AliyunContainerRegistryReadOnlyAccess"), inst).(*authn.Basic)

	status, access, body := e.askToken(t, inst, basic.Username, basic.Password, "repository:ns/aa:pull", "repository:ns/bb:pull repository:ns/cc:pull")
	if status != http.StatusOK || len(granted(access, "ns/aa")) != 1 || len(granted(access, "ns/bb")) != 1 || len(granted(access, "ns/cc")) != 1 {
		t.Errorf("two scope parameters, one holding two scopes: %d %+v %s, want all three granted", status, access, body)
	}
	many := make([]string, registry.MaxScopes+1)
	for i := range many {
		many[i] = "repository:ns/r" + strconv.Itoa(i) + ":pull"
	}
	if status, _, body := e.askToken(t, inst, basic.Username, basic.Password, many...); status != http.StatusBadRequest || !strings.Contains(body, "more than") {
		t.Errorf("%d scopes: %d %s, want 400 invalid_scope", len(many), status, body)
	}

	tr := e.transport("127.0.0.1")
	defer tr.(*http.Transport).CloseIdleConnections()
	client := &http.Client{Transport: tr}
	huge := make([]string, 10000)
	for i := range huge {
		huge[i] = "scope=repository:ns/r" + strconv.Itoa(i) + ":pull"
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+inst.PublicHost(acr.DefaultBase)+"/token?service="+inst.InstanceID+"&"+strings.Join(huge, "&"), nil)
	req.SetBasicAuth(basic.Username, basic.Password)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a 10,000-scope URL: %d, want 400", resp.StatusCode)
		}
	}

	// The handler itself, so that what it read is what the body counts.
	stream := &endless{}
	req = httptest.NewRequest(http.MethodPost, "http://"+inst.PublicHost(acr.DefaultBase)+"/token", io.NopCloser(stream))
	req.RemoteAddr = "127.0.0.1:40000"
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.reg.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "64 KiB") {
		t.Errorf("an endless form body: %d %s, want 400 naming the 64 KiB cap", rec.Code, rec.Body)
	}
	if n := stream.n.Load(); n > 64<<10+32<<10 {
		t.Errorf("the token endpoint read %d bytes of an endless body; its cap is 64 KiB", n)
	}
}

// endless is an endless request body that counts what was read of it.
type endless struct{ n atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.n.Add(int64(len(p)))
	return len(p), nil
}
