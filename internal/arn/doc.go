// Package arn owns the grammar of Alibaba Cloud Resource Names,
// acs:SERVICE:REGION:ACCOUNT:RESOURCE, and the typed forms rolepull uses:
//
//	acs:ram::UID:root                             an account's root identity
//	acs:ram::UID:user/NAME                        a RAM user
//	acs:ram::UID:role/NAME                        a RAM role
//	acs:ram::UID:assumed-role/ROLE/SESSION        a role session (also role/ROLE/SESSION)
//	acs:cr:REGION:UID:instance/ID                 a Container Registry instance
//	acs:cr:REGION:UID:repository/ID[/NS[/REPO]]   an instance, namespace or repository
//
// Parse accepts concrete names only (what a request may carry); ParsePattern
// additionally accepts "*" as region or account, as policies may. The prefix
// and service are case-sensitive; account ids are 16 digits; names are ASCII.
// Every error is an *Error naming the input, the field and what is wrong.
//
// The package depends on the standard library only.
package arn
