//go:build unix

package core

import (
	"errors"
	"fmt"
	"io/fs"
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

// othersCanWritePath is OthersCanWrite's check: the owner and the mode
// bits of what path names (links followed), as othersCanWrite reads them,
// with the reason in words.
func othersCanWritePath(path string) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if err != nil {
		return "", mapErrno(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !ok:
		return path + " has no owner to compare", nil
	case st.Uid != 0 && int(st.Uid) != os.Geteuid():
		return fmt.Sprintf("%s is owned by uid %d, not by you (uid %d) or root", path, st.Uid, os.Geteuid()), nil
	case fi.Mode().Perm()&0o022 != 0:
		who := map[fs.FileMode]string{0o020: "its group", 0o002: "others"}[fi.Mode().Perm()&0o022]
		if who == "" {
			who = "its group and others"
		}
		return fmt.Sprintf("%s has mode %04o: %s may write it", path, fi.Mode().Perm(), who), nil
	}
	return "", nil
}
