package registry

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gorilla/mux"

	v2 "github.com/distribution/distribution/v3/registry/api/v2"

	"github.com/rolepull/rolepull/internal/acr"
)

// required is what a /v2 request needs from its token.
type required struct {
	typ, name string
	actions   []string
}

// requiredAccess derives a request's needs from its route and method, as
// distribution's own access controller does: reads need pull, writes pull
// and push, deletes delete, a cross-repository mount pull on the source,
// the catalog registry:catalog:*.
func requiredAccess(route string, vars map[string]string, r *http.Request) []required {
	switch route {
	case v2.RouteNameBase:
		return nil
	case v2.RouteNameCatalog:
		return []required{{"registry", "catalog", []string{"*"}}}
	}
	name := vars["name"]
	var need []required
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		need = append(need, required{"repository", name, []string{"pull"}})
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		need = append(need, required{"repository", name, []string{"pull", "push"}})
		if route == v2.RouteNameBlobUpload && r.Method == http.MethodPost {
			if from := r.URL.Query().Get("from"); from != "" && r.URL.Query().Get("mount") != "" {
				need = append(need, required{"repository", from, []string{"pull"}})
			}
		}
	case http.MethodDelete:
		need = append(need, required{"repository", name, []string{"delete"}})
	default:
		need = append(need, required{"repository", name, []string{"*"}}) // unknown methods need everything
	}
	return need
}

// serveV2 authorizes a /v2 request against its bearer token and hands it to
// the instance's engine.
func (s *Server) serveV2(w http.ResponseWriter, r *http.Request, t acr.Target, src netip.Addr) {
	var m mux.RouteMatch
	if !s.router.Match(r, &m) || m.Route == nil {
		writeRegistryError(w, http.StatusNotFound, "NAME_UNKNOWN", "no such registry API route")
		return
	}
	route := m.Route.GetName()
	need := requiredAccess(route, m.Vars, r)

	inst := t.Instance
	if t.Legacy {
		if route == v2.RouteNameCatalog {
			writeRegistryError(w, http.StatusNotFound, "UNSUPPORTED", "the shared legacy domain has no catalog; use the instance's own domain")
			return
		}
		if route != v2.RouteNameBase {
			ns, _, ok := splitRepo(m.Vars["name"])
			var err error
			if ok {
				inst, err = s.acr.ResolveLegacy(r.Context(), t.Region, ns)
			}
			if !ok || err != nil {
				writeRegistryError(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("no Personal instance in %s serves %q", t.Region, m.Vars["name"]))
				return
			}
			if ok, why := s.reachable(r.Context(), t, inst, src); !ok {
				s.refuse(w, r, t, src, why)
				return
			}
		}
	}

	aud := audience(t)
	authz := r.Header.Get("Authorization")
	raw, isBearer := strings.CutPrefix(authz, "Bearer ")
	if !isBearer || raw == "" {
		s.challenge(w, r, t, need, "", "authentication required: get a token from the realm (docker login with a temporary password from GetAuthorizationToken)")
		return
	}
	c, err := s.tokens.verify(raw, aud)
	if err != nil {
		s.challenge(w, r, t, need, "invalid_token", err.Error())
		return
	}
	for _, n := range need {
		if !c.allows(n.typ, n.name, n.actions...) {
			msg := fmt.Sprintf("%s is not granted %s on %s %q", c.Subject, strings.Join(n.actions, ","), n.typ, n.name)
			if why := s.denialFor(c.Subject, aud, n.typ, n.name); why != "" {
				msg += ": " + why
			}
			s.challenge(w, r, t, need, "insufficient_scope", msg)
			return
		}
	}
	if route == v2.RouteNameBase && t.Legacy {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
		return
	}
	app, err := s.engine.app(r.Context(), inst.InstanceID)
	if err != nil {
		s.log.Error("engine", "instance", inst.InstanceID, "err", err)
		writeRegistryError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "the instance's storage is unavailable")
		return
	}
	r.Header.Del("Authorization") // the engine has no use for it
	if route == v2.RouteNameManifest && r.Method == http.MethodPut && !checkManifestPut(w, r) {
		return
	}
	if !checkPaging(w, route, r.URL) || !checkUploadRange(w, route, r) {
		return
	}
	switch {
	case route == v2.RouteNameBlob && r.Method == http.MethodGet:
		s.stats.BlobGets.Add(1)
	case route == v2.RouteNameManifest && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.stats.ManifestGets.Add(1)
	}
	app.handler.ServeHTTP(w, r)
}

// challenge answers 401 with a Bearer challenge whose realm is on the very
// host the client asked (clients refuse cross-host realms).
func (s *Server) challenge(w http.ResponseWriter, r *http.Request, t acr.Target, need []required, errCode, msg string) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	realm := scheme + "://" + r.Host + "/token"
	h := fmt.Sprintf(`Bearer realm=%q,service=%q`, realm, audience(t))
	if len(need) > 0 {
		var scopes []string
		for _, n := range need {
			scopes = append(scopes, n.typ+":"+n.name+":"+strings.Join(n.actions, ","))
		}
		h += fmt.Sprintf(`,scope=%q`, strings.Join(scopes, " "))
	}
	if errCode != "" {
		h += fmt.Sprintf(`,error=%q`, errCode)
	}
	w.Header().Set("WWW-Authenticate", h)
	writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", msg)
}
