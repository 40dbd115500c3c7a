package core

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// netLock is network mode's lock between machines: the file
// "cache.dcg-netlock", created atomically (see try; flock may only lock
// within one client on these filesystems) and removed on release. It names
// its holder ("host pid nonce"), so a lock left by a process that died is
// broken: at once when the holder was on this host and is gone, after
// staleAfter without renewal when it was on another host (its death can not
// be seen from here). Network mode takes the flock as well, so local-mode
// processes on this machine exclude network-mode ones.
type netLock struct {
	path  string
	mode  os.FileMode
	host  string
	owner string // what this process writes into the lock file

	// The holder renews the lease (the file's modification time) while it
	// holds the lock, so a long transaction is not taken for a dead one by
	// another host. One goroutine per netLock does it, started with the
	// first lock taken and ended by close: starting and ending one per
	// lock made network mode's tests 3-4x slower (the wake-up of another
	// goroutine on every release). held says whether to renew.
	held               atomic.Bool
	renewing           sync.Once
	stopRenew, renewed chan struct{}
}

// staleAfter is how long another host's lock file must have gone without
// renewal to be broken: its holder renews it every renewEvery while it
// holds it, so only a holder that died, was stopped or lost the
// filesystem for that long loses the lock. Variables so that tests can
// shorten them.
var (
	staleAfter = 2 * time.Minute
	renewEvery = 20 * time.Second
)

// processNonce tells this process's locks from those of an earlier process
// that had the same pid.
var processNonce = func() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	return hex.EncodeToString(b[:])
}()

func newNetLock(path string, mode os.FileMode) *netLock {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	host = strings.ReplaceAll(host, " ", "_")
	return &netLock{path: path, mode: mode, host: host,
		owner: fmt.Sprintf("%s %d %s\n", host, os.Getpid(), processNonce)}
}

// try takes the lock if it is free (or abandoned). The lock file is
// written under a private name and then hard-linked into place (link fails
// if the name exists, atomically on NFS too), so it never exists without
// its holder's name in it; where links are not supported it is created
// with O_EXCL and written, and a file found empty is only broken after a
// while.
func (n *netLock) try() (bool, error) {
	got, err := n.tryLink()
	if errors.Is(err, errNoLinks) {
		got, err = n.tryExcl()
	}
	if got && err == nil {
		n.startRenewing()
	}
	if err != nil || got {
		return got, err
	}
	if judged, ok := n.abandoned(); ok {
		n.breakIn(judged)
	}
	return false, nil
}

var errNoLinks = errors.New("hard links not supported")

// linkFile and createExcl are os.Link and an O_EXCL create; tests replace
// them to produce what a network filesystem reports in a race.
var (
	linkFile   = os.Link
	createExcl = func(path string, mode os.FileMode) (*os.File, error) {
		return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	}
)

// lostRace reports whether err, from creating the lock file, means that
// another process created it first. SFTP version 3 (sshfs) has no status
// for "already exists": a create or link that loses the race between the
// kernel's lookup and the server's call comes back as EPERM. So EPERM
// while the lock file exists is a lost race, not a permission problem.
func (n *netLock) lostRace(err error) bool {
	if errors.Is(err, os.ErrExist) {
		return true
	}
	if !errors.Is(err, syscall.EPERM) {
		return false
	}
	_, serr := os.Lstat(n.path)
	return serr == nil
}

// linksRefused reports whether err, from a hard link, means the
// filesystem does not make them.
func linksRefused(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS)
}

func (n *netLock) tryLink() (bool, error) {
	tmp := fmt.Sprintf("%s.%d-%s", n.path, os.Getpid(), processNonce)
	if err := os.WriteFile(tmp, []byte(n.owner), n.mode); err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("lock %s: %w", n.path, mapErrno(err))
	}
	defer os.Remove(tmp)
	err := linkFile(tmp, n.path)
	switch {
	case err == nil:
		return true, nil
	case n.lostRace(err):
		return false, nil
	case linksRefused(err):
		return false, errNoLinks
	}
	return false, fmt.Errorf("lock %s: %w", n.path, mapErrno(err))
}

func (n *netLock) tryExcl() (bool, error) {
	f, err := createExcl(n.path, n.mode)
	if errors.Is(err, syscall.EPERM) && !n.lostRace(err) {
		// Lost a race to a holder that has released since? Once more:
		// a second EPERM with no lock file is a real refusal.
		f, err = createExcl(n.path, n.mode)
	}
	if err == nil {
		_, werr := f.WriteString(n.owner)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(n.path)
			return false, fmt.Errorf("lock %s: %w", n.path, mapErrno(werr))
		}
		return true, nil
	}
	if !n.lostRace(err) {
		return false, fmt.Errorf("lock %s: %w", n.path, mapErrno(err))
	}
	return false, nil
}

// abandoned reports whether the lock file's holder is gone, and the
// contents it judged by.
func (n *netLock) abandoned() ([]byte, bool) {
	st, err := os.Stat(n.path)
	if err != nil {
		return nil, false // released meanwhile: the next try takes it
	}
	age := time.Since(st.ModTime())
	b, err := os.ReadFile(n.path)
	if err != nil {
		return nil, false
	}
	fields := strings.Fields(string(b))
	if len(fields) != 3 {
		// Created but not yet written, or its creator died in between.
		return b, age > 10*time.Second
	}
	if fields[0] != n.host {
		return b, age > staleAfter
	}
	pid, err := strconv.Atoi(fields[1])
	if err != nil {
		return b, age > 10*time.Second
	}
	if pid == os.Getpid() {
		// This process's own lock (another handle) unless an earlier
		// process with the same pid left it.
		return b, fields[2] != processNonce
	}
	return b, processGone(pid)
}

// breakIn removes the abandoned lock file whose contents were judged.
// Renaming it first means two processes breaking in at once can not both
// remove it. But between the judgement and the rename, another process
// may have broken in and taken the lock itself: the file renamed is then
// that process's live lock, told by its contents, and is linked back.
func (n *netLock) breakIn(judged []byte) {
	aside := fmt.Sprintf("%s.broken-%d-%s", n.path, os.Getpid(), processNonce)
	if os.Rename(n.path, aside) != nil {
		return
	}
	if b, err := os.ReadFile(aside); err == nil && string(b) != string(judged) {
		// Someone's live lock: put it back. The link fails if a third
		// process took the free name in between, which the holder's
		// release then reports as a broken lock.
		err := linkFile(aside, n.path)
		if linksRefused(err) {
			// No hard links here: rename it back while the name is free.
			if _, serr := os.Lstat(n.path); errors.Is(serr, os.ErrNotExist) && os.Rename(aside, n.path) == nil {
				return
			}
		}
	}
	os.Remove(aside)
}

// startRenewing marks the lock held, starting the renewing goroutine the
// first time.
func (n *netLock) startRenewing() {
	n.held.Store(true)
	n.renewing.Do(func() {
		n.stopRenew, n.renewed = make(chan struct{}), make(chan struct{})
		go n.renew(renewEvery, n.stopRenew, n.renewed)
	})
}

// renew touches the lock file every tick while this process holds it. The
// time is the file server's (touchNow), as the creation time was, so a
// client whose clock is off does not make its lease look older or younger.
// A touch just after a release finds no file, or another holder's fresh
// one: neither is harmed.
func (n *netLock) renew(every time.Duration, stop, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if !n.held.Load() {
			continue
		}
		if b, err := os.ReadFile(n.path); err != nil || string(b) != n.owner {
			// Not this process's now: broken into (release reports it),
			// or renamed aside for a moment by a late break-in that puts
			// it back, so look again at the next tick.
			continue
		}
		// A failed touch is retried at the next tick; if the filesystem
		// stays unreachable for staleAfter, the lock may be broken and
		// release says so.
		touchNow(n.path)
	}
}

// close ends the renewing goroutine and waits for it; the netLock is not
// renewed after it (the cache is closing, or a test stands in for a
// holder that stopped).
func (n *netLock) close() {
	n.renewing.Do(func() {}) // none is started after this
	if n.stopRenew != nil {
		close(n.stopRenew)
		<-n.renewed
		n.stopRenew = nil
	}
}

// release removes the lock file if it is still this process's.
func (n *netLock) release() error {
	n.held.Store(false)
	b, err := os.ReadFile(n.path)
	if err != nil {
		return fmt.Errorf("unlock %s: %w", n.path, mapErrno(err))
	}
	if string(b) != n.owner {
		return fmt.Errorf("unlock %s: the lock was broken by another process (not renewed for %v?)", n.path, staleAfter)
	}
	if err := os.Remove(n.path); err != nil {
		return fmt.Errorf("unlock %s: %w", n.path, mapErrno(err))
	}
	return nil
}
