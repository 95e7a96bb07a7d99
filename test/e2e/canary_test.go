package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/pull"
	"github.com/rolepull/rolepull/internal/ram"
)

// syncBuffer is a log sink shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// No secret at rest (reliability.md N4): every secret the system hands out
// or is handed during a run — AccessKey secrets, STS secrets and tokens,
// temporary passwords, registry bearer tokens, a user's registry password —
// is looked for in the data directory, the logs at debug level, the audit
// log, object statuses, events and error messages. None may appear.
func TestNoSecretAtRest(t *testing.T) {
	logs := &syncBuffer{}
	w := newWorldWith(t, func(c *node.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.AuditStderr = logs
	})
	ctx := t.Context()
	var canaries []string
	keep := func(what, s string) {
		if len(s) < 8 {
			t.Fatalf("%s is too short to be a useful canary: %q", what, s)
		}
		canaries = append(canaries, s)
	}

	// A RAM user's AccessKey, used to assume a role over the OpenAPI.
	if _, err := w.n.RAM.CreateUser(ctx, w.a, ram.User{UserName: "canary"}); err != nil {
		t.Fatal(err)
	}
	if err := w.n.RAM.AttachPolicy(ctx, w.a, ram.System, "AliyunSTSAssumeRoleAccess", ram.ToUser, "canary"); err != nil {
		t.Fatal(err)
	}
	k, secret, err := w.n.RAM.CreateAccessKey(ctx, w.a, "canary")
	if err != nil {
		t.Fatal(err)
	}
	keep("AccessKeySecret", secret)
	role := w.role(w.a, "canary-puller", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::`+w.a+`:root"]}}]}`, "AliyunContainerRegistryFullAccess")
	user := &openapi.Client{Endpoint: w.n.OpenAPIURL(), AccessKeyID: k.AccessKeyID, AccessKeySecret: secret}
	var assumed struct {
		Credentials struct{ AccessKeyId, AccessKeySecret, SecurityToken string }
	}
	if err := user.Do(ctx, "2015-04-01", "AssumeRole", map[string]string{"RoleArn": role, "RoleSessionName": "canary"}, &assumed); err != nil {
		t.Fatal(err)
	}
	keep("STS AccessKeySecret", assumed.Credentials.AccessKeySecret)
	keep("SecurityToken", assumed.Credentials.SecurityToken)

	// A temporary password for an instance, got with the session, and a
	// registry bearer token got with the password.
	ee := w.instance(w.a, "cn-hangzhou", "canary", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	w.push(ee, host, "ns/app:1", 2)
	session := &openapi.Client{Endpoint: w.n.OpenAPIURL(), AccessKeyID: assumed.Credentials.AccessKeyId,
		AccessKeySecret: assumed.Credentials.AccessKeySecret, SecurityToken: assumed.Credentials.SecurityToken}
	var tok struct{ AuthorizationToken string }
	if err := session.Do(ctx, "2018-12-01", "GetAuthorizationToken", map[string]string{"InstanceId": ee.InstanceID}, &tok); err != nil {
		t.Fatal(err)
	}
	keep("temporary password", tok.AuthorizationToken)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/token?service="+ee.InstanceID+"&scope=repository:ns/app:pull", nil)
	req.SetBasicAuth(acr.TempUsername, tok.AuthorizationToken)
	resp, err := (&http.Client{Transport: w.hostTransport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var bearer struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&bearer)
	resp.Body.Close()
	keep("registry bearer token", bearer.Token)

	// A user's registry password, for a registry that is not ACR.
	const password = "CANARY-registry-password-4f1d"
	keep("imagePullSecret password", password)
	upstream := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "canary" || p != password {
			rw.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		upstream.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	other := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(512, 1)
	ref, _ := name.ParseReference(other+"/lib/app:1", name.Insecure)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "canary", Password: password})); err != nil {
		t.Fatal(err)
	}
	creds := []pull.Credential{{Server: other, Username: "canary", Password: password}}
	ok := w.expectReady(w.pod("with-secret", podSpec{images: []string{other + "/lib/app:1", host + "/ns/app:1"}, creds: creds}))
	bad := w.pod("wrong-secret", podSpec{images: []string{other + "/lib/app:1"}, creds: []pull.Credential{{Server: other, Username: "canary", Password: password + "-wrong"}}})
	w.expectFailure(bad, 0, pull.Permission)
	cache := w.settleCache(w.cache("canary-cache", []string{host + "/ns/app:1"}, nil).ID)

	// Refusals of requests that carry the secrets: their messages go back
	// to clients, and into their logs.
	var places []string
	var texts []string
	refusal := func(what string, err error) {
		if err == nil {
			t.Fatalf("%s was not refused", what)
		}
		places, texts = append(places, what), append(texts, err.Error())
	}
	wrongSecret := &openapi.Client{Endpoint: w.n.OpenAPIURL(), AccessKeyID: assumed.Credentials.AccessKeyId,
		AccessKeySecret: "not-the-secret", SecurityToken: assumed.Credentials.SecurityToken}
	refusal("a SignatureDoesNotMatch carrying a SecurityToken", wrongSecret.Do(ctx, "2015-04-01", "GetCallerIdentity", nil, nil))
	refusal("an AssumeRole refused for its parameters", session.Do(ctx, "2015-04-01", "AssumeRole", map[string]string{"RoleArn": role, "RoleSessionName": "x"}, nil))
	refusal("a GetAuthorizationToken of an unknown instance", session.Do(ctx, "2018-12-01", "GetAuthorizationToken", map[string]string{"InstanceId": "cri-0000000000000000"}, nil))
	for _, pw := range []string{tok.AuthorizationToken, tok.AuthorizationToken + "x"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/token?service="+ee.InstanceID+"&scope=repository:ns/app:push", nil)
		req.SetBasicAuth("someone", pw)
		resp, err := (&http.Client{Transport: w.hostTransport()}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		places, texts = append(places, "a token endpoint answer"), append(texts, string(b)+strings.Join(resp.Header.Values("WWW-Authenticate"), " "))
	}

	// Scan.
	filepath.WalkDir(w.data, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Base(p) {
		case "admin-profile.json", "master.key":
			return nil // the operator's own credential file and the key secrets derive from
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		places, texts = append(places, p), append(texts, string(b))
		return nil
	})
	places, texts = append(places, "logs"), append(texts, logs.String())
	for _, id := range []string{ok.ID, bad.ID, cache.ID} {
		evs, _ := w.n.ECI.Events(ctx, id)
		b, _ := json.Marshal(evs)
		places, texts = append(places, "events of "+id), append(texts, string(b))
	}
	for _, id := range []string{ok.ID, bad.ID} {
		g, _ := w.n.ECI.Get(ctx, "", id)
		b, _ := json.Marshal(g)
		places, texts = append(places, "status of "+id), append(texts, string(b))
	}
	c, _ := w.n.ECI.GetImageCache(ctx, "", cache.ID)
	b, _ := json.Marshal(c)
	places, texts = append(places, "status of "+cache.ID), append(texts, string(b))
	if len(logs.String()) == 0 {
		t.Fatal("no logs were captured: the scan would prove nothing")
	}
	for _, canary := range canaries {
		for i, text := range texts {
			if strings.Contains(text, canary) {
				t.Errorf("a secret (%.6s…) appears in %s", canary, places[i])
			}
		}
	}
	t.Logf("scanned %d places for %d secrets", len(texts), len(canaries))
}
