package core

import (
	"errors"
	"runtime"
	"syscall"
	"testing"
)

// syncMode is the mode Options.Sync gives on a local filesystem here.
var syncMode = map[bool]string{true: "ordered", false: "network"}[copyOnWriteDiscard]

// errUserMappedFile is Windows' ERROR_USER_MAPPED_FILE: the file has a
// mapped view, so it can not be truncated.
const errUserMappedFile = syscall.Errno(1224)

// skipIfMappedTruncate skips a test whose truncation of a file that a cache
// has mapped was refused, as Windows always refuses it: the file can then
// not be cut short under the cache at all, which is what such a test
// provokes on unix.
func skipIfMappedTruncate(t *testing.T, err error) {
	t.Helper()
	if runtime.GOOS == "windows" && errors.Is(err, errUserMappedFile) {
		t.Skip("Windows refuses to truncate a mapped file, so it can not be cut short under the cache:", err)
	}
}
