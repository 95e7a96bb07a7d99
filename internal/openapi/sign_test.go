package openapi

import (
	"net/url"
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
