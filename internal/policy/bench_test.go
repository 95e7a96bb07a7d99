package policy

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkMatchAdversarial is reliability.md §2 item 22: 1,000 stars
// against 64 KiB, which a backtracking matcher never finishes. "brief" is
// the input exactly as specified; the tail check rejects it at once, so the
// other cases make the piece search do the work: "trailing-star" cannot be
// anchored, "match" succeeds after walking the whole subject.
func BenchmarkMatchAdversarial(b *testing.B) {
	cases := []struct {
		name, pattern, s string
		want             bool
	}{
		{"brief", adversarialPattern(), adversarialSubject(), false},
		{"trailing-star", adversarialPattern() + "*", adversarialSubject(), false},
		{"match", adversarialPattern(), adversarialSubject() + "b", true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				if Match(c.pattern, c.s) != c.want {
					b.Fatalf("Match = %v, want %v", !c.want, c.want)
				}
			}
		})
	}
}

// BenchmarkMatchWorstCase is the matcher's worst case: one star-free piece
// as long as the 1024-byte pattern cap allows, which the Shift-And scan
// reads 16 words at a time for every byte of the subject. It almost matches
// everywhere, which cost the old two-pointer matcher len(pattern)·len(s)
// comparisons; "question" spells the piece with wildcards.
func BenchmarkMatchWorstCase(b *testing.B) {
	b.Run("literal", func(b *testing.B) {
		benchmarkNoMatch(b, "*"+strings.Repeat("a", maxPatternBytes-3)+"b*", adversarialSubject())
	})
	b.Run("question", func(b *testing.B) {
		benchmarkNoMatch(b, "*"+strings.Repeat("a?", (maxPatternBytes-4)/2)+"b*", adversarialSubject())
	})
}

func benchmarkNoMatch(b *testing.B, pattern, s string) {
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if Match(pattern, s) {
			b.Fatal("worst-case pattern matched")
		}
	}
}

// BenchmarkMatchTypical is the matcher on the actions and ARNs policies
// are made of, where constant costs dominate.
func BenchmarkMatchTypical(b *testing.B) {
	arn := "acs:cr:cn-hangzhou:1609982529000000:repository/cri-nwj395hgf6f30000/ns/repo"
	cases := []struct {
		name, pattern, s string
		want             bool
	}{
		{"action", "cr:Pull*", "cr:PullRepository", true},
		{"action-miss", "cr:Push*", "cr:PullRepository", false},
		{"resource", "acs:cr:*:*:repository/cri-nwj395hgf6f30000/*", arn, true},
		{"resource-question", "acs:cr:*:1609982529000000:repository/cri-*/ns-?/*", arn, false},
		{"resource-inner", "acs:cr:*:*:repository/*/ns/*", arn, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if Match(c.pattern, c.s) != c.want {
					b.Fatalf("Match = %v, want %v", !c.want, c.want)
				}
			}
		})
	}
}

// tenPolicies builds a realistic attachment set: 10 policies of 10
// statements mixing ACR and RAM actions, literal and wildcard resources,
// one Deny and one condition per policy.
func tenPolicies(b *testing.B) []Named {
	b.Helper()
	var set []Named
	for p := range 10 {
		var stmts []string
		for s := range 10 {
			inst := fmt.Sprintf("cri-%02d%02d", p, s)
			switch s {
			case 0:
				stmts = append(stmts, `{"Effect":"Allow","Action":["cr:Get*","cr:List*"],"Resource":"*"}`)
			case 1:
				stmts = append(stmts, `{"Effect":"Deny","Action":"cr:Delete*","Resource":"acs:cr:*:*:repository/`+inst+`/*"}`)
			case 2:
				stmts = append(stmts, `{"Effect":"Allow","Action":"cr:PullRepository","Resource":"acs:cr:cn-hangzhou:`+acctA+`:repository/`+inst+`/*",`+
					`"Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]},"Bool":{"acs:SecureTransport":"true"}}}`)
			case 3:
				stmts = append(stmts, `{"Effect":"Allow","Action":["ram:GetRole","ram:ListRoles"],"Resource":"acs:ram::`+acctA+`:role/*"}`)
			case 4:
				stmts = append(stmts, `{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram:*:`+acctB+`:role/role-acr-`+inst+`"}`)
			default:
				stmts = append(stmts, `{"Effect":"Allow","Action":["cr:Pull*","cr:Push*"],"Resource":["acs:cr:*:`+acctA+`:instance/`+inst+`","acs:cr:*:`+acctA+`:repository/`+inst+`/ns-?/*"]}`)
			}
		}
		pol, err := Parse(Identity, []byte(stmtDoc(stmts...)))
		if err != nil {
			b.Fatal(err)
		}
		set = append(set, Named{Name: fmt.Sprintf("policy-%d", p), Policy: pol})
	}
	return set
}

func BenchmarkEvaluate10x10(b *testing.B) {
	set := tenPolicies(b)
	reqs := []Request{
		{Action: "cr:PullRepository", Resources: []string{repositoryARN(acctA, "cri-0909", "ns-a", "web"), instanceARN(acctA, "cri-0909")}},
		{Action: "cr:PullRepository", Resources: []string{repositoryARN(acctA, "cri-9999", "ns", "web"), instanceARN(acctA, "cri-9999")},
			Context: map[string][]string{"acs:SourceIp": {"10.1.2.3"}, "acs:SecureTransport": {"true"}}},
		{Action: "cr:DeleteRepository", Resources: []string{repositoryARN(acctA, "cri-0301", "ns", "web")}},
		{Action: "cr:GetAuthorizationToken", Resources: []string{"*"}},
	}
	wants := []Decision{Allowed, NoMatch, Denied, Allowed}
	for i, req := range reqs {
		if got := Evaluate(req, set...).Decision; got != wants[i] {
			b.Fatalf("request %d = %v, want %v", i, got, wants[i])
		}
	}
	n := 0
	for b.Loop() {
		Evaluate(reqs[n%len(reqs)], set...)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "decisions/s")
}

func BenchmarkParseSeed(b *testing.B) {
	doc := []byte(seedPolicy)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Parse(Identity, doc); err != nil {
			b.Fatal(err)
		}
	}
}
