"""A blocking, exclusive, whole-process lock on an open file descriptor.

The engine's own locks live in Go (gofrs/flock and the writer lock); this
serves the Python layer's rare long-held locks, such as the one-time import
of a python-diskcache directory. POSIX systems get ``flock``: released by
the kernel when the holder dies, so a killed importer never blocks the next
one. Windows has no ``fcntl``; ``msvcrt.locking`` takes a mandatory lock on
the file's first byte, which Windows also releases when the process exits.
"""

import errno
import os
import sys

if sys.platform == 'win32':
    import msvcrt
else:
    import fcntl

__all__ = ['lock_exclusive']


def lock_exclusive(fd):
    """Wait, however long it takes, until ``fd`` holds the exclusive lock.

    The lock goes with the descriptor: closing it releases the lock.
    """
    if sys.platform != 'win32':
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    os.lseek(fd, 0, os.SEEK_SET)
    while True:
        try:
            # LK_LOCK retries for about ten seconds, then raises EDEADLOCK
            # (EDEADLK): waiting longer is what the caller asked for.
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
            return
        except OSError as error:
            if error.errno not in (errno.EDEADLOCK, errno.EDEADLK, errno.EACCES):
                raise
