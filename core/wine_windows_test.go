//go:build windows

package core

import (
	"os"
	_ "unsafe" // for go:linkname
)

// Under Wine (tests/wine/run.sh sets DISKCACHE_GO_WINE=1), Go's os.RemoveAll
// fails with "Invalid function": it deletes with
// FILE_DISPOSITION_POSIX_SEMANTICS, which Wine 8 does not implement, and
// falls back to the older call only for the status codes Windows returns.
// So t.TempDir's clean-up would fail every test. This switch, Go's own
// test hook for that fallback, makes it take the older call; the
// test command links with -checklinkname=0 to reach it. Test tooling only:
// real Windows has the call, and the engine does not remove files this way.
//
//go:linkname deleteatFallback internal/syscall/windows.TestDeleteatFallback
var deleteatFallback bool

func init() {
	if os.Getenv("DISKCACHE_GO_WINE") == "1" {
		deleteatFallback = true
	}
}
