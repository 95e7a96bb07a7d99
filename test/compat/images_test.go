package compat

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// layoutTag is the tag an image carries in the OCI layouts the tests write
// (the org.opencontainers.image.ref.name annotation skopeo's oci: and
// regctl's ocidir:// transports look up).
const layoutTag = "v1"

// image is a random image the tests push, with its manifest digest.
type image struct {
	img    v1.Image
	digest v1.Hash
}

// newImage makes a random image with OCI media types throughout (skopeo's
// oci: transport finds only OCI manifests in a layout).
func newImage(t *testing.T) image {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for range 2 {
		l, err := random.Layer(2048, types.OCILayer)
		if err != nil {
			t.Fatalf("random.Layer: %v", err)
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return image{img: img, digest: d}
}

// layout writes the image to a new OCI layout directory under dir, tagged
// layoutTag.
func (i image) layout(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "layout")
	l, err := layout.Write(p, empty.Index)
	if err != nil {
		t.Fatalf("layout.Write: %v", err)
	}
	if err := l.AppendImage(i.img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": layoutTag})); err != nil {
		t.Fatalf("AppendImage: %v", err)
	}
	return p
}

// layerFile writes the image's first layer (a gzipped tar) to a file
// under dir, for crane append.
func (i image) layerFile(t *testing.T, dir string) string {
	t.Helper()
	layers, err := i.img.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers: %v (%d)", err, len(layers))
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	p := filepath.Join(dir, "layer.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// layoutDigest reads the manifest digest of the image tagged tag in an OCI
// layout a client wrote.
func layoutDigest(t *testing.T, dir, tag string) v1.Hash {
	t.Helper()
	l, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("the client wrote no OCI layout at %s: %v", dir, err)
	}
	idx, err := l.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if tag == "" || d.Annotations["org.opencontainers.image.ref.name"] == tag {
			img, err := l.Image(d.Digest)
			if err != nil {
				t.Fatalf("layout image %s: %v", d.Digest, err)
			}
			// Every blob must be there and match its digest and size.
			if err := validate.Image(img); err != nil {
				t.Fatalf("the pulled image %s does not validate: %v", d.Digest, err)
			}
			return d.Digest
		}
	}
	t.Fatalf("no manifest tagged %q in the OCI layout at %s (%d manifests)", tag, dir, len(m.Manifests))
	return v1.Hash{}
}
