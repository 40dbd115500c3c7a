// Repairs a reader or writer triggers on its own: a writer that died
// holding the index open, a mapping fault, a file truncated under us.

package core

import (
	"errors"
	"fmt"
	"time"
)

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
