// Opening a cache directory: create it, take it over, or repair what a
// crash, a damage or an older format left before the first call runs.

package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
)

// Open opens or creates the cache in dir. A directory left by a process
// that died mid-write is repaired before Open returns.
func Open(dir string, opts *Options) (*Cache, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	if !o.ReadOnly {
		c, err := open(dir, o)
		if !errors.Is(err, ErrPermission) {
			return c, err
		}
		// The files can not be opened for writing: read what is there.
		o.ReadOnly = true
		if rc, rerr := open(dir, o); rerr == nil {
			return rc, nil
		}
		return nil, err
	}
	return open(dir, o)
}

func open(dir string, o Options) (_ *Cache, err error) {
	mode := os.FileMode(o.FileMode)
	if !o.ReadOnly {
		if err := os.MkdirAll(dir, os.FileMode(o.DirMode)); err != nil {
			return nil, fmt.Errorf("create directory: %w", mapErrno(err))
		}
	}
	c := &Cache{dir: dir, opts: o, readOnly: o.ReadOnly}
	c.SetLimits(o.SizeLimit, o.CullLimit, o.Policy)
	c.nextOwn.Store(1 << 63)
	defer func() {
		if err != nil {
			c.release()
		}
	}()
	lockFlags := os.O_RDWR | os.O_CREATE
	if o.ReadOnly {
		lockFlags = os.O_RDONLY
	}
	if c.lockFile, err = openFile(filepath.Join(dir, lockName), lockFlags, mode); err != nil {
		return nil, fmt.Errorf("open lock: %w", mapErrno(err))
	}
	c.lock = newWriterLock(c.lockFile)
	io := chooseMode(dir, o)
	if io == ioNetwork {
		c.lock.net = newNetLock(filepath.Join(dir, netLockName), mode)
	}
	if c.idx, err = openIndex(filepath.Join(dir, indexName), mode, o.IndexReserve, o.ReadOnly, io); err != nil {
		return nil, err
	}
	if c.jrn, err = openJournal(filepath.Join(dir, journalName), mode, o.ReadOnly, io); err != nil {
		return nil, err
	}
	c.segs = &segments{dir: dir, mode: mode, segSize: o.SegmentSize, views: make(map[uint32]*segView),
		net: io == ioNetwork, durable: o.Sync && !o.ReadOnly}
	c.segs.inTable = c.segmentListed
	c.tx = newTx(c.idx, c.jrn, c.segs)
	if err := c.prepare(); err != nil {
		return nil, err
	}
	// Validate under the seqlock: a live writer may be changing the header
	// (it is re-sealed at the end of each operation), and a dead one is
	// rolled back by read's stuck-writer repair.
	if err := c.read(c.idx.validate); err != nil {
		if !errors.Is(err, ErrCorrupted) || c.readOnly {
			return nil, err
		}
		// (An index of a newer format is rebuilt too, when its segments
		// are of this build's format; rebuildLocked refuses newer ones.)
		if err := c.repairDamaged(err); err != nil {
			return nil, err
		}
	}
	c.segs.inst = c.idx.instance()
	return c, nil
}

// prepare creates a missing index under the writer lock. An existing one
// needs no lock: a journal left by a dead writer is rolled back by the next
// writer (or a reader that finds the seqlock stuck), and a journal in use
// by a live writer must not be touched.
func (c *Cache) prepare() error {
	if c.idx.io.private() {
		return c.preparePrivate()
	}
	ok, err := c.idx.initialised()
	if err != nil {
		return err
	}
	if c.readOnly {
		if !ok {
			return fmt.Errorf("%w: no cache in %s to read", ErrPermission, c.dir)
		}
		return nil
	}
	if ok && c.jrn.size >= jrnGrowStep {
		if c.jrn.pending() {
			// Roll back now if the writer is dead, so this process never
			// reads its unfinished transaction.
			c.repairIfAbandoned()
		}
		return nil
	}
	return c.withLock(func() error {
		if err := c.jrn.init(); err != nil {
			return err
		}
		ok, err := c.idx.initialised()
		if err != nil {
			return err
		}
		if !ok {
			return c.createOrRebuild()
		}
		return c.recover()
	})
}

// createOrRebuild lays down the index of a directory whose index file is
// missing, empty or without its magic: a new, empty one when there are no
// segments, else the index rebuilt from them (the file was lost or
// damaged, or a rebuild was cut short). The caller holds the writer lock.
func (c *Cache) createOrRebuild() error {
	files, err := segmentFiles(c.dir)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		if c.idx.io.private() {
			return c.createPrivate(1)
		}
		c.jrn.commit()
		return c.idx.create(1)
	}
	n, err := c.idx.fileBytes()
	if err != nil {
		return err
	}
	reason := "the index file was missing"
	switch {
	case n > 0 && n < headerSize:
		reason = fmt.Sprintf("the index file was cut short (%d bytes)", n)
	case n > 0:
		reason = "the index file had no valid header (a rebuild was interrupted, or it was damaged)"
	}
	_, err = c.rebuildLocked(reason, false)
	return err
}

// withLock runs fn holding the writer lock under a fresh owner (Open's
// preparation and repairs, which run outside any caller's transaction).
func (c *Cache) withLock(fn func() error) error {
	owner := c.owner(0)
	if _, err := c.lock.acquire(owner, c.opts.Timeout); err != nil {
		return err
	}
	defer func() {
		c.lock.leave(owner)
		c.lock.release()
	}()
	c.idx.m = c.idx.mem()
	return guard(fn)
}

// preparePrivate is prepare for the ordered and network modes, which read
// the files rather than a shared mapping, under the lock.
func (c *Cache) preparePrivate() error {
	if c.readOnly {
		return c.loadHeaderRO()
	}
	if ok, err := c.initialisedFile(); err != nil || ok && c.jrn.size >= jrnGrowStep {
		// An existing index needs no lock to open (many processes open
		// at once on a slow filesystem): a dead writer's journal is
		// rolled back by the next process that takes the lock, and
		// readers without it wait for the sequence number to settle.
		// The journal buffer is written out whole at commit: give it the
		// file's magic.
		copy(c.jrn.m, jrnMagic)
		return err
	}
	return c.withLock(c.preparePrivateLocked)
}

// initialisedFile reports whether the index file holds a header, reading
// it rather than the private copy.
func (c *Cache) initialisedFile() (bool, error) {
	n, err := c.idx.fileBytes()
	if err != nil || n < headerSize {
		return false, err
	}
	var magic [8]byte
	if _, err := c.idx.f.ReadAt(magic[:], 0); err != nil {
		return false, fmt.Errorf("read index: %w", mapErrno(err))
	}
	return string(magic[:]) == idxMagic, nil
}

func (c *Cache) preparePrivateLocked() error {
	if err := c.jrn.init(); err != nil {
		return err
	}
	ok, err := c.initialisedFile()
	if err != nil {
		return err
	}
	if !ok {
		// A new index (or one whose creator died, or a lost one): no
		// journal applies.
		var zero [8]byte
		if err := writeAt(c.jrn.f, zero[:], jrnOffUsed); err != nil {
			return fmt.Errorf("write journal: %w", err)
		}
		if err := c.createOrRebuild(); err != nil {
			return err
		}
		if c.idx.io == ioNetwork && c.netLoaded {
			return nil
		}
	} else if _, err := c.recoverFile(); err != nil {
		return err
	}
	if c.idx.io == ioNetwork {
		return c.loadNet()
	}
	return nil
}

// createPrivate lays down a new index in the private copy and writes it
// to the file, magic last, as create does in a shared mapping.
func (c *Cache) createPrivate(nextSeg uint32) error {
	x := c.idx
	if err := x.create(nextSeg); err != nil {
		return err
	}
	end := int64(x.u64(offFileSize))
	if err := writeAt(x.f, x.m[8:end], 8); err != nil {
		return fmt.Errorf("create index: %w", err)
	}
	if c.opts.Sync {
		if err := syncFile(x.f); err != nil {
			return err
		}
	}
	if err := writeAt(x.f, x.m[:8], 0); err != nil {
		return fmt.Errorf("create index: %w", err)
	}
	if c.opts.Sync {
		if err := syncFile(x.f); err != nil {
			return err
		}
		if err := syncDir(c.dir); err != nil {
			return err
		}
	}
	if x.io == ioOrdered {
		dropPages(x.m, 0, end)
	}
	return nil
}

// repairDamaged deals with an index whose header is damaged beyond use
// (its state checksum or sizes fail): every list and table hangs off that
// header, so its entries can not be trusted or found. An index of format 1
// is upgraded (upgrade.go); any other is rebuilt from the segments
// (rebuild.go), in place and under the writer lock, so processes that have
// the file open see the new index rather than keep a file of their own.
func (c *Cache) repairDamaged(found error) error {
	return c.withLock(func() error {
		if c.idx.io == ioNetwork {
			if err := c.syncNet(); err != nil && !errors.Is(err, ErrCorrupted) {
				return err
			}
		}
		// Another process may have repaired it already.
		err := c.idx.validate()
		if err == nil || !errors.Is(err, ErrCorrupted) {
			return err
		}
		if c.idx.legacy() {
			return c.upgradeLocked()
		}
		_, err = c.rebuildLocked(fmt.Sprintf("the index was damaged (%v)", found), false)
		return err
	})
}

// recreate lays down a new, empty index in place of the current one; the
// caller holds the writer lock and has nothing journaled. New segments
// start at nextSeg, so the old segment files stay readable meanwhile.
func (c *Cache) recreate(nextSeg uint32) error {
	x := c.idx
	if x.io.private() {
		if err := c.closeJournalFile(); err != nil {
			return err
		}
		if err := c.createPrivate(nextSeg); err != nil {
			return err
		}
		c.segs.inst = x.instance()
		if x.io == ioNetwork {
			return c.loadNet()
		}
		return nil
	}
	c.jrn.commit()
	c.tx.beginOp()
	odd := x.seq() | 1
	err := x.create(nextSeg)
	// create cleared the sequence number too; carry it on past any number
	// a reader may have started under.
	atomic.StoreUint64(x.seqPtr(), odd+1)
	c.tx.opOpen = false
	c.segs.inst = x.instance()
	return err
}

// nextFreeSegment returns a segment id above every segment file in the
// directory and every id the index handed out.
func (c *Cache) nextFreeSegment() uint32 {
	next := uint32(1)
	if n, err := c.idx.fileBytes(); err == nil && n >= headerSize && c.idx.stateOK() {
		next = c.idx.u32(offNextSeg)
	}
	names, _ := filepath.Glob(filepath.Join(c.dir, filePrefix+"-*.seg"))
	for _, name := range names {
		var id uint32
		if _, err := fmt.Sscanf(filepath.Base(name), filePrefix+"-%08x.seg", &id); err == nil && id >= next {
			next = id + 1
		}
	}
	return next
}

// recover rolls back a transaction whose writer died; the caller holds the
// writer lock.
func (c *Cache) recover() error {
	if c.idx.io.private() {
		_, err := c.recoverFile()
		return err
	}
	if c.jrn.pending() {
		if err := c.jrn.rollback(c.idx); err != nil {
			return err
		}
		c.trimLog()
	}
	if string(c.idx.m[:8]) != idxMagic {
		// A rebuild died half way (its sequence number is still odd):
		// make it again before readers go on.
		return c.createOrRebuild()
	}
	if s := c.idx.seq(); s&1 == 1 {
		atomic.AddUint64(c.idx.seqPtr(), 1)
	}
	return nil
}
