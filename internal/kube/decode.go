package kube

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	eciv1 "github.com/rolepull/rolepull/api/eci/v1"
)

// Input limits, checked before any parsing.
const (
	MaxManifestBytes = 3 << 20 // kube-apiserver's request cap
	MaxDocuments     = 256
	MaxDocumentBytes = 1 << 20
	// MaxExpandedBytes bounds a document once its YAML aliases are
	// expanded: anchors may reuse a block, never multiply a small file
	// into gigabytes (CVE-2019-11253).
	MaxExpandedBytes = 4 * MaxDocumentBytes
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
	Doc   int    // document index, from 0; -1 for the file as a whole
	Ref   string // "Deployment default/test", when known
	Field string // "spec.template.metadata.annotations[k8s.aliyun.com/acr-user-arns]"
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Doc < 0 {
		b.WriteString("manifest")
	} else {
		fmt.Fprintf(&b, "document %d", e.Doc+1)
	}
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
	if fe := checkEncoding(manifest); fe != nil {
		return nil, &ValidationError{Errs: []*FieldError{fe}}
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
		return nil, &ValidationError{Errs: []*FieldError{{Doc: -1, Msg: "no objects in it"}}}
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

// checkEncoding rejects what is not UTF-8 text before any YAML parser
// sees it, naming the line and byte.
func checkEncoding(b []byte) *FieldError {
	if bytes.HasPrefix(b, []byte{0xfe, 0xff}) || bytes.HasPrefix(b, []byte{0xff, 0xfe}) {
		return &FieldError{Doc: -1, Msg: "the file is UTF-16 (it starts with a UTF-16 byte-order mark): save it as UTF-8"}
	}
	line, col := 1, 1
	for off := 0; off < len(b); {
		r, size := utf8.DecodeRune(b[off:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return &FieldError{Doc: -1, Msg: fmt.Sprintf("line %d, column %d (byte %d): byte 0x%02x is not UTF-8: save the file as UTF-8", line, col, off, b[off])}
		case r == 0:
			return &FieldError{Doc: -1, Msg: fmt.Sprintf("line %d, column %d (byte %d): a NUL byte: manifests are text", line, col, off)}
		case r == '\n':
			line, col = line+1, 0
		}
		off += size
		col++
	}
	return nil
}

// checkDocument parses one document as a YAML node tree, without
// expanding aliases, and refuses a chunk holding more than one document
// (a "..." end marker, a separator the splitter did not see) or a
// document whose aliases expand past MaxExpandedBytes.
// It returns the document's top-level kind when it can read one, so that
// errors name the object.
func checkDocument(doc []byte) (kind string, err error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(doc))
	var root yamlv3.Node
	err = dec.Decode(&root)
	if err == io.EOF {
		return "", nil
	}
	kind = topLevelKind(&root) // the tree is whole after a duplicate-key error too
	if err != nil {
		return kind, err
	}
	var extra yamlv3.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil && strings.Contains(err.Error(), "did not find expected <document start>") {
			return kind, fmt.Errorf("%w: a document after a ... line must start with a line holding only ---", err)
		}
		if err != nil {
			return kind, err
		}
		return kind, fmt.Errorf("yaml: line %d: a second YAML document without a --- line before it: separate documents with a line holding only ---", extra.Line)
	}
	if n := expandedSize(&root, map[*yamlv3.Node]int64{}); n > MaxExpandedBytes {
		return kind, fmt.Errorf("yaml: its aliases expand it past %d bytes: excessive aliasing (an anchor may reuse a block, not multiply it)", MaxExpandedBytes)
	}
	return kind, nil
}

// topLevelKind returns the plain scalar under a top-level kind key, or "".
func topLevelKind(root *yamlv3.Node) string {
	n := root
	if n.Kind == yamlv3.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yamlv3.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == "kind" && v.Kind == yamlv3.ScalarNode {
			return v.Value
		}
	}
	return ""
}

// expandedSize is about how many bytes n stands for once every alias is
// replaced by its anchor's value: each node's text plus two. Sizes are
// memoized per node, so the walk is linear in the tree, and saturate just
// past MaxExpandedBytes so they never overflow.
func expandedSize(n *yamlv3.Node, memo map[*yamlv3.Node]int64) int64 {
	if n == nil {
		return 0
	}
	if v, ok := memo[n]; ok {
		return v
	}
	memo[n] = MaxExpandedBytes + 1 // a cycle through an alias counts as too much
	size := int64(len(n.Value) + len(n.Tag) + 2)
	if n.Kind == yamlv3.AliasNode {
		size = expandedSize(n.Alias, memo)
	}
	for _, c := range n.Content {
		if size += expandedSize(c, memo); size > MaxExpandedBytes {
			size = MaxExpandedBytes + 1
			break
		}
	}
	memo[n] = size
	return size
}

func decodeOne(i int, doc []byte) (Object, *FieldError) {
	kind, err := checkDocument(doc)
	if err != nil {
		return Object{}, &FieldError{Doc: i, Ref: kind, Msg: cleanYAMLError(err)}
	}
	// As kube-apiserver does: YAML to JSON with no target type (so an
	// unquoted yes is a boolean, never the string "true"), then a
	// case-sensitive JSON decode that refuses unknown and duplicate fields.
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return Object{}, &FieldError{Doc: i, Ref: kind, Msg: cleanYAMLError(err)}
	}
	var tm typeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(j, &tm); err != nil {
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
	strict, err := kjson.UnmarshalStrict(j, target, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err == nil && len(strict) > 0 {
		err = errors.Join(strict...)
	}
	if err != nil {
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
