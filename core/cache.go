package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// File names inside a cache directory. Everything the engine owns starts
// with "cache.dcg", so check() can tell the engine's files from strays.
const (
	indexName   = "cache.dcg"
	journalName = "cache.dcg-journal"
	lockName    = "cache.dcg-lock"
	netLockName = "cache.dcg-netlock"
	filePrefix  = "cache.dcg"
)

// Cache is one open cache directory. Its methods are safe for concurrent use
// by goroutines and, through the files, by other processes.
type Cache struct {
	dir  string
	opts Options

	lockFile *os.File
	lock     *writerLock
	idx      *index
	jrn      *journal
	segs     *segments
	tx       *tx

	readOnly bool // opened without write access: no writes, no repairs
	// netLoaded says the private copy of the index (network mode) holds
	// the file as of its sequence number; false forces a full re-read.
	netLoaded bool
	netSeq    uint64     // the file's sequence number the private copy matches
	netMu     sync.Mutex // serialises network mode's counter updates in this process

	sizeLimit atomic.Int64
	cullLimit atomic.Int64
	policy    atomic.Uint32

	repairMu   sync.Mutex
	repairNote string // what the last rebuild of the index found

	closeMu  sync.Mutex
	probed   atomic.Int64 // when a reader last checked for a dead writer
	closed   atomic.Bool
	inflight atomic.Int64
	nextOwn  atomic.Uint64
}

// Call carries the per-call identity and patience of a writer: Owner makes
// the writer lock reentrant (calls with the Owner that opened a transaction
// run inside it) and Timeout bounds the wait for the lock (negative: wait
// forever). The zero Call uses the cache's Timeout and a fresh owner.
type Call struct {
	Owner   uint64
	Timeout time.Duration
}

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

// Dir returns the cache directory.
func (c *Cache) Dir() string { return c.dir }

// SetLimits changes the size limit, cull limit and policy this handle uses,
// as python-diskcache's reset() changes a Cache object's cached settings.
func (c *Cache) SetLimits(sizeLimit int64, cullLimit int, p Policy) {
	c.sizeLimit.Store(sizeLimit)
	if cullLimit < 0 {
		cullLimit = 0
	}
	c.cullLimit.Store(int64(cullLimit))
	c.policy.Store(uint32(p))
}

func (c *Cache) owner(o uint64) uint64 {
	if o != 0 {
		return o
	}
	return c.nextOwn.Add(1)
}

func (c *Cache) timeout(call Call) time.Duration {
	if call.Timeout == 0 {
		return c.opts.Timeout
	}
	return call.Timeout
}

// enter counts a call in; Close waits for calls in flight.
func (c *Cache) enter() error {
	c.inflight.Add(1)
	if c.closed.Load() {
		c.inflight.Add(-1)
		return ErrClosed
	}
	return nil
}

func (c *Cache) exit() { c.inflight.Add(-1) }

// Close releases the cache. A transaction still open is rolled back.
func (c *Cache) Close() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed.Swap(true) {
		return nil
	}
	close(c.lock.closing)
	for c.inflight.Load() > 0 {
		time.Sleep(50 * time.Microsecond)
	}
	c.lock.mu.Lock()
	open := c.lock.depth > 0
	c.lock.mu.Unlock()
	if open {
		if guard(func() error {
			c.tx.endOp()
			c.abortTx()
			return nil
		}) != nil {
			c.afterFault()
		}
		c.lock.release()
	}
	return c.release()
}

func (c *Cache) release() error {
	var errs []error
	if c.segs != nil {
		errs = append(errs, c.segs.close())
	}
	if c.jrn != nil {
		errs = append(errs, c.jrn.close())
	}
	if c.idx != nil {
		errs = append(errs, c.idx.close())
	}
	if c.lock != nil && c.lock.net != nil {
		c.lock.net.close()
	}
	if c.lockFile != nil {
		errs = append(errs, c.lockFile.Close())
	}
	return errors.Join(errs...)
}

// update runs fn as one write operation: inside the caller's transaction if
// call.Owner holds one, otherwise in a transaction of its own that commits
// when fn returns nil. If fn fails after changing the index, the whole
// transaction is rolled back, so the index never keeps half an operation.
func (c *Cache) update(call Call, fn func(t *tx) error) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	if c.readOnly {
		return errReadOnly
	}
	owner := c.owner(call.Owner)
	depth, err := c.lock.acquire(owner, c.timeout(call))
	if err != nil {
		return err
	}
	if depth == 1 {
		if err := c.startTx(); err != nil {
			c.lock.leave(owner)
			c.lock.release()
			return err
		}
	}
	t := c.tx
	mark, allocs := c.jrn.used, len(t.allocs)
	err = guard(func() error {
		err := fn(t)
		t.endOp()
		return err
	})
	if errors.Is(err, errFault) {
		c.afterFault()
	} else if err != nil && !outcome(err) && (c.jrn.used != mark || len(t.allocs) != allocs) {
		// The operation changed the index before failing: undo it all.
		c.abortTx()
	}
	if errors.Is(err, errRetry) {
		// The writer sees a consistent index: what it could not read is
		// missing or damaged.
		err = fmt.Errorf("%w: index refers to missing data", ErrCorrupted)
	}
	last, lerr := c.lock.leave(owner)
	if lerr != nil {
		return lerr
	}
	if last {
		if cerr := c.finishTx(true); cerr != nil && (err == nil || outcome(err)) {
			err = cerr
		}
		c.lock.release()
	}
	return err
}

// outcome reports whether err is an answer (not found, exists) rather than
// a failure: operations return those only between complete changes.
func outcome(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists)
}

// startTx begins a transaction for a writer that just took the lock. A
// fault (a truncated index) is repaired and the start tried again.
func (c *Cache) startTx() error {
	err := guard(c.startTxMapped)
	if errors.Is(err, errFault) {
		c.afterFault()
		err = guard(c.startTxMapped)
	}
	return err
}

func (c *Cache) startTxMapped() error {
	c.idx.m = c.idx.mem()
	if c.idx.io == ioNetwork {
		if err := c.syncNet(); err != nil {
			return err
		}
	} else if err := c.recover(); err != nil {
		return err
	}
	c.idx.takeWriter()
	// A full validate costs an fstat; the header check catches damage done
	// since open, and the file size can only grow while the cache is open.
	if err := c.idx.validateHeader(); err != nil {
		if !errors.Is(err, ErrCorrupted) || errors.Is(err, errNewerFormat) || c.idx.legacy() {
			return err
		}
		if _, err := c.rebuildLocked(fmt.Sprintf("the index was damaged while open (%v)", err), false); err != nil {
			return err
		}
	}
	c.jrn.begin()
	c.tx.removes = c.tx.removes[:0]
	c.tx.segRemoves = c.tx.segRemoves[:0]
	c.tx.allocs = c.tx.allocs[:0]
	return nil
}

// abortTx undoes the current transaction's changes.
func (c *Cache) abortTx() {
	var spans []span
	if c.idx.io == ioOrdered {
		spans, _ = c.tx.spans()
	}
	c.tx.beginOp()
	c.jrn.rollback(c.idx)
	c.trimLog()
	for _, s := range spans {
		// The private pages now equal the file again; give them back so
		// later writes by other processes show through.
		dropPages(c.idx.m, s.off, s.end-s.off)
	}
	c.tx.allocs = c.tx.allocs[:0]
	c.jrn.begin()
	c.tx.removes = c.tx.removes[:0]
	c.tx.segRemoves = c.tx.segRemoves[:0]
	c.tx.dirty = c.tx.dirty[:0]
	clear(c.tx.isDirty)
	c.tx.state = false
	// Make the seqlock even again without re-sealing restored bytes.
	atomic.AddUint64(c.idx.seqPtr(), 1)
	c.tx.opOpen = false
	if c.idx.io == ioOrdered {
		dropPages(c.idx.m, 0, 4096)
	} else if c.idx.io == ioNetwork {
		// The buffer equals the file again but its sequence number moved.
		c.netLoaded = false
	}
}

// finishTx commits (or rolls back) the transaction and then deletes the
// value files it released: after the commit, so a crash before it can
// only leave orphans, never entries without their files.
func (c *Cache) finishTx(commit bool) error {
	err := guard(func() error { return c.finishTxMapped(commit) })
	if errors.Is(err, errFault) {
		c.afterFault()
	}
	return err
}

func (c *Cache) finishTxMapped(commit bool) error {
	if !commit {
		c.abortTx()
		return nil
	}
	if c.idx.io.private() {
		if err := c.writeBack(); err != nil {
			c.tx.removes = c.tx.removes[:0]
			c.tx.segRemoves = c.tx.segRemoves[:0]
			return err
		}
	}
	c.jrn.commit()
	for _, name := range c.tx.removes {
		c.removeFile(name)
	}
	c.tx.removes = c.tx.removes[:0]
	if len(c.tx.segRemoves) > 0 {
		c.removeSegments(c.tx.segRemoves)
		c.tx.segRemoves = c.tx.segRemoves[:0]
	}
	return nil
}

// Begin opens a transaction for owner (reentrant): every write call with
// the same owner runs in it until the matching End.
func (c *Cache) Begin(call Call) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	if call.Owner == 0 {
		return fmt.Errorf("%w: a transaction needs an owner", ErrInvalid)
	}
	if c.readOnly {
		return errReadOnly
	}
	depth, err := c.lock.acquire(call.Owner, c.timeout(call))
	if err != nil {
		return err
	}
	if depth == 1 {
		if err := c.startTx(); err != nil {
			c.lock.leave(call.Owner)
			c.lock.release()
			return err
		}
	}
	return nil
}

// End closes one level of owner's transaction. At the outermost level it
// commits, or rolls back when commit is false; inner levels only unwind, as
// nested transact() blocks do in python-diskcache.
func (c *Cache) End(owner uint64, commit bool) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	last, err := c.lock.leave(owner)
	if err != nil {
		return err
	}
	if last {
		err := c.finishTx(commit)
		if rerr := c.lock.release(); err == nil {
			err = rerr
		}
		return err
	}
	return nil
}

// read runs fn against a consistent view of the index without taking a
// lock: it retries while a writer is changing the index. If the seqlock is
// stuck odd, the writer died mid-operation; after a while the reader takes
// the writer lock itself and rolls the dead writer's transaction back.
func (c *Cache) read(fn func() error) error {
	return c.readWait(true, fn)
}

// readWait is read; without wait it gives ErrWouldBlock where read would
// wait (network mode takes a lock; a writer may be mid-commit).
func (c *Cache) readWait(wait bool, fn func() error) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	if c.idx.io == ioNetwork {
		if !wait {
			return ErrWouldBlock
		}
		err := c.readNet(fn)
		if errors.Is(err, errFault) {
			// The index file was cut short: repair, as readSeq does.
			c.repairFault()
			err = c.readNet(fn)
		}
		return err
	}
	// (An ordered writer changes the file only while it commits, so
	// between its operations there is nothing to roll back: only the
	// shared mode looks at the journal.)
	return c.readSeq(wait, c.idx.io == ioShared, fn)
}

// readSeq is read's seqlock loop. With probe, the first pass first looks
// for an unfinished transaction in the journal (probeDeadWriter).
func (c *Cache) readSeq(wait, probe bool, fn func() error) error {
	var waited, total time.Duration
	faults := 0
	for spin := 0; ; spin++ {
		s1, done, err := c.readOnce(probe && spin == 0, fn)
		if done {
			return err
		}
		if err != nil {
			// A fault: the first one may be a truncated index, which
			// repairFault lays down anew; another one is reported.
			if faults++; faults > 1 {
				return err
			}
			c.repairFault()
			continue
		}
		if s1&1 == 0 {
			continue // a writer came and went during the read
		}
		if !wait {
			return ErrWouldBlock
		}
		if spin < 64 {
			runtime.Gosched()
			continue
		}
		time.Sleep(50 * time.Microsecond)
		waited += 50 * time.Microsecond
		total += 50 * time.Microsecond
		if c.opts.Timeout >= 0 && total > c.opts.Timeout {
			// The writer stopped mid-operation and its change can not be
			// rolled back (read-only, or a damaged journal).
			return fmt.Errorf("%w: the index stayed mid-write (a writer died and its journal could not be rolled back)", ErrTimeout)
		}
		if waited >= 2*time.Millisecond {
			waited = 0
			c.repairIfAbandoned()
		}
	}
}

// readOnce is one pass of the seqlock: the sequence number, fn, the number
// again, with faults on the mappings turned into errFault (see fault.go;
// this is guard, inlined into the hottest path). done says the read was
// consistent and err is fn's answer; otherwise err is a fault or nil, and
// s1 is odd when a writer was mid-change.
func (c *Cache) readOnce(probe bool, fn func() error) (s1 uint64, done bool, err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			s1, done, err = 0, false, faultError(r)
		}
	}()
	if probe && c.jrn.pending() {
		c.probeDeadWriter()
	}
	x := c.idx
	m := x.mem()
	if s1 = atomic.LoadUint64(seqIn(m)); s1&1 != 0 {
		return s1, false, nil
	}
	if fs := int64(getU64(m, offFileSize)); fs > int64(len(m)) {
		// Another process grew the index past this process's mapping.
		x.follow(fs)
	}
	err = fn()
	if x.seq() != s1 {
		return s1, false, nil
	}
	if errors.Is(err, errRetry) {
		err = fmt.Errorf("%w: index refers to missing data", ErrCorrupted)
	}
	return s1, true, err
}

// probeDeadWriter is called by readers that see an unfinished transaction
// in the journal. Usually its writer is alive and busy; if it died between
// two operations of a transaction, its changes would stay visible until the
// next writer rolled them back, so at most every 10 ms a reader tries the
// lock and rolls back itself.
func (c *Cache) probeDeadWriter() {
	now := time.Now().UnixNano()
	last := c.probed.Load()
	if now-last < int64(10*time.Millisecond) || !c.probed.CompareAndSwap(last, now) {
		return
	}
	c.repairIfAbandoned()
}

// repairIfAbandoned recovers the index if no live writer holds the lock.
func (c *Cache) repairIfAbandoned() {
	if c.readOnly {
		// Nothing can be repaired without write access; readers wait for
		// a writer (or time out in read) instead.
		return
	}
	owner := c.owner(0)
	if !c.lock.tryAcquire(owner) {
		return
	}
	guard(c.recover)
	c.lock.leave(owner)
	c.lock.release()
}

// repairFault is a reader's answer to a fault on a mapping: if the index
// (or the journal) was truncated under this process, it is laid down
// anew, under the writer lock if that is free, so reads carry on (on an
// empty index) instead of failing until the cache is reopened.
func (c *Cache) repairFault() {
	if c.readOnly {
		return
	}
	owner := c.owner(0)
	if !c.lock.tryAcquire(owner) {
		return
	}
	guard(c.repairTruncated)
	c.lock.leave(owner)
	c.lock.release()
}

// repairTruncated runs holding the writer lock, after a fault. If the
// journal file is shorter than this process knew it, it is given a new
// header; if the index file is shorter than its header says (or than a
// header), the index is rebuilt from the segments, as Open rebuilds one
// whose header is damaged. An index that validates is left alone: the fault was in a
// segment, or the disk failed to read a page.
func (c *Cache) repairTruncated() error {
	if err := c.jrn.repairTruncated(); err != nil {
		return err
	}
	x := c.idx
	x.m = x.mem()
	if x.io == ioNetwork {
		// Bring the copy up to date, cut short or not: validate judges it.
		if err := c.syncNet(); err != nil && !errors.Is(err, errFault) {
			return err
		}
	}
	n, err := x.fileBytes()
	if err != nil {
		return err
	}
	if n >= headerSize && guard(x.validate) == nil {
		return nil
	}
	// The header's pages must exist again before anything reads them.
	if err := growFile(x.f, headerSize); err != nil {
		return err
	}
	_, err = c.rebuildLocked(fmt.Sprintf("the index file was cut short to %d bytes while open", n), false)
	return err
}

// afterFault cleans up after a fault in a writer's operation (the lock is
// held): the transaction is rolled back as far as the files allow, a
// truncated index is replaced, and the handle is left ready for the next
// operation.
func (c *Cache) afterFault() {
	guard(func() error {
		c.abortTx()
		return nil
	})
	t := c.tx
	t.opOpen, t.state = false, false
	t.dirty = t.dirty[:0]
	clear(t.isDirty)
	t.allocs = t.allocs[:0]
	guard(c.repairTruncated)
}

// Filesystem reports the filesystem the cache lives on, by statfs: its
// name when it is a network or FUSE filesystem (nfs, smb, cifs, fuse, ...)
// and whether it is one. The index is memory-mapped, and such filesystems
// do not keep a mapping coherent between machines.
func (c *Cache) Filesystem() (name string, network bool) {
	_, name, network = filesystem(c.dir)
	return name, network
}
