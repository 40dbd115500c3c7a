//go:build windows

package core

import (
	"errors"

	"golang.org/x/sys/windows"
)

// processGone reports whether no process with this pid runs on this
// machine. A pid that can not be opened for lack of rights belongs to a
// live process; one that opens but has exited (a handle keeps its record
// alive) is gone.
func processGone(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return errors.Is(err, windows.ERROR_INVALID_PARAMETER)
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return false
	}
	const stillActive = 259 // STILL_ACTIVE
	return code != stillActive
}
