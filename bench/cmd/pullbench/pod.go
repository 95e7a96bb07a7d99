package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/openapi"
	"github.com/rolepull/rolepull/internal/ram"
)

// pod times the acceptance figure "pod pull throughput against crane pull".
//
// rolepull side: a node runs in this process (node.New + Run, as `rolepull
// up` does), with an open Enterprise instance to which the image is pushed
// over HTTP. Each run creates a container group for the image (through the
// OpenAPI CreateContainerGroup when the node serves it, else through the
// ECI service in-process) and takes the time from the create call to the
// group's ImagesReady status. Before each run the previous group is
// deleted and every blob of the node's content store removed (cold store),
// then sync(2). The registry serves from its page cache (warm), as the
// peer does.
//
// peer side: `crane pull --insecure --format oci REF DIR` into a fresh
// DIR from the peer registry, timed to crane's exit ("crane") and to the
// end of a sync(2) right after ("crane-sync": durable, as rolepull's
// fsynced blobs are).
//
// Rounds alternate which side goes first and wait for an idle machine.
// Rows: pod-pull SIDE RUN MB/s; pod-cpu SIDE RUN core-s/GB of every process
// involved (rolepull: this process, which is client and registry; crane:
// crane plus the peer registry); pod-clientcpu crane RUN core-s/GB.
func pod(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pod", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "the node's data directory, fresh (required)")
	imageDir := fs.String("image-dir", "", "the image from gen (required)")
	repo := fs.String("repo", "bench/pull", "repository")
	tag := fs.String("tag", "v1", "tag")
	crane := fs.String("crane", "crane", "crane binary")
	peerRef := fs.String("peer-ref", "", "the image in the peer registry, HOST:PORT/REPO:TAG (empty: rolepull only)")
	peerPID := fs.Int("peer-pid", 0, "the peer registry's pid, for its CPU time")
	work := fs.String("work", "", "directory for crane's OCI layouts (default: next to -data-dir)")
	runs := fs.Int("runs", 5, "timed runs per side")
	warmup := fs.Int("warmup", 1, "untimed rounds first")
	create := fs.String("create", "auto", "how groups are created: openapi, inprocess, or auto (openapi if the node serves CreateContainerGroup)")
	cpuprofile := fs.String("cpuprofile", "", "after the timed runs, write a CPU profile of -profile-runs extra rolepull pod pulls here")
	profileRuns := fs.Int("profile-runs", 3, "pod pulls in the profile")
	traceFile := fs.String("trace", "", "with -cpuprofile, also write an execution trace of the profiled pulls here (go tool trace -pprof=syscall FILE)")
	meta := fs.String("meta", "", "write KEY=VALUE facts about the run here (create mode, image)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir == "" || *imageDir == "" {
		return errors.New("pod: -data-dir and -image-dir are required")
	}
	if *work == "" {
		*work = filepath.Dir(*dataDir)
	}
	img, err := loadImage(*imageDir)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s pod: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}

	n, err := node.New(ctx, node.Config{DataDir: *dataDir, OpenAPIAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	nctx, stopNode := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(nctx) }()
	defer func() {
		stopNode()
		<-runErr
		n.Close()
	}()

	r := &rolepullSide{n: n, img: img, contentDir: filepath.Join(*dataDir, "content"), mode: *create, logf: logf}
	if err := r.provision(ctx, *repo, *tag); err != nil {
		return err
	}
	logf("image %s (%d bytes) pushed to %s as %s", img.digest, img.bytes(), r.host, r.image)
	if err := r.chooseMode(ctx); err != nil {
		return err
	}
	if *meta != "" {
		facts := fmt.Sprintf("CREATE=%s\nCREATE_NOTE=%s\nIMAGE=%s\nIMAGE_BYTES=%d\nLAYERS=%d\n",
			r.mode, r.modeNote, img.digest, img.bytes(), len(img.manifest.Layers))
		if err := os.WriteFile(*meta, []byte(facts), 0o644); err != nil {
			return err
		}
	}

	gb := float64(img.bytes()) / 1e9
	mbps := func(d time.Duration) float64 { return float64(img.bytes()) / d.Seconds() / 1e6 }
	busy := 0
	for i := range *warmup + *runs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		timed := i >= *warmup
		runNo := i - *warmup + 1
		if !idle(ctx) {
			busy++
			logf("warning: machine still busy after 30 s; measuring anyway")
		}
		sides := []string{"rolepull", "crane"}
		if i%2 == 1 {
			sides = []string{"crane", "rolepull"}
		}
		for _, side := range sides {
			switch side {
			case "rolepull":
				d, cpu, err := r.pull(ctx, fmt.Sprintf("bench-%d", i))
				if err != nil {
					return err
				}
				logf("run %d rolepull: %.3f s, %.0f MB/s, %.2f core-s/GB (user %.2f, sys %.2f)%s", runNo, d.Seconds(), mbps(d),
					cpu.total().Seconds()/gb, cpu.user.Seconds()/gb, cpu.sys.Seconds()/gb, warm(timed))
				if timed {
					row(stdout, "pod-pull", "rolepull", runNo, mbps(d))
					row(stdout, "pod-cpu", "rolepull", runNo, cpu.total().Seconds()/gb)
				}
			case "crane":
				if *peerRef == "" {
					continue
				}
				res, err := cranePull(ctx, *crane, *peerRef, filepath.Join(*work, "crane-oci"), *peerPID)
				if err != nil {
					return err
				}
				logf("run %d crane: %.3f s (%.0f MB/s), +sync %.3f s (%.0f MB/s); crane %.2f core-s/GB (user %.2f, sys %.2f), registry %.2f%s",
					runNo, res.pull.Seconds(), mbps(res.pull), res.synced.Seconds(), mbps(res.synced),
					res.client.total().Seconds()/gb, res.client.user.Seconds()/gb, res.client.sys.Seconds()/gb, res.server.Seconds()/gb, warm(timed))
				if timed {
					row(stdout, "pod-pull", "crane", runNo, mbps(res.pull))
					row(stdout, "pod-pull", "crane-sync", runNo, mbps(res.synced))
					row(stdout, "pod-cpu", "crane", runNo, (res.client.total()+res.server).Seconds()/gb)
					row(stdout, "pod-clientcpu", "crane", runNo, res.client.total().Seconds()/gb)
				}
			}
		}
	}
	if busy > 0 {
		logf("%d rounds started on a busy machine", busy)
	}
	if *meta != "" {
		f, err := os.OpenFile(*meta, os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			fmt.Fprintf(f, "BUSY=%d\n", busy)
			f.Close()
		}
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		// Clean first, so that only pulls are in the profile (and their
		// cleanup: unlink and sync, which cost little CPU).
		if err := r.clean(ctx); err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		if *traceFile != "" {
			tf, err := os.Create(*traceFile)
			if err != nil {
				return err
			}
			defer tf.Close()
			if err := trace.Start(tf); err != nil {
				return err
			}
			defer trace.Stop()
		}
		var total time.Duration
		for k := range *profileRuns {
			d, _, err := r.pull(ctx, fmt.Sprintf("profile-%d", k))
			if err != nil {
				pprof.StopCPUProfile()
				return err
			}
			total += d
		}
		pprof.StopCPUProfile()
		if *traceFile != "" {
			trace.Stop()
		}
		logf("CPU profile of %d pod pulls (%.0f MB/s) in %s", *profileRuns, float64(*profileRuns)*float64(img.bytes())/total.Seconds()/1e6, *cpuprofile)
	}
	return r.clean(ctx)
}

func warm(timed bool) string {
	if timed {
		return ""
	}
	return " (warm-up, not reported)"
}

// rolepullSide is the node, its instance and the pushed image.
type rolepullSide struct {
	n          *node.Node
	img        *image
	contentDir string
	logf       func(string, ...any)

	inst  acr.Instance
	host  string // the instance's public domain
	image string // HOST/REPO:TAG

	mode     string // openapi | inprocess
	modeNote string
	api      *openapi.Client
	lastID   string
}

func (r *rolepullSide) provision(ctx context.Context, repo, tag string) error {
	n := r.n
	acct := n.Operator.ID
	inst, err := n.ACR.CreateInstance(ctx, acct, node.DefaultRegion, "pullbench", acr.SpecEnterpriseStandard)
	if err != nil {
		return err
	}
	if _, err := n.ACR.AddACL(ctx, acct, inst.InstanceID, "127.0.0.0/16", "benchmark pods"); err != nil {
		return err
	}
	if inst, err = n.ACR.SetInternet(ctx, acct, inst.InstanceID, true); err != nil {
		return err
	}
	r.inst, r.host = inst, inst.PublicHost(n.ACR.Base())
	r.image = r.host + "/" + repo + ":" + tag
	tp, err := n.ACR.IssueTempPassword(ram.RootIdentity(acct), inst)
	if err != nil {
		return err
	}
	addr := strings.TrimPrefix(n.RegistryURL(), "http://")
	tok, err := fetchToken(ctx, addr, r.host, inst.InstanceID, "repository:"+repo+":push,pull", tp.Username, tp.Password)
	if err != nil {
		return fmt.Errorf("token for the push: %w", err)
	}
	e, err := newEndpoint(addr, r.host, tok)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := pushImage(ctx, e, r.img, repo, tag); err != nil {
		return err
	}
	r.logf("push: %.2f s", time.Since(start).Seconds())
	syncFS()
	return nil
}

// chooseMode settles how groups are created: through the OpenAPI
// (CreateContainerGroup, signed with the operator's AccessKey, as any SDK
// would) if the node serves it, else in-process.
func (r *rolepullSide) chooseMode(ctx context.Context) error {
	r.api = &openapi.Client{Endpoint: r.n.OpenAPIURL(), AccessKeyID: r.n.Profile.AccessKeyID,
		AccessKeySecret: r.n.Profile.AccessKeySecret, RegionID: node.DefaultRegion}
	switch r.mode {
	case "inprocess":
		r.modeNote = "eci.Service.Create in-process (chosen with -create inprocess)"
		return nil
	case "openapi", "auto":
	default:
		return fmt.Errorf("-create %q: want openapi, inprocess or auto", r.mode)
	}
	// Probe without containers: a node that serves the action answers
	// InvalidParameter, one that does not InvalidAction.NotFound. Nothing
	// is created.
	var out struct {
		ContainerGroupID string `json:"ContainerGroupId"`
	}
	err := r.api.Do(ctx, "2018-08-08", "CreateContainerGroup", map[string]string{"RegionId": node.DefaultRegion, "ContainerGroupName": "probe"}, &out)
	var oe *openapi.Error
	switch {
	case err == nil:
		if out.ContainerGroupID != "" {
			_ = r.n.ECI.Delete(ctx, "", out.ContainerGroupID)
		}
	case errors.As(err, &oe) && oe.Code == "InvalidAction.NotFound":
		if r.mode == "openapi" {
			return fmt.Errorf("-create openapi: the node does not serve CreateContainerGroup: %w", err)
		}
		r.mode = "inprocess"
		r.modeNote = "eci.Service.Create in-process: the node's OpenAPI does not serve CreateContainerGroup (" + oe.Code + ")"
		r.logf("%s", r.modeNote)
		return nil
	case errors.As(err, &oe) && oe.Status == 400:
	default:
		return fmt.Errorf("probing CreateContainerGroup: %w", err)
	}
	r.mode = "openapi"
	r.modeNote = "OpenAPI CreateContainerGroup (ECI 2018-08-08) over HTTP to the node's OpenAPI listener, signed (HMAC-SHA1 v1) with the operator's AccessKey; ImagesReady watched in-process (eci.Service.Get every 2 ms)"
	r.logf("groups are created through the OpenAPI")
	return nil
}

func (r *rolepullSide) createAPI(ctx context.Context, name, image string) (string, error) {
	var out struct {
		ContainerGroupID string `json:"ContainerGroupId"`
	}
	err := r.api.Do(ctx, "2018-08-08", "CreateContainerGroup", map[string]string{
		"RegionId": node.DefaultRegion, "ContainerGroupName": name,
		"Container.1.Name": "c0", "Container.1.Image": image,
	}, &out)
	if err == nil && out.ContainerGroupID == "" {
		err = errors.New("the answer names no ContainerGroupId")
	}
	return out.ContainerGroupID, err
}

func (r *rolepullSide) create(ctx context.Context, name string) (string, error) {
	if r.mode == "openapi" {
		return r.createAPI(ctx, name, r.image)
	}
	g, err := r.n.ECI.Create(ctx, eci.CreateInput{Account: r.n.Operator.ID, Region: node.DefaultRegion, Name: name,
		Containers: []eci.Container{{Name: "c0", Image: r.image}}})
	return g.ID, err
}

// clean deletes the last group and every blob of the content store, then
// syncs: the next pull starts from a cold store and a clean disk.
func (r *rolepullSide) clean(ctx context.Context) error {
	if r.lastID != "" {
		if err := r.n.ECI.Delete(ctx, "", r.lastID); err != nil {
			return err
		}
		r.lastID = ""
	}
	for _, alg := range []string{"sha256", "sha512"} {
		dir := filepath.Join(r.contentDir, "blobs", alg)
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, e := range entries {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	syncFS()
	return nil
}

// pull runs one pod pull on a cold store and returns the time from the
// create call to ImagesReady and this process's CPU time over it.
func (r *rolepullSide) pull(ctx context.Context, name string) (time.Duration, rusage, error) {
	if err := r.clean(ctx); err != nil {
		return 0, rusage{}, err
	}
	cpu0 := selfRusage()
	start := time.Now()
	id, err := r.create(ctx, name)
	if err != nil {
		return 0, rusage{}, fmt.Errorf("create %s: %w", name, err)
	}
	r.lastID = id
	for {
		g, err := r.n.ECI.Get(ctx, "", id)
		if err != nil {
			return 0, rusage{}, err
		}
		if g.Status == eci.StatusImagesReady {
			d, cpu := time.Since(start), selfRusage().sub(cpu0)
			if got := g.ContainerStatuses[0].ImageDigest; got != r.img.digest {
				return 0, rusage{}, fmt.Errorf("group %s pulled %s, want %s", id, got, r.img.digest)
			}
			return d, cpu, nil
		}
		failed := g.Status == eci.StatusFailed
		for _, c := range g.ContainerStatuses {
			failed = failed || c.FailureKind != ""
		}
		if failed {
			evs, _ := r.n.ECI.Events(ctx, id)
			var b strings.Builder
			for _, e := range evs {
				fmt.Fprintf(&b, "\n  %s %s: %s", e.Type, e.Reason, e.Message)
			}
			return 0, rusage{}, fmt.Errorf("group %s is %s: %+v%s", id, g.Status, g.ContainerStatuses, b.String())
		}
		select {
		case <-ctx.Done():
			return 0, rusage{}, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

type craneResult struct {
	pull, synced time.Duration // to crane's exit; to the end of the sync after it
	client       rusage        // crane's CPU
	server       time.Duration // the peer registry's CPU during the pull
}

// cranePull runs `crane pull --insecure --format oci REF DIR` into a fresh
// DIR, then sync(2); DIR is removed afterwards.
func cranePull(ctx context.Context, crane, ref, dir string, peerPID int) (craneResult, error) {
	var res craneResult
	if err := os.RemoveAll(dir); err != nil {
		return res, err
	}
	syncFS()
	srv0, err := processCPU(peerPID)
	if err != nil {
		return res, err
	}
	var errBuf bytes.Buffer
	cmd := exec.CommandContext(ctx, crane, "pull", "--insecure", "--format", "oci", ref, dir)
	cmd.Stdout, cmd.Stderr = &errBuf, &errBuf
	start := time.Now()
	err = cmd.Run()
	res.pull = time.Since(start)
	srv1, _ := processCPU(peerPID)
	if err != nil {
		return res, fmt.Errorf("crane pull %s: %w: %s", ref, err, strings.TrimSpace(errBuf.String()))
	}
	syncFS()
	res.synced = time.Since(start)
	res.client = fromRusage(cmd.ProcessState.SysUsage().(*syscall.Rusage))
	res.server = srv1 - srv0
	if err := os.RemoveAll(dir); err != nil {
		return res, err
	}
	syncFS()
	return res, nil
}
