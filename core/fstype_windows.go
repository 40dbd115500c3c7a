//go:build windows

package core

import (
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// filesystem reports whether dir is on a network share: a UNC path
// (\\server\share\..., also in its \\?\UNC\ long form) always is, and a
// drive letter is when GetDriveType calls it DRIVE_REMOTE (a mapped
// network drive). magic is the drive type, for the record.
func filesystem(dir string) (magic int64, name string, network bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return 0, "", false
	}
	if isUNC(abs) {
		return windows.DRIVE_REMOTE, "unc", true
	}
	root := filepath.VolumeName(abs) + `\`
	p, err := windows.UTF16PtrFromString(root)
	if err != nil {
		return 0, "", false
	}
	t := windows.GetDriveType(p)
	if t == windows.DRIVE_REMOTE {
		return int64(t), "remote", true
	}
	return int64(t), "", false
}

// isUNC reports whether an absolute path names a file on a network share
// by server name rather than through a drive letter. \\?\C:\ and \\.\C:\
// are local long-path and device forms.
func isUNC(p string) bool {
	p = strings.ReplaceAll(p, "/", `\`)
	up := strings.ToUpper(p)
	switch {
	case strings.HasPrefix(up, `\\?\UNC\`):
		return true
	case strings.HasPrefix(p, `\\?\`), strings.HasPrefix(p, `\\.\`):
		return false
	}
	return strings.HasPrefix(p, `\\`)
}
