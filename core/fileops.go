package core

import (
	"fmt"
	"os"
)

// fileOp is one change to the files of a cache, as the power-loss test
// sees it: a write, a size extension, a creation, a removal or an fsync.
type fileOp struct {
	Kind string // "write", "extend", "create", "remove", "sync"
	Path string
	Off  int64
	Data []byte
}

// opHook, when set (only by tests), sees every change the ordered and
// network modes make to the files, in order, after it succeeded.
var opHook func(fileOp)

func logOp(kind string, f *os.File, off int64, data []byte) {
	if opHook != nil {
		opHook(fileOp{Kind: kind, Path: f.Name(), Off: off, Data: append([]byte(nil), data...)})
	}
}

// writeAt writes all of b at off.
func writeAt(f *os.File, b []byte, off int64) error {
	if _, err := f.WriteAt(b, off); err != nil {
		return mapErrno(err)
	}
	logOp("write", f, off, b)
	return nil
}

// syncFile makes f's data durable. os.File.Sync is fsync on Linux,
// fcntl(F_FULLFSYNC) on macOS (plain fsync there leaves the data in the
// drive's cache; Go falls back to fsync where a filesystem refuses it) and
// FlushFileBuffers on Windows.
func syncFile(f *os.File) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), mapErrno(err))
	}
	logOp("sync", f, 0, nil)
	return nil
}
