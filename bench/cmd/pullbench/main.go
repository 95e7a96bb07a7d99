// Command pullbench is the image-pull side of the benchmark (bench/run.sh,
// sections "pull" and "lib"): it makes the 8-layer benchmark image, pushes
// it, times pod pulls against `crane pull`, compares go-containerregistry
// with oras-go as the puller's client library, and writes the report.
//
//	pullbench gen    -dir DIR [-layers 8 -layer-bytes 134217728]   → prints the manifest digest
//	pullbench push   -registry ADDR [-host H] -token T -dir DIR -repo R -tag TAG
//	pullbench pod    -data-dir D -image-dir DIR -crane PATH -peer-ref REF …   (see pod.go)
//	pullbench lib    -registry ADDR -host H -service S -user U -password P … (see lib.go)
//	pullbench report -raw FILE -out FILE …
//
// Raw results are TSV rows FIGURE SIDE RUN VALUE on stdout, as regbench
// prints them.
package main

import (
	"archive/tar"
	"compress/gzip"
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
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pullbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: pullbench gen|push|pod|lib|report [flags]")
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"gen": gen, "push": push, "pod": pod, "lib": lib, "report": report,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q: want gen, push, pod, lib or report", args[0])
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

const (
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

// image is the benchmark image as gen leaves it in a directory:
// manifest.json and blobs/<hex> for the config and every layer.
type image struct {
	dir      string
	raw      []byte // manifest.json
	digest   string // of raw
	manifest manifest
}

func loadImage(dir string) (*image, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	img := &image{dir: dir, raw: raw, digest: sha256Digest(raw)}
	if err := json.Unmarshal(raw, &img.manifest); err != nil {
		return nil, fmt.Errorf("%s/manifest.json: %w", dir, err)
	}
	return img, nil
}

func (img *image) blobPath(digest string) string {
	return filepath.Join(img.dir, "blobs", strings.TrimPrefix(digest, "sha256:"))
}

// bytes is what a pull moves: manifest, config and layers.
func (img *image) bytes() int64 {
	n := int64(len(img.raw)) + img.manifest.Config.Size
	for _, l := range img.manifest.Layers {
		n += l.Size
	}
	return n
}

// gen writes the benchmark image: every layer is a gzip stream (stored
// blocks, level 0) of a tar holding one file of layer-bytes ChaCha8 output,
// so the layer is incompressible, a valid gzip tar whose diff_id the config
// names, and quick to make.
func gen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "output directory (required)")
	layers := fs.Int("layers", 8, "layers")
	layerBytes := fs.Int64("layer-bytes", 128<<20, "payload bytes per layer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("gen: -dir is required")
	}
	if err := os.MkdirAll(filepath.Join(*dir, "blobs"), 0o755); err != nil {
		return err
	}
	m := manifest{SchemaVersion: 2, MediaType: mediaTypeManifest}
	var diffIDs []string
	buf := make([]byte, 1<<20)
	for i := range *layers {
		d, diffID, size, err := genLayer(*dir, i, *layerBytes, buf)
		if err != nil {
			return err
		}
		m.Layers = append(m.Layers, descriptor{mediaTypeLayer, d, size})
		diffIDs = append(diffIDs, diffID)
	}
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return err
	}
	m.Config = descriptor{mediaTypeConfig, sha256Digest(config), int64(len(config))}
	if err := os.WriteFile(filepath.Join(*dir, "blobs", strings.TrimPrefix(m.Config.Digest, "sha256:")), config, 0o644); err != nil {
		return err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "manifest.json"), raw, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(stdout, sha256Digest(raw))
	return nil
}

func genLayer(dir string, i int, payload int64, buf []byte) (digest, diffID string, size int64, err error) {
	tmp := filepath.Join(dir, "blobs", fmt.Sprintf(".layer%d", i))
	f, err := os.Create(tmp)
	if err != nil {
		return "", "", 0, err
	}
	defer f.Close()
	hgz, htar := sha256.New(), sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, hgz)}
	gz, err := gzip.NewWriterLevel(cw, gzip.NoCompression)
	if err != nil {
		return "", "", 0, err
	}
	tw := tar.NewWriter(io.MultiWriter(gz, htar))
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("payload-%d.bin", i), Size: payload,
		Mode: 0o644, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
		return "", "", 0, err
	}
	var seed [32]byte
	rand.Read(seed[:])
	if _, err := io.CopyBuffer(tw, io.LimitReader(mrand.NewChaCha8(seed), payload), buf); err != nil {
		return "", "", 0, err
	}
	if err := errors.Join(tw.Close(), gz.Close()); err != nil {
		return "", "", 0, err
	}
	if err := f.Close(); err != nil {
		return "", "", 0, err
	}
	digest = "sha256:" + hex.EncodeToString(hgz.Sum(nil))
	if err := os.Rename(tmp, filepath.Join(dir, "blobs", strings.TrimPrefix(digest, "sha256:"))); err != nil {
		return "", "", 0, err
	}
	return digest, "sha256:" + hex.EncodeToString(htar.Sum(nil)), cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// --- a minimal registry client, as regbench's: push and token --------------

type endpoint struct {
	base  *url.URL
	host  string // Host header; empty: the address
	token string
	hc    *http.Client
}

func newEndpoint(addr, host, token string) (*endpoint, error) {
	u, err := url.Parse("http://" + addr)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("registry address %q: want HOST:PORT", addr)
	}
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4, WriteBufferSize: 64 << 10}
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

// fetchToken gets a bearer token from a Docker token endpoint at addr
// (Basic auth when user is set).
func fetchToken(ctx context.Context, addr, host, service, scope, user, pass string) (string, error) {
	e, err := newEndpoint(addr, host, "")
	if err != nil {
		return "", err
	}
	q := url.Values{"service": {service}, "scope": {scope}}
	req, err := e.request(ctx, http.MethodGet, "/token?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := e.do(req, http.StatusOK)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("token response: %w", err)
	}
	if body.Token == "" {
		body.Token = body.AccessToken
	}
	if body.Token == "" {
		return "", errors.New("the token response holds no token")
	}
	return body.Token, nil
}

// push uploads the image in -dir: every blob monolithically (POST, then
// PUT with the whole body), then the manifest under the tag.
func push(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("registry", "", "registry address HOST:PORT (required)")
	host := fs.String("host", "", "Host header (rolepull: the instance domain)")
	tok := fs.String("token", "", "bearer token with push,pull on -repo")
	dir := fs.String("dir", "", "the image directory from gen (required)")
	repo := fs.String("repo", "bench/pull", "repository")
	tag := fs.String("tag", "v1", "tag")
	if err := fs.Parse(args); err != nil {
		return err
	}
	img, err := loadImage(*dir)
	if err != nil {
		return err
	}
	e, err := newEndpoint(*addr, *host, *tok)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := pushImage(ctx, e, img, *repo, *tag); err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(stderr, "pushed %d bytes in %.2f s (%.0f MB/s)\n", img.bytes(), el, float64(img.bytes())/el/1e6)
	fmt.Fprintln(stdout, img.digest)
	return nil
}

func pushImage(ctx context.Context, e *endpoint, img *image, repo, tag string) error {
	for _, d := range append([]descriptor{img.manifest.Config}, img.manifest.Layers...) {
		f, err := os.Open(img.blobPath(d.Digest))
		if err != nil {
			return err
		}
		err = e.putBlob(ctx, repo, d.Digest, f, d.Size)
		f.Close()
		if err != nil {
			return fmt.Errorf("push %s: %w", d.Digest, err)
		}
	}
	req, err := e.request(ctx, http.MethodPut, "/v2/"+repo+"/manifests/"+tag, strings.NewReader(string(img.raw)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaTypeManifest)
	resp, err := e.do(req, http.StatusCreated)
	if err != nil {
		return fmt.Errorf("push the manifest: %w", err)
	}
	resp.Body.Close()
	return nil
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

// --- measurement helpers --------------------------------------------------------

// rusage is a process's user and system CPU time.
type rusage struct{ user, sys time.Duration }

func (r rusage) sub(o rusage) rusage { return rusage{r.user - o.user, r.sys - o.sys} }
func (r rusage) total() time.Duration {
	return r.user + r.sys
}

func selfRusage() rusage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return fromRusage(&ru)
}

func fromRusage(ru *syscall.Rusage) rusage {
	return rusage{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())}
}

// processCPU is a process's user+system CPU time from /proc (0 for pid 0).
func processCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	var ut, st int64
	if _, err := fmt.Sscan(f[11]+" "+f[12], &ut, &st); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// idle waits up to 30 s until the CPUs are at least 85 % idle over half a
// second (as run.sh's idle does); it reports whether they were.
func idle(ctx context.Context) bool {
	read := func() []int64 {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return nil
		}
		line, _, _ := strings.Cut(string(b), "\n")
		var out []int64
		for _, f := range strings.Fields(line)[1:] {
			var v int64
			fmt.Sscan(f, &v)
			out = append(out, v)
		}
		return out
	}
	for range 60 {
		a := read()
		select {
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
		}
		b := read()
		if len(a) < 8 || len(b) < 8 {
			return true
		}
		var total int64
		for i := range 8 {
			total += b[i] - a[i]
		}
		if total > 0 && 100*(b[3]-a[3])/total >= 85 {
			return true
		}
	}
	return false
}

// syncFS flushes every dirty page (sync(2)), so that one side's writes are
// not left for the other side's run to pay.
func syncFS() { syscall.Sync() }

// row prints one raw result.
func row(w io.Writer, figure, side string, run int, value float64) {
	fmt.Fprintf(w, "%s\t%s\t%d\t%.4f\n", figure, side, run, value)
}
