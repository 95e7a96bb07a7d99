package kube

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/pull"
	"github.com/rolepull/rolepull/internal/store"
)

// ErrNotFound reports an object that does not exist.
var ErrNotFound = errors.New("not found")

// Service applies manifests for accounts.
type Service struct {
	st    store.Store
	eci   *eci.Service
	keys  *keyring.Keyring
	clock clock.Clock
	log   *slog.Logger
}

// New returns a Service.
func New(st store.Store, e *eci.Service, keys *keyring.Keyring, clk clock.Clock, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, eci: e, keys: keys, clock: clock.Or(clk), log: log}
}

const prefix = "kube/"

func nsKey(acct, name string) string         { return prefix + acct + "/namespaces/" + name }
func secretKey(acct, ns, name string) string { return prefix + acct + "/secrets/" + ns + "/" + name }
func deploymentKey(acct, ns, name string) string {
	return prefix + acct + "/deployments/" + ns + "/" + name
}
func deploymentPrefix(acct, ns string) string { return prefix + acct + "/deployments/" + ns + "/" }
func podKey(acct, ns, name string) string     { return prefix + acct + "/pods/" + ns + "/" + name }
func podPrefix(acct, ns string) string        { return prefix + acct + "/pods/" + ns + "/" }
func accountPrefix(acct, kind string) string  { return prefix + acct + "/" + kind + "/" }

// storedSecret keeps a Secret's registry logins sealed.
type storedSecret struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Sealed    []byte    `json:"sealed"`
	Created   time.Time `json:"created"`
}

// storedPod is a pod and the container group that runs its pulls.
type storedPod struct {
	Pod          corev1.Pod `json:"pod"`
	GroupID      string     `json:"groupId"`
	Owner        string     `json:"owner,omitempty"` // the Deployment's name
	TemplateHash string     `json:"templateHash,omitempty"`
	Created      time.Time  `json:"created"`
}

// storedDeployment is a Deployment as applied.
type storedDeployment struct {
	Deployment appsv1.Deployment `json:"deployment"`
	Hash       string            `json:"hash"`
	Created    time.Time         `json:"created"`
}

// Result is what Apply did to one object.
type Result struct {
	Kind, Namespace, Name string
	Action                string // created, configured, unchanged, scaled, rolled out, deleted
}

// ApplyResult is what Apply did.
type ApplyResult struct {
	Objects  []Result
	Warnings []string
}

// Target is who applies, and where.
type Target struct {
	Account   string
	Region    string
	Namespace string // for objects that name none (default "default")
}

// plan is one validated object with what applying it needs.
type plan struct {
	obj      Object
	settings podSettings
	creds    []byte // a Secret's dockerconfigjson
}

// Apply validates a whole manifest, then applies every object; on any
// validation error nothing is applied and every error is returned.
func (s *Service) Apply(ctx context.Context, t Target, manifest []byte) (ApplyResult, error) {
	objs, err := Decode(manifest)
	if err != nil {
		return ApplyResult{}, err
	}
	if t.Namespace == "" {
		t.Namespace = defaultNamespace
	}
	plans, warnings, err := s.validate(ctx, t, objs)
	if err != nil {
		return ApplyResult{Warnings: warnings}, err
	}
	res := ApplyResult{Warnings: warnings}
	// Namespaces first, then secrets, then what uses them.
	order := map[string]int{"Namespace": 0, "Secret": 1, "ImageCache": 2, "Deployment": 3, "Pod": 4}
	sort.SliceStable(plans, func(i, j int) bool { return order[plans[i].obj.Kind] < order[plans[j].obj.Kind] })
	for _, p := range plans {
		r, err := s.applyOne(ctx, t, p)
		if err != nil {
			return res, fmt.Errorf("%s: %w", p.obj.Ref(), err)
		}
		res.Objects = append(res.Objects, r...)
	}
	return res, nil
}

// validate checks every object and every reference between objects (a
// pod's namespace and imagePullSecrets, in the file or already applied).
func (s *Service) validate(ctx context.Context, t Target, objs []Object) ([]plan, []string, error) {
	var all []*FieldError
	var warnings []string
	var plans []plan
	namespaces := map[string]bool{}
	secrets := map[string]bool{}
	for _, o := range objs {
		m := o.Meta()
		if o.Kind == "Namespace" || o.Kind == "ImageCache" {
			m.Namespace = ""
		} else if m.Namespace == "" {
			m.Namespace = t.Namespace
		}
		if o.Kind == "Namespace" {
			namespaces[m.Name] = true
		}
		if o.Kind == "Secret" {
			secrets[m.Namespace+"/"+m.Name] = true
		}
	}
	for _, o := range objs {
		m := o.Meta()
		e := &errs{doc: o.Index, ref: o.Ref()}
		p := plan{obj: o}
		switch o.Kind {
		case "Namespace":
			e.name("metadata.name", m.Name, true)
		case "Secret":
			e.name("metadata.name", m.Name, false)
			if o.Secret.Type != dockerConfigType {
				e.add("type", "%q: rolepull keeps registry logins only, type %s", o.Secret.Type, dockerConfigType)
			}
			raw := o.Secret.Data[dockerConfigKey]
			if v, ok := o.Secret.StringData[dockerConfigKey]; ok {
				raw = []byte(v)
			}
			if len(raw) == 0 {
				e.add("data["+dockerConfigKey+"]", "a docker config JSON is required")
			} else if _, err := credentialsOf(raw); err != nil {
				e.add("data["+dockerConfigKey+"]", "%v", err)
			}
			p.creds = raw
		case "Pod":
			e.name("metadata.name", m.Name, false)
			p.settings = settingsFrom(e, "metadata", o.Pod.ObjectMeta, &o.Pod.Spec)
		case "Deployment":
			e.name("metadata.name", m.Name, true)
			var w []string
			p.settings, w = validateDeployment(e, o.Deployment)
			warnings = append(warnings, w...)
		case "ImageCache":
			e.name("metadata.name", m.Name, false)
			p.settings = validateImageCache(e, o.ImageCache, secrets, func(ns, name string) (bool, error) {
				_, err := s.st.Get(ctx, secretKey(t.Account, ns, name))
				if errors.Is(err, store.ErrNotFound) {
					return false, nil
				}
				return err == nil, err
			})
		}
		annAt := "metadata"
		if o.Kind == "Deployment" {
			annAt = "spec.template.metadata"
		}
		for _, c := range p.settings.chains {
			if r, err := arn.ParseRole(c.Service); err == nil && r.Account != t.Account {
				e.add(annAt+".annotations["+AnnServiceARNs+"]", "%s is a role of account %s, but acr-service-arns names roles of the pod's own account %s (a role of the registry's account goes in acr-user-arns)", c.Service, r.Account, t.Account)
			}
		}
		if o.Kind != "Namespace" && o.Kind != "ImageCache" && !namespaces[m.Namespace] {
			if ok, err := s.namespaceExists(ctx, t.Account, m.Namespace); err != nil {
				return nil, warnings, err
			} else if !ok {
				e.add("metadata.namespace", "namespace %q does not exist: apply a Namespace first", m.Namespace)
			}
		}
		for _, sec := range p.settings.secrets {
			if o.Kind == "ImageCache" {
				break // namespace:secret references, checked by validateImageCache
			}
			if secrets[m.Namespace+"/"+sec] {
				continue
			}
			if _, err := s.st.Get(ctx, secretKey(t.Account, m.Namespace, sec)); errors.Is(err, store.ErrNotFound) {
				e.add("imagePullSecrets", "secret %s/%s does not exist: apply it first (type %s)", m.Namespace, sec, dockerConfigType)
			} else if err != nil {
				return nil, warnings, err
			}
		}
		all = append(all, e.list...)
		plans = append(plans, p)
	}
	if len(all) > 0 {
		return nil, warnings, &ValidationError{Errs: all}
	}
	pre, err := s.preflight(ctx, t, plans)
	if err != nil {
		return nil, warnings, err
	}
	if len(pre) > 0 {
		return nil, warnings, &ValidationError{Errs: pre}
	}
	return plans, warnings, nil
}

func (s *Service) namespaceExists(ctx context.Context, acct, ns string) (bool, error) {
	if ns == defaultNamespace || ns == "kube-system" {
		return true, nil
	}
	_, err := s.st.Get(ctx, nsKey(acct, ns))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *Service) put(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = s.st.Txn(ctx, nil, []store.Op{store.Put(key, b)})
	return err
}

func unmarshal(kv store.KV, v any) error { return json.Unmarshal(kv.Value, v) }

func (s *Service) getJSON(ctx context.Context, key string, v any) (bool, error) {
	kv, err := s.st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(kv.Value, v)
}

func (s *Service) applyOne(ctx context.Context, t Target, p plan) ([]Result, error) {
	m := p.obj.Meta()
	r := Result{Kind: p.obj.Kind, Namespace: m.Namespace, Name: m.Name}
	switch p.obj.Kind {
	case "Namespace":
		found, err := s.getJSON(ctx, nsKey(t.Account, m.Name), &corev1.Namespace{})
		if err != nil {
			return nil, err
		}
		r.Action = "unchanged"
		if !found {
			r.Action = "created"
			if err := s.put(ctx, nsKey(t.Account, m.Name), p.obj.Namespace); err != nil {
				return nil, err
			}
		}
		return []Result{r}, nil
	case "Secret":
		var old storedSecret
		found, err := s.getJSON(ctx, secretKey(t.Account, m.Namespace, m.Name), &old)
		if err != nil {
			return nil, err
		}
		sealed, err := s.keys.Seal(t.Account+"/"+m.Namespace+"/"+m.Name, p.creds)
		if err != nil {
			return nil, err
		}
		r.Action = "created"
		if found {
			r.Action = "configured"
		}
		return []Result{r}, s.put(ctx, secretKey(t.Account, m.Namespace, m.Name), storedSecret{Name: m.Name, Namespace: m.Namespace, Sealed: sealed, Created: s.clock.Now().UTC()})
	case "Pod":
		return s.applyPod(ctx, t, p)
	case "Deployment":
		return s.applyDeployment(ctx, t, p)
	case "ImageCache":
		return s.applyImageCache(ctx, t, p)
	}
	return nil, fmt.Errorf("cannot apply %s", p.obj.Kind)
}

// secretCredentials opens the registry logins of a pod's imagePullSecrets.
func (s *Service) secretCredentials(ctx context.Context, acct, ns string, names []string) ([]pull.Credential, error) {
	var out []pull.Credential
	for _, n := range names {
		var sec storedSecret
		found, err := s.getJSON(ctx, secretKey(acct, ns, n), &sec)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("secret %s/%s does not exist", ns, n)
		}
		raw, err := s.keys.Open(acct+"/"+ns+"/"+n, sec.Sealed)
		if err != nil {
			return nil, err
		}
		creds, err := credentialsOf(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, creds...)
	}
	return out, nil
}

// createGroup creates the container group of a pod.
func (s *Service) createGroup(ctx context.Context, t Target, pod *corev1.Pod, st podSettings, owner string) (eci.ContainerGroup, error) {
	creds, err := s.secretCredentials(ctx, t.Account, pod.Namespace, st.secrets)
	if err != nil {
		return eci.ContainerGroup{}, err
	}
	return s.eci.Create(ctx, eci.CreateInput{
		Account: t.Account, Region: t.Region, Name: pod.Name, VSwitchID: st.vswitch,
		Containers: containersOf(pod.Spec), Labels: pod.Labels, Annotations: pod.Annotations,
		Namespace: pod.Namespace, Owner: owner, Chains: st.chains, Instances: st.instances, Credentials: creds, Cache: st.cache,
	})
}

func (s *Service) applyPod(ctx context.Context, t Target, p plan) ([]Result, error) {
	pod := p.obj.Pod
	r := Result{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name}
	var old storedPod
	found, err := s.getJSON(ctx, podKey(t.Account, pod.Namespace, pod.Name), &old)
	if err != nil {
		return nil, err
	}
	if found {
		if !equality.Semantic.DeepEqual(old.Pod.Spec, pod.Spec) {
			return nil, fmt.Errorf("spec: a pod's spec cannot change once created (only its labels and annotations): delete the pod and apply it again")
		}
		if equality.Semantic.DeepEqual(old.Pod.Labels, pod.Labels) && equality.Semantic.DeepEqual(old.Pod.Annotations, pod.Annotations) {
			r.Action = "unchanged"
			return []Result{r}, nil
		}
		if _, err := s.eci.UpdateMetadata(ctx, t.Account, old.GroupID, pod.Labels, pod.Annotations); err != nil {
			return nil, err
		}
		old.Pod.Labels, old.Pod.Annotations = pod.Labels, pod.Annotations
		r.Action = "configured"
		return []Result{r}, s.put(ctx, podKey(t.Account, pod.Namespace, pod.Name), old)
	}
	g, err := s.createGroup(ctx, t, pod, p.settings, "")
	if err != nil {
		return nil, err
	}
	r.Action = "created"
	return []Result{r}, s.put(ctx, podKey(t.Account, pod.Namespace, pod.Name), storedPod{Pod: *pod, GroupID: g.ID, Created: s.clock.Now().UTC()})
}

// templateHash names a pod template: a changed template is a new hash, so
// new pods.
func templateHash(tpl corev1.PodTemplateSpec) string {
	b, _ := json.Marshal(tpl)
	h := fnv.New64a()
	h.Write(b)
	const chars = "bcdfghjklmnpqrstvwxz2456789" // as Kubernetes: no vowels
	n := h.Sum64()
	out := make([]byte, 10)
	for i := range out {
		out[i] = chars[n%uint64(len(chars))]
		n /= uint64(len(chars))
	}
	return string(out)
}

func suffix() string {
	const chars = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

func (s *Service) applyDeployment(ctx context.Context, t Target, p plan) ([]Result, error) {
	d := p.obj.Deployment
	r := Result{Kind: "Deployment", Namespace: d.Namespace, Name: d.Name}
	var old storedDeployment
	found, err := s.getJSON(ctx, deploymentKey(t.Account, d.Namespace, d.Name), &old)
	if err != nil {
		return nil, err
	}
	hash := templateHash(d.Spec.Template)
	sd := storedDeployment{Deployment: *d, Hash: hash, Created: s.clock.Now().UTC()}
	switch {
	case !found:
		r.Action = "created"
	case equality.Semantic.DeepEqual(old.Deployment.Spec, d.Spec) && equality.Semantic.DeepEqual(old.Deployment.ObjectMeta.Labels, d.Labels) && equality.Semantic.DeepEqual(old.Deployment.ObjectMeta.Annotations, d.Annotations):
		r.Action = "unchanged"
		sd.Created = old.Created
	default:
		r.Action = "configured"
		sd.Created = old.Created
	}
	if err := s.put(ctx, deploymentKey(t.Account, d.Namespace, d.Name), sd); err != nil {
		return nil, err
	}
	pods, err := s.reconcileDeployment(ctx, t, sd, p.settings)
	return append([]Result{r}, pods...), err
}

// reconcileDeployment makes the Deployment's pods match its spec: pods of
// an older template are deleted, pods of the current one are created or
// deleted to match replicas.
func (s *Service) reconcileDeployment(ctx context.Context, t Target, sd storedDeployment, st podSettings) ([]Result, error) {
	d := sd.Deployment
	owned, err := s.ownedPods(ctx, t.Account, d.Namespace, d.Name)
	if err != nil {
		return nil, err
	}
	var results []Result
	var current []storedPod
	for _, p := range owned {
		if p.TemplateHash == sd.Hash {
			current = append(current, p)
			continue
		}
		if err := s.deletePod(ctx, t.Account, p); err != nil {
			return results, err
		}
		results = append(results, Result{Kind: "Pod", Namespace: d.Namespace, Name: p.Pod.Name, Action: "deleted (old template)"})
	}
	want := replicas(&d)
	sort.Slice(current, func(i, j int) bool { return current[i].Created.Before(current[j].Created) })
	for len(current) > want {
		p := current[len(current)-1]
		if err := s.deletePod(ctx, t.Account, p); err != nil {
			return results, err
		}
		current = current[:len(current)-1]
		results = append(results, Result{Kind: "Pod", Namespace: d.Namespace, Name: p.Pod.Name, Action: "deleted (scaled down)"})
	}
	for len(current) < want {
		pod := &corev1.Pod{ObjectMeta: *d.Spec.Template.ObjectMeta.DeepCopy(), Spec: *d.Spec.Template.Spec.DeepCopy()}
		pod.Namespace = d.Namespace
		pod.Name = d.Name + "-" + sd.Hash + "-" + suffix()
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Labels["pod-template-hash"] = sd.Hash
		g, err := s.createGroup(ctx, t, pod, st, "Deployment/"+d.Namespace+"/"+d.Name)
		if err != nil {
			return results, err
		}
		sp := storedPod{Pod: *pod, GroupID: g.ID, Owner: d.Name, TemplateHash: sd.Hash, Created: s.clock.Now().UTC()}
		if err := s.put(ctx, podKey(t.Account, pod.Namespace, pod.Name), sp); err != nil {
			return results, err
		}
		current = append(current, sp)
		results = append(results, Result{Kind: "Pod", Namespace: d.Namespace, Name: pod.Name, Action: "created"})
	}
	return results, nil
}

func (s *Service) ownedPods(ctx context.Context, acct, ns, deployment string) ([]storedPod, error) {
	pods, err := s.pods(ctx, acct, ns)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(pods, func(p storedPod) bool { return p.Owner != deployment }), nil
}

func (s *Service) pods(ctx context.Context, acct, ns string) ([]storedPod, error) {
	p := podPrefix(acct, ns)
	if ns == "" {
		p = accountPrefix(acct, "pods")
	}
	kvs, _, err := s.st.List(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]storedPod, 0, len(kvs))
	for _, kv := range kvs {
		var sp storedPod
		if err := json.Unmarshal(kv.Value, &sp); err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// deletePod deletes a pod's container group (which unpins its images) and
// its record.
func (s *Service) deletePod(ctx context.Context, acct string, p storedPod) error {
	if err := s.eci.Delete(ctx, acct, p.GroupID); err != nil && !errors.Is(err, eci.ErrNotFound) {
		return err
	}
	_, err := s.st.Txn(ctx, nil, []store.Op{store.Delete(podKey(acct, p.Pod.Namespace, p.Pod.Name))})
	return err
}

// Delete deletes one object by kind and name: a Deployment with its pods.
func (s *Service) Delete(ctx context.Context, t Target, kind, name string) (Result, error) {
	ns := t.Namespace
	if ns == "" {
		ns = defaultNamespace
	}
	r := Result{Kind: kind, Namespace: ns, Name: name, Action: "deleted"}
	switch strings.ToLower(kind) {
	case "pod", "pods", "po":
		r.Kind = "Pod"
		var sp storedPod
		found, err := s.getJSON(ctx, podKey(t.Account, ns, name), &sp)
		if err != nil {
			return r, err
		}
		if !found {
			return r, fmt.Errorf("%w: pod %s/%s", ErrNotFound, ns, name)
		}
		return r, s.deletePod(ctx, t.Account, sp)
	case "deployment", "deployments", "deploy":
		r.Kind = "Deployment"
		var sd storedDeployment
		found, err := s.getJSON(ctx, deploymentKey(t.Account, ns, name), &sd)
		if err != nil {
			return r, err
		}
		if !found {
			return r, fmt.Errorf("%w: deployment %s/%s", ErrNotFound, ns, name)
		}
		owned, err := s.ownedPods(ctx, t.Account, ns, name)
		if err != nil {
			return r, err
		}
		for _, p := range owned {
			if err := s.deletePod(ctx, t.Account, p); err != nil {
				return r, err
			}
		}
		_, err = s.st.Txn(ctx, nil, []store.Op{store.Delete(deploymentKey(t.Account, ns, name))})
		return r, err
	case "secret", "secrets":
		r.Kind = "Secret"
		if _, err := s.st.Get(ctx, secretKey(t.Account, ns, name)); errors.Is(err, store.ErrNotFound) {
			return r, fmt.Errorf("%w: secret %s/%s", ErrNotFound, ns, name)
		}
		_, err := s.st.Txn(ctx, nil, []store.Op{store.Delete(secretKey(t.Account, ns, name))})
		return r, err
	case "imagecache", "imagecaches", "ic":
		r.Kind, r.Namespace = "ImageCache", ""
		return r, s.deleteImageCache(ctx, t.Account, name)
	case "namespace", "namespaces", "ns":
		r.Kind, r.Namespace = "Namespace", ""
		pods, err := s.pods(ctx, t.Account, name)
		if err != nil {
			return r, err
		}
		if len(pods) > 0 {
			return r, fmt.Errorf("namespace %s still has %d pod(s): delete them (or their Deployments) first", name, len(pods))
		}
		if _, err := s.st.Get(ctx, nsKey(t.Account, name)); errors.Is(err, store.ErrNotFound) {
			return r, fmt.Errorf("%w: namespace %s", ErrNotFound, name)
		}
		_, err = s.st.Txn(ctx, nil, []store.Op{store.Delete(nsKey(t.Account, name))})
		return r, err
	}
	return r, fmt.Errorf("kind %q: want pod, deployment, imagecache, secret or namespace", kind)
}

// DeleteManifest deletes every object a manifest names.
func (s *Service) DeleteManifest(ctx context.Context, t Target, manifest []byte) ([]Result, error) {
	objs, err := Decode(manifest)
	if err != nil {
		return nil, err
	}
	var out []Result
	// Users before what they use.
	order := map[string]int{"Pod": 0, "Deployment": 1, "ImageCache": 2, "Secret": 3, "Namespace": 4}
	sort.SliceStable(objs, func(i, j int) bool { return order[objs[i].Kind] < order[objs[j].Kind] })
	for _, o := range objs {
		m := o.Meta()
		tt := t
		if m.Namespace != "" {
			tt.Namespace = m.Namespace
		}
		r, err := s.Delete(ctx, tt, o.Kind, m.Name)
		if errors.Is(err, ErrNotFound) {
			r.Action = "not found"
			err = nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
