package kube

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	eciv1 "github.com/rolepull/rolepull/api/eci/v1"
)

// Input limits, checked before any parsing.
const (
	MaxManifestBytes = 3 << 20 // kube-apiserver's request cap
	MaxDocuments     = 256
	MaxDocumentBytes = 1 << 20
)

// ErrTooLarge reports input over MaxManifestBytes.
var ErrTooLarge = errors.New("manifest too large")

// Object is one decoded manifest object.
type Object struct {
	Index int // the document's position in the file, from 0
	Kind  string
	// Exactly one of these is set.
	Pod        *corev1.Pod
	Deployment *appsv1.Deployment
	Secret     *corev1.Secret
	Namespace  *corev1.Namespace
	ImageCache *eciv1.ImageCache
}

// Meta returns the object's metadata.
func (o Object) Meta() *metav1.ObjectMeta {
	switch {
	case o.Pod != nil:
		return &o.Pod.ObjectMeta
	case o.Deployment != nil:
		return &o.Deployment.ObjectMeta
	case o.Secret != nil:
		return &o.Secret.ObjectMeta
	case o.Namespace != nil:
		return &o.Namespace.ObjectMeta
	case o.ImageCache != nil:
		return &o.ImageCache.ObjectMeta
	}
	return &metav1.ObjectMeta{}
}

// Ref names the object as kubectl does: Kind namespace/name.
func (o Object) Ref() string {
	m := o.Meta()
	if m.Namespace == "" {
		return o.Kind + " " + m.Name
	}
	return o.Kind + " " + m.Namespace + "/" + m.Name
}

// FieldError is an error at a place in a manifest.
type FieldError struct {
	Doc   int    // document index, from 0
	Ref   string // "Deployment default/test", when known
	Field string // "spec.template.metadata.annotations[k8s.aliyun.com/acr-user-arns]"
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "document %d", e.Doc+1)
	if e.Ref != "" {
		fmt.Fprintf(&b, " (%s)", e.Ref)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationError holds every error of a manifest; nothing was applied.
type ValidationError struct{ Errs []*FieldError }

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		lines[i] = fe.Error()
	}
	return fmt.Sprintf("%d error(s), nothing applied:\n%s", len(e.Errs), strings.Join(lines, "\n"))
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// Decode splits a YAML or JSON stream into objects, strictly. It returns
// every error it finds.
func Decode(manifest []byte) ([]Object, error) {
	if len(manifest) > MaxManifestBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(manifest), MaxManifestBytes)
	}
	manifest = bytes.TrimPrefix(manifest, []byte("\xef\xbb\xbf"))
	r := utilyaml.NewYAMLReader(bufio.NewReaderSize(bytes.NewReader(manifest), 64<<10))
	var objs []Object
	var errs []*FieldError
	for i := 0; ; i++ {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, &FieldError{Doc: i, Msg: "unreadable YAML: " + err.Error()})
			break
		}
		if i >= MaxDocuments {
			errs = append(errs, &FieldError{Doc: i, Msg: fmt.Sprintf("more than %d documents in one file", MaxDocuments)})
			break
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			i-- // an empty document (a leading ---, comments only)
			continue
		}
		if len(doc) > MaxDocumentBytes {
			errs = append(errs, &FieldError{Doc: i, Msg: fmt.Sprintf("document of %d bytes, at most %d", len(doc), MaxDocumentBytes)})
			continue
		}
		o, fe := decodeOne(i, doc)
		if fe != nil {
			errs = append(errs, fe)
			continue
		}
		objs = append(objs, o)
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errs: errs}
	}
	if len(objs) == 0 {
		return nil, &ValidationError{Errs: []*FieldError{{Msg: "no objects in the manifest"}}}
	}
	return objs, nil
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}

func decodeOne(i int, doc []byte) (Object, *FieldError) {
	var tm typeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return Object{}, &FieldError{Doc: i, Msg: cleanYAMLError(err)}
	}
	o := Object{Index: i, Kind: tm.Kind}
	var target any
	switch tm.APIVersion + "/" + tm.Kind {
	case "v1/Pod":
		o.Pod = &corev1.Pod{}
		target = o.Pod
	case "apps/v1/Deployment":
		o.Deployment = &appsv1.Deployment{}
		target = o.Deployment
	case "v1/Secret":
		o.Secret = &corev1.Secret{}
		target = o.Secret
	case "v1/Namespace":
		o.Namespace = &corev1.Namespace{}
		target = o.Namespace
	case "eci.alibabacloud.com/v1/ImageCache":
		o.ImageCache = &eciv1.ImageCache{}
		target = o.ImageCache
	default:
		if tm.APIVersion == "" || tm.Kind == "" {
			return Object{}, &FieldError{Doc: i, Msg: "apiVersion and kind are required"}
		}
		return Object{}, &FieldError{Doc: i, Field: "kind", Msg: fmt.Sprintf("%s %s is not supported: rolepull applies v1 Pod, apps/v1 Deployment, v1 Secret, v1 Namespace and eci.alibabacloud.com/v1 ImageCache", tm.APIVersion, tm.Kind)}
	}
	if err := yaml.UnmarshalStrict(doc, target); err != nil {
		return Object{}, &FieldError{Doc: i, Ref: tm.Kind, Msg: cleanYAMLError(err)}
	}
	return o, nil
}

// cleanYAMLError drops the conversion layers' prefixes, keeping the line
// and field the decoder names.
func cleanYAMLError(err error) string {
	s := err.Error()
	for _, p := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: ", "while decoding JSON: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}
