package core_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

func mustOpen(t testing.TB, dir string) *core.Cache {
	t.Helper()
	c, err := core.Open(dir, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func set(t testing.TB, c *core.Cache, k, v string, now float64) {
	t.Helper()
	if err := c.Set(core.Call{}, &core.SetArgs{Key: core.Text(k), Value: core.Blob([]byte(v)), Mode: core.ModeRaw, Now: now}); err != nil {
		t.Fatalf("set %q: %v", k, err)
	}
}

func get(t testing.TB, c *core.Cache, k string, now float64) (string, bool) {
	t.Helper()
	buf := make([]byte, 1<<16)
	it, err := c.Get(core.Text(k), now, 0, buf)
	if errors.Is(err, core.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("get %q: %v", k, err)
	}
	return string(it.Value.Bytes), true
}

func keys(t testing.TB, c *core.Cache, reverse bool) []string {
	t.Helper()
	var out []string
	var cur core.Cursor
	bound, err := c.MaxRowid()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	for {
		items, next, err := c.Keys(cur, bound+1, reverse, 7, buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			out = append(out, string(it.Key.Bytes))
		}
		if len(items) < 7 {
			return out
		}
		cur = next
	}
}

func TestCache_SetGetDelete(t *testing.T) {
	c := mustOpen(t, t.TempDir())
	set(t, c, "a", "1", 1)
	set(t, c, "b", "2", 2)
	set(t, c, "a", "3", 3)
	if v, ok := get(t, c, "a", 4); !ok || v != "3" {
		t.Fatalf("a = %q %v", v, ok)
	}
	if got := fmt.Sprint(keys(t, c, false)); got != "[a b]" {
		t.Fatalf("keys %s", got)
	}
	if got := fmt.Sprint(keys(t, c, true)); got != "[b a]" {
		t.Fatalf("reverse keys %s", got)
	}
	if err := c.Delete(core.Call{}, core.Text("a"), 5); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(core.Call{}, core.Text("a"), 5); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if n, _ := c.Len(); n != 1 {
		t.Fatalf("len %d", n)
	}
}

func TestCache_ManyKeysReopen(t *testing.T) {
	dir := t.TempDir()
	c, err := core.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	for i := 0; i < n; i++ {
		set(t, c, fmt.Sprint("k", i), fmt.Sprint("v", i), float64(i))
	}
	for i := 0; i < n; i += 2 {
		if err := c.Delete(core.Call{}, core.Text(fmt.Sprint("k", i)), 1e9); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	c = mustOpen(t, dir)
	for i := 0; i < n; i++ {
		v, ok := get(t, c, fmt.Sprint("k", i), 1e9)
		if ok != (i%2 == 1) || (ok && v != fmt.Sprint("v", i)) {
			t.Fatalf("k%d = %q %v", i, v, ok)
		}
	}
	if got := len(keys(t, c, false)); got != n/2 {
		t.Fatalf("keys %d", got)
	}
}

func TestCache_ExpireAndCull(t *testing.T) {
	c := mustOpen(t, t.TempDir())
	for i := 0; i < 50; i++ {
		err := c.Set(core.Call{}, &core.SetArgs{Key: core.Int(int64(i)), Value: core.Int(int64(i)), Mode: core.ModeRaw,
			Expire: float64(100 + i%10), HasExpire: true, Now: 1})
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := c.Expire(core.Call{}, 105)
	if err != nil || n != 25 {
		t.Fatalf("expire %d %v", n, err)
	}
	if l, _ := c.Len(); l != 25 {
		t.Fatalf("len %d", l)
	}
	v, err := c.Incr(core.Call{}, core.Float(7), core.Int(5), core.Int(0), true, 106)
	if err != nil || v.Kind != core.KindInt {
		t.Fatalf("incr %v %v", v, err)
	}
}
