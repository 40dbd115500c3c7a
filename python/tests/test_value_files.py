"""Where value files live: "ab/<30 hex>-<crc32>.val" in 256 directories that
stay when they empty (no mkdir per set, no rmdir per delete), while names
of python-diskcache's deeper layout are still read, checked and tidied."""

import os
import re

import pytest

import diskcache_go
from diskcache_go.core import CorruptionError

NAME = re.compile(r'[0-9a-f]{2}/[0-9a-f]{30}-[0-9a-f]{8}\.val\Z')
BIG = b'v' * 50000  # over disk_min_file_size: a file of its own


def value_files(directory):
    return sorted(os.path.relpath(os.path.join(root, name), directory)
                  for root, _, names in os.walk(directory) for name in names if name.endswith('.val'))


def subdirectories(directory):
    return sorted(os.path.relpath(os.path.join(root, name), directory)
                  for root, dirs, _ in os.walk(directory) for name in dirs)


def test_value_files_live_in_directories_that_stay(tmp_path):
    directory = str(tmp_path / 'cache')
    with diskcache_go.Cache(directory) as cache:
        for i in range(6):
            cache.set(i, BIG + bytes([i]))
        names = value_files(directory)
        assert len(names) == 6 and all(NAME.match(name) for name in names), names
        dirs = subdirectories(directory)
        assert dirs == sorted({name.split('/')[0] for name in names})
        cache.set(0, BIG)              # an overwrite removes the old file
        assert len(value_files(directory)) == 6
        for i in range(6):
            assert cache.delete(i)
        assert value_files(directory) == []
        assert set(dirs) <= set(subdirectories(directory))
        # The kept directories are not litter to check().
        assert cache.check() == []
        cache.set('again', BIG)
        assert cache.get('again') == BIG


def test_check_verifies_the_checksum_in_the_name(tmp_path):
    directory = str(tmp_path / 'cache')
    with diskcache_go.Cache(directory) as cache:
        cache.set('k', BIG)
        (name,) = value_files(directory)
        path = os.path.join(directory, name)
        with open(path, 'r+b') as f:
            f.seek(100)
            f.write(b'X')
        with pytest.raises(CorruptionError):
            cache.get('k')
        assert any('checksum' in str(w.message) or 'damaged' in str(w.message) for w in cache.check())


class OldNames(diskcache_go.Disk):
    """The layout value files had before 2026-11-22 (python-diskcache's)."""

    def filename(self, key=None, value=None):
        hex_name = os.urandom(16).hex()
        name = os.path.join(hex_name[:2], hex_name[2:4], hex_name[4:] + '.val')
        return name, os.path.join(self._directory, name)


def test_old_names_are_read_checked_and_their_directories_removed(tmp_path):
    directory = str(tmp_path / 'cache')
    with diskcache_go.Cache(directory, disk=OldNames) as cache:
        cache.set('k', BIG)
        cache.set('t', BIG)
        names = value_files(directory)
        assert all(re.match(r'[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}-[0-9a-f]{8}\.val\Z', n) for n in names), names
        assert cache.get('k') == BIG and cache.get('t') == BIG
        # The name's checksum is checked: one damaged file, one refused key.
        with open(os.path.join(directory, names[0]), 'r+b') as f:
            f.write(b'X')
        damaged = [key for key in ('k', 't') if _raises_corruption(cache, key)]
        assert len(damaged) == 1
        for key in ('k', 't'):
            cache.delete(key)
        # Their two levels of directories went with them.
        assert value_files(directory) == [] and subdirectories(directory) == []
        assert cache.check() == []


def _raises_corruption(cache, key):
    try:
        cache.get(key)
    except CorruptionError:
        return True
    return False


@pytest.fixture
def fetches(monkeypatch):
    """Counts Disk.fetch calls: the general get path reads value files
    through it, the C get reads the plain ones itself."""
    calls = []
    original = diskcache_go.Disk.fetch

    def counting(self, mode, filename, value, read):
        calls.append(filename)
        return original(self, mode, filename, value, read)
    monkeypatch.setattr(diskcache_go.Disk, 'fetch', counting)
    return calls


def test_the_c_get_reads_plain_value_files_itself(tmp_path, fetches):
    # A directory name that is not ASCII: the path is built from bytes.
    directory = str(tmp_path / 'caché')
    big_list = list(range(20000))   # pickles to more than 32 KiB
    with diskcache_go.Cache(directory, statistics=True) as cache:
        cache.set('b', BIG)
        cache.set('p', big_list)
        cache.set('t', 'é' * 40000)  # text files take the general path
        assert len(value_files(directory)) == 3
        assert cache.get('b') == BIG
        assert cache.get('p') == big_list
        assert fetches == []
        assert cache.get('t') == 'é' * 40000
        assert len(fetches) == 1
        assert cache.stats() == (3, 0)  # each lookup counted once


def test_the_c_get_leaves_unusual_value_files_to_the_general_path(tmp_path, fetches):
    directory = str(tmp_path / 'cache')
    with diskcache_go.Cache(directory, disk=OldNames) as cache:
        cache.set('old', BIG)
    with diskcache_go.Cache(directory) as cache:
        cache.set('gone', BIG)
        cache.set('bad', BIG + b'!')
        names = {key: cache.get(key, read=True) for key in ('gone', 'bad')}
        for reader in names.values():
            reader.close()
        os.remove(names['gone'].name)
        with open(names['bad'].name, 'r+b') as f:
            f.write(b'X')
        del fetches[:]
        # A name of the older layout (checked there), a file removed under
        # the entry (the default, as python-diskcache returns), a damaged
        # file (refused there).
        assert cache.get('old') == BIG
        assert cache.get('gone', 'default') == 'default'
        with pytest.raises(CorruptionError):
            cache.get('bad')
        assert len(fetches) == 3
