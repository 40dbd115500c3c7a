package core

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Network mode's reads. A reader first tries the lock without waiting;
// holding it, it brings the private copy up to date and reads. If another
// process holds it, the reader reads what was last committed instead: a
// writer in network or ordered mode changes the files only while it
// commits, with the sequence number odd, so the reader re-reads the index
// when the number moved and retries when it changes during the read. Reads
// so never wait for another process's transaction, as python-diskcache's
// readers do not (WAL).

// readNet is read for network mode.
func (c *Cache) readNet(fn func() error) error {
	if c.readOnly {
		return c.readNetUnlocked(fn, false)
	}
	select {
	case c.lock.sem <- struct{}{}:
	default:
		// Another thread of this process holds the lock (or is taking it):
		// the private copy changes only under that thread's seqlock.
		return c.readSeq(true, false, fn)
	}
	defer func() { <-c.lock.sem }()
	ok, err := c.lock.tryBoth()
	if err != nil {
		return err
	}
	if !ok {
		return c.readNetUnlocked(fn, true)
	}
	return c.readTaken(fn)
}

// readTaken reads holding the lock, which the caller just took with
// tryBoth (and the in-process semaphore, which the caller gives back).
func (c *Cache) readTaken(fn func() error) error {
	owner := c.owner(0)
	c.lock.mu.Lock()
	c.lock.holder, c.lock.depth = owner, 1
	c.lock.mu.Unlock()
	defer func() {
		c.lock.leave(owner)
		c.lock.releaseKeepSem()
	}()
	if err := c.syncNet(); err != nil {
		return err
	}
	return retryIsCorrupt(fn())
}

// readNetUnlocked reads without the lock (see above); read-only handles,
// which can not create the lock file, always read this way. The caller
// holds the in-process semaphore unless the handle is read-only (then
// nothing in this process writes the copy but these reads, serialised by
// netMu). With relock, it takes the lock instead once it is free, which
// is how a reader gets past a writer that died mid-commit.
func (c *Cache) readNetUnlocked(fn func() error, relock bool) error {
	if !relock {
		c.netMu.Lock()
		defer c.netMu.Unlock()
	}
	var deadline time.Time
	if c.opts.Timeout >= 0 {
		deadline = time.Now().Add(max(c.opts.Timeout, time.Second))
	}
	wait := 50 * time.Microsecond
	for {
		seq, err := c.fileSeq()
		if err != nil {
			return err
		}
		if seq&1 == 0 {
			if !c.netLoaded || seq != c.netSeq {
				err = c.loadNetAt(seq)
			}
			if err == nil {
				err = fn()
			}
			after, serr := c.fileSeq()
			if serr != nil {
				return serr
			}
			if after == seq {
				return retryIsCorrupt(err)
			}
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("%w: the index kept changing (or stayed mid-write) while reading it", ErrTimeout)
		}
		if relock {
			if ok, err := c.lock.tryBoth(); err == nil && ok {
				return c.readTaken(fn)
			}
		}
		time.Sleep(wait)
		if wait < 5*time.Millisecond {
			wait *= 2
		}
	}
}

func retryIsCorrupt(err error) error {
	if errors.Is(err, errRetry) {
		return fmt.Errorf("%w: index refers to missing data", ErrCorrupted)
	}
	return err
}

// fileSeq reads the index file's sequence number.
func (c *Cache) fileSeq() (uint64, error) {
	var b [8]byte
	if _, err := c.idx.f.ReadAt(b[:], offSeq); err != nil {
		return 0, shortRead("read index", err)
	}
	return getU64(b[:], 0), nil
}

// syncNet brings the private copy up to date; the caller holds the lock.
func (c *Cache) syncNet() error {
	seq, err := c.recoverFile()
	if err != nil {
		return err
	}
	if c.netLoaded && seq == c.netSeq {
		return nil
	}
	return c.loadNetAt(seq)
}

// loadNet reads the whole index file into the private copy; the caller
// holds the lock.
func (c *Cache) loadNet() error {
	seq, err := c.fileSeq()
	if err != nil {
		return err
	}
	return c.loadNetAt(seq)
}

// loadNetAt reads the whole index file into the private copy, which then
// stands for the file at sequence number seq (read by the caller before:
// a reader without the lock checks it did not move during the load). The copy's
// sequence number is odd meanwhile, for this process's readers; it only
// ever grows (a reader must never see it come back to the number it
// started under), so the file's number is kept apart, in c.netSeq.
func (c *Cache) loadNetAt(seq uint64) error {
	x := c.idx
	size, err := x.fileBytes()
	if err != nil {
		return err
	}
	if size < headerSize {
		return fmt.Errorf("%w: index file of %d bytes", errFault, size)
	}
	c.netLoaded = false
	pre := x.seq() &^ 1
	atomic.StoreUint64(x.seqPtr(), pre+1)
	if size > int64(len(x.m)) {
		// Another process grew the index: a larger copy. The number is
		// odd in both, for this process's readers.
		if err := x.grow(size, nil); err != nil {
			atomic.StoreUint64(x.seqPtr(), pre+2) // the copy is unchanged
			return err
		}
	}
	if err := readFull(x, x.m[:offSeq], 0); err != nil {
		return err
	}
	if err := readFull(x, x.m[offSeq+8:size], offSeq+8); err != nil {
		return err
	}
	c.netSeq = seq
	c.netLoaded = true
	atomic.StoreUint64(x.seqPtr(), pre+2)
	// A file shorter than its header says was truncated (a writer grows
	// the file before it commits a larger size; a commit between the
	// fstat and the read moves the sequence number, which the caller
	// checks). The copy is loaded all the same: repairTruncated judges it.
	if int64(getU64(x.m, offFileSize)) > size {
		return fmt.Errorf("%w: index file of %d bytes, shorter than its header says", errFault, size)
	}
	return nil
}

func readFull(x *index, b []byte, off int64) error {
	if _, err := x.f.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && len(b) == 0) {
		return shortRead("read index", err)
	}
	return nil
}

// loadHeaderRO checks a read-only network-mode handle has an index to read.
func (c *Cache) loadHeaderRO() error {
	if c.idx.io != ioNetwork {
		return nil
	}
	n, err := c.idx.fileBytes()
	if err != nil {
		return err
	}
	if n < headerSize {
		return fmt.Errorf("%w: no cache in %s to read", ErrPermission, c.dir)
	}
	return nil
}

// netCounter adds delta to a statistics counter in the file (network mode
// keeps no shared view of them), or sets it to 0 when reset is true, and
// returns the new value.
func (c *Cache) netCounter(off int64, delta uint64, reset bool) (uint64, error) {
	write := delta != 0 || reset
	if c.readOnly && write {
		return 0, errReadOnly
	}
	// Reading a counter needs no lock (a count is a count, a moment
	// early or late); changing one is a read-modify-write.
	if write && !c.lockHeldHere() {
		owner := c.owner(0)
		if _, err := c.lock.acquire(owner, c.opts.Timeout); err != nil {
			return 0, err
		}
		defer func() {
			c.lock.leave(owner)
			c.lock.release()
		}()
	}
	// Else a transaction of this process holds the lock (and may be the
	// caller's own): no other process can write meanwhile.
	c.netMu.Lock()
	defer c.netMu.Unlock()
	var b [8]byte
	if _, err := c.idx.f.ReadAt(b[:], off); err != nil {
		return 0, fmt.Errorf("read index: %w", mapErrno(err))
	}
	v := getU64(b[:], 0) + delta
	if reset {
		v = 0
	}
	if write {
		putU64(b[:], 0, v)
		if err := writeAt(c.idx.f, b[:], off); err != nil {
			return 0, fmt.Errorf("write index: %w", err)
		}
	}
	return v, nil
}

// lockHeldHere reports whether a thread of this process holds the writer
// lock (a transaction).
func (c *Cache) lockHeldHere() bool {
	c.lock.mu.Lock()
	defer c.lock.mu.Unlock()
	return c.lock.depth > 0
}
