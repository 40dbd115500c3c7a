// Package core is the storage engine of diskcache-go: a persistent key-value
// cache in a directory, shared safely by any number of threads and
// processes, with python-diskcache's semantics (expiry, tags, insertion and
// eviction orders, queues) and without SQLite.
//
// A cache directory holds a memory-mapped index ("cache.dcg"), an undo
// journal ("cache.dcg-journal"), a lock file and append-only segments of
// checksummed records; values of 32 KiB and more live in their own files,
// which the caller (the Python layer) writes and names. Open costs the same
// for ten entries or ten million, reads take no lock, writers take one
// lock per directory and journal every change, so a writer killed at any
// instruction is rolled back by the next one. The segments are the truth:
// every change is a numbered record (deletes too), so an index that is
// lost or damaged is rebuilt from them (rebuild.go).
//
// Use Open to get a Cache; every write takes a Call, which names the owner
// of the writer lock (calls with the owner of an open transaction join it)
// and bounds the wait for it. Keys, values and tags are Typed: a Kind and
// its bytes, compared as SQLite compares python-diskcache's columns (the
// integer 1 and the float 1.0 are the same key).
//
//	c, err := core.Open(dir, nil)
//	if err != nil { ... }
//	defer c.Close()
//	err = c.Set(core.Call{}, &core.SetArgs{Key: core.Text("k"), Value: core.Blob(v), Mode: core.ModeRaw, Now: now})
//	it, err := c.Get(core.Text("k"), now, 0, buf) // it.Value.Bytes aliases buf
//
// Times are float64 seconds supplied by the caller (python-diskcache reads
// Python's clock; patched clocks must keep working). Errors are the
// sentinels in errors.go, tested with errors.Is.
//
// # Caveats
//
//   - Filesystems: on a local filesystem the index is shared through
//     memory mappings. On a network or FUSE filesystem (detected by statfs,
//     or forced with Options.Network) the engine runs in network mode: no
//     shared mappings, every operation under the writer lock, and a lock file
//     beside the flock (netlock.go), because mappings are not kept coherent
//     between machines.
//   - Durability: a kill -9 loses nothing that was acknowledged. A machine
//     crash or power loss may lose the last writes unless Options.Sync is
//     set, which syncs every commit before it returns.
//   - Readers in other threads and processes see a transaction's writes
//     before it commits (each write is atomic; the transaction as a whole
//     rolls back on failure).
//   - Files are mapped in proportion to their size and mapped again as
//     they grow (a small cache takes about 3 MiB of address space); the
//     index may grow to Options.IndexReserve (32 GiB by default) and holds
//     at most 768 segments.
//   - A file truncated or damaged under an open cache (by another program)
//     makes the calls that meet it fail with ErrCorrupted, never crash the
//     process; the index is then rebuilt from the segments, as Open does
//     with a damaged one.
//   - Linux, macOS and Windows (docs/platforms.md).
package core
