package core

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by the engine. Callers test them with errors.Is;
// the C ABI maps each one to a stable status code.
var (
	// ErrNotFound means the key is absent or expired.
	ErrNotFound = errors.New("diskcache: key not found")
	// ErrExists means Add found a live entry for the key.
	ErrExists = errors.New("diskcache: key exists")
	// ErrTimeout means the writer lock could not be taken within the timeout.
	ErrTimeout = errors.New("diskcache: lock timeout")
	// ErrClosed means the cache was closed.
	ErrClosed = errors.New("diskcache: cache closed")
	// ErrCorrupted means a file failed validation (bad magic, version,
	// checksum or a structure that points outside its file).
	ErrCorrupted = errors.New("diskcache: corrupted")
	// ErrInvalid means an argument was invalid.
	ErrInvalid = errors.New("diskcache: invalid argument")
	// ErrFull means the storage device is full (ENOSPC, EDQUOT) or an
	// engine limit (index or journal reservation) was reached.
	ErrFull = errors.New("diskcache: no space left")
	// ErrPermission means the operating system refused access (EACCES,
	// EPERM, EROFS).
	ErrPermission = errors.New("diskcache: permission denied")
	// ErrNotNumeric means Incr found a value that is not an inline integer
	// or float.
	ErrNotNumeric = errors.New("diskcache: value is not numeric")
	// ErrOverflow means Incr's result does not fit in a signed 64-bit integer.
	ErrOverflow = errors.New("diskcache: integer overflow")
	// ErrNotOwner means a transaction call came from an owner that does not
	// hold the writer lock.
	ErrNotOwner = errors.New("diskcache: not the transaction owner")
	// errReadOnly is ErrPermission for writes to a cache opened read-only.
	errReadOnly = fmt.Errorf("%w: cache opened read-only (the files can not be written)", ErrPermission)
)
