//go:build unix

package core

import (
	"os"
	"syscall"
)

// othersCanWrite reports whether a user other than this process's
// effective user and root could have written the file fi describes: it is
// owned by such a user, or its group or others may write it (a POSIX ACL
// that grants anyone write shows in the group bits, as its mask).
func othersCanWrite(fi os.FileInfo) bool {
	if fi.Mode().Perm()&0o022 != 0 {
		return true
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true // no owner to compare: assume the worst
	}
	return st.Uid != 0 && int(st.Uid) != os.Geteuid()
}

// othersCanWriteFile is othersCanWrite for an open file; a file that can
// not be examined counts as writable by others.
func othersCanWriteFile(f *os.File) bool {
	st, err := f.Stat()
	return err != nil || othersCanWrite(st)
}
