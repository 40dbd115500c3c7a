package core_test

import (
	"errors"
	"testing"
	"time"

	"github.com/diskcache-go/diskcache-go/core"
)

// Close while one owner holds a transaction open and another waits for the
// writer lock without a timeout: the waiter must give up (ErrClosed) so
// Close can roll the transaction back, instead of both waiting forever (the
// waiter for the lock, Close for the waiter).
func TestCloseWakesLockWaiters(t *testing.T) {
	for _, timeout := range []time.Duration{-1, time.Minute} {
		dir := t.TempDir()
		c, err := core.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Begin(core.Call{Owner: 1}); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(core.Call{Owner: 1}, &core.SetArgs{Key: core.Text("rolled back"), Value: core.Blob([]byte("v")), Mode: core.ModeRaw, Now: 1}); err != nil {
			t.Fatal(err)
		}
		waiter := make(chan error, 1)
		go func() {
			waiter <- c.Set(core.Call{Owner: 2, Timeout: timeout}, &core.SetArgs{Key: core.Text("waiter"), Value: core.Blob([]byte("v")), Mode: core.ModeRaw, Now: 1})
		}()
		time.Sleep(20 * time.Millisecond) // let the waiter reach the lock
		closed := make(chan error, 1)
		go func() { closed <- c.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("timeout %v: close: %v", timeout, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("timeout %v: Close still waiting after 10 s for a writer waiting for the lock", timeout)
		}
		if err := <-waiter; !errors.Is(err, core.ErrClosed) {
			t.Fatalf("timeout %v: waiter got %v, want ErrClosed", timeout, err)
		}
		c2 := mustOpen(t, dir)
		for _, k := range []string{"rolled back", "waiter"} {
			if _, ok := get(t, c2, k, 2); ok {
				t.Fatalf("timeout %v: %q present after close rolled back / refused it", timeout, k)
			}
		}
	}
}
