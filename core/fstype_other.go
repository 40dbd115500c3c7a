//go:build !linux && !darwin && !windows

package core

// filesystem is not detected on this platform yet.
func filesystem(dir string) (magic int64, name string, network bool) { return 0, "", false }
