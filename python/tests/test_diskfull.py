"""A full disk: clear errors, nothing stored is lost, no stray files, and
writes work again once there is room. Needs root to mount a small tmpfs."""

import errno
import os
import subprocess
import sys

import pytest

from conftest import load_impl

impl = load_impl()


@pytest.fixture
def small_fs(tmp_path):
    if not sys.platform.startswith('linux') or os.geteuid() != 0:
        pytest.skip('mounting a small tmpfs needs root on Linux')
    mount = tmp_path / 'mnt'
    mount.mkdir()
    result = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip('cannot mount tmpfs here: %s' % result.stderr.strip())
    try:
        yield mount
    finally:
        subprocess.run(['umount', '-l', str(mount)], check=False)


def stray_files(directory):
    """Files check() does not account for (value files of no entry)."""
    cache = impl.Cache(directory)
    try:
        return [str(w.message) for w in cache.check()]
    finally:
        cache.close()


@pytest.mark.parametrize('size', [200, 60000], ids=['inline', 'file'])
def test_disk_full(small_fs, size):
    directory = str(small_fs / 'cache')
    filler = small_fs / 'other-data'
    filler.write_bytes(b'\0' * (1 << 20))  # what fills disks: something else
    cache = impl.Cache(directory)
    stored = {}
    error = None
    for i in range(100000):
        value = (b'%08d' % i) * (size // 8)
        try:
            cache.set(i, value)
        except OSError as exc:  # StorageFullError is an OSError too
            error = exc
            break
        stored[i] = value
    assert error is not None, 'the filesystem never filled up'
    assert error.errno == errno.ENOSPC, error
    assert len(stored) > 5
    # Everything stored before the failure is intact.
    for key, value in stored.items():
        assert cache.get(key) == value
    cache.close()
    assert stray_files(directory) == []
    # Once space is freed, writes work again, deletes too.
    filler.unlink()
    cache = impl.Cache(directory)
    for key in list(stored)[::2]:
        assert cache.delete(key)
        del stored[key]
    for i in range(3):
        cache.set(('after', i), b'x' * size)
    for key, value in stored.items():
        assert cache.get(key) == value
    cache.close()
    assert stray_files(directory) == []


def test_read_only_filesystem(small_fs):
    directory = str(small_fs / 'cache')
    cache = impl.Cache(directory)
    cache.set('small', 1)
    cache.set('big', b'b' * 100000)
    cache.set(('pickled', 1), {'a': 1})
    cache.close()
    result = subprocess.run(['mount', '-o', 'remount,ro', str(small_fs)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip('cannot remount read-only: %s' % result.stderr.strip())
    # Opening works and reads work (python-diskcache fails to open here,
    # because it writes its settings on open).
    cache = impl.Cache(directory)
    assert cache.get('small') == 1
    assert cache.get('big') == b'b' * 100000
    assert cache[('pickled', 1)] == {'a': 1}
    assert len(cache) == 3 and sorted(map(repr, cache)) == sorted(map(repr, ['small', 'big', ('pickled', 1)]))
    # Every write fails with a clear PermissionError/OSError, and loses nothing.
    for write in (lambda: cache.set('new', 1), lambda: cache.set('bigger', b'x' * 100000),
                  lambda: cache.delete('small'), lambda: cache.incr('n'), lambda: cache.clear()):
        with pytest.raises(OSError) as info:
            write()
        assert 'read-only' in str(info.value) or info.value.errno in (errno.EROFS, errno.EACCES)
    assert cache.get('small') == 1 and len(cache) == 3
    cache.close()
