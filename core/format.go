package core

import (
	"encoding/binary"
	"math"
)

// The index file ("cache.dcg") is shared by every process through the page
// cache (mmap, MAP_SHARED). It only grows; regions are allocated at its end.
//
//	+-----------------------------+ 0
//	| header (fields below)       |
//	+-----------------------------+ 4096
//	| segment table (768 slots)   |  slot: id u32 | length u32 | live u64
//	+-----------------------------+ 16384 = headerSize
//	| regions: entry chunks,      |  entry chunk k holds 1024<<k entries of
//	| bucket tables, heap chunks  |  160 bytes; a bucket table is a power of
//	| ... (allocated on demand)   |  two of u64; heap chunks hold u32 ids
//	+-----------------------------+ fileSize
//
// Header fields:
//
//	0    magic "DCGINDEX"
//	8    format version u32 | header size u32
//	16   instance id u64 (random, also written into every segment header)
//	64   seq u64: seqlock, odd while a writer changes the index (own line)
//	128  hits u64, 136 misses u64: statistics, updated atomically, not
//	     journaled (a crash may lose a few counts)
//	192  state block, journaled as one unit and covered by stateSum:
//	  192 count u64      entries, expired ones included
//	  200 size u64       bytes of file-backed values
//	  208 inline u64     bytes of live records
//	  216 insHead u32, insTail u32     insertion (rowid) order
//	  224 polHead u32, polTail u32     eviction order (LRS, LRU)
//	  232 freeHead u32, entryHigh u32  free entry list, next never-used id
//	  240 bucketOff u64, 248 bucketCap u64, 256 bucketUsed u64
//	  264 heapLen u64                  expiry heap length
//	  272 fileSize u64                 bytes of the index file in use
//	  280 activeSeg u32, activeSlot u32, 288 activeLen u64
//	  296 nextSeg u32, segCount u32
//	  304 wasted u64                   bytes of abandoned regions
//	  312 lfuLen u64                   frequency heap length
//	  320 lruHead u32, lruTail u32     access order (LRU)
//	  328 treeRoot u32                 root of the key-order treap
//	  332 compactSlot u32              segment slot being compacted, +1
//	  336 compactOff u64               next record to look at in it
//	  344 segBytes u64                 bytes of all segments' records
//	  352 zeroHead u32, zeroTail u32   never-counted entries (frequency.go)
//	  360 logSeq u64                   next record sequence number
//	  368 tombBytes u64                bytes of delete records in segments
//	  376 tombFloor u64                delete records below it are dropped
//	                                   by the compaction under way
//	  512 entry chunk offsets [32]u64
//	  768 expiry heap chunk offsets [32]u64
//	  1024 frequency heap chunk offsets [32]u64
//	  1280 end of state
//	1280 stateSum u64: xxhash64 of the state block
const (
	idxMagic      = "DCGINDEX"
	formatVersion = 2 // 2: records carry sequence numbers, delete records (upgrade.go reads 1)
	headerSize    = 16384

	offVersion    = 8
	offHdrSize    = 12
	offInstance   = 16
	offSeq        = 64
	offHits       = 128
	offMisses     = 136
	offState      = 192
	offCount      = 192
	offSize       = 200
	offInline     = 208
	offInsHead    = 216
	offInsTail    = 220
	offPolHead    = 224
	offPolTail    = 228
	offFreeHead   = 232
	offEntryHigh  = 236
	offBucketOff  = 240
	offBucketCap  = 248
	offBucketUsed = 256
	offHeapLen    = 264
	offFileSize   = 272
	offActiveSeg  = 280
	offActiveSlot = 284
	offActiveLen  = 288
	offNextSeg    = 296
	offSegCount   = 300
	offWasted     = 304
	offLfuLen     = 312
	offLruHead    = 320
	offLruTail    = 324
	offTreeRoot   = 328
	offCompSlot   = 332
	offCompOff    = 336
	offSegBytes   = 344
	offZeroHead   = 352
	offZeroTail   = 356
	offLogSeq     = 360
	offTombBytes  = 368
	offTombFloor  = 376
	offEntryChunk = 512
	offHeapChunk  = 768
	offLfuChunk   = 1024
	offStateEnd   = 1280
	offStateSum   = 1280

	offSegTable  = 4096
	segSlotSize  = 16
	maxSegSlots  = (headerSize - offSegTable) / segSlotSize
	maxChunks    = 32
	chunkBase    = 1024
	entrySize    = 160
	bucketSize   = 8
	initBuckets  = 1024
	maxLoadNum   = 6 // grow the bucket table beyond 6/10 occupancy
	maxLoadDen   = 10
	nilID        = 0
	firstEntryID = 1
	tombstone    = 0xFFFFFFFF
)

// An entry is one key's slot in the index, 160 bytes, addressed by a stable
// 32-bit id. Entries never move, so the order lists and the expiry heap link
// them by id.
//
//	0   hash u64          xxhash64 of the normalised key
//	8   rowid u64         position in insertion order (SQLite's rowid)
//	16  segID u32         segment holding the record
//	20  recOff u32        record offset in the segment
//	24  recLen u32        record length (0: no record)
//	28  flags u32         see flag* constants
//	32  storeTime f64
//	40  accessTime f64
//	48  expireTime f64    meaningful when flagExpire is set
//	56  accessCount u64
//	64  insPrev u32, insNext u32   insertion order
//	72  polPrev u32, polNext u32   store order (least-recently-stored)
//	80  heapPos u32       1-based index in the expiry heap, 0 when absent
//	84  segSlot u32       segment table slot of segID
//	88  size u64          bytes of the value's file (upstream's size column)
//	96  lfuPos u32        1-based index in the frequency heap
//	100 zeroPrev u32      never-counted list (frequency.go)
//	104 num u64           inline int64 or float64 bits of numeric values
//	112 lruPrev u32, lruNext u32   access order (least-recently-used)
//	120 ordLeft u32, ordRight u32  key-order treap children
//	128 ordParent u32, zeroNext u32
//	136 sortKey u64       order-preserving prefix of the key (see sortKey)
//	144 reserved u64
//	152 sum u64           xxhash64 of bytes 0..152
const (
	eHash       = 0
	eRowid      = 8
	eSegID      = 16
	eRecOff     = 20
	eRecLen     = 24
	eFlags      = 28
	eStoreTime  = 32
	eAccessTime = 40
	eExpireTime = 48
	eAccessCnt  = 56
	eInsPrev    = 64
	eInsNext    = 68
	ePolPrev    = 72
	ePolNext    = 76
	eHeapPos    = 80
	eSegSlot    = 84
	eSize       = 88
	eLfuPos     = 96
	eZeroPrev   = 100
	eNum        = 104
	eLruPrev    = 112
	eLruNext    = 116
	eOrdLeft    = 120
	eOrdRight   = 124
	eOrdParent  = 128
	eZeroNext   = 132
	eSortKey    = 136
	eSum        = 152
)

// Entry flags: bit 0 live, bit 1 has expiry, bit 2 has tag, bit 3 has a
// value file; then the kinds.
const (
	flagLive   = 1 << 0
	flagExpire = 1 << 1
	flagTag    = 1 << 2
	flagFile   = 1 << 3 // the value has a file (its name is in the record)
	shiftKey   = 8      // key Kind
	shiftVal   = 12     // value Kind
	shiftMode  = 16     // value Mode
	shiftTag   = 20     // tag Kind
	kindMask   = 0xF
)

var le = binary.LittleEndian

func getU32(b []byte, off int64) uint32     { return le.Uint32(b[off:]) }
func getU64(b []byte, off int64) uint64     { return le.Uint64(b[off:]) }
func putU32(b []byte, off int64, v uint32)  { le.PutUint32(b[off:], v) }
func putU64(b []byte, off int64, v uint64)  { le.PutUint64(b[off:], v) }
func getF64(b []byte, off int64) float64    { return math.Float64frombits(le.Uint64(b[off:])) }
func putF64(b []byte, off int64, v float64) { le.PutUint64(b[off:], math.Float64bits(v)) }

// chunkOf maps an id (entry or heap index) to its chunk and the index inside
// the chunk. Chunk k holds chunkBase<<k items, so a table of 32 chunks
// addresses 4 trillion items while the first costs only chunkBase slots.
func chunkOf(id uint64) (k int, i uint64) {
	q := id/chunkBase + 1
	k = 63 - leadingZeros64(q)
	start := uint64(chunkBase) * ((uint64(1) << k) - 1)
	return k, id - start
}

func chunkCap(k int) uint64 { return uint64(chunkBase) << k }
