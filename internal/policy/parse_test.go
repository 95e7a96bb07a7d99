package policy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	acctA = "1609982529000000"
	acctB = "1298452580000000"
	inst  = "cri-nwj395hgf6f30000"
)

// stmtDoc wraps statement JSON objects in a policy document.
func stmtDoc(stmts ...string) string {
	return `{"Version":"1","Statement":[` + strings.Join(stmts, ",") + `]}`
}

// allow is an identity statement with extra members spliced in.
func allow(extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"Effect":"Allow","Action":"cr:PullRepository","Resource":"*"` + extra + `}`
}

func trustStmt(extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"Effect":"Allow","Action":"sts:AssumeRole"` + extra + `}`
}

func withCondition(cond string) string {
	return stmtDoc(allow(`"Condition":` + cond))
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		doc  string
	}{
		{"§3.2-15 Action as a string", Identity, stmtDoc(allow(""))},
		{"§3.2-15 Action as a list", Identity, stmtDoc(`{"Effect":"Allow","Action":["cr:PullRepository"],"Resource":"*"}`)},
		{"§3.2-18 Allow with NotAction", Identity, stmtDoc(`{"Effect":"Allow","NotAction":["cr:PullRepository"],"Resource":"*"}`)},
		{"§3.2-20 IfExists operators", Identity, withCondition(`{"StringEqualsIfExists":{"acs:SourceVpc":"vpc-1"},"NotIpAddressIfExists":{"acs:SourceIp":"10.0.0.0/8"}}`)},
		{"§3.2-26 adversarial resource pattern", Identity, stmtDoc(`{"Effect":"Allow","Action":"cr:*","Resource":"acs:cr:*:*:repository/` + strings.Repeat("*a", 13) + `*b"}`)},
		{"§3.2-27 wildcards in action and resource", Identity, stmtDoc(`{"Effect":"Allow","Action":"cr:?ull*","Resource":"acs:cr:*:*:repository/cri-?/*"}`)},
		{"§3.2-24 exactly at the identity cap", Identity, padded(Identity, MaxIdentityBytes)},
		{"§3.2-29 exactly at the session cap", Session, padded(Session, MaxSessionBytes)},
		{"§3.1-12 trust in an account root", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"acs:ram::` + acctA + `:root"}`))},
		{"§3.1-12 service principal", Trust, stmtDoc(trustStmt(`"Principal":{"Service":"eci.aliyuncs.com.evil"}`))},
		{"trust with external id", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"acs:ram::` + acctA + `:root"},"Condition":{"StringEquals":{"sts:ExternalId":"x"}}`))},
		{"whitespace between tokens", Identity, "\t{ \"Version\" : \"1\" ,\r\n \"Statement\" : [ " + allow("") + " ] }\n"},
		{"Latin-1 in Sid", Identity, stmtDoc(allow(`"Sid":"Zürich"`))},
		{"numbers and booleans in conditions", Identity, withCondition(`{"NumericLessThan":{"acs:RequestTag/n":[1,"2.5",-3e2]},"Bool":{"acs:SecureTransport":[true,"false"]}}`)},
		{"IPv6 prefix", Identity, withCondition(`{"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}`)},
		{"date with offset and fraction", Identity, withCondition(`{"DateGreaterThan":{"acs:CurrentTime":"2024-01-01T08:00:00.123+08:00"}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.kind, []byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse(%s, %q) = %v, want success", tt.kind, tt.doc, err)
			}
			checkRoundTrip(t, tt.kind, []byte(tt.doc), p)
		})
	}
}

// padded returns a valid document of exactly n bytes for kind.
func padded(kind Kind, n int) string {
	stmt := allow(`"Sid":"%s"`)
	if kind == Trust {
		stmt = trustStmt(`"Sid":"%s","Principal":{"RAM":"acs:ram::` + acctA + `:root"}`)
	}
	doc := stmtDoc(stmt)
	return fmt.Sprintf(doc, strings.Repeat("x", n-len(doc)+2))
}

// nestedInCondition puts a condition value inside extra levels of lists;
// the containers around the value already take five levels.
func nestedInCondition(extra int) string {
	return withCondition(`{"StringEquals":{"acs:SourceVpc":` + strings.Repeat("[", extra) + `"v"` + strings.Repeat("]", extra) + `}}`)
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		doc  string
		want []string // each must appear in the error, locations included
	}{
		{"empty document", Identity, "", []string{"document is empty"}},
		{"null document", Identity, "null", []string{"document must be a JSON object, got null"}},
		{"string document", Identity, `"Version"`, []string{"document must be a JSON object, got string"}},
		{"§3.2-14 missing Version", Identity, `{"Statement":[` + allow("") + `]}`, []string{"Version: is required"}},
		{"§3.2-14 Version 2012-10-17", Identity, `{"Version":"2012-10-17","Statement":[` + allow("") + `]}`, []string{`Version: must be "1", got "2012-10-17"`}},
		{"§3.2-14 Version as a number", Identity, `{"Version":1,"Statement":[` + allow("") + `]}`, []string{`Version: must be the string "1", got number`}},
		{"§3.2-15 Action empty list", Identity, stmtDoc(`{"Effect":"Allow","Action":[],"Resource":"*"}`), []string{"Statement[0].Action: must not be an empty list"}},
		{"§3.2-15 Action null", Identity, stmtDoc(`{"Effect":"Allow","Action":null,"Resource":"*"}`), []string{"Statement[0].Action: must be a string or a non-empty list of strings, got null"}},
		{"§3.2-15 Action empty string", Identity, stmtDoc(`{"Effect":"Allow","Action":"","Resource":"*"}`), []string{"Statement[0].Action: must not be empty"}},
		{"§3.2-15 Action list with an empty string", Identity, stmtDoc(`{"Effect":"Allow","Action":["cr:Get*",""],"Resource":"*"}`), []string{"Statement[0].Action[1]: must not be empty"}},
		{"§3.2-15 Action object", Identity, stmtDoc(`{"Effect":"Allow","Action":{},"Resource":"*"}`), []string{"Statement[0].Action: must be a string or a non-empty list of strings, got object"}},
		{"§3.2-16 both Action and NotAction", Identity, stmtDoc(allow(`"NotAction":"cr:Push*"`)), []string{"Statement[0]: has both Action and NotAction"}},
		{"§3.2-16 neither Action nor NotAction", Identity, stmtDoc(`{"Effect":"Allow","Resource":"*"}`), []string{"Statement[0]: needs Action or NotAction"}},
		{"§3.2-16 both Resource and NotResource", Identity, stmtDoc(allow(`"NotResource":"*"`)), []string{"Statement[0]: has both Resource and NotResource"}},
		{"§3.2-16 neither Resource nor NotResource", Session, stmtDoc(`{"Effect":"Allow","Action":"cr:*"}`), []string{"Statement[0]: needs Resource or NotResource"}},
		{"§3.2-17 Effect allow", Identity, stmtDoc(`{"Effect":"allow","Action":"cr:*","Resource":"*"}`), []string{`Statement[0].Effect: must be "Allow" or "Deny" (case-sensitive), got "allow"`}},
		{"§3.2-17 Effect Audit", Identity, stmtDoc(`{"Effect":"Audit","Action":"cr:*","Resource":"*"}`), []string{`Statement[0].Effect: must be "Allow" or "Deny" (case-sensitive), got "Audit"`}},
		{"§3.2-17 Effect missing", Identity, stmtDoc(`{"Action":"cr:*","Resource":"*"}`), []string{"Statement[0].Effect: is required"}},
		{"§3.2-17 Effect boolean", Identity, stmtDoc(`{"Effect":true,"Action":"cr:*","Resource":"*"}`), []string{"Statement[0].Effect: must be the string"}},
		{"§3.2-19 unknown operator", Identity, withCondition(`{"StringEqualsX":{"acs:SourceVpc":"v"}}`), []string{"Statement[0].Condition.StringEqualsX: unknown condition operator"}},
		{"§3.2-19 operator with IfExists twice", Identity, withCondition(`{"StringEqualsIfExistsIfExists":{"acs:SourceVpc":"v"}}`), []string{"Statement[0].Condition.StringEqualsIfExistsIfExists: unknown condition operator"}},
		{"§3.2-19 bare IfExists", Identity, withCondition(`{"IfExists":{"acs:SourceVpc":"v"}}`), []string{"Statement[0].Condition.IfExists: unknown condition operator"}},
		{"§3.2-19 unknown key", Identity, withCondition(`{"StringEquals":{"acs:Foo":"v"}}`), []string{`Statement[0].Condition.StringEquals["acs:Foo"]: unknown condition key`}},
		{"§3.2-19 AWS key", Identity, withCondition(`{"StringEquals":{"aws:SourceIp":"v"}}`), []string{`Statement[0].Condition.StringEquals["aws:SourceIp"]: unknown condition key`}},
		{"§3.2-21 ForAllValues is not supported", Identity, withCondition(`{"ForAllValues:StringLike":{"acs:RequestTag/team":"a*"}}`), []string{`Statement[0].Condition["ForAllValues:StringLike"]: unknown condition operator`}},
		{"§3.2-21 Null is not supported", Identity, withCondition(`{"Null":{"acs:RequestTag/team":"false"}}`), []string{"Statement[0].Condition.Null: unknown condition operator"}},
		{"§3.2-22 duplicate Effect", Identity, stmtDoc(`{"Effect":"Deny","Effect":"Allow","Action":"cr:*","Resource":"*"}`), []string{"Statement[0].Effect: duplicate key"}},
		{"§3.2-22 duplicate Version", Identity, `{"Version":"1","Version":"1","Statement":[` + allow("") + `]}`, []string{"Version: duplicate key"}},
		{"§3.2-22 duplicate escaped key", Identity, stmtDoc(`{"Effect":"Deny","\u0045ffect":"Allow","Action":"cr:*","Resource":"*"}`), []string{"Statement[0].Effect: duplicate key"}},
		{"§3.2-22 duplicate condition key", Identity, withCondition(`{"StringEquals":{"acs:SourceVpc":"a","acs:SourceVpc":"b"}}`), []string{`Statement[0].Condition.StringEquals["acs:SourceVpc"]: duplicate key`}},
		{"§3.2-22 duplicate condition key differing in case", Identity, withCondition(`{"StringEquals":{"acs:SourceVpc":"a","ACS:SOURCEVPC":"b"}}`), []string{`Statement[0].Condition.StringEquals["ACS:SOURCEVPC"]: duplicate condition key`}},
		{"§3.2-22 duplicate Principal member", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"acs:ram::` + acctA + `:root","RAM":"acs:ram::` + acctB + `:root"}`)), []string{"Statement[0].Principal.RAM: duplicate key"}},
		{"§3.2-23 nesting 33 deep", Identity, nestedInCondition(33 - 5), []string{`Statement[0].Condition.StringEquals["acs:SourceVpc"]` + strings.Repeat("[0]", 27) + ": nesting is deeper than 32 levels"}},
		{"§3.2-23 deep nesting under the cap", Identity, strings.Repeat("[", 3000) + strings.Repeat("]", 3000), []string{strings.Repeat("[0]", 31) + ": nesting is deeper than 32 levels"}},
		{"§3.2-24 one byte over the identity cap", Identity, padded(Identity, MaxIdentityBytes+1), []string{"document is 6145 bytes; the cap for identity policies is 6144"}},
		{"§3.2-24 one byte over the trust cap", Trust, padded(Trust, MaxTrustBytes+1), []string{"document is 6145 bytes; the cap for trust policies is 6144"}},
		{"§3.2-29 one byte over the session cap", Session, padded(Session, MaxSessionBytes+1), []string{"document is 2049 bytes; the cap for session policies is 2048"}},
		{"§3.2-25 byte order mark", Identity, "\ufeff" + stmtDoc(allow("")), []string{"document starts with a UTF-8 byte order mark"}},
		{"§3.2-25 Cyrillic letter", Identity, stmtDoc(allow(`"Sid":"аdmin"`)), []string{"byte 97: character U+0430 is not allowed"}},
		{"§3.2-25 escaped Cyrillic letter", Identity, stmtDoc(allow(`"Sid":"\u0430dmin"`)), []string{"Statement[0].Sid: string contains U+0430"}},
		{"§3.2-25 zero-width space", Identity, stmtDoc(allow(`"Sid":"a` + "\u200b" + `"`)), []string{"character U+200B is not allowed"}},
		{"§3.2-25 control character", Identity, stmtDoc(allow(`"Sid":"a` + "\x07" + `"`)), []string{"character U+0007 is not allowed"}},
		{"§3.2-25 invalid UTF-8", Identity, stmtDoc(allow(`"Sid":"a` + "\xc3" + `"`)), []string{"byte 98: invalid UTF-8"}},
		{"§3.2-25 escaped NUL", Identity, stmtDoc(allow(`"Sid":"a\u0000"`)), []string{"Statement[0].Sid: string contains U+0000"}},
		{"§3.2-25 escaped tab in a value", Identity, stmtDoc(allow(`"Sid":"a\tb"`)), []string{"Statement[0].Sid: string contains U+0009"}},
		{"§3.2-25 lone surrogate escape", Identity, stmtDoc(allow(`"Sid":"\ud800"`)), []string{"Statement[0].Sid: string contains U+FFFD"}},
		{"§3.2-25 escaped character in a key", Identity, stmtDoc(allow(`"Condition":{"StringEquals":{"acs:RequestTag/\u2028":"x"}}`)), []string{"Statement[0].Condition.StringEquals: key", "contains U+2028"}},
		{"§3.2-28 date not a date", Identity, withCondition(`{"DateLessThan":{"acs:CurrentTime":"not-a-date"}}`), []string{`Statement[0].Condition.DateLessThan["acs:CurrentTime"]: "not-a-date" is not an RFC 3339 date-time`}},
		{"§3.2-28 date as epoch seconds", Identity, withCondition(`{"DateLessThan":{"acs:CurrentTime":"1700000000"}}`), []string{`Statement[0].Condition.DateLessThan["acs:CurrentTime"]: "1700000000" is not an RFC 3339`}},
		{"§3.2-28 numeric 1e999 string", Identity, withCondition(`{"NumericLessThan":{"acs:RequestTag/n":"1e999"}}`), []string{`Statement[0].Condition.NumericLessThan["acs:RequestTag/n"]: "1e999" is not a finite decimal number`}},
		{"§3.2-28 numeric 1e999 literal", Identity, withCondition(`{"NumericLessThan":{"acs:RequestTag/n":[1,1e999]}}`), []string{`Statement[0].Condition.NumericLessThan["acs:RequestTag/n"][1]: "1e999" is not a finite decimal number`}},
		{"§3.2-28 numeric Inf", Identity, withCondition(`{"NumericLessThan":{"acs:RequestTag/n":"Inf"}}`), []string{`"Inf" is not a finite decimal number`}},
		{"§3.2-28 numeric with spaces", Identity, withCondition(`{"NumericLessThan":{"acs:RequestTag/n":" 1"}}`), []string{`" 1" is not a finite decimal number`}},
		{"§3.2-28 Bool True", Identity, withCondition(`{"Bool":{"acs:SecureTransport":"True"}}`), []string{`Statement[0].Condition.Bool["acs:SecureTransport"]: "True" is not "true" or "false"`}},
		{"§3.2-28 Bool yes", Identity, withCondition(`{"Bool":{"acs:SecureTransport":"yes"}}`), []string{`Statement[0].Condition.Bool["acs:SecureTransport"]: "yes" is not "true" or "false"`}},
		{"§3.2-28 Bool given a number", Identity, withCondition(`{"Bool":{"acs:SecureTransport":1}}`), []string{`Statement[0].Condition.Bool["acs:SecureTransport"]: must be a string, got number`}},
		{"§3.2-28 String given a boolean", Identity, withCondition(`{"StringEquals":{"acs:SourceVpc":true}}`), []string{`Statement[0].Condition.StringEquals["acs:SourceVpc"]: must be a string, got boolean`}},
		{"§3.2-28 IP with host bits", Identity, withCondition(`{"IpAddress":{"acs:SourceIp":"10.0.0.1/8"}}`), []string{`"10.0.0.1/8" has bits set beyond the prefix length; did you mean 10.0.0.0/8?`}},
		{"§3.2-28 IP with zone", Identity, withCondition(`{"IpAddress":{"acs:SourceIp":"fe80::1%eth0"}}`), []string{`"fe80::1%eth0" is not an IP address`}},
		{"§3.2-28 IPv4-mapped block", Identity, withCondition(`{"IpAddress":{"acs:SourceIp":"::ffff:10.0.0.0/104"}}`), []string{"write IPv4-mapped blocks in IPv4 form"}},
		{"§3.2-28 condition value null", Identity, withCondition(`{"StringEquals":{"acs:SourceVpc":null}}`), []string{`Statement[0].Condition.StringEquals["acs:SourceVpc"]: must be a value or a non-empty list of values, got null`}},
		{"§3.2-28 empty condition block", Identity, withCondition(`{}`), []string{"Statement[0].Condition: must not be empty"}},
		{"§3.2-30 trailing document", Identity, stmtDoc(allow("")) + stmtDoc(allow("")), []string{"unexpected data after the document at byte 92"}},
		{"§3.2-30 trailing comment", Identity, stmtDoc(allow("")) + "\n// ok", []string{"unexpected data after the document at byte 93"}},
		{"§3.2-30 comment inside", Identity, `{"Version":"1",/*x*/"Statement":[` + allow("") + `]}`, []string{"invalid JSON at byte 15"}},
		{"§3.2-30 truncated", Identity, `{"Version":"1","Statement":[` + allow(""), []string{"Statement: document ends before the JSON value is complete"}},
		{"§3.2-31 misspelt Statement", Identity, `{"Version":"1","Statment":[` + allow("") + `]}`, []string{"Statment: unknown field", "Statement: is required"}},
		{"§3.2-31 lower-case statement", Identity, `{"Version":"1","statement":[` + allow("") + `]}`, []string{"statement: unknown field"}},
		{"§3.2-31 unknown statement field", Identity, stmtDoc(allow(`"Principals":{}`)), []string{"Statement[0].Principals: unknown field"}},
		{"Statement as a single object", Identity, `{"Version":"1","Statement":` + allow("") + `}`, []string{"Statement: must be a list of statements, got object"}},
		{"Statement empty", Identity, `{"Version":"1","Statement":[]}`, []string{"Statement: must not be empty"}},
		{"§3.1-12 RAM star", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"*"}`)), []string{`Statement[0].Principal.RAM: "*": wildcards are not allowed in principals`}},
		{"§3.1-12 Principal star", Trust, stmtDoc(trustStmt(`"Principal":"*"`)), []string{"Statement[0].Principal: must be an object with RAM, Service or Federated, got string"}},
		{"§3.1-12 account wildcard", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":["acs:ram::*:role/*"]}`)), []string{`Statement[0].Principal.RAM[0]: "acs:ram::*:role/*": wildcards are not allowed in principals`}},
		{"§3.1-13 trust without Principal", Trust, stmtDoc(trustStmt("")), []string{"Statement[0]: needs a Principal"}},
		{"§3.1-13 Principal in an identity policy", Identity, stmtDoc(allow(`"Principal":{"RAM":"acs:ram::` + acctA + `:root"}`)), []string{"Statement[0].Principal: only allowed in a trust policy, not in identity policies"}},
		{"§3.1-13 Principal in a session policy", Session, stmtDoc(allow(`"Principal":{"RAM":"acs:ram::` + acctA + `:root"}`)), []string{"Statement[0].Principal: only allowed in a trust policy, not in session policies"}},
		{"§3.1-1 empty role name", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"acs:ram::` + acctA + `:role/"}`)), []string{"Statement[0].Principal.RAM: ", "a role name is 1-64"}},
		{"§3.1-2 short account", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"acs:ram::12ab:role/x"}`)), []string{"Statement[0].Principal.RAM: ", "the account ID must be 16 digits"}},
		{"§3.1-3 path traversal", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":["acs:ram::` + acctA + `:role/../admin","acs:ram::` + acctA + `:role/.."]}`)), []string{"Statement[0].Principal.RAM[0]: ", "Statement[0].Principal.RAM[1]: "}},
		{"§3.1-4 region in RAM ARN", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"acs:ram:cn-hangzhou:` + acctA + `:role/x"}`)), []string{"Statement[0].Principal.RAM: ", "is not a RAM principal"}},
		{"§3.1-6 upper-case prefix", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"ACS:RAM::` + acctA + `:role/x"}`)), []string{"Statement[0].Principal.RAM: ", "is not a RAM principal"}},
		{"§3.1-10 65-character role name", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"acs:ram::` + acctA + `:role/` + strings.Repeat("r", 65) + `"}`)), []string{"Statement[0].Principal.RAM: ", "a role name is 1-64"}},
		{"§3.1-11 extra segments", Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"acs:ram::` + acctA + `:role/a:b:c"}`)), []string{"Statement[0].Principal.RAM: ", "a role name is 1-64"}},
		{"Principal empty", Trust, stmtDoc(trustStmt(`"Principal":{}`)), []string{"Statement[0].Principal: must name at least one principal"}},
		{"Principal unknown member", Trust, stmtDoc(trustStmt(`"Principal":{"AWS":"x"}`)), []string{"Statement[0].Principal.AWS: unknown field"}},
		{"Service upper-case", Trust, stmtDoc(trustStmt(`"Principal":{"Service":"ECI.aliyuncs.com"}`)), []string{`Statement[0].Principal.Service: "ECI.aliyuncs.com" is not a service principal`}},
		{"trust Resource", Trust, stmtDoc(trustStmt(`"Principal":{"Service":"eci.aliyuncs.com"},"Resource":"*"`)), []string{"Statement[0].Resource: not allowed in a trust policy"}},
		{"trust non-sts action", Trust, stmtDoc(`{"Effect":"Allow","Action":["sts:AssumeRole","*","cr:Pull*"],"Principal":{"Service":"eci.aliyuncs.com"}}`), []string{`Statement[0].Action[1]: "*" is not an sts action`, `Statement[0].Action[2]: "cr:Pull*" is not an sts action`}},
		{"trust NotAction", Trust, stmtDoc(`{"Effect":"Allow","NotAction":"cr:*","Principal":{"Service":"eci.aliyuncs.com"}}`), []string{"Statement[0].NotAction: not allowed in a trust policy"}},
		{"action without service", Identity, stmtDoc(`{"Effect":"Allow","Action":"PullRepository","Resource":"*"}`), []string{`Statement[0].Action: "PullRepository" is not an action`}},
		{"action with upper-case service", Identity, stmtDoc(`{"Effect":"Allow","Action":"CR:Pull*","Resource":"*"}`), []string{`Statement[0].Action: "CR:Pull*": the service code must be lower-case`}},
		{"action pattern over 1024 bytes", Identity, stmtDoc(`{"Effect":"Allow","Action":"cr:` + strings.Repeat("*", 1022) + `","Resource":"*"}`), []string{"Statement[0].Action: is 1025 bytes; a pattern may have at most 1024"}},
		{"resource too short", Identity, stmtDoc(`{"Effect":"Allow","Action":"cr:*","Resource":["*","acs:cr"]}`), []string{`Statement[0].Resource[1]: "acs:cr" is not a resource`}},
		{"resource upper-case service", Identity, stmtDoc(`{"Effect":"Allow","Action":"cr:*","Resource":"acs:CR:*:*:*"}`), []string{`Statement[0].Resource: "acs:CR:*:*:*": the service must be lower-case`}},
		{"many errors reported together", Identity, `{"Version":"2","Statement":[{"Effect":"allow","Action":"cr:*","Resource":"*"},{"Effect":"Allow","Action":[],"Resource":"*"},{"Effect":"Allow","Action":"cr:*","Resource":"x"}]}`,
			[]string{`Version: must be "1"`, "Statement[0].Effect:", "Statement[1].Action:", `Statement[2].Resource: "x" is not a resource`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.kind, []byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse(%s, %q) = %s, want an error", tt.kind, tt.doc, p)
			}
			if p != nil {
				t.Errorf("Parse(%s) returned a policy together with an error", tt.kind)
			}
			parseErrors(t, err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%s) error does not contain %q:\n%v", tt.kind, w, err)
				}
			}
		})
	}
}

// TestParseDepthLimit shows that 32 levels are still read (and then fail
// for what they contain) while the 33rd is refused by the reader.
func TestParseDepthLimit(t *testing.T) {
	_, err := Parse(Identity, []byte(nestedInCondition(32-5)))
	if err == nil || strings.Contains(err.Error(), "nesting") || !strings.Contains(err.Error(), "must be a string, got list") {
		t.Errorf("Parse(32 levels) = %v, want a type error and no depth error", err)
	}
	_, err = Parse(Identity, []byte(nestedInCondition(33-5)))
	if err == nil || !strings.Contains(err.Error(), "nesting is deeper than 32 levels") {
		t.Errorf("Parse(33 levels) = %v, want a depth error", err)
	}
}

// TestParseSizeCapComesFirst shows the cap is applied before any parsing:
// an oversized document reports only its size, however broken it is, and
// a 10 MB document costs no more than reading its length.
func TestParseSizeCapComesFirst(t *testing.T) {
	tests := []struct {
		name string
		doc  []byte
	}{
		{"invalid JSON one byte over", bytes.Repeat([]byte("{"), MaxIdentityBytes+1)},
		{"invalid UTF-8 one byte over", bytes.Repeat([]byte{0xff}, MaxIdentityBytes+1)},
		{"10 MB", bytes.Repeat([]byte("["), 10<<20)},
		{"100,000 statements", []byte(`{"Version":"1","Statement":[` + strings.Repeat(allow("")+",", 99999) + allow("") + `]}`)},
		{"100,000 nested arrays", []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(Identity, tt.doc)
			perrs := parseErrors(t, err)
			if len(perrs) != 1 || !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Parse(%d bytes) = %v, want exactly one ErrTooLarge", len(tt.doc), err)
			}
			if want := fmt.Sprintf("document is %d bytes", len(tt.doc)); !strings.Contains(err.Error(), want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, want)
			}
		})
	}
}

func TestParseUnknownKind(t *testing.T) {
	if p, err := Parse(Kind(7), []byte(stmtDoc(allow("")))); err == nil || p != nil {
		t.Errorf("Parse(Kind(7)) = %v, %v, want nil and an error", p, err)
	}
}

// §3.2 item 15: a string and a one-element list mean the same thing.
func TestParseStringAndListAreEquivalent(t *testing.T) {
	a, err := Parse(Identity, []byte(stmtDoc(`{"Effect":"Allow","Action":"cr:Pull*","Resource":"*"}`)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(Identity, []byte(stmtDoc(`{"Resource":["*"],"Action":["cr:Pull*"],"Effect":"Allow"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.Statements(), b.Statements()); diff != "" {
		t.Errorf("string and list forms differ (-string +list):\n%s", diff)
	}
	if a.String() != b.String() {
		t.Errorf("canonical forms differ:\n%s\n%s", a, b)
	}
}

func TestStatementsView(t *testing.T) {
	doc := stmtDoc(
		`{"Sid":"Pull","Effect":"Allow","Action":["cr:Pull*","cr:Get*"],"Resource":"acs:cr:*:*:instance/`+inst+`",`+
			`"Condition":{"StringEquals":{"acs:sourcevpc":"vpc-1"},"Bool":{"acs:SecureTransport":true},"NumericLessThan":{"acs:RequestTag/n":[1,"2"]}}}`,
		`{"Effect":"Deny","NotAction":"cr:Pull*","NotResource":["acs:cr:*:*:instance/`+inst+`"]}`,
	)
	p, err := Parse(Identity, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []Statement{
		{
			Sid: "Pull", Effect: Allow,
			Action:   []string{"cr:Pull*", "cr:Get*"},
			Resource: []string{"acs:cr:*:*:instance/" + inst},
			Condition: []ConditionClause{
				{Operator: "Bool", Key: "acs:SecureTransport", Values: []string{"true"}},
				{Operator: "NumericLessThan", Key: "acs:RequestTag/n", Values: []string{"1", "2"}},
				{Operator: "StringEquals", Key: "acs:SourceVpc", Values: []string{"vpc-1"}},
			},
		},
		{Effect: Deny, NotAction: []string{"cr:Pull*"}, NotResource: []string{"acs:cr:*:*:instance/" + inst}},
	}
	got := p.Statements()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Statements() mismatch (-want +got):\n%s", diff)
	}
	// The view is a copy: scribbling on it must not change the policy.
	got[0].Action[0] = "*"
	got[0].Condition[0].Values[0] = "false"
	if diff := cmp.Diff(want, p.Statements()); diff != "" {
		t.Errorf("Statements() aliases the policy (-want +got):\n%s", diff)
	}
}

func TestParseErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  *ParseError
		want string
	}{
		{"located", &ParseError{Path: "Statement[2].Resource[0]", Msg: `"acs:cr" is not a resource`}, `Statement[2].Resource[0]: "acs:cr" is not a resource`},
		{"document-level", &ParseError{Msg: "document is empty"}, "document is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		name string
		v    fmt.Stringer
		want string
	}{
		{"Identity", Identity, "identity"},
		{"Trust", Trust, "trust"},
		{"Session", Session, "session"},
		{"unknown kind", Kind(9), "Kind(9)"},
		{"Allow", Allow, "Allow"},
		{"Deny", Deny, "Deny"},
		{"zero effect", Effect(0), "Effect(0)"},
		{"NoMatch", NoMatch, "NoMatch"},
		{"Allowed", Allowed, "Allowed"},
		{"Denied", Denied, "Denied"},
		{"unknown decision", Decision(5), "Decision(5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
