package core_test

import (
	"errors"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

// TestCache_ReadOnly opens a cache read-only: reads work, every write and
// the statistics are refused with ErrPermission, and nothing is written.
func TestCache_ReadOnly(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	set(t, w, "k", "v", 1)
	r, err := core.Open(dir, &core.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if v, ok := get(t, r, "k", 2); !ok || v != "v" {
		t.Fatalf("read-only get: %q %v", v, ok)
	}
	if _, err := r.Get(core.Text("k"), 2, core.CountStats, make([]byte, 64)); err != nil {
		t.Fatalf("get counting stats: %v", err)
	}
	err = r.Set(core.Call{}, &core.SetArgs{Key: core.Text("x"), Value: core.Int(1), Mode: core.ModeRaw, Now: 1})
	if !errors.Is(err, core.ErrPermission) {
		t.Fatalf("read-only set: %v", err)
	}
	if err := r.Begin(core.Call{Owner: 3}); !errors.Is(err, core.ErrPermission) {
		t.Fatalf("read-only begin: %v", err)
	}
	// Writes through the other handle are seen by the read-only one.
	set(t, w, "k", "v2", 3)
	if v, _ := get(t, r, "k", 4); v != "v2" {
		t.Fatalf("read-only handle sees %q", v)
	}
	if _, err := core.Open(t.TempDir()+"/missing", &core.Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing directory succeeded")
	}
}
