"""Byte flips in every kind of file a cache writes.

Each trial copies a prepared cache, flips a few random bytes in one file
(the index, the journal, a record segment, a value file or the settings
file) and then checks what the issue asks of a damaged cache:

- opening either works or raises CorruptionError (a damaged index header
  is replaced by an empty index, with a CorruptionWarning);
- ``get`` of every key returns the stored value, misses, or raises
  CorruptionError, and never returns another value (keys never stored
  never come back with anything);
- nothing crashes the process;
- ``check(fix=True)`` (twice: like python-diskcache, the second pass removes
  directories the first emptied) leaves a cache ``check()`` finds clean,
  whose entries all read back correctly and whose ``len`` matches them.

DISKCACHE_GO_CORRUPTION_TRIALS sets the number of trials (default 2000).
"""

import glob
import os
import os.path as op
import random
import shutil
import warnings

import pytest

import diskcache_go
from diskcache_go.core import CorruptionError, CorruptionWarning

TRIALS = int(os.environ.get('DISKCACHE_GO_CORRUPTION_TRIALS', '2000'))
MISSING = object()
KINDS = ('index', 'journal', 'segment', 'value', 'settings')


def expected_items():
    """Keys and values of every kind of storage: inline records of each
    type, pickles, and value files of bytes, text and pickles."""
    items = {}
    for i in range(12):
        items['small-%d' % i] = b'v%d' % i * (i + 1)
        items[i] = 'text %d' % i
        items[('tuple', i)] = {'n': i, 'list': list(range(i))}
        items['float-%d' % i] = i / 7
    for i in range(4):
        items['file-bytes-%d' % i] = bytes([i]) * (3000 + i)
        items['file-text-%d' % i] = 'line %d\n' % i * 500
        items['file-pickle-%d' % i] = [('x', i)] * 400
    return items


@pytest.fixture(scope='module')
def pristine(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp('corruption') / 'pristine')
    items = expected_items()
    cache = diskcache_go.Cache(directory, disk_min_file_size=2048)
    for n, (key, value) in enumerate(items.items()):
        cache.set(key, value, tag='t%d' % (n % 3), expire=10**9)
    # Leave a used journal and dead records behind, as real use does.
    with cache.transact():
        cache.set('gone', b'x' * 100)
        cache.delete('gone')
    cache.close()
    return directory, items


def files_of(directory):
    kinds = {
        'index': [op.join(directory, 'cache.dcg')],
        'journal': [op.join(directory, 'cache.dcg-journal')],
        'segment': sorted(glob.glob(op.join(directory, 'cache.dcg-*.seg'))),
        'value': sorted(glob.glob(op.join(directory, '**', '*.val'), recursive=True)),
        'settings': [op.join(directory, 'cache.dcg-settings')],
    }
    for kind, paths in kinds.items():
        assert paths and all(op.getsize(p) > 0 for p in paths), kind
    return kinds


def flip(path, rng):
    """Flip 1 to 4 random bytes of the file; returns the offsets."""
    size = op.getsize(path)
    offsets = sorted(rng.randrange(size) for _ in range(rng.randint(1, 4)))
    with open(path, 'r+b') as f:
        for off in offsets:
            f.seek(off)
            byte = f.read(1)[0]
            f.seek(off)
            f.write(bytes([byte ^ (1 << rng.randrange(8))]))
    return offsets


def read_all(cache, items, allow_corruption):
    """Every stored key gives its value or a miss (or CorruptionError when
    allowed); a key never stored gives nothing."""
    found = 0
    for key, value in items.items():
        try:
            got = cache.get(key, default=MISSING)
        except CorruptionError:
            assert allow_corruption, 'CorruptionError for %r after check(fix=True)' % (key,)
            continue
        if got is MISSING:
            continue
        assert got == value, 'wrong value for %r: %r' % (key, got)
        found += 1
    for key in ('never-stored', 12345, ('tuple', 99)):
        try:
            got = cache.get(key, default=MISSING)
        except CorruptionError:
            assert allow_corruption
            continue
        assert got is MISSING, 'a key never stored returned %r' % (got,)
    return found


def trial(pristine_dir, items, work, rng, stats):
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine_dir, work)
    files = files_of(work)
    kind = rng.choice(KINDS)
    path = rng.choice(files[kind])
    offsets = flip(path, rng)
    where = '%s %s at %s' % (kind, op.basename(path), offsets)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            cache = diskcache_go.Cache(work, disk_min_file_size=2048)
        except CorruptionError:
            stats['open refused'] += 1
            # Only a damaged format version is refused (it could be a
            # newer release's index); everything else must open.
            assert kind == 'index' and any(8 <= off < 16 for off in offsets), where
            return
        try:
            read_all(cache, items, True)
            stats['last'] = where
            cache.check(fix=True)
            cache.check(fix=True)
            left = cache.check()
            assert not left, '%s: check() after fix: %s' % (where, [str(w.message) for w in left])
            found = read_all(cache, items, False)
            assert len(cache) == found == len(list(cache)), where
            stats['entries kept'] += found
        finally:
            cache.close()
    if any(issubclass(w.category, CorruptionWarning) for w in caught):
        stats['reset or settings warning'] += 1
    stats[kind] += 1


def test_byte_flips_in_every_file_kind(pristine, tmp_path):
    directory, items = pristine
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    stats = {kind: 0 for kind in KINDS}
    stats.update({'open refused': 0, 'reset or settings warning': 0, 'entries kept': 0})
    work = str(tmp_path / 'work')
    for n in range(TRIALS):
        try:
            trial(directory, items, work, rng, stats)
        except AssertionError as error:
            raise AssertionError('trial %d (seed %d): %s' % (n, seed, error)) from None
        except diskcache_go.core.Error as error:
            raise AssertionError('trial %d (seed %d, %s): %s' % (n, seed, stats.get('last'), error)) from None
    stats.pop('last', None)
    print('\ncorruption trials: %d (seed %d): %s' % (TRIALS, seed, stats))
    assert sum(stats[kind] for kind in KINDS) + stats['open refused'] == TRIALS


def test_damaged_header_is_rebuilt_in_place(pristine, tmp_path):
    """A flip in the index's checksummed state block: the cache opens with a
    CorruptionWarning that says how many entries came back, every entry
    back, in the same file (a process that had it open sees the rebuilt
    index), and check() finds nothing left to fix."""
    directory, items = pristine
    work = str(tmp_path / 'work')
    shutil.copytree(directory, work)
    other = diskcache_go.Cache(work, disk_min_file_size=2048)
    assert other.get('small-3') == items['small-3']
    index = op.join(work, 'cache.dcg')
    inode = os.stat(index).st_ino
    with open(index, 'r+b') as f:
        f.seek(200)  # the size counter, inside the state block
        byte = f.read(1)[0]
        f.seek(200)
        f.write(bytes([byte ^ 0x10]))
    with pytest.warns(CorruptionWarning, match='%d entries came back' % len(items)):
        cache = diskcache_go.Cache(work, disk_min_file_size=2048)
    assert os.stat(index).st_ino == inode
    assert len(cache) == len(items) == len(other)
    assert read_all(cache, items, False) == len(items)
    assert read_all(other, items, False) == len(items)
    assert cache.check() == []
    cache.set('after', b'works')
    assert other.get('after') == b'works'
    other.close()
    cache.close()


@pytest.mark.parametrize('damage', ['removed', 'emptied', 'half', 'magic'])
def test_lost_index_comes_back_from_the_segments(pristine, tmp_path, damage):
    """The index file removed, emptied, cut in half or without its magic:
    every entry comes back from the segments, announced by a
    CorruptionWarning, and check() calls none of the engine's files
    unknown (check(fix=True) deleted them all before 2026-12-06)."""
    directory, items = pristine
    work = str(tmp_path / 'work')
    shutil.copytree(directory, work)
    index = op.join(work, 'cache.dcg')
    if damage == 'removed':
        os.remove(index)
    elif damage == 'emptied':
        os.truncate(index, 0)
    elif damage == 'half':
        os.truncate(index, op.getsize(index) // 2)
    else:
        with open(index, 'r+b') as f:
            f.write(b'XXXXXXXX')
    with pytest.warns(CorruptionWarning, match='rebuilt from'):
        cache = diskcache_go.Cache(work, disk_min_file_size=2048)
    try:
        assert read_all(cache, items, False) == len(items) == len(cache)
        assert 'gone' not in cache  # set and deleted in a transaction
        warns = cache.check(fix=True)
        assert not [w for w in warns if 'unknown' in str(w.message)], [str(w.message) for w in warns]
        assert read_all(cache, items, False) == len(items)
    finally:
        cache.close()


def test_check_fix_moves_unknown_files_aside(pristine, tmp_path):
    """check(fix=True) reports a file it does not know and moves it into the
    quarantine folder instead of deleting it; the engine's own files stay."""
    directory, items = pristine
    work = str(tmp_path / 'work')
    shutil.copytree(directory, work)
    stray = op.join(work, 'ab', 'notes.txt')
    os.makedirs(op.dirname(stray), exist_ok=True)
    with open(stray, 'w') as f:
        f.write('mine')
    with diskcache_go.Cache(work, disk_min_file_size=2048) as cache:
        warns = cache.check(fix=True)
        assert any('notes.txt' in str(w.message) for w in warns)
        assert not op.exists(stray)
        with open(op.join(work, 'quarantine', 'notes.txt')) as f:
            assert f.read() == 'mine'
        assert cache.check() == []
        assert read_all(cache, items, False) == len(items)
