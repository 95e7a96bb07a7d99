package registry

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	v2 "github.com/distribution/distribution/v3/registry/api/v2"
)

// checkUploadRange refuses, with 416 RANGE_INVALID, a blob-upload PATCH or
// PUT whose Content-Range is not START-END in bytes (the distribution
// spec's form: no unit, no spaces, START ≤ END), before the engine — which
// answered a malformed one with a 500 — sees it. Whether START is where
// the upload stands is still the engine's check (also a 416). It reports
// whether the request may go on.
func checkUploadRange(w http.ResponseWriter, route string, r *http.Request) bool {
	if route != v2.RouteNameBlobUploadChunk || (r.Method != http.MethodPatch && r.Method != http.MethodPut) {
		return true
	}
	vals := r.Header.Values("Content-Range")
	if len(vals) == 0 {
		return true
	}
	if len(vals) == 1 {
		if start, end, ok := parseRange(vals[0]); ok && start <= end {
			return true
		}
	}
	writeRegistryError(w, http.StatusRequestedRangeNotSatisfiable, "RANGE_INVALID",
		fmt.Sprintf("Content-Range %q: want one START-END of byte offsets, START at most END, starting where the upload stands (e.g. 0-1023 for a first chunk of 1 KiB)", clip(strings.Join(vals, ", "))))
	return false
}

// parseRange parses START-END, each 1–19 decimal digits.
func parseRange(s string) (start, end int64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found || !digits(a) || !digits(b) {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	return start, end, err1 == nil && err2 == nil
}

func digits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
