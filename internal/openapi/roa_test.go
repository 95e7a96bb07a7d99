package openapi_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkauth "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	sdkcredentials "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	crsdk "github.com/aliyun/alibaba-cloud-sdk-go/services/cr"

	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/sts"
)

const (
	account    = "1234567890123456"
	rootKey    = "LTAI5tROOTKEY"
	rootSecret = "root-secret"
	stsKey     = "STS.session"
	stsSecret  = "session-secret"
	stsToken   = "CAIS-session-token"
)

// keys is an Authenticator with one long-term key and one STS key.
type keys struct{}

func (keys) Authenticate(_ context.Context, akid, token string) (ram.Identity, string, error) {
	switch {
	case akid == rootKey && token == "":
		return ram.Identity{Kind: ram.KindRoot, Account: account, AccessKeyID: akid}, rootSecret, nil
	case akid == rootKey:
		return ram.Identity{}, "", sts.ErrTokenForbidden
	case akid == stsKey && token == stsToken:
		return ram.Identity{Kind: ram.KindRoleSession, Account: account, RoleName: "puller", SessionName: "s1", AccessKeyID: akid}, stsSecret, nil
	case akid == stsKey:
		return ram.Identity{}, "", sts.ErrTokenMismatch
	}
	return ram.Identity{}, "", sts.ErrKeyNotFound
}

// allowAll is an Authorizer that allows everything.
type allowAll struct{}

func (allowAll) Authorize(context.Context, ram.Identity, ram.Request) (ram.Decision, error) {
	return ram.Decision{Allowed: true}, nil
}

// echo is the body the test route answers: what the server saw.
type echo struct {
	Data struct {
		Caller, Region, Action, Version string
		Params                          map[string]string
	} `json:"data"`
	RequestID string `json:"requestId"`
}

func newROAServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := openapi.NewServer(keys{}, allowAll{}, openapi.Options{DefaultRegion: "cn-hangzhou"})
	srv.HandleROA(http.MethodGet, "/tokens", "2016-06-07", func(_ context.Context, c *openapi.Call) (any, error) {
		var e echo
		e.Data.Caller, e.Data.Region, e.Data.Action, e.Data.Version = c.Caller.ARN(), c.Region, c.Action, c.Version
		e.Data.Params = map[string]string{}
		for _, k := range c.Params.Keys("") {
			e.Data.Params[k] = c.Params.Get(k)
		}
		e.RequestID = c.RequestID
		return e, nil
	})
	srv.HandleROA(http.MethodPost, "/echo", "2016-06-07", func(_ context.Context, c *openapi.Call) (any, error) {
		return map[string]string{"caller": c.Caller.ARN()}, nil
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

// sdkTokens calls GET /tokens with alibaba-cloud-sdk-go services/cr.
func sdkTokens(t *testing.T, ts *httptest.Server, cred sdkauth.Credential, headers map[string]string) (echo, error) {
	t.Helper()
	cl, err := crsdk.NewClientWithOptions("cn-hangzhou", sdk.NewConfig(), cred)
	if err != nil {
		t.Fatal(err)
	}
	req := crsdk.CreateGetAuthorizationTokenRequest()
	req.Scheme = "http"
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	req.Domain, req.Port = host, port
	for k, v := range headers {
		req.GetHeaders()[k] = v
	}
	resp, err := cl.GetAuthorizationToken(req)
	if err != nil {
		return echo{}, err
	}
	var e echo
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &e); err != nil {
		t.Fatalf("response %s: %v", resp.GetHttpContentString(), err)
	}
	return e, nil
}

// TestROAWithSDK drives a ROA route with the official SDK's ROA client.
func TestROAWithSDK(t *testing.T) {
	ts := newROAServer(t)
	tests := []struct {
		name       string
		cred       sdkauth.Credential
		headers    map[string]string
		wantCaller string
		wantRegion string
		wantCode   string
	}{
		{"AccessKey", sdkcredentials.NewAccessKeyCredential(rootKey, rootSecret), nil, "acs:ram::" + account + ":root", "cn-hangzhou", ""},
		{"STS token in x-acs-security-token", sdkcredentials.NewStsTokenCredential(stsKey, stsSecret, stsToken), nil, "acs:ram::" + account + ":assumed-role/puller/s1", "cn-hangzhou", ""},
		{"x-acs-region-id names the region", sdkcredentials.NewAccessKeyCredential(rootKey, rootSecret), map[string]string{"x-acs-region-id": "cn-beijing"}, "acs:ram::" + account + ":root", "cn-beijing", ""},
		{"a nonce", sdkcredentials.NewAccessKeyCredential(rootKey, rootSecret), map[string]string{"x-acs-signature-nonce": "n-1"}, "acs:ram::" + account + ":root", "cn-hangzhou", ""},
		{"the wrong secret", sdkcredentials.NewAccessKeyCredential(rootKey, "not-the-secret"), nil, "", "", "SignatureDoesNotMatch"},
		{"an unknown key", sdkcredentials.NewAccessKeyCredential("LTAI5tNOPE", rootSecret), nil, "", "", "InvalidAccessKeyId.NotFound"},
		{"an STS key without its token", sdkcredentials.NewStsTokenCredential(stsKey, stsSecret, "CAIS-other"), nil, "", "", "InvalidSecurityToken.MismatchWithAccessKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sdkTokens(t, ts, tt.cred, tt.headers)
			if tt.wantCode != "" {
				var se *sdkerrors.ServerError
				if !errors.As(err, &se) || se.ErrorCode() != tt.wantCode {
					t.Fatalf("GET /tokens = %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("GET /tokens: %v", err)
			}
			if got.Data.Caller != tt.wantCaller || got.Data.Region != tt.wantRegion || got.Data.Action != "GetAuthorizationToken" || got.Data.Version != "2016-06-07" || got.RequestID == "" {
				t.Errorf("GET /tokens saw %+v, want caller %s in %s", got, tt.wantCaller, tt.wantRegion)
			}
		})
	}
}

// signed builds a ROA request signed as the SDK signs it (an independent
// implementation of reference/deps.md Appendix B), so that tests can
// tamper with it afterwards.
func signed(t *testing.T, base, method, path string, query url.Values, body []byte, date time.Time, extra map[string]string, akid, secret string) *http.Request {
	t.Helper()
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(body)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Date", date.UTC().Format(http.TimeFormat))
	acs := map[string]string{"x-acs-version": "2016-06-07", "x-acs-action": "GetAuthorizationToken", "x-acs-signature-method": "HMAC-SHA1", "x-acs-signature-version": "1.0"}
	for k, v := range extra {
		acs[k] = v
	}
	var sts strings.Builder
	sts.WriteString(method + "\n" + req.Header.Get("Accept") + "\n" + req.Header.Get("Content-MD5") + "\n" + req.Header.Get("Content-Type") + "\n" + req.Header.Get("Date") + "\n")
	var names []string
	for k, v := range acs {
		req.Header.Set(k, v)
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		sts.WriteString(k + ":" + acs[k] + "\n")
	}
	sts.WriteString(path)
	var qk []string
	for k := range query {
		qk = append(qk, k)
	}
	sort.Strings(qk)
	for i, k := range qk {
		sts.WriteString(map[bool]string{true: "?", false: "&"}[i == 0] + k)
		if v := query.Get(k); v != "" {
			sts.WriteString("=" + v)
		}
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(sts.String()))
	req.Header.Set("Authorization", "acs "+akid+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return req
}

func do(t *testing.T, req *http.Request) (int, string, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Code string }
	json.Unmarshal(body, &e)
	return resp.StatusCode, e.Code, body
}

// TestROAAuthentication checks each step of ROA authentication with
// hand-signed requests, tampered with after signing.
func TestROAAuthentication(t *testing.T) {
	ts := newROAServer(t)
	now := time.Now()
	sign := func(method, path string, q url.Values, body []byte, date time.Time, extra map[string]string) *http.Request {
		return signed(t, ts.URL, method, path, q, body, date, extra, rootKey, rootSecret)
	}
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantCode   string
	}{
		{"signed", func() *http.Request { return sign("GET", "/tokens", nil, nil, now, nil) }, 200, ""},
		{"signed with a query, an empty value and a space", func() *http.Request {
			return sign("GET", "/tokens", url.Values{"b": {"x y"}, "a": {""}}, nil, now, nil)
		}, 200, ""},
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest("GET", ts.URL+"/tokens", nil)
			return r
		}, 400, "InvalidAuthorization"},
		{"an unregistered path, before authentication", func() *http.Request {
			r, _ := http.NewRequest("GET", ts.URL+"/repos", nil)
			return r
		}, 404, "InvalidAction.NotFound"},
		{"another method on the path", func() *http.Request { return sign("DELETE", "/tokens", nil, nil, now, nil) }, 404, "InvalidAction.NotFound"},
		{"another version", func() *http.Request {
			return sign("GET", "/tokens", nil, nil, now, map[string]string{"x-acs-version": "2099-01-01"})
		}, 404, "InvalidAction.NotFound"},
		{"a Date 20 minutes old", func() *http.Request { return sign("GET", "/tokens", nil, nil, now.Add(-20*time.Minute), nil) }, 400, "InvalidTimeStamp.Expired"},
		{"a Date 20 minutes ahead", func() *http.Request { return sign("GET", "/tokens", nil, nil, now.Add(20*time.Minute), nil) }, 400, "InvalidTimeStamp.Expired"},
		{"no Date", func() *http.Request {
			r := sign("GET", "/tokens", nil, nil, now, nil)
			r.Header.Del("Date")
			return r
		}, 400, "MissingParameter"},
		{"a query parameter added after signing", func() *http.Request {
			r := sign("GET", "/tokens", nil, nil, now, nil)
			r.URL.RawQuery = "InstanceId=cri-other"
			return r
		}, 400, "SignatureDoesNotMatch"},
		{"an x-acs header added after signing", func() *http.Request {
			r := sign("GET", "/tokens", nil, nil, now, nil)
			r.Header.Set("x-acs-region-id", "cn-beijing")
			return r
		}, 400, "SignatureDoesNotMatch"},
		{"an x-acs header sent twice", func() *http.Request {
			r := sign("GET", "/tokens", nil, nil, now, nil)
			r.Header.Add("x-acs-action", "Other")
			return r
		}, 400, "InvalidAuthorization"},
		{"a body swapped under its signature", func() *http.Request {
			r := sign("POST", "/echo", nil, []byte(`{"a":1}`), now, nil)
			r.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
			return r
		}, 400, "InvalidParameter.ContentMD5"},
		{"a body without Content-MD5", func() *http.Request {
			r := sign("POST", "/echo", nil, nil, now, nil)
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(`{"a":2}`)), 7
			r.Header.Del("Content-MD5")
			return r
		}, 400, "InvalidParameter.ContentMD5"},
		{"a body with its Content-MD5", func() *http.Request { return sign("POST", "/echo", nil, []byte(`{"a":1}`), now, nil) }, 200, ""},
		{"another signature method", func() *http.Request {
			return sign("GET", "/tokens", nil, nil, now, map[string]string{"x-acs-signature-method": "HMAC-SHA256"})
		}, 400, "InvalidParameter.SignatureMethod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, body := do(t, tt.req())
			if status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("status %d code %q (%s), want %d %q", status, code, body, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

// TestROAReplay checks that a nonce is accepted once, and documents that
// a request without one (as the SDK sends) is replayable within the Date
// window.
func TestROAReplay(t *testing.T) {
	ts := newROAServer(t)
	tests := []struct {
		name         string
		extra        map[string]string
		replayStatus int
		replayCode   string
	}{
		{"with x-acs-signature-nonce", map[string]string{"x-acs-signature-nonce": "nonce-1"}, 400, "SignatureNonceUsed"},
		{"without a nonce", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := signed(t, ts.URL, "GET", "/tokens", nil, nil, time.Now(), tt.extra, rootKey, rootSecret)
			replay := first.Clone(t.Context())
			if status, code, body := do(t, first); status != 200 {
				t.Fatalf("first request: %d %s %s", status, code, body)
			}
			if status, code, body := do(t, replay); status != tt.replayStatus || code != tt.replayCode {
				t.Errorf("replay = %d %q (%s), want %d %q", status, code, body, tt.replayStatus, tt.replayCode)
			}
		})
	}
}

// TestRPCUnchanged checks that RPC requests still go to "/" only.
func TestRPCUnchanged(t *testing.T) {
	ts := newROAServer(t)
	c := &openapi.Client{Endpoint: ts.URL, AccessKeyID: rootKey, AccessKeySecret: rootSecret}
	err := c.Do(t.Context(), "2016-06-07", "GetAuthorizationToken", nil, nil)
	var oe *openapi.Error
	if !errors.As(err, &oe) || oe.Code != "InvalidAction.NotFound" {
		t.Errorf("an RPC call of a ROA-only API = %v, want InvalidAction.NotFound", err)
	}
}

// FuzzROARequest feeds arbitrary ROA credentials, dates, queries, x-acs
// headers and bodies to the server: every answer is a 4xx (no fuzzer
// knows a secret), never a crash or a 5xx.
func FuzzROARequest(f *testing.F) {
	f.Add("acs "+rootKey+":c2ln", time.Now().UTC().Format(http.TimeFormat), "a=1&b", "2016-06-07", "", "")
	f.Add("acs :", "", "%zz", "", "x", "1B2M2Y8AsgTpgAmY7PhCfg==")
	f.Add("ACS3-HMAC-SHA256 Credential=x", "Mon, 02 Jan 2006 15:04:05 GMT", "a=1&a=2", "2016-06-07", "{}", "bogus")
	f.Add("acs "+stsKey+":sig", time.Now().UTC().Format(http.TimeFormat), "RegionId=cn-hangzhou", "2016-06-07", "", "")
	srv := openapi.NewServer(keys{}, allowAll{}, openapi.Options{})
	srv.HandleROA(http.MethodGet, "/tokens", "2016-06-07", func(context.Context, *openapi.Call) (any, error) {
		return map[string]string{}, nil
	})
	f.Fuzz(func(t *testing.T, auth, date, rawQuery, version, body, contentMD5 string) {
		req := httptest.NewRequest(http.MethodGet, "/tokens", strings.NewReader(body))
		req.URL.RawQuery = rawQuery
		req.Header.Set("Authorization", auth)
		req.Header.Set("Date", date)
		req.Header.Set("x-acs-version", version)
		req.Header.Set("x-acs-security-token", body)
		if contentMD5 != "" {
			req.Header.Set("Content-MD5", contentMD5)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("status %d (%s), want a 4xx", rec.Code, rec.Body.String())
		}
	})
}

// FuzzRPCRequest throws arbitrary RPC requests — query, form body, and an
// ACS3 Authorization header — at the server: no panic, never a 5xx, and never
// a success without a valid signature (the fuzzer cannot forge one).
func FuzzRPCRequest(f *testing.F) {
	now := time.Now().UTC().Format("2006-01-02T15:04:05Z")
	f.Add("Action=AssumeRole&Version=2015-04-01&AccessKeyId="+rootKey+"&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n&Timestamp="+now+"&Signature=x", "", "")
	f.Add("", "Action=GetCallerIdentity&Version=2015-04-01", "ACS3-HMAC-SHA256 Credential="+rootKey+",SignedHeaders=host;x-acs-action,Signature=ab")
	f.Add("a=1&a=2", "b=%zz", "ACS3-HMAC-SHA256 Credential=,SignedHeaders=,Signature=")
	srv := openapi.NewServer(keys{}, allowAll{}, openapi.Options{})
	srv.Handle("2015-04-01", "GetCallerIdentity", func(context.Context, *openapi.Call) (any, error) {
		return map[string]string{}, nil
	})
	f.Fuzz(func(t *testing.T, rawQuery, body, auth string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.URL.RawQuery = rawQuery
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			req.Header.Set("Authorization", auth)
			req.Header.Set("x-acs-action", "GetCallerIdentity")
			req.Header.Set("x-acs-version", "2015-04-01")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("status %d (%s), want a 4xx", rec.Code, rec.Body.String())
		}
	})
}
