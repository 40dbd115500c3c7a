package core_test

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

// freqModel is what the least-frequently-used order must be: (access
// count, rowid) of every present key.
type freqModel struct {
	count, rowid map[string]uint64
}

func (m *freqModel) order() []string {
	keys := make([]string, 0, len(m.count))
	for k := range m.count {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m.count[a] != m.count[b] {
			return int(m.count[a]) - int(m.count[b])
		}
		return int(m.rowid[a]) - int(m.rowid[b])
	})
	return keys
}

// Entries start in the never-counted list and move to the frequency heap
// when read under least-frequently-used; whatever the mix of sets,
// overwrites, counted reads, deletes and a policy switch, check finds the
// order sound and a cull removes exactly the model's first entries.
func TestFrequencyOrderFollowsTheModel(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			c, err := core.Open(t.TempDir(), &core.Options{SizeLimit: 1 << 40, Policy: core.LeastRecentlyStored})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			m := &freqModel{count: map[string]uint64{}, rowid: map[string]uint64{}}
			buf := make([]byte, 4096)
			lfu := false
			now := 1.0
			for step := 0; step < 3000; step++ {
				now++
				if step == 1000 {
					// Reads count from here on: entries move to the heap.
					c.SetLimits(1<<40, 10, core.LeastFrequentlyUsed)
					lfu = true
				}
				k := fmt.Sprintf("k%03d", rng.Intn(150))
				switch op := rng.Intn(10); {
				case op < 4:
					if err := c.Set(core.Call{}, &core.SetArgs{Key: core.Text(k), Value: core.Blob([]byte("value of " + k)), Mode: core.ModeRaw, Now: now}); err != nil {
						t.Fatal(err)
					}
					if _, ok := m.count[k]; !ok {
						high := uint64(0)
						for _, r := range m.rowid {
							high = max(high, r)
						}
						m.rowid[k] = high + 1
					}
					m.count[k] = 0 // a set starts the count again, as upstream's
				case op < 9:
					_, err := c.GetUpdate(core.Call{}, core.Text(k), now, 0, buf)
					if _, ok := m.count[k]; ok != (err == nil) {
						t.Fatalf("step %d: get %s: %v, model has it: %v", step, k, err, ok)
					}
					if err == nil && lfu {
						m.count[k]++
					}
				default:
					err := c.Delete(core.Call{}, core.Text(k), now)
					if _, ok := m.count[k]; ok != (err == nil) {
						t.Fatalf("step %d: delete %s: %v, model has it: %v", step, k, err, ok)
					}
					delete(m.count, k)
					delete(m.rowid, k)
				}
				if step%500 == 499 {
					rep, err := c.Check(core.Call{}, false)
					if err != nil || len(rep.Warnings) != 0 {
						t.Fatalf("step %d: check: %v %v", step, err, rep.Warnings)
					}
				}
			}
			// A cull removes batches of ten in policy order: one batch at a
			// time, each compared with the model.
			want := m.order()
			for len(want) > 0 {
				vol, err := c.Volume()
				if err != nil {
					t.Fatal(err)
				}
				c.SetLimits(vol-1, 10, core.LeastFrequentlyUsed)
				n, err := c.Cull(core.Call{}, now)
				if err != nil || n != min(10, len(want)) {
					t.Fatalf("cull: %d %v", n, err)
				}
				for _, k := range want[:n] {
					if ok, _ := c.Contains(core.Text(k), now); ok {
						t.Fatalf("cull kept %s (count %d, rowid %d), which comes first", k, m.count[k], m.rowid[k])
					}
				}
				for _, k := range want[n:] {
					if ok, _ := c.Contains(core.Text(k), now); !ok {
						t.Fatalf("cull removed %s (count %d, rowid %d) too early", k, m.count[k], m.rowid[k])
					}
				}
				want = want[n:]
				c.SetLimits(1<<40, 10, core.LeastFrequentlyUsed)
			}
			rep, err := c.Check(core.Call{}, false)
			if err != nil || len(rep.Warnings) != 0 {
				t.Fatalf("check after culls: %v %v", err, rep.Warnings)
			}
		})
	}
}
