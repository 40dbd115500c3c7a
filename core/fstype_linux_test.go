package core

import "testing"

// TestFilesystem_LinuxTable checks entries of the statfs magic table.
func TestFilesystem_LinuxTable(t *testing.T) {
	if networkFS[0x6969] != "nfs" || networkFS[0x65735546] != "fuse" {
		t.Fatal("filesystem table")
	}
}
