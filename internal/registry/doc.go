// Package registry owns the OCI data plane of every Container Registry
// instance: one listener, routed by Host to the instance a domain names,
// with the CNCF distribution engine embedded (one app per instance, blobs
// under the data directory) behind rolepull's own front door:
//
//  1. network access control by source address (DESIGN §3): an Enterprise
//     instance's -vpc domain admits only VPCs bound to it, its public and
//     custom domains only sources on the allow-list while internet access
//     is on; anything else has its connection reset — the client sees a
//     network error, never a 401;
//  2. a Docker token endpoint on the same host (/token, the realm of every
//     challenge, so clients that refuse cross-host realms work), which
//     authenticates a temporary password (or an AccessKey), asks RAM about
//     every requested scope — cr:PullRepository / cr:PushRepository on the
//     repository and instance ARNs — and grants only the allowed subset in
//     a JWT signed with Ed25519, the one algorithm accepted, for at most
//     five minutes;
//  3. bearer verification of every /v2 request as one linear checklist
//     (algorithm, signature, claims decoded strictly — no duplicate or
//     unknown key even under our signature —, issuer, audience = the
//     instance, exp/nbf with a 60-second leeway on an injected clock,
//     scope containment), with
//     verified tokens cached until they expire.
//
// The same listener is an HTTP proxy for its own instance domains only, so
// unmodified OCI clients reach instance domains without DNS
// (HTTP_PROXY=http://127.0.0.1:7500). It is never an open proxy.
package registry
