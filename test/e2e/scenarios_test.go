package e2e

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/pull"
)

// The seed's scenario table, row 1: same account, Personal edition, no
// annotations — the ECI service-linked role pulls.
func TestSameAccountPersonalDefault(t *testing.T) {
	w := newWorld(t)
	p := w.instance(w.a, "cn-hangzhou", "", acr.SpecPersonal, true)
	if _, err := w.n.ACR.CreateNamespace(t.Context(), w.a, p.InstanceID, "eci_test", true, acr.RepoPrivate); err != nil {
		t.Fatal(err)
	}
	w.push(p, p.PublicHost(acr.DefaultBase), "eci_test/nginx:1.0", 2)
	g := w.expectReady(w.pod("personal", podSpec{images: []string{p.PublicHost(acr.DefaultBase) + "/eci_test/nginx:1.0"}}))
	if id := g.ContainerStatuses[0].Identity; !strings.Contains(id, "AliyunServiceRoleForECI") {
		t.Errorf("identity %q, want the service-linked role", id)
	}
	// The legacy shared domain reaches the same instance by namespace.
	w.expectReady(w.pod("legacy", podSpec{images: []string{"registry.cn-hangzhou.aliyuncs.com/eci_test/nginx:1.0"}}))
}

// Row 2: same account, Enterprise edition with a default domain, no
// annotations.
func TestSameAccountEnterpriseDefaultDomain(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "test1", acr.SpecEnterpriseStandard, true)
	w.push(ee, ee.PublicHost(acr.DefaultBase), "eci_test/nginx:1.0", 3)
	g := w.expectReady(w.pod("default-domain", podSpec{images: []string{ee.PublicHost(acr.DefaultBase) + "/eci_test/nginx:1.0"}}))
	if !strings.Contains(w.events(g.ID), "Pulled") {
		t.Errorf("no Pulled event:\n%s", w.events(g.ID))
	}
}

// The seed's restricted role: cr:Pull* on one instance only. Instance A
// pulls; instance B fails at the registry, with a permission message, and
// the service-linked role is no fallback.
func TestRestrictedRole(t *testing.T) {
	w := newWorld(t)
	a := w.instance(w.a, "cn-hangzhou", "insta", acr.SpecEnterpriseStandard, true)
	b := w.instance(w.a, "cn-hangzhou", "instb", acr.SpecEnterpriseStandard, true)
	w.push(a, a.PublicHost(acr.DefaultBase), "eci_test/nginx:1.0", 2)
	w.push(b, b.PublicHost(acr.DefaultBase), "eci_test/nginx:1.0", 2)
	w.policy(w.a, "acr-test-pull", `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:List*"],"Resource":"*"},{"Effect":"Allow","Action":["cr:Pull*"],"Resource":["acs:cr:cn-hangzhou:`+w.a+`:instance/`+a.InstanceID+`"]}]}`)
	role := w.role(w.a, "acr-test", eciTrust, "acr-test-pull")
	chains := []pull.Chain{{Service: role}}
	g := w.expectReady(w.pod("pod-a", podSpec{images: []string{a.PublicHost(acr.DefaultBase) + "/eci_test/nginx:1.0"}, chains: chains}))
	if id := g.ContainerStatuses[0].Identity; !strings.Contains(id, "acr-test") {
		t.Errorf("identity %q, want acr-test", id)
	}
	bad := w.pod("pod-b", podSpec{images: []string{b.PublicHost(acr.DefaultBase) + "/eci_test/nginx:1.0"}, chains: chains})
	w.expectFailure(bad, 0, pull.Permission, "permission:", "acr-test", "cr:PullRepository", b.InstanceID)
}

// Edge case 3: a custom domain is ACR only through acr-instance-ids.
func TestCustomDomain(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "test1", acr.SpecEnterpriseStandard, true)
	if _, err := w.n.ACR.AddDomain(t.Context(), w.a, ee.InstanceID, "test1-registry.example.com"); err != nil {
		t.Fatal(err)
	}
	img := "test1-registry.example.com/eci_test/nginx:1.0"
	w.push(ee, "test1-registry.example.com", "eci_test/nginx:1.0", 2)
	without := w.pod("without", podSpec{images: []string{img}})
	cs := w.expectFailure(without, 0, pull.Permission, "acr-instance-ids", ee.InstanceID)
	if strings.Contains(cs.Identity, "AliyunServiceRoleForECI") {
		t.Error("role credentials were used for a custom domain not listed in acr-instance-ids")
	}
	w.expectReady(w.pod("with", podSpec{images: []string{img}, instances: []pull.InstanceRef{{InstanceID: ee.InstanceID}}}))
}

// Edge case 4: an instance in another region needs the REGION: prefix.
func TestRegionPrefixedInstance(t *testing.T) {
	w := newWorld(t)
	bj := w.instance(w.a, "cn-beijing", "bjinst", acr.SpecEnterpriseStandard, true)
	if _, err := w.n.ACR.AddDomain(t.Context(), w.a, bj.InstanceID, "reg.beijing.example.com"); err != nil {
		t.Fatal(err)
	}
	w.push(bj, "reg.beijing.example.com", "eci_test/nginx:1.0", 1)
	img := "reg.beijing.example.com/eci_test/nginx:1.0"
	noPrefix := w.pod("no-prefix", podSpec{images: []string{img}, instances: []pull.InstanceRef{{InstanceID: bj.InstanceID}}})
	w.expectFailure(noPrefix, 0, pull.NotFound, "cn-hangzhou", "cn-beijing:"+bj.InstanceID)
	w.expectReady(w.pod("prefixed", podSpec{images: []string{img}, instances: []pull.InstanceRef{{Region: "cn-beijing", InstanceID: bj.InstanceID}}}))
}

// Edge case 5: two instance ids in one pod; each container pulls from its
// own instance.
func TestTwoInstances(t *testing.T) {
	w := newWorld(t)
	x := w.instance(w.a, "cn-hangzhou", "instx", acr.SpecEnterpriseStandard, true)
	y := w.instance(w.a, "cn-hangzhou", "insty", acr.SpecEnterpriseStandard, true)
	w.n.ACR.AddDomain(t.Context(), w.a, x.InstanceID, "x.example.com")
	w.n.ACR.AddDomain(t.Context(), w.a, y.InstanceID, "y.example.com")
	w.push(x, "x.example.com", "ns/app:1", 1)
	w.push(y, "y.example.com", "ns/app:1", 1)
	w.expectReady(w.pod("two", podSpec{images: []string{"x.example.com/ns/app:1", "y.example.com/ns/app:1"},
		instances: []pull.InstanceRef{{InstanceID: x.InstanceID}, {InstanceID: y.InstanceID}}}))
	// Only the listed instance's container fails when the other is closed.
	if _, err := w.n.ACR.SetInternet(t.Context(), w.a, y.InstanceID, false); err != nil {
		t.Fatal(err)
	}
	g := w.pod("one-closed", podSpec{images: []string{"x.example.com/ns/app:1", "y.example.com/ns/app:1"},
		instances: []pull.InstanceRef{{InstanceID: x.InstanceID}, {InstanceID: y.InstanceID}}})
	w.expectFailure(g, 1, pull.Network, y.InstanceID)
	if g = w.settle(g.ID); !g.ContainerStatuses[0].Ready {
		t.Errorf("the container of the open instance did not pull: %+v", g.ContainerStatuses[0])
	}
}

// The seed's cross-account chain, edge case 7, and a missing
// AliyunSTSAssumeRoleAccess.
func TestCrossAccount(t *testing.T) {
	w := newWorld(t)
	b := w.account("acct-b")
	inst := w.instance(b, "cn-hangzhou", "binst", acr.SpecEnterpriseStandard, true)
	w.n.ACR.AddDomain(t.Context(), b, inst.InstanceID, "test-registry.example.com")
	img := "test-registry.example.com/eci_test/nginx:1.0"
	w.push(inst, "test-registry.example.com", "eci_test/nginx:1.0", 2)
	assume := w.role(w.a, "role-assume", eciTrust, "AliyunSTSAssumeRoleAccess")
	other := w.role(w.a, "role-other", eciTrust, "AliyunSTSAssumeRoleAccess")
	noSTS := w.role(w.a, "role-nosts", eciTrust)
	acrRole := w.role(b, "role-acr", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::`+w.a+`:root"]}}]}`, "AliyunContainerRegistryFullAccess")
	ids := []pull.InstanceRef{{InstanceID: inst.InstanceID}}

	// No annotations: the service-linked role of A cannot pull from B.
	w.expectFailure(w.pod("slr", podSpec{images: []string{img}, instances: ids}), 0, pull.Trust, "account "+b)
	// The chain works while role-acr trusts account A.
	g := w.expectReady(w.pod("chain", podSpec{images: []string{img}, instances: ids, chains: []pull.Chain{{Service: assume, User: acrRole}}}))
	if id := g.ContainerStatuses[0].Identity; !strings.Contains(id, "role-assume → "+acrRole) {
		t.Errorf("identity %q, want the whole chain", id)
	}
	// Narrowed to role-assume: role-other fails with a trust message.
	// (While role-acr trusted account A, role-other was admitted too: the
	// trust evaluation itself is tested in internal/ram. It is not pulled
	// here because a cached chain keeps its session, as STS sessions
	// outlive trust changes.)
	narrowed := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["` + assume + `"]}}]}`
	if _, err := w.n.RAM.UpdateRole(t.Context(), b, "role-acr", ramUpdate(narrowed)); err != nil {
		t.Fatal(err)
	}
	w.expectReady(w.pod("chain-narrowed", podSpec{images: []string{img}, instances: ids, chains: []pull.Chain{{Service: assume, User: acrRole}}}))
	w.expectFailure(w.pod("other-narrowed", podSpec{images: []string{img}, instances: ids, chains: []pull.Chain{{Service: other, User: acrRole}}}),
		0, pull.Trust, "trust policy", "role-acr", "role-other")
	// Missing AliyunSTSAssumeRoleAccess on the first role: permission.
	w.expectFailure(w.pod("nosts", podSpec{images: []string{img}, instances: ids, chains: []pull.Chain{{Service: noSTS, User: acrRole}}}),
		0, pull.Permission, "sts:AssumeRole", "AliyunSTSAssumeRoleAccess")
	// A chain that ends in the wrong account: no fallback, a trust message.
	w.expectFailure(w.pod("wrong-account", podSpec{images: []string{img}, instances: ids, chains: []pull.Chain{{Service: assume}}}),
		0, pull.Trust, "account "+b)
}

// Edge case 6: a registry that is not ACR receives the imagePullSecret
// configured for its own host (user and password exactly), a bearer token
// its own token endpoint issued, or nothing — never role credentials (an
// ACR temporary password, user cr_temp_user), not even from a pod that
// pulls ACR images with a role, and never another host's secret. The
// registry asks for Basic credentials, or for a bearer token from its own
// token endpoint.
func TestNonACRRegistry(t *testing.T) {
	for _, scheme := range []string{"Basic", "Bearer"} {
		t.Run(scheme, func(t *testing.T) {
			w := newWorld(t)
			const user, password = "puller", "canary-registry-password"
			var mu sync.Mutex
			var seen []string           // every Authorization header received, token endpoint included
			issued := map[string]bool{} // the bearer tokens this registry issued
			wasIssued := func(tok string) bool { mu.Lock(); defer mu.Unlock(); return issued[tok] }
			upstream := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				h := r.Header.Get("Authorization")
				mu.Lock()
				seen = append(seen, h)
				mu.Unlock()
				u, p, ok := r.BasicAuth()
				loggedIn := ok && u == user && p == password
				if scheme == "Bearer" && r.URL.Path == "/token" && loggedIn {
					tok := foreignToken()
					mu.Lock()
					issued[tok] = true
					mu.Unlock()
					rw.Header().Set("Content-Type", "application/json")
					io.WriteString(rw, `{"token":"`+tok+`","expires_in":300}`)
					return
				}
				challenge := `Basic realm="other"`
				if scheme == "Bearer" {
					challenge = `Bearer realm="` + srv.URL + `/token",service="other"`
					tok, isBearer := strings.CutPrefix(h, "Bearer ")
					loggedIn = isBearer && wasIssued(tok)
				}
				if !loggedIn {
					rw.Header().Set("WWW-Authenticate", challenge)
					http.Error(rw, `{"errors":[{"code":"UNAUTHORIZED","message":"login required"}]}`, http.StatusUnauthorized)
					return
				}
				upstream.ServeHTTP(rw, r)
			}))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			other := host + "/library/app:1"
			img, _ := random.Image(1024, 2)
			ref, _ := name.ParseReference(other, name.Insecure)
			if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: password})); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			seen = nil
			mu.Unlock()

			ee := w.instance(w.a, "cn-hangzhou", "mixed", acr.SpecEnterpriseStandard, true)
			w.push(ee, ee.PublicHost(acr.DefaultBase), "eci_test/nginx:1.0", 1)
			acrImage := ee.PublicHost(acr.DefaultBase) + "/eci_test/nginx:1.0"
			role := w.role(w.a, "some-role", eciTrust, "AliyunContainerRegistryFullAccess")
			chains := []pull.Chain{{Service: role}}
			secret := pull.Credential{Server: host, Username: user, Password: password}
			elsewhere := pull.Credential{Server: "elsewhere.example.com:5000", Username: "someone-else", Password: "elsewhere-password"}

			// A role chain on the pod does not reach this host.
			w.expectFailure(w.pod("anon", podSpec{images: []string{other}, chains: chains}), 0, pull.Permission, "not ACR", "imagePullSecret")
			// Another host's secret is not sent here either.
			w.expectFailure(w.pod("elsewhere", podSpec{images: []string{other}, chains: chains, creds: []pull.Credential{elsewhere}}), 0, pull.Permission, "not ACR", "imagePullSecret")
			g := w.expectReady(w.pod("secret", podSpec{images: []string{other}, chains: chains, creds: []pull.Credential{elsewhere, secret}}))
			if id, want := g.ContainerStatuses[0].Identity, "imagePullSecret for "+host; id != want {
				t.Errorf("identity %q, want %q", id, want)
			}
			// One pod, one ACR image pulled with the role's temporary
			// password and one image of this registry.
			g = w.expectReady(w.pod("mixed", podSpec{images: []string{acrImage, other}, chains: chains, creds: []pull.Credential{secret}}))
			if id := g.ContainerStatuses[0].Identity; !strings.Contains(id, "some-role") {
				t.Errorf("the ACR image pulled as %q, want some-role", id)
			}
			if id, want := g.ContainerStatuses[1].Identity, "imagePullSecret for "+host; id != want {
				t.Errorf("the other image pulled as %q, want %q", id, want)
			}

			mu.Lock()
			got := append([]string(nil), seen...)
			mu.Unlock()
			if len(got) == 0 {
				t.Fatal("the registry received no request: the test checked nothing")
			}
			authorized := 0
			for i, h := range got {
				if bad := foreignAuthorization(h, user, password, wasIssued); bad != "" {
					t.Errorf("request %d to the non-ACR registry carried %s", i, bad)
				}
				if h != "" {
					authorized++
				}
			}
			if authorized == 0 {
				t.Error("the imagePullSecret never reached its registry")
			}
		})
	}
}

// Edge case 12: a closed network is a network failure, not "unauthorized".
func TestClosedNetwork(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "closed", acr.SpecEnterpriseStandard, true)
	w.push(ee, ee.PublicHost(acr.DefaultBase), "eci_test/nginx:1.0", 1)
	if _, err := w.n.ACR.SetInternet(t.Context(), w.a, ee.InstanceID, false); err != nil {
		t.Fatal(err)
	}
	cs := w.expectFailure(w.pod("closed", podSpec{images: []string{ee.PublicHost(acr.DefaultBase) + "/eci_test/nginx:1.0"}}), 0, pull.Network, ee.InstanceID, "internet access")
	if strings.Contains(strings.ToLower(cs.Message), "unauthorized") {
		t.Errorf("a network failure reads as unauthorized: %s", cs.Message)
	}
	// A bound VPC opens the -vpc domain to the pod.
	vpc, _ := w.n.Net.CreateVPC(t.Context(), w.a, "cn-hangzhou", "v")
	vsw, _ := w.n.Net.CreateVSwitch(t.Context(), w.a, vpc.VpcID, "", "")
	if _, err := w.n.ACR.LinkVPC(t.Context(), w.a, ee.InstanceID, vpc.VpcID, vsw.VSwitchID); err != nil {
		t.Fatal(err)
	}
	w.expectReady(w.pod("via-vpc", podSpec{vswitch: vsw.VSwitchID, images: []string{ee.PublicHost(acr.DefaultBase) + "/eci_test/nginx:1.0"}}))
}
