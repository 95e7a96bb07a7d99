// Package content owns the node's local content-addressed blob store,
// shared by every pod and image cache on the node: which blobs are present,
// how a fetched blob becomes present, which owners pin which blobs, and
// which blobs garbage collection may remove.
//
// The blob files are the truth for "present". A blob is visible iff its
// file exists under its digest's name, and the commit protocol makes it
// exist only with every byte written, verified and durable (reliability.md
// N1). Pins live in the metadata store (internal/store) under
// "content/pins/<owner>". Only sha256 and sha512 digests are accepted, and
// each is validated before it names any file.
//
// # On-disk layout
//
//	DIR/                       0700
//	├── lock                   flock held by the one Store that has DIR open
//	├── blobs/
//	│   ├── sha256/
//	│   │   └── <64 hex>       a committed blob, 0444, mtime = commit time
//	│   └── sha512/
//	│       └── <128 hex>
//	└── ingest/                ingest files, same filesystem as blobs/
//	    └── <alg>-<hex>-<16 hex random>   0600 while written
//
// # Commit protocol (Ingest)
//
//  1. If blobs/<alg>/<hex> is present, stamp its mtime with now and return:
//     nothing is fetched (the stamp restarts its GC grace period).
//  2. Otherwise one fetch per digest (singleflight) streams into a new file
//     in ingest/ (O_EXCL), through a 1 MiB buffer, hashed while written.
//     At most size+1 bytes (or MaxBlobBytes+1 for an unknown size) are read.
//  3. Check the byte count and the digest. Any failure — mismatch, read or
//     write error, ENOSPC, cancellation — removes the ingest file and
//     leaves nothing else touched.
//  4. chmod 0444 and stamp the mtime (the commit time), then fsync and close
//     the file: data and inode are durable before the name is.
//  5. rename into blobs/<alg>/<hex> — the atomic commit — and fsync
//     blobs/<alg>/, so the name is durable before Ingest returns. Only now
//     may the caller record anything about the blob in metadata (N3).
//
// A crash at any point leaves either no blob or a complete one; what it
// leaves in ingest/ is deleted by the next Open, never resumed. Open also
// removes blob files that cannot be committed blobs (not regular, or empty
// under a non-empty digest — the zero-byte-layer failure of stores that
// skip the directory fsync). A full re-hash is Verify's job; with repair it
// removes what does not match, and the next Ingest fetches it again.
//
// # Pins and garbage collection
//
// An owner (a pod or image cache id) pins the set of digests it uses; Pin
// replaces the whole set in one metadata transaction. GC removes the blobs
// no owner pins whose commit time is older than Options.GCGrace, and the
// ingest files no Ingest is writing. GC documents why it is safe to run
// concurrently with Ingest and Pin. Callers pin within GCGrace of Ingest,
// or — for pulls that may take longer — pin first and then ingest.
package content
