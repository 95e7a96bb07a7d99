// Package openapi owns the Alibaba Cloud OpenAPI wire protocol that the
// official SDKs speak: RPC-style requests routed by (Version, Action), their
// two signature schemes — version 1.0 HMAC-SHA1 over the query and form body
// together, and ACS3-HMAC-SHA256 in headers — replay protection, the JSON
// response with its RequestId, and the vendor's error envelope.
//
// Products (RAM, STS, Container Registry, ECI) register their actions on a
// Server; each action receives an authenticated Call and authorizes itself
// through Call.Authorize, which asks RAM. Domain errors become wire errors in
// exactly one place, toWire.
//
// Signature algorithms (reference/deps.md Appendix B):
//
//	v1:   StringToSign = METHOD & enc("/") & enc(sorted k=v of query+form minus Signature)
//	      Signature    = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
//	ACS3: CanonicalRequest = METHOD\n/\nsorted query\nsigned headers\nsigned header names\nhex(sha256(body))
//	      Signature        = hex(HMAC-SHA256(AccessKeySecret, "ACS3-HMAC-SHA256\n" + hex(sha256(CanonicalRequest))))
//
// A request is accepted only within MaxSkew of the server's clock, and a
// SignatureNonce is accepted once per AccessKeyId within that window.
package openapi
