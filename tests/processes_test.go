package tests

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/diskcache-go/diskcache-go/core"
)

func init() {
	workers["hammer"] = hammer
}

// hammer increments counters and overwrites values for a while; it prints
// nothing and reports its increments through its exit status only when
// something failed, so the parent can check exact totals.
func hammer(args []string) error {
	dir, id := args[0], args[1]
	n, _ := strconv.Atoi(args[2])
	c, err := core.Open(dir, &core.Options{Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 1<<16)
	for i := 0; i < n; i++ {
		if _, err := c.Incr(core.Call{}, core.Text(fmt.Sprint("counter-", i%4)), core.Int(1), core.Int(0), true, 1); err != nil {
			return fmt.Errorf("incr: %w", err)
		}
		key := core.Text(fmt.Sprint("value-", i%16))
		val := fmt.Sprintf("%s:%d", id, i)
		if err := c.Set(core.Call{}, &core.SetArgs{Key: key, Value: core.Text(val), Mode: core.ModeRaw, Now: 1}); err != nil {
			return fmt.Errorf("set: %w", err)
		}
		it, err := c.Get(key, 1, 0, buf)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return fmt.Errorf("get: %w", err)
		}
		if err == nil && len(it.Value.Bytes) == 0 {
			return fmt.Errorf("empty value")
		}
		if i%7 == 0 {
			if err := c.Delete(core.Call{}, key, 1); err != nil && !errors.Is(err, core.ErrNotFound) {
				return fmt.Errorf("delete: %w", err)
			}
		}
	}
	return nil
}

// TestProcesses_Hammer runs four processes against one directory and checks
// that no increment was lost and the index is consistent afterwards.
func TestProcesses_Hammer(t *testing.T) {
	dir := t.TempDir()
	const procs, n = 4, 2000
	var cmds []*execCmd
	for p := 0; p < procs; p++ {
		cmd := worker(t, "hammer", dir, fmt.Sprint("w", p), fmt.Sprint(n))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("worker: %v", err)
		}
	}
	c, err := core.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1<<10)
	var total int64
	for i := 0; i < 4; i++ {
		it, err := c.Get(core.Text(fmt.Sprint("counter-", i)), 1, 0, buf)
		if err != nil {
			t.Fatal(err)
		}
		total += int64(le64(it.Value.Bytes))
	}
	if total != procs*n {
		t.Fatalf("increments: got %d, want %d", total, procs*n)
	}
	rep, err := c.Check(core.Call{}, false)
	if err != nil || len(rep.Warnings) != 0 {
		t.Fatalf("check: %v %v", rep.Warnings, err)
	}
}
