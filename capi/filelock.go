package main

/*
#include <stdint.h>
*/
import "C"

import (
	"sync"
	"sync/atomic"

	"github.com/diskcache-go/diskcache-go/core"
)

// File locks handed out by dcg_file_lock, by handle. They are a separate
// table from the caches': a lock is not a cache.
var (
	fileLocks sync.Map // uint64 -> *core.FileLock
	nextLock  atomic.Uint64
)

// dcg_file_lock takes the exclusive lock on the file path[0:pathlen]
// (created if missing), waiting up to timeout seconds (negative: forever),
// and writes its handle to *lock. It gives DCG_TIMEOUT if another holder
// kept it. The Python layer's import of python-diskcache directories
// holds one (core.LockFile: github.com/gofrs/flock, so flock on unix and
// LockFileEx on Windows).
//
//export dcg_file_lock
func dcg_file_lock(path *C.uchar, pathlen C.int64_t, timeout C.double, lock *C.uint64_t) (st C.int) {
	defer guard(nil, &st)
	if lock == nil {
		return stInvalid
	}
	l, err := core.LockFile(string(bytesOf(path, pathlen)), seconds(timeout))
	if err != nil {
		return status(err)
	}
	h := nextLock.Add(1)
	fileLocks.Store(h, l)
	*lock = C.uint64_t(h)
	return stOK
}

// dcg_file_unlock releases a lock from dcg_file_lock; an unknown or
// already released handle gives DCG_CLOSED.
//
//export dcg_file_unlock
func dcg_file_unlock(lock C.uint64_t) (st C.int) {
	defer guard(nil, &st)
	v, ok := fileLocks.LoadAndDelete(uint64(lock))
	if !ok {
		return stClosed
	}
	return status(v.(*core.FileLock).Unlock())
}
