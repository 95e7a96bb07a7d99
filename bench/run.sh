#!/usr/bin/env bash
# bench/run.sh — rolepull against its peers on the same disk, in one run:
#   registry  rolepull's registry vs the CNCF registry v3.1.2 (standalone,
#             token auth) → bench/results/registry.md
#   pull      pod pull (container group → ImagesReady) of a 1 GiB, 8-layer
#             image vs `crane pull --format oci` (+ sync) from the CNCF
#             registry → bench/results/pull.md
#   lib       go-containerregistry vs oras-go v2 pulling that image into the
#             content store → bench/results/pull.md
#   go        in-process figures from `go test -bench`: pod start with an
#             image-cache hit vs cold, cached vs cold role credentials,
#             AssumeRole and its cost split, RAM decisions, the wildcard
#             matcher → bench/results/go.md
# See bench/README.md.
#
# Sections: `bench/run.sh [registry] [pull] [lib] [go]` or BENCH=pull,lib;
# the default runs all four.
#
# Knobs (environment): RUNS=5 (blob GETs per side and mode), HEAD_RUNS=5,
# HEAD_SECONDS=8, BLOB_BYTES=1073741824, PIN=1 (servers on cpu0, clients on
# cpu1), PROFILE=0 (1: extra, unreported runs with CPU profiles of both
# servers into bench/results/profiles), KEEP=0 (1: keep the work directory),
# BENCH_TMP (where the work directory goes; default $TMPDIR or /tmp);
# PULL_RUNS=5 (pod pulls per side), LIB_RUNS=5 (pulls per library), LAYERS=8,
# LAYER_BYTES=134217728, CRANE_VERSION=v0.22.1; RESULTS (default bench/results);
# PULLBENCH_BIN (a pullbench built from another tree, e.g. a patched puller,
# instead of this tree's); GO_COUNT=5 (runs of each Go benchmark),
# POD_START_MB=1024, POD_START_ITERS=3 (pods per run and way), POD_START_COUNT=3.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bench/.bin
RESULTS=${RESULTS:-$ROOT/bench/results}
PEER_VERSION=v3.1.2
RUNS=${RUNS:-5}
HEAD_RUNS=${HEAD_RUNS:-5}
HEAD_SECONDS=${HEAD_SECONDS:-8}
BLOB_BYTES=${BLOB_BYTES:-1073741824}
PIN=${PIN:-1}
PROFILE=${PROFILE:-0}
KEEP=${KEEP:-0}
PULL_RUNS=${PULL_RUNS:-5}
LIB_RUNS=${LIB_RUNS:-5}
LAYERS=${LAYERS:-8}
LAYER_BYTES=${LAYER_BYTES:-134217728}
CRANE_VERSION=${CRANE_VERSION:-v0.22.1}
GO_COUNT=${GO_COUNT:-5}
POD_START_MB=${POD_START_MB:-1024}
POD_START_ITERS=${POD_START_ITERS:-3}
POD_START_COUNT=${POD_START_COUNT:-3}
BENCH=${BENCH:-registry,pull,lib,go}
[ $# -gt 0 ] && BENCH=$(IFS=,; echo "$*")
REPO=bench/big
PULL_REPO=bench/pull
TAG=v1
ACCEPT="application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json"

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
want() { case ",$BENCH," in *",$1,"*) return 0 ;; esac; return 1; }
for b in ${BENCH//,/ }; do
	case $b in registry | pull | lib | go) ;; *) die "unknown section $b: want registry, pull, lib or go" ;; esac
done
T_START=$(date +%s)

# --- tools -------------------------------------------------------------------
if want registry && ! command -v ab >/dev/null; then
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "ab (apache2-utils) is missing"
	log "installing apache2-utils (ab)"
	apt-get install -y -q apache2-utils >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q apache2-utils >/dev/null; }
fi
command -v curl >/dev/null || die "curl is missing"
NCPU=$(nproc)
SRV=() CLI=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$NCPU" -ge 2 ]; then
	SRV=(taskset -c 0) CLI=(taskset -c 1)
	PINNING="servers pinned to cpu0, clients (regbench, ab) and the peer's token issuer to cpu1 (taskset); Go sees 1 CPU on each side"
else
	PINNING="not pinned: servers and clients share all $NCPU CPUs"
fi
NICE=() NICENESS="default niceness (not root)"
if [ "$(id -u)" = 0 ]; then NICE=(nice -n -20) NICENESS="servers and the token issuer at nice -20"; fi

log "building bench programs"
mkdir -p "$BIN" "$RESULTS"
go build -o "$BIN/" ./bench/cmd/setup ./bench/cmd/tokensrv ./bench/cmd/regbench ./bench/cmd/pullbench ./bench/cmd/plot ./bench/cmd/gobench
PEER_BIN=$BIN/registry-$PEER_VERSION/registry
if [ ! -x "$PEER_BIN" ]; then
	log "installing the peer: github.com/distribution/distribution/v3/cmd/registry@$PEER_VERSION"
	GOBIN=$BIN/registry-$PEER_VERSION go install "github.com/distribution/distribution/v3/cmd/registry@$PEER_VERSION"
fi
CRANE=$BIN/crane-$CRANE_VERSION/crane
if want pull && [ ! -x "$CRANE" ]; then
	log "installing the pull peer: github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
	GOBIN=$BIN/crane-$CRANE_VERSION go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
fi
RB=$BIN/regbench
PB=${PULLBENCH_BIN:-$BIN/pullbench}

# --- work directory and cleanup -----------------------------------------------
WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/rolepull-bench.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log "work directory $WORK ($(df -P "$WORK" | awk 'NR==2{print $1}'))"

wait_file() { # FILE PID: wait until FILE exists while PID lives
	for _ in $(seq 300); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
read_env() { # PREFIX FILE: PREFIX_KEY=VALUE for each KEY=VALUE line
	local k v
	while IFS='=' read -r k v; do printf -v "$1_$k" '%s' "$v"; done <"$2"
}

# idle waits (up to 30 s) until the CPUs are ≥ 85 % idle over half a second,
# so another session's build does not land in one side's run; BUSY counts
# the rounds that started on a busy machine.
BUSY=0
idle() {
	local a b
	for _ in $(seq 60); do
		a=($(head -1 /proc/stat)); sleep 0.5; b=($(head -1 /proc/stat))
		local total=0 i
		for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
		[ "$total" -gt 0 ] && [ $((100 * (b[4] - a[4]) / total)) -ge 85 ] && return 0
	done
	BUSY=$((BUSY + 1))
	log "warning: machine still busy after 30 s; measuring anyway"
}

# --- rolepull -------------------------------------------------------------------
if want registry || want lib; then
	log "starting rolepull (in-process node, bench/cmd/setup)"
	PPROF_FLAG=()
	[ "$PROFILE" = 1 ] && PPROF_FLAG=(-pprof 127.0.0.1:0)
	"${NICE[@]}" "${SRV[@]}" "$BIN/setup" -data-dir "$WORK/rolepull" -out "$WORK/rolepull.env" "${PPROF_FLAG[@]}" >"$WORK/rolepull.log" 2>&1 &
	RP_PID=$!
	PIDS+=("$RP_PID")
	wait_file "$WORK/rolepull.env" "$RP_PID" || { cat "$WORK/rolepull.log" >&2; die "rolepull did not start"; }
	read_env RP "$WORK/rolepull.env"
	log "rolepull registry $RP_REGISTRY, instance $RP_SERVICE, Host $RP_HOST"
fi

# --- peer: token issuer + CNCF registry ----------------------------------------
if want registry || want pull; then
	"${NICE[@]}" "${CLI[@]}" "$BIN/tokensrv" -jwks "$WORK/jwks.json" -out "$WORK/tokensrv.env" >"$WORK/tokensrv.log" 2>&1 &
	PIDS+=("$!")
	wait_file "$WORK/tokensrv.env" "$!" || { cat "$WORK/tokensrv.log" >&2; die "tokensrv did not start"; }
	read_env TS "$WORK/tokensrv.env"
	PEER_REGISTRY=127.0.0.1:$("$RB" port)
	PEER_SERVICE=bench-registry
	DEBUG_YAML=""
	if [ "$PROFILE" = 1 ]; then
		PEER_PPROF=127.0.0.1:$("$RB" port)
		DEBUG_YAML="  debug:
    addr: $PEER_PPROF"
	fi
	cat >"$WORK/peer.yml" <<-EOF
	version: 0.1
	log:
	  level: error
	  accesslog:
	    disabled: true
	storage:
	  filesystem:
	    rootdirectory: $WORK/peer
	  cache:
	    blobdescriptor: inmemory
	  delete:
	    enabled: true
	http:
	  addr: $PEER_REGISTRY
	  secret: rolepull-bench-secret
	$DEBUG_YAML
	auth:
	  token:
	    realm: http://localhost:${TS_TOKEN_ADDR##*:}/token
	    service: $PEER_SERVICE
	    issuer: bench-tokensrv
	    jwks: $WORK/jwks.json
	EOF
	log "starting the peer: registry $PEER_VERSION on $PEER_REGISTRY (filesystem under $WORK/peer, token auth, EdDSA)"
	OTEL_TRACES_EXPORTER=none "${NICE[@]}" "${SRV[@]}" "$PEER_BIN" serve "$WORK/peer.yml" >"$WORK/peer.log" 2>&1 &
	PEER_PID=$!
	PIDS+=("$PEER_PID")
	peer_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$PEER_REGISTRY/v2/")" = 401 ]; }
	for _ in $(seq 100); do
		peer_up && break
		kill -0 "$PEER_PID" 2>/dev/null || break
		sleep 0.1
	done
	peer_up || { cat "$WORK/peer.log" >&2; die "the peer did not start (want 401 from /v2/)"; }
fi

# token SIDE SCOPE prints a bearer token for one side.
token() {
	case $1 in
	rolepull) "$RB" token -registry "$RP_REGISTRY" -host "$RP_HOST" -service "$RP_SERVICE" -scope "$2" -user "$RP_USERNAME" -password "$RP_PASSWORD" ;;
	peer) "$RB" token -registry "$TS_TOKEN_ADDR" -service "$PEER_SERVICE" -scope "$2" -user bench -password bench ;;
	esac
}
# target SIDE prints "-registry ADDR [-host HOST]" for regbench.
target() {
	case $1 in
	rolepull) echo "-registry $RP_REGISTRY -host $RP_HOST" ;;
	peer) echo "-registry $PEER_REGISTRY" ;;
	esac
}
addr_of() { if [ "$1" = rolepull ]; then echo "$RP_REGISTRY"; else echo "$PEER_REGISTRY"; fi; }
host_hdr() { if [ "$1" = rolepull ]; then echo "Host: $RP_HOST"; else echo "Host: $PEER_REGISTRY"; fi; }
pid_of() { if [ "$1" = rolepull ]; then echo "$RP_PID"; else echo "$PEER_PID"; fi; }
# cpu_ticks PID: user+system CPU of a process, in 1/100 s.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# order I: both sides, the first one alternating from round to round.
order() { if [ $(($1 % 2)) = 1 ]; then echo "rolepull peer"; else echo "peer rolepull"; fi; }

# --- section registry: rolepull's registry vs the CNCF registry ----------------
if want registry; then
	T0=$(date +%s)
	# --- the blob and the image -----------------------------------------------------
	log "generating $BLOB_BYTES random bytes"
	DIGEST=$("${CLI[@]}" "$RB" gen -size "$BLOB_BYTES" -out "$WORK/blob")
	log "blob $DIGEST"
	declare -A MANIFEST
	for side in rolepull peer; do
		log "pushing to $side"
		# shellcheck disable=SC2046
		MANIFEST[$side]=$("${CLI[@]}" "$RB" push $(target $side) -token "$(token $side "repository:$REPO:push,pull")" \
			-repo "$REPO" -tag "$TAG" -blob "$WORK/blob" -digest "$DIGEST")
		curl -sf -o /dev/null -I -H "$(host_hdr $side)" -H "Accept: $ACCEPT" -H "Authorization: Bearer $(token $side "repository:$REPO:pull")" \
			"http://$(addr_of $side)/v2/$REPO/manifests/$TAG" || die "HEAD manifest on $side failed after the push"
	done
	[ "${MANIFEST[rolepull]}" = "${MANIFEST[peer]}" ] || die "the two pushes made different manifests"
	log "manifest ${MANIFEST[peer]}; sync"
	rm -f "$WORK/blob"
	sync

	RAW=$WORK/raw.tsv
	: >"$RAW"

	# --- figure 1: 1 GiB blob GET -----------------------------------------------------
	log "blob GET: $RUNS runs per side and mode (token obtained once per side)"
	declare -A PULL
	for side in rolepull peer; do PULL[$side]=$(token $side "repository:$REPO:pull"); done
	for i in $(seq "$RUNS"); do
		for mode in verified read; do
			idle
			for side in $(order "$i"); do
				warm=0
				[ "$i" = 1 ] && warm=1
				# shellcheck disable=SC2046
				"${CLI[@]}" "$RB" get $(target $side) -token "${PULL[$side]}" -repo "$REPO" -digest "$DIGEST" -size "$BLOB_BYTES" \
					-runs 1 -warmup $warm -first-run "$i" -verify=$([ $mode = verified ] && echo true || echo false) \
					-figure "blob-get-$mode" -side $side -server-pid "$(pid_of $side)" | grep -v "^blob-get-read-srvcpu" | tee -a "$RAW" >&2
			done
		done
	done

	# --- figure 2: HEAD manifest rate ---------------------------------------------------
	for c in 16 64; do
		log "HEAD manifest, concurrency $c: $HEAD_RUNS × ${HEAD_SECONDS}s per side"
		for i in $(seq "$HEAD_RUNS"); do
			idle
			for side in $(order "$i"); do
				out=$WORK/ab-$side-c$c-$i.txt
				tok=$(token $side "repository:$REPO:pull")
				t0=$(cpu_ticks "$(pid_of $side)")
				"${CLI[@]}" ab -q -k -i -c "$c" -t "$HEAD_SECONDS" -n 100000000 \
					-H "$(host_hdr $side)" -H "Accept: $ACCEPT" -H "Authorization: Bearer $tok" \
					"http://$(addr_of $side)/v2/$REPO/manifests/$TAG" >"$out" 2>&1 || { cat "$out" >&2; die "ab against $side failed"; }
				t1=$(cpu_ticks "$(pid_of $side)")
				rate=$(awk '/^Requests per second/{print $4}' "$out")
				done_n=$(awk '/^Complete requests/{print $3}' "$out")
				failed=$(awk '/^Failed requests/{print $3}' "$out")
				non2xx=$(awk '/^Non-2xx responses/{print $3}' "$out")
				[ -n "$rate" ] && [ "${failed:-0}" = 0 ] && [ -z "$non2xx" ] ||
					{ cat "$out" >&2; die "ab against $side: failed=$failed non-2xx=${non2xx:-0}"; }
				{
					printf 'head-c%s\t%s\t%s\t%s\n' "$c" "$side" "$i" "$rate"
					# server CPU per request, µs: robust to time the server lost to other processes
					printf 'head-c%s-srvcpu\t%s\t%s\t%s\n' "$c" "$side" "$i" "$(awk -v t=$((t1 - t0)) -v n="$done_n" 'BEGIN{printf "%.1f", t * 10000 / n}')"
				} | tee -a "$RAW" >&2
				log "  $side: $done_n requests, server busy $(((t1 - t0) / HEAD_SECONDS)) % of a core"
			done
		done
	done

	# --- optional CPU profiles (not part of the figures) --------------------------------
	if [ "$PROFILE" = 1 ]; then
		mkdir -p "$RESULTS/profiles"
		for side in rolepull peer; do
			pp=$RP_PPROF
			[ $side = peer ] && pp=$PEER_PPROF
			log "profiling $side: HEAD c=64, then blob GETs"
			curl -s -o "$RESULTS/profiles/$side-head-c64.pprof" "http://$pp/debug/pprof/profile?seconds=8" &
			"${CLI[@]}" ab -q -k -i -c 64 -t 10 -n 100000000 -H "$(host_hdr $side)" -H "Accept: $ACCEPT" \
				-H "Authorization: Bearer $(token $side "repository:$REPO:pull")" "http://$(addr_of $side)/v2/$REPO/manifests/$TAG" >/dev/null
			wait $!
			curl -s -o "$RESULTS/profiles/$side-blob-get.pprof" "http://$pp/debug/pprof/profile?seconds=6" &
			# shellcheck disable=SC2046
			"${CLI[@]}" "$RB" get $(target $side) -token "$(token $side "repository:$REPO:pull")" -repo "$REPO" -digest "$DIGEST" \
				-size "$BLOB_BYTES" -runs 8 -warmup 0 -figure profile -side $side >/dev/null
			wait $!
		done
		log "profiles in $RESULTS/profiles (go tool pprof -top FILE)"
	fi

	# --- report ------------------------------------------------------------------------
	cp "$RAW" "$RESULTS/registry-raw.tsv"
	"$RB" report -raw "$RAW" -out "$RESULTS/registry.md" -peer "CNCF distribution registry $PEER_VERSION" \
		-blob "$(awk -v b="$BLOB_BYTES" 'BEGIN{if (b % 1073741824 == 0) print b/1073741824 " GiB"; else if (b % 1048576 == 0) print b/1048576 " MiB"; else print b " B"}')" \
		-note "Both registries store on the same filesystem ($(df -P "$WORK" | awk 'NR==2{print $1}'), work directory $WORK): rolepull under its data directory, the peer with the filesystem driver; both blob files are in the page cache (pushed, then \`sync\`ed)." \
		-note "rolepull: \`bench/cmd/setup\` (an in-process node as \`rolepull up\` runs it), an Enterprise instance open to 127.0.0.0/16, a role with AliyunContainerRegistryFullAccess, a temporary password; tokens from its /token (Ed25519, verified once, then cached); every request carries Host: the instance domain." \
		-note "peer: \`registry serve\` $PEER_VERSION (go install), \`auth: token\` with a JWKS of an Ed25519 key of \`bench/cmd/tokensrv\` (the peer verifies the JWT on every request), \`cache: blobdescriptor: inmemory\`, log level error, access log off, OTEL_TRACES_EXPORTER=none." \
		-note "Blob: $BLOB_BYTES bytes from ChaCha8 (incompressible), pushed monolithically (POST + PUT) to both; an OCI manifest names it as its one layer. GET: one HTTP/1.1 stream, bearer token obtained once per side, 1 MiB reads, the body's SHA-256 checked against the digest (verified) or discarded (read); first run after a warm-up GET; $RUNS runs per side and mode, sides alternating who goes first." \
		-note "HEAD: \`ab -k -i -c C -t $HEAD_SECONDS\` on /v2/$REPO/manifests/$TAG with \`Authorization: Bearer …\` (a fresh token per run) and an OCI/Docker Accept header; every response 200 (runs with failures or non-2xx abort the bench); $HEAD_RUNS runs per side and concurrency. Server CPU per request or per GB = the server process's user+system CPU (/proc/PID/stat) over the run, divided by the work done: unlike the rates, it does not move when another process takes the server's core." \
		-note "Pinning: $PINNING; $NICENESS. Rounds that started on a busy machine (< 85 % idle for 30 s): $BUSY."
log "section registry: $(($(date +%s) - T0)) s"
fi

# --- the pull image (sections pull and lib) ------------------------------------------
PULL_RAW=$WORK/pull-raw.tsv
NOTES=$WORK/pull-notes.tsv
: >"$PULL_RAW"
: >"$NOTES"
note() { printf '%s\t%s\n' "$1" "$2" >>"$NOTES"; } # note SECTION TEXT
if want pull || want lib; then
	log "generating the pull image: $LAYERS layers of $LAYER_BYTES random bytes (gzip tar)"
	PULL_MANIFEST=$("${CLI[@]}" "$PB" gen -dir "$WORK/image" -layers "$LAYERS" -layer-bytes "$LAYER_BYTES")
	IMAGE_BYTES=$(find "$WORK/image" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
	IMAGE_LABEL="$LAYERS × $(awk -v b="$LAYER_BYTES" 'BEGIN{if (b % 1048576 == 0) print b/1048576 " MiB"; else print b " B"}') image ($IMAGE_BYTES B)"
	log "image $PULL_MANIFEST ($IMAGE_BYTES bytes)"
	mkdir -p "$RESULTS/profiles"
fi

# --- section pull: pod pull vs crane pull -------------------------------------------------
if want pull; then
	T0=$(date +%s)
	log "pushing the image to the peer"
	# shellcheck disable=SC2046
	got=$("${CLI[@]}" "$PB" push $(target peer) -token "$(token peer "repository:$PULL_REPO:push,pull")" \
		-dir "$WORK/image" -repo "$PULL_REPO" -tag "$TAG")
	[ "$got" = "$PULL_MANIFEST" ] || die "the peer stored manifest $got, want $PULL_MANIFEST"
	sync
	# Both sides of this figure use both CPUs: the peer registry leaves cpu0.
	if [ ${#SRV[@]} -gt 0 ]; then taskset -a -p -c "0-$((NCPU - 1))" "$PEER_PID" >/dev/null; fi
	PROF=()
	[ "$PROFILE" = 1 ] && PROF=(-cpuprofile "$RESULTS/profiles/rolepull-pod-pull.pprof")
	log "pod pull vs crane pull: $PULL_RUNS rounds (+1 warm-up); rolepull's node runs in pullbench"
	"${NICE[@]}" "$PB" pod -data-dir "$WORK/pod-node" -image-dir "$WORK/image" -repo "$PULL_REPO" -tag "$TAG" \
		-crane "$CRANE" -peer-ref "$PEER_REGISTRY/$PULL_REPO:$TAG" -peer-pid "$PEER_PID" -work "$WORK" \
		-runs "$PULL_RUNS" -meta "$WORK/pod.env" "${PROF[@]}" | tee -a "$PULL_RAW" >&2
	read_env POD "$WORK/pod.env"
	if [ ${#SRV[@]} -gt 0 ]; then taskset -a -p -c 0 "$PEER_PID" >/dev/null; fi
	note pod "Measured $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - T0)) s for the section.${PULLBENCH_BIN:+ pullbench: $PULLBENCH_BIN, not built from this tree.}"
	note pod "rolepull: \`pullbench pod\` runs a node in-process (node.New + Run, as \`rolepull up\`), creates an Enterprise instance (internet on, ACL 127.0.0.0/16) and pushes the image to the node's own registry. Each run creates a container group with one container of that image and no role annotations (the ECI service-linked role pulls, secret-free) through $POD_CREATE_NOTE. The clock runs from the create call to status ImagesReady. Before each run the previous group is deleted, every blob of the content store removed and sync(2) called: a cold content store in a warm node (the registry's page cache, the puller's connections and its cached role credentials survive from the run before). The content store hashes while writing and fsyncs every blob and its directory before the group is ImagesReady."
	note pod "peer: \`crane pull --insecure --format oci REF DIR\` (crane $CRANE_VERSION, go install) into a fresh DIR on the same disk, from \`registry serve\` $PEER_VERSION (filesystem storage in the same work directory, \`auth: token\` with tokensrv's EdDSA JWKS as in registry.md; crane gets an anonymous token). \"crane + sync\" stops the clock when a sync(2) issued right after crane's exit returns. crane fetches at most 4 layers at once (ggcr's default), rolepull's puller 4 (pull.Options.LayerConcurrency)."
	note pod "Fair comparison: **crane + sync**. At ImagesReady every rolepull blob is fsynced (durable); when crane exits its ~1 GB is still dirty in the page cache."
	note pod "Image: $LAYERS layers, each a gzip stream (stored blocks) of a tar holding $LAYER_BYTES bytes of ChaCha8 output (incompressible), from \`pullbench gen\`; $IMAGE_BYTES bytes with manifest and config, pushed identically (manifest $PULL_MANIFEST) to both registries, then \`sync\`. MB/s = those bytes / wall time; both registries serve from the page cache."
	note pod "Rounds: $PULL_RUNS timed after one untimed warm-up round; the sides alternate who goes first; each round waits for ≥ 85 % idle CPUs (rounds that started busy: ${POD_BUSY:-0}). Not pinned: on each side client and registry share both CPUs; pullbench (crane is its child) and the peer registry at ${NICE[*]:-default niceness}."
	note pod "CPU per GB: rolepull = getrusage of the pullbench process (puller, registry and ECI in one process) from create to ImagesReady; peer = crane's rusage plus the peer registry's /proc ticks during crane. Kernel writeback threads (most of the sync) are charged to neither."
	log "section pull: $(($(date +%s) - T0)) s"
fi

# --- section lib: go-containerregistry vs oras-go --------------------------------------
if want lib; then
	T0=$(date +%s)
	log "pushing the image to rolepull"
	# shellcheck disable=SC2046
	got=$("${CLI[@]}" "$PB" push $(target rolepull) -token "$(token rolepull "repository:$PULL_REPO:push,pull")" \
		-dir "$WORK/image" -repo "$PULL_REPO" -tag "$TAG")
	[ "$got" = "$PULL_MANIFEST" ] || die "rolepull stored manifest $got, want $PULL_MANIFEST"
	sync
	PROF=()
	[ "$PROFILE" = 1 ] && PROF=(-cpuprofile-dir "$RESULTS/profiles")
	log "library comparison: $LIB_RUNS rounds (+1 warm-up)"
	"${NICE[@]}" "${CLI[@]}" "$PB" lib -registry "$RP_REGISTRY" -host "$RP_HOST" -user "$RP_USERNAME" -password "$RP_PASSWORD" \
		-repo "$PULL_REPO" -tag "$TAG" -runs "$LIB_RUNS" -work "$WORK/lib" -server-pid "$RP_PID" -meta "$WORK/lib.env" "${PROF[@]}" | tee -a "$PULL_RAW" >&2
	read_env LIB "$WORK/lib.env"
	note lib "Measured $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - T0)) s for the section.${PULLBENCH_BIN:+ pullbench: $PULLBENCH_BIN, not built from this tree.}"
	note lib "\`pullbench lib\` pulls the image of the pull section from rolepull's registry (\`bench/cmd/setup\`, the Enterprise instance of registry.md) into a fresh content store (\`content.Ingest\`: hash while writing, fsync each blob) per run; the store is removed and sync(2) called after each run. Same layer concurrency (4, an errgroup around Ingest), same credentials: the temporary password of the role bench-pusher given to each library as Basic credentials, which it trades at the registry's /token for a bearer token (once per run; fresh HTTP transport and library state per run)."
	note lib "ggcr: remote.Image → RawManifest, RawConfigFile, Layers → layer.Compressed() into Ingest, as internal/pull did before this measurement; ggcr verifies every blob's digest itself, so each byte is hashed twice. oras: remote.Repository (auth.Client, PlainHTTP) → FetchReference, Blobs().Fetch into Ingest; oras-go returns the raw body, so Ingest's hash is the only one. ggcr transport + plain GET: ggcr's token transport (transport.NewWithContext) and plain GETs of the blobs into Ingest, i.e. ggcr without its second hash — what internal/pull does now."
	note lib "Pinning: $PINNING; the lib client at ${NICE[*]:-default niceness}. $LIB_RUNS rounds after one warm-up round, the libraries rotating who goes first; each round waits for ≥ 85 % idle CPUs (rounds that started busy: ${LIB_BUSY:-0}). Client CPU = getrusage(RUSAGE_SELF) delta of the lib process over the pull: it includes Ingest's hashing, writes and fsyncs, which are the same for every library. Registry CPU = /proc ticks of the setup process."
	log "section lib: $(($(date +%s) - T0)) s"
fi

# --- pull report (sections pull and lib) -----------------------------------------------------
if want pull || want lib; then
	rm -rf "$WORK/image"
	# A section not run this time keeps its rows and notes from the last run.
	for sec in pod lib; do
		if { [ $sec = pod ] && ! want pull; } || { [ $sec = lib ] && ! want lib; }; then
			[ -f "$RESULTS/pull-raw.tsv" ] && grep "^$sec-" "$RESULTS/pull-raw.tsv" >>"$PULL_RAW" || true
			[ -f "$RESULTS/pull-notes.tsv" ] && grep "^$sec	" "$RESULTS/pull-notes.tsv" >>"$NOTES" || true
		fi
	done
	cp "$PULL_RAW" "$RESULTS/pull-raw.tsv"
	cp "$NOTES" "$RESULTS/pull-notes.tsv"
	"$PB" report -raw "$PULL_RAW" -notes "$NOTES" -out "$RESULTS/pull.md" -image "${IMAGE_LABEL:-image}"
fi
# --- section go: in-process figures ------------------------------------------------------
if want go; then
	T0=$(date +%s)
	GO_RAW=$WORK/go-bench.txt
	: >"$GO_RAW"
	gob() { # PKG REGEXP [go test flags]: append the benchmark's runs to GO_RAW
		local pkg=$1 re=$2
		shift 2
		idle
		go test -run '^$' -bench "$re" -count "$GO_COUNT" "$@" "$pkg" | tee -a "$GO_RAW" | grep '^Benchmark' >&2
	}
	log "go benchmarks, $GO_COUNT runs each"
	gob ./test/e2e '^BenchmarkCredentialChain$' -benchtime 200x
	gob ./internal/stsapi '^BenchmarkAssumeRole$'
	gob ./internal/sts '^BenchmarkMintToken$'
	gob ./internal/openapi '^BenchmarkSignatureV1$'
	gob ./internal/ram '^BenchmarkAuthorizeRole$'
	gob ./internal/policy '^(BenchmarkEvaluate10x10|BenchmarkMatchWorstCase|BenchmarkMatchAdversarial)$' -benchtime 20x
	log "pod start, cache hit vs cold: $POD_START_MB MiB image, $POD_START_COUNT runs of $POD_START_ITERS pods each way"
	idle
	ROLEPULL_BENCH_IMAGE_MB=$POD_START_MB go test -run '^$' -bench '^BenchmarkPodStart$' -benchtime "${POD_START_ITERS}x" \
		-count "$POD_START_COUNT" -timeout 60m ./test/e2e | tee -a "$GO_RAW" | grep '^Benchmark' >&2
	cp "$GO_RAW" "$RESULTS/go-raw.txt"
	"$BIN/gobench" -out "$RESULTS/go.md" -image-mb "$POD_START_MB" <"$GO_RAW"
	log "section go: $(($(date +%s) - T0)) s"
fi
log "done in $(($(date +%s) - T_START)) s"

# The ratio of every rolepull-vs-peer figure, as a bar chart.
PLOT_IN=()
for f in "$RESULTS/registry.md" "$RESULTS/pull.md"; do [ -f "$f" ] && PLOT_IN+=("$f"); done
if [ ${#PLOT_IN[@]} -gt 0 ]; then
	"$BIN/plot" -out "$RESULTS/ratios.svg" "${PLOT_IN[@]}"
fi

# BENCHMARKS.md at the top of the repository gathers every table of this run.
{
	echo "# rolepull benchmarks"
	echo
	echo "Written by \`bench/run.sh\` on $(date -u +'%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3)."
	echo "Each table compares rolepull with its peer in the same run; ratios ≥ 1 favour rolepull. Methods and caveats: bench/README.md."
	if [ -f "$RESULTS/ratios.svg" ]; then
		echo
		echo "![rolepull / peer ratio of every figure below](bench/results/ratios.svg)"
	fi
	for f in "$RESULTS/registry.md" "$RESULTS/pull.md" "$RESULTS/go.md"; do
		[ -f "$f" ] || continue
		echo
		sed -e '1s/^# /## /' -e '2,$s/^## /### /' "$f"
	done
} > "$ROOT/BENCHMARKS.md"
log "wrote $ROOT/BENCHMARKS.md"
