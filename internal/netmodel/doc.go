// Package netmodel owns rolepull's model of networks on one machine
// (DESIGN §3): VPCs, their vSwitches, workload addresses and internet
// egress addresses are real addresses in the loopback range, so a server
// can tell where a connection comes from by its source address alone.
//
// The address plan:
//
//	127.0.0.0/16        the host itself: the internet, as seen from rolepull
//	127.(10+k).0.0/16   VPC number k (1 ≤ k ≤ 200)
//	127.(10+k).j.0/24   vSwitch number j (1 ≤ j ≤ 250) of VPC k
//	127.250.k.j         the internet egress (NAT) address of vSwitch j of VPC k
//
// Linux routes all of 127.0.0.0/8 to the loopback interface, so a client
// binds any of these addresses without configuration or privileges.
// Classify turns a source address back into "VPC vpc-… (vSwitch vsw-…)",
// "internet egress of vsw-…" or "internet".
package netmodel
