// abi.go: the ABI's numbers and layouts, from diskcache_go.h through cgo.

package main

/*
#define DCG_NO_PROTOTYPES
#include "diskcache_go.h"
*/
import "C"

import "unsafe"

// abiVersion changes whenever an export's signature, a buffer layout or a
// flag's meaning does; the Python layer refuses a library with another
// version.
const abiVersion = C.DCG_ABI_VERSION

// Status codes, stable across versions.
const (
	stOK         = C.DCG_OK
	stNotFound   = C.DCG_NOTFOUND
	stExists     = C.DCG_EXISTS
	stTimeout    = C.DCG_TIMEOUT
	stClosed     = C.DCG_CLOSED
	stCorrupt    = C.DCG_CORRUPT
	stInvalid    = C.DCG_INVALID
	stFull       = C.DCG_FULL
	stPermission = C.DCG_PERMISSION
	stNotNumeric = C.DCG_NOTNUMERIC
	stOverflow   = C.DCG_OVERFLOW
	stShortBuf   = C.DCG_SHORTBUF
	stNotOwner   = C.DCG_NOTOWNER
	stIO         = C.DCG_IO
	stPanic      = C.DCG_PANIC
	stWouldBlock = C.DCG_WOULDBLOCK
)

// The result header (struct dcg_result: little-endian int64 fields), then
// data.
const (
	outKinds  = int(unsafe.Offsetof(C.struct_dcg_result{}.kinds))     // see the kinds* constants
	outVLen   = int(unsafe.Offsetof(C.struct_dcg_result{}.value_len)) // value length
	outTLen   = int(unsafe.Offsetof(C.struct_dcg_result{}.tag_len))   // tag length
	outFLen   = int(unsafe.Offsetof(C.struct_dcg_result{}.file_len))  // file name length
	outExpire = int(unsafe.Offsetof(C.struct_dcg_result{}.expire))    // expire time (float64 bits)
	outAux    = int(unsafe.Offsetof(C.struct_dcg_result{}.aux))       // file size; bulk count; needed buffer size
	outAux2   = int(unsafe.Offsetof(C.struct_dcg_result{}.aux2))      // key length (peeks, pulls); cursor id for keys
	outMsgLen = int(unsafe.Offsetof(C.struct_dcg_result{}.msg_len))   // error message length (message at outData)
	outData   = C.DCG_RESULT_DATA
)

// The fields of the result header's kinds.
const (
	kindsModeShift = C.DCG_KINDS_MODE_SHIFT
	kindsTagShift  = C.DCG_KINDS_TAG_SHIFT
	kindsKeyShift  = C.DCG_KINDS_KEY_SHIFT
	kindsHasTag    = C.DCG_KINDS_HAS_TAG
	kindsHasExpire = C.DCG_KINDS_HAS_EXPIRE
	// kindOthersWrote is set in the kinds field of an item's header, and in
	// the first field of a key listing's, when the handle has read a segment
	// that another user could have written (core.Cache.SegmentOthersCanWrite):
	// the Python layer must not unpickle what came with it unless the data is
	// signed or the directory is declared trusted.
	kindOthersWrote = C.DCG_KIND_OTHERS_WROTE
)

// Kinds, value modes and policies: core's numbers (abi_test.go checks
// that they are the header's).
const (
	kindNull   = C.DCG_KIND_NULL
	kindInt    = C.DCG_KIND_INT
	kindFloat  = C.DCG_KIND_FLOAT
	kindText   = C.DCG_KIND_TEXT
	kindBlob   = C.DCG_KIND_BLOB
	kindPickle = C.DCG_KIND_PICKLE

	valueNone   = C.DCG_VALUE_NONE
	valueRaw    = C.DCG_VALUE_RAW
	valueBinary = C.DCG_VALUE_BINARY
	valueText   = C.DCG_VALUE_TEXT
	valuePickle = C.DCG_VALUE_PICKLE

	policyLeastRecentlyStored = C.DCG_LEAST_RECENTLY_STORED
	policyNone                = C.DCG_NONE
	policyLeastRecentlyUsed   = C.DCG_LEAST_RECENTLY_USED
	policyLeastFrequentlyUsed = C.DCG_LEAST_FREQUENTLY_USED

	getCount    = C.DCG_GET_COUNT
	getNoWait   = C.DCG_GET_NOWAIT
	getClockNow = C.DCG_GET_CLOCK_NOW
)

// dcg_getv's results besides a value.
const (
	getvMiss       = C.DCG_GETV_MISS
	getvHeader     = C.DCG_GETV_HEADER
	getvStatusBase = C.DCG_GETV_STATUS_BASE
	getvLenShift   = C.DCG_GETV_LEN_SHIFT
	getvModeShift  = C.DCG_GETV_MODE_SHIFT
)

// dcg_open flags, and what dcg_mode reports.
const (
	openSync     = C.DCG_OPEN_SYNC
	openNetwork  = C.DCG_OPEN_NETWORK
	openLocal    = C.DCG_OPEN_LOCAL
	modeShared   = C.DCG_MODE_SHARED
	modeOrdered  = C.DCG_MODE_ORDERED
	modeNetwork  = C.DCG_MODE_NETWORK
	modeWasReset = C.DCG_MODE_WAS_RESET
)

// Info fields written by dcg_info, int64 each.
const (
	infoLen = iota
	infoVolume
	infoHits
	infoMisses
	infoMaxRowid
	infoSize
	infoFields
)

// The header's sizes, checked when this compiles: the data after the
// result header starts at its end, and a request header is 64 bytes.
var (
	_ [outData - unsafe.Sizeof(C.struct_dcg_result{})]struct{}
	_ [unsafe.Sizeof(C.struct_dcg_result{}) - outData]struct{}
	_ [64 - unsafe.Sizeof(C.struct_dcg_request{})]struct{}
	_ [unsafe.Sizeof(C.struct_dcg_request{}) - 64]struct{}
)

// The header says how many fields dcg_info writes; a new field must be
// added in both places (this fails to compile when they differ).
var _ [infoFields - C.DCG_INFO_FIELDS]struct{}
var _ [C.DCG_INFO_FIELDS - infoFields]struct{}

func bytesOf(p *C.uchar, n C.int64_t) []byte {
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

func put64(b []byte, off int, v int64) {
	if len(b) >= off+8 {
		*(*int64)(unsafe.Pointer(&b[off])) = v
	}
}
