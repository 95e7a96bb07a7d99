// Package eciapi serves Elastic Container Instance's OpenAPI (version
// 2018-08-08, RPC) over package openapi: CreateContainerGroup,
// DescribeContainerGroups, DescribeContainerGroupEvents and
// DeleteContainerGroup, with requests and responses shaped as
// alibaba-cloud-sdk-go's services/eci (v1.63.107) encodes and decodes them.
// It owns the translation only: container groups, their pulls and their
// events are package eci's.
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
// ArnUser without an ArnService is refused: the ECI service can assume
// only a role of the group's own account.
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
// Paging. DescribeContainerGroups and DescribeContainerGroupEvents list
// groups newest first, Limit (1–100, default 20) at a time; NextToken
// resumes after the last group returned and stays valid when groups are
// created or deleted in between.
//
// Region and account. The API is regional: a request's region is its
// RegionId (the v1 SDK always sends it), else the server's default region.
// A group belongs to the caller's account and region; a group of another
// account, or of another region, does not exist (InvalidParameter.NotFound
// on DeleteContainerGroup, absent from Describe*).
//
// Authorization asks RAM, before anything is read or written, for
//
//	CreateContainerGroup            eci:CreateContainerGroup         acs:eci:REGION:UID:containergroup/*
//	DescribeContainerGroups         eci:DescribeContainerGroups      acs:eci:REGION:UID:containergroup/*
//	DescribeContainerGroupEvents    eci:DescribeContainerGroupEvents acs:eci:REGION:UID:containergroup/*
//	DeleteContainerGroup            eci:DeleteContainerGroup         acs:eci:REGION:UID:containergroup/ID
//
// Wire error codes are chosen in one place, openapi's toWire.
package eciapi
