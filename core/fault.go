package core

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Any file the engine maps can be truncated under it by someone else (a
// cleanup script, a program that opened the wrong file). A load or a store
// through a mapping past the new end of the file raises SIGBUS, which kills
// the process, and with it the Python interpreter that loaded the library.
// So every stretch of code that touches a mapping runs under guard (or, on
// the read path, readOnce), which has the Go runtime turn the fault into a
// panic (debug.SetPanicOnFault, per goroutine) and turns that panic into
// errFault. Code under a guard must release what it holds with defer: a
// fault unwinds it.
//
// Cost: one SetPanicOnFault pair and one deferred recover per guarded call,
// about 10 ns over a plain call here (BenchmarkGuard: 4.7 ns to 15 ns). A
// get pays it once (readOnce) and no longer pays it in its record read
// (segments.recordIn): about +26 instructions per engine Get in all, and
// no change beyond noise in Python's get (docs/performance.md).

// errFault means a file is shorter than this process's view of it, or
// could not be read: a load or store through a mapping faulted (the file
// was truncated under this process, or the disk could not page it in), or
// a read of the network mode found the file cut short (shortRead). It is
// also what a runtime error (an index out of range) in guarded code
// becomes: a torn read or damage that a bounds check missed must not kill
// the process either. Readers and writers that meet it try once to repair
// a truncated index (Cache.repairTruncated).
var errFault = fmt.Errorf("%w: a file was cut short or could not be read (truncated under this process?)", ErrCorrupted)

// guard runs fn, turning a fault on a mapping (and any runtime error) into
// errFault. Other panics go on.
func guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = faultError(r)
		}
	}()
	return fn()
}

// faultError is the error for a recovered panic value r: errFault for a
// memory fault or a runtime error, a new panic for anything else (a bug
// that is not about reading a mapping must stay loud).
func faultError(r any) error {
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		return errFault
	}
	if e, ok := r.(runtime.Error); ok {
		return fmt.Errorf("%w (%v)", errFault, e)
	}
	panic(r)
}

// shortRead is the error for a failed pread of what: errFault when the
// file ended first (it was truncated), the system's error otherwise.
func shortRead(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: %w", errFault, what, err)
	}
	return fmt.Errorf("%s: %w", what, mapErrno(err))
}
