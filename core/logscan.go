package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// The segments are the truth; the index is a cache of them. logScan reads
// every record of every segment file in the directory and keeps, for each
// key, the record with the highest sequence number: a put record says the
// key holds that value, a delete record that it holds nothing. A rebuild of
// the index (rebuild.go) starts from that.

// segFile is one segment file as the scan found it.
type segFile struct {
	id      uint32
	version uint32
	made    uint64 // createSeq from the header
	end     int64  // end of its last whole record
	live    int64  // bytes of the records that won
	dead    int64  // bytes of delete records
}

// logRec locates the winning record of one key.
type logRec struct {
	seg     uint32
	off     uint32
	n       uint32
	seq     uint64
	rowid   uint64
	store   float64
	deleted bool
}

// logScan is what a scan of the segments found.
type logScan struct {
	segs    []*segFile
	legacy  []uint32 // segment files of format 1 (upgrade.go)
	foreign []string // cache.dcg-*.seg files that are no segment of ours
	keys    map[string]*logRec
	maxSeq  uint64
	damaged int64 // bytes skipped as damaged
	records int
}

// segmentFiles lists the segment files in dir by id.
func segmentFiles(dir string) (map[uint32]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, filePrefix+"-*.seg"))
	if err != nil {
		return nil, err
	}
	out := map[uint32]string{}
	for _, name := range names {
		var id uint32
		if _, err := fmt.Sscanf(filepath.Base(name), filePrefix+"-%08x.seg", &id); err == nil && segPath(dir, id) == name {
			out[id] = name
		}
	}
	return out, nil
}

// scanLog reads every segment file in dir. A segment the index still
// lists (listed, when the index is readable) is read whatever its header
// says: its records carry their own checksums, and a header damaged to
// look foreign or newer would otherwise take every record with it.
func scanLog(dir string, listed func(uint32) bool) (*logScan, error) {
	files, err := segmentFiles(dir)
	if err != nil {
		return nil, err
	}
	ids := make([]uint32, 0, len(files))
	for id := range files {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	s := &logScan{keys: map[string]*logRec{}}
	for _, id := range ids {
		if err := s.scanSegment(id, files[id], listed != nil && listed(id)); err != nil {
			return nil, err
		}
	}
	// A record's bytes count as live in its segment only if it won.
	bySeg := map[uint32]*segFile{}
	for _, f := range s.segs {
		bySeg[f.id] = f
	}
	for _, r := range s.keys {
		if f := bySeg[r.seg]; f != nil && !r.deleted {
			f.live += int64(r.n)
		}
	}
	return s, nil
}

// scanSegment reads one segment file's records into s.
func (s *logScan) scanSegment(id uint32, path string, listed bool) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read segment: %w", mapErrno(err))
	}
	switch v := getU32(b, 8); {
	case len(b) < segHeader:
		s.foreign = append(s.foreign, path)
		return nil
	case listed:
	case string(b[:8]) != segMagic || getU32(b, 12) != id:
		s.foreign = append(s.foreign, path)
		return nil
	case v == formatVersion:
	case v == 1:
		s.legacy = append(s.legacy, id)
		return nil
	case v > formatVersion && v < formatVersion+64:
		return fmt.Errorf("%w: segment %s has format %d, this build reads %d (%w)", ErrCorrupted, path, v, formatVersion, errNewerFormat)
	default:
		s.foreign = append(s.foreign, path)
		return nil
	}
	f := &segFile{id: id, version: formatVersion, made: getU64(b, 24), end: segHeader}
	s.segs = append(s.segs, f)
	for off := int64(segHeader); off+recHdr <= int64(len(b)); {
		n := wholeRecord(b, off)
		if n == 0 {
			// Damage (or the zeros past the end): step to the next place
			// a record may start. A false start would need a matching
			// 64-bit checksum.
			if getU64(b, off) != 0 || getU32(b, off+8) != 0 {
				s.damaged += 8
			}
			off += 8
			continue
		}
		r := record(b[off : off+n])
		s.add(f, r, off)
		off += n
		f.end = off
		if r[72] == opDelete {
			f.dead += n
		}
	}
	return nil
}

// wholeRecord returns the length of the whole, checksummed record at off
// of b, or 0.
func wholeRecord(b []byte, off int64) int64 {
	n := int64(getU32(b, off+8))
	if n < recHdr || n%8 != 0 || off+n > int64(len(b)) || n > 1<<32-1 {
		return 0
	}
	r := record(b[off : off+n])
	kl, vl, tl, fl := r.lens()
	if recHdr+int64(kl)+int64(vl)+int64(tl)+int64(fl) > n || (r[72] != opPut && r[72] != opDelete) {
		return 0
	}
	if getU64(r, 0) != xxhash.Sum64(r[8:]) {
		return 0
	}
	return n
}

// add keeps r if it is its key's newest record so far.
func (s *logScan) add(f *segFile, r record, off int64) {
	s.records++
	m := r.meta()
	s.maxSeq = max(s.maxSeq, m.seq)
	k := make([]byte, 1+len(r.key()))
	k[0] = byte(r.keyKind())
	copy(k[1:], r.key())
	cur := s.keys[string(k)]
	if cur != nil && cur.seq > m.seq {
		return
	}
	// Equal numbers: the same record copied by compaction, or written
	// by a writer that died and whose transaction was rolled back; either
	// copy will do, and the later one is where compaction left it.
	s.keys[string(k)] = &logRec{seg: f.id, off: uint32(off), n: uint32(len(r)), seq: m.seq, rowid: m.rowid,
		store: m.store, deleted: m.op == opDelete}
}
