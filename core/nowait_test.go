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

// A Get with ClockNow ignores now and reads the wall clock, only for an
// entry that has an expire time.
func TestGetClockNow(t *testing.T) {
	c, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wall := wallNow()
	for _, s := range []struct {
		key       string
		expire    float64
		hasExpire bool
	}{{"forever", 0, false}, {"past", wall - 60, true}, {"future", wall + 3600, true}} {
		err := c.Set(Call{}, &SetArgs{Key: Text(s.key), Value: Blob([]byte(s.key)), Mode: ModeRaw,
			Expire: s.expire, HasExpire: s.hasExpire, Now: 1})
		if err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 4096)
	for key, want := range map[string]bool{"forever": true, "past": false, "future": true} {
		// now = 0 would keep "past" alive and now = 1e12 would expire
		// "future": ClockNow must use neither.
		for _, now := range []float64{0, 1e12} {
			_, err := c.Get(Text(key), now, ClockNow, buf)
			if found := err == nil; found != want || (err != nil && !errors.Is(err, ErrNotFound)) {
				t.Errorf("Get(%q, now=%g, ClockNow): %v, want found=%v", key, now, err, want)
			}
		}
	}
}
