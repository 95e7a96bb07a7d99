// Package ram owns identities and permissions: accounts and their root
// identity, RAM users and AccessKeys, roles with trust policies, system and
// custom policies with versions, attachments, service-linked roles, and the
// Authorizer that answers "may this identity do this action on these
// resources, in this context" with the statements that decided.
//
// Everything is kept in a store.Store under the "ram/" prefix, as JSON, and
// every change is one store transaction guarded by compare-and-swap, so
// concurrent replicas never lose an update or leave half an entity behind.
// No secret is stored: an AccessKey's secret is derived from the deployment's
// master key (package keyring) whenever it is needed.
//
// Rules this package settles (see docs/architecture.md for the why):
//   - Names of users, roles and policies are unique per account
//     case-insensitively, and keep the case they were created with.
//   - A role has an immutable RoleId; a role deleted and recreated under the
//     same name is a different role, and sessions of the old one are dead.
//   - The root identity may do anything within its own account and nothing
//     in another. Every other identity needs an Allow from its attached
//     policies (intersected with its session policy, for a role session) and
//     no Deny, and acts only on resources of its own account, except
//     sts:AssumeRole, whose cross-account half is the target role's trust
//     policy.
//   - A service principal (eci.aliyuncs.com) holds no permissions of its
//     own: it only assumes roles whose trust policy names it.
package ram
