package registry

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	v2 "github.com/distribution/distribution/v3/registry/api/v2"
	"github.com/distribution/reference"
)

// pagingName stands for a repository when last is checked as a tag.
var pagingName, _ = reference.WithName("ns/repo")

// checkPaging refuses, with 400, a catalog or tag-list query whose n is
// not a count, or whose last could name no repository or tag — before the
// engine turns a megabyte of last into a file name (and echoes it back in
// a 500). It reports whether the request may go on.
func checkPaging(w http.ResponseWriter, route string, u *url.URL) bool {
	if route != v2.RouteNameCatalog && route != v2.RouteNameTags {
		return true
	}
	q := u.Query()
	if len(q["n"]) > 1 || len(q["last"]) > 1 {
		writeRegistryError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "give n and last at most once each")
		return false
	}
	if s := q.Get("n"); s != "" {
		// The engine bounds a large n itself (a page may hold fewer).
		if _, err := strconv.ParseUint(s, 10, 31); err != nil {
			writeRegistryError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", fmt.Sprintf("n=%s: want a count, 0 to 2147483647", clip(s)))
			return false
		}
	}
	last := q.Get("last")
	switch {
	case last == "":
	case route == v2.RouteNameCatalog && !validName(last):
		writeRegistryError(w, http.StatusBadRequest, "NAME_INVALID", fmt.Sprintf("last=%s is not a repository name (lowercase path components, at most %d characters)", clip(last), reference.NameTotalLengthMax))
		return false
	case route == v2.RouteNameTags && !validTag(last):
		writeRegistryError(w, http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf("last=%s is not a tag (at most 128 of [A-Za-z0-9_.-], not starting with . or -)", clip(last)))
		return false
	}
	return true
}

// validName and validTag hold last to the distribution grammar the engine
// names its storage by.
func validName(s string) bool {
	_, err := reference.WithName(s)
	return err == nil
}

func validTag(s string) bool {
	_, err := reference.WithTag(pagingName, s)
	return err == nil
}

// clip shortens what a client sent for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}
