//go:build windows

package core

import "os"

// fallocate extends f to off+n bytes. Truncate is SetEndOfFile (through
// SetFileInformationByHandle), and NTFS allocates the clusters of a file
// extended so at once, failing with a full-disk error then rather than on a
// later store into the mapping; the new bytes read as zeros.
func fallocate(f *os.File, off, n int64) error { return f.Truncate(off + n) }
