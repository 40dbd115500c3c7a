package core

// ioMode is how this process shares the index file with other processes.
type ioMode uint8

const (
	// ioShared maps the index MAP_SHARED: a write is a store into the page
	// cache, seen at once by every process of the machine. The default.
	ioShared ioMode = iota
	// ioOrdered (Options.Sync on a local filesystem) maps the index
	// copy-on-write. Readers still read the page cache without a lock; the
	// writer's stores stay private until the commit writes them out with
	// pwrite, journal first, with fsync between the steps, and then drops
	// its private pages.
	ioOrdered
	// ioNetwork keeps a private copy of the index in anonymous memory,
	// refreshed with pread under the lock when the file's sequence number
	// moved, and commits like ioOrdered.
	ioNetwork
)

// private reports whether the writer's stores reach the file only by the
// commit's pwrites.
func (m ioMode) private() bool { return m != ioShared }

func (m ioMode) String() string {
	switch m {
	case ioOrdered:
		return "ordered"
	case ioNetwork:
		return "network"
	}
	return "shared"
}

// chooseMode resolves the options and the filesystem into an ioMode.
func chooseMode(dir string, o Options) ioMode {
	net := false
	switch o.Network {
	case NetworkOn:
		net = true
	case NetworkAuto:
		_, _, net = filesystem(dir)
	}
	switch {
	case net:
		return ioNetwork
	case o.Sync && !o.ReadOnly && !copyOnWriteDiscard:
		// No way to give a copy-on-write view's pages back (Windows):
		// the network mode's private copy orders the writes instead.
		return ioNetwork
	case o.Sync && !o.ReadOnly:
		return ioOrdered
	}
	return ioShared
}

// Mode reports how this handle shares the index with other processes:
// "shared" (memory mappings, the default), "ordered" (Options.Sync: writes
// go out with pwrite and fsync in journal order) or "network" (see
// NetworkMode).
func (c *Cache) Mode() string { return c.idx.io.String() }

// WasReset reports whether the index had to be rebuilt from the segments
// since this handle was opened, on opening or later (LastRepair says what
// was found).
func (c *Cache) WasReset() bool { return c.LastRepair() != "" }

// SegmentOthersCanWrite reports whether a segment file this handle has
// mapped could have been written by a user other than this process's
// effective user and root (owned by one, or writable by group or others).
// It stays set until Close. Records of such a segment may have been
// planted: the Python layer then refuses to unpickle what it reads unless
// the data is signed or the directory is declared trusted.
func (c *Cache) SegmentOthersCanWrite() bool { return c.segs.othersCanWrite.Load() }
