// Command tokensrv is the Docker token endpoint of the peer registry in the
// registry benchmark: it signs EdDSA (Ed25519) JWTs with a key generated at
// start, publishes the public key as a JWKS file for the CNCF registry's
// `auth.token.jwks`, and grants every scope it is asked for. It is a test
// fixture, not an authorization server: it checks no credentials.
//
// When ready it writes TOKEN_ADDR=127.0.0.1:PORT to -out (atomically).
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokensrv:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokensrv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	jwksPath := fs.String("jwks", "", "write the public key set here (required)")
	issuer := fs.String("issuer", "bench-tokensrv", "the tokens' iss")
	ttl := fs.Duration("ttl", 15*time.Minute, "token lifetime")
	out := fs.String("out", "", "write TOKEN_ADDR=… here (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *jwksPath == "" {
		return errors.New("-jwks is required")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	const kid = "bench-eddsa-1"
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"}}}
	b, err := json.Marshal(set)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*jwksPath, b, 0o644); err != nil {
		return err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: &issuerHandler{signer: signer, issuer: *issuer, ttl: *ttl}, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := writeFile(*out, "TOKEN_ADDR="+ln.Addr().String()+"\n"); err != nil {
		return err
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

type claims struct {
	jwt.Claims
	Access []access `json:"access"`
}

type issuerHandler struct {
	signer jose.Signer
	issuer string
	ttl    time.Duration
}

// ServeHTTP answers GET /token?service=S&scope=TYPE:NAME:ACTIONS… with a
// token for service S granting every scope asked.
func (h *issuerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	service := q.Get("service")
	if service == "" {
		http.Error(w, "service is required", http.StatusBadRequest)
		return
	}
	grants := []access{}
	for _, raw := range q["scope"] {
		for _, s := range strings.Fields(raw) {
			// TYPE:NAME:ACTIONS, where NAME may hold one ':' (host:port).
			typ, rest, ok1 := strings.Cut(s, ":")
			i := strings.LastIndexByte(rest, ':')
			if !ok1 || i < 0 {
				http.Error(w, fmt.Sprintf("malformed scope %q", s), http.StatusBadRequest)
				return
			}
			grants = append(grants, access{Type: typ, Name: rest[:i], Actions: strings.Split(rest[i+1:], ",")})
		}
	}
	subject := "anonymous"
	if user, _, ok := r.BasicAuth(); ok {
		subject = user
	}
	now := time.Now().UTC().Truncate(time.Second)
	var jti [16]byte
	rand.Read(jti[:])
	c := claims{Claims: jwt.Claims{
		Issuer: h.issuer, Subject: subject, Audience: jwt.Audience{service},
		Expiry: jwt.NewNumericDate(now.Add(h.ttl)), NotBefore: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now),
		ID: base64.RawURLEncoding.EncodeToString(jti[:]),
	}, Access: grants}
	tok, err := jwt.Signed(h.signer).Claims(c).Serialize()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"token": tok, "access_token": tok, "expires_in": int(h.ttl.Seconds()), "issued_at": now.Format(time.RFC3339),
	})
}

func writeFile(path, content string) error {
	if path == "" {
		_, err := io.WriteString(os.Stdout, content)
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
