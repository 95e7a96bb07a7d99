package openapi

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// percentEncode is the vendor's encoding: RFC 3986 unreserved characters
// stay, everything else is %XX, space is %20.
func percentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// canonicalQuery sorts parameters by name and joins enc(k)=enc(v) with '&'.
func canonicalQuery(v url.Values, skip string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		if k != skip {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(percentEncode(k))
		b.WriteByte('=')
		b.WriteString(percentEncode(v.Get(k)))
	}
	return b.String()
}

// stringToSignV1 is the RPC version 1.0 string to sign over every
// parameter but Signature.
func stringToSignV1(method string, params url.Values) string {
	return method + "&" + percentEncode("/") + "&" + percentEncode(canonicalQuery(params, "Signature"))
}

// signV1 computes an RPC version 1.0 signature.
func signV1(secret, stringToSign string, sha256Method bool) string {
	var m = hmac.New(sha1.New, []byte(secret+"&"))
	if sha256Method {
		m = hmac.New(sha256.New, []byte(secret+"&"))
	}
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// canonicalRequestACS3 builds the ACS3 canonical request. headers maps
// lower-case names to values; signed lists the signed names in order.
func canonicalRequestACS3(method, path string, query url.Values, headers map[string]string, signed []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(query, ""))
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(strings.TrimSpace(headers[h]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// signACS3 computes an ACS3-HMAC-SHA256 signature over a canonical request.
func signACS3(secret, canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("ACS3-HMAC-SHA256\n" + hex.EncodeToString(h[:])))
	return hex.EncodeToString(m.Sum(nil))
}

// shownToSign is a string to sign (or canonical request) as a
// SignatureDoesNotMatch message shows it: the SecurityToken in it, however
// encoded, becomes <SecurityToken>, so no refusal echoes a credential into
// the client's logs. The rest is left for the caller to compare with what
// it signed.
func shownToSign(s, token string) string {
	if token == "" {
		return s
	}
	once := percentEncode(token)
	return strings.NewReplacer(percentEncode(once), "<SecurityToken>", once, "<SecurityToken>", token, "<SecurityToken>").Replace(s)
}
