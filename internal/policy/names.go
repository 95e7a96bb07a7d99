package policy

import (
	"fmt"
	"strings"
)

// Shapes of the strings a statement may contain. They are checked with
// byte loops rather than regular expressions so that the accepted language
// is spelled out here, one rule per line.

func tooLong(s string) string {
	if len(s) > maxPatternBytes {
		return fmt.Sprintf("is %d bytes; a pattern may have at most %d", len(s), maxPatternBytes)
	}
	return ""
}

// checkAction accepts "*" or service:ActionName, where the service code is
// lower-case and only the action name may contain wildcards.
func checkAction(s string) string {
	if msg := tooLong(s); msg != "" {
		return msg
	}
	if s == "*" {
		return ""
	}
	svc, name, ok := strings.Cut(s, ":")
	switch {
	case !ok:
		return fmt.Sprintf("%q is not an action; write * or service:ActionName, e.g. cr:PullRepository", s)
	case svc == "" || !allBytes(svc, isServiceByte):
		return fmt.Sprintf("%q: the service code must be lower-case letters, digits and hyphens", s)
	case name == "":
		return fmt.Sprintf("%q has no action name", s)
	case !allBytes(name, isActionNameByte):
		return fmt.Sprintf("%q: an action name may contain only letters, digits, * and ?", s)
	}
	return ""
}

// checkResource accepts "*" or acs:service:region:account:relative-id.
// Region and account may be empty (global services such as RAM) or
// wildcarded; the relative id is path-like and may itself contain colons.
func checkResource(s string) string {
	if msg := tooLong(s); msg != "" {
		return msg
	}
	if s == "*" {
		return ""
	}
	parts := strings.SplitN(s, ":", 5)
	if parts[0] != "acs" || len(parts) < 5 {
		return fmt.Sprintf("%q is not a resource; write * or acs:service:region:account:relative-id", s)
	}
	service, region, account, relative := parts[1], parts[2], parts[3], parts[4]
	switch {
	case service == "" || !allBytes(service, isServicePatternByte):
		return fmt.Sprintf("%q: the service must be lower-case letters, digits, hyphens or wildcards", s)
	case !allBytes(region, isServicePatternByte):
		return fmt.Sprintf("%q: the region must be lower-case letters, digits, hyphens or wildcards", s)
	case !allBytes(account, isAccountPatternByte):
		return fmt.Sprintf("%q: the account must be digits or wildcards", s)
	case relative == "":
		return fmt.Sprintf("%q has no relative resource id", s)
	case !allBytes(relative, isRelativeByte):
		return fmt.Sprintf("%q: the relative resource id may contain only printable ASCII without spaces", s)
	}
	return ""
}

// checkRAMPrincipal accepts acs:ram::<16-digit account>:root, :user/<name>
// or :role/<name>. Principals are identities, not patterns: a wildcard here
// would trust every account in the cloud.
func checkRAMPrincipal(s string) string {
	if strings.ContainsAny(s, "*?") {
		return fmt.Sprintf("%q: wildcards are not allowed in principals", s)
	}
	rest, ok := strings.CutPrefix(s, "acs:ram::")
	if !ok {
		return fmt.Sprintf("%q is not a RAM principal; write acs:ram::<account-id>:root, :user/<name> or :role/<name>", s)
	}
	account, res, _ := strings.Cut(rest, ":")
	if !isAccountID(account) {
		return fmt.Sprintf("%q: the account ID must be 16 digits", s)
	}
	if res == "root" {
		return ""
	}
	if name, ok := strings.CutPrefix(res, "user/"); ok {
		if !isName(name, 64, isUserNameByte) {
			return fmt.Sprintf("%q: a user name is 1-64 letters, digits, '.', '_' or '-'", s)
		}
		return ""
	}
	if name, ok := strings.CutPrefix(res, "role/"); ok {
		if !isName(name, 64, isRoleNameByte) {
			return fmt.Sprintf("%q: a role name is 1-64 letters, digits, '.' or '-'", s)
		}
		return ""
	}
	return fmt.Sprintf("%q: the principal must be root, user/<name> or role/<name>", s)
}

// checkServicePrincipal accepts a lower-case DNS-like service name such as
// eci.aliyuncs.com.
func checkServicePrincipal(s string) string {
	if strings.ContainsAny(s, "*?") {
		return fmt.Sprintf("%q: wildcards are not allowed in principals", s)
	}
	if len(s) > 253 || !strings.Contains(s, ".") {
		return fmt.Sprintf("%q is not a service principal; write a service name such as eci.aliyuncs.com", s)
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || !allBytes(label, isServiceByte) {
			return fmt.Sprintf("%q is not a service principal; labels are lower-case letters, digits and hyphens", s)
		}
	}
	return ""
}

// checkFederatedPrincipal accepts acs:ram::<account>:saml-provider/<name>
// or :oidc-provider/<name>.
func checkFederatedPrincipal(s string) string {
	if strings.ContainsAny(s, "*?") {
		return fmt.Sprintf("%q: wildcards are not allowed in principals", s)
	}
	rest, ok := strings.CutPrefix(s, "acs:ram::")
	if !ok {
		return fmt.Sprintf("%q is not a federated principal; write acs:ram::<account-id>:oidc-provider/<name> or :saml-provider/<name>", s)
	}
	account, res, _ := strings.Cut(rest, ":")
	if !isAccountID(account) {
		return fmt.Sprintf("%q: the account ID must be 16 digits", s)
	}
	name, ok := strings.CutPrefix(res, "oidc-provider/")
	if !ok {
		name, ok = strings.CutPrefix(res, "saml-provider/")
	}
	if !ok {
		return fmt.Sprintf("%q: the provider must be oidc-provider/<name> or saml-provider/<name>", s)
	}
	if !isName(name, 128, isRoleNameByte) {
		return fmt.Sprintf("%q: a provider name is 1-128 letters, digits, '.' or '-'", s)
	}
	return ""
}

func isAccountID(s string) bool {
	return len(s) == 16 && allBytes(s, isDigit)
}

// isName also refuses "." and "..", which are valid by the character rule
// but read as path traversal to anything that treats ARNs as paths.
func isName(s string, max int, ok func(byte) bool) bool {
	return s != "" && len(s) <= max && s != "." && s != ".." && allBytes(s, ok)
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isLetter(c byte) bool {
	return isLower(c) || 'A' <= c && c <= 'Z'
}
func isWildcard(c byte) bool       { return c == '*' || c == '?' }
func isServiceByte(c byte) bool    { return isLower(c) || isDigit(c) || c == '-' }
func isActionNameByte(c byte) bool { return isLetter(c) || isDigit(c) || isWildcard(c) }
func isServicePatternByte(c byte) bool {
	return isServiceByte(c) || isWildcard(c)
}
func isAccountPatternByte(c byte) bool { return isDigit(c) || isWildcard(c) }
func isRelativeByte(c byte) bool       { return 0x21 <= c && c <= 0x7e }
func isRoleNameByte(c byte) bool       { return isLetter(c) || isDigit(c) || c == '.' || c == '-' }
func isUserNameByte(c byte) bool       { return isRoleNameByte(c) || c == '_' || c == '@' }
