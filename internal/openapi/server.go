package openapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/sts"
)

// Limits on what a request may carry before it is refused unread.
const (
	MaxBodyBytes   = 8 << 20 // a 3 MiB manifest (kube.MaxManifestBytes) fits, URL-encoded
	MaxQueryBytes  = 64 << 10
	MaxHeaderBytes = 16 << 10
	// MaxSkew is how far a request's timestamp may be from the server's
	// clock, either way; a nonce is remembered for twice as long.
	MaxSkew = 15 * time.Minute
)

// Authenticator resolves a request's credential to an identity and the
// secret its signature is checked with (sts.Service implements it).
type Authenticator interface {
	Authenticate(ctx context.Context, accessKeyID, securityToken string) (ram.Identity, string, error)
}

// Authorizer answers RAM questions (ram.Service implements it).
type Authorizer interface {
	Authorize(ctx context.Context, id ram.Identity, req ram.Request) (ram.Decision, error)
}

// Handler runs one action. It returns a value that marshals to a JSON
// object (the response without RequestId) or an error.
type Handler func(ctx context.Context, c *Call) (any, error)

// Call is one authenticated request.
type Call struct {
	RequestID string
	Version   string
	Action    string
	Params    Params
	Caller    ram.Identity
	// Region is the RegionId parameter, or the server's default region.
	Region string
	// Host is the request's Host header: a regional product reads the
	// region an endpoint such as cr.cn-hangzhou.aliyuncs.com names from it.
	Host     string
	SourceIP netip.Addr
	Secure   bool
	// AccessKeyID is the AccessKeyId the request presented (an id, never
	// a secret).
	AccessKeyID string

	authz   Authorizer
	audit   *slog.Logger
	audited bool // a denial of this call is in the audit log
}

// Context returns the request condition keys RAM policies may test.
func (c *Call) Context() map[string][]string {
	m := map[string][]string{"acs:SecureTransport": {fmt.Sprint(c.Secure)}}
	if c.SourceIP.IsValid() {
		m["acs:SourceIp"] = []string{c.SourceIP.String()}
	}
	if c.Caller.AccessKeyID != "" {
		m["acs:AccessId"] = []string{c.Caller.AccessKeyID}
	}
	return m
}

// Authorize asks RAM whether the caller may perform action on the resource
// set, and returns NoPermission (logged to the audit log) when not.
func (c *Call) Authorize(ctx context.Context, action string, resources ...string) error {
	d, err := c.authz.Authorize(ctx, c.Caller, ram.Request{Action: action, Resources: resources, Context: c.Context()})
	if err != nil {
		return err
	}
	if !d.Allowed {
		c.audited = true
		c.audit.Info("denied", "request_id", c.RequestID, "caller", c.Caller.ARN(), "action", action,
			"resource", strings.Join(resources, ","), "decision", "deny", "reason", d.Reason)
		return NoPermission(d.Reason)
	}
	return nil
}

// authRefusals are the codes of requests whose credentials were not
// accepted, with the reason the audit log gives: never the wire message,
// whose string-to-sign may carry a SecurityToken.
var authRefusals = map[string]string{
	"SignatureDoesNotMatch":                      "the signature does not match the AccessKey's secret",
	"SignatureNonceUsed":                         "the SignatureNonce was used already (a replay)",
	"InvalidTimeStamp.Expired":                   "the Timestamp is outside the allowed skew",
	"InvalidTimeStamp.Format":                    "the Timestamp is malformed",
	"InvalidAccessKeyId.NotFound":                "no such AccessKey",
	"InvalidAccessKeyId.Inactive":                "the AccessKey is disabled",
	"MissingSecurityToken":                       "an STS AccessKeyId without its SecurityToken",
	"InvalidSecurityToken.Expired":               "the SecurityToken has expired",
	"InvalidSecurityToken.MismatchWithAccessKey": "the SecurityToken does not belong to the AccessKeyId",
	"InvalidSecurityToken.Malformed":             "the SecurityToken is malformed or not this deployment's",
}

// clipAudit bounds a value a request presented for the audit log.
func clipAudit(v string) string {
	const max = 256
	if len(v) > max {
		return v[:max] + "…"
	}
	return v
}

// auditRefusal records a call refused before any action ran, because its
// credentials were not accepted, or refused by an action without asking
// RAM (Call.Authorize records those itself): caller (the AccessKeyId, or
// the identity), action, for AssumeRole its target and session, decision
// and reason.
func (s *Server) auditRefusal(c *Call, err error) {
	if c == nil || c.audited {
		return
	}
	we := toWire(err)
	reason, ok := authRefusals[we.Code]
	// What the request presented is clipped: unauthenticated, it must
	// not make audit lines long.
	caller := "AccessKeyId " + clipAudit(c.AccessKeyID)
	switch {
	case ok:
	case c.Caller.Account != "" && strings.HasPrefix(we.Code, "NoPermission"):
		caller, reason = c.Caller.ARN(), we.Message
	default:
		return
	}
	attrs := []any{"request_id", c.RequestID, "caller", caller, "source_ip", c.SourceIP.String(), "version", clipAudit(c.Version), "action", clipAudit(c.Action)}
	if c.Action == "AssumeRole" {
		attrs = append(attrs, "target", clipAudit(c.Params.Get("RoleArn")), "session", clipAudit(c.Params.Get("RoleSessionName")))
	}
	s.audit.Info("refused", append(attrs, "code", we.Code, "decision", "deny", "reason", reason)...)
}

// Options configure a Server.
type Options struct {
	Clock         clock.Clock
	Logger        *slog.Logger
	Audit         *slog.Logger
	DefaultRegion string // RegionId when a request names none; default cn-hangzhou
	// Secure says the listener is TLS (acs:SecureTransport).
	Secure bool
}

type routeKey struct{ version, action string }

// Server is the OpenAPI HTTP endpoint.
type Server struct {
	authn  Authenticator
	authz  Authorizer
	clock  clock.Clock
	log    *slog.Logger
	audit  *slog.Logger
	region string
	secure bool
	routes map[routeKey]Handler
	roa    roaRoutes // resource-oriented routes (roa.go)
	nonces *nonceCache
}

// NewServer returns a Server with no actions registered.
func NewServer(authn Authenticator, authz Authorizer, opts Options) *Server {
	discard := slog.New(slog.DiscardHandler)
	s := &Server{
		authn:  authn,
		authz:  authz,
		clock:  clock.Or(opts.Clock),
		log:    opts.Logger,
		audit:  opts.Audit,
		region: opts.DefaultRegion,
		secure: opts.Secure,
		routes: make(map[routeKey]Handler),
		nonces: newNonceCache(),
	}
	if s.log == nil {
		s.log = discard
	}
	if s.audit == nil {
		s.audit = discard
	}
	if s.region == "" {
		s.region = "cn-hangzhou"
	}
	return s
}

// Handle registers an action. Registering one twice is a programming error.
func (s *Server) Handle(version, action string, h Handler) {
	k := routeKey{version, action}
	if _, dup := s.routes[k]; dup {
		panic("openapi: action registered twice: " + version + " " + action)
	}
	s.routes[k] = h
}

// ServeHTTP authenticates, routes and answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	if r.URL.Path != "/" && r.URL.Path != "" {
		s.serveROA(w, r, reqID) // every RPC request goes to "/"
		return
	}
	c, err := s.authenticate(r, reqID)
	if err != nil {
		s.auditRefusal(c, err)
		s.writeError(w, r, reqID, err)
		return
	}
	h, ok := s.routes[routeKey{c.Version, c.Action}]
	if !ok {
		s.writeError(w, r, reqID, Errorf(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method: action %q in version %q.", c.Action, c.Version))
		return
	}
	out, err := h(r.Context(), c)
	if err != nil {
		s.auditRefusal(c, err)
		s.writeError(w, r, reqID, err)
		return
	}
	body, err := json.Marshal(out)
	if err != nil || len(body) < 2 || body[0] != '{' {
		s.log.Error("response does not marshal to an object", "action", c.Action, "err", err)
		s.writeError(w, r, reqID, errors.New("bad response"))
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", reqID)
	// Splice RequestId in front so every response carries it.
	prefix := `{"RequestId":"` + reqID + `"`
	if len(body) > 2 {
		prefix += ","
	}
	io.WriteString(w, prefix)
	w.Write(body[1:])
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, reqID string, err error) {
	we := toWire(err)
	if we.Status >= 500 {
		s.log.Error("request failed", "request_id", reqID, "err", err)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", reqID)
	w.WriteHeader(we.Status)
	json.NewEncoder(w).Encode(struct {
		RequestID string `json:"RequestId"`
		HostID    string `json:"HostId"`
		Code      string `json:"Code"`
		Message   string `json:"Message"`
	}{reqID, r.Host, we.Code, we.Message})
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// authenticate reads, bounds and verifies a request and returns its Call.
func (s *Server) authenticate(r *http.Request, reqID string) (*Call, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, Errorf(http.StatusMethodNotAllowed, "UnsupportedHTTPMethod", "Method %s is not supported; use GET or POST.", r.Method)
	}
	if r.URL.Path != "/" && r.URL.Path != "" {
		return nil, Errorf(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method: path %q.", r.URL.Path)
	}
	if len(r.URL.RawQuery) > MaxQueryBytes {
		return nil, Errorf(http.StatusRequestURITooLong, "InvalidParameter.QueryTooLong", "The query string is longer than %d bytes.", MaxQueryBytes)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "InvalidParameter.Body", "The request body could not be read.")
	}
	if len(body) > MaxBodyBytes {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "InvalidParameter.BodyTooLarge", "The request body is larger than %d bytes.", MaxBodyBytes)
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, InvalidParameter("Query", "The query string is malformed: %v", err)
	}
	form := url.Values{}
	if len(body) > 0 {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/x-www-form-urlencoded" {
			return nil, InvalidParameter("ContentType", "A request body must be application/x-www-form-urlencoded, not %q.", mt)
		}
		if form, err = url.ParseQuery(string(body)); err != nil {
			return nil, InvalidParameter("Body", "The form body is malformed: %v", err)
		}
	}
	all, werr := mergeParams(query, form)
	if werr != nil {
		return nil, werr
	}

	c := &Call{RequestID: reqID, Host: r.Host, Secure: s.secure, authz: s.authz, audit: s.audit, Params: Params{v: stripSignatureParams(all)}}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.SourceIP, _ = netip.ParseAddr(host)
	}
	var akid, token, nonce, ts string
	var verify func(secret string) error
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "ACS3-HMAC-SHA256 ") {
		v, err := s.parseACS3(r, auth, query, body)
		if err != nil {
			return nil, err
		}
		akid, token, nonce, ts, verify = v.akid, v.token, v.nonce, v.date, v.verify
		c.Version, c.Action = r.Header.Get("x-acs-version"), r.Header.Get("x-acs-action")
	} else {
		if all.Get("Signature") == "" {
			if all.Get("AccessKeyId") == "" {
				return nil, missingParameter("AccessKeyId")
			}
			return nil, missingParameter("Signature")
		}
		switch all.Get("SignatureMethod") {
		case "HMAC-SHA1", "HMAC-SHA256":
		default:
			return nil, InvalidParameter("SignatureMethod", "SignatureMethod %q: want HMAC-SHA1 (or ACS3-HMAC-SHA256 in the Authorization header).", all.Get("SignatureMethod"))
		}
		if v := all.Get("SignatureVersion"); v != "1.0" {
			return nil, InvalidParameter("SignatureVersion", "SignatureVersion %q: want 1.0.", v)
		}
		akid, token, nonce, ts = all.Get("AccessKeyId"), all.Get("SecurityToken"), all.Get("SignatureNonce"), all.Get("Timestamp")
		c.Version, c.Action = all.Get("Version"), all.Get("Action")
		sts := stringToSignV1(r.Method, all)
		given := all.Get("Signature")
		sha256Method := all.Get("SignatureMethod") == "HMAC-SHA256"
		verify = func(secret string) error {
			if subtle.ConstantTimeCompare([]byte(signV1(secret, sts, sha256Method)), []byte(given)) != 1 {
				return Errorf(http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:%s", shownToSign(sts, all.Get("SecurityToken")))
			}
			return nil
		}
		if f := all.Get("Format"); f != "" && !strings.EqualFold(f, "json") {
			return nil, InvalidParameter("Format", "Format %q: rolepull answers in JSON only; send Format=JSON.", f)
		}
	}
	if c.Version == "" {
		return nil, missingParameter("Version")
	}
	if c.Action == "" {
		return nil, missingParameter("Action")
	}
	if akid == "" {
		return nil, missingParameter("AccessKeyId")
	}
	c.AccessKeyID = akid
	// From here on a refusal is about the credentials presented, and
	// returns the call so the audit log can say whose they were.
	if nonce == "" {
		return c, missingParameter("SignatureNonce")
	}
	if len(nonce) > 128 {
		return c, InvalidParameter("SignatureNonce", "SignatureNonce is longer than 128 bytes.")
	}
	when, err := time.Parse("2006-01-02T15:04:05Z", ts)
	if err != nil {
		return c, Errorf(http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp %q does not match the format YYYY-MM-DDThh:mm:ssZ (UTC).", ts)
	}
	now := s.clock.Now()
	if d := now.Sub(when); d > MaxSkew || d < -MaxSkew {
		return c, Errorf(http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired: %s is more than %v from the server's time %s.", ts, MaxSkew, now.UTC().Format(time.RFC3339))
	}

	id, secret, err := s.authn.Authenticate(r.Context(), akid, token)
	if err != nil {
		return c, credentialError(err)
	}
	if err := verify(secret); err != nil {
		return c, err
	}
	// The nonce is recorded only after the signature verifies, so nobody
	// can burn another caller's nonces with unsigned requests.
	if !s.nonces.add(akid, nonce, now, when) {
		return c, Errorf(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	c.Caller = id
	c.Params = Params{v: stripSignatureParams(all)}
	c.Region = c.Params.Get("RegionId")
	if c.Region == "" {
		c.Region = s.region
	}
	return c, nil
}

func credentialError(err error) error {
	switch {
	case errors.Is(err, sts.ErrKeyNotFound):
		return Errorf(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	case errors.Is(err, sts.ErrKeyInactive):
		return Errorf(http.StatusBadRequest, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
	case errors.Is(err, sts.ErrTokenRequired):
		return Errorf(http.StatusBadRequest, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
	case errors.Is(err, sts.ErrTokenForbidden):
		return Errorf(http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey", "A SecurityToken was sent with a long-term AccessKeyId.")
	case errors.Is(err, sts.ErrTokenExpired):
		return Errorf(http.StatusBadRequest, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
	case errors.Is(err, sts.ErrTokenMismatch):
		return Errorf(http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
	case errors.Is(err, sts.ErrTokenMalformed):
		return Errorf(http.StatusBadRequest, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.")
	}
	return err
}

// signatureParams are the protocol's own parameters, hidden from actions.
var signatureParams = []string{"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "SignatureType", "Timestamp", "Format", "Version", "Action", "SecurityToken"}

func stripSignatureParams(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = vs
	}
	for _, k := range signatureParams {
		delete(out, k)
	}
	return out
}

type acs3 struct {
	akid, token, nonce, date string
	verify                   func(secret string) error
}

// parseACS3 parses an ACS3-HMAC-SHA256 Authorization header and prepares
// its verification.
func (s *Server) parseACS3(r *http.Request, auth string, query url.Values, body []byte) (acs3, error) {
	var v acs3
	var signedList, sig string
	for _, part := range strings.Split(strings.TrimPrefix(auth, "ACS3-HMAC-SHA256 "), ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return v, Errorf(http.StatusBadRequest, "InvalidAuthorization", "The Authorization header is malformed: %q.", part)
		}
		switch k {
		case "Credential":
			v.akid = val
		case "SignedHeaders":
			signedList = val
		case "Signature":
			sig = val
		default:
			return v, Errorf(http.StatusBadRequest, "InvalidAuthorization", "The Authorization header has an unknown field %q.", k)
		}
	}
	if v.akid == "" || signedList == "" || sig == "" {
		return v, Errorf(http.StatusBadRequest, "InvalidAuthorization", "The Authorization header needs Credential, SignedHeaders and Signature.")
	}
	headers := map[string]string{}
	signed := strings.Split(signedList, ";")
	for i, h := range signed {
		if h != strings.ToLower(h) || i > 0 && signed[i-1] >= h {
			return v, Errorf(http.StatusBadRequest, "InvalidAuthorization", "SignedHeaders must be lower-case, sorted and unique.")
		}
		if h == "host" {
			headers[h] = r.Host
		} else {
			vals := r.Header.Values(h)
			if len(vals) != 1 {
				return v, Errorf(http.StatusBadRequest, "InvalidAuthorization", "Signed header %q must appear exactly once.", h)
			}
			headers[h] = vals[0]
		}
	}
	// Headers that carry meaning must be covered by the signature, or they
	// could be swapped in transit.
	for _, must := range []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"} {
		if _, ok := headers[must]; !ok {
			return v, Errorf(http.StatusBadRequest, "InvalidAuthorization", "Header %q must be signed.", must)
		}
	}
	if r.Header.Get("x-acs-security-token") != "" {
		if _, ok := headers["x-acs-security-token"]; !ok {
			return v, Errorf(http.StatusBadRequest, "InvalidAuthorization", "Header \"x-acs-security-token\" must be signed.")
		}
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if headers["x-acs-content-sha256"] != payloadHash {
		return v, Errorf(http.StatusBadRequest, "InvalidParameter.ContentSHA256", "x-acs-content-sha256 does not match the body.")
	}
	v.token = headers["x-acs-security-token"]
	v.nonce = headers["x-acs-signature-nonce"]
	v.date = headers["x-acs-date"]
	canonical := canonicalRequestACS3(r.Method, "/", query, headers, signed, payloadHash)
	v.verify = func(secret string) error {
		if subtle.ConstantTimeCompare([]byte(signACS3(secret, canonical)), []byte(sig)) != 1 {
			return Errorf(http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server canonical request is:%s", shownToSign(canonical, v.token))
		}
		return nil
	}
	return v, nil
}
