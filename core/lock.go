package core

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// writerLock serialises writers: a channel semaphore between the threads of
// this process, then an exclusive flock on the lock file between processes.
// The descriptor stays open for the life of the cache: gofrs/flock closes its
// descriptor on every Unlock, which would add an open and a close to every
// write.
// The kernel drops the flock when its holder dies, which is what makes
// kill -9 safe: the next writer finds the journal and rolls it back.
//
// The lock is reentrant per owner (the Python layer passes its thread id), so
// write calls made inside a transaction by the thread that opened it run in
// that transaction, as python-diskcache's transact() does.
type writerLock struct {
	sem    chan struct{}
	f      *os.File
	mu     sync.Mutex // guards holder and depth
	holder uint64
	depth  int
	net    *netLock // network mode's lock file, taken after the flock
	// closing is closed by Cache.Close: writers still waiting for the lock
	// give up with ErrClosed, because Close waits for every call in flight
	// before it can roll back a transaction left open, and that transaction
	// is what they wait for.
	closing chan struct{}
}

func newWriterLock(f *os.File) *writerLock {
	return &writerLock{sem: make(chan struct{}, 1), f: f, closing: make(chan struct{})}
}

// acquire takes the lock for owner. It returns the new depth: 1 when the
// lock was just taken, more when owner already held it. A negative timeout
// waits forever.
func (l *writerLock) acquire(owner uint64, timeout time.Duration) (int, error) {
	l.mu.Lock()
	if l.depth > 0 && l.holder == owner {
		l.depth++
		d := l.depth
		l.mu.Unlock()
		return d, nil
	}
	l.mu.Unlock()

	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	if err := l.takeSem(timeout); err != nil {
		return 0, err
	}
	if err := l.takeFlock(deadline, timeout < 0); err != nil {
		<-l.sem
		return 0, err
	}
	l.mu.Lock()
	l.holder, l.depth = owner, 1
	l.mu.Unlock()
	return 1, nil
}

func (l *writerLock) takeSem(timeout time.Duration) error {
	select {
	case l.sem <- struct{}{}:
		return nil
	default:
	}
	if timeout == 0 {
		return ErrTimeout
	}
	var expired <-chan time.Time // nil: never fires
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-expired:
		return ErrTimeout
	case <-l.closing:
		return ErrClosed
	}
}

// takeFlock polls a non-blocking flock: a blocking flock can not be given a
// timeout without signals. The backoff stays short because writers hold the
// lock for microseconds.
func (l *writerLock) takeFlock(deadline time.Time, forever bool) error {
	wait := 20 * time.Microsecond
	for {
		ok, err := l.tryBoth()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if !forever && !time.Now().Before(deadline) {
			return ErrTimeout
		}
		select {
		case <-l.closing:
			return ErrClosed
		default:
		}
		time.Sleep(wait)
		if wait < 2*time.Millisecond {
			wait *= 2
		}
	}
}

// tryBoth takes the flock and, in network mode, the lock file, or neither.
func (l *writerLock) tryBoth() (bool, error) {
	ok, err := tryFlock(l.f)
	if err != nil {
		if l.net == nil || !flockUnsupported(err) {
			return false, fmt.Errorf("lock %s: %w", l.f.Name(), mapErrno(err))
		}
		// Some network filesystems refuse flock (NFS mounted nolock);
		// the lock file alone excludes the other processes.
		ok = true
	}
	if !ok || l.net == nil {
		return ok, nil
	}
	got, err := l.net.try()
	if err != nil || !got {
		unFlock(l.f)
	}
	return got, err
}

// tryAcquire takes the lock without waiting; used by readers that suspect a
// dead writer.
func (l *writerLock) tryAcquire(owner uint64) bool {
	select {
	case l.sem <- struct{}{}:
	default:
		return false
	}
	ok, err := l.tryBoth()
	if err != nil || !ok {
		<-l.sem
		return false
	}
	l.mu.Lock()
	l.holder, l.depth = owner, 1
	l.mu.Unlock()
	return true
}

// leave drops one level of owner's hold and reports whether it was the last.
func (l *writerLock) leave(owner uint64) (last bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.depth == 0 || l.holder != owner {
		return false, ErrNotOwner
	}
	l.depth--
	return l.depth == 0, nil
}

// release unlocks after the last leave.
func (l *writerLock) release() error {
	err := l.releaseKeepSem()
	<-l.sem
	return err
}

// releaseKeepSem is release without giving back the in-process semaphore,
// for a caller that took it itself and gives it back itself.
func (l *writerLock) releaseKeepSem() error {
	l.mu.Lock()
	l.holder, l.depth = 0, 0
	l.mu.Unlock()
	var err error
	if l.net != nil {
		err = l.net.release()
	}
	if uerr := unFlock(l.f); err == nil && (l.net == nil || !flockUnsupported(uerr)) {
		err = uerr
	}
	return err
}
