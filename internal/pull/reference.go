package pull

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/distribution/reference"
)

// checkReference holds an image reference to the distribution grammar —
// stricter than the client library's, which lets through what every
// registry then refuses (`ns/../app`, `ns//app`, a tag starting with `.`,
// names over 255 characters) — and its port, when it has one, to 1–65535.
// A pod's image fails here, as invalid, with the rule it broke, instead of
// later at the registry with a less helpful answer.
func checkReference(image string) error {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		if why := explainReference(image); why != "" {
			return errors.New(why)
		}
		return err
	}
	if _, port, err := net.SplitHostPort(reference.Domain(named)); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not a port number (1–65535)", port)
		}
	}
	return nil
}

var (
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagGrammar    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// explainReference names the rule a malformed reference breaks, where the
// grammar's own errors ("invalid reference format", "invalid checksum
// digest format") do not; "" when it cannot tell.
func explainReference(image string) string {
	switch {
	case strings.Contains(image, "://"):
		return "an image reference has no scheme: drop the http:// or https://"
	case strings.ContainsAny(image, " \t\r\n"):
		return "an image reference has no spaces"
	}
	rest, dgst, hasDigest := strings.Cut(image, "@")
	if hasDigest && strings.Contains(dgst, "/") && !strings.Contains(rest, "/") {
		return "credentials (user:password@) do not belong in an image reference: give the pod an imagePullSecret"
	}
	if hasDigest {
		alg, hex, _ := strings.Cut(dgst, ":")
		switch alg {
		case "sha256", "sha512":
			n := map[string]int{"sha256": 64, "sha512": 128}[alg]
			if len(hex) != n || strings.Trim(hex, "0123456789abcdef") != "" {
				return fmt.Sprintf("digest %q: want %s: and %d lowercase hex digits", dgst, alg, n)
			}
		default:
			return fmt.Sprintf("digest %q: the algorithm must be sha256 or sha512", dgst)
		}
	}
	name, tag := rest, ""
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		name, tag = rest[:i], rest[i+1:]
		if !tagGrammar.MatchString(tag) {
			return fmt.Sprintf("tag %q: 1–128 of A-Z a-z 0-9 _ . -, not starting with . or -", tag)
		}
	}
	parts := strings.Split(name, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		parts = parts[1:] // the registry host
	}
	for _, p := range parts {
		if !pathComponent.MatchString(p) {
			return fmt.Sprintf("repository path component %q: lowercase letters and digits, separated by one . or _, two _, or dashes (no empty, \".\" or \"..\" components)", p)
		}
	}
	return ""
}
