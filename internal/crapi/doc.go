// Package crapi serves Container Registry's OpenAPI over package openapi:
// the Enterprise API (version 2018-12-01, RPC) with requests and responses
// shaped exactly as github.com/alibabacloud-go/cr-20181201/v2 and
// alibaba-cloud-sdk-go's services/cr_ee decode them, and the Personal
// edition's `GET /tokens` (version 2016-06-07, ROA) as services/cr decodes
// it. It owns the translation only: instances, domains, network access,
// namespaces, repositories and temporary passwords are package acr's; tags
// come from the registry engine through a TagLister.
//
// Every successful 2018-12-01 response carries Code "success" and
// IsSuccess true, as the vendor's do. Times follow the SDK's types: epoch
// milliseconds as numbers (GetInstance, GetRepository, ListRepository,
// GetAuthorizationToken's ExpireTime) or as decimal strings where the SDK
// declares a string (ListInstance's CreateTime/ModifiedTime, ListRepoTag's
// ImageUpdate/ImageCreate). TotalCount is a number in ListInstance and a
// string in ListNamespace, ListRepository and ListRepoTag, again as the
// SDK declares.
//
// Actions beyond the public SDK:
//
//   - CreateInstance (InstanceName, InstanceType = Basic | Standard |
//     Advanced | Personal, RegionId) → {InstanceId}. The vendor creates
//     instances through its billing API; rolepull has no billing.
//   - DeleteInstance (InstanceId).
//   - CreateInstanceDomain, DeleteInstanceDomain, ListInstanceDomain
//     (InstanceId, DomainName) manage custom (USER) domains. The vendor
//     binds custom domains in its console only; these names follow the
//     Create/Delete/List + Instance + object pattern of the public actions
//     (CreateInstanceEndpointAclPolicy, …). ListInstanceDomain lists every
//     domain, SYSTEM and USER, with the endpoint each reaches.
//
// Listing network access. The vendor's SDK has no List action for the
// allow-list or the VPC bindings, and neither has rolepull: the allow-list
// is GetInstanceEndpoint's AclEntries (EndpointType internet), the bound
// VPCs GetInstanceVpcEndpoint's LinkedVpcs, as the SDK reads them.
//
// Region. The API is regional, but a client with an explicit endpoint
// (the darabonba SDKs) names no region at all. So an instance's region is
// enforced only when the request names one — the RegionId parameter (the
// v1 SDK always sends it), or a Host of the form cr.REGION.BASE (BASE =
// acr.Service.Base, aliyuncs.com by default) — and an instance in another
// region is then not found (INSTANCE_NOT_EXIST), the vendor's answer for
// an instance the regional endpoint does not serve. A request naming no
// region reaches the caller's instances in every region; CreateInstance
// then uses the server's default region, and ListInstance lists every
// region.
//
// Authorization. Every action asks RAM for cr:<Action> before it acts or
// reveals anything, on the resource it concerns (ARNs of reference
// domain.md §1.6, the instance's own region):
//
//	CreateInstance, ListInstance          acs:cr:REGION:UID:instance/*  (REGION "*" when ListInstance names none)
//	instance, endpoint, ACL, VPC, domain,
//	  ListNamespace, ListRepository       acs:cr:REGION:UID:instance/ID
//	CreateNamespace, GetNamespace,
//	  ListRepository with a namespace     acs:cr:REGION:UID:repository/ID/NS
//	CreateRepository, GetRepository,
//	  ListRepoTag                         acs:cr:REGION:UID:repository/ID/NS/REPO
//	GetAuthorizationToken, GET /tokens    {acs:cr:REGION:UID:instance/ID, acs:cr:REGION:UID:repository/ID}
//
// An instance is looked up in the caller's own account only, so another
// account's instance does not exist (INSTANCE_NOT_EXIST), whatever the
// caller's policies say: cross-account access goes through a role of the
// owning account.
//
// Personal edition tokens. `GET /tokens` returns
// {"data":{"authorizationToken","tempUserName","expireDate"},"requestId"}
// for the caller's Personal instance in the request's region: the
// x-acs-region-id header (or RegionId in the query, or a cr.REGION.BASE
// Host), else the server's default region.
//
// Wire error codes are chosen in one place, openapi's toWire.
package crapi
