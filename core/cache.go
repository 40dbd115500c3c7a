package core

import (
	"errors"
	"os"
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

// Filesystem reports the filesystem the cache lives on, by statfs: its
// name when it is a network or FUSE filesystem (nfs, smb, cifs, fuse, ...)
// and whether it is one. The index is memory-mapped, and such filesystems
// do not keep a mapping coherent between machines.
func (c *Cache) Filesystem() (name string, network bool) {
	_, name, network = filesystem(c.dir)
	return name, network
}
