// Package policy owns the Alibaba Cloud RAM policy language as rolepull
// implements it: a strict parser that compiles a document once, a linear
// wildcard matcher, and an evaluator that returns a decision with the
// statements that made it. It knows nothing about accounts, roles or
// sessions; callers (iam, sts) decide which policies apply to a request and
// expand the caller into its principals.
//
// # Documents
//
// Three kinds of document share one grammar ([Kind]): Identity policies
// attached to users and roles, Trust policies (a role's
// AssumeRolePolicyDocument) and Session policies (the Policy parameter of
// AssumeRole). [Parse] accepts exactly:
//
//   - at most MaxIdentityBytes, MaxTrustBytes or MaxSessionBytes raw bytes,
//     checked before anything else (whitespace counts);
//   - valid UTF-8 without a byte order mark, whose characters are all tab,
//     line feed, carriage return or U+0020–U+00FF; strings after JSON
//     unescaping must stay within U+0020–U+00FF;
//   - one JSON object with no duplicate keys at any level (encoding/json
//     would keep the last one, which is a parser differential), nesting at
//     most 32 deep, nothing after it (no second value, no comments);
//   - members "Version", which must be the string "1", and "Statement", a
//     non-empty list. A lone statement object is refused: RAM documents always
//     use a list and a second spelling buys nothing. Field names are
//     case-sensitive and unknown fields are errors.
//
// A statement has an optional "Sid", an "Effect" of exactly "Allow" or
// "Deny", exactly one of "Action"/"NotAction", and an optional "Condition".
// Identity and Session statements need exactly one of
// "Resource"/"NotResource" and may not have "Principal". Trust statements
// need "Principal", may not have "Resource", "NotResource" or "NotAction",
// and every Action must be an sts action, so a trust policy cannot grant
// anything but assuming the role. Action, Resource and the Principal
// members are a non-empty string or a non-empty list of non-empty strings.
//
// Actions are "*" or "service:ActionName"; the service code is lower-case
// letters, digits and hyphens, and only the action name may hold wildcards.
// Resources are "*" or "acs:service:region:account:relative-id": region and
// account may be empty or wildcarded, and the relative id is printable ASCII
// that may contain further colons. Patterns are capped at 1024 bytes.
//
// Principal members are "RAM" (acs:ram::<16-digit account>:root,
// :user/<name> or :role/<name>), "Service" (a lower-case DNS-style name such
// as eci.aliyuncs.com) and "Federated" (acs:ram::<account>:oidc-provider/<name>
// or :saml-provider/<name>). Principals are identities, never patterns:
// wildcards, including a bare "*", are refused.
//
// Every problem is reported at once, each as a [*ParseError] whose Path
// locates it (`Statement[2].Resource[0]`,
// `Statement[0].Condition.StringEquals["acs:Foo"]`), joined with
// errors.Join. A failed Parse returns a nil policy.
//
// [Policy.Warnings] lists legal but risky constructs (Allow with NotAction
// or NotResource, unconditional Allow of "*" on "*") for policy authors.
//
// [Policy.String] is the canonical form: compact, fixed member order,
// one-element lists as bare values, condition clauses sorted. It is never
// longer than the document it came from, so it always re-parses to an equal
// policy.
//
// # Matching
//
// In Action and Resource patterns '*' matches any run of bytes including
// none, crossing '/' and ':', and '?' matches exactly one byte. Matching
// is ASCII case-insensitive: RAM treats action names and resource names as
// case-insensitive, and ACR's instance, namespace and repository names are
// lower-case anyway, so folding can only make a pattern written in the
// console's mixed case still match. Folding is ASCII-only everywhere
// (actions, resources, principals, context keys, ...IgnoreCase operators)
// because Unicode folding maps characters such as U+212A KELVIN SIGN onto
// ASCII letters. [Match] splits the pattern at its stars, anchors the
// first and last pieces at the ends of the subject and finds each middle
// piece at its leftmost occurrence with a bit-parallel Shift-And scan: no
// recursion, no allocation, O((len(s)+len(pattern))·⌈r/64⌉) word operations,
// where r is the longest star-free run of the pattern. With patterns capped
// at 1024 bytes, ⌈r/64⌉ ≤ 16, so matching is linear in the subject: at most
// 16 words of state per subject byte (about a millisecond for a 64 KiB
// subject in the very worst case, well under a microsecond for ARN-sized
// subjects).
//
// Principals match exactly, ASCII case-insensitively, against the request's
// principals of the same Type. The caller expands its identity: a session of
// role R in account A counts as RAM acs:ram::A:root and RAM acs:ram::A:role/R.
//
// # Conditions
//
// "Condition" maps operators to {key: value or list of values}. The
// operators are StringEquals, StringNotEquals, StringEqualsIgnoreCase,
// StringNotEqualsIgnoreCase, StringLike, StringNotLike (case-sensitive
// globs), NumericEquals, NumericNotEquals, NumericLessThan,
// NumericLessThanEquals, NumericGreaterThan, NumericGreaterThanEquals, the
// same six for Date, Bool, IpAddress and NotIpAddress, each also with an
// IfExists suffix. Operator names are case-sensitive. The AWS set operators
// (ForAllValues:, ForAnyValue:) and Null are not part of RAM's documented
// language and are refused, which also removes the AWS trap where a
// ForAllValues Deny silently never fires on a missing key.
//
// Keys are compared ASCII case-insensitively and must be one of
// acs:SourceIp, acs:SourceVpc, acs:AccessId, acs:CurrentTime,
// acs:SecureTransport, acs:MFAPresent, acs:PrincipalArn, sts:ExternalId,
// oidc:iss, oidc:aud, oidc:sub, acs:RequestTag/<tag> or acs:ResourceTag/<tag>.
// An unknown key is a Parse error: a misspelt key in a Deny would otherwise
// disable the Deny without a word.
//
// Values are compiled at Parse time. Numeric values are JSON numbers or
// strings in JSON number syntax with a finite float64 value ("1e999",
// "0x10" and "Inf" are refused). Dates are RFC 3339 only (e.g.
// 2006-01-02T15:04:05Z); epoch numbers are refused because seconds and
// milliseconds are indistinguishable. Bool values are "true" or "false"
// (string or JSON boolean). IP values are IPv4 or IPv6 addresses or CIDR
// blocks without host bits; IPv4-mapped IPv6 addresses count as IPv4 on both
// sides.
//
// Operators are ANDed, keys within an operator are ANDed, and the values
// listed for one key are ORed. A positive operator holds when any request
// value for the key matches any listed value; a negated operator
// (StringNot*, NumericNotEquals, DateNotEquals, NotIpAddress) holds when no
// request value matches any listed value. A missing key (absent, or present
// with no values) makes positive operators false, negated operators true,
// and any IfExists operator true.
//
// A request value that does not parse as the operator's type ("abc" for a
// Numeric key), and a key the request spells twice in different cases, make
// the clause undecidable unless a readable value already settled it. An
// undecidable statement is resolved towards denial: an Allow statement does
// not apply and a Deny statement does. A malformed request can therefore
// neither switch a Deny off nor switch an Allow on.
//
// # Evaluation
//
// A statement applies when its action part matches (Action: some pattern
// matches; NotAction: no pattern does), its target matches (Identity and
// Session: Resource has a pattern matching some request resource, or
// NotResource has some request resource that no pattern matches; Trust:
// some listed principal equals some request principal) and its conditions
// hold. A request with an empty Action, or an Identity/Session request with
// no resources, matches nothing.
//
// [Evaluate] treats its policies as one set: explicit Deny anywhere wins,
// otherwise any Allow allows, otherwise NoMatch, which callers treat as a
// denial. The result names every statement that decided, so order never
// matters. [Intersect] layers results that must all allow, such as a role's
// policies and its session policy: a session policy can narrow a role but
// never widen it.
package policy
