// Lock-free reads: a reader runs against the mappings and retries when the
// index sequence number says a writer was in the middle of a change.

package core

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
)

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
