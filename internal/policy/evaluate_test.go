package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(tb testing.TB, kind Kind, doc string) *Policy {
	tb.Helper()
	p, err := Parse(kind, []byte(doc))
	if err != nil {
		tb.Fatalf("Parse(%s, %s): %v", kind, doc, err)
	}
	return p
}

func instanceARN(account, id string) string {
	return "acs:cr:cn-hangzhou:" + account + ":instance/" + id
}

func repositoryARN(account, id, ns, repo string) string {
	return "acs:cr:cn-hangzhou:" + account + ":repository/" + id + "/" + ns + "/" + repo
}

func ram(v string) PrincipalID { return PrincipalID{Type: "RAM", Value: v} }

// seedPolicy is the custom policy from the seed's same-account example.
const seedPolicy = `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:List*"],"Resource":"*"},{"Effect":"Allow","Action":["cr:Pull*"],"Resource":["acs:cr:cn-hangzhou:1609982529000000:instance/cri-nwj395hgf6f30000"]}]}`

func TestEvaluateSeedPolicy(t *testing.T) {
	set := []Named{{Name: "acr-test-pull", Policy: mustParse(t, Identity, seedPolicy)}}
	pullPair := []string{repositoryARN(acctA, inst, "ns", "repo"), instanceARN(acctA, inst)}
	otherPair := []string{repositoryARN(acctA, "cri-other", "ns", "repo"), instanceARN(acctA, "cri-other")}
	tests := []struct {
		name string
		req  Request
		want Result
	}{
		{"pull from the allowed instance", Request{Action: "cr:PullRepository", Resources: pullPair},
			Result{Allowed, []Ref{{Policy: "acr-test-pull", Statement: 1, Effect: Allow}}}},
		{"pull from another instance", Request{Action: "cr:PullRepository", Resources: otherPair}, Result{}},
		{"pull from another account's instance of the same id", Request{Action: "cr:PullRepository", Resources: []string{instanceARN(acctB, inst)}}, Result{}},
		{"authorization token on anything", Request{Action: "cr:GetAuthorizationToken", Resources: []string{"*"}},
			Result{Allowed, []Ref{{Policy: "acr-test-pull", Statement: 0, Effect: Allow}}}},
		{"authorization token on another instance", Request{Action: "cr:GetAuthorizationToken", Resources: otherPair},
			Result{Allowed, []Ref{{Policy: "acr-test-pull", Statement: 0, Effect: Allow}}}},
		{"list in any case", Request{Action: "CR:LISTINSTANCE", Resources: otherPair},
			Result{Allowed, []Ref{{Policy: "acr-test-pull", Statement: 0, Effect: Allow}}}},
		{"push to the allowed instance", Request{Action: "cr:PushRepository", Resources: pullPair}, Result{}},
		{"no resources", Request{Action: "cr:GetAuthorizationToken"}, Result{}},
		{"only empty resources", Request{Action: "cr:GetAuthorizationToken", Resources: []string{""}}, Result{}},
		{"empty action", Request{Resources: pullPair}, Result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Evaluate(tt.req, set...)); diff != "" {
				t.Errorf("Evaluate(%+v) mismatch (-want +got):\n%s", tt.req, diff)
			}
		})
	}
}

func TestEvaluateTrust(t *testing.T) {
	narrowed := mustParse(t, Trust, `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1609982529000000:role/role-assume"]}}]}`)
	account := mustParse(t, Trust, stmtDoc(trustStmt(`"Principal":{"RAM":["acs:ram::`+acctA+`:root"]}`)))
	service := mustParse(t, Trust, stmtDoc(trustStmt(`"Principal":{"Service":["eci.aliyuncs.com"]}`)))
	assumeSession := []PrincipalID{ram("acs:ram::" + acctA + ":root"), ram("acs:ram::" + acctA + ":role/role-assume")}
	otherSession := []PrincipalID{ram("acs:ram::" + acctA + ":root"), ram("acs:ram::" + acctA + ":role/role-other")}
	tests := []struct {
		name       string
		policy     *Policy
		action     string
		principals []PrincipalID
		want       Decision
	}{
		{"narrowed trust admits role-assume", narrowed, "sts:AssumeRole", assumeSession, Allowed},
		{"narrowed trust refuses role-other", narrowed, "sts:AssumeRole", otherSession, NoMatch},
		{"narrowed trust compares case-insensitively", narrowed, "sts:AssumeRole", []PrincipalID{ram("ACS:RAM::" + acctA + ":ROLE/ROLE-ASSUME")}, Allowed},
		{"narrowed trust refuses Kelvin-sign spelling", narrowed, "sts:AssumeRole", []PrincipalID{ram("acs:ram::" + acctA + ":role/role-assume\u212a")}, NoMatch},
		{"narrowed trust refuses the right value under the wrong type", narrowed, "sts:AssumeRole", []PrincipalID{{Type: "Service", Value: "acs:ram::" + acctA + ":role/role-assume"}}, NoMatch},
		{"narrowed trust refuses a lower-case type", narrowed, "sts:AssumeRole", []PrincipalID{{Type: "ram", Value: "acs:ram::" + acctA + ":role/role-assume"}}, NoMatch},
		{"narrowed trust refuses another action", narrowed, "sts:AssumeRoleWithOIDC", assumeSession, NoMatch},
		{"account trust admits role-assume", account, "sts:AssumeRole", assumeSession, Allowed},
		{"account trust admits role-other", account, "sts:AssumeRole", otherSession, Allowed},
		{"§3.1-12 account trust refuses another account", account, "sts:AssumeRole", []PrincipalID{ram("acs:ram::" + acctB + ":root"), ram("acs:ram::" + acctB + ":role/role-assume")}, NoMatch},
		{"account trust does not admit the root as a prefix", account, "sts:AssumeRole", []PrincipalID{ram("acs:ram::" + acctA + ":root/x")}, NoMatch},
		{"service trust admits the service", service, "sts:AssumeRole", []PrincipalID{{Type: "Service", Value: "eci.aliyuncs.com"}}, Allowed},
		{"§3.1-12 service trust is exact", service, "sts:AssumeRole", []PrincipalID{{Type: "Service", Value: "eci.aliyuncs.com.evil"}}, NoMatch},
		{"service trust refuses a suffix", service, "sts:AssumeRole", []PrincipalID{{Type: "Service", Value: "evil-eci.aliyuncs.com"}}, NoMatch},
		{"service trust refuses RAM users", service, "sts:AssumeRole", assumeSession, NoMatch},
		{"service trust refuses the service name as a RAM principal", service, "sts:AssumeRole", []PrincipalID{ram("eci.aliyuncs.com")}, NoMatch},
		{"no principals", account, "sts:AssumeRole", nil, NoMatch},
		{"empty principal value", account, "sts:AssumeRole", []PrincipalID{ram("")}, NoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Action: tt.action, Principals: tt.principals}
			if got := Evaluate(req, Named{Name: "trust", Policy: tt.policy}); got.Decision != tt.want {
				t.Errorf("Evaluate(%+v) = %v, want %v", req, got.Decision, tt.want)
			}
		})
	}
}

func TestEvaluateTrustIgnoresResources(t *testing.T) {
	p := mustParse(t, Trust, stmtDoc(trustStmt(`"Principal":{"RAM":"acs:ram::`+acctA+`:root"}`)))
	req := Request{Action: "sts:AssumeRole", Principals: []PrincipalID{ram("acs:ram::" + acctA + ":root")}}
	if got := Evaluate(req, Named{Policy: p}); got.Decision != Allowed {
		t.Errorf("Evaluate(trust without resources) = %v, want Allowed", got.Decision)
	}
}

func TestEvaluateDenyWins(t *testing.T) {
	allowInstance := mustParse(t, Identity, stmtDoc(`{"Sid":"Instance","Effect":"Allow","Action":"cr:Pull*","Resource":"`+instanceARN(acctA, inst)+`"}`))
	denyRepo := mustParse(t, Identity, stmtDoc(
		`{"Sid":"Secret","Effect":"Deny","Action":"cr:*","Resource":"acs:cr:*:*:repository/`+inst+`/secret/*"}`,
		`{"Sid":"Other","Effect":"Deny","Action":"cr:Push*","Resource":"*"}`,
		`{"Sid":"AlsoSecret","Effect":"Deny","Action":"*","Resource":"acs:cr:*:*:*/secret/*"}`,
	))
	secret := Request{Action: "cr:PullRepository", Resources: []string{repositoryARN(acctA, inst, "secret", "db"), instanceARN(acctA, inst)}}
	public := Request{Action: "cr:PullRepository", Resources: []string{repositoryARN(acctA, inst, "public", "web"), instanceARN(acctA, inst)}}

	for _, order := range [][]Named{
		{{Name: "allow", Policy: allowInstance}, {Name: "deny", Policy: denyRepo}},
		{{Name: "deny", Policy: denyRepo}, {Name: "allow", Policy: allowInstance}},
	} {
		want := Result{Denied, []Ref{{Policy: "deny", Statement: 0, Sid: "Secret", Effect: Deny}, {Policy: "deny", Statement: 2, Sid: "AlsoSecret", Effect: Deny}}}
		if diff := cmp.Diff(want, Evaluate(secret, order...)); diff != "" {
			t.Errorf("Evaluate(secret repository, %s first) mismatch (-want +got):\n%s", order[0].Name, diff)
		}
		want = Result{Allowed, []Ref{{Policy: "allow", Statement: 0, Sid: "Instance", Effect: Allow}}}
		if diff := cmp.Diff(want, Evaluate(public, order...)); diff != "" {
			t.Errorf("Evaluate(public repository, %s first) mismatch (-want +got):\n%s", order[0].Name, diff)
		}
	}
}

func TestEvaluateNotActionNotResource(t *testing.T) {
	// §3.2 item 18: Allow + NotAction grants everything else.
	notAction := mustParse(t, Identity, stmtDoc(`{"Effect":"Allow","NotAction":["cr:PullRepository"],"Resource":"*"}`))
	notResource := mustParse(t, Identity, stmtDoc(`{"Effect":"Deny","Action":"cr:*","NotResource":"acs:cr:*:*:*/`+inst+`*"}`))
	allowAll := mustParse(t, Identity, stmtDoc(`{"Effect":"Allow","Action":"cr:*","Resource":"*"}`))
	tests := []struct {
		name string
		set  []Named
		req  Request
		want Decision
	}{
		{"NotAction allows other actions", []Named{{Policy: notAction}}, Request{Action: "cr:PushRepository", Resources: []string{"x"}}, Allowed},
		{"NotAction allows other services", []Named{{Policy: notAction}}, Request{Action: "ram:CreateUser", Resources: []string{"x"}}, Allowed},
		{"NotAction excludes the listed action", []Named{{Policy: notAction}}, Request{Action: "cr:PullRepository", Resources: []string{"x"}}, NoMatch},
		{"NotAction excludes case-insensitively", []Named{{Policy: notAction}}, Request{Action: "CR:PULLREPOSITORY", Resources: []string{"x"}}, NoMatch},
		{"NotResource denies outside the instance", []Named{{Policy: allowAll}, {Policy: notResource}}, Request{Action: "cr:PullRepository", Resources: []string{instanceARN(acctA, "cri-other")}}, Denied},
		{"NotResource leaves the instance alone", []Named{{Policy: allowAll}, {Policy: notResource}}, Request{Action: "cr:PullRepository", Resources: []string{instanceARN(acctA, inst)}}, Allowed},
		{"NotResource applies if any resource is outside", []Named{{Policy: allowAll}, {Policy: notResource}}, Request{Action: "cr:PullRepository", Resources: []string{instanceARN(acctA, inst), instanceARN(acctA, "cri-other")}}, Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(tt.req, tt.set...); got.Decision != tt.want {
				t.Errorf("Evaluate(%+v) = %v, want %v", tt.req, got.Decision, tt.want)
			}
		})
	}
}

// TestEvaluateConditions covers the operator semantics, including
// reliability.md §3.2 item 20 (missing keys) and the rule that an unreadable
// request value leaves an Allow off and a Deny on.
func TestEvaluateConditions(t *testing.T) {
	tests := []struct {
		name      string
		condition string
		context   map[string][]string
		allow     Decision // decision of an Allow statement with the condition
		deny      Decision // decision of a Deny statement with the condition
	}{
		{"StringEquals present and equal", `{"StringEquals":{"acs:SourceVpc":"vpc-1"}}`, ctx("acs:SourceVpc", "vpc-1"), Allowed, Denied},
		{"StringEquals key case-insensitive", `{"StringEquals":{"acs:SourceVpc":"vpc-1"}}`, ctx("ACS:SOURCEVPC", "vpc-1"), Allowed, Denied},
		{"StringEquals value case-sensitive", `{"StringEquals":{"acs:SourceVpc":"vpc-1"}}`, ctx("acs:SourceVpc", "VPC-1"), NoMatch, NoMatch},
		{"StringEquals values are ORed", `{"StringEquals":{"acs:SourceVpc":["vpc-1","vpc-2"]}}`, ctx("acs:SourceVpc", "vpc-2"), Allowed, Denied},
		{"StringEquals any request value", `{"StringEquals":{"acs:SourceVpc":"vpc-2"}}`, ctx("acs:SourceVpc", "vpc-1", "vpc-2"), Allowed, Denied},
		{"§3.2-20 StringEquals missing key", `{"StringEquals":{"acs:SourceVpc":"vpc-1"}}`, nil, NoMatch, NoMatch},
		{"§3.2-20 StringEquals key with no values", `{"StringEquals":{"acs:SourceVpc":"vpc-1"}}`, ctx("acs:SourceVpc"), NoMatch, NoMatch},
		{"§3.2-20 StringNotEquals missing key", `{"StringNotEquals":{"acs:SourceVpc":"vpc-1"}}`, nil, Allowed, Denied},
		{"§3.2-20 StringEqualsIfExists missing key", `{"StringEqualsIfExists":{"acs:SourceVpc":"vpc-1"}}`, nil, Allowed, Denied},
		{"§3.2-20 StringEqualsIfExists present and different", `{"StringEqualsIfExists":{"acs:SourceVpc":"vpc-1"}}`, ctx("acs:SourceVpc", "vpc-2"), NoMatch, NoMatch},
		{"§3.2-20 StringNotEqualsIfExists missing key", `{"StringNotEqualsIfExists":{"acs:SourceVpc":"vpc-1"}}`, nil, Allowed, Denied},
		{"StringNotEquals equal", `{"StringNotEquals":{"acs:SourceVpc":"vpc-1"}}`, ctx("acs:SourceVpc", "vpc-1"), NoMatch, NoMatch},
		{"StringNotEquals different", `{"StringNotEquals":{"acs:SourceVpc":"vpc-1"}}`, ctx("acs:SourceVpc", "vpc-2"), Allowed, Denied},
		{"StringNotEquals is NOR over values", `{"StringNotEquals":{"acs:SourceVpc":["vpc-1","vpc-2"]}}`, ctx("acs:SourceVpc", "vpc-2"), NoMatch, NoMatch},
		{"StringNotEquals any request value matching", `{"StringNotEquals":{"acs:SourceVpc":"vpc-1"}}`, ctx("acs:SourceVpc", "vpc-2", "vpc-1"), NoMatch, NoMatch},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"acs:RequestTag/team":"Infra"}}`, ctx("acs:RequestTag/team", "INFRA"), Allowed, Denied},
		{"StringEqualsIgnoreCase is ASCII only", `{"StringEqualsIgnoreCase":{"acs:RequestTag/team":"k"}}`, ctx("acs:RequestTag/team", "\u212a"), NoMatch, NoMatch},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"acs:RequestTag/team":"Infra"}}`, ctx("acs:RequestTag/team", "INFRA"), NoMatch, NoMatch},
		{"StringLike", `{"StringLike":{"acs:PrincipalArn":"acs:ram::*:role/ci-*"}}`, ctx("acs:PrincipalArn", "acs:ram::"+acctA+":role/ci-build"), Allowed, Denied},
		{"StringLike is case-sensitive", `{"StringLike":{"acs:PrincipalArn":"acs:ram::*:role/ci-*"}}`, ctx("acs:PrincipalArn", "acs:ram::"+acctA+":role/CI-build"), NoMatch, NoMatch},
		{"StringNotLike", `{"StringNotLike":{"acs:RequestTag/name":"tmp-?"}}`, ctx("acs:RequestTag/name", "tmp-1"), NoMatch, NoMatch},
		{"NumericLessThan", `{"NumericLessThan":{"acs:RequestTag/n":10}}`, ctx("acs:RequestTag/n", "9.5"), Allowed, Denied},
		{"NumericLessThan equal", `{"NumericLessThan":{"acs:RequestTag/n":10}}`, ctx("acs:RequestTag/n", "10"), NoMatch, NoMatch},
		{"NumericLessThanEquals equal", `{"NumericLessThanEquals":{"acs:RequestTag/n":"1e1"}}`, ctx("acs:RequestTag/n", "10.0"), Allowed, Denied},
		{"NumericGreaterThan", `{"NumericGreaterThan":{"acs:RequestTag/n":10}}`, ctx("acs:RequestTag/n", "11"), Allowed, Denied},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"acs:RequestTag/n":10}}`, ctx("acs:RequestTag/n", "9"), NoMatch, NoMatch},
		{"NumericEquals negative zero", `{"NumericEquals":{"acs:RequestTag/n":0}}`, ctx("acs:RequestTag/n", "-0"), Allowed, Denied},
		{"NumericNotEquals", `{"NumericNotEquals":{"acs:RequestTag/n":[1,2]}}`, ctx("acs:RequestTag/n", "3"), Allowed, Denied},
		{"malformed number under a positive operator", `{"NumericLessThan":{"acs:RequestTag/n":10}}`, ctx("acs:RequestTag/n", "abc"), NoMatch, Denied},
		{"malformed number under a negated operator", `{"NumericNotEquals":{"acs:RequestTag/n":10}}`, ctx("acs:RequestTag/n", "abc"), NoMatch, Denied},
		{"malformed number under IfExists", `{"NumericLessThanIfExists":{"acs:RequestTag/n":10}}`, ctx("acs:RequestTag/n", "1e999"), NoMatch, Denied},
		{"hex is malformed in requests too", `{"NumericEquals":{"acs:RequestTag/n":16}}`, ctx("acs:RequestTag/n", "0x10"), NoMatch, Denied},
		{"readable match settles a positive operator", `{"NumericLessThan":{"acs:RequestTag/n":10}}`, ctx("acs:RequestTag/n", "abc", "1"), Allowed, Denied},
		{"readable match settles a negated operator", `{"NumericNotEquals":{"acs:RequestTag/n":10}}`, ctx("acs:RequestTag/n", "abc", "10"), NoMatch, NoMatch},
		{"readable non-match does not settle", `{"NumericLessThan":{"acs:RequestTag/n":10}}`, ctx("acs:RequestTag/n", "abc", "11"), NoMatch, Denied},
		{"DateLessThan", `{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}`, ctx("acs:CurrentTime", "2029-12-31T23:59:59Z"), Allowed, Denied},
		{"DateLessThan across zones", `{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}`, ctx("acs:CurrentTime", "2030-01-01T07:59:59+08:00"), Allowed, Denied},
		{"DateEquals same instant", `{"DateEquals":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}`, ctx("acs:CurrentTime", "2030-01-01T08:00:00+08:00"), Allowed, Denied},
		{"DateGreaterThan", `{"DateGreaterThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}`, ctx("acs:CurrentTime", "2029-01-01T00:00:00Z"), NoMatch, NoMatch},
		{"malformed date", `{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}`, ctx("acs:CurrentTime", "yesterday"), NoMatch, Denied},
		{"malformed date under DateNotEquals", `{"DateNotEquals":{"acs:CurrentTime":"2030-01-01T00:00:00Z"}}`, ctx("acs:CurrentTime", "1700000000"), NoMatch, Denied},
		{"Bool true", `{"Bool":{"acs:SecureTransport":true}}`, ctx("acs:SecureTransport", "true"), Allowed, Denied},
		{"Bool false", `{"Bool":{"acs:SecureTransport":"true"}}`, ctx("acs:SecureTransport", "false"), NoMatch, NoMatch},
		{"Bool malformed", `{"Bool":{"acs:SecureTransport":"false"}}`, ctx("acs:SecureTransport", "False"), NoMatch, Denied},
		{"IpAddress in block", `{"IpAddress":{"acs:SourceIp":"203.0.113.0/24"}}`, ctx("acs:SourceIp", "203.0.113.9"), Allowed, Denied},
		{"IpAddress outside block", `{"IpAddress":{"acs:SourceIp":"203.0.113.0/24"}}`, ctx("acs:SourceIp", "203.0.114.9"), NoMatch, NoMatch},
		{"IpAddress single address", `{"IpAddress":{"acs:SourceIp":"198.51.100.7"}}`, ctx("acs:SourceIp", "198.51.100.7"), Allowed, Denied},
		{"IpAddress IPv6", `{"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}`, ctx("acs:SourceIp", "2001:db8::1"), Allowed, Denied},
		{"IpAddress IPv4-mapped request", `{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}`, ctx("acs:SourceIp", "::ffff:10.1.2.3"), Allowed, Denied},
		{"NotIpAddress IPv4-mapped request", `{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}`, ctx("acs:SourceIp", "::ffff:10.1.2.3"), NoMatch, NoMatch},
		{"NotIpAddress outside", `{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}`, ctx("acs:SourceIp", "192.0.2.1"), Allowed, Denied},
		{"IpAddress with a zone is malformed", `{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}`, ctx("acs:SourceIp", "fe80::1%eth0"), NoMatch, Denied},
		{"IpAddress with a CIDR request value is malformed", `{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}`, ctx("acs:SourceIp", "10.0.0.0/8"), NoMatch, Denied},
		{"ambiguous key spelled twice", `{"StringNotEquals":{"acs:SourceVpc":"vpc-bad"}}`, map[string][]string{"acs:SourceVpc": {"vpc-bad"}, "ACS:SOURCEVPC": {"vpc-good"}}, NoMatch, Denied},
		{"operators are ANDed", `{"StringEquals":{"acs:SourceVpc":"vpc-1"},"Bool":{"acs:SecureTransport":"true"}}`, ctx("acs:SourceVpc", "vpc-1"), NoMatch, NoMatch},
		{"keys are ANDed", `{"StringEquals":{"acs:SourceVpc":"vpc-1","acs:AccessId":"ak"}}`, map[string][]string{"acs:SourceVpc": {"vpc-1"}, "acs:AccessId": {"ak"}}, Allowed, Denied},
		{"false beats undecidable", `{"StringEquals":{"acs:SourceVpc":"vpc-1"},"NumericLessThan":{"acs:RequestTag/n":1}}`, map[string][]string{"acs:SourceVpc": {"vpc-2"}, "acs:RequestTag/n": {"x"}}, NoMatch, NoMatch},
		{"tag keys compare case-insensitively", `{"StringEquals":{"acs:RequestTag/Team":"a"}}`, ctx("acs:requesttag/team", "a"), Allowed, Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, effect := range []string{"Allow", "Deny"} {
				doc := stmtDoc(`{"Effect":"` + effect + `","Action":"cr:*","Resource":"*","Condition":` + tt.condition + `}`)
				p := mustParse(t, Identity, doc)
				req := Request{Action: "cr:PullRepository", Resources: []string{"x"}, Context: tt.context}
				want := tt.allow
				if effect == "Deny" {
					want = tt.deny
				}
				if got := Evaluate(req, Named{Policy: p}).Decision; got != want {
					t.Errorf("%s with %s and context %v = %v, want %v", effect, tt.condition, tt.context, got, want)
				}
			}
		})
	}
}

func ctx(key string, values ...string) map[string][]string {
	return map[string][]string{key: values}
}

func TestIntersect(t *testing.T) {
	allow := func(name string) Result {
		return Result{Allowed, []Ref{{Policy: name, Effect: Allow}}}
	}
	deny := func(name string) Result {
		return Result{Denied, []Ref{{Policy: name, Effect: Deny}}}
	}
	tests := []struct {
		name    string
		results []Result
		want    Result
	}{
		{"no layers", nil, Result{}},
		{"one allow", []Result{allow("role")}, allow("role")},
		{"all allow", []Result{allow("role"), allow("session")}, Result{Allowed, []Ref{{Policy: "role", Effect: Allow}, {Policy: "session", Effect: Allow}}}},
		{"§3.2-29 session does not match", []Result{allow("role"), {}}, Result{}},
		{"role does not match", []Result{{}, allow("session")}, Result{}},
		{"deny in session", []Result{allow("role"), deny("session")}, deny("session")},
		{"deny beats no match", []Result{{}, deny("session")}, deny("session")},
		{"denies collected", []Result{deny("role"), allow("x"), deny("session")}, Result{Denied, []Ref{{Policy: "role", Effect: Deny}, {Policy: "session", Effect: Deny}}}},
		{"unknown decision is not an allow", []Result{allow("role"), {Decision: Decision(9)}}, Result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Intersect(tt.results...)); diff != "" {
				t.Errorf("Intersect mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// §3.2 item 29: a session policy broader than the role's grants nothing
// extra.
func TestSessionPolicyNarrows(t *testing.T) {
	role := []Named{{Name: "role", Policy: mustParse(t, Identity, seedPolicy)}}
	session := Named{Name: "session", Policy: mustParse(t, Session, `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}
	tests := []struct {
		name string
		req  Request
		want Decision
	}{
		{"pull the role allows", Request{Action: "cr:PullRepository", Resources: []string{instanceARN(acctA, inst)}}, Allowed},
		{"push the session allows but the role does not", Request{Action: "cr:PushRepository", Resources: []string{instanceARN(acctA, inst)}}, NoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Intersect(Evaluate(tt.req, role...), Evaluate(tt.req, session))
			if got.Decision != tt.want {
				t.Errorf("Intersect(role, session) for %s = %v, want %v", tt.req.Action, got.Decision, tt.want)
			}
		})
	}
}

func TestEvaluateNilPolicy(t *testing.T) {
	req := Request{Action: "cr:PullRepository", Resources: []string{"x"}}
	if got := Evaluate(req, Named{Name: "missing"}); got.Decision != NoMatch {
		t.Errorf("Evaluate(nil policy) = %v, want NoMatch", got.Decision)
	}
	if got := Evaluate(req); got.Decision != NoMatch {
		t.Errorf("Evaluate(no policies) = %v, want NoMatch", got.Decision)
	}
}

// §3.2 item 18: NotAction with Allow is legal, and the linter says why it is
// dangerous.
func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Warning
	}{
		{"seed policy is clean", seedPolicy, nil},
		{"Allow with NotAction", stmtDoc(`{"Effect":"Allow","NotAction":"cr:PullRepository","Resource":"*"}`),
			[]Warning{{"Statement[0].NotAction", "Allow with NotAction grants every other action, including those of every other service"}}},
		{"Allow with NotResource", stmtDoc(allow(""), `{"Effect":"Allow","Action":"cr:*","NotResource":"acs:cr:*:*:instance/x"}`),
			[]Warning{{"Statement[1].NotResource", "Allow with NotResource grants every other resource, including those of other accounts"}}},
		{"Deny with NotAction is fine", stmtDoc(`{"Effect":"Deny","NotAction":"cr:PullRepository","Resource":"*"}`), nil},
		{"full access", stmtDoc(`{"Effect":"Allow","Action":"*","Resource":"*"}`),
			[]Warning{{"Statement[0]", `Allow of action "*" on resource "*" grants full access`}}},
		{"full access under a condition", stmtDoc(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"acs:MFAPresent":true}}}`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, Identity, tt.doc).Warnings()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Warnings() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
