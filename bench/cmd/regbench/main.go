// Command regbench is the client side of the registry benchmark
// (bench/run.sh): it makes the incompressible blob, gets bearer tokens,
// pushes the benchmark image, times blob GETs and writes the report.
//
//	regbench gen    -size BYTES -out FILE              → prints the blob's digest
//	regbench token  -registry ADDR [-host H] -service S -scope SCOPE [-user U -password P]
//	regbench push   -registry ADDR [-host H] -token T -repo R -tag TAG -blob FILE -digest D
//	regbench get    -registry ADDR [-host H] -token T -repo R -digest D -size N -runs N …
//	regbench report -raw FILE -out FILE …
//	regbench port                                      → prints a free loopback port
//
// Every request to rolepull carries the instance domain as Host (-host):
// the registry routes by Host, so the client dials ADDR and names the
// domain, as it would through DNS.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "regbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: regbench gen|token|push|get|report|port [flags]")
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"gen": gen, "token": token, "push": push, "get": get, "report": report, "port": port,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q: want gen, token, push, get, report or port", args[0])
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// gen writes size pseudo-random bytes (ChaCha8 seeded from crypto/rand:
// incompressible, and fast enough that making 1 GiB takes about a second)
// and prints their sha256 digest.
func gen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := fs.Int64("size", 1<<30, "bytes")
	out := fs.String("out", "", "file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("gen: -out is required")
	}
	var seed [32]byte
	rand.Read(seed[:])
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(mrand.NewChaCha8(seed), *size), make([]byte, 1<<20)); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sha256:%x\n", h.Sum(nil))
	return nil
}

// port prints a loopback port that was free a moment ago, for servers
// that must be told their address (the peer registry).
func port(_ context.Context, _ []string, stdout, _ io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	_, err = fmt.Fprintln(stdout, ln.Addr().(*net.TCPAddr).Port)
	return err
}

// endpoint is a registry as the client reaches it.
type endpoint struct {
	base  *url.URL // http://ADDR
	host  string   // Host header; empty: ADDR
	token string
	hc    *http.Client
}

func newEndpoint(addr, host, token string) (*endpoint, error) {
	u, err := url.Parse("http://" + addr)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("registry address %q: want HOST:PORT", addr)
	}
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4, ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10}
	return &endpoint{base: u, host: host, token: token, hc: &http.Client{Transport: tr}}, nil
}

func (e *endpoint) request(ctx context.Context, method, ref string, body io.Reader) (*http.Request, error) {
	u, err := e.base.Parse(ref)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if e.host != "" {
		req.Host = e.host
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	return req, nil
}

// do sends req and fails unless the status is want; the body of a
// failure goes into the error.
func (e *endpoint) do(req *http.Request, want int) (*http.Response, error) {
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %s, want %d: %s", req.Method, req.URL.Path, resp.Status, want, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

// token gets a bearer token from a Docker token endpoint.
func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("registry", "", "token endpoint address HOST:PORT (required)")
	host := fs.String("host", "", "Host header (rolepull: the instance domain)")
	service := fs.String("service", "", "service")
	scope := fs.String("scope", "", "scope, e.g. repository:bench/big:pull")
	user := fs.String("user", "", "Basic auth user name")
	pass := fs.String("password", "", "Basic auth password")
	if err := fs.Parse(args); err != nil {
		return err
	}
	e, err := newEndpoint(*addr, *host, "")
	if err != nil {
		return err
	}
	q := url.Values{"service": {*service}, "scope": {*scope}}
	req, err := e.request(ctx, http.MethodGet, "/token?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if *user != "" {
		req.SetBasicAuth(*user, *pass)
	}
	resp, err := e.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("token response: %w", err)
	}
	tok := body.Token
	if tok == "" {
		tok = body.AccessToken
	}
	if tok == "" {
		return errors.New("the token response holds no token")
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// push uploads the blob as one monolithic upload (POST, then PUT with the
// whole body), a config naming it as its only layer, and an OCI manifest
// under the tag; it prints the manifest's digest.
func push(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("registry", "", "registry address HOST:PORT (required)")
	host := fs.String("host", "", "Host header (rolepull: the instance domain)")
	tok := fs.String("token", "", "bearer token with push,pull on -repo")
	repo := fs.String("repo", "bench/big", "repository")
	tag := fs.String("tag", "v1", "tag")
	blob := fs.String("blob", "", "the layer file (required)")
	digest := fs.String("digest", "", "the layer's digest (from gen; required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	e, err := newEndpoint(*addr, *host, *tok)
	if err != nil {
		return err
	}
	f, err := os.Open(*blob)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := e.putBlob(ctx, *repo, *digest, f, fi.Size()); err != nil {
		return fmt.Errorf("push the layer: %w", err)
	}
	fmt.Fprintf(stderr, "pushed %d bytes in %.2f s (%.0f MB/s)\n", fi.Size(), time.Since(start).Seconds(), float64(fi.Size())/time.Since(start).Seconds()/1e6)

	config := fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%q]}}`, *digest)
	configDigest := sha256Digest([]byte(config))
	if err := e.putBlob(ctx, *repo, configDigest, strings.NewReader(config), int64(len(config))); err != nil {
		return fmt.Errorf("push the config: %w", err)
	}
	type descriptor struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	}
	manifest, err := json.Marshal(struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}{2, mediaTypeOCIManifest,
		descriptor{"application/vnd.oci.image.config.v1+json", configDigest, int64(len(config))},
		[]descriptor{{"application/vnd.oci.image.layer.v1.tar", *digest, fi.Size()}}})
	if err != nil {
		return err
	}
	req, err := e.request(ctx, http.MethodPut, "/v2/"+*repo+"/manifests/"+*tag, strings.NewReader(string(manifest)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaTypeOCIManifest)
	resp, err := e.do(req, http.StatusCreated)
	if err != nil {
		return fmt.Errorf("push the manifest: %w", err)
	}
	resp.Body.Close()
	fmt.Fprintln(stdout, sha256Digest(manifest))
	return nil
}

const mediaTypeOCIManifest = "application/vnd.oci.image.manifest.v1+json"

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (e *endpoint) putBlob(ctx context.Context, repo, digest string, body io.Reader, size int64) error {
	req, err := e.request(ctx, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil)
	if err != nil {
		return err
	}
	resp, err := e.do(req, http.StatusAccepted)
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return fmt.Errorf("upload location %q", resp.Header.Get("Location"))
	}
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	// A relative Location (rolepull) resolves against the address dialled;
	// an absolute one (the peer) names it already.
	req, err = e.request(ctx, http.MethodPut, loc.String(), body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = e.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// get times whole-blob GETs. Each run reads the body to the end with 1 MiB
// reads, into SHA-256 (-verify, then checks the digest) or nowhere, and
// checks the length; it prints one TSV row per run:
// FIGURE SIDE RUN MB/s, and with -server-pid also
// FIGURE-srvcpu SIDE RUN core-seconds-per-GB of the server process.
func get(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("registry", "", "registry address HOST:PORT (required)")
	host := fs.String("host", "", "Host header (rolepull: the instance domain)")
	tok := fs.String("token", "", "bearer token with pull on -repo")
	repo := fs.String("repo", "bench/big", "repository")
	digest := fs.String("digest", "", "blob digest (required)")
	size := fs.Int64("size", 0, "expected blob size (required)")
	runs := fs.Int("runs", 3, "timed runs")
	warmup := fs.Int("warmup", 1, "untimed runs first")
	verify := fs.Bool("verify", true, "hash the body and check the digest")
	figure := fs.String("figure", "blob-get", "figure name in the output")
	side := fs.String("side", "", "side name in the output (rolepull, peer)")
	firstRun := fs.Int("first-run", 1, "number of the first timed run in the output")
	serverPID := fs.Int("server-pid", 0, "also report this process's CPU time per GB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	e, err := newEndpoint(*addr, *host, *tok)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < *warmup+*runs; i++ {
		cpu0, err := processCPU(*serverPID)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := e.getBlob(ctx, *repo, *digest, *size, *verify, buf); err != nil {
			return err
		}
		wall := time.Since(start)
		cpu1, err := processCPU(*serverPID)
		if err != nil {
			return err
		}
		if i < *warmup {
			continue
		}
		n := *firstRun + i - *warmup
		fmt.Fprintf(stdout, "%s\t%s\t%d\t%.1f\n", *figure, *side, n, float64(*size)/wall.Seconds()/1e6)
		if *serverPID != 0 {
			fmt.Fprintf(stdout, "%s-srvcpu\t%s\t%d\t%.3f\n", *figure, *side, n, (cpu1-cpu0).Seconds()/(float64(*size)/1e9))
		}
	}
	return nil
}

func (e *endpoint) getBlob(ctx context.Context, repo, digest string, size int64, verify bool, buf []byte) error {
	req, err := e.request(ctx, http.MethodGet, "/v2/"+repo+"/blobs/"+digest, nil)
	if err != nil {
		return err
	}
	resp, err := e.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var dst io.Writer = io.Discard
	h := sha256.New()
	if verify {
		dst = h
	}
	n, err := io.CopyBuffer(onlyWriter{dst}, onlyReader{resp.Body}, buf)
	if err != nil {
		return fmt.Errorf("GET %s: read after %d bytes: %w", digest, n, err)
	}
	if n != size {
		return fmt.Errorf("GET %s: %d bytes, want %d", digest, n, size)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); verify && got != digest {
		return fmt.Errorf("GET %s: the body's digest is %s", digest, got)
	}
	return nil
}

// onlyReader and onlyWriter hide WriteTo and ReadFrom (io.Discard has
// one, with an 8 KiB buffer), so every copy goes through the same 1 MiB
// buffer whatever the body's type and the destination.
type (
	onlyReader struct{ io.Reader }
	onlyWriter struct{ io.Writer }
)

// processCPU is a process's user+system CPU time from /proc (0 for pid 0).
func processCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name: state is field 3,
	// utime and stime are fields 14 and 15, in clock ticks (USER_HZ = 100
	// on Linux).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
