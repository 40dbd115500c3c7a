package core

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestGuard: a fault on a mapping past the end of its (truncated) file and
// a runtime error become errFault; another panic goes on.
func TestGuard(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(8192); err != nil {
		t.Fatal(err)
	}
	m, err := mapShared(f, 8192, true)
	if err != nil {
		t.Fatal(err)
	}
	defer unmap(m)
	if err := f.Truncate(0); err != nil {
		skipIfMappedTruncate(t, err)
		t.Fatal(err)
	}
	if err := guard(func() error { m[4096] = 1; return nil }); !errors.Is(err, errFault) || !errors.Is(err, ErrCorrupted) {
		t.Fatalf("store past the end: %v", err)
	}
	if err := guard(func() error { sinkByte = m[100]; return nil }); !errors.Is(err, errFault) {
		t.Fatalf("load past the end: %v", err)
	}
	var short []byte
	i := 3
	if err := guard(func() error { short[i] = 1; return nil }); !errors.Is(err, errFault) {
		t.Fatalf("index out of range: %v", err)
	}
	want := errors.New("mine")
	if err := guard(func() error { return want }); err != want {
		t.Fatalf("plain error: %v", err)
	}
	defer func() {
		if r := recover(); r != "not a fault" {
			t.Fatalf("recovered %v", r)
		}
	}()
	guard(func() error { panic("not a fault") })
	t.Fatal("the panic was swallowed")
}

var (
	sink     error
	sinkByte byte
)

// BenchmarkGuard measures what a guard adds to a call: SetPanicOnFault
// twice and a deferred recover.
func BenchmarkGuard(b *testing.B) {
	fn := func() error { return nil }
	b.Run("plain", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			sink = callPlain(fn)
		}
	})
	b.Run("guarded", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			sink = guard(fn)
		}
	})
}

//go:noinline
func callPlain(fn func() error) error { return fn() }
