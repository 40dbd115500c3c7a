//go:build unix

package core

import (
	"errors"
	"syscall"
)

// processGone reports whether no process with this pid runs on this
// machine (signal 0 checks without sending anything).
func processGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }
