package node_test

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openapiv2 "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	sts20150401 "github.com/alibabacloud-go/sts-20150401/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	sdkcredentials "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	ramsdk "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	rmsdk "github.com/aliyun/alibaba-cloud-sdk-go/services/resourcemanager"
	stssdk "github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/sts"
)

// sdkRegion is the region every client is configured with; the endpoint is
// overridden, so it only ends up in RegionId.
const sdkRegion = "cn-hangzhou"

// cred is a credential a client signs with, and the ARN the server should
// see as the caller (for the audit checks).
type cred struct {
	ID, Secret, Token string
	ARN               string
}

// world is one rolepull node on loopback and what the tests create in it.
// Fields set during the sequential setup are read-only afterwards.
type world struct {
	n       *node.Node
	dataDir string
	host    string // 127.0.0.1:PORT
	url     string // http://127.0.0.1:PORT

	a, b           string // account UIDs: A = the operator account, B = created through CreateAccount
	rootA, rootB   cred
	alice, bob     cred // RAM users of A: alice has AliyunSTSAssumeRoleAccess, bob nothing
	carol          cred // RAM user of A whose only key is Inactive
	aliceUserID    string
	roleIDs        map[string]string // "UID/NAME" → RoleId; guarded by mu
	assumeSess     cred              // a session of role-assume (A), issued to the ECI service
	otherSess      cred              // a session of role-other (A), issued to the ECI service
	crReaderArn    string
	roleAcrArn     string
	roleAssumeArn  string
	roleOtherArn   string
	acrTestArn     string
	instanceA      string // the seed's ACR instance ARN in A
	instanceB      string // an ACR instance ARN in B
	sessionCounter atomic.Int64

	mu      sync.Mutex    // guards roleIDs, secrets and audits
	secrets []string      // every AccessKeySecret and SecurityToken issued during the test
	audits  []auditExpect // one per AssumeRole call
}

// auditExpect is what the audit log must say about one AssumeRole call.
// decision "" means the call must leave no record (it failed
// authentication, before STS saw it).
type auditExpect struct {
	caller, target, session, decision string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	n, err := node.New(t.Context(), node.Config{DataDir: dir, OpenAPIAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(t.Context()) }()
	t.Cleanup(func() {
		// t.Context() is cancelled before cleanups run, so Run returns.
		if err := <-done; err != nil {
			t.Errorf("node.Run: %v", err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("node.Close: %v", err)
		}
	})
	w := &world{
		n:       n,
		dataDir: dir,
		url:     n.OpenAPIURL(),
		host:    strings.TrimPrefix(n.OpenAPIURL(), "http://"),
		a:       n.Profile.AccountID,
		roleIDs: map[string]string{},
	}
	w.rootA = cred{ID: n.Profile.AccessKeyID, Secret: n.Profile.AccessKeySecret, ARN: "acs:ram::" + w.a + ":root"}
	return w
}

// session returns a fresh, valid RoleSessionName, so that every AssumeRole
// call can be found in the audit log.
func (w *world) session(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, w.sessionCounter.Add(1))
}

// roleID returns the RoleId CreateRole returned for "UID/NAME".
func (w *world) roleID(key string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.roleIDs[key]
}

func (w *world) issued(secrets ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			w.secrets = append(w.secrets, s)
		}
	}
}

func (w *world) expectAudit(e auditExpect) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.audits = append(w.audits, e)
}

// --- clients ---

func sdkCredential(c cred) auth.Credential {
	if c.Token != "" {
		return sdkcredentials.NewStsTokenCredential(c.ID, c.Secret, c.Token)
	}
	return sdkcredentials.NewAccessKeyCredential(c.ID, c.Secret)
}

// at points an alibaba-cloud-sdk-go RPC request at the node.
func (w *world) at(req requests.AcsRequest) {
	req.SetScheme("http")
	req.SetDomain(w.host)
}

// The alibaba-cloud-sdk-go clients are not safe for concurrent use (each
// call rewrites the client's timeouts), so every caller gets its own.

func (w *world) ramClient(t *testing.T, c cred) *ramsdk.Client {
	t.Helper()
	cl, err := ramsdk.NewClientWithOptions(sdkRegion, sdk.NewConfig(), sdkCredential(c))
	if err != nil {
		t.Fatalf("ram.NewClientWithOptions: %v", err)
	}
	return cl
}

func (w *world) stsClient(t *testing.T, c cred) *stssdk.Client {
	t.Helper()
	cl, err := stssdk.NewClientWithOptions(sdkRegion, sdk.NewConfig(), sdkCredential(c))
	if err != nil {
		t.Fatalf("sts.NewClientWithOptions: %v", err)
	}
	return cl
}

func (w *world) rmClient(t *testing.T, c cred) *rmsdk.Client {
	t.Helper()
	cl, err := rmsdk.NewClientWithOptions(sdkRegion, sdk.NewConfig(), sdkCredential(c))
	if err != nil {
		t.Fatalf("resourcemanager.NewClientWithOptions: %v", err)
	}
	return cl
}

// stsV2 returns a sts-20150401/v2 client. By default it signs RPC v1
// HMAC-SHA1 (its Init forces SignatureAlgorithm "v2"); acs3 clears that so
// it signs ACS3-HMAC-SHA256 in headers. hc (may be nil) sends its requests.
// Every request is checked to be signed as configured.
func (w *world) stsV2(t *testing.T, c cred, acs3 bool, hc dara.HttpClient) *sts20150401.Client {
	t.Helper()
	cfg := &openapiv2.Config{
		AccessKeyId:     tea.String(c.ID),
		AccessKeySecret: tea.String(c.Secret),
		Endpoint:        tea.String(w.host),
		Protocol:        tea.String("http"),
		RegionId:        tea.String(sdkRegion),
		HttpClient:      &signingCheck{t: t, acs3: acs3, token: c.Token, next: hc},
	}
	if c.Token != "" {
		cfg.SecurityToken = tea.String(c.Token)
	}
	cl, err := sts20150401.NewClient(cfg)
	if err != nil {
		t.Fatalf("sts20150401.NewClient: %v", err)
	}
	if acs3 {
		cl.SignatureAlgorithm = nil
	}
	return cl
}

// signingCheck is a dara.HttpClient that fails the test unless a request
// is signed the way the client was configured to sign it, so that the
// ACS3 cases really exercise ACS3.
type signingCheck struct {
	t     *testing.T
	acs3  bool
	token string
	next  dara.HttpClient // nil: send once
}

func (c *signingCheck) Call(req *http.Request, tr *http.Transport) (*http.Response, error) {
	auth, q := rawHeader(req.Header, "Authorization"), req.URL.Query()
	if c.acs3 {
		token := rawHeader(req.Header, "x-acs-security-token")
		if !strings.HasPrefix(auth, "ACS3-HMAC-SHA256 Credential=") || q.Has("Signature") || token != c.token {
			c.t.Errorf("sts-20150401 with ACS3: request has Authorization %q, query Signature %v, x-acs-security-token set %v; want ACS3 headers only",
				auth, q.Has("Signature"), token != "")
		}
	} else if auth != "" || q.Get("SignatureMethod") != "HMAC-SHA1" || q.Get("Signature") == "" || q.Get("SecurityToken") != c.token {
		c.t.Errorf("sts-20150401 with RPC v1: request has Authorization %q, SignatureMethod %q; want an HMAC-SHA1 query signature", auth, q.Get("SignatureMethod"))
	}
	if c.next != nil {
		return c.next.Call(req, tr)
	}
	return (&http.Client{Transport: tr}).Do(req)
}

// rawHeader reads a header the SDK may have set under a non-canonical key
// (darabonba writes "x-acs-…" as is).
func rawHeader(h http.Header, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// --- AssumeRole through the SDK, with bookkeeping ---

type assumeIn struct {
	roleArn, session string
	duration         int    // 0: not sent
	policy           string // "": not sent
}

// assume calls AssumeRole with alibaba-cloud-sdk-go as c, records the
// issued secrets and what the audit log must say, and returns the response.
func (w *world) assume(t *testing.T, c cred, in assumeIn) (*stssdk.AssumeRoleResponse, error) {
	t.Helper()
	req := stssdk.CreateAssumeRoleRequest()
	w.at(req)
	req.RoleArn = in.roleArn
	req.RoleSessionName = in.session
	if in.duration != 0 {
		req.DurationSeconds = requests.NewInteger(in.duration)
	}
	req.Policy = in.policy
	resp, err := w.stsClient(t, c).AssumeRole(req)
	w.recordAssume(c.ARN, in, err)
	if err == nil {
		w.issued(resp.Credentials.AccessKeySecret, resp.Credentials.SecurityToken)
	}
	return resp, err
}

// authFailures are the codes of requests refused before any action runs.
var authFailures = map[string]bool{
	"SignatureDoesNotMatch":        true,
	"SignatureNonceUsed":           true,
	"InvalidTimeStamp.Expired":     true,
	"InvalidAccessKeyId.NotFound":  true,
	"InvalidAccessKeyId.Inactive":  true,
	"InvalidSecurityToken.Expired": true,
}

// recordAssume records the audit record an AssumeRole call must leave: one
// per call that got past authentication, none otherwise.
func (w *world) recordAssume(caller string, in assumeIn, err error) {
	e := auditExpect{caller: caller, target: in.roleArn, session: in.session, decision: "allow"}
	if err != nil {
		e.decision = "deny"
		if ae, ok := apiErrorOf(err); ok && authFailures[ae.Code] {
			e.decision = ""
		}
	}
	w.expectAudit(e)
}

// eciAssume is what rolepull's ECI part does: the ECI service principal,
// which has no AccessKey, assumes a role in-process.
func (w *world) eciAssume(t *testing.T, roleArn, session string, duration int) (cred, sts.AssumedRoleUser, error) {
	t.Helper()
	creds, user, err := w.n.STS.AssumeRole(t.Context(), ram.ServiceIdentity("eci.aliyuncs.com"), sts.AssumeRoleInput{
		RoleArn: roleArn, RoleSessionName: session, DurationSeconds: duration,
	})
	in := assumeIn{roleArn: roleArn, session: session}
	w.recordAssume("eci.aliyuncs.com", in, err)
	if err != nil {
		return cred{}, user, err
	}
	w.issued(creds.AccessKeySecret, creds.SecurityToken)
	name := roleArn[strings.LastIndex(roleArn, "/")+1:]
	account := strings.TrimPrefix(roleArn[:strings.Index(roleArn, ":role/")], "acs:ram::")
	return cred{
		ID: creds.AccessKeyID, Secret: creds.AccessKeySecret, Token: creds.SecurityToken,
		ARN: "acs:ram::" + account + ":assumed-role/" + name + "/" + session,
	}, user, nil
}

// sessionCred turns an AssumeRole response into the credential of the
// session it issued.
func sessionCred(resp *stssdk.AssumeRoleResponse, account, role, session string) cred {
	return cred{
		ID:     resp.Credentials.AccessKeyId,
		Secret: resp.Credentials.AccessKeySecret,
		Token:  resp.Credentials.SecurityToken,
		ARN:    "acs:ram::" + account + ":assumed-role/" + role + "/" + session,
	}
}

// checkAssumed asserts the shape of a successful AssumeRole response:
// an STS. key, an expiration of now+duration and the session's ARN.
func checkAssumed(t *testing.T, resp *stssdk.AssumeRoleResponse, before time.Time, duration int, wantArn, wantRoleID, session string) {
	t.Helper()
	c := resp.Credentials
	if !strings.HasPrefix(c.AccessKeyId, "STS.") {
		t.Errorf("AccessKeyId = %q, want prefix STS.", c.AccessKeyId)
	}
	if c.AccessKeySecret == "" || c.SecurityToken == "" {
		t.Errorf("AccessKeySecret or SecurityToken empty")
	}
	checkExpiration(t, c.Expiration, before, duration)
	if got := resp.AssumedRoleUser.Arn; got != wantArn {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, wantArn)
	}
	if wantRoleID != "" {
		if got, want := resp.AssumedRoleUser.AssumedRoleId, wantRoleID+":"+session; got != want {
			t.Errorf("AssumedRoleUser.AssumedRoleId = %q, want %q", got, want)
		}
	}
	if resp.RequestId == "" {
		t.Errorf("RequestId is empty")
	}
}

// expirationSlack is how far an Expiration may be from the caller's own
// now+DurationSeconds: the server truncates to the second, and the call
// takes a moment.
const expirationSlack = 3 * time.Second

func checkExpiration(t *testing.T, expiration string, before time.Time, duration int) {
	t.Helper()
	exp, err := time.Parse("2006-01-02T15:04:05Z", expiration)
	if err != nil {
		t.Errorf("Expiration %q does not parse as 2006-01-02T15:04:05Z: %v", expiration, err)
		return
	}
	want := before.Add(time.Duration(duration) * time.Second)
	if d := exp.Sub(want); d < -expirationSlack || d > expirationSlack+time.Since(before) {
		t.Errorf("Expiration = %s, want %s ± %v (now + %ds)", exp.Format(time.RFC3339), want.UTC().Format(time.RFC3339), expirationSlack, duration)
	}
}

// --- vendor errors as the SDKs surface them ---

type apiError struct {
	Code    string
	Status  int
	Message string
}

// apiErrorOf extracts the vendor error from whatever the SDK returned:
// alibaba-cloud-sdk-go's *errors.ServerError, darabonba's ClientError /
// ServerError (GetCode, GetStatusCode), or tea's *SDKError.
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
	var he *httpError
	if errors.As(err, &he) {
		return apiError{Code: he.Code, Status: he.Status, Message: he.Message}, true
	}
	var oe *openapi.Error
	if errors.As(err, &oe) {
		return apiError{Code: oe.Code, Status: oe.Status, Message: oe.Message}, true
	}
	return apiError{}, false
}

// wantAPIError asserts err is the vendor error code with HTTP status.
func wantAPIError(t *testing.T, call string, err error, code string, status int) apiError {
	t.Helper()
	if err == nil {
		t.Errorf("%s = nil error, want %s (HTTP %d)", call, code, status)
		return apiError{}
	}
	ae, ok := apiErrorOf(err)
	if !ok {
		t.Errorf("%s = %T %v, want a vendor error %s", call, err, err, code)
		return apiError{}
	}
	if ae.Code != code || ae.Status != status {
		t.Errorf("%s = %s (HTTP %d: %s), want %s (HTTP %d)", call, ae.Code, ae.Status, ae.Message, code, status)
	}
	return ae
}

// --- hand-signed requests (reference/deps.md Appendix B), for what no SDK
// lets a test choose: the timestamp, the nonce, sending twice ---

func percentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// signedV1URL returns the URL of a POST with every parameter in the query,
// signed RPC v1 HMAC-SHA1 at ts with nonce.
func (w *world) signedV1URL(c cred, version, action string, params map[string]string, ts time.Time, nonce string) string {
	p := map[string]string{
		"Format": "JSON", "Version": version, "Action": action, "AccessKeyId": c.ID,
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": nonce,
		"Timestamp": ts.UTC().Format("2006-01-02T15:04:05Z"),
	}
	if c.Token != "" {
		p["SecurityToken"] = c.Token
	}
	for k, v := range params {
		p[k] = v
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = percentEncode(k) + "=" + percentEncode(p[k])
	}
	canonical := strings.Join(pairs, "&")
	m := hmac.New(sha1.New, []byte(c.Secret+"&"))
	m.Write([]byte("POST&" + percentEncode("/") + "&" + percentEncode(canonical)))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	return w.url + "/?" + canonical + "&Signature=" + percentEncode(sig)
}

func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// httpError is a vendor error envelope read off the wire by hand.
type httpError struct {
	Status        int
	Code, Message string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message) }

// post sends a hand-built request and decodes a success into out, or
// returns the error envelope as *httpError.
func post(t *testing.T, u string, out any) error {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if resp.StatusCode != http.StatusOK {
		var env struct{ RequestId, HostId, Code, Message string }
		if err := json.Unmarshal(body, &env); err != nil || env.Code == "" || env.RequestId == "" {
			t.Fatalf("HTTP %d with a body that is not an error envelope: %q", resp.StatusCode, body)
		}
		return &httpError{Status: resp.StatusCode, Code: env.Code, Message: env.Message}
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return nil
}

// --- replaying transports: send the exact same signed request twice and
// hand the SDK the second answer ---

type replay struct {
	first atomic.Int32 // status of the first send
}

func (r *replay) twice(req *http.Request, rt http.RoundTripper) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	send := func() (*http.Response, error) {
		r2 := req.Clone(req.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		return rt.RoundTrip(r2)
	}
	resp, err := send()
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r.first.Store(int32(resp.StatusCode))
	return send()
}

// replayTransport is an http.RoundTripper for alibaba-cloud-sdk-go.
type replayTransport struct {
	replay
	inner *http.Transport
}

func (r *replayTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return r.twice(req, r.inner)
}

// replayClient is a dara.HttpClient for the darabonba clients.
type replayClient struct{ replay }

func (r *replayClient) Call(req *http.Request, tr *http.Transport) (*http.Response, error) {
	return r.twice(req, tr)
}

var (
	_ http.RoundTripper = (*replayTransport)(nil)
	_ dara.HttpClient   = (*replayClient)(nil)
	_ dara.HttpClient   = (*signingCheck)(nil)
)

// --- the audit log and secrets at rest ---

type auditRecord struct {
	Msg       string `json:"msg"`
	Log       string `json:"log"`
	Caller    string `json:"caller"`
	Target    string `json:"target"`
	Session   string `json:"session"`
	Decision  string `json:"decision"`
	Reason    string `json:"reason"`
	RefusedBy string `json:"refused_by"`
}

// checkAuditLog asserts one record per AssumeRole call that got past
// authentication, with caller, target, session, decision and reason, and
// for the others one refusal record naming the AccessKeyId presented.
func (w *world) checkAuditLog(t *testing.T) {
	t.Helper()
	f, err := os.Open(filepath.Join(w.dataDir, "audit.log"))
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	defer f.Close()
	bySession := map[string][]auditRecord{}
	refused := map[string][]auditRecord{} // AssumeRole calls whose credentials were refused
	total := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r auditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Errorf("audit log line %q is not JSON: %v", sc.Bytes(), err)
			continue
		}
		if r.Log != "audit" {
			t.Errorf("audit log line without log=audit: %q", sc.Bytes())
		}
		switch r.Msg {
		case "assume role":
			bySession[r.Session] = append(bySession[r.Session], r)
			total++
		case "refused":
			refused[r.Session] = append(refused[r.Session], r)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("audit log: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	want := 0
	for _, e := range w.audits {
		got := bySession[e.session]
		if e.decision == "" {
			if len(got) != 0 {
				t.Errorf("audit: session %q was refused before STS, yet has %d AssumeRole record(s): %+v", e.session, len(got), got)
			}
			// Its credentials were refused: that is recorded too, with the
			// AccessKeyId presented, the target and a reason.
			if r := refused[e.session]; len(r) != 1 || r[0].Decision != "deny" || r[0].Target != e.target || r[0].Reason == "" || !strings.HasPrefix(r[0].Caller, "AccessKeyId ") {
				t.Errorf("audit: session %q (refused credentials) has refusal records %+v, want one naming the AccessKeyId, the target and a reason", e.session, r)
			}
			continue
		}
		want++
		if len(got) != 1 {
			t.Errorf("audit: session %q (%s → %s) has %d records, want 1: %+v", e.session, e.caller, e.target, len(got), got)
			continue
		}
		r := got[0]
		if r.Caller != e.caller || r.Target != e.target || r.Decision != e.decision {
			t.Errorf("audit: session %q record = caller %q target %q decision %q, want %q %q %q", e.session, r.Caller, r.Target, r.Decision, e.caller, e.target, e.decision)
		}
		if r.Reason == "" {
			t.Errorf("audit: session %q record has no reason: %+v", e.session, r)
		}
	}
	if total != want {
		t.Errorf("audit log has %d AssumeRole records, want %d (one per call that reached STS)", total, want)
	}
	if want < 20 {
		t.Errorf("only %d AssumeRole calls were recorded; the bookkeeping is broken", want)
	}
}

// checkNoSecretsAtRest walks every file under the data directory: no
// secret issued during the test (nor the operator's root secret) may appear
// in any of them, except the operator's secret in admin-profile.json.
func (w *world) checkNoSecretsAtRest(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	secrets := append([]string(nil), w.secrets...)
	w.mu.Unlock()
	if len(secrets) < 20 {
		t.Errorf("only %d secrets were recorded; the bookkeeping is broken", len(secrets))
	}
	type needle struct{ what, s string }
	var needles []needle
	for _, s := range secrets {
		needles = append(needles, needle{"an issued secret", s})
		if strings.HasPrefix(s, "RP1.") { // a token's MAC alone is as good as the token
			needles = append(needles, needle{"a security token's MAC", s[strings.LastIndex(s, ".")+1:]})
		}
	}
	profile := filepath.Join(w.dataDir, "admin-profile.json")
	files := 0
	err := filepath.WalkDir(w.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(w.dataDir, path)
		for _, n := range needles {
			if bytes.Contains(b, []byte(n.s)) {
				t.Errorf("%s: contains %s (%s…)", rel, n.what, n.s[:min(6, len(n.s))])
			}
		}
		if path != profile && bytes.Contains(b, []byte(w.rootA.Secret)) {
			t.Errorf("%s: contains the operator's root AccessKeySecret", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", w.dataDir, err)
	}
	if files < 3 { // meta.db, audit.log, admin-profile.json at least
		t.Errorf("walked %d files under the data directory, want at least 3", files)
	}
	b, err := os.ReadFile(profile)
	if err != nil {
		t.Fatalf("admin profile: %v", err)
	}
	if !bytes.Contains(b, []byte(w.rootA.Secret)) {
		t.Errorf("admin-profile.json does not hold the operator's root secret")
	}
}
