"""The fsync setting: how it is chosen, persisted and shared, and that value
files are synced. (Mode checks force network_mode='local': on a network
filesystem, or with DISKCACHE_GO_NETWORK_MODE=network, the mode is network
whatever fsync says.) The power-loss proof itself is the Go test
core/powerloss_test.go (it needs to see every write the engine makes)."""

import os
import subprocess
import sys
import textwrap

import pytest

import diskcache_go
from diskcache_go import core

ORDERED = 1  # DCG_MODE_ORDERED


def engine_mode(cache):
    return cache._mode() & core._MODE_MASK


def test_fsync_setting_opens_ordered_mode_and_is_persisted(tmp_path):
    directory = str(tmp_path / 'c')
    with diskcache_go.Cache(directory, fsync=True, network_mode='local') as cache:
        assert engine_mode(cache) == ORDERED
        assert cache.fsync is True
        cache['k'] = b'v'
    # Another opener inherits it, so every writer syncs.
    with diskcache_go.Cache(directory, network_mode='local') as cache:
        assert engine_mode(cache) == ORDERED
        assert cache['k'] == b'v'
        cache.reset('fsync', False)
    with diskcache_go.Cache(directory, network_mode='local') as cache:
        assert engine_mode(cache) == 0


@pytest.mark.parametrize('level, ordered', [(0, False), (1, False), (2, True), (3, True)])
def test_sqlite_synchronous_full_means_fsync(tmp_path, level, ordered):
    with diskcache_go.Cache(str(tmp_path / 'c'), sqlite_synchronous=level, network_mode='local') as cache:
        assert (engine_mode(cache) == ORDERED) is ordered


def test_reset_reopens_with_the_new_mode(tmp_path):
    with diskcache_go.Cache(str(tmp_path / 'c'), network_mode='local') as cache:
        cache['a'] = 1
        assert engine_mode(cache) == 0
        cache.reset('fsync', True)
        assert engine_mode(cache) == ORDERED
        assert cache['a'] == 1
        cache['b'] = 2
        assert cache['b'] == 2


def test_value_files_are_synced_with_their_directories(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, 'fsync', lambda fd: (synced.append(fd), real(fd))[1])
    with diskcache_go.Cache(str(tmp_path / 'plain')) as cache:
        cache['big'] = b'x' * 100000
    assert synced == []
    with diskcache_go.Cache(str(tmp_path / 'durable'), fsync=True) as cache:
        cache['big'] = b'x' * 100000
        assert cache['big'] == b'x' * 100000
    # The file, its directory and the cache directory.
    assert len(synced) >= 3


def test_fsync_writer_and_plain_reader_in_other_processes(tmp_path):
    directory = str(tmp_path / 'c')
    child = textwrap.dedent('''
        import sys
        import diskcache_go
        with diskcache_go.Cache(sys.argv[1], fsync=True) as cache:
            for i in range(200):
                cache.set(i, b'v%d' % i * (i % 50 + 1))
                if i % 3 == 0:
                    cache.incr('n')
            cache.set('file', b'f' * 50000)
    ''')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, '-c', child, directory], check=True, env=env, timeout=120)
    with diskcache_go.Cache(directory, fsync=False) as cache:
        assert all(cache[i] == b'v%d' % i * (i % 50 + 1) for i in range(200))
        assert cache['n'] == 67 and cache['file'] == b'f' * 50000
        assert cache.check() == []
