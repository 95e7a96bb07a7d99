package openapi_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/openapi"
)

// A clock-skew sweep (reliability.md §4): with the server's clock moved
// -20..+20 minutes from the client's in 10-second steps, a signed request
// is accepted exactly when the two clocks are within MaxSkew.
func TestClockSkewSweep(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := openapi.NewServer(keys{}, allowAll{}, openapi.Options{Clock: clk})
	srv.Handle("2015-04-01", "GetCallerIdentity", func(context.Context, *openapi.Call) (any, error) {
		return map[string]string{}, nil
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := &openapi.Client{Endpoint: ts.URL, AccessKeyID: rootKey, AccessKeySecret: rootSecret}
	for off := -20 * time.Minute; off <= 20*time.Minute; off += 10 * time.Second {
		// The client signs with the real time (seconds); the server's
		// clock stands at that time plus off.
		now := time.Now().Truncate(time.Second)
		clk.Set(now.Add(off))
		err := c.Do(t.Context(), "2015-04-01", "GetCallerIdentity", nil, nil)
		skew := off
		if skew < 0 {
			skew = -skew
		}
		// One second of margin either side of the boundary: the client's
		// second may tick between Truncate and signing.
		switch {
		case skew <= openapi.MaxSkew-time.Second && err != nil:
			t.Fatalf("skew %v: refused: %v", off, err)
		case skew > openapi.MaxSkew+time.Second:
			var we *openapi.Error
			if !errors.As(err, &we) || we.Code != "InvalidTimeStamp.Expired" {
				t.Fatalf("skew %v: %v, want InvalidTimeStamp.Expired", off, err)
			}
		}
	}
}
