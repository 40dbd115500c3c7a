"""Per-thread state of one call, which aio.py sets while it runs a method
on the event loop's thread ("inline").

An inline call must never wait: the event loop would stall with it. While
``STATE.inline`` is true, the engine plumbing in _cache.py asks for the
writer lock with a timeout of one attempt (`INLINE_TIMEOUT`), asks reads
not to wait (the engine's NoWait flag), and reports either case by raising
`WouldWait` instead of `Timeout`; aio.py then runs the whole call again in
a worker thread, where waiting is harmless. `WouldWait` is raised before
the call has changed anything (the lock is the first thing a write takes),
which is what makes the second run safe.
"""

import threading

__all__ = ['STATE', 'WouldWait', 'INLINE_TIMEOUT', 'inline', 'timeout_error']

# One attempt at the lock: the engine treats 0 as "its default", so the
# smallest positive duration, which its lock turns into a single try.
INLINE_TIMEOUT = 1e-9


class WouldWait(Exception):
    """An inline call found that it would have to wait (a writer lock held
    elsewhere, or a read that must wait); nothing was changed."""


class _State(threading.local):
    # Class attribute: the default every thread sees until it sets its own.
    inline = False


STATE = _State()


class inline:
    """Context manager marking the calling thread's calls as inline."""

    __slots__ = ('_outer',)

    def __enter__(self):
        self._outer = STATE.inline
        STATE.inline = True
        return self

    def __exit__(self, *exc_info):
        STATE.inline = self._outer
        return False


def timeout_error(what=None):
    """The exception for a lock not taken in time: `WouldWait` inline,
    else core's ``Timeout`` (with ``what`` as its argument if given)."""
    if STATE.inline:
        return WouldWait()
    from .core import Timeout

    return Timeout() if what is None else Timeout(what)
