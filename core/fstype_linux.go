//go:build linux

package core

import "syscall"

// Filesystem magic numbers (statfs f_type) of filesystems whose page cache
// is not shared between the machines that mount them.
var networkFS = map[int64]string{
	0x6969:     "nfs",
	0x517b:     "smb",
	0xff534d42: "cifs",
	0xfe534d42: "smb2",
	0x65735546: "fuse",
	0x00c36400: "ceph",
	0x5346414f: "afs",
	0x01021997: "9p",
	0x47504653: "gpfs",
	0x0bd00bd0: "lustre",
}

// filesystem reports the type of the filesystem holding dir and whether it
// is a network (or FUSE) filesystem.
func filesystem(dir string) (magic int64, name string, network bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, "", false
	}
	magic = int64(st.Type) & 0xffffffff
	name, network = networkFS[magic]
	return magic, name, network
}
