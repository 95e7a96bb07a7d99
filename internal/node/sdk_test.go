package node_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sts20150401 "github.com/alibabacloud-go/sts-20150401/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	ramsdk "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	rmsdk "github.com/aliyun/alibaba-cloud-sdk-go/services/resourcemanager"
	stssdk "github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
)

// The seed's RAM setup (spec/seed.txt; reference/domain.md §1.4), driven
// through the official clients against a node on 127.0.0.1: the
// same-account restricted role acr-test, the cross-account chain role-assume
// (A) → role-acr (B), and every AssumeRole refusal the vendor documents.
// The subtests share one node and run in order up to "checks", whose
// subtests run in parallel; the audit log and the data directory are
// inspected after all of them.
func TestOfficialSDKs(t *testing.T) {
	w := newWorld(t)
	steps := []struct {
		name string
		run  func(*testing.T)
	}{
		{"setup account A (RAM through alibaba-cloud-sdk-go)", w.setupAccountA},
		{"CreateAccount B (rolepull 2026-11-27)", w.setupAccountB},
		{"setup account B role-acr trusting A", w.setupRoleAcr},
		{"RAM user of A assumes role-acr while it trusts A", w.userAssumesRoleAcr},
		// Not parallel: it swaps http.DefaultTransport's TLS roots.
		{"credentials-go ram_role_arn over TLS", w.credentialsGoOverTLS},
		{"narrow role-acr to role-assume", w.narrowRoleAcr},
		{"cross-account chain ECI → role-assume → role-acr", w.crossAccountChain},
		{"same-account restricted role acr-test", w.sameAccountAcrTest},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.Fatalf("step %q failed; later steps depend on it", s.name)
		}
	}
	t.Run("checks", func(t *testing.T) {
		t.Run("refusals", w.refusals)
		t.Run("accepted bounds", w.acceptedBounds)
		t.Run("GetCallerIdentity", w.callerIdentities)
		t.Run("widening session policy", w.wideningSessionPolicy)
		t.Run("hand-signed request is accepted", w.handSignedAccepted)
		t.Run("RAM lifecycle", w.ramLifecycle)
	})
	w.checkAuditLog(t)
	w.checkNoSecretsAtRest(t)
}

// Instance ids of the seed's restricted policy (cri- + lower-case letters
// and digits).
const (
	seedInstance  = "cri-nwj395hgf6f3test"
	otherInstance = "cri-otherinstance01"
)

func seedPolicy(instanceARN string) string {
	return `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:List*"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":["cr:Pull*"],"Resource":["` + instanceARN + `"]}]}`
}

const eciTrust = `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["eci.aliyuncs.com"]}}],"Version":"1"}`

func ramTrust(principalARN string) string {
	return `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["` + principalARN + `"]}}],"Version":"1"}`
}

func instanceARN(account, instance string) string {
	return "acs:cr:cn-hangzhou:" + account + ":instance/" + instance
}

// --- RAM helpers: every call through alibaba-cloud-sdk-go, every result
// asserted ---

func (w *world) createRole(t *testing.T, as cred, account, name, trust string, maxDur int) ramsdk.Role {
	t.Helper()
	req := ramsdk.CreateCreateRoleRequest()
	w.at(req)
	req.RoleName, req.AssumeRolePolicyDocument, req.Description = name, trust, "rolepull acceptance test"
	if maxDur != 0 {
		req.MaxSessionDuration = requests.NewInteger(maxDur)
	}
	resp, err := w.ramClient(t, as).CreateRole(req)
	if err != nil {
		t.Fatalf("CreateRole(%q) = %v", name, err)
	}
	r := resp.Role
	if maxDur == 0 {
		maxDur = 3600
	}
	if want := arn.RoleARN(account, name); r.Arn != want || r.RoleName != name || r.RoleId == "" ||
		r.AssumeRolePolicyDocument != trust || r.MaxSessionDuration != int64(maxDur) || r.CreateDate == "" {
		t.Fatalf("CreateRole(%q) = %+v, want Arn %s, the trust policy as sent, MaxSessionDuration %d", name, r, want, maxDur)
	}
	got := w.getRole(t, as, name)
	if got.RoleId != r.RoleId || got.Arn != r.Arn || got.AssumeRolePolicyDocument != trust {
		t.Fatalf("GetRole(%q) = %+v, want what CreateRole returned %+v", name, got, r)
	}
	w.mu.Lock()
	w.roleIDs[account+"/"+name] = r.RoleId
	w.mu.Unlock()
	return r
}

func (w *world) getRole(t *testing.T, as cred, name string) ramsdk.Role {
	t.Helper()
	req := ramsdk.CreateGetRoleRequest()
	w.at(req)
	req.RoleName = name
	resp, err := w.ramClient(t, as).GetRole(req)
	if err != nil {
		t.Fatalf("GetRole(%q) = %v", name, err)
	}
	return resp.Role
}

func (w *world) attachToRole(t *testing.T, as cred, policyType, policy, role string) {
	t.Helper()
	req := ramsdk.CreateAttachPolicyToRoleRequest()
	w.at(req)
	req.PolicyType, req.PolicyName, req.RoleName = policyType, policy, role
	if _, err := w.ramClient(t, as).AttachPolicyToRole(req); err != nil {
		t.Fatalf("AttachPolicyToRole(%s %s → %s) = %v", policyType, policy, role, err)
	}
	w.wantRolePolicies(t, as, role, policyType+"/"+policy)
}

// wantRolePolicies asserts ListPoliciesForRole shows exactly want
// ("Type/Name").
func (w *world) wantRolePolicies(t *testing.T, as cred, role string, want ...string) {
	t.Helper()
	req := ramsdk.CreateListPoliciesForRoleRequest()
	w.at(req)
	req.RoleName = role
	resp, err := w.ramClient(t, as).ListPoliciesForRole(req)
	if err != nil {
		t.Fatalf("ListPoliciesForRole(%q) = %v", role, err)
	}
	var got []string
	for _, p := range resp.Policies.Policy {
		got = append(got, p.PolicyType+"/"+p.PolicyName)
		if p.AttachDate == "" {
			t.Errorf("ListPoliciesForRole(%q): %s has no AttachDate", role, p.PolicyName)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ListPoliciesForRole(%q) = %v, want %v", role, got, want)
	}
}

// createUser creates a RAM user of A with an AccessKey and the given system
// policies.
func (w *world) createUser(t *testing.T, name string, systemPolicies ...string) (cred, string) {
	t.Helper()
	rc := w.ramClient(t, w.rootA)
	ureq := ramsdk.CreateCreateUserRequest()
	w.at(ureq)
	ureq.UserName = name
	uresp, err := rc.CreateUser(ureq)
	if err != nil {
		t.Fatalf("CreateUser(%q) = %v", name, err)
	}
	if uresp.User.UserName != name || uresp.User.UserId == "" {
		t.Fatalf("CreateUser(%q) = %+v", name, uresp.User)
	}
	kreq := ramsdk.CreateCreateAccessKeyRequest()
	w.at(kreq)
	kreq.UserName = name
	kresp, err := rc.CreateAccessKey(kreq)
	if err != nil {
		t.Fatalf("CreateAccessKey(%q) = %v", name, err)
	}
	k := kresp.AccessKey
	if !strings.HasPrefix(k.AccessKeyId, "LTAI") || k.AccessKeySecret == "" || k.Status != "Active" {
		t.Fatalf("CreateAccessKey(%q) = %s %s, want an Active LTAI… key with a secret", name, k.AccessKeyId, k.Status)
	}
	w.issued(k.AccessKeySecret)
	for _, p := range systemPolicies {
		areq := ramsdk.CreateAttachPolicyToUserRequest()
		w.at(areq)
		areq.PolicyType, areq.PolicyName, areq.UserName = "System", p, name
		if _, err := rc.AttachPolicyToUser(areq); err != nil {
			t.Fatalf("AttachPolicyToUser(%s → %s) = %v", p, name, err)
		}
	}
	return cred{ID: k.AccessKeyId, Secret: k.AccessKeySecret, ARN: arn.UserARN(w.a, name)}, uresp.User.UserId
}

// --- the sequential steps ---

func (w *world) setupAccountA(t *testing.T) {
	a := w.a
	if !arn.IsAccountID(a) {
		t.Fatalf("operator account %q is not a 16-digit UID", a)
	}
	w.instanceA = instanceARN(a, seedInstance)

	// acr-test: an ECI-trusted role restricted by the seed's custom policy.
	doc := seedPolicy(w.instanceA)
	preq := ramsdk.CreateCreatePolicyRequest()
	w.at(preq)
	preq.PolicyName, preq.PolicyDocument, preq.Description = "acr-test-pull", doc, "cr:Get*/cr:List* anywhere, cr:Pull* on one instance"
	presp, err := w.ramClient(t, w.rootA).CreatePolicy(preq)
	if err != nil {
		t.Fatalf("CreatePolicy = %v", err)
	}
	if p := presp.Policy; p.PolicyName != "acr-test-pull" || p.PolicyType != "Custom" || p.DefaultVersion != "v1" {
		t.Fatalf("CreatePolicy = %+v, want acr-test-pull Custom v1", p)
	}
	greq := ramsdk.CreateGetPolicyRequest()
	w.at(greq)
	greq.PolicyName, greq.PolicyType = "acr-test-pull", "Custom"
	gresp, err := w.ramClient(t, w.rootA).GetPolicy(greq)
	if err != nil {
		t.Fatalf("GetPolicy = %v", err)
	}
	if v := gresp.DefaultPolicyVersion; v.PolicyDocument != doc || v.VersionId != "v1" || !v.IsDefaultVersion {
		t.Fatalf("GetPolicy.DefaultPolicyVersion = %+v, want v1 with the document as sent", v)
	}
	w.acrTestArn = w.createRole(t, w.rootA, a, "acr-test", eciTrust, 0).Arn
	w.attachToRole(t, w.rootA, "Custom", "acr-test-pull", "acr-test")

	// role-assume: ECI-trusted, may call AssumeRole. role-other: the same,
	// but not the one role-acr will trust.
	w.roleAssumeArn = w.createRole(t, w.rootA, a, "role-assume", eciTrust, 0).Arn
	w.attachToRole(t, w.rootA, "System", "AliyunSTSAssumeRoleAccess", "role-assume")
	w.roleOtherArn = w.createRole(t, w.rootA, a, "role-other", eciTrust, 0).Arn
	w.attachToRole(t, w.rootA, "System", "AliyunSTSAssumeRoleAccess", "role-other")

	// cr-reader: trusts all of A, only cr read access, sessions up to 12 h.
	w.crReaderArn = w.createRole(t, w.rootA, a, "cr-reader", ramTrust(arn.RootARN(a)), 43200).Arn
	w.attachToRole(t, w.rootA, "System", "AliyunContainerRegistryReadOnlyAccess", "cr-reader")

	w.alice, w.aliceUserID = w.createUser(t, "alice", "AliyunSTSAssumeRoleAccess")
	w.bob, _ = w.createUser(t, "bob")
	w.carol, _ = w.createUser(t, "carol", "AliyunSTSAssumeRoleAccess")
	ureq := ramsdk.CreateUpdateAccessKeyRequest()
	w.at(ureq)
	ureq.UserName, ureq.UserAccessKeyId, ureq.Status = "carol", w.carol.ID, "Inactive"
	if _, err := w.ramClient(t, w.rootA).UpdateAccessKey(ureq); err != nil {
		t.Fatalf("UpdateAccessKey(carol, Inactive) = %v", err)
	}

	lreq := ramsdk.CreateListRolesRequest()
	w.at(lreq)
	lresp, err := w.ramClient(t, w.rootA).ListRoles(lreq)
	if err != nil {
		t.Fatalf("ListRoles = %v", err)
	}
	var names []string
	for _, r := range lresp.Roles.Role {
		names = append(names, r.RoleName)
	}
	if got, want := strings.Join(names, ","), "acr-test,cr-reader,role-assume,role-other"; got != want || lresp.IsTruncated {
		t.Fatalf("ListRoles = %s (truncated %v), want %s", got, lresp.IsTruncated, want)
	}

	// The ECI service-linked role, through ResourceManager 2020-03-31.
	sreq := rmsdk.CreateCreateServiceLinkedRoleRequest()
	w.at(sreq)
	sreq.ServiceName = "eci.aliyuncs.com"
	sresp, err := w.rmClient(t, w.rootA).CreateServiceLinkedRole(sreq)
	if err != nil {
		t.Fatalf("CreateServiceLinkedRole = %v", err)
	}
	if r := sresp.Role; r.RoleName != "AliyunServiceRoleForECI" || !r.IsServiceLinkedRole || r.Arn != arn.RoleARN(a, "AliyunServiceRoleForECI") {
		t.Fatalf("CreateServiceLinkedRole = %+v, want AliyunServiceRoleForECI, service-linked", r)
	}
	w.wantRolePolicies(t, w.rootA, "AliyunServiceRoleForECI", "System/AliyunServiceRolePolicyForECI")
}

func (w *world) setupAccountB(t *testing.T) {
	var out struct {
		RequestID string `json:"RequestId"`
		Account   struct{ AccountId, AccountName string }
		AccessKey struct{ AccessKeyId, AccessKeySecret string }
	}
	c := &openapi.Client{Endpoint: w.url, AccessKeyID: w.rootA.ID, AccessKeySecret: w.rootA.Secret}
	if err := c.Do(t.Context(), "2026-11-27", "CreateAccount", map[string]string{"AccountName": "account-b"}, &out); err != nil {
		t.Fatalf("CreateAccount = %v", err)
	}
	if !arn.IsAccountID(out.Account.AccountId) || out.Account.AccountId == w.a || out.Account.AccountName != "account-b" ||
		!strings.HasPrefix(out.AccessKey.AccessKeyId, "LTAI") || out.AccessKey.AccessKeySecret == "" || out.RequestID == "" {
		t.Fatalf("CreateAccount = %+v, want a new 16-digit account with a root key", out)
	}
	w.issued(out.AccessKey.AccessKeySecret)
	w.b = out.Account.AccountId
	w.rootB = cred{ID: out.AccessKey.AccessKeyId, Secret: out.AccessKey.AccessKeySecret, ARN: arn.RootARN(w.b)}
	w.instanceB = instanceARN(w.b, "cri-accountbregistry")

	// Only the operator's root (or a grant of rolepull:*) may create accounts.
	for _, as := range []cred{w.alice, w.rootB} {
		c := &openapi.Client{Endpoint: w.url, AccessKeyID: as.ID, AccessKeySecret: as.Secret}
		err := c.Do(t.Context(), "2026-11-27", "CreateAccount", map[string]string{"AccountName": "account-c"}, nil)
		wantAPIError(t, "CreateAccount as "+as.ARN, err, "NoPermission", http.StatusForbidden)
	}
}

func (w *world) setupRoleAcr(t *testing.T) {
	// Trusted entity: Alibaba Cloud account A (every RAM identity of A).
	r := w.createRole(t, w.rootB, w.b, "role-acr", ramTrust(arn.RootARN(w.a)), 43200)
	w.roleAcrArn = r.Arn
	if want := "acs:ram::" + w.b + ":role/role-acr"; r.Arn != want {
		t.Fatalf("role-acr Arn = %s, want %s", r.Arn, want)
	}
	w.attachToRole(t, w.rootB, "System", "AliyunContainerRegistryFullAccess", "role-acr")
	// B's RAM is B's: A's root sees no role-acr.
	req := ramsdk.CreateGetRoleRequest()
	w.at(req)
	req.RoleName = "role-acr"
	_, err := w.ramClient(t, w.rootA).GetRole(req)
	wantAPIError(t, "GetRole(role-acr) as A", err, "EntityNotExist.Role", http.StatusNotFound)
}

func (w *world) userAssumesRoleAcr(t *testing.T) {
	session := w.session("alice-acr")
	before := time.Now()
	resp, err := w.assume(t, w.alice, assumeIn{roleArn: w.roleAcrArn, session: session, duration: 900})
	if err != nil {
		t.Fatalf("AssumeRole(role-acr) as alice = %v, want success while role-acr trusts A's root", err)
	}
	checkAssumed(t, resp, before, 900, w.roleAcrArn+"/"+session, w.roleID(w.b+"/role-acr"), session)
	w.wantIdentity(t, sessionCred(resp, w.b, "role-acr", session), identity{
		typ: "AssumedRoleUser", account: w.b, arn: arn.AssumedRoleARN(w.b, "role-acr", session),
		principal: w.roleID(w.b+"/role-acr") + ":" + session,
	})
}

func (w *world) credentialsGoOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(w.n.OpenAPI)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	// credentials-go speaks HTTPS only and clones http.DefaultTransport.
	tr := http.DefaultTransport.(*http.Transport)
	saved := tr.TLSClientConfig
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	t.Cleanup(func() { tr.TLSClientConfig = saved })
	host := strings.TrimPrefix(srv.URL, "https://")

	session := w.session("credentials-go")
	cfg := new(credentials.Config).
		SetType("ram_role_arn").
		SetAccessKeyId(w.alice.ID).
		SetAccessKeySecret(w.alice.Secret).
		SetRoleArn(w.roleAcrArn).
		SetRoleSessionName(session).
		SetRoleSessionExpiration(1800).
		SetSTSEndpoint(host)
	c, err := credentials.NewCredential(cfg)
	if err != nil {
		t.Fatalf("credentials.NewCredential = %v", err)
	}
	m, err := c.GetCredential()
	w.recordAssume(w.alice.ARN, assumeIn{roleArn: w.roleAcrArn, session: session}, err)
	if err != nil {
		t.Fatalf("ram_role_arn GetCredential = %v", err)
	}
	got := cred{ID: tea.StringValue(m.AccessKeyId), Secret: tea.StringValue(m.AccessKeySecret), Token: tea.StringValue(m.SecurityToken),
		ARN: arn.AssumedRoleARN(w.b, "role-acr", session)}
	w.issued(got.Secret, got.Token)
	if !strings.HasPrefix(got.ID, "STS.") || got.Secret == "" || got.Token == "" || tea.StringValue(m.Type) != "ram_role_arn" {
		t.Fatalf("ram_role_arn credential = %s (type %s), want an STS. key with secret and token", got.ID, tea.StringValue(m.Type))
	}
	// Cached: the second call sends nothing.
	if m2, err := c.GetCredential(); err != nil || tea.StringValue(m2.AccessKeyId) != got.ID {
		t.Errorf("second GetCredential = %v, %v, want the cached %s", m2, err, got.ID)
	}
	w.wantIdentity(t, got, identity{typ: "AssumedRoleUser", account: w.b, arn: got.ARN, principal: w.roleID(w.b+"/role-acr") + ":" + session})

	// A refusal surfaces as the provider's error with the vendor's body.
	denied := w.session("credentials-go-denied")
	cfg.SetRoleArn(w.acrTestArn).SetRoleSessionName(denied)
	c, err = credentials.NewCredential(cfg)
	if err != nil {
		t.Fatalf("credentials.NewCredential = %v", err)
	}
	_, err = c.GetCredential()
	w.expectAudit(auditExpect{caller: w.alice.ARN, target: w.acrTestArn, session: denied, decision: "deny"})
	if err == nil || !strings.Contains(err.Error(), `"Code":"NoPermission"`) {
		t.Errorf("ram_role_arn GetCredential(acr-test) as alice = %v, want a NoPermission refusal", err)
	}
}

func (w *world) narrowRoleAcr(t *testing.T) {
	narrowed := ramTrust(arn.RoleARN(w.a, "role-assume"))
	req := ramsdk.CreateUpdateRoleRequest()
	w.at(req)
	req.RoleName, req.NewAssumeRolePolicyDocument = "role-acr", narrowed
	resp, err := w.ramClient(t, w.rootB).UpdateRole(req)
	if err != nil {
		t.Fatalf("UpdateRole(role-acr) = %v", err)
	}
	if resp.Role.AssumeRolePolicyDocument != narrowed || resp.Role.RoleId != w.roleID(w.b+"/role-acr") || resp.Role.MaxSessionDuration != 43200 {
		t.Fatalf("UpdateRole(role-acr) = %+v, want the narrowed trust policy, same RoleId and MaxSessionDuration", resp.Role)
	}
	if got := w.getRole(t, w.rootB, "role-acr").AssumeRolePolicyDocument; got != narrowed {
		t.Fatalf("GetRole(role-acr).AssumeRolePolicyDocument = %s, want %s", got, narrowed)
	}
	// alice still holds AliyunSTSAssumeRoleAccess, but the trust policy no
	// longer admits her.
	_, err = w.assume(t, w.alice, assumeIn{roleArn: w.roleAcrArn, session: w.session("alice-acr-narrowed")})
	ae := wantAPIError(t, "AssumeRole(role-acr) as alice after narrowing", err, "NoPermission", http.StatusForbidden)
	if !strings.HasPrefix(ae.Message, "You are not authorized to do this action. You should be authorized by RAM.") {
		t.Errorf("message = %q, want the vendor's", ae.Message)
	}
}

func (w *world) crossAccountChain(t *testing.T) {
	// ECI (the service principal) assumes role-assume in A.
	podSession := w.session("eci-pod")
	var err error
	w.assumeSess, _, err = w.eciAssume(t, w.roleAssumeArn, podSession, 3600)
	if err != nil {
		t.Fatalf("ECI AssumeRole(role-assume) = %v", err)
	}
	w.wantIdentity(t, w.assumeSess, identity{typ: "AssumedRoleUser", account: w.a, arn: w.assumeSess.ARN, principal: w.roleID(w.a+"/role-assume") + ":" + podSession})

	// The chained hop, over HTTP with the session's STS credentials: RPC v1
	// (alibaba-cloud-sdk-go) and ACS3 (sts-20150401 with the algorithm
	// cleared).
	for _, via := range []string{"alibaba-cloud-sdk-go", "sts-20150401 ACS3"} {
		session := w.session("eci-acr")
		before := time.Now()
		var resp *stssdk.AssumeRoleResponse
		if via == "alibaba-cloud-sdk-go" {
			resp, err = w.assume(t, w.assumeSess, assumeIn{roleArn: w.roleAcrArn, session: session, duration: 3600})
		} else {
			resp, err = w.assumeV2(t, w.assumeSess, true, assumeIn{roleArn: w.roleAcrArn, session: session, duration: 3600})
		}
		if err != nil {
			t.Fatalf("%s: AssumeRole(role-acr) as role-assume = %v", via, err)
		}
		checkAssumed(t, resp, before, 3600, w.roleAcrArn+"/"+session, w.roleID(w.b+"/role-acr"), session)
		acr := sessionCred(resp, w.b, "role-acr", session)
		w.wantIdentity(t, acr, identity{typ: "AssumedRoleUser", account: w.b, arn: acr.ARN, principal: w.roleID(w.b+"/role-acr") + ":" + session})
		// What the chain is for: B's registry, through AliyunContainerRegistryFullAccess.
		w.wantAllowed(t, acr, "cr:GetAuthorizationToken", w.instanceB, true)
		w.wantAllowed(t, acr, "cr:PullRepository", w.instanceB, true)
		w.wantAllowed(t, acr, "cr:PullRepository", w.instanceA, false) // A's registry is not B's
		w.wantAllowed(t, acr, "ram:CreateRole", arn.RAMResource(w.b, "role/x"), false)
	}

	// ECI cannot skip the first hop: role-acr trusts a role, not the service.
	_, _, err = w.eciAssume(t, w.roleAcrArn, w.session("eci-direct"), 0)
	if err == nil || !strings.Contains(err.Error(), "does not admit eci.aliyuncs.com") {
		t.Errorf("ECI AssumeRole(role-acr) = %v, want a trust refusal", err)
	}

	// role-other, for the refusal table.
	w.otherSess, _, err = w.eciAssume(t, w.roleOtherArn, w.session("eci-other"), 0)
	if err != nil {
		t.Fatalf("ECI AssumeRole(role-other) = %v", err)
	}
}

func (w *world) sameAccountAcrTest(t *testing.T) {
	session := w.session("eci-acr-test")
	before := time.Now()
	s, user, err := w.eciAssume(t, w.acrTestArn, session, 0)
	if err != nil {
		t.Fatalf("ECI AssumeRole(acr-test) = %v", err)
	}
	if want := w.acrTestArn + "/" + session; user.Arn != want {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", user.Arn, want)
	}
	if want := w.roleID(w.a+"/acr-test") + ":" + session; user.AssumedRoleID != want {
		t.Errorf("AssumedRoleUser.AssumedRoleId = %q, want %q", user.AssumedRoleID, want)
	}
	id, _, err := w.n.STS.Verify(s.ID, s.Token)
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	checkExpiration(t, id.Expiration.UTC().Format("2006-01-02T15:04:05Z"), before, 3600)
	w.wantIdentity(t, s, identity{typ: "AssumedRoleUser", account: w.a, arn: s.ARN, principal: w.roleID(w.a+"/acr-test") + ":" + session})
	for _, c := range []struct {
		action, resource string
		want             bool
	}{
		{"cr:GetAuthorizationToken", w.instanceA, true},
		{"cr:ListRepository", instanceARN(w.a, otherInstance), true},
		{"cr:PullRepository", w.instanceA, true},
		{"cr:PullRepository", instanceARN(w.a, otherInstance), false},
		{"cr:PushRepository", w.instanceA, false},
		{"ram:CreateRole", arn.RAMResource(w.a, "role/x"), false},
	} {
		w.wantAllowed(t, s, c.action, c.resource, c.want)
	}
}

// wantAllowed asks RAM in-process whether a session may act: rolepull has
// no registry endpoint yet to ask over HTTP.
func (w *world) wantAllowed(t *testing.T, s cred, action, resource string, want bool) {
	t.Helper()
	id, _, err := w.n.STS.Verify(s.ID, s.Token)
	if err != nil {
		t.Fatalf("Verify(%s) = %v", s.ARN, err)
	}
	d, err := w.n.RAM.Authorize(t.Context(), id, ram.Request{Action: action, Resources: []string{resource}})
	if err != nil {
		t.Fatalf("Authorize = %v", err)
	}
	if d.Allowed != want {
		t.Errorf("Authorize(%s, %s on %s) = %v (%s), want %v", s.ARN, action, resource, d.Allowed, d.Reason, want)
	}
}

// --- GetCallerIdentity ---

type identity struct {
	typ, account, arn, principal string
}

// wantIdentity calls GetCallerIdentity as c with both SDKs and both
// signatures and compares.
func (w *world) wantIdentity(t *testing.T, c cred, want identity) {
	t.Helper()
	req := stssdk.CreateGetCallerIdentityRequest()
	w.at(req)
	resp, err := w.stsClient(t, c).GetCallerIdentity(req)
	if err != nil {
		t.Fatalf("GetCallerIdentity as %s (alibaba-cloud-sdk-go) = %v", c.ARN, err)
	}
	got := identity{resp.IdentityType, resp.AccountId, resp.Arn, resp.PrincipalId}
	if got != want {
		t.Errorf("GetCallerIdentity as %s (alibaba-cloud-sdk-go) = %+v, want %+v", c.ARN, got, want)
	}
	for _, acs3 := range []bool{false, true} {
		r, err := w.stsV2(t, c, acs3, nil).GetCallerIdentity()
		if err != nil {
			t.Fatalf("GetCallerIdentity as %s (sts-20150401, ACS3 %v) = %v", c.ARN, acs3, err)
		}
		b := r.Body
		got := identity{tea.StringValue(b.IdentityType), tea.StringValue(b.AccountId), tea.StringValue(b.Arn), tea.StringValue(b.PrincipalId)}
		if got != want || tea.Int32Value(r.StatusCode) != http.StatusOK {
			t.Errorf("GetCallerIdentity as %s (sts-20150401, ACS3 %v) = %+v (HTTP %d), want %+v", c.ARN, acs3, got, tea.Int32Value(r.StatusCode), want)
		}
	}
}

func (w *world) callerIdentities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		as   cred
		want identity
	}{
		{"root of A", w.rootA, identity{"Account", w.a, arn.RootARN(w.a), w.a}},
		{"root of B", w.rootB, identity{"Account", w.b, arn.RootARN(w.b), w.b}},
		{"RAM user", w.alice, identity{"RAMUser", w.a, arn.UserARN(w.a, "alice"), w.aliceUserID}},
		{"RAM user without policies", w.bob, identity{"RAMUser", w.a, arn.UserARN(w.a, "bob"), ""}},
		{"assumed role", w.otherSess, identity{"AssumedRoleUser", w.a, w.otherSess.ARN, w.roleID(w.a+"/role-other") + ":" + w.otherSess.ARN[strings.LastIndex(w.otherSess.ARN, "/")+1:]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			if want.principal == "" { // bob's UserId is not kept; read it back
				want.principal = w.userID(t, "bob")
			}
			w.wantIdentity(t, tt.as, want)
		})
	}
}

func (w *world) userID(t *testing.T, name string) string {
	t.Helper()
	u, err := w.n.RAM.GetUser(t.Context(), w.a, name)
	if err != nil {
		t.Fatalf("GetUser(%q) = %v", name, err)
	}
	return u.UserID
}

// --- refusals ---

func (w *world) refusals(t *testing.T) {
	t.Parallel()
	wrongSecret := func(c cred) cred { c.Secret = "not-" + c.Secret; return c }
	assume := func(c cred, in assumeIn) func(*testing.T) error {
		return func(t *testing.T) error {
			_, err := w.assume(t, c, in)
			return err
		}
	}
	assumeV2 := func(c cred, acs3 bool, in assumeIn) func(*testing.T) error {
		return func(t *testing.T) error {
			_, err := w.assumeV2(t, c, acs3, in)
			return err
		}
	}
	callerIdentityAt := func(c cred, ts time.Time) func(*testing.T) error {
		return func(t *testing.T) error {
			var out map[string]string
			return post(t, w.signedV1URL(c, "2015-04-01", "GetCallerIdentity", nil, ts, newNonce()), &out)
		}
	}
	unknown := cred{ID: "LTAI" + strings.Repeat("0", 20), Secret: "secret", ARN: "unknown"}
	const notAuthorized = "You are not authorized to do this action. You should be authorized by RAM."
	tooLong := strings.Repeat("s", 65)
	widePolicy := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

	tests := []struct {
		name   string
		call   func(*testing.T) error
		code   string
		status int
		msg    string // prefix of the message, when the vendor's is known
	}{
		{"bad signature/alibaba-cloud-sdk-go HMAC-SHA1", assume(wrongSecret(w.alice), assumeIn{roleArn: w.crReaderArn, session: w.session("badsig")}),
			"SignatureDoesNotMatch", 400, "Specified signature is not matched with our calculation."},
		{"bad signature/sts-20150401 HMAC-SHA1", assumeV2(wrongSecret(w.alice), false, assumeIn{roleArn: w.crReaderArn, session: w.session("badsig")}),
			"SignatureDoesNotMatch", 400, ""},
		{"bad signature/sts-20150401 ACS3-HMAC-SHA256", assumeV2(wrongSecret(w.alice), true, assumeIn{roleArn: w.crReaderArn, session: w.session("badsig")}),
			"SignatureDoesNotMatch", 400, ""},
		{"bad signature/STS session secret", assume(wrongSecret(w.assumeSess), assumeIn{roleArn: w.roleAcrArn, session: w.session("badsig")}),
			"SignatureDoesNotMatch", 400, ""},
		{"stale timestamp/16 minutes old", callerIdentityAt(w.alice, time.Now().Add(-16*time.Minute)), "InvalidTimeStamp.Expired", 400, ""},
		{"stale timestamp/16 minutes ahead", callerIdentityAt(w.alice, time.Now().Add(16*time.Minute)), "InvalidTimeStamp.Expired", 400, ""},
		{"replayed nonce/hand-signed", func(t *testing.T) error {
			u := w.signedV1URL(w.alice, "2015-04-01", "GetCallerIdentity", nil, time.Now(), newNonce())
			var out map[string]string
			if err := post(t, u, &out); err != nil {
				t.Fatalf("first send = %v, want success", err)
			}
			return post(t, u, &out)
		}, "SignatureNonceUsed", 400, ""},
		{"replayed nonce/alibaba-cloud-sdk-go", func(t *testing.T) error {
			rt := &replayTransport{inner: &http.Transport{}}
			t.Cleanup(rt.inner.CloseIdleConnections)
			cl := w.stsClient(t, w.alice)
			cl.SetTransport(rt)
			req := stssdk.CreateGetCallerIdentityRequest()
			w.at(req)
			_, err := cl.GetCallerIdentity(req)
			if got := rt.first.Load(); got != http.StatusOK {
				t.Errorf("first send: HTTP %d, want 200", got)
			}
			return err
		}, "SignatureNonceUsed", 400, ""},
		{"replayed nonce/sts-20150401 ACS3-HMAC-SHA256", func(t *testing.T) error {
			rc := &replayClient{}
			_, err := w.stsV2(t, w.alice, true, rc).GetCallerIdentity()
			if got := rc.first.Load(); got != http.StatusOK {
				t.Errorf("first send: HTTP %d, want 200", got)
			}
			return err
		}, "SignatureNonceUsed", 400, ""},
		{"unknown key/alibaba-cloud-sdk-go", assume(unknown, assumeIn{roleArn: w.crReaderArn, session: w.session("unknown-key")}),
			"InvalidAccessKeyId.NotFound", 404, ""},
		{"unknown key/sts-20150401 ACS3-HMAC-SHA256", assumeV2(unknown, true, assumeIn{roleArn: w.crReaderArn, session: w.session("unknown-key")}),
			"InvalidAccessKeyId.NotFound", 404, ""},
		{"inactive key/alibaba-cloud-sdk-go", assume(w.carol, assumeIn{roleArn: w.crReaderArn, session: w.session("inactive-key")}),
			"InvalidAccessKeyId.Inactive", 400, ""},
		{"inactive key/sts-20150401 ACS3-HMAC-SHA256", assumeV2(w.carol, true, assumeIn{roleArn: w.crReaderArn, session: w.session("inactive-key")}),
			"InvalidAccessKeyId.Inactive", 400, ""},
		{"root assumes a role", assume(w.rootA, assumeIn{roleArn: w.crReaderArn, session: w.session("root")}),
			"NoPermission", 403, "Roles may not be assumed by root accounts."},
		{"root assumes a role in another account", assumeV2(w.rootA, true, assumeIn{roleArn: w.roleAcrArn, session: w.session("root")}),
			"NoPermission", 403, ""},
		{"caller without sts:AssumeRole", assume(w.bob, assumeIn{roleArn: w.crReaderArn, session: w.session("bob")}),
			"NoPermission", 403, notAuthorized},
		{"trust policy does not admit the caller/RAM user on an ECI-trusted role", assume(w.alice, assumeIn{roleArn: w.acrTestArn, session: w.session("alice-eci")}),
			"NoPermission", 403, notAuthorized},
		{"trust policy does not admit the caller/RAM user on narrowed role-acr", assumeV2(w.alice, false, assumeIn{roleArn: w.roleAcrArn, session: w.session("alice-acr")}),
			"NoPermission", 403, ""},
		{"trust policy does not admit the caller/role-other on narrowed role-acr", assume(w.otherSess, assumeIn{roleArn: w.roleAcrArn, session: w.session("other-acr")}),
			"NoPermission", 403, notAuthorized},
		{"DurationSeconds 899", assume(w.alice, assumeIn{roleArn: w.crReaderArn, session: w.session("dur"), duration: 899}),
			"InvalidParameter.DurationSeconds", 400, ""},
		{"DurationSeconds 43201", assume(w.alice, assumeIn{roleArn: w.crReaderArn, session: w.session("dur"), duration: 43201}),
			"InvalidParameter.DurationSeconds", 400, ""},
		{"DurationSeconds 7200 chained", assume(w.assumeSess, assumeIn{roleArn: w.roleAcrArn, session: w.session("chained"), duration: 7200}),
			"InvalidParameter.DurationSeconds", 400, ""},
		{"malformed RoleArn/bare name", assume(w.alice, assumeIn{roleArn: "cr-reader", session: w.session("arn")}),
			"InvalidParameter.RoleArn", 400, ""},
		{"malformed RoleArn/short account", assume(w.alice, assumeIn{roleArn: "acs:ram::12345:role/cr-reader", session: w.session("arn")}),
			"InvalidParameter.RoleArn", 400, ""},
		{"malformed RoleArn/a user", assumeV2(w.alice, true, assumeIn{roleArn: arn.UserARN(w.a, "alice"), session: w.session("arn")}),
			"InvalidParameter.RoleArn", 400, ""},
		{"RoleSessionName of 1 character", assume(w.alice, assumeIn{roleArn: w.crReaderArn, session: "a"}),
			"InvalidParameter.RoleSessionName", 400, ""},
		{"RoleSessionName of 65 characters", assume(w.alice, assumeIn{roleArn: w.crReaderArn, session: tooLong}),
			"InvalidParameter.RoleSessionName", 400, ""},
		{"RoleSessionName with a space", assumeV2(w.alice, true, assumeIn{roleArn: w.crReaderArn, session: "two words"}),
			"InvalidParameter.RoleSessionName", 400, ""},
		{"session policy of 2049 bytes", assume(w.alice, assumeIn{roleArn: w.crReaderArn, session: w.session("policy"), policy: paddedPolicy(2049)}),
			"InvalidParameter.PolicyGrammar", 400, ""},
		{"session policy that is not a policy", assume(w.alice, assumeIn{roleArn: w.crReaderArn, session: w.session("policy"), policy: `{"Statement":"x"}`}),
			"InvalidParameter.PolicyGrammar", 400, ""},
		{"RoleArn of a role that does not exist", assume(w.alice, assumeIn{roleArn: arn.RoleARN(w.a, "no-such-role"), session: w.session("missing")}),
			"EntityNotExist.Role", 404, ""},
		{"RoleArn of a role in an account that does not exist", assume(w.alice, assumeIn{roleArn: arn.RoleARN("1000000000000000", "cr-reader"), session: w.session("missing")}),
			"EntityNotExist.Role", 404, ""},
		{"widened session cannot ram:CreateRole", func(t *testing.T) error {
			session := w.session("widened")
			resp, err := w.assume(t, w.alice, assumeIn{roleArn: w.crReaderArn, session: session, policy: widePolicy})
			if err != nil {
				t.Fatalf("AssumeRole with a widening session policy = %v, want success", err)
			}
			req := ramsdk.CreateCreateRoleRequest()
			w.at(req)
			req.RoleName, req.AssumeRolePolicyDocument = "escalated", eciTrust
			_, err = w.ramClient(t, sessionCred(resp, w.a, "cr-reader", session)).CreateRole(req)
			return err
		}, "NoPermission", 403, notAuthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ae := wantAPIError(t, tt.name, tt.call(t), tt.code, tt.status)
			if tt.msg != "" && !strings.Contains(ae.Message, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", ae.Message, tt.msg)
			}
		})
	}
}

// paddedPolicy is a valid session policy of exactly n bytes.
func paddedPolicy(n int) string {
	p := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:Get*","Resource":"*"}]}`
	return p[:len(p)-1] + strings.Repeat(" ", n-len(p)) + "}"
}

// acceptedBounds are the values just inside each refused range.
func (w *world) acceptedBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		as       cred
		roleArn  string
		roleKey  string
		session  string
		duration int // 0: the default, 3600
		policy   string
		acs3     bool
	}{
		{"DurationSeconds 900", w.alice, w.crReaderArn, "cr-reader", w.session("dur"), 900, "", false},
		{"DurationSeconds 43200 (the role's maximum)", w.alice, w.crReaderArn, "cr-reader", w.session("dur"), 43200, "", true},
		{"DurationSeconds absent", w.alice, w.crReaderArn, "cr-reader", w.session("dur"), 0, "", false},
		{"DurationSeconds 3600 chained", w.assumeSess, w.roleAcrArn, "role-acr", w.session("chained"), 3600, "", true},
		{"RoleSessionName of 2 characters", w.alice, w.crReaderArn, "cr-reader", "ab", 0, "", false},
		{"RoleSessionName of 64 characters", w.alice, w.crReaderArn, "cr-reader", strings.Repeat("s", 63) + "x", 0, "", true},
		{"RoleSessionName with . @ _ -", w.alice, w.crReaderArn, "cr-reader", "pod.ns@cluster_1-x", 0, "", false},
		{"session policy of 2048 bytes", w.alice, w.crReaderArn, "cr-reader", w.session("policy"), 0, paddedPolicy(2048), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			account := w.a
			if tt.roleKey == "role-acr" {
				account = w.b
			}
			in := assumeIn{roleArn: tt.roleArn, session: tt.session, duration: tt.duration, policy: tt.policy}
			before := time.Now()
			var resp *stssdk.AssumeRoleResponse
			var err error
			if tt.acs3 {
				resp, err = w.assumeV2(t, tt.as, true, in)
			} else {
				resp, err = w.assume(t, tt.as, in)
			}
			if err != nil {
				t.Fatalf("AssumeRole(%s, %q, %d) = %v, want success", tt.roleArn, tt.session, tt.duration, err)
			}
			dur := tt.duration
			if dur == 0 {
				dur = 3600
			}
			checkAssumed(t, resp, before, dur, tt.roleArn+"/"+tt.session, w.roleID(account+"/"+tt.roleKey), tt.session)
		})
	}
}

// wideningSessionPolicy: a session policy can only narrow. Action "*" on a
// role with cr read access still reads cr and does nothing else.
func (w *world) wideningSessionPolicy(t *testing.T) {
	t.Parallel()
	session := w.session("widened-inproc")
	resp, err := w.assume(t, w.alice, assumeIn{roleArn: w.crReaderArn, session: session,
		policy: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`})
	if err != nil {
		t.Fatalf("AssumeRole with a widening session policy = %v, want success", err)
	}
	s := sessionCred(resp, w.a, "cr-reader", session)
	w.wantAllowed(t, s, "cr:GetRepository", w.instanceA, true)
	w.wantAllowed(t, s, "cr:PullRepository", w.instanceA, true)
	w.wantAllowed(t, s, "cr:PushRepository", w.instanceA, false)
	w.wantAllowed(t, s, "ram:CreateRole", arn.RAMResource(w.a, "role/x"), false)
	w.wantAllowed(t, s, "sts:AssumeRole", w.crReaderArn, false)

	// And a narrowing one narrows.
	narrow := w.session("narrowed")
	resp, err = w.assume(t, w.alice, assumeIn{roleArn: w.crReaderArn, session: narrow,
		policy: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:GetRepository","Resource":"*"}]}`})
	if err != nil {
		t.Fatalf("AssumeRole with a narrowing session policy = %v", err)
	}
	s = sessionCred(resp, w.a, "cr-reader", narrow)
	w.wantAllowed(t, s, "cr:GetRepository", w.instanceA, true)
	w.wantAllowed(t, s, "cr:PullRepository", w.instanceA, false)
}

// handSignedAccepted shows the hand signer the stale-timestamp and replay
// cases use is right: the same request, fresh, is accepted.
func (w *world) handSignedAccepted(t *testing.T) {
	t.Parallel()
	var out map[string]string
	if err := post(t, w.signedV1URL(w.alice, "2015-04-01", "GetCallerIdentity", nil, time.Now().Add(-14*time.Minute), newNonce()), &out); err != nil {
		t.Fatalf("hand-signed GetCallerIdentity 14 minutes old = %v, want success", err)
	}
	if out["Arn"] != w.alice.ARN || out["IdentityType"] != "RAMUser" || out["RequestId"] == "" {
		t.Errorf("hand-signed GetCallerIdentity = %v, want alice", out)
	}
	if err := post(t, w.signedV1URL(w.assumeSess, "2015-04-01", "GetCallerIdentity", nil, time.Now(), newNonce()), &out); err != nil {
		t.Fatalf("hand-signed GetCallerIdentity with an STS token = %v", err)
	}
	if out["Arn"] != w.assumeSess.ARN || out["IdentityType"] != "AssumedRoleUser" {
		t.Errorf("hand-signed GetCallerIdentity = %v, want %s", out, w.assumeSess.ARN)
	}
}

// ramLifecycle runs the RAM calls the seed does not: policy versions,
// detach, the delete conflicts and deletes.
func (w *world) ramLifecycle(t *testing.T) {
	t.Parallel()
	rc := w.ramClient(t, w.rootA)
	v1 := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:GetRepository","Resource":"*"}]}`
	v2 := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:ListRepository","Resource":"*"}]}`
	preq := ramsdk.CreateCreatePolicyRequest()
	w.at(preq)
	preq.PolicyName, preq.PolicyDocument = "scratch-policy", v1
	if _, err := rc.CreatePolicy(preq); err != nil {
		t.Fatalf("CreatePolicy = %v", err)
	}
	vreq := ramsdk.CreateCreatePolicyVersionRequest()
	w.at(vreq)
	vreq.PolicyName, vreq.PolicyDocument, vreq.SetAsDefault = "scratch-policy", v2, requests.NewBoolean(true)
	vresp, err := rc.CreatePolicyVersion(vreq)
	if err != nil {
		t.Fatalf("CreatePolicyVersion = %v", err)
	}
	if v := vresp.PolicyVersion; v.VersionId != "v2" || !v.IsDefaultVersion || v.PolicyDocument != v2 {
		t.Fatalf("CreatePolicyVersion = %+v, want default v2", v)
	}
	greq := ramsdk.CreateGetPolicyRequest()
	w.at(greq)
	greq.PolicyName, greq.PolicyType = "scratch-policy", "Custom"
	if g, err := rc.GetPolicy(greq); err != nil || g.Policy.DefaultVersion != "v2" || g.DefaultPolicyVersion.PolicyDocument != v2 {
		t.Fatalf("GetPolicy = %+v, %v, want default v2", g, err)
	}

	w.createRole(t, w.rootA, w.a, "scratch-role", eciTrust, 0)
	w.attachToRole(t, w.rootA, "Custom", "scratch-policy", "scratch-role")

	dreq := ramsdk.CreateDeleteRoleRequest()
	w.at(dreq)
	dreq.RoleName = "scratch-role"
	_, err = rc.DeleteRole(dreq)
	wantAPIError(t, "DeleteRole with a policy attached", err, "DeleteConflict.Role.Policy", http.StatusConflict)
	dpreq := ramsdk.CreateDeletePolicyRequest()
	w.at(dpreq)
	dpreq.PolicyName = "scratch-policy"
	if _, err := rc.DeletePolicy(dpreq); err == nil {
		t.Errorf("DeletePolicy while attached = nil, want a DeleteConflict")
	} else if ae, ok := apiErrorOf(err); !ok || !strings.HasPrefix(ae.Code, "DeleteConflict.Policy") || ae.Status != http.StatusConflict {
		t.Errorf("DeletePolicy while attached = %v, want DeleteConflict.Policy.* (HTTP 409)", err)
	}

	xreq := ramsdk.CreateDetachPolicyFromRoleRequest()
	w.at(xreq)
	xreq.PolicyType, xreq.PolicyName, xreq.RoleName = "Custom", "scratch-policy", "scratch-role"
	if _, err := rc.DetachPolicyFromRole(xreq); err != nil {
		t.Fatalf("DetachPolicyFromRole = %v", err)
	}
	w.wantRolePolicies(t, w.rootA, "scratch-role")
	dreq = ramsdk.CreateDeleteRoleRequest()
	w.at(dreq)
	dreq.RoleName = "scratch-role"
	if _, err := rc.DeleteRole(dreq); err != nil {
		t.Fatalf("DeleteRole = %v", err)
	}
	dpreq = ramsdk.CreateDeletePolicyRequest()
	w.at(dpreq)
	dpreq.PolicyName = "scratch-policy"
	if _, err := rc.DeletePolicy(dpreq); err != nil {
		t.Fatalf("DeletePolicy = %v", err)
	}
	req := ramsdk.CreateGetRoleRequest()
	w.at(req)
	req.RoleName = "scratch-role"
	_, err = rc.GetRole(req)
	wantAPIError(t, "GetRole after DeleteRole", err, "EntityNotExist.Role", http.StatusNotFound)
	greq = ramsdk.CreateGetPolicyRequest()
	w.at(greq)
	greq.PolicyName, greq.PolicyType = "scratch-policy", "Custom"
	_, err = rc.GetPolicy(greq)
	wantAPIError(t, "GetPolicy after DeletePolicy", err, "EntityNotExist.Policy", http.StatusNotFound)
}

// assumeV2 is assume with sts-20150401/v2 (RPC v1 by default, ACS3 with
// acs3), returning the response in alibaba-cloud-sdk-go's shape.
func (w *world) assumeV2(t *testing.T, c cred, acs3 bool, in assumeIn) (*stssdk.AssumeRoleResponse, error) {
	t.Helper()
	req := &sts20150401.AssumeRoleRequest{RoleArn: tea.String(in.roleArn), RoleSessionName: tea.String(in.session)}
	if in.duration != 0 {
		req.DurationSeconds = tea.Int64(int64(in.duration))
	}
	if in.policy != "" {
		req.Policy = tea.String(in.policy)
	}
	resp, err := w.stsV2(t, c, acs3, nil).AssumeRole(req)
	w.recordAssume(c.ARN, in, err)
	if err != nil {
		return nil, err
	}
	b := resp.Body
	if b == nil || b.Credentials == nil || b.AssumedRoleUser == nil {
		t.Fatalf("AssumeRole (sts-20150401) = %+v, want Credentials and AssumedRoleUser", resp)
	}
	out := &stssdk.AssumeRoleResponse{RequestId: tea.StringValue(b.RequestId)}
	out.Credentials = stssdk.Credentials{
		AccessKeyId:     tea.StringValue(b.Credentials.AccessKeyId),
		AccessKeySecret: tea.StringValue(b.Credentials.AccessKeySecret),
		SecurityToken:   tea.StringValue(b.Credentials.SecurityToken),
		Expiration:      tea.StringValue(b.Credentials.Expiration),
	}
	out.AssumedRoleUser = stssdk.AssumedRoleUser{Arn: tea.StringValue(b.AssumedRoleUser.Arn), AssumedRoleId: tea.StringValue(b.AssumedRoleUser.AssumedRoleId)}
	w.issued(out.Credentials.AccessKeySecret, out.Credentials.SecurityToken)
	return out, nil
}
