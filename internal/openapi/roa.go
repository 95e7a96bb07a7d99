package openapi

// Resource-oriented (ROA) requests: the older OpenAPI style some products
// keep, such as Container Registry's Personal edition `GET /tokens`
// (version 2016-06-07). A ROA request is routed by (method, path,
// x-acs-version), carries its parameters in the query, and is signed with
// the legacy ROA HMAC-SHA1 scheme (reference/deps.md Appendix B):
//
//	StringToSign = METHOD\n
//	               [Accept\n] [Content-MD5\n] [Content-Type\n] [Date\n]   (each only when sent and non-empty)
//	               x-acs-NAME:value\n ...                               (every x-acs-* header, names lower-cased and sorted)
//	               PATH[?k1[=v1]&k2[=v2]...]                             (query sorted by name, not escaped; "=v" only when v is non-empty)
//	Authorization: acs AccessKeyId:base64(HMAC-SHA1(AccessKeySecret, StringToSign))
//
// An STS credential's token travels in x-acs-security-token, which is
// signed like every x-acs-* header. The Date header must be within
// MaxSkew of the server's clock. The scheme has no mandatory nonce: an
// x-acs-signature-nonce header, when sent, is accepted once per
// AccessKeyId within the window, like an RPC SignatureNonce; a request
// without one can be replayed verbatim while its Date is in the window,
// which the official SDK's ROA requests (no nonce) cannot avoid. A body,
// if any, must match Content-MD5, so it cannot be swapped under a valid
// signature.

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
)

type roaKey struct{ method, path, version string }

// roaRoutes are the ROA routes of a Server. The zero value has none.
type roaRoutes struct {
	handlers map[roaKey]Handler
	// paths are the paths of every route, so that a request for any other
	// path is refused before it is authenticated.
	paths map[string]bool
}

// HandleROA registers a resource-oriented route. Unlike an RPC action's,
// the handler's value is the whole response body (ROA products shape
// their own, e.g. {"data":…,"requestId":…}) and must marshal to a JSON
// object; errors use the RPC error envelope, which the SDKs parse for both
// styles. Registering a route twice is a programming error.
func (s *Server) HandleROA(method, path, version string, h Handler) {
	if !strings.HasPrefix(path, "/") || path == "/" {
		panic("openapi: a ROA path starts with / and is not /: " + path)
	}
	if s.roa.handlers == nil {
		s.roa.handlers = make(map[roaKey]Handler)
		s.roa.paths = make(map[string]bool)
	}
	k := roaKey{method, path, version}
	if _, dup := s.roa.handlers[k]; dup {
		panic("openapi: ROA route registered twice: " + method + " " + path + " " + version)
	}
	s.roa.handlers[k] = h
	s.roa.paths[path] = true
}

// serveROA authenticates, routes and answers one ROA request.
func (s *Server) serveROA(w http.ResponseWriter, r *http.Request, reqID string) {
	if !s.roa.paths[r.URL.Path] {
		s.writeError(w, r, reqID, Errorf(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method: path %q.", r.URL.Path))
		return
	}
	c, err := s.authenticateROA(r, reqID)
	if err != nil {
		s.auditRefusal(c, err)
		s.writeError(w, r, reqID, err)
		return
	}
	h, ok := s.roa.handlers[roaKey{r.Method, r.URL.Path, c.Version}]
	if !ok {
		s.writeError(w, r, reqID, Errorf(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method: %s %s in version %q.", r.Method, r.URL.Path, c.Version))
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
		s.log.Error("response does not marshal to an object", "path", r.URL.Path, "err", err)
		s.writeError(w, r, reqID, Errorf(http.StatusInternalServerError, "InternalError", "The request processing has failed due to some unknown error."))
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", reqID)
	w.Write(body)
}

// authenticateROA reads, bounds and verifies a ROA request and returns its
// Call. The x-acs-region-id header stands in for the RegionId parameter.
func (s *Server) authenticateROA(r *http.Request, reqID string) (*Call, error) {
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
	params, werr := mergeParams(query, url.Values{})
	if werr != nil {
		return nil, werr
	}

	cred, ok := strings.CutPrefix(r.Header.Get("Authorization"), "acs ")
	akid, sig, _ := strings.Cut(cred, ":")
	if !ok || akid == "" || sig == "" {
		return nil, Errorf(http.StatusBadRequest, "InvalidAuthorization", "A ROA request is signed in the header `Authorization: acs AccessKeyId:Signature` (HMAC-SHA1); this request has none.")
	}
	if m := r.Header.Get("x-acs-signature-method"); m != "" && m != "HMAC-SHA1" {
		return nil, InvalidParameter("SignatureMethod", "x-acs-signature-method %q: ROA requests are signed with HMAC-SHA1.", m)
	}
	if v := r.Header.Get("x-acs-signature-version"); v != "" && v != "1.0" {
		return nil, InvalidParameter("SignatureVersion", "x-acs-signature-version %q: want 1.0.", v)
	}
	version := r.Header.Get("x-acs-version")
	if version == "" {
		return nil, missingParameter("x-acs-version")
	}
	// A refusal of the credentials presented returns a call naming them,
	// for the audit log.
	refused := func(err error) (*Call, error) {
		c := &Call{RequestID: reqID, Version: version, Action: r.Method + " " + r.URL.Path, AccessKeyID: akid, Params: Params{v: params}}
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			c.SourceIP, _ = netip.ParseAddr(host)
		}
		return c, err
	}
	date := r.Header.Get("Date")
	if date == "" {
		return nil, missingParameter("Date")
	}
	when, err := http.ParseTime(date)
	if err != nil {
		return refused(Errorf(http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified Date header %q is not an HTTP date such as %q.", date, "Mon, 02 Jan 2006 15:04:05 GMT"))
	}
	now := s.clock.Now()
	if d := now.Sub(when); d > MaxSkew || d < -MaxSkew {
		return refused(Errorf(http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired: %s is more than %v from the server's time %s.", date, MaxSkew, now.UTC().Format(http.TimeFormat)))
	}
	sum := md5.Sum(body)
	switch given := r.Header.Get("Content-MD5"); {
	case given != "" && given != base64.StdEncoding.EncodeToString(sum[:]):
		return nil, InvalidParameter("ContentMD5", "Content-MD5 does not match the request body.")
	case given == "" && len(body) > 0:
		return nil, InvalidParameter("ContentMD5", "A request with a body must send its Content-MD5, which the signature covers.")
	}

	acs := map[string]string{}
	for name, vals := range r.Header {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-acs-") {
			continue
		}
		if len(vals) != 1 {
			return nil, Errorf(http.StatusBadRequest, "InvalidAuthorization", "Header %q must appear exactly once.", lower)
		}
		acs[lower] = vals[0]
	}
	nonce := acs["x-acs-signature-nonce"]
	if len(nonce) > 128 {
		return nil, InvalidParameter("SignatureNonce", "x-acs-signature-nonce is longer than 128 bytes.")
	}
	sts := stringToSignROA(r.Method, r.Header, acs, r.URL.Path, params)
	region := acs["x-acs-region-id"]
	if region != "" {
		if q := params.Get("RegionId"); q != "" && q != region {
			return nil, InvalidParameter("RegionId", "The query names region %q and x-acs-region-id %q; send one.", q, region)
		}
		params.Set("RegionId", region)
	}
	region = params.Get("RegionId")

	id, secret, err := s.authn.Authenticate(r.Context(), akid, acs["x-acs-security-token"])
	if err != nil {
		return refused(credentialError(err))
	}
	if subtle.ConstantTimeCompare([]byte(signROA(secret, sts)), []byte(sig)) != 1 {
		return refused(Errorf(http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:%s", shownToSign(sts, acs["x-acs-security-token"])))
	}
	// As for RPC, the nonce is recorded only once the signature verifies.
	if nonce != "" && !s.nonces.add(akid, nonce, now, when) {
		return refused(Errorf(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already."))
	}

	c := &Call{RequestID: reqID, Version: version, Action: acs["x-acs-action"], Params: Params{v: params}, Caller: id,
		Host: r.Host, Secure: s.secure, authz: s.authz, audit: s.audit}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.SourceIP, _ = netip.ParseAddr(host)
	}
	c.Region = region
	if c.Region == "" {
		c.Region = s.region
	}
	return c, nil
}

// stringToSignROA builds the ROA string to sign. acs holds the x-acs-*
// headers with lower-case names.
func stringToSignROA(method string, h http.Header, acs map[string]string, path string, query url.Values) string {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte('\n')
	for _, name := range []string{"Accept", "Content-MD5", "Content-Type", "Date"} {
		if v := h.Get(name); v != "" {
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	names := make([]string, 0, len(acs))
	for k := range acs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(acs[k])
		b.WriteByte('\n')
	}
	b.WriteString(path)
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if v := query.Get(k); v != "" {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

// signROA computes a ROA HMAC-SHA1 signature. Unlike RPC version 1.0, the
// key is the secret itself, with no "&".
func signROA(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
