package core

import "fmt"

// OthersCanWrite reports whether an account other than this process's
// user and the ones every user must trust anyway (root on unix; SYSTEM and
// the Administrators group on Windows) could write the file or directory
// at path, symbolic links followed, and why (empty when none could). It
// is the check the engine makes of every segment it maps, for a path: the
// Python layer asks it on Windows, where the owner and the DACL decide and
// there are no mode bits to read (owner_unix.go, owner_windows.go). A
// missing path gives an error wrapping ErrNotFound.
func OthersCanWrite(path string) (bool, string, error) {
	if path == "" {
		return false, "", fmt.Errorf("%w: empty path", ErrInvalid)
	}
	reason, err := othersCanWritePath(path)
	if err != nil {
		return false, "", err
	}
	return reason != "", reason, nil
}
