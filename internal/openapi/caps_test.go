package openapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rolepull/rolepull/internal/openapi"
)

// countingBody is an endless request body that counts what was read of it.
type countingBody struct{ n int64 }

func (c *countingBody) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	c.n += int64(len(p))
	return len(p), nil
}

// Bodies and queries over their caps are refused with their own codes, a
// body after reading at most one byte more than the cap — never whole.
func TestSizeCaps(t *testing.T) {
	srv := openapi.NewServer(keys{}, allowAll{}, openapi.Options{})
	srv.HandleROA(http.MethodPost, "/echo", "2016-06-07", func(context.Context, *openapi.Call) (any, error) { return map[string]string{}, nil })
	srv.HandleROA(http.MethodGet, "/echo", "2016-06-07", func(context.Context, *openapi.Call) (any, error) { return map[string]string{}, nil })
	for _, path := range []string{"/", "/echo"} { // RPC and ROA
		t.Run("body "+path, func(t *testing.T) {
			body := &countingBody{}
			req := httptest.NewRequest(http.MethodPost, path, io.NopCloser(body))
			req.ContentLength = -1 // a stream of unknown length: 1 GiB or more
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "InvalidParameter.BodyTooLarge") {
				t.Errorf("an endless body: %d %s, want 413 InvalidParameter.BodyTooLarge", rec.Code, rec.Body)
			}
			if body.n > openapi.MaxBodyBytes+64<<10 {
				t.Errorf("read %d bytes of the body; the cap is %d", body.n, openapi.MaxBodyBytes)
			}
		})
		t.Run("query "+path, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, path+"?a="+strings.Repeat("q", openapi.MaxQueryBytes), nil)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestURITooLong || !strings.Contains(rec.Body.String(), "InvalidParameter.QueryTooLong") {
				t.Errorf("a %d-byte query: %d %s, want 414 InvalidParameter.QueryTooLong", openapi.MaxQueryBytes+2, rec.Code, rec.Body)
			}
		})
	}
	// Just under the caps is not refused for its size.
	req := httptest.NewRequest(http.MethodPost, "/?a="+strings.Repeat("q", openapi.MaxQueryBytes-2), strings.NewReader("b=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code == http.StatusRequestURITooLong || rec.Code == http.StatusRequestEntityTooLarge {
		t.Errorf("a query of exactly the cap: %d %s", rec.Code, rec.Body)
	}
}
