package kube

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/pull"
)

// Annotation keys rolepull reads.
const (
	AnnInstanceIDs     = "k8s.aliyun.com/acr-instance-ids"
	AnnInstanceID      = "k8s.aliyun.com/acr-instance-id" // legacy, one id
	AnnServiceARNs     = "k8s.aliyun.com/acr-service-arns"
	AnnUserARNs        = "k8s.aliyun.com/acr-user-arns"
	AnnVSwitch         = "k8s.aliyun.com/eci-vswitch"
	AnnAutoIMC         = "k8s.aliyun.com/eci-auto-imc"
	AnnIMCID           = "k8s.aliyun.com/eci-imc-id"
	AnnPerfectMatch    = "k8s.aliyun.com/imc-perfect-match"
	AnnMatchCount      = "k8s.aliyun.com/imc-match-count-request"
	AnnSnapshotID      = "k8s.aliyun.com/eci-image-snapshot-id" // legacy pin
	AnnImageCache      = "k8s.aliyun.com/eci-image-cache"       // legacy auto-match
	AnnMatchedIMC      = "k8s.aliyun.com/eci-matched-image-cache"
	MaxReplicas        = 1000
	MaxImagesPerCache  = 100
	dockerConfigKey    = corev1.DockerConfigJsonKey
	dockerConfigType   = corev1.SecretTypeDockerConfigJson
	defaultNamespace   = "default"
	maxAnnotationBytes = 256 << 10
)

// podSettings are what a pod's metadata and spec say about its pulls.
type podSettings struct {
	chains    []pull.Chain
	instances []pull.InstanceRef
	vswitch   string
	cache     eci.CacheSettings
	secrets   []string // imagePullSecrets names, in the pod's namespace
}

// errs collects located errors for one object.
type errs struct {
	doc  int
	ref  string
	list []*FieldError
}

func (e *errs) add(field, format string, args ...any) {
	e.list = append(e.list, &FieldError{Doc: e.doc, Ref: e.ref, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (e *errs) name(field, name string, dnsLabel bool) {
	var problems []string
	if dnsLabel {
		problems = validation.IsDNS1123Label(name)
	} else {
		problems = validation.IsDNS1123Subdomain(name)
	}
	if name == "" {
		problems = []string{"a name is required"}
	}
	if len(problems) > 0 {
		e.add(field, "%q: %s", name, strings.Join(problems, "; "))
	}
}

// settingsFrom reads a pod's pull settings from its annotations (at
// prefix, e.g. "metadata" or "spec.template.metadata") and spec.
func settingsFrom(e *errs, prefix string, meta metav1.ObjectMeta, spec *corev1.PodSpec) podSettings {
	var s podSettings
	ann := meta.Annotations
	at := func(k string) string { return prefix + ".annotations[" + k + "]" }
	size := 0
	for k, v := range ann {
		size += len(k) + len(v)
	}
	if size > maxAnnotationBytes {
		e.add(prefix+".annotations", "%d bytes of annotations, at most %d", size, maxAnnotationBytes)
		return s
	}
	for _, k := range []string{AnnServiceARNs, AnnUserARNs} {
		if v, ok := ann[k]; ok && strings.TrimSpace(v) == "" {
			// Read as absent, it would pull as the service-linked role:
			// a templating slip must not change the identity.
			e.add(at(k), "present but empty: remove the annotation (the pod then pulls as the ECI service-linked role) or list role ARNs")
		}
	}
	chains, err := pull.ParseChains(ann[AnnServiceARNs], ann[AnnUserARNs])
	if err != nil {
		field := at(AnnServiceARNs)
		if strings.HasPrefix(err.Error(), "acr-user-arns") || (ann[AnnServiceARNs] == "" && ann[AnnUserARNs] != "") {
			field = at(AnnUserARNs)
		}
		e.add(field, "%v", err)
	}
	s.chains = chains
	for _, k := range []string{AnnInstanceIDs, AnnInstanceID} {
		v, ok := ann[k]
		if !ok {
			continue
		}
		refs, err := pull.ParseInstanceIDs(v)
		if err != nil {
			e.add(at(k), "%q: %v", v, err)
			continue
		}
		if k == AnnInstanceID && len(refs) != 1 {
			e.add(at(k), "the legacy annotation names one instance; use %s for several", AnnInstanceIDs)
		}
		s.instances = append(s.instances, refs...)
	}
	if v, ok := ann[AnnVSwitch]; ok {
		if !strings.HasPrefix(v, "vsw-") || strings.Contains(v, ",") {
			e.add(at(AnnVSwitch), "%q: want one vSwitch id (vsw-…)", v)
		}
		s.vswitch = v
	}
	s.cache.AutoMatch = true
	boolAnn := func(k string, dst *bool) {
		if v, ok := ann[k]; ok {
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				e.add(at(k), "%q: want \"true\" or \"false\"", v)
				return
			}
			*dst = b
		}
	}
	boolAnn(AnnAutoIMC, &s.cache.AutoMatch)
	if _, ok := ann[AnnAutoIMC]; !ok {
		legacy := false
		boolAnn(AnnImageCache, &legacy)
		if _, ok := ann[AnnImageCache]; ok {
			s.cache.AutoMatch = legacy
		}
	}
	boolAnn(AnnPerfectMatch, &s.cache.PerfectMatch)
	if v, ok := ann[AnnMatchCount]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > eci.MaxContainers {
			e.add(at(AnnMatchCount), "%q: want a count of images, 1–%d", v, eci.MaxContainers)
		}
		s.cache.MatchCount = n
	}
	for _, k := range []string{AnnIMCID, AnnSnapshotID} {
		if v, ok := ann[k]; ok {
			if !strings.HasPrefix(v, "imc-") || len(v) > 64 {
				e.add(at(k), "%q: want an image cache id (imc-…)", v)
			}
			if s.cache.Pinned == "" {
				s.cache.Pinned = v
				s.cache.LegacyPinned = k == AnnSnapshotID
			}
		}
	}
	if spec == nil {
		return s
	}
	specAt := strings.TrimSuffix(prefix, "metadata") + "spec"
	if len(spec.Containers) == 0 {
		e.add(specAt+".containers", "a pod needs at least one container")
	}
	if len(spec.Containers)+len(spec.InitContainers) > eci.MaxContainers {
		e.add(specAt+".containers", "%d containers, at most %d", len(spec.Containers)+len(spec.InitContainers), eci.MaxContainers)
	}
	seen := map[string]bool{}
	check := func(field string, cs []corev1.Container) {
		for i, c := range cs {
			f := fmt.Sprintf("%s[%d]", field, i)
			e.name(f+".name", c.Name, true)
			if seen[c.Name] {
				e.add(f+".name", "%q is used twice", c.Name)
			}
			seen[c.Name] = true
			if c.Image == "" {
				e.add(f+".image", "an image is required")
			}
			switch c.ImagePullPolicy {
			case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
			default:
				e.add(f+".imagePullPolicy", "%q: want Always, IfNotPresent or Never", c.ImagePullPolicy)
			}
		}
	}
	check(specAt+".initContainers", spec.InitContainers)
	check(specAt+".containers", spec.Containers)
	for i, ref := range spec.ImagePullSecrets {
		if ref.Name == "" {
			e.add(fmt.Sprintf("%s.imagePullSecrets[%d].name", specAt, i), "a secret name is required")
			continue
		}
		s.secrets = append(s.secrets, ref.Name)
	}
	return s
}

func containersOf(spec corev1.PodSpec) []eci.Container {
	var out []eci.Container
	for _, c := range append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...) {
		out = append(out, eci.Container{Name: c.Name, Image: c.Image, ImagePullPolicy: string(c.ImagePullPolicy)})
	}
	return out
}

// validateDeployment checks a Deployment and warns about pull annotations
// on its own metadata, where they have no effect.
func validateDeployment(e *errs, d *appsv1.Deployment) (podSettings, []string) {
	var warnings []string
	for _, k := range eci.PullAnnotations {
		if _, ok := d.Annotations[k]; ok {
			warnings = append(warnings, fmt.Sprintf("%s: metadata.annotations[%s] has no effect on the Deployment's pods: annotations are read from the pod template; move it to spec.template.metadata.annotations", e.ref, k))
		}
	}
	if r := replicas(d); r < 0 || r > MaxReplicas {
		e.add("spec.replicas", "%d: want 0–%d", r, MaxReplicas)
	}
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels)+len(d.Spec.Selector.MatchExpressions) == 0 {
		e.add("spec.selector", "a selector is required")
	} else if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil {
		e.add("spec.selector", "%v", err)
	} else if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		e.add("spec.template.metadata.labels", "the labels %v do not match spec.selector %v: the Deployment would not own its pods", d.Spec.Template.Labels, sel)
	}
	s := settingsFrom(e, "spec.template.metadata", d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec)
	return s, warnings
}

// replicas is spec.replicas, 1 when unset (the Kubernetes default).
func replicas(d *appsv1.Deployment) int {
	if d.Spec.Replicas == nil {
		return 1
	}
	return int(*d.Spec.Replicas)
}

// dockerConfig is a kubernetes.io/dockerconfigjson payload.
type dockerConfig struct {
	Auths map[string]struct {
		Username string `json:"username,omitempty"`
		Password string `json:"password,omitempty"`
		Auth     string `json:"auth,omitempty"`
	} `json:"auths"`
}

// credentialsOf parses a dockerconfigjson payload into registry logins.
func credentialsOf(raw []byte) ([]pull.Credential, error) {
	var dc dockerConfig
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&dc); err != nil {
		return nil, fmt.Errorf("not a docker config JSON: %v", err)
	}
	if len(dc.Auths) == 0 {
		return nil, fmt.Errorf("no \"auths\" entries")
	}
	var out []pull.Credential
	for server, a := range dc.Auths {
		user, pass := a.Username, a.Password
		if a.Auth != "" {
			b, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("auths[%s].auth is not base64", server)
			}
			u, p, ok := strings.Cut(string(b), ":")
			if !ok {
				return nil, fmt.Errorf("auths[%s].auth is not base64 of user:password", server)
			}
			user, pass = u, p
		}
		if user == "" {
			return nil, fmt.Errorf("auths[%s] has no user name", server)
		}
		out = append(out, pull.Credential{Server: server, Username: user, Password: pass})
	}
	return out, nil
}
