"""A full disk: clear errors, nothing stored is lost, no stray files, and
writes work again once there is room. Needs root to mount a small tmpfs."""

import errno
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

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


PERMISSION_CHILD = r'''
import errno, os, sys, json
import diskcache_go  # first: the interpreter's own files may be root's only
uid = int(sys.argv[2])
if uid >= 0:
    os.setgid(uid)
    os.setuid(uid)
out = {}
try:
    cache = diskcache_go.Cache(sys.argv[1])
except PermissionError as error:
    out['open'] = ['PermissionError', error.errno, str(error)]
else:
    out['open'] = 'ok'
    out['read'] = [cache.get('small'), cache.get('big') == b'b' * 100000, len(cache)]
    out['writes'] = []
    for name, write in (('set', lambda: cache.set('new', 1)), ('big', lambda: cache.set('x', b'x' * 100000)),
                        ('delete', lambda: cache.delete('small')), ('clear', lambda: cache.clear())):
        try:
            write()
            out['writes'].append([name, 'succeeded'])
        except OSError as error:
            out['writes'].append([name, type(error).__name__, error.errno])
    out['after'] = [cache.get('small'), len(cache)]
print(json.dumps(out))
'''


def run_unprivileged(directory):
    """Run PERMISSION_CHILD as a user that does not own the cache: nobody
    when the tests run as root (which ignores permissions), else this user
    after the caller removed its own rights."""
    uid = 65534 if os.geteuid() == 0 else -1
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, '-c', PERMISSION_CHILD, directory, str(uid)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def world_dir():
    """A directory other users can reach (pytest's base is root's only)."""
    path = tempfile.mkdtemp(prefix='dcg-perm-')
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


def test_permission_denied_is_clear_and_loses_nothing(world_dir):
    if os.geteuid() != 0:
        pytest.skip('needs root to run a child as another user')
    tmp_path = world_dir
    # A private cache (the default 0700/0600): another user can not open it.
    private = str(tmp_path / 'private')
    with impl.Cache(private) as cache:
        cache.set('small', 1)
    out = run_unprivileged(private)
    assert out['open'][0] == 'PermissionError' and out['open'][1] == errno.EACCES, out
    # A cache shared read-only (0755/0644): the other user reads it, and
    # every write raises PermissionError, changing nothing.
    shared = str(tmp_path / 'shared')
    with impl.Cache(shared, disk_dir_mode=0o755, disk_file_mode=0o644) as cache:
        cache.set('small', 1)
        cache.set('big', b'b' * 100000)
    out = run_unprivileged(shared)
    assert out['open'] == 'ok' and out['read'] == [1, True, 2], out
    assert all(w[1] == 'PermissionError' and w[2] in (errno.EACCES, errno.EPERM) for w in out['writes']), out
    assert out['after'] == [1, 2]
    with impl.Cache(shared) as cache:
        assert cache.get('small') == 1 and len(cache) == 2 and cache.check() == []
