package core_test

import (
	"errors"
	"testing"
	"time"

	"github.com/diskcache-go/diskcache-go/core"
)

// TestCache_OpenWhileTransactionOpen opens a directory while another handle
// holds the writer lock in the middle of a transaction: the open must not
// wait for the lock or treat the live writer's journal as a crash.
func TestCache_OpenWhileTransactionOpen(t *testing.T) {
	dir := t.TempDir()
	a := mustOpen(t, dir)
	const owner = 7
	if err := a.Begin(core.Call{Owner: owner}); err != nil {
		t.Fatal(err)
	}
	if err := a.Set(core.Call{Owner: owner}, &core.SetArgs{Key: core.Text("k"), Value: core.Int(1), Mode: core.ModeRaw, Now: 1}); err != nil {
		t.Fatal(err)
	}
	b, err := core.Open(dir, &core.Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("open while a transaction is open: %v", err)
	}
	defer b.Close()
	err = b.Set(core.Call{Timeout: 50 * time.Millisecond}, &core.SetArgs{Key: core.Text("j"), Value: core.Int(1), Mode: core.ModeRaw, Now: 1})
	if !errors.Is(err, core.ErrTimeout) {
		t.Fatalf("set while locked: %v, want ErrTimeout", err)
	}
	if err := a.End(owner, true); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(core.Call{}, &core.SetArgs{Key: core.Text("j"), Value: core.Int(1), Mode: core.ModeRaw, Now: 1}); err != nil {
		t.Fatal(err)
	}
}
