package core

import (
	"errors"
	"sync/atomic"
	"testing"
)

// A Get with NoWait answers at once or says it would wait, and a plain Get
// then answers: the C get path holds the GIL only for the first.
func TestGetNoWait(t *testing.T) {
	for _, network := range []NetworkMode{NetworkOff, NetworkOn} {
		c, err := Open(t.TempDir(), &Options{Network: network})
		if err != nil {
			t.Fatal(err)
		}
		key := Text("k")
		if err := c.Set(Call{}, &SetArgs{Key: key, Value: Blob([]byte("v")), Mode: ModeRaw, Now: 1}); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		_, err = c.Get(key, 2, NoWait, buf)
		if network == NetworkOn {
			// Network mode takes a lock for every read.
			if !errors.Is(err, ErrWouldBlock) {
				t.Fatalf("network mode: NoWait gave %v, want ErrWouldBlock", err)
			}
		} else {
			if err != nil {
				t.Fatalf("local mode, idle index: NoWait gave %v", err)
			}
			// A writer in the middle of a commit (odd sequence number).
			atomic.AddUint64(c.idx.seqPtr(), 1)
			_, err = c.Get(key, 2, NoWait, buf)
			atomic.AddUint64(c.idx.seqPtr(), 1)
			if !errors.Is(err, ErrWouldBlock) {
				t.Fatalf("mid-commit: NoWait gave %v, want ErrWouldBlock", err)
			}
		}
		it, err := c.Get(key, 2, 0, buf)
		if err != nil || string(it.Value.Bytes) != "v" {
			t.Fatalf("plain Get after NoWait: %q %v", it.Value.Bytes, err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
