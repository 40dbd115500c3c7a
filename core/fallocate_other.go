//go:build unix && !linux

package core

import "os"

func fallocate(f *os.File, off, n int64) error { return writeZeros(f, off, n) }
