package core

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// Network mode's reads: every operation takes the writer lock, so no other
// machine changes the files meanwhile, and brings the private copy of the
// index up to date first.

// readNet is read for network mode.
func (c *Cache) readNet(fn func() error) error {
	if c.readOnly {
		return c.readNetUnlocked(fn)
	}
	if c.lockHeldHere() {
		// A thread of this process holds the lock (a transaction): the
		// copy is current and changes only under that thread's seqlock.
		return c.readSeq(fn)
	}
	owner := c.owner(0)
	if _, err := c.lock.acquire(owner, c.opts.Timeout); err != nil {
		return err
	}
	defer func() {
		c.lock.leave(owner)
		c.lock.release()
	}()
	if err := c.syncNet(); err != nil {
		return err
	}
	return retryIsCorrupt(fn())
}

// readNetUnlocked serves a read-only handle, which can not create the lock
// file: it re-reads the index when the sequence number moved and retries
// when a writer changed it during the read.
func (c *Cache) readNetUnlocked(fn func() error) error {
	for tries := 0; ; tries++ {
		seq, err := c.fileSeq()
		if err != nil {
			return err
		}
		if seq&1 == 0 && (!c.netLoaded || seq != c.netSeq) {
			err = c.loadNet()
		}
		if err == nil && seq&1 == 0 {
			err = fn()
		}
		after, serr := c.fileSeq()
		if serr != nil {
			return serr
		}
		if after == seq && seq&1 == 0 {
			return retryIsCorrupt(err)
		}
		if tries > 1000 {
			return fmt.Errorf("%w: the index kept changing (or stayed mid-write) while reading it", ErrTimeout)
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
		return 0, fmt.Errorf("read index: %w", mapErrno(err))
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
	return c.loadNet()
}

// loadNet reads the whole index file into the private copy. The copy's
// sequence number is odd meanwhile, for this process's readers; it only
// ever grows (a reader must never see it come back to the number it
// started under), so the file's number is kept apart, in c.netSeq.
func (c *Cache) loadNet() error {
	x := c.idx
	size, err := x.fileBytes()
	if err != nil {
		return err
	}
	if size < headerSize {
		return fmt.Errorf("%w: index file of %d bytes", ErrCorrupted, size)
	}
	if size > int64(len(x.m)) {
		return fmt.Errorf("%w: index file of %d bytes passes the reservation", ErrCorrupted, size)
	}
	c.netLoaded = false
	pre := x.seq() &^ 1
	atomic.StoreUint64(x.seqPtr(), pre+1)
	if err := readFull(x, x.m[:offSeq], 0); err != nil {
		return err
	}
	if err := readFull(x, x.m[offSeq+8:size], offSeq+8); err != nil {
		return err
	}
	seq, err := c.fileSeq()
	if err != nil {
		return err
	}
	c.netSeq = seq
	c.netLoaded = true
	atomic.StoreUint64(x.seqPtr(), pre+2)
	return nil
}

func readFull(x *index, b []byte, off int64) error {
	if _, err := x.f.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && len(b) == 0) {
		return fmt.Errorf("read index: %w", mapErrno(err))
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
	if !c.lockHeldHere() {
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
	if delta != 0 || reset {
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
