//go:build unix

package core

import "os"

// openFile is os.OpenFile; openfile_windows.go says why Windows differs.
func openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}
