//go:build unix

package core

import (
	"fmt"
	"os"
)

// syncDir makes the creation and removal of names in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, mapErrno(err))
	}
	defer d.Close()
	return syncFile(d)
}
