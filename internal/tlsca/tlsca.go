package tlsca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
)

// Files in the CA directory.
const (
	CertFile = "ca.crt"        // the CA certificate (PEM): what clients trust
	KeyFile  = "ca.key.sealed" // its private key, sealed under the master key
)

const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 7 * 24 * time.Hour
	// renewBefore is how long before its end a leaf is replaced.
	renewBefore = 24 * time.Hour
	// backdate covers clients whose clocks run a little behind.
	backdate = time.Hour
	// maxLeaves bounds the leaf cache; past it the cache starts again.
	maxLeaves = 4096
)

// ErrUnknownHost reports a handshake for a name the CA does not serve.
var ErrUnknownHost = errors.New("tlsca: no certificate for this name")

// Sealer keeps the CA key at rest (keyring.Keyring implements it).
type Sealer interface {
	Seal(context string, plaintext []byte) ([]byte, error)
	Open(context string, sealed []byte) ([]byte, error)
}

// CA is rolepull's local certificate authority.
type CA struct {
	dir     string
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	leafKey *ecdsa.PrivateKey
	clock   clock.Clock

	mu     sync.Mutex
	leaves map[string]*tls.Certificate
}

// Open loads the CA kept in dir, or makes one there when dir holds no CA
// certificate (a key without a certificate is what a crash during the
// first start leaves, and no client can trust it yet, so it is replaced).
func Open(dir string, keys Sealer, clk clock.Clock) (*CA, error) {
	clk = clock.Or(clk)
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		return create(dir, keys, clk)
	}
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	block, rest := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("tlsca: %s is not one PEM certificate: restore it, or remove %s to make a new CA (clients must then trust the new one)", certPath, dir)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %s: %w", certPath, err)
	}
	sealed, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tlsca: %s exists but %s does not: restore it, or remove %s to make a new CA (clients must then trust the new one)", certPath, keyPath, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	der, err := keys.Open(sealContext(cert.PublicKey), sealed)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %s: %w; it was sealed under another master key or belongs to another certificate", keyPath, err)
	}
	key, err := x509.ParseECPrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %s: %w", keyPath, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("tlsca: %s does not match %s", keyPath, certPath)
	}
	if now := clk.Now(); now.After(cert.NotAfter) {
		return nil, fmt.Errorf("tlsca: the CA in %s expired on %s: remove %s to make a new one (clients must then trust the new one)", certPath, cert.NotAfter.Format(time.DateOnly), dir)
	}
	return newCA(dir, cert, certPEM, key, clk)
}

func create(dir string, keys Sealer, clk clock.Clock) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	id := make([]byte, 4)
	rand.Read(id)
	now := clk.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"rolepull"}, CommonName: "rolepull local CA " + hex.EncodeToString(id)},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	sealed, err := keys.Seal(sealContext(cert.PublicKey), keyDER)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	// The key first: a certificate on disk always has its key.
	if err := keyring.WriteFileAtomic(filepath.Join(dir, KeyFile), sealed, 0o600); err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := keyring.WriteFileAtomic(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	return newCA(dir, cert, certPEM, key, clk)
}

func newCA(dir string, cert *x509.Certificate, certPEM []byte, key *ecdsa.PrivateKey, clk clock.Clock) (*CA, error) {
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	return &CA{dir: dir, cert: cert, certPEM: certPEM, key: key, leafKey: leafKey, clock: clk, leaves: map[string]*tls.Certificate{}}, nil
}

// sealContext binds the sealed key to its certificate's public key.
func sealContext(pub any) string {
	der, _ := x509.MarshalPKIXPublicKey(pub) // an ECDSA P-256 key always marshals
	sum := sha256.Sum256(der)
	return "tls-ca:" + hex.EncodeToString(sum[:])
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

// CertPEM returns the CA certificate, PEM-encoded: what clients import.
func (c *CA) CertPEM() []byte { return bytes.Clone(c.certPEM) }

// CertPath is the file holding CertPEM.
func (c *CA) CertPath() string { return filepath.Join(c.dir, CertFile) }

// Certificate returns the CA certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// Pool returns a pool holding only the CA certificate.
func (c *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// NormalizeName lower-cases a DNS name and drops a trailing dot and any
// port; an IP address is returned in its canonical form.
func NormalizeName(name string) string {
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.ToLower(strings.Trim(name, "[]")), ".")
	if a, err := netip.ParseAddr(name); err == nil {
		return a.Unmap().String()
	}
	return name
}

// Leaf returns a server certificate for name (a DNS name or an IP
// address), issued by the CA, from the cache while it has more than a day
// left. Callers decide which names they serve before asking.
func (c *CA) Leaf(name string) (*tls.Certificate, error) {
	name = NormalizeName(name)
	if name == "" {
		return nil, fmt.Errorf("%w: an empty name", ErrUnknownHost)
	}
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.leaves[name]; ok && now.Before(l.Leaf.NotAfter.Add(-renewBefore)) {
		return l, nil
	}
	notAfter := now.Add(leafLifetime)
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"rolepull"}, CommonName: name},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if a, err := netip.ParseAddr(name); err == nil {
		tmpl.IPAddresses = []net.IP{a.AsSlice()}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &c.leafKey.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("tlsca: issuing for %s: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	l := &tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: c.leafKey, Leaf: leaf}
	if len(c.leaves) >= maxLeaves {
		clear(c.leaves)
	}
	c.leaves[name] = l
	return l, nil
}

// ServerConfig returns a TLS configuration that presents a leaf for the
// name a client asks for (SNI) when serves admits it, and refuses the
// handshake otherwise: the CA never signs a name on request. A client that
// asks for no name (one dialling an IP address) gets a leaf for the local
// address it reached, which is this server's by definition.
func (c *CA) ServerConfig(serves func(name string) bool) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" {
				if hello.Conn == nil {
					return nil, fmt.Errorf("%w: no name and no connection", ErrUnknownHost)
				}
				return c.Leaf(hello.Conn.LocalAddr().String())
			}
			if name := NormalizeName(hello.ServerName); !serves(name) {
				return nil, fmt.Errorf("%w: %q", ErrUnknownHost, name)
			}
			return c.Leaf(hello.ServerName)
		},
	}
}
