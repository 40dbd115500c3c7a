package core

import (
	"os"
	"path/filepath"
	"strings"
)

// removeFile deletes a value file (a path relative to the cache directory).
// The Python package names them "ab/<name>.val": 256 directories that stay
// when they empty, so that a set does not pay a mkdir and a delete an
// rmdir (each 100-300 µs on this project's ext4, most of a 256 KiB set).
// Deeper names (python-diskcache's "ab/cd/<name>.val", a Disk subclass's
// own) have their parent directories removed while they are empty,
// stopping at the cache directory, as python-diskcache's Disk.remove
// does. Errors are ignored for the same reason upstream ignores them:
// another process may have removed the file first, and check() reports
// any leftovers.
func (c *Cache) removeFile(name string) {
	full, ok := c.valuePath(name)
	if !ok {
		return
	}
	if err := os.Remove(full); err != nil {
		return
	}
	if !strings.ContainsRune(filepath.Dir(filepath.Clean(name)), filepath.Separator) {
		return
	}
	for dir := filepath.Dir(full); dir != c.dir && strings.HasPrefix(dir, c.dir); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			return
		}
	}
}

// valuePath resolves a value file name, refusing names that would escape
// the cache directory (a tampered record must not delete other files).
func (c *Cache) valuePath(name string) (string, bool) {
	if !safeFileName(name) {
		return "", false
	}
	return filepath.Join(c.dir, filepath.Clean(name)), true
}

// safeFileName reports whether a value file name stays inside the cache
// directory and is not one of the engine's own files.
func safeFileName(name string) bool {
	if name == "" || filepath.IsAbs(name) || strings.ContainsRune(name, 0) {
		return false
	}
	clean := filepath.Clean(name)
	return clean != "." && clean != ".." && !strings.HasPrefix(clean, ".."+string(filepath.Separator)) &&
		!strings.HasPrefix(filepath.Base(clean), filePrefix)
}
