package core

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"testing"
)

func randomKey(rng *rand.Rand) Typed {
	switch rng.Intn(6) {
	case 0:
		return Int(int64(rng.Intn(200) - 100))
	case 1:
		return Float(float64(rng.Intn(200)-100) / 4)
	case 2:
		return Int(math.MaxInt64 - int64(rng.Intn(3)))
	case 3:
		return Text(fmt.Sprint("t", rng.Intn(100)))
	case 4:
		return Blob([]byte(fmt.Sprint("b", rng.Intn(100))))
	}
	return Typed{KindPickle, []byte(fmt.Sprint("b", rng.Intn(100)))}
}

// TestOrdered_RandomOps checks the key-order treap against a sorted model
// through random inserts and deletes: in-order traversal sorted, heap
// order on priorities, parent links consistent.
func TestOrdered_RandomOps(t *testing.T) {
	c, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rng := rand.New(rand.NewSource(3))
	model := map[string]Typed{}
	id := func(k Typed) string {
		if k.Kind == KindFloat {
			if i, ok := floatAsInt(k.f64()); ok {
				return fmt.Sprint("n", i)
			}
		}
		if k.Kind == KindInt {
			return fmt.Sprint("n", k.i64())
		}
		return fmt.Sprint(k.Kind, string(k.Bytes))
	}
	for step := 0; step < 3000; step++ {
		k := randomKey(rng)
		if rng.Intn(3) == 0 {
			err := c.Delete(Call{}, k, 1)
			if _, ok := model[id(k)]; ok != (err == nil) {
				t.Fatalf("step %d: delete %v: %v (in model %v)", step, k, err, ok)
			}
			delete(model, id(k))
		} else {
			if err := c.Set(Call{}, &SetArgs{Key: k, Value: Null, Mode: ModeRaw, Now: 1}); err != nil {
				t.Fatal(err)
			}
			if _, ok := model[id(k)]; !ok {
				model[id(k)] = k
			}
		}
		if step%250 == 0 || step == 2999 {
			verifyTree(t, c, model)
		}
	}
}

func verifyTree(t *testing.T, c *Cache, model map[string]Typed) {
	t.Helper()
	var want []Typed
	for _, k := range model {
		want = append(want, k)
	}
	sort.Slice(want, func(i, j int) bool { return compareKeys(want[i], want[j]) < 0 })
	for _, reverse := range []bool{false, true} {
		var got []Typed
		var after Typed
		has := false
		for {
			items, err := c.KeysSorted(after, has, reverse, 37, make([]byte, 1<<16))
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				got = append(got, it.Key)
			}
			if len(items) < 37 {
				break
			}
			after, has = items[len(items)-1].Key, true
		}
		if len(got) != len(want) {
			t.Fatalf("reverse=%v: %d keys, want %d", reverse, len(got), len(want))
		}
		for i := range got {
			j := i
			if reverse {
				j = len(want) - 1 - i
			}
			if compareKeys(got[i], want[j]) != 0 {
				t.Fatalf("reverse=%v: key %d is %v, want %v", reverse, i, got[i], want[j])
			}
		}
	}
	// Structure: heap order and parent links.
	var walk func(n, parent uint32) int
	walk = func(n, parent uint32) int {
		if n == nilID {
			return 0
		}
		e := c.idx.entry(n)
		if getU32(e, eOrdParent) != parent {
			t.Fatalf("entry %d: parent %d, want %d", n, getU32(e, eOrdParent), parent)
		}
		if parent != nilID && priority(n) > priority(parent) {
			t.Fatalf("entry %d: priority above its parent's", n)
		}
		return 1 + walk(getU32(e, eOrdLeft), n) + walk(getU32(e, eOrdRight), n)
	}
	if n := walk(c.idx.u32(offTreeRoot), nilID); n != len(model) {
		t.Fatalf("tree holds %d entries, want %d", n, len(model))
	}
}
