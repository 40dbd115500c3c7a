package core

import "os"

// writeZeros allocates [off, off+n) by writing zeros, for filesystems
// without fallocate.
func writeZeros(f *os.File, off, n int64) error {
	buf := make([]byte, 1<<16)
	for n > 0 {
		c := int64(len(buf))
		if c > n {
			c = n
		}
		if _, err := f.WriteAt(buf[:c], off); err != nil {
			return err
		}
		off += c
		n -= c
	}
	return nil
}
