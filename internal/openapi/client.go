package openapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls OpenAPI actions with version 1.0 HMAC-SHA1 signatures, the
// scheme every official SDK supports. rolepull's CLI uses it; it is a
// client like any other, with no privileged path into the server.
type Client struct {
	Endpoint        string // base URL, e.g. http://127.0.0.1:7400
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string // for STS credentials
	RegionID        string
	HTTP            *http.Client // nil: http.DefaultClient
}

// maxResponseBytes bounds what the client reads of a response.
const maxResponseBytes = 4 << 20

// Do calls version/action with params and decodes the JSON response into
// out (if non-nil). A vendor error comes back as *Error.
func (c *Client) Do(ctx context.Context, version, action string, params map[string]string, out any) error {
	v := url.Values{}
	for k, val := range params {
		v.Set(k, val)
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	v.Set("Format", "JSON")
	v.Set("Version", version)
	v.Set("Action", action)
	v.Set("AccessKeyId", c.AccessKeyID)
	v.Set("SignatureMethod", "HMAC-SHA1")
	v.Set("SignatureVersion", "1.0")
	v.Set("SignatureNonce", hex.EncodeToString(nonce[:]))
	v.Set("Timestamp", time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	if c.SecurityToken != "" {
		v.Set("SecurityToken", c.SecurityToken)
	}
	if c.RegionID != "" && v.Get("RegionId") == "" {
		v.Set("RegionId", c.RegionID)
	}
	v.Set("Signature", signV1(c.AccessKeySecret, stringToSignV1(http.MethodPost, v), false))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Endpoint, "/")+"/", bytes.NewBufferString(v.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, c.Endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%s: read response: %w", action, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Code, Message string }
		if json.Unmarshal(body, &e) != nil || e.Code == "" {
			return fmt.Errorf("%s: HTTP %d from %s", action, resp.StatusCode, c.Endpoint)
		}
		return &Error{Status: resp.StatusCode, Code: e.Code, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", action, err)
	}
	return nil
}
