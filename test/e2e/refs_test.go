package e2e

import (
	"strings"
	"testing"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/pull"
)

// imageRef is one input of reliability.md §3.4 (items 37–43) and how a pod
// naming it is planned. HOST stands for an open Enterprise instance's
// domain.
type imageRef struct {
	item  int
	image string
	want  string // "acr", "other" (not ACR: no role), or "invalid"
}

var imageRefs = func() []imageRef {
	d := strings.Repeat("a", 64)
	// HOST/ + path: a path of exactly n characters.
	path := func(n int) string { return strings.Repeat("a", n-2) + "/b" }
	return []imageRef{
		{37, "HOST/ns/app:tag", "acr"},
		{37, "UPPER/ns/app:tag", "acr"}, // hosts are case-insensitive
		{37, "HOST/Ns/App:tag", "invalid"},
		{38, "HOST/ns/../other/app:tag", "invalid"},
		{38, "HOST/ns/%2e%2e/app", "invalid"},
		{38, "HOST/ns//app", "invalid"},
		{38, "HOST/ns/app/", "invalid"},
		{38, "HOST/ns/app.", "invalid"},
		{39, "HOST/" + path(255), "acr"},
		{39, "HOST/" + path(256), "invalid"},
		{40, "HOST/ns/app:" + strings.Repeat("t", 128), "acr"},
		{40, "HOST/ns/app:" + strings.Repeat("t", 129), "invalid"},
		{40, "HOST/ns/app:.t", "invalid"},
		{40, "HOST/ns/app:-t", "invalid"},
		{40, "HOST/ns/app:", "invalid"},
		{41, "HOST/ns/app@sha256:" + d[:63], "invalid"},
		{41, "HOST/ns/app@sha256:" + strings.ToUpper(d), "invalid"},
		{41, "HOST/ns/app@sha256:../../etc/passwd", "invalid"},
		{41, "HOST/ns/app@md5:" + d[:32], "invalid"},
		{41, "HOST/ns/app@sha512:" + strings.Repeat("b", 128), "acr"},
		{42, "HOST/ns/app:1.0@sha256:" + d, "acr"}, // the digest wins
		{43, "user:pass@HOST/ns/app", "invalid"},
		{43, "HOST:0/ns/app", "invalid"},
		{43, "HOST:70000/ns/app", "invalid"},
		{43, "HOST:443/ns/app", "acr"},
		// Not ACR, so no role: the egress guard refuses these at dial
		// time (TestEgressGuard).
		{43, "[::1]:5000/app", "other"},
		{43, "100.100.100.200/app", "other"},
		{43, "localhost/app", "other"},
		{43, "HOST.evil.example.com/ns/app", "other"},
	}
}()

func expand(image string, inst acr.Instance) string {
	host := inst.PublicHost(acr.DefaultBase)
	image = strings.Replace(image, "UPPER", strings.ToUpper(host), 1)
	return strings.Replace(image, "HOST", host, 1)
}

// TestImageReferences plans every input of reliability.md §3.4: strict
// grammar (the distribution reference rules, ports 1–65535), invalid with
// a message naming the image, and role credentials only for ACR domains.
func TestImageReferences(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "refs", acr.SpecEnterpriseStandard, true)
	role := w.role(w.a, "puller", eciTrust, "AliyunContainerRegistryReadOnlyAccess")
	for _, tt := range imageRefs {
		image := expand(tt.image, ee)
		name := tt.image
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			s := pull.Settings{Account: w.a, Region: "cn-hangzhou", Session: "eci-refs", Chains: []pull.Chain{{Service: role}}}
			pl, err := w.n.Puller.Plan(t.Context(), s, image)
			got := "other"
			switch {
			case err != nil && pull.KindOf(err) == pull.Invalid:
				got = "invalid"
				if !strings.Contains(err.Error(), "is not a valid reference") {
					t.Errorf("item %d: message %q does not say what is wrong", tt.item, err)
				}
			case err != nil:
				t.Fatalf("item %d: Plan(%q) = %v", tt.item, image, err)
			case pl.ACR:
				got = "acr"
			case len(pl.Chain) > 0:
				t.Fatalf("item %d: %q is not ACR but is planned with roles %v", tt.item, image, pl.Chain)
			}
			if got != tt.want {
				t.Errorf("item %d: Plan(%q) is %s, want %s (err %v)", tt.item, image, got, tt.want, err)
			}
		})
	}
}

// TestDigestWinsOverTag is reliability.md §3.4 item 42 end to end: an
// image named NS/REPO:TAG@DIGEST is pulled by its digest, and the tag —
// here pointing at another image — is ignored, as the distribution
// reference rules and kubelet do.
func TestDigestWinsOverTag(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "digestwins", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	pinned := w.push(ee, host, "ns/app:1.0", 2)
	w.push(ee, host, "ns/app:2.0", 2)
	d, err := pinned.Digest()
	if err != nil {
		t.Fatal(err)
	}
	role := w.role(w.a, "puller", eciTrust, "AliyunContainerRegistryReadOnlyAccess")
	g := w.expectReady(w.pod("digest-wins", podSpec{images: []string{host + "/ns/app:2.0@" + d.String()}, chains: []pull.Chain{{Service: role}}}))
	if got := g.ContainerStatuses[0].ImageDigest; got != d.String() {
		t.Errorf("ImageDigest = %s, want the pinned %s (not what tag 2.0 names)", got, d)
	}
}
