package core_test

import (
	"fmt"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

// filled opens a fresh cache holding n keys (named by format) of size-byte
// values.
func filled(b *testing.B, n, size int, format string) (*core.Cache, []core.Typed) {
	c := mustOpen(b, b.TempDir())
	val := make([]byte, size)
	keys := make([]core.Typed, n)
	for i := range keys {
		keys[i] = core.Text(fmt.Sprintf(format, i))
		if err := c.Set(core.Call{}, &core.SetArgs{Key: keys[i], Value: core.Blob(val), Mode: core.ModeRaw, Now: 1}); err != nil {
			b.Fatal(err)
		}
	}
	return c, keys
}

func BenchmarkGet1K(b *testing.B) {
	const n = 10000
	c, keys := filled(b, n, 1024, "key-%05d")
	buf := make([]byte, 1<<16)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Get(keys[i%n], 2, 0, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSet1K(b *testing.B) {
	c := mustOpen(b, b.TempDir())
	val := make([]byte, 1024)
	const n = 10000
	keys := make([]core.Typed, n)
	for i := range keys {
		keys[i] = core.Text(fmt.Sprintf("key-%05d", i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Set(core.Call{}, &core.SetArgs{Key: keys[i%n], Value: core.Blob(val), Mode: core.ModeRaw, Now: float64(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetSpread reads keys in a random order from a 100,000-entry cache
// against the same key again and again: the difference is memory misses.
func BenchmarkGetSpread(b *testing.B) {
	const n = 100000
	c, keys := filled(b, n, 256, "k%09d")
	order := make([]int, 1<<16)
	x := uint32(12345)
	for i := range order {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		order[i] = int(x % n)
	}
	buf := make([]byte, 1<<16)
	b.Run("random", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := c.Get(keys[order[i&(1<<16-1)]], 2, 0, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("same", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := c.Get(keys[5], 2, 0, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
