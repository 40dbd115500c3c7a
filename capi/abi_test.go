package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

// TestABIMatchesCore checks that the numbers diskcache_go.h defines (which
// this package takes through cgo) are the ones core uses for the same
// things: kinds, value modes, policies and get flags cross the ABI as
// core's values, unconverted.
func TestABIMatchesCore(t *testing.T) {
	pairs := []struct {
		name        string
		abi, engine int64
	}{
		{"DCG_KIND_NULL", kindNull, int64(core.KindNull)},
		{"DCG_KIND_INT", kindInt, int64(core.KindInt)},
		{"DCG_KIND_FLOAT", kindFloat, int64(core.KindFloat)},
		{"DCG_KIND_TEXT", kindText, int64(core.KindText)},
		{"DCG_KIND_BLOB", kindBlob, int64(core.KindBlob)},
		{"DCG_KIND_PICKLE", kindPickle, int64(core.KindPickle)},
		{"DCG_VALUE_NONE", valueNone, int64(core.ModeNone)},
		{"DCG_VALUE_RAW", valueRaw, int64(core.ModeRaw)},
		{"DCG_VALUE_BINARY", valueBinary, int64(core.ModeBinary)},
		{"DCG_VALUE_TEXT", valueText, int64(core.ModeText)},
		{"DCG_VALUE_PICKLE", valuePickle, int64(core.ModePickle)},
		{"DCG_LEAST_RECENTLY_STORED", policyLeastRecentlyStored, int64(core.LeastRecentlyStored)},
		{"DCG_NONE", policyNone, int64(core.NoEviction)},
		{"DCG_LEAST_RECENTLY_USED", policyLeastRecentlyUsed, int64(core.LeastRecentlyUsed)},
		{"DCG_LEAST_FREQUENTLY_USED", policyLeastFrequentlyUsed, int64(core.LeastFrequentlyUsed)},
		{"DCG_GET_COUNT", getCount, int64(core.CountStats)},
		{"DCG_GET_NOWAIT", getNoWait, int64(core.NoWait)},
		{"DCG_GET_CLOCK_NOW", getClockNow, int64(core.ClockNow)},
	}
	for _, p := range pairs {
		if p.abi != p.engine {
			t.Errorf("%s is %d in diskcache_go.h, core uses %d", p.name, p.abi, p.engine)
		}
	}
}

// TestStatusOfEverySentinel checks that each of core's sentinel errors,
// wrapped as core wraps them, maps to its own status code.
func TestStatusOfEverySentinel(t *testing.T) {
	want := map[error]int{
		core.ErrNotFound: stNotFound, core.ErrExists: stExists, core.ErrTimeout: stTimeout,
		core.ErrClosed: stClosed, core.ErrCorrupted: stCorrupt, core.ErrInvalid: stInvalid,
		core.ErrFull: stFull, core.ErrPermission: stPermission, core.ErrNotNumeric: stNotNumeric,
		core.ErrOverflow: stOverflow, core.ErrShortBuffer: stShortBuf, core.ErrNotOwner: stNotOwner,
		core.ErrWouldBlock: stWouldBlock,
	}
	for err, st := range want {
		if got := int(status(fmt.Errorf("wrapped: %w", err))); got != st {
			t.Errorf("status(%v) = %d, want %d", err, got, st)
		}
	}
	if got := int(status(errors.New("other"))); got != stIO {
		t.Errorf("status of an unknown error = %d, want %d (DCG_IO)", got, stIO)
	}
	if got := int(status(nil)); got != stOK {
		t.Errorf("status(nil) = %d, want %d", got, stOK)
	}
}
