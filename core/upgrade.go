package core

import (
	"fmt"
	"os"

	"github.com/cespare/xxhash/v2"
)

// Format 1 (diskcache-go 0.1.0) wrote records without sequence numbers and
// wrote nothing when an entry went, so its segments alone can not say what
// the cache holds: only its index can. An index of format 1 is upgraded in
// place, in two steps that each survive a crash:
//
//  1. Every live entry of the old index is written as a put record of
//     format 2 into new segments. The old index and segments are not
//     touched, so a crash here leaves a cache of format 1 that the next
//     open upgrades again (first removing the new segments, which nothing
//     refers to).
//  2. The index is rebuilt from the new segments (rebuild.go) in place.
//     From the moment it starts, the file is no longer a valid index of
//     format 1, and a crash makes the next open rebuild from the new
//     segments, which step 1 completed. The old segments are removed once
//     the new index is in place.
//
// A record of format 1 is a 32-byte header (sum u64, total u32, four kinds,
// four lengths) and the key, tag, file name and value.
const recHdrV1 = 32

// legacy reports whether the index is a whole index of format 1.
func (x *index) legacy() bool {
	return string(x.m[:8]) == idxMagic && getU32(x.m, offVersion) == 1 && getU32(x.m, offHdrSize) == headerSize && x.stateOK()
}

// upgradeLocked upgrades an index of format 1; the caller holds the writer
// lock.
func (c *Cache) upgradeLocked() error {
	x := c.idx
	first := x.u32(offNextSeg)
	files, err := segmentFiles(c.dir)
	if err != nil {
		return err
	}
	for id, name := range files {
		if id >= first {
			// Left by an upgrade that did not finish step 1.
			if err := os.Remove(name); err != nil {
				return fmt.Errorf("upgrade: %w", mapErrno(err))
			}
		}
	}
	w := &upgradeWriter{c: c, next: c.nextFreeSegment()}
	skipped := 0
	limit := uint64(x.u32(offEntryHigh)) + 1
	n := uint64(0)
	for id := x.u32(offInsHead); id != nilID; id = getU32(x.entry(id), eInsNext) {
		if n++; n > limit || x.entry(id) == nil {
			return fmt.Errorf("%w: insertion order of the format 1 index", ErrCorrupted)
		}
		rec, ok := c.upgradeRecord(x.entry(id), uint64(n))
		if !ok {
			skipped++
			continue
		}
		if err := w.append(rec); err != nil {
			w.close()
			return err
		}
	}
	if err := w.close(); err != nil {
		return err
	}
	if _, err := c.rebuildLocked("the cache was written by diskcache-go 0.1.0 (format 1) and was upgraded in place", true); err != nil {
		return err
	}
	if skipped > 0 {
		c.noteRepair(fmt.Sprintf("%s; %d damaged entries of the old index were left out", c.LastRepair(), skipped))
	}
	return nil
}

// upgradeRecord makes the format 2 put record of entry e of a format 1
// index, or reports that its record is damaged.
func (c *Cache) upgradeRecord(e []byte, seq uint64) (record, bool) {
	if !entryOK(e) || getU32(e, eFlags)&flagLive == 0 {
		return nil, false
	}
	n := int64(getU32(e, eRecLen))
	if n < recHdrV1 {
		return nil, false
	}
	old := make([]byte, n)
	if ok, err := c.segs.readInto(getU32(e, eSegID), int64(getU32(e, eRecOff)), old); err != nil || !ok {
		return nil, false
	}
	kl, vl, tl, fl := int(getU32(old, 16)), int(getU32(old, 20)), int(getU32(old, 24)), int(getU32(old, 28))
	if int64(getU32(old, 8)) != n || int64(recHdrV1+kl+vl+tl+fl) > n || getU64(old, 0) != xxhash.Sum64(old[8:]) {
		return nil, false
	}
	p := recHdrV1
	key := Typed{Kind: Kind(old[12]), Bytes: old[p : p+kl]}
	p += kl
	tag := Typed{Kind: Kind(old[15]), Bytes: old[p : p+tl]}
	p += tl
	file := string(old[p : p+fl])
	p += fl
	flags := getU32(e, eFlags)
	val := Typed{Kind: Kind(flags >> shiftVal & kindMask), Bytes: old[p : p+vl]}
	if val.Kind == KindInt || val.Kind == KindFloat {
		val.Bytes = e[eNum : eNum+8]
	}
	m := recMeta{op: opPut, seq: seq, rowid: getU64(e, eRowid), store: getF64(e, eStoreTime), size: getU64(e, eSize)}
	if flags&flagExpire != 0 {
		m.flags |= recExpire
		m.expire = getF64(e, eExpireTime)
	}
	if flags&flagTag != 0 {
		m.flags |= recTag
	}
	buf := make([]byte, recordLen(len(key.Bytes), len(tag.Bytes), len(file), len(val.Bytes)))
	return encodeRecord(buf, key, tag, file, val, Mode(old[14]), &m), true
}

// upgradeWriter writes format 2 segments outside any transaction.
type upgradeWriter struct {
	c    *Cache
	next uint32
	f    *os.File
	off  int64
}

func (w *upgradeWriter) append(rec record) error {
	if w.f == nil || w.off+int64(len(rec)) > w.c.segs.segSize && w.off > segHeader {
		if err := w.close(); err != nil {
			return err
		}
		f, err := openFile(segPath(w.c.dir, w.next), os.O_RDWR|os.O_CREATE|os.O_TRUNC, w.c.segs.mode)
		if err != nil {
			return fmt.Errorf("upgrade: create segment: %w", mapErrno(err))
		}
		var hdr [segHeader]byte
		copy(hdr[:], segMagic)
		putU32(hdr[:], 8, formatVersion)
		putU32(hdr[:], 12, w.next)
		// createSeq 0: older than any delete record, the safe side.
		if err := writeAt(f, hdr[:], 0); err != nil {
			f.Close()
			return fmt.Errorf("upgrade: %w", err)
		}
		w.f, w.off = f, segHeader
		w.next++
	}
	if err := writeAt(w.f, rec, w.off); err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	w.off += int64(len(rec))
	return nil
}

func (w *upgradeWriter) close() error {
	if w.f == nil {
		return nil
	}
	var err error
	if w.c.opts.Sync {
		err = syncFile(w.f)
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	if err == nil && w.c.opts.Sync {
		err = syncDir(w.c.dir)
	}
	return err
}
