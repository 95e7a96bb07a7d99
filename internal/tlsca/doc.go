// Package tlsca owns rolepull's optional local certificate authority
// (`rolepull up --tls`). The CA is made on the first start with TLS: its
// certificate is DATA_DIR/tls/ca.crt, for clients to trust (`rolepull tls
// ca`), and its ECDSA P-256 key is sealed under the master key, bound to
// that certificate, in DATA_DIR/tls/ca.key.sealed — never on disk in the
// clear. Server certificates are issued in memory, per name, for a week,
// and only for names the caller serves (instance domains, the OpenAPI
// listener's own names): the CA never signs a name on request.
package tlsca
