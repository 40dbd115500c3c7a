// Write transactions: every write runs in update, which takes the writer
// lock, journals the change and commits or rolls it back; Begin and End
// stretch one transaction over many calls (python-diskcache's transact).

package core

import (
	"errors"
	"fmt"
	"sync/atomic"
)

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
