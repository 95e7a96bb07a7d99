package stsapi_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/store/bolt"
	"github.com/rolepull/rolepull/internal/sts"
	"github.com/rolepull/rolepull/internal/stsapi"
)

// inProcess carries a client's requests straight to a handler: the whole
// OpenAPI path (signature, nonce, parameters, RAM, STS) without sockets,
// so a fuzz target can afford it.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	r = r.Clone(r.Context())
	r.RemoteAddr = "192.0.2.10:40000"
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// corpusWorld is the account the corpus file describes.
type corpusWorld struct {
	uid    string
	ram    *ram.Service
	sts    *sts.Service
	alice  ram.Identity // the RAM user the client signs as
	target ram.Role
	client *openapi.Client
	// newServer makes a fresh OpenAPI server over the same RAM and STS,
	// whose nonce memory is empty.
	newServer func() http.Handler
}

const guardedExternalID = "abcd-1234"

func newCorpusWorld(t testing.TB) *corpusWorld {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	r, err := ram.New(st, keys, ram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := sts.New(r, keys, sts.Options{})
	ctx := context.Background()
	acct, err := r.CreateAccount(ctx, "corpus")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateUser(ctx, acct.ID, ram.User{UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := r.AttachPolicy(ctx, acct.ID, ram.System, "AliyunSTSAssumeRoleAccess", ram.ToUser, "alice"); err != nil {
		t.Fatal(err)
	}
	k, secret, err := r.CreateAccessKey(ctx, acct.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	root := `"Principal":{"RAM":["acs:ram::` + acct.ID + `:root"]}`
	var target ram.Role
	for _, in := range []ram.RoleInput{
		{RoleName: "target", MaxSessionDuration: 7200,
			AssumeRolePolicyDocument: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",` + root + `}]}`},
		{RoleName: "guarded",
			AssumeRolePolicyDocument: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",` + root +
				`,"Condition":{"StringEquals":{"sts:ExternalId":"` + guardedExternalID + `"}}}]}`},
	} {
		role, err := r.CreateRole(ctx, acct.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if in.RoleName == "target" {
			target = role
		}
	}
	newServer := func() http.Handler {
		srv := openapi.NewServer(s, r, openapi.Options{})
		stsapi.Register(srv, s, r)
		return srv
	}
	return &corpusWorld{uid: acct.ID, ram: r, sts: s, target: target, newServer: newServer,
		alice: ram.Identity{Kind: ram.KindUser, Account: acct.ID, UserName: "alice"}, client: &openapi.Client{
			Endpoint: "http://sts.test", AccessKeyID: k.AccessKeyID, AccessKeySecret: secret,
			HTTP: &http.Client{Transport: inProcess{newServer()}},
		}}
}

type assumeOut struct {
	Credentials     struct{ AccessKeyId, AccessKeySecret, SecurityToken, Expiration string }
	AssumedRoleUser struct{ Arn, AssumedRoleId string }
}

// assume calls AssumeRole with the parameters that are present.
func (w *corpusWorld) assume(params map[string]string) (assumeOut, error) {
	var out assumeOut
	err := w.client.Do(context.Background(), stsapi.Version, "AssumeRole", params, &out)
	return out, err
}

// corpusCase is one line of testdata/assume_role.txt.
type corpusCase struct {
	line   int
	want   string // "ok" or an error Code
	params map[string]string
}

var repField = regexp.MustCompile(`^\{rep:([0-9]+):(.)\}$`)

func readCorpus(t testing.TB, uid string) []corpusCase {
	t.Helper()
	f, err := os.Open("testdata/assume_role.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := []string{"RoleArn", "RoleSessionName", "DurationSeconds", "ExternalId", "Policy"}
	var cases []corpusCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 1+len(names) {
			t.Fatalf("testdata/assume_role.txt:%d: %d columns, want %d", n, len(cols), 1+len(names))
		}
		c := corpusCase{line: n, want: cols[0], params: map[string]string{}}
		for i, v := range cols[1:] {
			if v == "-" {
				continue
			}
			if strings.HasPrefix(v, `"`) {
				if v, err = strconv.Unquote(v); err != nil {
					t.Fatalf("testdata/assume_role.txt:%d: column %s: %v", n, names[i], err)
				}
			} else if m := repField.FindStringSubmatch(v); m != nil {
				count, _ := strconv.Atoi(m[1])
				v = strings.Repeat(m[2], count)
			}
			c.params[names[i]] = strings.ReplaceAll(v, "{uid}", uid)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestAssumeRoleCorpus is reliability.md §3.3 (items 32–34) through the
// signed OpenAPI path: every refused input gets its vendor code and none
// is clamped or silently fixed; every accepted one is checked as the fuzz
// target checks it.
func TestAssumeRoleCorpus(t *testing.T) {
	w := newCorpusWorld(t)
	for _, c := range readCorpus(t, w.uid) {
		t.Run(strconv.Itoa(c.line), func(t *testing.T) {
			before := time.Now()
			out, err := w.assume(c.params)
			if c.want == "ok" {
				if err != nil {
					t.Fatalf("line %d %q: %v, want success", c.line, c.params, err)
				}
				if why := w.wrongSuccess(c.params, out, before); why != "" {
					t.Fatalf("line %d %q: %s", c.line, c.params, why)
				}
				return
			}
			var ae *openapi.Error
			if !errors.As(err, &ae) || ae.Code != c.want {
				t.Fatalf("line %d %q: %v, want %s", c.line, c.params, err, c.want)
			}
		})
	}
}

var sessionName = regexp.MustCompile(`^[A-Za-z0-9.@_-]{2,64}$`)

// wrongSuccess says what is wrong with an AssumeRole that succeeded, or
// "" when every rule of the corpus's account holds: a role that exists,
// a valid session name, a duration in range sent as plain digits (3600
// when absent), the ExternalId the guarded role's trust names, a session
// policy within its cap, and credentials that are what they claim.
func (w *corpusWorld) wrongSuccess(p map[string]string, out assumeOut, before time.Time) string {
	name, _ := strings.CutPrefix(p["RoleArn"], "acs:ram::"+w.uid+":role/")
	role := strings.ToLower(name) // role names are unique case-insensitively
	maxDur := 3600
	switch role {
	case "target":
		maxDur = 7200
	case "guarded":
		if p["ExternalId"] != guardedExternalID {
			return "the guarded role was assumed without its ExternalId"
		}
	default:
		return "a role that does not exist, or another account's, was assumed"
	}
	if !sessionName.MatchString(p["RoleSessionName"]) {
		return "an invalid RoleSessionName was accepted"
	}
	d := 3600
	if s, ok := p["DurationSeconds"]; ok {
		if strings.Trim(s, "0123456789") != "" || s == "" {
			return "a DurationSeconds that is not plain digits was accepted"
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 900 || n > maxDur {
			return "a DurationSeconds out of range was accepted (clamped?)"
		}
		d = n
	}
	if len(p["Policy"]) > 2048 {
		return "a session policy over 2,048 bytes was accepted"
	}
	exp, err := time.Parse(time.RFC3339, out.Credentials.Expiration)
	if err != nil {
		return "Expiration " + out.Credentials.Expiration + " does not parse"
	}
	lo, hi := before.Add(time.Duration(d)*time.Second-time.Second), time.Now().Add(time.Duration(d)*time.Second)
	if exp.Before(lo) || exp.After(hi) {
		return "Expiration " + exp.String() + " is not " + strconv.Itoa(d) + " s from now"
	}
	if want := "acs:ram::" + w.uid + ":role/" + role + "/" + p["RoleSessionName"]; out.AssumedRoleUser.Arn != want {
		return "AssumedRoleUser.Arn " + out.AssumedRoleUser.Arn + ", want " + want
	}
	if !strings.HasPrefix(out.Credentials.AccessKeyId, "STS.") || out.Credentials.SecurityToken == "" || out.Credentials.AccessKeySecret == "" {
		return "credentials that are not an STS session's"
	}
	return ""
}

// FuzzAssumeRole sends AssumeRole with fuzzed parameters through the
// signed OpenAPI path, seeded from testdata/assume_role.txt. Never a 5xx;
// an error is always the vendor envelope with a code; a success obeys
// every rule wrongSuccess checks.
func FuzzAssumeRole(f *testing.F) {
	w := newCorpusWorld(f)
	for _, c := range readCorpus(f, w.uid) {
		p := c.params
		f.Add(p["RoleArn"], p["RoleSessionName"], p["DurationSeconds"], p["ExternalId"], p["Policy"])
	}
	calls := 0
	f.Fuzz(func(t *testing.T, roleArn, session, duration, externalID, policy string) {
		// One AccessKey's nonce memory holds 128 Ki requests of the last
		// 15 minutes; a long run sends more, so it moves to a fresh
		// server (same accounts) before that memory fills.
		if calls++; calls%100_000 == 0 {
			w.client.HTTP = &http.Client{Transport: inProcess{w.newServer()}}
		}
		p := map[string]string{}
		for k, v := range map[string]string{"RoleArn": roleArn, "RoleSessionName": session, "DurationSeconds": duration, "ExternalId": externalID, "Policy": policy} {
			if v != "" {
				p[k] = v
			}
		}
		before := time.Now()
		out, err := w.assume(p)
		if err != nil {
			var ae *openapi.Error
			if !errors.As(err, &ae) || ae.Code == "" || ae.Status >= 500 {
				t.Fatalf("AssumeRole %q: %v (want a 4xx with a vendor code)", p, err)
			}
			return
		}
		if why := w.wrongSuccess(p, out, before); why != "" {
			t.Fatalf("AssumeRole %q succeeded: %s", p, why)
		}
	})
}
