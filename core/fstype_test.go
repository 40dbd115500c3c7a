package core

import "testing"

// TestFilesystem_LocalIsNotNetwork checks the statfs detection on the test
// machine's temporary directory (a local filesystem) and the table.
func TestFilesystem_LocalIsNotNetwork(t *testing.T) {
	c, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if name, network := c.Filesystem(); network {
		t.Fatalf("temporary directory reported as network filesystem %q", name)
	}
}
