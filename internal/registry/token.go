package registry

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/ram"
)

// credential is who asked for a token, for one instance.
type credential struct {
	id      ram.Identity
	expires time.Time // zero: a long-term key
}

// audience is the service a host's tokens are for: the instance, or the
// region's legacy shared domain.
func audience(t acr.Target) string {
	if t.Legacy {
		return "legacy:" + t.Region
	}
	return t.Instance.InstanceID
}

// serveToken is the Docker token endpoint (GET with Basic auth, or the
// OAuth2 password grant by POST).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, t acr.Target, src netip.Addr) {
	ctx := r.Context()
	var scopes []string
	user, pass, hasAuth := r.BasicAuth()
	switch r.Method {
	case http.MethodGet:
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			// Query() would drop it all silently (a malformed pair, or
			// more parameters than net/url takes) and grant nothing.
			tokenError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("the query is malformed: %v", err))
			return
		}
		scopes = q["scope"]
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
		if err != nil || len(body) > 64<<10 {
			tokenError(w, http.StatusBadRequest, "invalid_request", "the form body is unreadable or larger than 64 KiB")
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_request", "the form body is malformed")
			return
		}
		if gt := form.Get("grant_type"); gt != "password" {
			tokenError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q: rolepull supports the password grant (or GET with Basic auth)", gt))
			return
		}
		user, pass, hasAuth = form.Get("username"), form.Get("password"), true
		scopes = form["scope"]
	default:
		tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET (Basic auth) or POST (OAuth2 password grant)")
		return
	}
	var parsed []Scope
	for _, raw := range scopes {
		for _, one := range strings.Fields(raw) { // OAuth2 joins scopes with spaces
			if len(parsed) == MaxScopes {
				tokenError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("more than %d scopes in one request", MaxScopes))
				return
			}
			sc, err := ParseScope(one)
			if err != nil {
				tokenError(w, http.StatusBadRequest, "invalid_scope", err.Error())
				return
			}
			parsed = append(parsed, sc)
		}
	}
	if hasAuth && len(user)+len(pass) > MaxTokenBytes {
		tokenError(w, http.StatusBadRequest, "invalid_request", "credentials larger than 8 KiB")
		return
	}

	creds := map[string]*credential{} // per instance, for the legacy domain
	getCred := func(inst acr.Instance) (*credential, error) {
		if !hasAuth {
			return nil, nil
		}
		if c, ok := creds[inst.InstanceID]; ok {
			return c, nil
		}
		c, err := s.authenticate(ctx, user, pass, inst)
		if err != nil {
			return nil, err
		}
		creds[inst.InstanceID] = c
		return c, nil
	}
	// Authenticate up front against the host's instance so that a wrong
	// password fails as a 401 even when no scope is asked (docker login).
	var subject = "anonymous"
	ttl := TokenTTL
	if hasAuth && !t.Legacy {
		c, err := getCred(t.Instance)
		if err != nil {
			s.audit.Info("registry login failed", "host", t.Host, "instance", t.Instance.InstanceID, "source", src.String(), "user", user, "reason", err.Error())
			tokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", err.Error())
			return
		}
		subject = c.id.ARN()
	}

	var granted []Access
	for _, sc := range parsed {
		inst, err := s.scopeInstance(ctx, t, sc, src)
		if err != nil {
			s.rememberDenial(subject, audience(t), sc, err.Error())
			continue
		}
		c, err := getCred(inst)
		if err != nil {
			s.audit.Info("registry login failed", "host", t.Host, "instance", inst.InstanceID, "user", user, "reason", err.Error())
			tokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", err.Error())
			return
		}
		if c != nil {
			subject = c.id.ARN()
			if !c.expires.IsZero() && c.expires.Sub(s.clock.Now()) < ttl {
				ttl = c.expires.Sub(s.clock.Now())
			}
		}
		actions, denied := s.decide(ctx, inst, c, sc)
		if len(actions) > 0 {
			granted = append(granted, Access{Type: sc.Type, Name: sc.Name, Actions: actions})
		}
		if denied != "" {
			s.rememberDenial(subject, audience(t), sc, denied)
			s.audit.Info("registry scope denied", "caller", subject, "instance", inst.InstanceID, "scope", sc.String(), "granted", strings.Join(actions, ","), "reason", denied)
		}
	}
	if ttl < time.Second {
		tokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", "the credentials expire within a second; get a new temporary password")
		return
	}
	tok, exp, err := s.tokens.issue(subject, audience(t), granted, ttl)
	if err != nil {
		s.log.Error("sign token", "err", err)
		tokenError(w, http.StatusInternalServerError, "server_error", "could not sign the token")
		return
	}
	s.stats.Tokens.Add(1)
	now := s.clock.Now().UTC()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"token": tok, "access_token": tok,
		"expires_in": int(exp.Sub(now.Truncate(time.Second)).Seconds()),
		"issued_at":  now.Format(time.RFC3339),
	})
}

func tokenError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"error": code, "error_description": msg,
		"errors": []map[string]string{{"code": "UNAUTHORIZED", "message": msg}},
	})
}

// authenticate checks Basic credentials for one instance: a temporary
// password (any user name), or an AccessKey pair — AccessKeyId as the user
// and AccessKeySecret as the password, or for STS credentials
// "AccessKeySecret:SecurityToken".
func (s *Server) authenticate(ctx context.Context, user, pass string, inst acr.Instance) (*credential, error) {
	if acr.IsTempPassword(pass) {
		id, exp, err := s.acr.VerifyTempPassword(pass, inst.InstanceID)
		switch {
		case errors.Is(err, acr.ErrPasswordExpired):
			return nil, fmt.Errorf("the temporary password expired at %s: get a new one (GetAuthorizationToken)", exp.Format(time.RFC3339))
		case errors.Is(err, acr.ErrPasswordInstance):
			return nil, fmt.Errorf("the temporary password was issued for another instance than %s", inst.InstanceID)
		case err != nil:
			return nil, errors.New("the temporary password is not valid")
		}
		return &credential{id: id, expires: exp}, nil
	}
	secret, token := pass, ""
	if strings.HasPrefix(user, "STS.") {
		secret, token, _ = strings.Cut(pass, ":")
	}
	id, want, err := s.authn.Authenticate(ctx, user, token)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		return nil, errors.New("wrong user name or password: use the temporary password of GetAuthorizationToken, or an AccessKey")
	}
	return &credential{id: id, expires: id.Expiration}, nil
}

// scopeInstance finds the instance a scope concerns: the host's, or on the
// legacy shared domain the Personal instance owning the namespace — which
// must then be reachable from src.
func (s *Server) scopeInstance(ctx context.Context, t acr.Target, sc Scope, src netip.Addr) (acr.Instance, error) {
	if !t.Legacy {
		return t.Instance, nil
	}
	ns, _, ok := splitRepo(sc.Name)
	if sc.Type != "repository" || !ok {
		return acr.Instance{}, fmt.Errorf("on %s only repository scopes NAMESPACE/REPO are served", t.Host)
	}
	inst, err := s.acr.ResolveLegacy(ctx, t.Region, ns)
	if err != nil {
		return acr.Instance{}, err
	}
	if ok, why := s.reachable(ctx, t, inst, src); !ok {
		return acr.Instance{}, errors.New(why)
	}
	return inst, nil
}

// RAM actions a registry scope needs.
var scopeActions = map[string]string{
	"pull":   "cr:PullRepository",
	"push":   "cr:PushRepository",
	"delete": "cr:DeleteRepositoryTag",
}

// decide grants the subset of a scope's actions that RAM allows the
// credential (nil: anonymous) on the instance, and says why the rest were
// denied.
func (s *Server) decide(ctx context.Context, inst acr.Instance, c *credential, sc Scope) ([]string, string) {
	instARN := arn.Registry{Region: inst.Region, Account: inst.Account, Instance: inst.InstanceID}.InstanceARN()
	var granted, reasons []string
	deny := func(action, why string) { reasons = append(reasons, action+": "+why) }
	ask := func(action string, resources ...string) bool {
		if c == nil {
			deny(action, "anonymous access: log in with a temporary password (GetAuthorizationToken)")
			return false
		}
		d, err := s.authz.Authorize(ctx, c.id, ram.Request{Action: action, Resources: resources})
		if err != nil {
			s.log.Error("authorize scope", "err", err)
			deny(action, "authorization failed")
			return false
		}
		if !d.Allowed {
			deny(action, d.Reason)
		}
		return d.Allowed
	}
	switch {
	case sc.Type == "registry" && sc.Name == "catalog":
		if ask("cr:ListRepository", instARN) {
			granted = append(granted, "*")
		}
		return granted, strings.Join(reasons, "; ")
	case sc.Type != "repository":
		return nil, fmt.Sprintf("scope type %q is not served", sc.Type)
	}
	ns, name, ok := splitRepo(sc.Name)
	if !ok || !arn.IsNamespace(ns) || !arn.IsNamespace(name) {
		return nil, fmt.Sprintf("%q is not a repository of the form NAMESPACE/REPO", sc.Name)
	}
	repoARN := arn.Registry{Region: inst.Region, Account: inst.Account, Instance: inst.InstanceID, Namespace: ns, Repo: name}.RepositoryARN()
	repo, repoErr := s.acr.GetRepository(ctx, inst.InstanceID, ns, name)
	actions := sc.Actions
	if len(actions) == 1 && actions[0] == "*" {
		actions = []string{"pull", "push", "delete"}
	}
	for _, a := range actions {
		switch a {
		case "pull":
			if repoErr == nil && repo.RepoType == acr.RepoPublic && inst.Enterprise() {
				granted = append(granted, a) // a public repository: anyone may pull
				continue
			}
			if ask(scopeActions[a], repoARN, instARN) {
				granted = append(granted, a)
			}
		case "push":
			if !ask(scopeActions[a], repoARN, instARN) {
				continue
			}
			if _, err := s.acr.EnsureRepository(ctx, inst, ns, name); err != nil {
				deny(a, err.Error())
				continue
			}
			granted = append(granted, a)
		case "delete":
			if ask(scopeActions[a], repoARN, instARN) {
				granted = append(granted, a)
			}
		}
	}
	return granted, strings.Join(reasons, "; ")
}

// denials remembers why scopes were refused, so that the 401 a client gets
// at /v2 can say why — RAM's reason, not just "unauthorized".
type denials struct {
	mu sync.Mutex
	m  map[string]string
}

const maxDenials = 4096

func (s *Server) rememberDenial(subject, aud string, sc Scope, why string) {
	s.denied.mu.Lock()
	defer s.denied.mu.Unlock()
	if s.denied.m == nil || len(s.denied.m) >= maxDenials {
		s.denied.m = make(map[string]string)
	}
	s.denied.m[subject+"\x00"+aud+"\x00"+sc.Type+":"+sc.Name] = why
}

func (s *Server) denialFor(subject, aud, typ, name string) string {
	s.denied.mu.Lock()
	defer s.denied.mu.Unlock()
	return s.denied.m[subject+"\x00"+aud+"\x00"+typ+":"+name]
}
