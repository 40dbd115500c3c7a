package tests

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	opts := modeOptions(args[3])
	opts.Timeout = 30 * time.Second
	c, err := core.Open(dir, &opts)
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

// modeOptions are the options of a worker in mode: "shared" (the
// default), "network" (forced network mode) or "sync" (Options.Sync).
func modeOptions(mode string) core.Options {
	switch mode {
	case "network":
		return core.Options{Network: core.NetworkOn}
	case "sync":
		return core.Options{Sync: true, Network: core.NetworkOff}
	}
	return core.Options{Network: core.NetworkOff}
}

// TestProcesses_Hammer runs four processes against one directory and checks
// that no increment was lost and the index is consistent afterwards: all
// in each mode, and then one in each mode at once (a network-mode process
// must exclude and see the writes of local ones on the same machine).
func TestProcesses_Hammer(t *testing.T) {
	for _, modes := range [][]string{
		{"shared", "shared", "shared", "shared"},
		{"network", "network", "network", "network"},
		{"sync", "sync", "sync", "sync"},
		{"shared", "network", "sync", "network"},
	} {
		t.Run(strings.Join(modes, "+"), func(t *testing.T) { hammerModes(t, modes) })
	}
}

func hammerModes(t *testing.T, modes []string) {
	dir := t.TempDir()
	procs, n := len(modes), 2000
	if modes[0] != "shared" {
		n = 500 // fsync per write, and the whole index re-read per foreign write
	}
	var cmds []*execCmd
	for p := 0; p < procs; p++ {
		cmd := worker(t, "hammer", dir, fmt.Sprint("w", p), fmt.Sprint(n), modes[p])
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
	if total != int64(procs*n) {
		t.Fatalf("increments: got %d, want %d", total, procs*n)
	}
	rep, err := c.Check(core.Call{}, false)
	if err != nil || len(rep.Warnings) != 0 {
		t.Fatalf("check: %v %v", rep.Warnings, err)
	}
}
