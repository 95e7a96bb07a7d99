package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key length in bytes.
const KeySize = 32

// Purposes separate the derived keys: the same id never yields the same
// bytes for two purposes.
const (
	PurposeAccessKey  = "rolepull/v1/accesskey-secret"
	PurposeSTSSecret  = "rolepull/v1/sts-session-secret"
	PurposeSTSToken   = "rolepull/v1/sts-token-mac"
	PurposeACRToken   = "rolepull/v1/acr-temp-password-mac"
	PurposeSigningKey = "rolepull/v1/registry-signing-key"
	PurposeSealing    = "rolepull/v1/sealed-user-secrets"
)

// Keyring holds the master key.
type Keyring struct {
	master []byte
}

// New returns a Keyring over a master key of KeySize bytes.
func New(master []byte) (*Keyring, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("keyring: master key is %d bytes, want %d", len(master), KeySize)
	}
	return &Keyring{master: append([]byte(nil), master...)}, nil
}

// Generate returns a Keyring over a fresh random master key.
func Generate() (*Keyring, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return &Keyring{master: b}, nil
}

// Load reads a master key file (64 hex characters), creating it with a fresh
// key (mode 0600, written atomically) when it does not exist. A file
// readable by group or others is refused.
func Load(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := Generate()
		if err != nil {
			return nil, err
		}
		if err := WriteFileAtomic(path, []byte(hex.EncodeToString(k.master)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("keyring: create %s: %w", path, err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keyring: %s has mode %v: the master key must be readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	return Parse(string(data))
}

// Parse decodes a master key written as 64 hex characters.
func Parse(s string) (*Keyring, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("keyring: master key is not hex")
	}
	return New(b)
}

// Derive returns HMAC-SHA256(master, purpose || 0x00 || id).
func (k *Keyring) Derive(purpose, id string) []byte {
	m := hmac.New(sha256.New, k.master)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return m.Sum(nil)
}

// Secret returns the 30-character secret derived for id under purpose; it
// is what an AccessKeySecret or an STS AccessKeySecret looks like.
func (k *Keyring) Secret(purpose, id string) string {
	return base64.RawURLEncoding.EncodeToString(k.Derive(purpose, id)[:22])
}

// WriteFileAtomic writes data to path with mode through a synced temporary
// file in the same directory and a rename, then syncs the directory: a
// crash leaves the old file or the new one, never a part.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this is a no-op
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
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
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Seal encrypts secrets a user hands rolepull to keep (a registry password
// of an imagePullSecret) with AES-256-GCM under a key derived from the master
// key; context binds the ciphertext to its owner (an object id), so it
// cannot be moved to another object.
func (k *Keyring) Seal(context string, plaintext []byte) ([]byte, error) {
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, []byte(context)), nil
}

// Open decrypts what Seal sealed for the same context.
func (k *Keyring) Open(context string, sealed []byte) ([]byte, error) {
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("keyring: sealed data too short")
	}
	out, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, errors.New("keyring: sealed data does not open (another master key, or tampered)")
	}
	return out, nil
}

func (k *Keyring) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.Derive(PurposeSealing, "v1"))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
