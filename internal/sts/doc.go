// Package sts owns temporary credentials: AssumeRole (including role
// chaining and session policies), and the verification of the credentials
// it issues.
//
// Session credentials are stateless (DESIGN §4). The SecurityToken is a
// self-contained, MAC-protected record of the session — account, role name
// and immutable RoleId, session name, expiry, session policy — and the
// session's AccessKeySecret is derived from the master key and the session's
// AccessKeyId. Any replica holding the master key verifies a session without
// a lookup; permissions are still evaluated from the current RAM state at
// each use, intersected with the session policy, so detaching a policy or
// deleting the role takes effect at once.
//
// Rules (reference/domain.md §1.10, reliability.md §1.1–1.2):
//   - the caller must be a RAM user, a role session, or a service principal;
//     the root identity never assumes a role;
//   - a user or session needs sts:AssumeRole on the role (its own policies),
//     and the role's trust policy must admit it; a service needs only the
//     trust policy;
//   - DurationSeconds is 900..the role's MaxSessionDuration, and at most
//     ChainedMaxDuration (3600 s) when the caller is itself a role session;
//     out-of-range values are errors, never clamped;
//   - a session policy can only narrow: effective = role ∩ session.
package sts
