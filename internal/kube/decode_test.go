package kube

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const seedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: test
  labels:
    app: test
spec:
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      name: nginx-test
      labels:
        app: nginx
        alibabacloud.com/eci: "true"
      annotations:
        k8s.aliyun.com/acr-service-arns: "acs:ram::1609982529000000:role/acr-test"
    spec:
      containers:
      - name: nginx
        image: test0001-registry.cn-hangzhou.cr.aliyuncs.com/eci_test/nginx:1.0
        ports:
        - containerPort: 80
`

func TestDecodeSeed(t *testing.T) {
	objs, err := Decode([]byte(seedDeployment + "---\n# a comment only\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Deployment == nil || objs[1].Namespace == nil {
		t.Fatalf("Decode = %+v", objs)
	}
	e := &errs{doc: 0, ref: objs[0].Ref()}
	s, warnings := validateDeployment(e, objs[0].Deployment)
	if len(e.list) > 0 || len(warnings) > 0 {
		t.Fatalf("validate: %v, warnings %v", e.list, warnings)
	}
	if len(s.chains) != 1 || s.chains[0].Service != "acs:ram::1609982529000000:role/acr-test" {
		t.Errorf("chains = %+v", s.chains)
	}
	// JSON works too.
	if _, err := Decode([]byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}`)); err != nil {
		t.Errorf("JSON manifest: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	bomb := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  annotations:\n" +
		"    a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += "    " + n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n"
		prev = n
	}
	tests := []struct {
		name string
		in   string
		want []string // substrings of the error
	}{
		{"unknown kind", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", []string{"document 1", "kind", "ConfigMap", "not supported"}},
		{"unknown field", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containerz: []\n", []string{"document 1", "containerz"}},
		{"duplicate key", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  name: y\n", []string{"already set"}},
		{"YAML bomb", bomb, []string{"aliasing"}},
		{"no kind", "metadata:\n  name: x\n", []string{"apiVersion and kind are required"}},
		{"string for an int", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: \"2\"\n", []string{"replicas"}},
		{"empty", "# nothing\n", []string{"no objects"}},
		{"second document broken", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Bogus\n", []string{"document 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatal("Decode accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d) // a hang guard, not a timing assertion
			}
		})
	}
	big := strings.Repeat("#", MaxManifestBytes+1)
	if _, err := Decode([]byte(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a %d-byte manifest = %v, want ErrTooLarge", len(big), err)
	}
}

// validatePod runs the pod checks the way Apply does.
func validatePod(t *testing.T, manifest string) []*FieldError {
	t.Helper()
	objs, err := Decode([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	o := objs[0]
	e := &errs{doc: o.Index, ref: o.Ref()}
	if o.Deployment != nil {
		validateDeployment(e, o.Deployment)
	} else {
		settingsFrom(e, "metadata", o.Pod.ObjectMeta, &o.Pod.Spec)
	}
	return e.list
}

func TestAnnotationErrorsAreLocated(t *testing.T) {
	deploy := func(ann string) string {
		return strings.Replace(seedDeployment, `        k8s.aliyun.com/acr-service-arns: "acs:ram::1609982529000000:role/acr-test"`, ann, 1)
	}
	tests := []struct {
		name     string
		manifest string
		field    string
		want     string
	}{
		{"malformed user ARN", deploy(`        k8s.aliyun.com/acr-service-arns: "acs:ram::1609982529000000:role/a"
        k8s.aliyun.com/acr-user-arns: "acs:ram::x:role/y"`),
			"spec.template.metadata.annotations[k8s.aliyun.com/acr-user-arns]", `"acs:ram::x:role/y" is not a role ARN`},
		{"user ARN without a service ARN", deploy(`        k8s.aliyun.com/acr-user-arns: "acs:ram::1298452580000000:role/role-acr"`),
			"spec.template.metadata.annotations[k8s.aliyun.com/acr-user-arns]", "needs a service ARN"},
		{"malformed instance id", deploy(`        k8s.aliyun.com/acr-instance-ids: "cri-j36zhodptmyq****"`),
			"spec.template.metadata.annotations[k8s.aliyun.com/acr-instance-ids]", "not an Enterprise instance id"},
		{"bad region prefix", deploy(`        k8s.aliyun.com/acr-instance-ids: "beijing:cri-abc"`),
			"spec.template.metadata.annotations[k8s.aliyun.com/acr-instance-ids]", "not a region id"},
		{"empty list entry", deploy(`        k8s.aliyun.com/acr-instance-ids: "cri-abc,,cri-def"`),
			"spec.template.metadata.annotations[k8s.aliyun.com/acr-instance-ids]", "empty"},
		{"bool annotation", deploy(`        k8s.aliyun.com/eci-auto-imc: "yes"`),
			"spec.template.metadata.annotations[k8s.aliyun.com/eci-auto-imc]", `want "true" or "false"`},
		{"selector mismatch", strings.Replace(seedDeployment, "      app: nginx\n  template", "      app: other\n  template", 1),
			"spec.template.metadata.labels", "do not match spec.selector"},
		{"bad container name", strings.Replace(seedDeployment, "- name: nginx", "- name: Nginx_1", 1),
			"spec.template.spec.containers[0].name", "Nginx_1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := validatePod(t, tt.manifest)
			for _, fe := range list {
				if fe.Field == tt.field && strings.Contains(fe.Msg, tt.want) {
					if !strings.Contains(fe.Error(), "Deployment test") {
						t.Errorf("error %q does not name the object", fe)
					}
					return
				}
			}
			t.Fatalf("no error at %s containing %q; got %v", tt.field, tt.want, list)
		})
	}
}

func TestTopLevelAnnotationsWarn(t *testing.T) {
	m := strings.Replace(seedDeployment, "  labels:\n    app: test\n", "  labels:\n    app: test\n  annotations:\n    k8s.aliyun.com/acr-instance-ids: cri-abc\n", 1)
	objs, err := Decode([]byte(m))
	if err != nil {
		t.Fatal(err)
	}
	e := &errs{ref: objs[0].Ref()}
	_, warnings := validateDeployment(e, objs[0].Deployment)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "spec.template.metadata.annotations") || !strings.Contains(warnings[0], "no effect") {
		t.Errorf("warnings = %v", warnings)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(seedDeployment))
	f.Add([]byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: e30=\n"))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}"))
	for _, dir := range []string{"accepted", "rejected"} {
		for _, c := range readCorpus(f, dir) {
			f.Add(c.data)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := Decode(b)
		if err != nil {
			// Every refusal is located and says something.
			var ve *ValidationError
			if errors.Is(err, ErrTooLarge) {
				return
			}
			if !errors.As(err, &ve) || len(ve.Errs) == 0 {
				t.Fatalf("Decode error %T %v: want a ValidationError", err, err)
			}
			for _, fe := range ve.Errs {
				if fe.Msg == "" {
					t.Fatalf("an error without a message: %+v", fe)
				}
			}
			return
		}
		last := -1
		for _, o := range objs {
			// Exactly the typed object its Kind names, in document order.
			set := 0
			for _, p := range []bool{o.Pod != nil, o.Deployment != nil, o.Secret != nil, o.Namespace != nil, o.ImageCache != nil} {
				if p {
					set++
				}
			}
			if set != 1 || o.Index <= last {
				t.Fatalf("object %+v: %d typed values, index %d after %d", o, set, o.Index, last)
			}
			last = o.Index
			// What was accepted reads back the same from its JSON form.
			var typed any
			switch {
			case o.Pod != nil:
				typed = o.Pod
			case o.Deployment != nil:
				typed = o.Deployment
			case o.Secret != nil:
				typed = o.Secret
			case o.Namespace != nil:
				typed = o.Namespace
			default:
				typed = o.ImageCache
			}
			j, err := json.Marshal(typed)
			if err != nil {
				t.Fatalf("marshal %s: %v", o.Kind, err)
			}
			again, err := Decode(j)
			if err != nil || len(again) != 1 || again[0].Kind != o.Kind {
				t.Fatalf("%s does not decode again from its JSON %s: %v", o.Kind, j, err)
			}
		}
		for _, o := range objs {
			e := &errs{ref: o.Ref()}
			switch {
			case o.Pod != nil:
				settingsFrom(e, "metadata", o.Pod.ObjectMeta, &o.Pod.Spec)
			case o.Deployment != nil:
				validateDeployment(e, o.Deployment)
			}
		}
	})
}
