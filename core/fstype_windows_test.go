package core

import "testing"

// TestFilesystem_UNCIsNetwork: a cache named by server and share is on a
// network filesystem whatever the share is, and the long-path and device
// forms of a drive letter are not (runs under Wine in the test command).
func TestFilesystem_UNCIsNetwork(t *testing.T) {
	for path, want := range map[string]bool{
		`\\server\share\cache`:        true,
		`//server/share/cache`:        true,
		`\\?\UNC\server\share\cache`:  true,
		`\\?\unc\server\share\cache`:  true,
		`\\?\C:\cache`:                false,
		`\\.\C:\cache`:                false,
		`C:\Users\someone\cache`:      false,
		`C:/Users/someone/cache`:      false,
		`relative\not\a\share\at\all`: false,
	} {
		if got := isUNC(path); got != want {
			t.Errorf("isUNC(%q) = %v, want %v", path, got, want)
		}
	}
	if _, name, network := filesystem(`\\server\share\cache`); !network || name != "unc" {
		t.Errorf(`filesystem(\\server\share\cache) = %q, %v; want "unc", network`, name, network)
	}
	if _, _, network := filesystem(t.TempDir()); network {
		t.Error("the temporary directory, on a local drive, was taken for a network one")
	}
}
