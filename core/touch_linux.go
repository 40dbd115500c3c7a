//go:build linux

package core

import "syscall"

// utimeNow asks utimensat for the current time, which on a network
// filesystem is the server's.
const utimeNow = 1<<30 - 1

// touchNow sets path's access and modification times to now.
func touchNow(path string) error {
	now := syscall.Timespec{Nsec: utimeNow}
	return syscall.UtimesNano(path, []syscall.Timespec{now, now})
}
