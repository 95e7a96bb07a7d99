// Package pull owns how an image gets from a registry into the local
// content store for a pod or an image cache, secret-free where the vendor
// says so (DESIGN §2, reference/domain.md §1.2–1.4, §4):
//
//  1. Plan: resolve the image's host to a Container Registry instance —
//     default and -vpc domains by name; a custom domain only when the pod
//     lists its instance in acr-instance-ids ([REGION:]cri-…); anything else
//     is not ACR and never sees role credentials.
//  2. Choose the identity: with no acr-service-arns, the pod account's
//     service-linked role AliyunServiceRoleForECI (same account only);
//     otherwise the positional chain acr-service-arns[i] → acr-user-arns[i]
//     whose last role belongs to the instance's account — with no fallback
//     to the service-linked role.
//  3. Credentials: assume the chain through STS as the ECI service, check
//     cr:GetAuthorizationToken and mint a temporary password for the
//     instance — cached per (whole chain, instance, region), refreshed at
//     half its life, denials never cached.
//  4. Endpoint: the -vpc domain when the pod's VPC is bound to the instance,
//     else the public domain when internet access admits the pod's egress
//     address, else a network failure that says what to enable.
//  5. Fetch: manifest (platform linux/amd64 from an index), config and
//     layers — layers concurrently — each verified while it streams and
//     committed atomically into the content store, where concurrent pulls of
//     one blob fetch it once. A 401 in the middle refreshes the credentials
//     once and retries.
//
// Every failure is a *Failure whose Kind says trust, permission, network or
// not found, with the ARN, the instance and the fix.
package pull
