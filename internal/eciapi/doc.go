// Package eciapi serves Elastic Container Instance's OpenAPI (version
// 2018-08-08, RPC) over package openapi: CreateContainerGroup,
// DescribeContainerGroups, DescribeContainerGroupEvents,
// DeleteContainerGroup, and — in imagecache.go — CreateImageCache,
// DescribeImageCaches, UpdateImageCache and DeleteImageCache, with requests
// and responses shaped as alibaba-cloud-sdk-go's services/eci (v1.63.107)
// encodes and decodes them. It owns the translation only: container groups,
// image caches, their pulls and their events are package eci's.
//
// CreateContainerGroup reads ContainerGroupName, RegionId, ZoneId,
// VSwitchId, Container.N.{Name, Image, ImagePullPolicy},
// ImageRegistryCredential.N.{Server, UserName, Password} and
// AcrRegistryInfo.N.{InstanceId, InstanceName, RegionId, Domain.N,
// ArnService, ArnUser}. SecurityGroupId, RestartPolicy, Tag.N and the
// container fields that only a runtime would use (Cpu, Command, …) are
// accepted and not kept: rolepull runs no processes. AcrRegistryInfo is
// newer than the v1 SDK, which cannot send it; any client that signs raw
// parameters can (openapi.Client, the v1 SDK's CommonRequest, the
// darabonba SDKs).
//
// AcrRegistryInfo becomes the group's frozen pull settings (DESIGN §2):
// each entry's InstanceId (with RegionId, when the instance is in another
// region than the group, and Domain.N) names an instance whose domains are
// pulled secret-free, and each entry's ArnService → ArnUser is a role
// chain. Identical chains are kept once, in order; entries naming the same
// instance are merged. A chain is chosen per image by the account that owns
// the image's instance, so entries need not pair instances with chains. An
// ArnUser without an ArnService, or an ArnService of another account than
// the group's, is refused when the group is created: the ECI service can
// assume only a role of the group's own account (domain.md §1.3, §4 #7).
// Misspelt AcrRegistryInfo and ImageRegistryCredential fields are refused
// too, rather than silently dropped.
//
// Registry passwords (ImageRegistryCredential.N.Password) go to package
// eci, which keeps them sealed; no response or error message repeats them.
//
// Status. A group is Pending while its images are pulled, ImagesReady when
// every image is pulled and verified, and Failed when a pull cannot
// succeed; it is never Running, because nothing runs it. Containers report
// Ready once their image is pulled, with CurrentState {State: Waiting,
// DetailStatus/Reason: ImagesReady}. DescribeContainerGroups adds fields
// the SDK ignores: per container ImageDigest, Identity (who pulled: the
// role chain, a registry credential or anonymous) and FailureKind (trust,
// permission, network, not found); per group Progress {Layers, LayersDone,
// Bytes, BytesDone}.
//
// Selection and paging. DescribeContainerGroups and
// DescribeContainerGroupEvents select by ContainerGroupIds (a JSON array of
// at most 20 ids, as the SDK sends it; unknown ids are skipped),
// ContainerGroupName, Status (Pending, ImagesReady or Failed), ZoneId and
// VSwitchId; Tag filters are refused, as no tags are kept. They list groups
// newest first, Limit (1–100, default 20) at a time; NextToken resumes
// after the last group returned and stays valid when groups are created or
// deleted in between. DescribeContainerGroupEvents returns each group's
// latest 50 events, as the vendor's does.
//
// Image caches. CreateImageCache reads ImageCacheName, RegionId, Image.N
// (1–100), ImageCacheSize (GiB, 20–32768, default 20), RetentionDays
// (1–65536, default never), and ImageRegistryCredential.N and
// AcrRegistryInfo.N exactly as CreateContainerGroup does; they become the
// cache's frozen pull settings. ZoneId, SecurityGroupId, VSwitchId,
// EipInstanceId, AutoCreateEip, ResourceGroupId, Tag.N and the other vendor
// parameters for the build instance are accepted and not kept: rolepull
// builds a cache without one, so ContainerGroupId is always "". A size or
// retention sent out of range is refused, 0 included. UpdateImageCache
// (newer than the v1 SDK) takes ImageCacheId, Image.N (none: the same
// images, pulled again) and RetentionDays, only while the cache is Ready or
// UpdateFailed (else OperationConflict); it refuses AcrRegistryInfo,
// ImageRegistryCredential, another ImageCacheName or another
// ImageCacheSize, which a cache cannot change. DescribeImageCaches selects
// by ImageCacheId, ImageCacheName and Image (a cache holding that image),
// pages as DescribeContainerGroups does, and refuses SnapshotId, Tag.N and
// MatchImage.N filters. Status is the cache's phase (Preparing, Creating,
// Ready, Failed, Updating, UpdateFailed) and Progress a percentage ("100%");
// it adds Identity (who pulled the images), Message (why it failed) and
// Bytes (what it stores).
//
// Region and account. The API is regional: a request's region is its
// RegionId (the v1 SDK always sends it), else the server's default region.
// A group or cache belongs to the caller's account and region; one of
// another account, or of another region, does not exist
// (InvalidParameter.NotFound on Delete* and UpdateImageCache, absent from
// Describe*).
//
// Authorization asks RAM, before anything is read or written, for
//
//	CreateContainerGroup            eci:CreateContainerGroup         acs:eci:REGION:UID:containergroup/*
//	DescribeContainerGroups         eci:DescribeContainerGroups      acs:eci:REGION:UID:containergroup/*
//	DescribeContainerGroupEvents    eci:DescribeContainerGroupEvents acs:eci:REGION:UID:containergroup/*
//	DeleteContainerGroup            eci:DeleteContainerGroup         acs:eci:REGION:UID:containergroup/ID
//	CreateImageCache                eci:CreateImageCache             acs:eci:REGION:UID:imagecache/*
//	DescribeImageCaches             eci:DescribeImageCaches          acs:eci:REGION:UID:imagecache/* (ID with ImageCacheId)
//	UpdateImageCache                eci:UpdateImageCache             acs:eci:REGION:UID:imagecache/ID
//	DeleteImageCache                eci:DeleteImageCache             acs:eci:REGION:UID:imagecache/ID
//
// Wire error codes are chosen in one place, openapi's toWire.
package eciapi
