package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// QuarantineDir is the folder inside a cache directory where repairs move
// the files they can not account for, instead of deleting them: a file a
// repair does not understand may still be someone's data. Nothing reads it;
// remove it by hand once its contents are known to be unneeded.
const QuarantineDir = "quarantine"

// quarantine moves path into the cache's quarantine folder, under a name
// that does not overwrite an earlier one.
func (c *Cache) quarantine(path string) error {
	q := filepath.Join(c.dir, QuarantineDir)
	if err := os.MkdirAll(q, os.FileMode(c.opts.DirMode)); err != nil {
		return fmt.Errorf("quarantine: %w", mapErrno(err))
	}
	base := filepath.Base(path)
	dst := filepath.Join(q, base)
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = filepath.Join(q, fmt.Sprintf("%s.%d", base, i))
	}
	if err := os.Rename(path, dst); err != nil {
		return fmt.Errorf("quarantine %s: %w", path, mapErrno(err))
	}
	return nil
}
