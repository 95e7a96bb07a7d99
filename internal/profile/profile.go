// Package profile owns the client profile file: where rolepull's OpenAPI and
// registry are and which AccessKey to call them with. `rolepull up` writes
// the first one (admin-profile.json); `rolepull account create` prints more;
// every CLI verb reads one with --profile.
package profile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Profile is the JSON document. The key names are a contract: scripts and
// the README rely on them.
type Profile struct {
	Endpoint         string `json:"endpoint"`
	RegistryEndpoint string `json:"registryEndpoint,omitempty"`
	Region           string `json:"region"`
	AccountID        string `json:"accountId"`
	AccessKeyID      string `json:"accessKeyId"`
	AccessKeySecret  string `json:"accessKeySecret"`
	// SecurityToken and Expiration are set for a role session's temporary
	// credentials (rolepull assume-role).
	SecurityToken string `json:"securityToken,omitempty"`
	Expiration    string `json:"expiration,omitempty"`
	// CAFile is the PEM file of rolepull's local CA, trusted (besides the
	// system's roots) for an https endpoint (rolepull up --tls).
	CAFile string `json:"caFile,omitempty"`
}

// Validate reports the first missing field.
func (p Profile) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"endpoint", p.Endpoint}, {"region", p.Region}, {"accountId", p.AccountID},
		{"accessKeyId", p.AccessKeyID}, {"accessKeySecret", p.AccessKeySecret},
	} {
		if f.v == "" {
			return fmt.Errorf("profile: %q is missing", f.name)
		}
	}
	return nil
}

// Decode reads a profile strictly: unknown keys are errors.
func Decode(r io.Reader) (Profile, error) {
	var p Profile
	dec := json.NewDecoder(io.LimitReader(r, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("profile: %w", err)
	}
	return p, p.Validate()
}

// Load reads a profile file.
func Load(path string) (Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return Profile{}, err
	}
	defer f.Close()
	p, err := Decode(f)
	if err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Encode renders a profile as indented JSON.
func (p Profile) Encode() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.Encode(p) // a struct of strings always encodes
	return b.Bytes()
}

// Write stores a profile at path with mode 0600, atomically: it holds a
// secret, so it is never readable by others, not even for a moment.
func Write(path string, p Profile) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".profile-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(p.Encode()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
