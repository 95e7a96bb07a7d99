package e2e

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/kube"
)

func deploymentYAML(name, image string, replicas int, templateAnn, topAnn string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
` + topAnn + `spec:
  replicas: ` + itoa(replicas) + `
  selector:
    matchLabels:
      app: ` + name + `
  template:
    metadata:
      labels:
        app: ` + name + `
` + templateAnn + `    spec:
      containers:
      - name: app
        image: ` + image + `
`
}

func itoa(n int) string { return strconv.Itoa(n) }

func (w *world) apply(manifest string) (kube.ApplyResult, error) {
	return w.n.Kube.Apply(w.t.Context(), kube.Target{Account: w.a, Region: "cn-hangzhou"}, []byte(manifest))
}

func (w *world) podsOf(deployment string) []kube.PodView {
	w.t.Helper()
	pods, err := w.n.Kube.Pods(w.t.Context(), w.a, "default", false)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []kube.PodView
	for _, p := range pods {
		if p.Owner == deployment {
			out = append(out, p)
		}
	}
	return out
}

func TestDeploymentLifecycle(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "kube", acr.SpecEnterpriseStandard, true)
	img := ee.PublicHost(acr.DefaultBase) + "/eci_test/nginx:1.0"
	w.push(ee, ee.PublicHost(acr.DefaultBase), "eci_test/nginx:1.0", 2)
	ctx := t.Context()

	// Top-level annotations have no effect, and apply warns with the fix.
	res, err := w.apply(deploymentYAML("web", img, 2, "", "  annotations:\n    k8s.aliyun.com/acr-service-arns: acs:ram::"+w.a+":role/nope\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "spec.template.metadata.annotations") {
		t.Errorf("warnings = %v", res.Warnings)
	}
	pods := w.podsOf("web")
	if len(pods) != 2 {
		t.Fatalf("%d pods, want 2", len(pods))
	}
	for _, p := range pods {
		g := w.expectReady(mustGroup(t, w, p.GroupID))
		if id := g.ContainerStatuses[0].Identity; !strings.Contains(id, "AliyunServiceRoleForECI") {
			t.Errorf("pod %s pulled as %q: the top-level annotation took effect", p.Name, id)
		}
	}
	// Scale up and down by re-applying.
	if _, err := w.apply(deploymentYAML("web", img, 4, "", "")); err != nil {
		t.Fatal(err)
	}
	if n := len(w.podsOf("web")); n != 4 {
		t.Errorf("after scaling to 4: %d pods", n)
	}
	if _, err := w.apply(deploymentYAML("web", img, 1, "", "")); err != nil {
		t.Fatal(err)
	}
	if n := len(w.podsOf("web")); n != 1 {
		t.Errorf("after scaling to 1: %d pods", n)
	}
	// A changed template rolls out new pods, which read the new annotation.
	role := w.role(w.a, "puller", eciTrust, "AliyunContainerRegistryReadOnlyAccess")
	before := w.podsOf("web")[0].Name
	if _, err := w.apply(deploymentYAML("web", img, 1, "      annotations:\n        k8s.aliyun.com/acr-service-arns: "+role+"\n", "")); err != nil {
		t.Fatal(err)
	}
	after := w.podsOf("web")
	if len(after) != 1 || after[0].Name == before {
		t.Fatalf("the template change did not roll out a new pod: %v → %+v", before, after)
	}
	g := w.expectReady(mustGroup(t, w, after[0].GroupID))
	if id := g.ContainerStatuses[0].Identity; !strings.Contains(id, "role/puller") {
		t.Errorf("the new pod pulled as %q, want role/puller", id)
	}
	// Deleting the Deployment deletes its pods and unpins their images.
	pinsBefore, _ := w.n.Content.Pins(ctx, after[0].GroupID)
	if len(pinsBefore) == 0 {
		t.Fatal("a ready pod pins nothing")
	}
	if _, err := w.n.Kube.Delete(ctx, kube.Target{Account: w.a}, "deployment", "web"); err != nil {
		t.Fatal(err)
	}
	if n := len(w.podsOf("web")); n != 0 {
		t.Errorf("%d pods left after deleting the Deployment", n)
	}
	if pins, _ := w.n.Content.Pins(ctx, after[0].GroupID); len(pins) != 0 {
		t.Errorf("the deleted pod still pins %d blobs", len(pins))
	}
}

func mustGroup(t *testing.T, w *world, id string) eci.ContainerGroup { return mustEci(t, w, id) }

func mustEci(t *testing.T, w *world, id string) eci.ContainerGroup {
	t.Helper()
	g, err := w.n.ECI.Get(t.Context(), "", id)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestAnnotationChangedAfterCreation(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "annot", acr.SpecEnterpriseStandard, true)
	img := ee.PublicHost(acr.DefaultBase) + "/eci_test/nginx:1.0"
	w.push(ee, ee.PublicHost(acr.DefaultBase), "eci_test/nginx:1.0", 1)
	pod := func(ann string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\n" + ann + "spec:\n  containers:\n  - name: app\n    image: " + img + "\n"
	}
	if _, err := w.apply(pod("")); err != nil {
		t.Fatal(err)
	}
	p, err := w.n.Kube.Pod(t.Context(), w.a, "default", "p1")
	if err != nil {
		t.Fatal(err)
	}
	w.expectReady(mustEci(t, w, p.GroupID))
	role := w.role(w.a, "later", eciTrust, "AliyunContainerRegistryReadOnlyAccess")
	res, err := w.apply(pod("  annotations:\n    k8s.aliyun.com/acr-service-arns: " + role + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects[0].Action != "configured" {
		t.Errorf("re-apply = %+v", res.Objects)
	}
	p, _ = w.n.Kube.Pod(t.Context(), w.a, "default", "p1")
	if p.Annotations["k8s.aliyun.com/acr-service-arns"] != role {
		t.Error("the new annotation was not stored")
	}
	g, _ := w.n.ECI.Get(t.Context(), "", p.GroupID)
	if len(g.Pull.Chains) != 0 || !strings.Contains(g.ContainerStatuses[0].Identity, "AliyunServiceRoleForECI") {
		t.Errorf("the pod's pulls changed: chains %v, identity %q", g.Pull.Chains, g.ContainerStatuses[0].Identity)
	}
	if ev := w.events(p.GroupID); !strings.Contains(ev, "AnnotationIgnored") || !strings.Contains(ev, "no effect") {
		t.Errorf("no event says the change had no effect:\n%s", ev)
	}
}

func TestInvalidManifestCreatesNothing(t *testing.T) {
	w := newWorld(t)
	good := deploymentYAML("ok", "x.example.com/ns/app:1", 1, "", "")
	bad := deploymentYAML("bad", "x.example.com/ns/app:1", 1, "      annotations:\n        k8s.aliyun.com/acr-service-arns: acs:ram::1609982529000000:role/a\n        k8s.aliyun.com/acr-user-arns: acs:ram::x:role/y\n", "")
	_, err := w.apply(good + "---\n" + bad + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: missing\nspec:\n  containers:\n  - name: c\n    image: a/b:c\n")
	var ve *kube.ValidationError
	if !errors.As(err, &ve) || len(ve.Errs) < 2 {
		t.Fatalf("apply = %v, want every error", err)
	}
	msg := err.Error()
	for _, want := range []string{"spec.template.metadata.annotations[k8s.aliyun.com/acr-user-arns]", `"acs:ram::x:role/y" is not a role ARN`, `namespace "missing" does not exist`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
	if pods, _ := w.n.Kube.Pods(t.Context(), w.a, "", false); len(pods) != 0 {
		t.Errorf("%d pods were created from an invalid file", len(pods))
	}
	_, err = w.apply(strings.Repeat("# padding\n", 1<<20))
	if !errors.Is(err, kube.ErrTooLarge) {
		t.Errorf("a 10 MB document = %v", err)
	}
}

// A file applies whole or not at all, also when what refuses an object is
// the ECI service (a pod name over 128 characters, a vSwitch that does not
// exist, a pod spec changed after creation, an image cache's size changed):
// every such refusal is found before anything is stored, and located.
func TestApplyWholeOrNothing(t *testing.T) {
	w := newWorld(t)
	ns := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n---\n"
	podYAML := func(name, image string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n  containers:\n  - name: c\n    image: " + image + "\n"
	}
	nothingApplied := func(t *testing.T) {
		t.Helper()
		if pods, _ := w.n.Kube.Pods(t.Context(), w.a, "", false); len(pods) != 0 {
			t.Errorf("%d pods exist after a refused file", len(pods))
		}
		if ds, _ := w.n.Kube.Deployments(t.Context(), w.a, ""); len(ds) != 0 {
			t.Errorf("%d deployments exist after a refused file", len(ds))
		}
		if gs, _ := w.n.ECI.List(t.Context(), w.a); len(gs) != 0 {
			t.Errorf("%d container groups exist after a refused file", len(gs))
		}
	}
	for _, tt := range []struct {
		name, manifest string
		want           []string
	}{
		{"a pod name ECI refuses", ns + deploymentYAML("okdep", "x.example.com/ns/app:1", 1, "", "") + "---\n" + podYAML(strings.Repeat("p", 200), "x.example.com/ns/app:1"),
			[]string{"document 3 (Pod default/ppp", "metadata.name", "want 1–128 characters"}},
		{"a Deployment whose pods' names would be too long", deploymentYAML(strings.Repeat("d", 120), "x.example.com/ns/app:1", 1, "", ""),
			[]string{"document 1 (Deployment default/ddd", "metadata.name"}},
		{"a vSwitch that does not exist", ns + deploymentYAML("vswdep", "x.example.com/ns/app:1", 2, "      annotations:\n        k8s.aliyun.com/eci-vswitch: vsw-doesnotexist\n", ""),
			[]string{"document 2 (Deployment default/vswdep)", "spec.template.metadata.annotations[k8s.aliyun.com/eci-vswitch]", "vsw-doesnotexist"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.apply(tt.manifest)
			var ve *kube.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("apply = %v, want a ValidationError", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
			nothingApplied(t)
		})
	}

	t.Run("a pod spec changed, beside a new object", func(t *testing.T) {
		if _, err := w.apply(podYAML("stable", "x.example.com/ns/app:1")); err != nil {
			t.Fatal(err)
		}
		_, err := w.apply(deploymentYAML("newdep", "x.example.com/ns/app:1", 1, "", "") + "---\n" + podYAML("stable", "x.example.com/ns/app:2"))
		if err == nil || !strings.Contains(err.Error(), "document 2 (Pod default/stable): spec: a pod's spec cannot change") {
			t.Fatalf("apply = %v, want the changed spec refused with its location", err)
		}
		if ds, _ := w.n.Kube.Deployments(t.Context(), w.a, ""); len(ds) != 0 {
			t.Errorf("the Deployment beside the refused pod was applied")
		}
	})
}
