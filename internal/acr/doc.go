// Package acr owns Container Registry's control plane: instances (Personal
// and Enterprise editions) in regions, their domains (the default public
// and -vpc domains, custom domains), their network access control
// (internet access with a CIDR allow-list, VPC bindings), namespaces and
// repositories, and temporary passwords (GetAuthorizationToken).
//
// Host names map to instances without DNS (DESIGN §2):
//
//	NAME-registry[-vpc].REGION.cr.BASE              Enterprise, default domains
//	crpi-ID[-vpc].REGION.personal.cr.BASE           Personal
//	registry[-vpc].REGION.BASE                      Personal, legacy shared domain: the namespace names the instance
//	any other host                                  a custom domain only if bound to an instance, else not ACR
//
// Matching is exact and case-insensitive and ignores the port; a suffix is
// never enough (evil.aliyuncs.com.attacker.example is not ACR).
//
// A temporary password is a self-contained, MAC-protected record of the
// identity that asked for it and of the one instance it is for, expiring
// after min(1 h, the identity's session). It grants nothing by itself: the
// registry asks RAM about every scope when it issues a bearer token, so
// revoking a policy takes effect within one bearer-token lifetime.
package acr
