// Package vpcapi serves the VPC OpenAPI (version 2016-04-28) over package
// openapi — CreateVpc, DescribeVpcs, CreateVSwitch, DescribeVSwitches —
// with responses shaped as alibaba-cloud-sdk-go's services/vpc decodes
// them. VPCs and vSwitches are package netmodel's: real address blocks of
// the loopback range, so that the registry can tell where a connection
// comes from by its source address.
//
// Address blocks are assigned, not chosen. CreateVpc and CreateVSwitch
// accept a CidrBlock (it must parse as one) but netmodel gives every VPC
// the next free 127.(10+k).0.0/16 and every vSwitch the next free /24 of
// its VPC; the response's CidrBlock (an addition to CreateVpc's vendor
// response, which the SDK ignores) and DescribeVpcs/DescribeVSwitches say
// which block was assigned. Description and tags are accepted and not
// kept.
//
// The API is regional: a request's region is its RegionId (the v1 SDK
// always sends it), else the server's default region. Describe* list that
// region's resources; CreateVSwitch refuses a VPC of another region as not
// found, and a ZoneId outside the VPC's region.
//
// Authorization asks RAM for vpc:<Action> on
//
//	CreateVpc, DescribeVpcs      acs:vpc:REGION:UID:vpc/*
//	CreateVSwitch                acs:vpc:REGION:UID:vpc/VPC-ID  (the VPC it goes into)
//	DescribeVSwitches            acs:vpc:REGION:UID:vswitch/*
//
// A VPC of another account does not exist. Wire error codes are the VPC
// product's (InvalidVpcId.NotFound, QuotaExceeded.VSwitch, …), chosen in
// one place, openapi's toWire.
package vpcapi
