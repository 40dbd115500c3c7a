//go:build darwin

package core

import (
	"strings"

	"golang.org/x/sys/unix"
)

// networkFSNames are the statfs f_fstypename values of macOS filesystems
// whose page cache is not shared between the machines that mount them
// (macfuse and osxfuse: FUSE, which may be sshfs or any other remote).
var networkFSNames = map[string]bool{
	"nfs":     true,
	"smbfs":   true,
	"afpfs":   true,
	"webdav":  true,
	"cifs":    true,
	"macfuse": true,
	"osxfuse": true,
}

// filesystem reports the type of the filesystem holding dir and whether it
// is a network (or FUSE) filesystem. macOS numbers filesystem types by
// the order they were loaded, so the name, not f_type, is what identifies
// one; magic is f_type all the same, for the record.
func filesystem(dir string) (magic int64, name string, network bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, "", false
	}
	return int64(st.Type), fsTypeName(st.Fstypename[:]), isNetworkFSName(fsTypeName(st.Fstypename[:]))
}

// fsTypeName is the NUL-terminated name in b.
func fsTypeName(b []byte) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return string(b[:n])
}

// isNetworkFSName reports whether a statfs f_fstypename names a network or
// FUSE filesystem ("macfuse" also appears with a suffix on some versions,
// such as "macfuse_sshfs").
func isNetworkFSName(name string) bool {
	if networkFSNames[name] {
		return true
	}
	return strings.HasPrefix(name, "macfuse") || strings.HasPrefix(name, "osxfuse")
}
