"""Helpers shared by test_processes.py, test_crash.py, test_fork.py and the
worker scripts in this directory.

This is deliberately not conftest.py: the multi-process tests need the same
helpers inside child processes, which import this module by name (the
``workers`` directory is put on ``sys.path`` by the tests and propagated to
every child).
"""

import hashlib
import importlib
import os
import pickle
import select
import signal
import sys
import time

IMPL_ENV = 'DISKCACHE_GO_TEST_IMPL'
DEFAULT_IMPL = 'diskcache_go'

WORKERS_DIR = os.path.dirname(os.path.abspath(__file__))

VALUE_TAG = 'DCG1'


def impl_name():
    """Name of the module under test (the same rule as conftest.py)."""
    return os.environ.get(IMPL_ENV, DEFAULT_IMPL)


def load_impl(name=None):
    return importlib.import_module(name or impl_name())


def ensure_workers_on_path():
    if WORKERS_DIR not in sys.path:
        sys.path.insert(0, WORKERS_DIR)


def child_env(extra=None):
    """Environment for a plain subprocess: the parent's sys.path (which
    contains the PYTHONPATH entries, the in-tree package and this directory)
    becomes PYTHONPATH, so the child imports exactly what the parent does."""
    env = dict(os.environ)
    entries = [WORKERS_DIR]
    for entry in sys.path:
        if not entry:
            entry = os.getcwd()
        entry = os.path.abspath(entry)
        if os.path.isdir(entry) and entry not in entries:
            entries.append(entry)
    env['PYTHONPATH'] = os.pathsep.join(entries)
    env[IMPL_ENV] = impl_name()
    env['PYTHONDONTWRITEBYTECODE'] = '1'
    if extra:
        env.update(extra)
    return env


# --------------------------------------------------------------------------
# Self-validating values.
#
# A value identifies the key (by index into the test's key list), the writer
# id and the writer's sequence number, and carries a hash of its payload, so
# a torn, truncated, mixed-up or stale-file value is detected on read.
# Three encodings exercise the three storage modes of the Disk (bytes ->
# MODE_RAW/BINARY, str -> TEXT, tuple -> PICKLE); large ones are file-backed.
# --------------------------------------------------------------------------


def _digest(payload):
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def make_value(kind, key_index, wid, seq, payload):
    digest = _digest(payload)
    if kind == 'bytes':
        head = '%s|%d|%d|%d|%s|' % (VALUE_TAG, key_index, wid, seq, digest)
        return head.encode('ascii') + payload
    if kind == 'str':
        head = '%s|%d|%d|%d|%s|' % (VALUE_TAG, key_index, wid, seq, digest)
        return head + payload.hex()
    if kind == 'pickle':
        return (VALUE_TAG, key_index, wid, seq, digest, payload)
    raise ValueError(kind)


def random_value(rng, key_index, wid, seq, large_fraction=0.3,
                 max_size=100 * 1024):
    """A random self-validating value: ~``large_fraction`` of them are at
    least 32 KiB (file-backed with the default ``disk_min_file_size``), the
    rest are small, some empty."""
    roll = rng.random()
    if roll < 0.05:
        size = 0
    elif roll < 1 - large_fraction:
        size = rng.randrange(0, 4096)
    else:
        size = rng.randrange(33 * 1024, max_size)
    kind = rng.choice(('bytes', 'bytes', 'str', 'pickle'))
    if kind == 'str':
        size //= 2  # hex doubles the length
    payload = rng.randbytes(size)
    return make_value(kind, key_index, wid, seq, payload)


class BadValue(AssertionError):
    pass


def parse_value(value, key_index=None):
    """Validate a value written by :func:`make_value`; return ``(wid, seq)``.

    Raises :class:`BadValue` if the value is torn or belongs to another key.
    """
    if isinstance(value, tuple):
        if len(value) != 6 or value[0] != VALUE_TAG:
            raise BadValue('bad pickled value: %r' % (value[:5],))
        _tag, kidx, wid, seq, digest, payload = value
        if not isinstance(payload, bytes):
            raise BadValue('bad pickled payload type %r' % type(payload))
    elif isinstance(value, (bytes, str)):
        sep = b'|' if isinstance(value, bytes) else '|'
        parts = value.split(sep, 5)
        if len(parts) != 6:
            raise BadValue('malformed value (%d bytes): %r...'
                           % (len(value), value[:80]))
        if isinstance(value, bytes):
            try:
                parts[:5] = [p.decode('ascii') for p in parts[:5]]
            except UnicodeDecodeError:
                raise BadValue('malformed header: %r' % (value[:80],))
        tag, kidx, wid, seq, digest, payload = parts
        if tag != VALUE_TAG:
            raise BadValue('bad tag: %r' % (value[:80],))
        try:
            kidx, wid, seq = int(kidx), int(wid), int(seq)
            if isinstance(payload, str):
                payload = bytes.fromhex(payload)
        except ValueError:
            raise BadValue('malformed value: %r...' % (value[:80],))
    else:
        raise BadValue('unexpected value type %r: %r'
                       % (type(value).__name__, value))
    if _digest(payload) != digest:
        raise BadValue(
            'torn value: key %s writer %s seq %s: hash of %d-byte payload '
            'does not match' % (kidx, wid, seq, len(payload)))
    if key_index is not None and kidx != key_index:
        raise BadValue('value for key #%d found under key #%d (writer %d '
                       'seq %d)' % (kidx, key_index, wid, seq))
    return wid, seq


# --------------------------------------------------------------------------
# Waiting with timeouts.
# --------------------------------------------------------------------------


def kill_pid(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def waitpid_timeout(pid, timeout):
    """Wait for a forked child; return its raw status, or ``None`` (after
    SIGKILLing and reaping it) if it did not exit within ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            kill_pid(pid)
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def read_fd_until_eof(fd, timeout):
    """Read everything from ``fd`` until EOF; return ``(data, eof_reached)``.
    Gives up after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b''.join(chunks), False
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b''.join(chunks), True
        chunks.append(chunk)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def dump_result(path, obj):
    """Atomically write a pickled result file."""
    tmp = '%s.tmp.%d' % (path, os.getpid())
    with open(tmp, 'wb') as f:
        pickle.dump(obj, f)
    os.replace(tmp, path)


def load_result(path):
    with open(path, 'rb') as f:
        return pickle.load(f)
