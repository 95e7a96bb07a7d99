package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"
)

// MaxManifestBytes caps a manifest PUT, as distribution does.
const MaxManifestBytes = 4 << 20

// maxManifestDepth bounds how deeply a manifest's JSON may nest.
const maxManifestDepth = 32

// checkManifestPut reads a manifest PUT's body (at most MaxManifestBytes)
// and refuses with 400 MANIFEST_INVALID what the engine must not see:
// anything but one JSON object of schemaVersion 2; a known field spelled
// in another case or given twice (encoding/json would read "sChemAVersion"
// as schemaVersion and keep the last duplicate, so two readers could see
// two documents); a descriptor whose digest is malformed or whose size is
// negative. The engine would answer some of these with a 500. On success
// r.Body is the body again. It reports whether the request may go on.
func checkManifestPut(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxManifestBytes+1))
	r.Body.Close()
	if err != nil {
		writeRegistryError(w, http.StatusBadRequest, "MANIFEST_INVALID", "reading the manifest: "+err.Error())
		return false
	}
	if len(body) > MaxManifestBytes {
		writeRegistryError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID", fmt.Sprintf("a manifest of more than %d bytes", MaxManifestBytes))
		return false
	}
	if err := manifestProblem(body, r.Header.Get("Content-Type")); err != nil {
		writeRegistryError(w, http.StatusBadRequest, "MANIFEST_INVALID", err.Error())
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return true
}

// manifestFields are the field names of OCI and Docker schema 2 manifests,
// indexes and descriptors, by their lower-case form.
var manifestFields = func() map[string]string {
	m := map[string]string{}
	for _, f := range []string{"schemaVersion", "mediaType", "artifactType", "config", "layers", "manifests",
		"blobs", "subject", "annotations", "digest", "size", "urls", "data", "platform", "architecture", "os",
		"os.version", "os.features", "variant", "features"} {
		m[strings.ToLower(f)] = f
	}
	return m
}()

type descriptor struct {
	Digest *string `json:"digest"`
	Size   *int64  `json:"size"`
}

// manifestProblem says what keeps body, sent as contentType, from being a
// manifest the engine may take, or nil.
func manifestProblem(body []byte, contentType string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return errors.New("the manifest is not a JSON object")
	}
	if err := walkObject(dec, "", true, 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("the manifest has data after its JSON object")
	}
	var m struct {
		SchemaVersion *int         `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        *descriptor  `json:"config"`
		Subject       *descriptor  `json:"subject"`
		Layers        []descriptor `json:"layers"`
		Manifests     []descriptor `json:"manifests"`
		Blobs         []descriptor `json:"blobs"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("the manifest does not parse: %v", err)
	}
	if m.SchemaVersion == nil {
		return errors.New("the manifest has no schemaVersion: push a Docker v2 schema 2 or OCI manifest (schemaVersion 2)")
	}
	if *m.SchemaVersion != 2 {
		return fmt.Errorf("schemaVersion %d: only schema 2 manifests (Docker v2 schema 2, OCI) are accepted", *m.SchemaVersion)
	}
	// A document that reads as both a manifest and an index could be
	// pulled as either (CVE-2021-41190).
	if (m.Config != nil || m.Layers != nil) && m.Manifests != nil {
		return errors.New("the document has both config or layers and manifests: push a manifest or an index, not both (CVE-2021-41190)")
	}
	if ct, _, _ := mime.ParseMediaType(contentType); m.MediaType != "" && ct != "" && m.MediaType != ct {
		return fmt.Errorf("the document's mediaType %q is not its Content-Type %q", m.MediaType, ct)
	}
	check := func(field string, d *descriptor) error {
		if d == nil {
			return nil
		}
		if d.Digest == nil {
			return fmt.Errorf("%s: no digest", field)
		}
		if _, err := digest.Parse(*d.Digest); err != nil {
			return fmt.Errorf("%s.digest %q: %v", field, *d.Digest, err)
		}
		if d.Size == nil {
			return fmt.Errorf("%s: no size", field)
		}
		if *d.Size < 0 {
			return fmt.Errorf("%s.size %d is negative", field, *d.Size)
		}
		return nil
	}
	if err := check("config", m.Config); err != nil {
		return err
	}
	if err := check("subject", m.Subject); err != nil {
		return err
	}
	for name, list := range map[string][]descriptor{"layers": m.Layers, "manifests": m.Manifests, "blobs": m.Blobs} {
		for i := range list {
			if err := check(fmt.Sprintf("%s[%d]", name, i), &list[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkObject reads the members of an object whose '{' dec has just
// returned: no key twice, and (when caseCheck) no known field name in
// another case. Annotations hold free-form keys, so below them only
// duplicates count.
func walkObject(dec *json.Decoder, path string, caseCheck bool, depth int) error {
	if depth > maxManifestDepth {
		return fmt.Errorf("the manifest nests deeper than %d levels", maxManifestDepth)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("the manifest does not parse: %v", err)
		}
		key := tok.(string) // the decoder returns object keys as strings
		at := strings.TrimPrefix(path+"."+key, ".")
		if seen[key] {
			return fmt.Errorf("%s: the field is given twice", at)
		}
		seen[key] = true
		if canon, ok := manifestFields[strings.ToLower(key)]; caseCheck && ok && canon != key {
			return fmt.Errorf("%s: field names are case-sensitive: write %s", at, canon)
		}
		if err := walkValue(dec, at, caseCheck && key != "annotations", depth); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

func walkValue(dec *json.Decoder, path string, caseCheck bool, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("the manifest does not parse: %v", err)
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, path, caseCheck, depth+1)
	case json.Delim('['):
		if depth+1 > maxManifestDepth {
			return fmt.Errorf("the manifest nests deeper than %d levels", maxManifestDepth)
		}
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, fmt.Sprintf("%s[%d]", path, i), caseCheck, depth+1); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
}
