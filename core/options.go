package core

import "time"

// Options configure a Cache. The zero value is valid; zero fields take the
// defaults from python-diskcache's DEFAULT_SETTINGS where the two overlap.
type Options struct {
	// SizeLimit is the target bound on Volume in bytes (default 1 GiB).
	SizeLimit int64
	// CullLimit is the most entries an automatic cull removes per write
	// (default 10). Use NoCull to disable automatic culling.
	CullLimit int
	// Policy is the eviction policy (default LeastRecentlyStored).
	Policy Policy
	// Timeout is how long a writer waits for the lock (default 60 s).
	// A negative value waits forever.
	Timeout time.Duration
	// SegmentSize is the size at which a record segment is sealed and a new
	// one started (default 64 MiB).
	SegmentSize int64
	// IndexReserve is the largest the index file may grow (default 32
	// GiB); a write that would pass it fails with ErrFull. No address
	// space is reserved for it: the index is mapped in proportion to its
	// size and mapped again as it grows.
	IndexReserve int64
	// Statistics makes Get count hits and misses.
	Statistics bool
	// FileMode is the permission of files the engine creates (default
	// 0o600: a cache can hold pickles, which must not be writable by others).
	FileMode uint32
	// DirMode is the permission of a cache directory the engine creates
	// (default 0o700).
	DirMode uint32
	// ReadOnly opens the cache without writing anything: reads work, writes
	// give ErrPermission. Open falls back to it by itself when the
	// operating system refuses to open the files for writing (a read-only
	// mount, a directory of another user).
	ReadOnly bool
	// Sync makes each write durable before it returns: the engine writes a
	// transaction's changes with pwrite in a fixed order and calls fsync
	// between the steps, so a power loss leaves the directory at a prefix
	// of the acknowledged writes. Every process that writes the cache must
	// set it for the guarantee to hold; it costs several fsyncs per write.
	Sync bool
	// Network chooses how processes share the index: NetworkAuto (the
	// default) uses network mode when statfs reports a network or FUSE
	// filesystem, NetworkOn and NetworkOff force it either way. See
	// NetworkMode.
	Network NetworkMode
	// CompressAbove, when positive, stores inline text and byte values of
	// at least this many bytes LZ4-compressed (when that makes them
	// smaller). Every reader decompresses them, whatever its own setting.
	CompressAbove int
}

// NetworkMode selects network mode. In network mode nothing is shared
// through memory mappings: every operation takes the writer lock (an flock
// and a lock file created with O_EXCL, which works where flock does not
// reach other machines), brings its private copy of the index up to date
// with pread when another process changed it, and writes its changes back
// with pwrite. It is slower (the whole index is re-read after another
// machine's write) but needs nothing from the filesystem beyond ordered
// reads and writes to one file and atomic exclusive creation.
type NetworkMode uint8

const (
	// NetworkAuto uses network mode on network and FUSE filesystems.
	NetworkAuto NetworkMode = iota
	// NetworkOn forces network mode.
	NetworkOn
	// NetworkOff forces local mode (shared mappings), wherever the cache is.
	NetworkOff
)

// NoCull as Options.CullLimit disables automatic culling.
const NoCull = -1

const (
	defaultSizeLimit    = 1 << 30
	defaultCullLimit    = 10
	defaultTimeout      = 60 * time.Second
	defaultSegmentSize  = 64 << 20
	defaultIndexReserve = 32 << 30
	defaultFileMode     = 0o600
	defaultDirMode      = 0o700
)

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.SizeLimit == 0 {
		o.SizeLimit = defaultSizeLimit
	}
	if o.CullLimit == 0 {
		o.CullLimit = defaultCullLimit
	}
	if o.Timeout == 0 {
		o.Timeout = defaultTimeout
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = defaultSegmentSize
	}
	if o.IndexReserve == 0 {
		o.IndexReserve = defaultIndexReserve
	}
	if o.FileMode == 0 {
		o.FileMode = defaultFileMode
	}
	if o.DirMode == 0 {
		o.DirMode = defaultDirMode
	}
	return o
}
