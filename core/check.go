package core

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// Warning is one finding of Check. Kind says which python-diskcache warning
// class it maps to.
type Warning struct {
	Kind WarningKind
	Msg  string
}

// WarningKind classifies a Check finding.
type WarningKind uint8

// Warning kinds.
const (
	// WarnIntegrity is a damaged or inconsistent index structure (a plain
	// UserWarning in python-diskcache).
	WarnIntegrity WarningKind = iota
	// WarnFile is a value file that is missing or has the wrong size.
	WarnFile
	// WarnCount is a counter that disagrees with the entries.
	WarnCount
	// WarnUnknownFile is a file of the engine's that nothing refers to
	// (python-diskcache's UnknownFileWarning).
	WarnUnknownFile
)

// CheckReport is what Check found, plus the value files the index refers
// to, so the caller can look for unknown files and empty directories.
type CheckReport struct {
	Warnings []Warning
	Files    []string
}

// Check verifies the index under the writer lock: every entry's checksum,
// record and hash-table slot, the value files' existence and sizes, and
// the counters. With fix it deletes entries whose file is gone, corrects
// file sizes and counters.
//
// When it finds the structure damaged (WarnIntegrity), fixing rebuilds the
// index from the entries that are still whole (see rebuild) and checks
// again; the report holds what both passes found.
func (c *Cache) Check(call Call, fix bool) (CheckReport, error) {
	var rep CheckReport
	err := c.update(call, func(t *tx) error {
		rep = CheckReport{}
		return c.check(t, fix, &rep)
	})
	if err != nil || !fix || !slices.ContainsFunc(rep.Warnings, func(w Warning) bool { return w.Kind == WarnIntegrity }) {
		return rep, err
	}
	rb, err := c.rebuild(call, "check(fix=True) found the index damaged")
	if err != nil {
		return rep, err
	}
	rep.Warnings = append(rep.Warnings, Warning{WarnIntegrity, rb.String()})
	var again CheckReport
	err = c.update(call, func(t *tx) error {
		again = CheckReport{}
		return c.check(t, true, &again)
	})
	rep.Warnings = append(rep.Warnings, again.Warnings...)
	rep.Files = again.Files
	return rep, err
}

// rebuild rebuilds the index from the segments (rebuild.go) under the
// writer lock, outside any transaction.
func (c *Cache) rebuild(call Call, reason string) (RebuildReport, error) {
	if err := c.enter(); err != nil {
		return RebuildReport{}, err
	}
	defer c.exit()
	if c.readOnly {
		return RebuildReport{}, errReadOnly
	}
	owner := c.owner(call.Owner)
	depth, err := c.lock.acquire(owner, c.timeout(call))
	if err != nil {
		return RebuildReport{}, err
	}
	defer func() {
		if last, _ := c.lock.leave(owner); last {
			c.lock.release()
		}
	}()
	// Inside a transaction (Python's check() holds one), the rebuild reads
	// the transaction's appends with the rest and cuts the journal: what
	// the transaction did so far can no longer be rolled back.
	var rep RebuildReport
	err = guard(func() error {
		if depth == 1 {
			c.idx.m = c.idx.mem()
			if err := c.recover(); err != nil && !errors.Is(err, ErrCorrupted) {
				return err
			}
			c.idx.takeWriter()
		}
		var err error
		rep, err = c.rebuildLocked(reason, false)
		return err
	})
	return rep, err
}

func (c *Cache) check(t *tx, fix bool, rep *CheckReport) error {
	x := t.x
	warn := func(k WarningKind, format string, args ...any) {
		rep.Warnings = append(rep.Warnings, Warning{k, fmt.Sprintf(format, args...)})
	}
	limit := uint64(x.u32(offEntryHigh))
	var count, size, inline uint64
	segLive := map[uint32]uint64{} // slot -> live bytes found
	var doomed []uint32
	var prev uint32
	var steps uint64
	for id := x.u32(offInsHead); id != nilID; steps++ {
		if steps > limit {
			warn(WarnIntegrity, "insertion order has a cycle")
			break
		}
		e := x.entry(id)
		if e == nil {
			warn(WarnIntegrity, "insertion order refers to entry %d beyond the index", id)
			break
		}
		if !entryOK(e) {
			warn(WarnIntegrity, "entry %d: checksum mismatch", id)
		}
		if getU32(e, eInsPrev) != prev {
			warn(WarnIntegrity, "entry %d: broken back link", id)
		}
		if getU32(e, eFlags)&flagLive == 0 {
			warn(WarnIntegrity, "entry %d: linked but not live", id)
		}
		if _, err := c.bucketOf(id, getU64(e, eHash)); err != nil {
			warn(WarnIntegrity, "entry %d: missing from the hash table", id)
		}
		r, err := t.segs.record(e)
		if err != nil {
			warn(WarnIntegrity, "entry %d: record unreadable: %v", id, err)
		} else {
			if hashTyped(Typed{r.keyKind(), r.key()}) != getU64(e, eHash) {
				warn(WarnIntegrity, "entry %d: key hash mismatch", id)
			}
			if f := string(r.file()); f != "" {
				if drop := c.checkFile(t, id, e, f, fix, warn); drop {
					doomed = append(doomed, id)
				} else {
					rep.Files = append(rep.Files, f)
				}
			}
		}
		count++
		size += getU64(x.entry(id), eSize)
		inline += uint64(getU32(e, eRecLen))
		segLive[getU32(e, eSegSlot)] += uint64(getU32(e, eRecLen))
		prev = id
		id = getU32(e, eInsNext)
	}
	if err := c.checkSegments(t, fix, segLive, warn); err != nil {
		return err
	}
	if n, ok := c.treeCount(limit); !ok || n != count {
		warn(WarnIntegrity, "key order holds %d entries, insertion order %d", n, count)
	}
	c.checkOrders(t, count, warn)
	for _, id := range doomed {
		e := x.entry(id)
		count--
		size -= getU64(e, eSize)
		inline -= uint64(getU32(e, eRecLen))
		if err := c.removeEntry(t, id, true); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		format string
		off    int64
		want   uint64
	}{
		{"Settings.count != COUNT(Cache.key); %d != %d", offCount, count},
		{"Settings.size != SUM(Cache.size); %d != %d", offSize, size},
		{"index inline bytes != SUM(record sizes); %d != %d", offInline, inline},
	} {
		if got := x.u64(f.off); got != f.want {
			warn(WarnCount, f.format, got, f.want)
			if fix {
				if err := t.setU64(f.off, f.want); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkFile verifies one entry's value file. It reports whether the entry
// must go (its file is missing and fix is set).
func (c *Cache) checkFile(t *tx, id uint32, e []byte, name string, fix bool, warn func(WarningKind, string, ...any)) bool {
	full, ok := c.valuePath(name)
	if !ok {
		warn(WarnIntegrity, "entry %d: file name %q escapes the cache directory", id, name)
		return fix
	}
	st, err := os.Stat(full)
	if err != nil {
		warn(WarnFile, "file not found: %s", filepath.Clean(full))
		return fix
	}
	if err := verifyFileSum(full, name); err != nil {
		warn(WarnFile, "%v", err)
		return fix
	}
	if real, db := st.Size(), int64(getU64(e, eSize)); real != db {
		warn(WarnFile, "wrong file size: %s, %d != %d", filepath.Clean(full), real, db)
		if fix {
			w, err := t.ent(id)
			if err == nil {
				putU64(w, eSize, uint64(real))
				t.addU64(offSize, real-db)
			}
		}
	}
	return false
}

// treeCount counts the key-order treap's nodes; ok is false if the walk
// found a cycle or an entry out of range.
func (c *Cache) treeCount(limit uint64) (uint64, bool) {
	var n uint64
	stack := []uint32{c.idx.u32(offTreeRoot)}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if id == nilID {
			continue
		}
		e := c.idx.entry(id)
		if e == nil || n > limit {
			return n, false
		}
		n++
		stack = append(stack, getU32(e, eOrdLeft), getU32(e, eOrdRight))
	}
	return n, true
}

// checkSegments compares each segment's live byte count with the records
// the entries point at, and deals with segment files the table does not
// list. One made after the committed state holds only the appends of a
// transaction that never committed (a power loss, or a writer that died
// before the rollback trimmed them): it is removed, as a rollback does.
// An older one is a segment compaction emptied whose removal failed: it
// holds nothing live, but a repair deletes nothing it can not account
// for, so it goes into the quarantine folder.
func (c *Cache) checkSegments(t *tx, fix bool, found map[uint32]uint64, warn func(WarningKind, string, ...any)) error {
	x := t.x
	listed := map[uint32]bool{}
	for i := uint32(0); i < maxSegSlots; i++ {
		so := offSegTable + int64(i)*segSlotSize
		id := getU32(x.m, so)
		if id == 0 {
			continue
		}
		listed[id] = true
		if got, want := getU64(x.m, so+8), found[i]; got != want {
			warn(WarnCount, "segment %d: live bytes %d != %d", id, got, want)
			if fix {
				if err := t.saveRange(so, segSlotSize); err != nil {
					return err
				}
				putU64(x.m, so+8, want)
			}
		}
	}
	names, err := filepath.Glob(filepath.Join(c.dir, filePrefix+"-*.seg"))
	if err != nil {
		return err
	}
	for _, name := range names {
		var id uint32
		if _, err := fmt.Sscanf(filepath.Base(name), filePrefix+"-%08x.seg", &id); err != nil || listed[id] {
			continue
		}
		if id >= x.u32(offNextSeg) {
			warn(WarnUnknownFile, "segment file of a transaction that never committed: %s", name)
			if fix {
				os.Remove(name)
			}
			continue
		}
		warn(WarnUnknownFile, "segment file not in the index: %s", name)
		if fix {
			if err := c.quarantine(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// summedName matches the value file names the Python package's Disk makes:
// a directory and a random name ending in the CRC-32 (IEEE) of the
// contents, or two directories as it named them before 2026-11-22.
var summedName = regexp.MustCompile(`^[0-9a-f]{2}/(?:[0-9a-f]{30}|[0-9a-f]{2}/[0-9a-f]{28})-([0-9a-f]{8})\.val$`)

// verifyFileSum checks a value file against the checksum in its name, if
// its name carries one.
func verifyFileSum(full, name string) error {
	m := summedName.FindStringSubmatch(name)
	if m == nil {
		return nil
	}
	want, err := strconv.ParseUint(m[1], 16, 32)
	if err != nil {
		return nil
	}
	f, err := openFile(full, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("file unreadable: %s: %w", filepath.Clean(full), err)
	}
	defer f.Close()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("file unreadable: %s: %w", filepath.Clean(full), err)
	}
	if got := h.Sum32(); got != uint32(want) {
		return fmt.Errorf("damaged file (checksum %08x, name says %08x): %s", got, want, filepath.Clean(full))
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
