package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/kube"
	"github.com/rolepull/rolepull/internal/pull"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/sts"
)

// Cases of domain.md §4 beyond the seed's scenario table
// (scenarios_test.go): a credential that expires in the middle of a pull
// (case 9), a role without cr:GetAuthorizationToken (case 14), the legacy
// acr-instance-id annotation (case 5), and a pull across accounts from a
// Personal instance (the seed: "different accounts — any edition").

// in returns w reporting to t, for subtests that share one world.
func (w *world) in(t testing.TB) *world {
	c := *w
	c.t = t
	return &c
}

// expiringRegistry stands in front of the node's registry and makes
// credentials expire in the middle of a pull, through the registry's own
// refusals rather than forged answers. From the blob GET numbered expireAt
// on, blobRefusals blob GETs (every one, when negative) lose their bearer
// token, and the registry answers 401 with its challenge, as for an
// expired token; the token endpoint then refuses the passwords refuse
// says, spoilt so that the registry itself finds them invalid.
type expiringRegistry struct {
	next         http.Handler
	expireAt     int
	blobRefusals int
	refuse       refusal

	mu        sync.Mutex
	blobGets  int
	expired   bool
	before    map[string]bool // the passwords shown before the expiry
	passwords []string        // the password of every token request, in order
}

// refusal says which temporary passwords have expired with the token.
type refusal int

const (
	refuseNone refusal = iota // the password outlives the bearer token
	refuseOld                 // the passwords shown before have expired too
	refuseAll                 // every password, old or new, is refused
)

func (e *expiringRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/token":
		user, pass, ok := r.BasicAuth()
		e.mu.Lock()
		e.passwords = append(e.passwords, pass)
		spoil := false
		switch {
		case !e.expired:
			if e.before == nil {
				e.before = map[string]bool{}
			}
			e.before[pass] = true
		case e.refuse == refuseAll, e.refuse == refuseOld && e.before[pass]:
			spoil = ok
		}
		e.mu.Unlock()
		if spoil {
			r = r.Clone(r.Context())
			r.SetBasicAuth(user, pass+"-expired")
		}
	case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:"):
		e.mu.Lock()
		e.blobGets++
		if e.blobGets == e.expireAt {
			e.expired = true
		}
		strip := e.expired && e.blobRefusals != 0
		if strip && e.blobRefusals > 0 {
			e.blobRefusals--
		}
		e.mu.Unlock()
		if strip {
			r = r.Clone(r.Context())
			r.Header.Del("Authorization")
		}
	}
	e.next.ServeHTTP(w, r)
}

// distinctPasswords counts the temporary passwords the token endpoint was
// shown.
func (e *expiringRegistry) distinctPasswords() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	ps := slices.Clone(e.passwords)
	slices.Sort(ps)
	return len(slices.Compact(ps))
}

// countingAssumer counts role assumptions: every credential fetch walks
// the pod's chain once.
type countingAssumer struct {
	pull.Assumer
	assumed atomic.Int64
}

func (c *countingAssumer) AssumeRole(ctx context.Context, caller ram.Identity, in sts.AssumeRoleInput) (sts.Credentials, sts.AssumedRoleUser, error) {
	c.assumed.Add(1)
	return c.Assumer.AssumeRole(ctx, caller, in)
}

// eciBehind runs a second ECI service over the node's store, whose puller
// dials the registry through h and assumes roles through as. A failed pull
// would be retried only after an hour, so a pod that ends ImagesReady
// recovered within one pull.
func (w *world) eciBehind(h http.Handler, as pull.Assumer) (*eci.Service, *pull.Puller) {
	w.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	p := pull.New(w.n.ACR, w.n.RAM, as, w.n.Net, w.n.Content, pull.Options{RegistryAddr: ln.Addr().String()})
	svc := eci.New(w.n.Store, w.n.RAM, w.n.Net, p, w.n.Content, w.n.Keys, eci.Options{Backoff: time.Hour, MaxBackoff: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		cancel()
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		cancel()
		svc.Wait()
		p.Close()
		srv.Close()
	})
	return svc, p
}

// Case 9: a bearer token or a temporary password that expires in the
// middle of a pull is renewed once, and the pull goes on; a password the
// registry keeps refusing is renewed once, not in a loop, and the pod
// fails as a permission failure.
func TestCredentialsExpireMidPull(t *testing.T) {
	for _, tc := range []struct {
		name         string
		blobRefusals int
		refuse       refusal
		fetches      int // credential fetches: AssumeRole walks, cache misses, passwords shown
		ready        bool
	}{
		{"bearer token expires", 1, refuseNone, 1, true},
		{"temporary password expires", 1, refuseOld, 2, true},
		{"password refused for good", -1, refuseAll, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			ee := w.instance(w.a, "cn-hangzhou", "expiring", acr.SpecEnterpriseStandard, true)
			host := ee.PublicHost(acr.DefaultBase)
			image := host + "/eci_test/app:1"
			w.push(ee, host, "eci_test/app:1", 4)
			// Blob 1 is the config; blob 2 a layer, after the manifest and
			// config are stored: the middle of the pull.
			reg := &expiringRegistry{next: w.n.Registry, expireAt: 2, blobRefusals: tc.blobRefusals, refuse: tc.refuse}
			as := &countingAssumer{Assumer: w.n.STS}
			svc, p := w.eciBehind(reg, as)
			g, err := svc.Create(t.Context(), eci.CreateInput{Account: w.a, Region: "cn-hangzhou", Name: "expiring",
				Containers: []eci.Container{{Name: "c0", Image: image}}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.ready {
				g = w.expectReady(g)
				if id := g.ContainerStatuses[0].Identity; !strings.Contains(id, "AliyunServiceRoleForECI") {
					t.Errorf("identity %q, want the service-linked role", id)
				}
				ev := w.events(g.ID)
				for _, bad := range []string{"ErrImagePull", "Unauthorized", "BackOff", "Failed"} {
					if strings.Contains(ev, bad) {
						t.Errorf("the pull recovered through a retry of the pod (%s), not within the pull:\n%s", bad, ev)
					}
				}
				if n := strings.Count(ev, "Normal Pulled:"); n != 1 {
					t.Errorf("%d Pulled events, want 1:\n%s", n, ev)
				}
			} else {
				w.expectFailure(g, 0, pull.Permission, "refused the temporary password", "also a freshly issued one", image)
			}
			reg.mu.Lock()
			expired := reg.expired
			reg.mu.Unlock()
			if !expired {
				t.Fatal("the pull never reached the blob whose token expires: the test exercised nothing")
			}
			if n := as.assumed.Load(); n != int64(tc.fetches) {
				t.Errorf("the chain was assumed %d times, want %d", n, tc.fetches)
			}
			if _, misses := p.CacheStats(); misses != tc.fetches {
				t.Errorf("CacheStats misses = %d, want %d", misses, tc.fetches)
			}
			if n := reg.distinctPasswords(); n != tc.fetches {
				t.Errorf("the token endpoint was shown %d distinct passwords, want %d", n, tc.fetches)
			}
		})
	}
}

// Case 14: a role that may pull (cr:Pull*) but not call
// cr:GetAuthorizationToken fails as a permission failure naming the action,
// and the service-linked role is never used in its place; with no
// annotations at all, the service-linked role pulls.
func TestRoleWithoutGetAuthorizationToken(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "notoken", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	image := host + "/eci_test/nginx:1.0"
	w.push(ee, host, "eci_test/nginx:1.0", 2)
	ctx := t.Context()
	tokens := w.n.Registry.Stats().Tokens.Load()
	for _, tc := range []struct{ name, role, doc string }{
		{"pull only", "pull-only", `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Pull*","cr:List*"],"Resource":"*"}]}`},
		{"explicit deny", "token-denied", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"},{"Effect":"Deny","Action":"cr:GetAuthorizationToken","Resource":"*"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			w.policy(w.a, tc.role+"-policy", tc.doc)
			role := w.role(w.a, tc.role, eciTrust, tc.role+"-policy")
			g := w.pod(tc.role, podSpec{images: []string{image}, chains: []pull.Chain{{Service: role}}})
			cs := w.expectFailure(g, 0, pull.Permission, "cr:GetAuthorizationToken", role, ee.InstanceID)
			if strings.Contains(cs.Message, "AliyunServiceRoleForECI") || strings.Contains(cs.Identity, "AliyunServiceRoleForECI") {
				t.Errorf("the service-linked role stood in for %s:\nidentity %q\nmessage %s", tc.role, cs.Identity, cs.Message)
			}
			if ev := w.events(g.ID); strings.Contains(ev, "AliyunServiceRoleForECI") || !strings.Contains(ev, "as "+pull.ECIService+" → "+role) {
				t.Errorf("the events do not show a pull as %s alone:\n%s", role, ev)
			}
		})
	}
	// No fallback was even attempted: the service-linked role was never
	// created, and the registry issued no token to anyone.
	var re *ram.Error
	if _, err := w.n.RAM.GetRole(ctx, w.a, ram.ECIServiceLinkedRole.RoleName); !errors.As(err, &re) || !errors.Is(err, ram.ErrNotFound) {
		t.Errorf("GetRole(%s) = %v, want not found: the service-linked role was used", ram.ECIServiceLinkedRole.RoleName, err)
	}
	if n := w.n.Registry.Stats().Tokens.Load(); n != tokens {
		t.Errorf("the registry issued %d tokens to pods refused GetAuthorizationToken", n-tokens)
	}
	// Without annotations the service-linked role pulls, though no
	// customer role of the account may.
	g := w.expectReady(w.pod("no-annotations", podSpec{images: []string{image}}))
	if id := g.ContainerStatuses[0].Identity; id != pull.ECIService+" → acs:ram::"+w.a+":role/"+ram.ECIServiceLinkedRole.RoleName {
		t.Errorf("identity %q, want the service-linked role", id)
	}
}

// Case 5: the legacy singular k8s.aliyun.com/acr-instance-id lists one
// instance as acr-instance-ids does, so its custom domain pulls
// secret-free; two ids in it are refused with the annotation to use.
func TestLegacyInstanceIDAnnotation(t *testing.T) {
	w := newWorld(t)
	x := w.instance(w.a, "cn-hangzhou", "legacyx", acr.SpecEnterpriseStandard, true)
	y := w.instance(w.a, "cn-hangzhou", "legacyy", acr.SpecEnterpriseStandard, true)
	for _, d := range []struct {
		inst acr.Instance
		host string
	}{{x, "x.legacy.example.com"}, {y, "y.legacy.example.com"}} {
		if _, err := w.n.ACR.AddDomain(t.Context(), w.a, d.inst.InstanceID, d.host); err != nil {
			t.Fatal(err)
		}
		w.push(d.inst, d.host, "eci_test/nginx:1.0", 1)
	}
	xImg, yImg := "x.legacy.example.com/eci_test/nginx:1.0", "y.legacy.example.com/eci_test/nginx:1.0"
	pod := func(name, ann string, images ...string) string {
		m := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n"
		if ann != "" {
			m += "  annotations:\n" + ann
		}
		m += "spec:\n  containers:\n"
		for i, img := range images {
			m += "  - name: c" + itoa(i) + "\n    image: " + img + "\n"
		}
		return m
	}
	slr := pull.ECIService + " → acs:ram::" + w.a + ":role/" + ram.ECIServiceLinkedRole.RoleName
	for _, tc := range []struct {
		name, ann string
		images    []string
		ready     bool
	}{
		{"no annotation", "", []string{xImg}, false},
		{"legacy annotation", "    k8s.aliyun.com/acr-instance-id: " + x.InstanceID + "\n", []string{xImg}, true},
		{"legacy annotation with a region", "    k8s.aliyun.com/acr-instance-id: cn-hangzhou:" + x.InstanceID + "\n", []string{xImg}, true},
		{"legacy and plural together", "    k8s.aliyun.com/acr-instance-id: " + x.InstanceID + "\n    k8s.aliyun.com/acr-instance-ids: " + y.InstanceID + "\n", []string{xImg, yImg}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			name := strings.ReplaceAll(tc.name, " ", "-")
			if _, err := w.apply(pod(name, tc.ann, tc.images...)); err != nil {
				t.Fatal(err)
			}
			p, err := w.n.Kube.Pod(t.Context(), w.a, "default", name)
			if err != nil {
				t.Fatal(err)
			}
			g := mustEci(t, w, p.GroupID)
			if !tc.ready {
				w.expectFailure(g, 0, pull.Permission, "acr-instance-ids", x.InstanceID)
				return
			}
			g = w.expectReady(g)
			for _, cs := range g.ContainerStatuses {
				if cs.Identity != slr {
					t.Errorf("container %s pulled as %q, want %q", cs.Name, cs.Identity, slr)
				}
			}
		})
	}
	t.Run("two ids in the legacy annotation", func(t *testing.T) {
		_, err := w.in(t).apply(pod("two-legacy", "    k8s.aliyun.com/acr-instance-id: "+x.InstanceID+","+y.InstanceID+"\n", xImg))
		var ve *kube.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("apply = %v, want a validation error", err)
		}
		for _, want := range []string{"metadata.annotations[k8s.aliyun.com/acr-instance-id]", "k8s.aliyun.com/acr-instance-ids"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the error does not contain %q:\n%v", want, err)
			}
		}
		if _, err := w.n.Kube.Pod(t.Context(), w.a, "default", "two-legacy"); err == nil {
			t.Error("the refused pod was created")
		}
	})
}

// The seed: across accounts, "any edition". Account B owns a Personal
// instance; a pod of account A pulls by its default domain (and by the
// legacy shared domain) through role-assume (A) → role-acr (B), and fails
// with a trust message without the user ARN.
func TestCrossAccountPersonal(t *testing.T) {
	w := newWorld(t)
	b := w.account("acct-b")
	p := w.instance(b, "cn-hangzhou", "", acr.SpecPersonal, true)
	if _, err := w.n.ACR.CreateNamespace(t.Context(), b, p.InstanceID, "xacct", true, acr.RepoPrivate); err != nil {
		t.Fatal(err)
	}
	host := p.PublicHost(acr.DefaultBase)
	w.push(p, host, "xacct/nginx:1.0", 2)
	image := host + "/xacct/nginx:1.0"
	assume := w.role(w.a, "role-assume", eciTrust, "AliyunSTSAssumeRoleAccess")
	other := w.role(w.a, "role-other", eciTrust, "AliyunSTSAssumeRoleAccess")
	acrRole := w.role(b, "role-acr", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["`+assume+`"]}}]}`, "AliyunContainerRegistryFullAccess")

	for _, tc := range []struct {
		name   string
		image  string
		chains []pull.Chain
		kind   pull.Kind // "" : ready
		want   []string
	}{
		{"chain, default domain", image, []pull.Chain{{Service: assume, User: acrRole}}, "", nil},
		{"chain, legacy shared domain", "registry.cn-hangzhou.aliyuncs.com/xacct/nginx:1.0", []pull.Chain{{Service: assume, User: acrRole}}, "", nil},
		{"no annotations", image, nil, pull.Trust, []string{"account " + b, p.InstanceID, "acr-user-arns"}},
		{"service ARN only", image, []pull.Chain{{Service: assume}}, pull.Trust, []string{"account " + b, p.InstanceID, "acr-user-arns"}},
		{"a role role-acr does not trust", image, []pull.Chain{{Service: other, User: acrRole}}, pull.Trust, []string{"trust policy", "role-acr", "role-other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			g := w.pod(strings.ReplaceAll(tc.name, " ", "-"), podSpec{images: []string{tc.image}, chains: tc.chains})
			if tc.kind != "" {
				cs := w.expectFailure(g, 0, tc.kind, tc.want...)
				if strings.Contains(cs.Message, "AliyunServiceRoleForECI") && tc.chains != nil {
					t.Errorf("the service-linked role stood in: %s", cs.Message)
				}
				return
			}
			g = w.expectReady(g)
			if id, want := g.ContainerStatuses[0].Identity, pull.ECIService+" → "+assume+" → "+acrRole; id != want {
				t.Errorf("identity %q, want %q", id, want)
			}
		})
	}
	t.Run("user ARN without a service ARN", func(t *testing.T) {
		_, err := w.n.ECI.Create(t.Context(), eci.CreateInput{Account: w.a, Region: "cn-hangzhou", Name: "user-only",
			Containers: []eci.Container{{Name: "c0", Image: image}}, Chains: []pull.Chain{{User: acrRole}}})
		if err == nil || !strings.Contains(err.Error(), "needs a service ARN") {
			t.Errorf("Create with only a user ARN = %v, want refused", err)
		}
	})
}

// foreignToken is a bearer token a registry that is not ACR issues.
func foreignToken() string { return "other-" + rand.Text() }

// foreignAuthorization says what is wrong with an Authorization header a
// registry that is not ACR received, or "" when it may see it: none, the
// imagePullSecret for that registry (user and password exactly), or a
// bearer token that registry issued. It never repeats a secret.
func foreignAuthorization(h, user, password string, issued func(string) bool) string {
	scheme, cred, _ := strings.Cut(h, " ")
	switch {
	case h == "":
		return ""
	case strings.EqualFold(scheme, "Basic"):
		u, p, ok := (&http.Request{Header: http.Header{"Authorization": {h}}}).BasicAuth()
		switch {
		case !ok:
			return "a malformed Basic header"
		case u == acr.TempUsername || acr.IsTempPassword(p):
			return "an ACR temporary password (role credentials) for user " + u
		case u != user:
			return "Basic credentials of user " + u + ", not of the imagePullSecret for this registry"
		case p != password:
			return "Basic credentials of user " + u + " with another password than the imagePullSecret's"
		}
		return ""
	case strings.EqualFold(scheme, "Bearer"):
		if acr.IsTempPassword(cred) {
			return "an ACR temporary password as a bearer token"
		}
		if !issued(cred) {
			return "a bearer token this registry did not issue"
		}
		return ""
	}
	return "an Authorization header of scheme " + scheme
}
