package core

import "os"

// mapSize is how many bytes to map of a file that must show n bytes: the
// power of two at or above 2n, and no less than least (a power of two). Mapping
// in proportion to the file, rather than reserving its largest size up
// front, is what lets a process under an address-space limit (ulimit -v)
// open caches at all, and hold thousands of them; the headroom makes the
// remaps a growing file needs rare (one per doubling).
func mapSize(n, least int64) int64 { return pow2At(2*n, least) }

// growFile extends f to size bytes with real blocks, so a later store into
// the mapping can not fault with SIGBUS on a full disk.
func growFile(f *os.File, size int64) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() >= size {
		return nil
	}
	if err := fallocate(f, st.Size(), size-st.Size()); err != nil {
		return mapErrno(err)
	}
	logOp("extend", f, size, nil)
	return nil
}

// pow2At is the power of two at or above n, and no less than least (a
// power of two).
func pow2At(n, least int64) int64 {
	s := least
	for s < n {
		s *= 2
	}
	return s
}
