package openapi

import (
	"net/url"
	"strings"
	"testing"
)

// The signing vectors of reference/deps.md Appendix A, recomputed: the
// string to sign of a captured sts-20150401 request and its signature.
func TestStringToSignV1(t *testing.T) {
	v := url.Values{}
	for k, val := range map[string]string{
		"AccessKeyId": "LTAI5tAKID", "Action": "AssumeRole", "Format": "JSON", "RoleArn": "acs:ram::1234567890123456:role/puller",
		"RoleSessionName": "sess 1*~", "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "n1", "SignatureVersion": "1.0",
		"Timestamp": "2026-11-27T04:13:49Z", "Version": "2015-04-01", "Signature": "ignored",
	} {
		v.Set(k, val)
	}
	got := stringToSignV1("POST", v)
	want := "POST&%2F&AccessKeyId%3DLTAI5tAKID%26Action%3DAssumeRole%26Format%3DJSON%26RoleArn%3Dacs%253Aram%253A%253A1234567890123456%253Arole%252Fpuller%26RoleSessionName%3Dsess%25201%252A~%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dn1%26SignatureVersion%3D1.0%26Timestamp%3D2026-11-27T04%253A13%253A49Z%26Version%3D2015-04-01"
	if got != want {
		t.Fatalf("stringToSignV1 =\n%s\nwant\n%s", got, want)
	}
}

func BenchmarkSignatureV1(b *testing.B) {
	v := url.Values{}
	for _, k := range []string{"AccessKeyId", "Action", "Format", "RoleArn", "RoleSessionName", "SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp", "Version"} {
		v.Set(k, "value-of-"+k)
	}
	for b.Loop() {
		signV1("secretsecretsecretsecretsecret", stringToSignV1("POST", v), false)
	}
}

// A SignatureDoesNotMatch message never echoes the SecurityToken, however
// the string to sign encodes it.
func TestShownToSignHidesTheToken(t *testing.T) {
	token := "RP1.a+b/c=d e&f"
	v := url.Values{"AccessKeyId": {"STS.x"}, "SecurityToken": {token}, "Action": {"A"}}
	for _, s := range []string{
		stringToSignV1("POST", v),                 // RPC: encoded twice
		"GET\n/\n\nx-acs-security-token:" + token, // ROA and ACS3: as sent
		"q=" + percentEncode(token),               // once
	} {
		got := shownToSign(s, token)
		for _, form := range []string{token, percentEncode(token), percentEncode(percentEncode(token))} {
			if strings.Contains(got, form) {
				t.Errorf("shownToSign(%q) = %q: still holds the token as %q", s, got, form)
			}
		}
		if !strings.Contains(got, "<SecurityToken>") {
			t.Errorf("shownToSign(%q) = %q: says nothing of where the token was", s, got)
		}
	}
}
