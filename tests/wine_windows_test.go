//go:build windows

package tests

import (
	"os"
	_ "unsafe" // for go:linkname
)

// See core/wine_windows_test.go: under Wine, t.TempDir's clean-up needs
// Go's older delete call. Test tooling only.
//
//go:linkname deleteatFallback internal/syscall/windows.TestDeleteatFallback
var deleteatFallback bool

func init() {
	if os.Getenv("DISKCACHE_GO_WINE") == "1" {
		deleteatFallback = true
	}
}
