//go:build windows

package core

import (
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/windows"
)

// openFile is os.OpenFile with FILE_SHARE_DELETE added to the sharing
// mode. Windows refuses to rename or remove a file while any handle to it
// (or a mapping made through one) was opened without that flag, and
// os.OpenFile leaves it out. With it on every handle the engine opens,
// compaction can remove a segment another process still has mapped,
// clear and check(fix) can remove value files a reader holds, and a
// rebuild or quarantine can move files aside, as on unix: the name goes at
// once or when the last handle closes, and the data stays readable
// through the handles and views already open.
func openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(fixLongPath(path))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var access uint32
	switch flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_RDONLY:
		access = windows.GENERIC_READ
	case os.O_WRONLY:
		access = windows.GENERIC_WRITE
	default:
		access = windows.GENERIC_READ | windows.GENERIC_WRITE
	}
	var disposition uint32
	switch {
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		disposition = windows.CREATE_NEW
	case flag&(os.O_CREATE|os.O_TRUNC) == os.O_CREATE|os.O_TRUNC:
		disposition = windows.CREATE_ALWAYS
	case flag&os.O_CREATE != 0:
		disposition = windows.OPEN_ALWAYS
	case flag&os.O_TRUNC != 0:
		disposition = windows.TRUNCATE_EXISTING
	default:
		disposition = windows.OPEN_EXISTING
	}
	attrs := uint32(windows.FILE_ATTRIBUTE_NORMAL)
	if perm&0o200 == 0 && flag&os.O_CREATE != 0 {
		attrs = windows.FILE_ATTRIBUTE_READONLY // as os.OpenFile maps a mode without write
	}
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE)
	h, err := windows.CreateFile(p, access, share, nil, disposition, attrs, 0)
	if err != nil {
		if err == windows.ERROR_FILE_EXISTS {
			err = syscall.ERROR_FILE_EXISTS // os.IsExist knows this one
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// fixLongPath gives an absolute path of 248 characters or more the \\?\
// prefix (\\?\UNC\ for a share), which lifts Windows' 260-character limit
// on paths; shorter and relative paths are returned as they are.
func fixLongPath(path string) string {
	if len(path) < 248 || len(path) >= 4 && (path[:4] == `\\?\` || path[:4] == `\\.\`) {
		return path
	}
	if len(path) >= 2 && path[0] == '\\' && path[1] == '\\' {
		return `\\?\UNC\` + path[2:]
	}
	if len(path) >= 3 && path[1] == ':' && (path[2] == '\\' || path[2] == '/') {
		return `\\?\` + filepath.Clean(path)
	}
	return path
}
