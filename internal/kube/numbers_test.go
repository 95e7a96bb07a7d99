package kube

import (
	"testing"
)

// reliability.md §3.7 item 71: the YAML spellings of an integer field, as
// kube-apiserver reads them (sigs.k8s.io/yaml over YAML 1.1 scalars): an
// integral value in any notation is that integer; anything else is an
// error naming the field.
func TestYAMLIntegerForms(t *testing.T) {
	doc := func(v string) []byte {
		return []byte(`apiVersion: eci.alibabacloud.com/v1
kind: ImageCache
metadata:
  name: c
spec:
  images: [nginx]
  imageCacheSize: ` + v + "\n")
	}
	for _, tt := range []struct {
		yaml string
		want int32 // 0: refused
	}{
		{"40", 40},
		{"0777", 511}, // YAML 1.1 octal, as Kubernetes reads defaultMode: 0644
		{"1e3", 1000}, // a float in notation, an integer in value
		{"1.0e2", 100},
		{"0x20", 32},
		{"+40", 40},
		{"20.5", 0},
		{"1e400", 0},
		{".inf", 0},
		{".nan", 0},
		{`"40"`, 0},
		{"yes", 0},
		{"1_000", 1000}, // YAML 1.1 digit separators
		{"2147483648", 0},
	} {
		t.Run(tt.yaml, func(t *testing.T) {
			objs, err := Decode(doc(tt.yaml))
			if tt.want == 0 {
				if err == nil {
					t.Fatalf("imageCacheSize: %s decoded to %d, want an error", tt.yaml, *objs[0].ImageCache.Spec.ImageCacheSize)
				}
				return
			}
			if err != nil {
				t.Fatalf("imageCacheSize: %s: %v", tt.yaml, err)
			}
			if got := objs[0].ImageCache.Spec.ImageCacheSize; got == nil || *got != tt.want {
				t.Errorf("imageCacheSize: %s = %v, want %d", tt.yaml, got, tt.want)
			}
		})
	}
}
