package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/profile"
)

// defaultProfilePath is $ROLEPULL_PROFILE, else DATA_DIR/admin-profile.json.
func defaultProfilePath() string {
	if p := os.Getenv("ROLEPULL_PROFILE"); p != "" {
		return p
	}
	return filepath.Join(defaultDataDir(), "admin-profile.json")
}

// profileFlag adds --profile to a command that calls the OpenAPI. Its
// default is $ROLEPULL_PROFILE, else DATA_DIR/admin-profile.json.
func profileFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "profile", defaultProfilePath(), "profile file: endpoints and the AccessKey to call with ($ROLEPULL_PROFILE)")
}

func loadClient(path string) (*openapi.Client, profile.Profile, error) {
	p, err := profile.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, p, fmt.Errorf("no profile at %s: start rolepull with `rolepull up`, or pass --profile FILE (or set ROLEPULL_PROFILE)", path)
	}
	if err != nil {
		return nil, p, err
	}
	hc, err := openapiHTTP(p)
	if err != nil {
		return nil, p, fmt.Errorf("%s: %w", path, err)
	}
	return &openapi.Client{Endpoint: p.Endpoint, AccessKeyID: p.AccessKeyID, AccessKeySecret: p.AccessKeySecret, SecurityToken: p.SecurityToken, RegionID: p.Region,
		HTTP: hc}, p, nil
}

// openapiTransports holds one transport per registry endpoint, so that
// the calls of a command (and of every command a test runs in one process)
// share their connections.
var openapiTransports sync.Map // registry endpoint and CA file → *http.Transport

// openapiHTTP is the HTTP client of OpenAPI calls. The environment's proxy
// settings apply, except that a proxy which is the profile's own registry
// listener is bypassed: that listener proxies instance domains only, and
// users export HTTP_PROXY=<registry> for OCI clients, which then run this
// binary as their credential helper with that environment.
//
// With a CA file in the profile (rolepull up --tls) that CA is trusted
// besides the system's roots.
func openapiHTTP(p profile.Profile) (*http.Client, error) {
	key := p.RegistryEndpoint + "\x00" + p.CAFile
	if t, ok := openapiTransports.Load(key); ok {
		return &http.Client{Transport: t.(*http.Transport)}, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	if p.CAFile != "" {
		pool, err := trustCA(p.CAFile)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	t.Proxy = func(r *http.Request) (*url.URL, error) {
		u, err := http.ProxyFromEnvironment(r)
		if u != nil && sameEndpoint(u, p.RegistryEndpoint) {
			return nil, nil
		}
		return u, err
	}
	actual, _ := openapiTransports.LoadOrStore(key, t)
	return &http.Client{Transport: actual.(*http.Transport)}, nil
}

// trustCA returns the system's roots plus the certificates of a PEM file.
func trustCA(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("caFile: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("caFile %s holds no PEM certificate: point it at DATA_DIR/tls/ca.crt (rolepull tls ca)", file)
	}
	return pool, nil
}

// sameEndpoint reports whether u names the endpoint URL's host and port.
func sameEndpoint(u *url.URL, endpoint string) bool {
	e, err := url.Parse(endpoint)
	if err != nil || e.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, e.Host)
}

// call runs one action with the profile's credentials.
func call(ctx context.Context, profilePath, version, action string, params map[string]string, out any) error {
	c, _, err := loadClient(profilePath)
	if err != nil {
		return err
	}
	return c.Do(ctx, version, action, params, out)
}
