package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/flock"
)

// FileLock is an exclusive lock on a named file between processes, for
// locks taken rarely and held for long (the Python layer's import of a
// python-diskcache directory holds one for the whole import). It is
// github.com/gofrs/flock's lock: flock(2) on unix, LockFileEx on Windows,
// released by the system when its holder dies. The writer lock, taken on
// every write, keeps its descriptor open instead (flock_unix.go says why).
type FileLock struct {
	fl *flock.Flock
}

// fileLockPoll is how often LockFile tries again while another process
// holds the lock: such locks are held for seconds, not microseconds.
const fileLockPoll = 10 * time.Millisecond

// LockFile takes the exclusive lock on path, creating the file (mode
// 0o600 when it is new) if it is missing. It waits up to timeout for
// another holder to let go (negative: forever) and returns ErrTimeout if
// none did. The lock is not reentrant: a second LockFile on the same path
// waits for the first Unlock, even in the same process.
func LockFile(path string, timeout time.Duration) (*FileLock, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty lock file path", ErrInvalid)
	}
	fl := flock.New(path)
	if timeout < 0 {
		if err := fl.Lock(); err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, mapErrno(err))
		}
		return &FileLock{fl: fl}, nil
	}
	// One try first: TryLockContext gives up before trying at all when
	// its context has already expired, as a zero timeout's has.
	ok, err := fl.TryLock()
	if !ok && err == nil && timeout > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		ok, err = fl.TryLockContext(ctx, fileLockPoll)
	}
	switch {
	case ok:
		return &FileLock{fl: fl}, nil
	case err == nil, errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("lock %s: %w", path, ErrTimeout)
	}
	return nil, fmt.Errorf("lock %s: %w", path, mapErrno(err))
}

// Unlock releases the lock and closes its file; the file stays.
func (l *FileLock) Unlock() error {
	if err := l.fl.Unlock(); err != nil {
		return fmt.Errorf("unlock %s: %w", l.fl.Path(), mapErrno(err))
	}
	return nil
}
