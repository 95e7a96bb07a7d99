package crapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	cr "github.com/alibabacloud-go/cr-20181201/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	creesdk "github.com/aliyun/alibaba-cloud-sdk-go/services/cr_ee"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/sts"
)

// tokenWorld is account A with an Enterprise and a Personal instance, and
// the identities that ask for passwords: root, a RAM user allowed the
// action, and sessions of two roles, one allowed it and one allowed only
// cr:Pull*.
type tokenWorld struct {
	*fixture
	ee, personal     acr.Instance
	alice, bob       cred // alice may get tokens and assume roles; bob has no policy
	getter, puller   cred // 900 s sessions of role-getter and role-puller
	getterExpiration time.Time
}

func newTokenWorld(t *testing.T) *tokenWorld {
	t.Helper()
	f := newFixture(t, nil)
	w := &tokenWorld{fixture: f}
	var err error
	if w.ee, err = f.acr.CreateInstance(t.Context(), f.a.ID, defaultRegion, "test1", acr.SpecEnterpriseBasic); err != nil {
		t.Fatal(err)
	}
	if w.personal, err = f.acr.CreateInstance(t.Context(), f.a.ID, defaultRegion, "", acr.SpecPersonal); err != nil {
		t.Fatal(err)
	}
	tokens := f.policy(t, f.a.ID, "cr-token", `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:GetAuthorizationToken","cr:Pull*"],"Resource":"acs:cr:*:`+f.a.ID+`:*"}]}`)
	w.alice = f.user(t, f.a.ID, "alice", tokens, "AliyunSTSAssumeRoleAccess")
	w.bob = f.user(t, f.a.ID, "bob")
	getter := f.role(t, f.a.ID, "role-getter", tokens)
	puller := f.role(t, f.a.ID, "role-puller", f.policy(t, f.a.ID, "cr-pull", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:Pull*","Resource":"*"}]}`))
	var getterCreds sts.Credentials
	w.getter, getterCreds = f.session(t, "alice", getter, 900)
	w.getterExpiration = getterCreds.Expiration
	w.puller, _ = f.session(t, "alice", puller, 900)
	return w
}

// token is what GetAuthorizationToken returned, whichever SDK asked.
type token struct {
	User, Password string
	ExpireMillis   int64
}

type tokenClient func(t *testing.T, w *tokenWorld, c cred, instance string) (token, error)

// tokenV2 asks with cr-20181201/v2 (ACS3, the token in a header, no
// region).
func tokenV2(t *testing.T, w *tokenWorld, c cred, instance string) (token, error) {
	r, err := w.v2(t, c).GetAuthorizationToken(&cr.GetAuthorizationTokenRequest{InstanceId: tea.String(instance)})
	if err != nil {
		return token{}, err
	}
	ok(t, "GetAuthorizationToken", nil, r.Body.Code, r.Body.IsSuccess)
	return token{tea.StringValue(r.Body.TempUsername), tea.StringValue(r.Body.AuthorizationToken), tea.Int64Value(r.Body.ExpireTime)}, nil
}

// tokenV1 asks with alibaba-cloud-sdk-go services/cr_ee (RPC v1, the token
// in the query, RegionId cn-hangzhou).
func tokenV1(t *testing.T, w *tokenWorld, c cred, instance string) (token, error) {
	req := at(w.fixture, creesdk.CreateGetAuthorizationTokenRequest())
	req.InstanceId = instance
	r, err := w.v1(t, c, defaultRegion).GetAuthorizationToken(req)
	if err != nil {
		return token{}, err
	}
	if r.Code != "success" || !r.GetAuthorizationTokenIsSuccess {
		t.Fatalf("GetAuthorizationToken (cr_ee): Code %q IsSuccess %v", r.Code, r.GetAuthorizationTokenIsSuccess)
	}
	return token{r.TempUsername, r.AuthorizationToken, r.ExpireTime}, nil
}

// tokenPersonal asks with alibaba-cloud-sdk-go services/cr's ROA
// `GET /tokens` (2016-06-07); it answers for the Personal instance.
func tokenPersonal(t *testing.T, w *tokenWorld, c cred, _ string) (token, error) {
	cl, req := w.personalClient(t, c)
	r, err := cl.GetAuthorizationToken(req)
	if err != nil {
		return token{}, err
	}
	var body struct {
		Data struct {
			AuthorizationToken string `json:"authorizationToken"`
			TempUserName       string `json:"tempUserName"`
			ExpireDate         int64  `json:"expireDate"`
		} `json:"data"`
		RequestID string `json:"requestId"`
	}
	if err := json.Unmarshal(r.GetHttpContentBytes(), &body); err != nil || body.RequestID == "" {
		t.Fatalf("GET /tokens body %s: %v (requestId %q)", r.GetHttpContentString(), err, body.RequestID)
	}
	return token{body.Data.TempUserName, body.Data.AuthorizationToken, body.Data.ExpireDate}, nil
}

// TestGetAuthorizationToken issues passwords to root, a RAM user and a
// role session through all three SDK paths, checks who each password
// stands for and how long it lives (min(1 h, the session)), and checks the
// refusals.
func TestGetAuthorizationToken(t *testing.T) {
	w := newTokenWorld(t)
	hour := time.Now().Add(acr.TempPasswordTTL)
	sessionARN := "acs:ram::" + w.a.ID + ":assumed-role/role-getter/s-role-getter"
	clients := map[string]tokenClient{"cr-20181201/v2": tokenV2, "cr_ee": tokenV1, "cr GET /tokens": tokenPersonal}
	tests := []struct {
		name    string
		cred    cred
		wantARN string
		expires time.Time // ±5 s
	}{
		{"root", w.rootA, "acs:ram::" + w.a.ID + ":root", hour},
		{"RAM user", w.alice, "acs:ram::" + w.a.ID + ":user/alice", hour},
		{"role session of 900 s", w.getter, sessionARN, w.getterExpiration},
	}
	for clientName, get := range clients {
		for _, tt := range tests {
			t.Run(clientName+"/"+tt.name, func(t *testing.T) {
				inst := w.ee
				if clientName == "cr GET /tokens" {
					inst = w.personal
				}
				got, err := get(t, w, tt.cred, inst.InstanceID)
				if err != nil {
					t.Fatalf("GetAuthorizationToken: %v", err)
				}
				if got.User != acr.TempUsername {
					t.Errorf("TempUsername = %q, want %q", got.User, acr.TempUsername)
				}
				id, exp, err := w.acr.VerifyTempPassword(got.Password, inst.InstanceID)
				if err != nil {
					t.Fatalf("VerifyTempPassword: %v", err)
				}
				if id.ARN() != tt.wantARN {
					t.Errorf("the password stands for %s, want %s", id.ARN(), tt.wantARN)
				}
				if got.ExpireMillis != exp.UnixMilli() {
					t.Errorf("ExpireTime = %d, the password expires at %d", got.ExpireMillis, exp.UnixMilli())
				}
				if d := time.UnixMilli(got.ExpireMillis).Sub(tt.expires); d < -5*time.Second || d > 5*time.Second {
					t.Errorf("ExpireTime = %s, want %s", time.UnixMilli(got.ExpireMillis).UTC(), tt.expires.UTC())
				}
				if _, _, err := w.acr.VerifyTempPassword(got.Password, "cri-0000000000000000"); err == nil {
					t.Error("the password verifies for another instance")
				}
			})
		}
	}

	denials := []struct {
		name     string
		cred     cred
		code     string
		status   int
		mentions []string
	}{
		{"a role allowed only cr:Pull*", w.puller, "NoPermission", http.StatusForbidden, []string{"cr:GetAuthorizationToken", "role-puller"}},
		{"a RAM user with no policy", w.bob, "NoPermission", http.StatusForbidden, []string{"cr:GetAuthorizationToken", "user/bob"}},
		{"another account's root", w.rootB, "INSTANCE_NOT_EXIST", http.StatusNotFound, []string{"InstanceId", w.b.ID}},
	}
	for clientName, get := range clients {
		for _, tt := range denials {
			t.Run(clientName+"/refused "+tt.name, func(t *testing.T) {
				inst := w.ee.InstanceID
				mentions := append([]string{}, tt.mentions...)
				if clientName == "cr GET /tokens" {
					inst = w.personal.InstanceID
					if tt.code == "INSTANCE_NOT_EXIST" {
						mentions = []string{"Personal", defaultRegion, "x-acs-region-id"}
					}
				} else if tt.code == "INSTANCE_NOT_EXIST" {
					mentions = append(mentions, inst)
				}
				_, err := get(t, w, tt.cred, inst)
				wantError(t, "GetAuthorizationToken", err, tt.code, tt.status, mentions...)
			})
		}
	}
}

// TestPersonalTokenRegion checks that `GET /tokens` answers for the
// region the request names in x-acs-region-id.
func TestPersonalTokenRegion(t *testing.T) {
	w := newTokenWorld(t)
	tests := []struct {
		name, region string
		wantCode     string
	}{
		{"the instance's region", defaultRegion, ""},
		{"a region without one", "cn-beijing", "INSTANCE_NOT_EXIST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, req := w.personalClient(t, w.rootA)
			req.GetHeaders()["x-acs-region-id"] = tt.region
			r, err := cl.GetAuthorizationToken(req)
			if tt.wantCode != "" {
				wantError(t, "GET /tokens", err, tt.wantCode, http.StatusNotFound, tt.region, "Personal")
				return
			}
			if err != nil || r.GetHttpStatus() != http.StatusOK {
				t.Fatalf("GET /tokens in %s: %v", tt.region, err)
			}
		})
	}
}

// TestAuthorizationByResource checks that each action asks for its own
// action on its own resource: a user allowed everything on namespace ns1
// only may create repositories there and nowhere else, and read-only
// access does not create.
func TestAuthorizationByResource(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	inst, err := f.acr.CreateInstance(ctx, f.a.ID, defaultRegion, "test1", acr.SpecEnterpriseBasic)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"ns1", "ns2"} {
		if _, err := f.acr.CreateNamespace(ctx, f.a.ID, inst.InstanceID, ns, false, acr.RepoPrivate); err != nil {
			t.Fatal(err)
		}
	}
	nsOnly := f.policy(t, f.a.ID, "ns1-only", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"acs:cr:*:`+f.a.ID+`:repository/`+inst.InstanceID+`/ns1/*"}]}`)
	carol := f.v2(t, f.user(t, f.a.ID, "carol", nsOnly))
	reader := f.v2(t, f.user(t, f.a.ID, "reader", "AliyunContainerRegistryReadOnlyAccess"))
	admin := f.v2(t, f.user(t, f.a.ID, "admin", "AliyunContainerRegistryFullAccess"))
	repo := func(cl *cr.Client, ns string) error {
		_, err := cl.CreateRepository(&cr.CreateRepositoryRequest{InstanceId: tea.String(inst.InstanceID), RepoNamespaceName: tea.String(ns), RepoName: tea.String("app")})
		return err
	}
	get := func(cl *cr.Client, _ string) error {
		_, err := cl.GetInstance(&cr.GetInstanceRequest{InstanceId: tea.String(inst.InstanceID)})
		return err
	}
	tests := []struct {
		name     string
		do       func(*cr.Client, string) error
		cl       *cr.Client
		ns       string
		denied   bool
		mentions []string
	}{
		{"CreateRepository in the granted namespace", repo, carol, "ns1", false, nil},
		{"CreateRepository in another namespace", repo, carol, "ns2", true, []string{"cr:CreateRepository", "repository/" + inst.InstanceID + "/ns2/app"}},
		{"GetInstance beside the granted namespace", get, carol, "", true, []string{"cr:GetInstance", "instance/" + inst.InstanceID}},
		{"GetInstance with read-only access", get, reader, "", false, nil},
		{"CreateRepository with read-only access", repo, reader, "ns2", true, []string{"cr:CreateRepository"}},
		{"CreateRepository with full access", repo, admin, "ns2", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(tt.cl, tt.ns)
			if !tt.denied {
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				return
			}
			wantError(t, tt.name, err, "NoPermission", http.StatusForbidden, tt.mentions...)
		})
	}
	// Another account's instance does not exist, even for its full access.
	other := f.v2(t, f.rootB)
	_, err = other.GetInstance(&cr.GetInstanceRequest{InstanceId: tea.String(inst.InstanceID)})
	wantError(t, "GetInstance of another account's instance", err, "INSTANCE_NOT_EXIST", http.StatusNotFound, inst.InstanceID)
}
