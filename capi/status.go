// status.go: core's errors as status codes, and panics as DCG_PANIC.

package main

/*
#define DCG_NO_PROTOTYPES
#include "diskcache_go.h"
*/
import "C"

import (
	"errors"

	"github.com/diskcache-go/diskcache-go/core"
)

func status(err error) C.int {
	switch {
	case err == nil:
		return stOK
	case errors.Is(err, core.ErrNotFound):
		return stNotFound
	case errors.Is(err, core.ErrExists):
		return stExists
	case errors.Is(err, core.ErrTimeout):
		return stTimeout
	case errors.Is(err, core.ErrClosed):
		return stClosed
	case errors.Is(err, core.ErrCorrupted):
		return stCorrupt
	case errors.Is(err, core.ErrInvalid):
		return stInvalid
	case errors.Is(err, core.ErrFull):
		return stFull
	case errors.Is(err, core.ErrPermission):
		return stPermission
	case errors.Is(err, core.ErrNotNumeric):
		return stNotNumeric
	case errors.Is(err, core.ErrOverflow):
		return stOverflow
	case errors.Is(err, core.ErrShortBuffer):
		return stShortBuf
	case errors.Is(err, core.ErrNotOwner):
		return stNotOwner
	case errors.Is(err, core.ErrWouldBlock):
		return stWouldBlock
	}
	return stIO
}

// fail writes err's message after the header and returns its status.
func fail(out []byte, err error) C.int {
	st := status(err)
	if st != stOK && st != stNotFound && st != stExists && len(out) > outData {
		n := copy(out[outData:], err.Error())
		put64(out, outMsgLen, int64(n))
	}
	return st
}

// guard turns a panic (including a fault reading a damaged mapped file)
// into stPanic with the message in out.
func guard(out []byte, st *C.int) {
	if r := recover(); r != nil {
		*st = stPanic
		if len(out) > outData {
			msg := "diskcache-go internal error: " + errorString(r)
			put64(out, outMsgLen, int64(copy(out[outData:], msg)))
		}
	}
}

func errorString(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return "panic"
}
