package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	orasremote "oras.land/oras-go/v2/registry/remote"
	orasauth "oras.land/oras-go/v2/registry/remote/auth"

	"github.com/rolepull/rolepull/internal/content"
	"github.com/rolepull/rolepull/internal/store/bolt"
)

// lib measures the issue's "choose go-containerregistry or oras-go v2 by
// measurement": the same image, from the same registry (rolepull's), into
// rolepull's content store (content.Ingest, which hashes while it writes
// and fsyncs every blob), with the same layer concurrency and the same
// credentials (a temporary password, which each library trades for a
// bearer token at the registry's /token). Each run starts with a fresh
// store, a fresh HTTP transport and fresh library state, and ends with the
// store removed and sync(2).
//
// Libraries (-libs):
//
//	ggcr            go-containerregistry as internal/pull uses it: remote.Image →
//	                RawManifest, RawConfigFile, Layers → layer.Compressed() into
//	                Ingest. ggcr verifies each blob's digest itself, so every
//	                byte is hashed twice (ggcr, then Ingest).
//	oras            oras-go v2: remote.Repository (auth.Client, PlainHTTP) →
//	                FetchReference, then Blobs().Fetch of config and layers into
//	                Ingest. oras-go returns the raw body: Ingest hashes once.
//	ggcr-transport  go-containerregistry's token transport only
//	                (transport.NewWithContext) and plain GETs of the blobs into
//	                Ingest: ggcr without its second hash.
//
// Rows: lib-pull LIB RUN MB/s; lib-cpu, lib-user, lib-sys LIB RUN client
// core-s/GB (getrusage of this process); lib-srvcpu LIB RUN core-s/GB of
// the registry process (-server-pid).
func lib(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lib", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("registry", "", "registry address HOST:PORT (required)")
	host := fs.String("host", "", "registry domain, the reference's host (required)")
	user := fs.String("user", "", "temporary password: user name")
	pass := fs.String("password", "", "temporary password")
	repo := fs.String("repo", "bench/pull", "repository")
	tag := fs.String("tag", "v1", "tag")
	libs := fs.String("libs", "ggcr,oras,ggcr-transport", "libraries, comma-separated")
	conc := fs.Int("concurrency", 4, "concurrent layer fetches")
	runs := fs.Int("runs", 5, "timed runs per library")
	warmup := fs.Int("warmup", 1, "untimed rounds first")
	work := fs.String("work", "", "directory for the content stores (required)")
	serverPID := fs.Int("server-pid", 0, "the registry's pid, for its CPU time")
	metaFile := fs.String("meta", "", "write KEY=VALUE facts about the run here (busy rounds)")
	profDir := fs.String("cpuprofile-dir", "", "after the timed runs, write a CPU profile of 3 extra pulls per library here (lib-LIB.pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" || *host == "" || *work == "" {
		return errors.New("lib: -registry, -host and -work are required")
	}
	pullers := map[string]pullFunc{"ggcr": pullGGCR, "oras": pullORAS, "ggcr-transport": pullGGCRTransport}
	names := strings.Split(*libs, ",")
	for _, l := range names {
		if pullers[l] == nil {
			return fmt.Errorf("-libs: unknown library %q (want ggcr, oras, ggcr-transport)", l)
		}
	}
	if err := os.MkdirAll(*work, 0o700); err != nil {
		return err
	}
	meta, err := bolt.Open(filepath.Join(*work, "meta.db"), bolt.Options{})
	if err != nil {
		return err
	}
	defer meta.Close()
	tgt := target{addr: *addr, host: *host, user: *user, pass: *pass, repo: *repo, tag: *tag, conc: *conc}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s lib: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}

	seq := 0
	once := func(l string) (int64, time.Duration, rusage, time.Duration, error) {
		seq++
		dir := filepath.Join(*work, fmt.Sprintf("store-%d", seq))
		st, err := content.Open(dir, meta, content.Options{})
		if err != nil {
			return 0, 0, rusage{}, 0, err
		}
		srv0, err := processCPU(*serverPID)
		if err != nil {
			st.Close()
			return 0, 0, rusage{}, 0, err
		}
		cpu0 := selfRusage()
		start := time.Now()
		n, err := pullers[l](ctx, tgt, st)
		wall := time.Since(start)
		cpu := selfRusage().sub(cpu0)
		srv1, _ := processCPU(*serverPID)
		err = errors.Join(err, st.Close(), os.RemoveAll(dir))
		syncFS()
		return n, wall, cpu, srv1 - srv0, err
	}

	busy := 0
	for i := range *warmup + *runs {
		timed := i >= *warmup
		runNo := i - *warmup + 1
		if !idle(ctx) {
			busy++
			logf("warning: machine still busy after 30 s; measuring anyway")
		}
		for k := range names {
			l := names[(i+k)%len(names)] // rotate who goes first
			n, wall, cpu, srv, err := once(l)
			if err != nil {
				return fmt.Errorf("%s: %w", l, err)
			}
			gb := float64(n) / 1e9
			mbps := float64(n) / wall.Seconds() / 1e6
			logf("run %d %s: %d bytes in %.3f s, %.0f MB/s; client %.2f core-s/GB (user %.2f, sys %.2f); registry %.2f%s",
				runNo, l, n, wall.Seconds(), mbps, cpu.total().Seconds()/gb, cpu.user.Seconds()/gb, cpu.sys.Seconds()/gb, srv.Seconds()/gb, warm(timed))
			if timed {
				row(stdout, "lib-pull", l, runNo, mbps)
				row(stdout, "lib-cpu", l, runNo, cpu.total().Seconds()/gb)
				row(stdout, "lib-user", l, runNo, cpu.user.Seconds()/gb)
				row(stdout, "lib-sys", l, runNo, cpu.sys.Seconds()/gb)
				if *serverPID != 0 {
					row(stdout, "lib-srvcpu", l, runNo, srv.Seconds()/gb)
				}
			}
		}
	}
	if busy > 0 {
		logf("%d rounds started on a busy machine", busy)
	}
	if *metaFile != "" {
		if err := os.WriteFile(*metaFile, []byte(fmt.Sprintf("BUSY=%d\n", busy)), 0o644); err != nil {
			return err
		}
	}
	if *profDir != "" {
		for _, l := range names {
			path := filepath.Join(*profDir, "lib-"+l+".pprof")
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				return err
			}
			for range 3 {
				if _, _, _, _, err := once(l); err != nil {
					pprof.StopCPUProfile()
					f.Close()
					return err
				}
			}
			pprof.StopCPUProfile()
			f.Close()
			logf("CPU profile of 3 %s pulls in %s", l, path)
		}
	}
	return nil
}

type target struct {
	addr, host, user, pass, repo, tag string
	conc                              int
}

// transport dials the registry address whatever the host, as the puller
// does (internal/pull: every instance domain is served there).
func (t target) transport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, t.addr)
		},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
}

// pullFunc pulls the image into st and returns the bytes stored.
type pullFunc func(ctx context.Context, t target, st *content.Store) (int64, error)

func ingestBytes(ctx context.Context, st *content.Store, d digest.Digest, b []byte) error {
	return st.Ingest(ctx, d, int64(len(b)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(string(b))), nil
	}, nil)
}

// ingestLayers ingests the layers with at most t.conc fetches at once.
func ingestLayers(ctx context.Context, t target, st *content.Store, layers []ocispec.Descriptor, open func(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error)) (int64, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.conc)
	var n int64
	for _, l := range layers {
		n += l.Size
		g.Go(func() error {
			return st.Ingest(gctx, l.Digest, l.Size, func(fctx context.Context) (io.ReadCloser, error) { return open(fctx, l) }, nil)
		})
	}
	return n, g.Wait()
}

func pullGGCR(ctx context.Context, t target, st *content.Store) (int64, error) {
	ref, err := name.ParseReference(t.host+"/"+t.repo+":"+t.tag, name.Insecure)
	if err != nil {
		return 0, err
	}
	img, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: t.user, Password: t.pass}),
		remote.WithTransport(t.transport()), remote.WithContext(ctx))
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	md, err := img.Digest()
	if err != nil {
		return 0, err
	}
	if err := ingestBytes(ctx, st, digest.Digest(md.String()), raw); err != nil {
		return 0, err
	}
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return 0, err
	}
	if err := ingestBytes(ctx, st, digest.Digest(m.Config.Digest.String()), cfg); err != nil {
		return 0, err
	}
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	descs := make([]ocispec.Descriptor, len(layers))
	byDigest := map[digest.Digest]int{}
	for i, l := range m.Layers {
		descs[i] = ocispec.Descriptor{Digest: digest.Digest(l.Digest.String()), Size: l.Size}
		byDigest[descs[i].Digest] = i
	}
	n, err := ingestLayers(ctx, t, st, descs, func(_ context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
		return layers[byDigest[d.Digest]].Compressed()
	})
	return n + int64(len(raw)+len(cfg)), err
}

func pullGGCRTransport(ctx context.Context, t target, st *content.Store) (int64, error) {
	ref, err := name.ParseReference(t.host+"/"+t.repo+":"+t.tag, name.Insecure)
	if err != nil {
		return 0, err
	}
	rt, err := transport.NewWithContext(ctx, ref.Context().Registry, &authn.Basic{Username: t.user, Password: t.pass}, t.transport(),
		[]string{ref.Context().Scope(transport.PullScope)})
	if err != nil {
		return 0, err
	}
	hc := &http.Client{Transport: rt}
	get := func(ctx context.Context, path, accept string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.host+"/v2/"+t.repo+"/"+path, nil)
		if err != nil {
			return nil, err
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		if err := transport.CheckError(resp, http.StatusOK); err != nil {
			resp.Body.Close()
			return nil, err
		}
		return resp, nil
	}
	readAll := func(path, accept string) ([]byte, error) {
		resp, err := get(ctx, path, accept)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	}
	raw, err := readAll("manifests/"+t.tag, mediaTypeManifest)
	if err != nil {
		return 0, err
	}
	return ingestManifest(ctx, t, st, raw, func(path string) ([]byte, error) { return readAll(path, "") },
		func(fctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
			resp, err := get(fctx, "blobs/"+d.Digest.String(), "")
			if err != nil {
				return nil, err
			}
			return resp.Body, nil
		})
}

// ingestManifest stores a manifest fetched by tag (its digest computed
// here), its config and its layers.
func ingestManifest(ctx context.Context, t target, st *content.Store, raw []byte, read func(path string) ([]byte, error),
	open func(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error)) (int64, error) {
	if err := ingestBytes(ctx, st, digest.FromBytes(raw), raw); err != nil {
		return 0, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, err
	}
	cfg, err := read("blobs/" + m.Config.Digest.String())
	if err != nil {
		return 0, err
	}
	if err := ingestBytes(ctx, st, m.Config.Digest, cfg); err != nil {
		return 0, err
	}
	n, err := ingestLayers(ctx, t, st, m.Layers, open)
	return n + int64(len(raw)+len(cfg)), err
}

func pullORAS(ctx context.Context, t target, st *content.Store) (int64, error) {
	repo, err := orasremote.NewRepository(t.host + "/" + t.repo)
	if err != nil {
		return 0, err
	}
	repo.PlainHTTP = true
	repo.Client = &orasauth.Client{
		Client:     &http.Client{Transport: t.transport()},
		Cache:      orasauth.NewCache(),
		Credential: orasauth.StaticCredential(t.host, orasauth.Credential{Username: t.user, Password: t.pass}),
	}
	desc, rc, err := repo.FetchReference(ctx, t.tag)
	if err != nil {
		return 0, err
	}
	raw, err := io.ReadAll(io.LimitReader(rc, 4<<20))
	rc.Close()
	if err != nil {
		return 0, err
	}
	if err := ingestBytes(ctx, st, desc.Digest, raw); err != nil {
		return 0, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, err
	}
	crc, err := repo.Blobs().Fetch(ctx, m.Config)
	if err != nil {
		return 0, err
	}
	cfg, err := io.ReadAll(io.LimitReader(crc, 4<<20))
	crc.Close()
	if err != nil {
		return 0, err
	}
	if err := ingestBytes(ctx, st, m.Config.Digest, cfg); err != nil {
		return 0, err
	}
	n, err := ingestLayers(ctx, t, st, m.Layers, func(fctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
		return repo.Blobs().Fetch(fctx, d)
	})
	return n + int64(len(raw)+len(cfg)), err
}
