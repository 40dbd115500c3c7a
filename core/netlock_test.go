package core

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestNetLock_ExcludesAndBreaksAbandoned(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, netLockName)
	a, b := newNetLock(path, 0o600), newNetLock(path, 0o600)
	if ok, err := a.try(); !ok || err != nil {
		t.Fatalf("first try: %v %v", ok, err)
	}
	// Held by this process (another handle): never broken.
	if ok, err := b.try(); ok || err != nil {
		t.Fatalf("second try took a held lock: %v %v", ok, err)
	}
	if err := a.release(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.try(); !ok {
		t.Fatal("a released lock was not taken")
	}
	if err := b.release(); err != nil {
		t.Fatal(err)
	}

	// A lock of a process of this host that is gone is broken at once.
	cmd := exec.Command(os.Args[0], "-test.run=^$") // exits at once, on every OS
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("%s %d deadbeef\n", a.host, cmd.Process.Pid)
	if err := os.WriteFile(path, []byte(dead), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.try(); ok {
		t.Fatal("took the lock while the abandoned file was still there")
	}
	if ok, err := a.try(); !ok || err != nil {
		t.Fatalf("abandoned lock not broken: %v %v", ok, err)
	}
	a.release()

	// Another host's lock is left alone until it is staleAfter old.
	if err := os.WriteFile(path, []byte("elsewhere 1 cafe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.try()
	if ok, _ := a.try(); ok {
		t.Fatal("broke a fresh lock of another host")
	}
	old := time.Now().Add(-staleAfter - time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	a.try()
	if ok, _ := a.try(); !ok {
		t.Fatal("another host's stale lock was not broken")
	}
	// Releasing a lock someone else holds now is refused.
	if err := os.WriteFile(path, []byte("elsewhere 1 cafe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.release(); err == nil {
		t.Fatal("released a lock this process no longer held")
	}
}

func TestModes_InteroperateOnOneDirectory(t *testing.T) {
	dir := t.TempDir()
	var caches []*Cache
	for _, o := range []Options{{Network: NetworkOff}, {Network: NetworkOn}, {Sync: true, Network: NetworkOff}} {
		c, err := Open(dir, &o)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		caches = append(caches, c)
	}
	if m := []string{caches[0].Mode(), caches[1].Mode(), caches[2].Mode()}; m[0] != "shared" || m[1] != "network" || m[2] != syncMode {
		t.Fatalf("modes %v", m)
	}
	buf := make([]byte, 1<<16)
	for i := 0; i < 300; i++ {
		w := caches[i%3]
		key := Text(fmt.Sprint("k", i%40))
		val := fmt.Sprint("v", i, "-", make([]byte, i*13%2000))
		if err := w.Set(Call{}, &SetArgs{Key: key, Value: Blob([]byte(val)), Mode: ModeRaw, Now: 1}); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			// An aborted transaction in each mode leaves nothing behind.
			if err := w.Begin(Call{Owner: 5}); err != nil {
				t.Fatal(err)
			}
			w.Set(Call{Owner: 5}, &SetArgs{Key: Text("aborted"), Value: Blob([]byte("x")), Mode: ModeRaw, Now: 1})
			if err := w.End(5, false); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range caches {
			it, err := r.Get(key, 1, 0, buf)
			if err != nil || string(it.Value.Bytes) != val {
				t.Fatalf("step %d: %s reads %q, %v; want %q", i, r.Mode(), it.Value.Bytes, err, val)
			}
			if _, err := r.Get(Text("aborted"), 1, 0, buf); err != ErrNotFound {
				t.Fatalf("step %d: aborted write visible to %s: %v", i, r.Mode(), err)
			}
		}
	}
	for _, c := range caches {
		if rep, err := c.Check(Call{}, false); err != nil || len(rep.Warnings) > 0 {
			t.Fatalf("%s check: %v %v", c.Mode(), rep.Warnings, err)
		}
	}
}

// Threads of one process share a network-mode handle: readers take the
// lock, read while another thread holds it in a transaction, or read the
// last commit while another handle (standing in for another process)
// holds it. Run under -race by the test command.
func TestNetworkMode_ConcurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, &Options{Network: NetworkOn})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(dir, &Options{Network: NetworkOn})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c := []*Cache{a, b}[g%2]
			buf := make([]byte, 1<<12)
			for i := 0; i < 200; i++ {
				key := Text(fmt.Sprint("g", g, "-", i%20))
				want := fmt.Sprint(g, ":", i)
				if g == 3 && i%10 == 0 {
					// A transaction: the other goroutines keep reading.
					owner := uint64(1000 + i)
					if err := c.Begin(Call{Owner: owner}); err != nil {
						errs <- err
						return
					}
					c.Set(Call{Owner: owner}, &SetArgs{Key: key, Value: Blob([]byte(want)), Mode: ModeRaw, Now: 1})
					time.Sleep(time.Millisecond)
					if err := c.End(owner, true); err != nil {
						errs <- err
						return
					}
				} else if err := c.Set(Call{}, &SetArgs{Key: key, Value: Blob([]byte(want)), Mode: ModeRaw, Now: 1}); err != nil {
					errs <- err
					return
				}
				it, err := c.Get(key, 1, 0, buf)
				if err != nil || string(it.Value.Bytes) != want {
					errs <- fmt.Errorf("goroutine %d step %d: %q %v, want %q", g, i, it.Value.Bytes, err, want)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if rep, err := a.Check(Call{}, false); err != nil || len(rep.Warnings) > 0 {
		t.Fatalf("check: %v %v", rep.Warnings, err)
	}
}

// TestNetLock_EPERMFromALostRace: sshfs reports a create or link that lost
// the race to another process as EPERM. With the lock file there, that is
// a held lock; with no lock file, EPERM twice is a real error.
func TestNetLock_EPERMFromALostRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, netLockName)
	holder, n := newNetLock(path, 0o600), newNetLock(path, 0o600)
	realLink, realCreate := linkFile, createExcl
	t.Cleanup(func() { linkFile, createExcl = realLink, realCreate })
	eperm := func(op string) error { return &os.PathError{Op: op, Path: path, Err: syscall.EPERM} }

	// The race: the kernel's lookup found no lock file, then the holder
	// created it, and the server refused ours with EPERM.
	linkFile = func(oldname, newname string) error {
		linkFile = realLink // for the holder, and after this call
		if ok, err := holder.try(); !ok || err != nil {
			t.Fatalf("holder: %v %v", ok, err)
		}
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EPERM}
	}
	if ok, err := n.try(); ok || err != nil {
		t.Fatalf("a link that lost the race: got %v %v, want a held lock", ok, err)
	}

	// Without hard links: the O_EXCL create loses the same race.
	if err := holder.release(); err != nil {
		t.Fatal(err)
	}
	linkFile = func(oldname, newname string) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EOPNOTSUPP}
	}
	createExcl = func(p string, mode os.FileMode) (*os.File, error) {
		if err := os.WriteFile(path, []byte(holder.owner), 0o600); err != nil {
			t.Fatal(err)
		}
		return nil, eperm("open")
	}
	if ok, err := n.try(); ok || err != nil {
		t.Fatalf("a create that lost the race: got %v %v, want a held lock", ok, err)
	}
	os.Remove(path)

	// The holder released between the refusal and the check: the second
	// create takes the lock.
	calls := 0
	createExcl = func(p string, mode os.FileMode) (*os.File, error) {
		calls++
		if calls == 1 {
			return nil, eperm("open")
		}
		return realCreate(p, mode)
	}
	if ok, err := n.try(); !ok || err != nil {
		t.Fatalf("retry after a released race: got %v %v", ok, err)
	}
	if err := n.release(); err != nil {
		t.Fatal(err)
	}

	// EPERM with no lock file, twice: a real refusal, reported.
	createExcl = func(p string, mode os.FileMode) (*os.File, error) { return nil, eperm("open") }
	ok, err := n.try()
	if ok || !errors.Is(err, ErrPermission) {
		t.Fatalf("a real EPERM: got %v %v, want ErrPermission", ok, err)
	}
}

func TestNetLock_LeaseIsRenewedWhileHeld(t *testing.T) {
	oldStale, oldRenew := staleAfter, renewEvery
	// Renewals 60 times as often as staleAfter: a loaded machine (CI runs
	// the packages' race-detector tests side by side) can delay a tick a
	// lot, and a test that misses several in a row is not what is tested.
	staleAfter, renewEvery = 1500*time.Millisecond, 25*time.Millisecond
	defer func() { staleAfter, renewEvery = oldStale, oldRenew }()
	path := filepath.Join(t.TempDir(), netLockName)
	holder, other := newNetLock(path, 0o600), newNetLock(path, 0o600)
	// A process of another machine: its holder's death can not be seen.
	other.host, other.owner = "another-machine", "another-machine 1 cafe\n"
	defer holder.close()
	defer other.close()
	if ok, err := holder.try(); !ok || err != nil {
		t.Fatalf("first try: %v %v", ok, err)
	}
	// A transaction twice as long as staleAfter keeps its lock.
	for end := time.Now().Add(2 * staleAfter); time.Now().Before(end); time.Sleep(staleAfter / 8) {
		if ok, err := other.try(); ok || err != nil {
			t.Fatalf("another host broke a renewed lock: %v %v", ok, err)
		}
	}
	if err := holder.release(); err != nil {
		t.Fatalf("release of a renewed lock: %v", err)
	}
	if ok, err := other.try(); !ok || err != nil {
		t.Fatalf("a released lock was not taken: %v %v", ok, err)
	}
	if err := other.release(); err != nil {
		t.Fatal(err)
	}

	// A holder that stops renewing (hung, or cut off from the server)
	// loses the lock after staleAfter, and its release says so.
	if ok, err := holder.try(); !ok || err != nil {
		t.Fatalf("try: %v %v", ok, err)
	}
	holder.close()
	deadline := time.Now().Add(10 * staleAfter)
	for {
		ok, err := other.try()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a lock that was not renewed was never broken")
		}
		time.Sleep(staleAfter / 8)
	}
	if err := holder.release(); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("release of a broken lock: %v", err)
	}
	if err := other.release(); err != nil {
		t.Fatal(err)
	}
}

func TestNetLock_BreakingInLateLeavesTheNewHoldersLock(t *testing.T) {
	t.Run("links", func(t *testing.T) { breakInLate(t) })
	t.Run("no links", func(t *testing.T) {
		realLink := linkFile
		defer func() { linkFile = realLink }()
		linkFile = func(string, string) error {
			return &os.LinkError{Op: "link", Err: syscall.EPERM}
		}
		breakInLate(t)
	})
}

func breakInLate(t *testing.T) {
	path := filepath.Join(t.TempDir(), netLockName)
	if err := os.WriteFile(path, []byte("elsewhere 1 cafe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-staleAfter - time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	late, first := newNetLock(path, 0o600), newNetLock(path, 0o600)
	first.host, first.owner = "host-b", "host-b 2 beef\n"
	// late judges the stale lock abandoned, then is overtaken: first
	// breaks in and takes the lock before late renames the file.
	judged, ok := late.abandoned()
	if !ok {
		t.Fatal("a stale lock of another host was not judged abandoned")
	}
	first.try()
	if ok, err := first.try(); !ok || err != nil {
		t.Fatalf("first did not take the broken lock: %v %v", ok, err)
	}
	late.breakIn(judged)
	if b, err := os.ReadFile(path); err != nil || string(b) != first.owner {
		t.Fatalf("the new holder's lock was broken: %q %v", b, err)
	}
	if ok, _ := late.try(); ok {
		t.Fatal("late took a held lock")
	}
	if err := first.release(); err != nil {
		t.Fatalf("the new holder's release: %v", err)
	}
	if m, _ := filepath.Glob(path + ".*"); len(m) != 0 {
		t.Fatalf("files left beside the lock: %v", m)
	}
}
