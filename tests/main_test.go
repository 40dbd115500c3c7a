// Package tests holds the engine's cross-process tests: each test starts
// copies of this test binary as worker processes (selected by the
// DCG_WORKER environment variable) that share one cache directory.
package tests

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// workers maps a role name to the function a worker process runs.
var workers = map[string]func(args []string) error{}

func TestMain(m *testing.M) {
	if role := os.Getenv("DCG_WORKER"); role != "" {
		fn, ok := workers[role]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown worker %q\n", role)
			os.Exit(2)
		}
		if err := fn(strings.Split(os.Getenv("DCG_ARGS"), "\x1f")); err != nil {
			fmt.Fprintf(os.Stderr, "worker %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// worker returns a command that runs role in a new process.
func worker(t testing.TB, role string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DCG_WORKER="+role, "DCG_ARGS="+strings.Join(args, "\x1f"))
	cmd.Stderr = os.Stderr
	return cmd
}
