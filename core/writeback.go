package core

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// The ordered and network modes change a private copy of the index and
// write the transaction out at commit, in this order:
//
//  1. the records the transaction appended (fsync with Options.Sync);
//  2. the journal: every undo record and its length in one write, marked
//     batched (fsync);
//  3. the index: the sequence number made odd, every changed region, the
//     sequence number made even (fsync);
//  4. the journal's length set to 0: the commit point (fsync).
//
// A crash or power loss before 4 is durable leaves a journal that recovery
// uses to restore the index file (or, if the journal itself is torn, an
// index file step 3 never touched), so the directory comes back at the
// transaction's start; after it, at its end. Local-mode processes reading
// the same file see the odd sequence number and wait, as they do for one of
// their own writers.

// span is a region [off, end) of the index.
type span struct{ off, end int64 }

// spans returns the index regions the current transaction changed (its
// journal records and the regions it allocated), sorted and merged; close
// neighbours are merged too, since one larger write beats two on a network
// filesystem and the bytes between them are current in the private copy.
func (t *tx) spans() ([]span, error) {
	recs, err := t.j.records(t.j.used, int64(len(t.x.m)))
	if err != nil {
		return nil, err
	}
	out := slices.Clone(t.allocs)
	for _, r := range recs {
		out = append(out, span{r.off, r.off + r.n})
	}
	slices.SortFunc(out, func(a, b span) int { return int(a.off - b.off) })
	const gap = 512
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && s.off <= merged[n-1].end+gap {
			merged[n-1].end = max(merged[n-1].end, s.end)
			continue
		}
		merged = append(merged, s)
	}
	return merged, nil
}

// writeBack writes the current transaction to the files (steps 1 to 4).
// On failure it restores the files and the private copy to the state
// before the transaction.
func (c *Cache) writeBack() error {
	t, j, x := c.tx, c.jrn, c.idx
	spans, err := t.spans()
	if err != nil {
		return err
	}
	if len(spans) == 0 {
		return nil
	}
	if err := c.writeSteps(spans); err != nil {
		c.undoWrite(spans)
		return err
	}
	if x.io == ioOrdered {
		for _, s := range spans {
			dropPages(x.m, s.off, s.end-s.off)
		}
	} else {
		c.netSeq += 2
	}
	j.used = jrnStart
	t.allocs = t.allocs[:0]
	return nil
}

func (c *Cache) writeSteps(spans []span) error {
	j, x, durable := c.jrn, c.idx, c.opts.Sync
	if durable {
		if err := c.segs.syncWriter(); err != nil {
			return err
		}
	}
	putU64(j.m, jrnOffUsed, uint64(j.used))
	putU64(j.m, jrnOffBatch, 1)
	if err := writeAt(j.f, j.m[:j.used], 0); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if durable {
		if err := syncFile(j.f); err != nil {
			return err
		}
	}
	data := make([][]byte, len(spans))
	for i, s := range spans {
		data[i] = x.m[s.off:s.end]
		if x.io == ioOrdered {
			// Copied first: the state block shares page 0, which is
			// dropped below.
			data[i] = slices.Clone(data[i])
		}
	}
	seq := x.seq()
	if x.io == ioNetwork {
		seq = c.netSeq
	}
	var b [8]byte
	putU64(b[:], 0, seq+1)
	if err := writeAt(x.f, b[:], offSeq); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if x.io == ioOrdered {
		// From here this process's readers see the file's odd number and
		// wait, as other processes' readers do.
		dropPages(x.m, 0, 4096)
	}
	for i, s := range spans {
		if err := writeAt(x.f, data[i], s.off); err != nil {
			return fmt.Errorf("write index: %w", err)
		}
	}
	putU64(b[:], 0, seq+2)
	if err := writeAt(x.f, b[:], offSeq); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if durable {
		if err := syncFile(x.f); err != nil {
			return err
		}
	}
	return c.closeJournalFile()
}

// undoWrite restores the files and the private copy after a failed
// writeBack. If the files can not be restored now (the disk went away),
// the journal stays behind for the next writer to roll back.
func (c *Cache) undoWrite(spans []span) {
	x := c.idx
	if x.io == ioNetwork {
		// First, while the buffer still holds this transaction's records,
		// so this process's readers stop seeing its changes.
		c.jrn.rollback(x)
	}
	c.recoverFile()
	if x.io == ioOrdered {
		dropPages(x.m, 0, 4096)
		for _, s := range spans {
			dropPages(x.m, s.off, s.end-s.off)
		}
	} else {
		c.netLoaded = false
	}
	c.jrn.begin()
	c.tx.allocs = c.tx.allocs[:0]
}

// recoverFile rolls back, in the files, a transaction whose writer died
// part way (any mode's writer); the caller holds the writer lock and has
// no transaction open. It returns the index file's sequence number.
func (c *Cache) recoverFile() (uint64, error) {
	j, x, durable := c.jrn, c.idx, c.opts.Sync
	var hdr [jrnStart - jrnOffUsed]byte
	if _, err := j.f.ReadAt(hdr[:], jrnOffUsed); errors.Is(err, io.EOF) {
		// A journal cut short (truncated under this process) holds no
		// transaction to roll back; the next commit writes it whole.
		hdr = [len(hdr)]byte{}
		putU64(hdr[:], jrnOffEpoch-jrnOffUsed, getU64(j.m, jrnOffEpoch))
	} else if err != nil {
		return 0, fmt.Errorf("read journal: %w", mapErrno(err))
	}
	// This transaction's records carry the file's epoch.
	putU64(j.m, jrnOffEpoch, getU64(hdr[:], jrnOffEpoch-jrnOffUsed))
	if used := int64(getU64(hdr[:], 0)); used > 0 {
		if err := c.rollbackFile(used); err != nil {
			return 0, err
		}
		putU64(j.m, jrnOffEpoch, getU64(j.m, jrnOffEpoch)+1)
		c.trimLog()
	}
	j.used = jrnStart
	putU64(j.m, jrnOffUsed, 0)
	var b [8]byte
	if _, err := x.f.ReadAt(b[:], offSeq); err != nil {
		return 0, shortRead("read index", err)
	}
	seq := getU64(b[:], 0)
	if seq&1 == 1 {
		seq++
		putU64(b[:], 0, seq)
		if err := writeAt(x.f, b[:], offSeq); err != nil {
			return 0, fmt.Errorf("write index: %w", err)
		}
		if durable {
			if err := syncFile(x.f); err != nil {
				return 0, err
			}
		}
	}
	return seq, nil
}

// rollbackFile copies a dead writer's journal records back into the index
// file, newest first, then empties the journal.
func (c *Cache) rollbackFile(used int64) error {
	j, x, durable := c.jrn, c.idx, c.opts.Sync
	st, err := j.f.Stat()
	if err != nil {
		return err
	}
	j.setSize(st.Size())
	if used > j.size {
		return fmt.Errorf("%w: journal length %d", ErrCorrupted, used)
	}
	if err := j.reach(used); err != nil {
		return err
	}
	if _, err := j.f.ReadAt(j.m[:used], 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read journal: %w", err)
	}
	recs, err := j.records(used, x.limit)
	if err != nil && !errors.Is(err, errBadJournal) {
		return err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if err := writeAt(x.f, j.m[r.at:r.at+r.n], r.off); err != nil {
			return fmt.Errorf("roll back index: %w", err)
		}
	}
	if durable && len(recs) > 0 {
		if err := syncFile(x.f); err != nil {
			return err
		}
	}
	return c.closeJournalFile()
}

// closeJournalFile empties the journal file and advances its epoch (one
// write: the commit point of a transaction, or the end of a rollback).
func (c *Cache) closeJournalFile() error {
	j := c.jrn
	var b [jrnStart - jrnOffUsed]byte
	putU64(b[:], jrnOffEpoch-jrnOffUsed, getU64(j.m, jrnOffEpoch)+1)
	if err := writeAt(j.f, b[:], jrnOffUsed); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if c.opts.Sync {
		return syncFile(j.f)
	}
	return nil
}
