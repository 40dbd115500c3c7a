"""Migration of python-diskcache directories (diskcache_go.migrate).

The sources are made by the real ``diskcache`` 5.6.3 package; every item is
checked in the destination: key, insertion order, value and its type, stored
form (raw or pickled, inline or file), remaining expiry and tag.
"""

import hashlib
import io
import json
import math
import os
import pickle
import shutil
import sqlite3
import sys
import time
import types

import diskcache
import pytest

import diskcache_go
from diskcache_go import cli
from diskcache_go.migrate import MigrationError, MigrationSummary, migrate

N_ITEMS = 100_000
BIG = 40_000  # > disk_min_file_size (32 KiB): file-backed


# -- the big mixed source ------------------------------------------------------


def make_key(i):
    kind = i % 5
    if kind == 0:
        return i
    if kind == 1:
        return i + 0.5
    if kind == 2:
        return 'key-%d' % i if i % 7 else 'ключ-%d' % i
    if kind == 3:
        return b'key-%d' % i
    if i % 20 == 4:
        return ('t', i, None)
    if i % 20 == 9:
        return 2**70 + i  # outside int64: pickled
    if i % 20 == 14:
        return (i % 2 == 0, 'x', i)
    return ('t', i)


def make_value(i):
    if i % 500 == 7:
        return bytes([i % 256]) * BIG + b'%d' % i  # MODE_BINARY file
    if i % 500 == 107:
        return ('text %d\n' % i) * (BIG // 8)  # MODE_TEXT file
    if i % 500 == 207:
        return list(range(i, i + BIG // 2))  # MODE_PICKLE file
    kind = i % 9
    if kind == 0:
        return i * 3
    if kind == 1:
        return i / 7
    if kind == 2:
        return 'value-%d' % i
    if kind == 3:
        return b'\x00\xff\r\n%d' % i
    if kind == 4:
        return [i, 'x', {'y': i}]
    if kind == 5:
        return {'i': i, 'b': b'z'}
    if kind == 6:
        return None
    if kind == 7:
        return i % 2 == 0  # bool: pickled
    return (i, 2**80)


def make_expire(i):
    if i % 17 == 0:
        return -10.0  # already expired
    if i % 13 == 0:
        return 3600.0 + i % 100
    return None


def make_tag(i):
    return (None, 'tag-a', i % 4, b'tag-b', 1.5)[i % 5] if i % 3 else None


def is_file_value(i):
    return i % 500 in (7, 107, 207)


def tree_digest(root):
    """path -> sha256 of every file below ``root`` (and every directory)."""
    digest = {}
    for dirpath, dirnames, filenames in os.walk(root):
        digest[os.path.relpath(dirpath, root) + '/'] = None
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as f:
                digest[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return digest


@pytest.fixture(scope='module')
def big_source(tmp_path_factory):
    src = str(tmp_path_factory.mktemp('big') / 'src')
    # cull_limit 0 while filling, so the expired items stay in the table.
    cache = diskcache.Cache(src, cull_limit=0, statistics=1, custom_setting='kept')
    with cache.transact():
        for i in range(N_ITEMS):
            cache.set(make_key(i), make_value(i), expire=make_expire(i), tag=make_tag(i))
    cache.reset('cull_limit', 7)
    cache.get(make_key(1))
    cache.get('missing')
    assert len(cache) == N_ITEMS
    cache.close()
    return src


@pytest.fixture(scope='module')
def big_migrated(big_source, tmp_path_factory):
    dst = str(tmp_path_factory.mktemp('bigdst') / 'dst')
    before = tree_digest(big_source)
    started = time.time()
    summary = migrate(big_source, dst)
    elapsed = time.time() - started
    after = tree_digest(big_source)
    with diskcache_go.Cache(dst) as cache:
        # Counters start afresh (the source had hits and misses).
        assert (cache.reset('hits'), cache.reset('misses')) == (0, 0)
    return dst, summary, before, after, elapsed


class RawDisk(diskcache_go.Disk):
    """Fetches the stored form instead of the value."""

    def fetch(self, mode, filename, value, read):
        return mode, filename is not None, value


def source_rows(src):
    uri = 'file:%s?mode=ro&immutable=1' % os.path.join(src, 'cache.db')
    con = sqlite3.connect(uri, uri=True)
    try:
        return con.execute(
            'SELECT key, raw, expire_time, tag, mode, filename, value FROM Cache ORDER BY rowid'
        ).fetchall()
    finally:
        con.close()


def live(i):
    return make_expire(i) is None or make_expire(i) > 0


def test_big_source_unchanged(big_migrated):
    _, _, before, after, _ = big_migrated
    assert before == after
    assert not any(name.endswith(('-wal', '-shm')) for name in after)


def test_big_summary(big_migrated):
    _, summary, _, _, elapsed = big_migrated
    expired = sum(1 for i in range(N_ITEMS) if make_expire(i) is not None and make_expire(i) < 0)
    files = sum(1 for i in range(N_ITEMS) if is_file_value(i) and not (make_expire(i) or 0) < 0)
    assert isinstance(summary, MigrationSummary)
    assert summary.kind == 'Cache'
    assert summary.rows == N_ITEMS
    assert summary.skipped_expired == expired
    assert summary.migrated == N_ITEMS - expired
    assert summary.skipped_unreadable == 0
    assert summary.skipped_nan_keys == 0
    assert summary.files_copied == files
    assert summary.bytes_copied > files * BIG
    assert summary.stores == 1
    assert summary.problems == []
    data = summary.as_dict()
    assert json.loads(json.dumps(data))['migrated'] == summary.migrated
    assert 'items migrated:' in summary.format()
    print('migrated %d items in %.1f s' % (summary.migrated, elapsed))


def test_big_keys_in_insertion_order(big_migrated):
    dst = big_migrated[0]
    expected = [make_key(i) for i in range(N_ITEMS) if live(i)]
    with diskcache_go.Cache(dst) as cache:
        assert len(cache) == len(expected)
        got = list(cache)
    assert got == expected
    assert [type(k) for k in got] == [type(k) for k in expected]


def test_big_values_expiry_tags(big_migrated, big_source):
    dst = big_migrated[0]
    src_expire = [row[2] for row in source_rows(big_source)]
    with diskcache_go.Cache(dst) as cache:
        for i in range(N_ITEMS):
            key = make_key(i)
            if not live(i):
                assert key not in cache
                continue
            value, expire_time, tag = cache.get(key, expire_time=True, tag=True)
            expected = make_value(i)
            assert value == expected, i
            assert type(value) is type(expected), i
            expected_tag = make_tag(i)
            assert tag == expected_tag and type(tag) is type(expected_tag), i
            if make_expire(i) is None:
                assert expire_time is None
            else:
                # The remaining expiry is carried over: the same deadline.
                assert math.isclose(expire_time, src_expire[i], abs_tol=0.05), i
        # File-backed bytes are files again.
        with cache.read(make_key(7)) as reader:
            assert reader.read() == make_value(7)


def test_big_stored_form_preserved(big_migrated, big_source):
    """Raw stays raw, pickled stays pickled (same bytes), files stay files."""
    dst = big_migrated[0]
    cache = diskcache_go.Cache(dst, disk=RawDisk)
    try:
        for key, raw, expire_time, _tag, mode, filename, value in source_rows(big_source):
            if expire_time is not None and expire_time < time.time():
                continue
            user_key = key if raw else pickle.loads(key)
            got_mode, has_file, got_value = cache.get(user_key)
            assert got_mode == mode
            assert has_file == (filename is not None)
            if filename is None:
                assert got_value == value and type(got_value) is type(value)
    finally:
        cache.close()


def test_big_settings_and_check(big_migrated):
    dst = big_migrated[0]
    with diskcache_go.Cache(dst) as cache:
        assert cache.cull_limit == 7
        assert cache.statistics == 1
        assert cache.eviction_policy == 'least-recently-stored'
        assert cache.size_limit == 2**30
        assert cache.disk_min_file_size == 2**15
        assert cache.reset('custom_setting') == 'kept'
        assert cache.check() == []


def test_big_drop_through_cli(big_source, tmp_path, capsys):
    src = str(tmp_path / 'src')
    shutil.copytree(big_source, src)
    dst = str(tmp_path / 'dst')
    assert cli.main(['migrate', src, dst, '--drop', '--json']) == 0
    report = json.loads(capsys.readouterr().out)
    assert report['drop'] is True
    assert report['dropped'] == N_ITEMS  # migrated and expired rows
    assert report['migrated'] == sum(1 for i in range(N_ITEMS) if live(i))
    con = sqlite3.connect(os.path.join(src, 'cache.db'))
    try:
        assert con.execute('SELECT COUNT(*) FROM Cache').fetchone()[0] == 0
        # The triggers kept python-diskcache's counters right.
        settings = dict(con.execute('SELECT key, value FROM Settings'))
        assert settings['count'] == 0 and settings['size'] == 0
    finally:
        con.close()
    leftovers = [name for _, _, names in os.walk(src) for name in names if name.endswith('.val')]
    assert leftovers == []
    with diskcache_go.Cache(dst) as cache:
        assert len(cache) == report['migrated']
        for i in range(0, N_ITEMS, 101):
            if live(i):
                assert cache[make_key(i)] == make_value(i)
        assert cache.check() == []
    # The drained source still opens with python-diskcache.
    with diskcache.Cache(src) as old:
        assert len(old) == 0


# -- what is (not) unpickled, settings ---------------------------------------------


def test_values_and_keys_are_not_unpickled(tmp_path):
    module = types.ModuleType('dcg_vanishing_module')

    class Thing:
        def __init__(self, n):
            self.n = n

        def __eq__(self, other):
            return type(other) is type(self) and other.n == self.n

        def __hash__(self):
            return self.n

    Thing.__module__ = module.__name__
    Thing.__qualname__ = 'Thing'
    module.Thing = Thing
    sys.modules[module.__name__] = module
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    try:
        with diskcache.Cache(src, disk_pickle_protocol=2) as old:
            old.set('thing', Thing(1))
            old.set(('key', Thing(2)), 'value')
            old.set(('t', 1), [1, 2])
            old.set('big', [Thing(i) for i in range(20000)])
    finally:
        del sys.modules[module.__name__]
    # The class cannot be imported while migrating.
    summary = migrate(src, dst)
    assert summary.migrated == 4
    with diskcache_go.Cache(dst) as cache:
        assert cache.disk_pickle_protocol == 2
        # Pickled keys were made with protocol 2; lookups pickle the same way.
        assert cache[('t', 1)] == [1, 2]
        sys.modules[module.__name__] = module
        try:
            assert cache['thing'] == Thing(1)
            assert cache[('key', Thing(2))] == 'value'
            assert cache['big'][-1] == Thing(19999)
        finally:
            del sys.modules[module.__name__]
        assert cache.check() == []


def test_json_disk_cache(tmp_path, capsys):
    """A cache made with JSONDisk: stored forms copied, read back with JSONDisk."""
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    with diskcache.Cache(src, disk=diskcache.JSONDisk, disk_compress_level=6) as old:
        old.set('a', {'x': [1, 2]})
        old.set(['t', 1], 'v' * BIG)
    assert migrate(src, dst).migrated == 2
    with diskcache_go.Cache(dst, disk=diskcache_go.JSONDisk) as cache:
        assert cache.disk.compress_level == 6
        assert list(cache) == ['a', ['t', 1]]
        assert cache['a'] == {'x': [1, 2]} and cache[['t', 1]] == 'v' * BIG
    # The command line picks JSONDisk from the persisted settings.
    capsys.readouterr()
    assert cli.main(['get', dst, 'a', '--type', 'json']) == 0
    assert json.loads(capsys.readouterr().out) == {'x': [1, 2]}


def test_settings_carried_not_sqlite_or_counters(tmp_path):
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    with diskcache.Cache(src, eviction_policy='least-frequently-used', size_limit=12345678,
                         tag_index=True, sqlite_cache_size=1234, disk_min_file_size=100) as old:
        old.set('a', 'x' * 200)  # a file at this min_file_size
        old.set('b', 1)
    migrate(src, dst)
    with open(os.path.join(dst, 'cache.dcg-settings')) as f:
        persisted = json.load(f)
    assert persisted['eviction_policy'] == 'least-frequently-used'
    assert persisted['size_limit'] == 12345678
    assert persisted['tag_index'] == 1
    assert persisted['disk_min_file_size'] == 100
    assert persisted['sqlite_cache_size'] != 1234  # diskcache_go's own default
    assert 'count' not in persisted and 'hits' not in persisted
    with diskcache_go.Cache(dst) as cache:
        assert cache['a'] == 'x' * 200
        assert cache.check() == []


# -- FanoutCache, Index, Deque -------------------------------------------------------


def test_fanout_with_sub_stores(tmp_path):
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    old = diskcache.FanoutCache(src, shards=3, size_limit=3 * 2**24)
    with old.transact():
        for i in range(3000):
            old.set(make_key(i), make_value(i), expire=make_expire(i), tag=make_tag(i))
    order = list(old)  # shard by shard, each in insertion order
    sub = old.cache('nested/name')
    sub.set('k', b'v' * BIG)
    sub.set(1, 'one')
    dq = old.deque('queue')
    dq.extend(['a', 'b', 'c'])
    dq.appendleft('z')
    ix = old.index('ix')
    ix.update([('q', 1), ('a', 2), ('m', [3])])
    old.close()
    live_keys = {make_key(i) for i in range(3000) if live(i)}
    live_order = [k for k in order if k in live_keys]

    assert cli.main(['migrate', src, dst, '--quiet']) == 0

    new = diskcache_go.FanoutCache(dst, shards=3, size_limit=3 * 2**24)
    try:
        assert list(new) == live_order
        for i in range(3000):
            if live(i):
                assert new.get(make_key(i), tag=True) == (make_value(i), make_tag(i))
        sub = new.cache('nested/name')
        assert sub['k'] == b'v' * BIG and sub[1] == 'one'
        assert list(new.deque('queue')) == ['z', 'a', 'b', 'c']
        new.deque('queue').append('d')
        new.deque('queue').appendleft('y')
        assert list(new.deque('queue')) == ['y', 'z', 'a', 'b', 'c', 'd']
        assert list(new.index('ix').items()) == [('q', 1), ('a', 2), ('m', [3])]
        assert new.check() == []
        assert sub.check() == []
    finally:
        new.close()
    for shard in range(3):
        with diskcache_go.Cache(os.path.join(dst, '%03d' % shard)) as cache:
            assert cache.size_limit == 2**24


def test_index_and_deque_directories(tmp_path):
    old_index = diskcache.Index(str(tmp_path / 'ix'), [('b', 1), ('a', 2)])
    old_index['c'] = {'x': 3}
    old_index.cache.close()
    old_deque = diskcache.Deque(range(5), directory=str(tmp_path / 'dq'))
    old_deque.rotate(2)
    expected_deque = list(old_deque)
    old_deque.cache.close()

    migrate(str(tmp_path / 'ix'), str(tmp_path / 'ix2'))
    migrate(str(tmp_path / 'dq'), str(tmp_path / 'dq2'))

    index = diskcache_go.Index(str(tmp_path / 'ix2'))
    assert list(index.items()) == [('b', 1), ('a', 2), ('c', {'x': 3})]
    assert index.cache.eviction_policy == 'none'
    assert index.popitem() == ('c', {'x': 3})
    deque = diskcache_go.Deque(directory=str(tmp_path / 'dq2'))
    assert list(deque) == expected_deque
    deque.append(9)
    assert deque.popleft() == expected_deque[0]
    assert list(deque) == expected_deque[1:] + [9]


# -- skipped rows, drop, errors --------------------------------------------------------


def test_nan_keys_unreadable_files_and_expired(tmp_path):
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    with diskcache.Cache(src, cull_limit=0) as old:
        old.set(float('nan'), 1)
        old.set('file', b'x' * BIG)
        old.set('gone', b'y' * BIG)
        old.set('old', 1, expire=-1)
        old.set('ok', 2)
        with old.read('gone') as reader:
            os.remove(reader.name)
    summary = migrate(src, dst, drop=True)
    assert (summary.migrated, summary.skipped_nan_keys, summary.skipped_unreadable,
            summary.skipped_expired) == (2, 1, 1, 1)
    assert summary.dropped == 3  # migrated and expired; the others stay
    assert len(summary.problems) == 2
    assert 'NaN' in summary.problems[0] and 'cannot read value file' in summary.problems[1]
    assert 'rows left in source:' in summary.format()
    with diskcache_go.Cache(dst) as cache:
        assert list(cache) == ['file', 'ok']
        assert cache.check() == []
    with diskcache.Cache(src) as old:
        assert len(old) == 2


def test_file_names_outside_the_source_are_never_touched(tmp_path):
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    outside = tmp_path / 'precious.val'
    outside.write_bytes(b'keep me')
    with diskcache.Cache(src, cull_limit=0) as old:
        old.set('escapes', b'x' * BIG)
        old.set('expired-escapes', b'y' * BIG, expire=-1)
        old.set('fine', 1)
    con = sqlite3.connect(os.path.join(src, 'cache.db'))
    with con:
        con.execute("UPDATE Cache SET filename = '../precious.val' WHERE filename IS NOT NULL")
    con.close()
    summary = migrate(src, dst, drop=True)
    assert (summary.migrated, summary.skipped_unreadable, summary.dropped) == (1, 2, 1)
    assert all('outside the cache directory' in p for p in summary.problems)
    assert outside.read_bytes() == b'keep me'
    with diskcache_go.Cache(dst) as cache:
        assert list(cache) == ['fine']


def test_progress_bar(tmp_path):
    src = str(tmp_path / 'src')
    with diskcache.Cache(src) as old:
        for i in range(2500):
            old[i] = i
    stream = io.StringIO()
    migrate(src, str(tmp_path / 'dst'), progress=True, stream=stream)
    text = stream.getvalue()
    assert 'migrating [' in text and '100%' in text and '2500/2500' in text
    assert text.endswith('\n')
    quiet = io.StringIO()
    migrate(src, str(tmp_path / 'dst2'), progress=False, stream=quiet)
    assert quiet.getvalue() == ''


def test_destination_must_be_empty(tmp_path, capsys):
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    with diskcache.Cache(src) as old:
        old['a'] = 1
    os.makedirs(dst)
    with open(os.path.join(dst, 'something'), 'w') as f:
        f.write('x')
    with pytest.raises(MigrationError, match='not empty'):
        migrate(src, dst)
    assert cli.main(['migrate', src, dst]) == 1
    assert 'not empty' in capsys.readouterr().err
    os.remove(os.path.join(dst, 'something'))
    assert cli.main(['migrate', src, dst, '--quiet']) == 0
    assert capsys.readouterr().out == ''
    # Again into the now non-empty destination: only with --force.
    assert cli.main(['migrate', src, dst, '--quiet']) == 1
    assert cli.main(['migrate', src, dst, '--quiet', '--force']) == 0
    with diskcache_go.Cache(dst) as cache:
        assert cache['a'] == 1 and len(cache) == 1


def test_errors(tmp_path, capsys):
    missing = str(tmp_path / 'missing')
    with pytest.raises(MigrationError, match='does not exist'):
        migrate(missing, str(tmp_path / 'x'))
    plain = tmp_path / 'plain'
    plain.mkdir()
    (plain / 'file.txt').write_text('hello')
    with pytest.raises(MigrationError, match='not a python-diskcache directory'):
        migrate(str(plain), str(tmp_path / 'x'))
    corrupt = tmp_path / 'corrupt'
    corrupt.mkdir()
    (corrupt / 'cache.db').write_bytes(b'not a database' * 100)
    with pytest.raises(MigrationError, match='cannot read'):
        migrate(str(corrupt), str(tmp_path / 'x'))
    go = str(tmp_path / 'go')
    diskcache_go.Cache(go).close()
    with pytest.raises(MigrationError, match='already a diskcache_go directory'):
        migrate(go, str(tmp_path / 'x'))
    src = str(tmp_path / 'src')
    with diskcache.Cache(src) as old:
        old['a'] = 1
    with pytest.raises(MigrationError, match='same directory'):
        migrate(src, src)
    with pytest.raises(MigrationError, match='contain each other'):
        migrate(src, os.path.join(src, 'inner'))
    # An eviction policy diskcache_go lacks: refused before anything is written.
    con = sqlite3.connect(os.path.join(src, 'cache.db'))
    with con:
        con.execute("UPDATE Settings SET value = 'my-policy' WHERE key = 'eviction_policy'")
    con.close()
    with pytest.raises(MigrationError, match='my-policy'):
        migrate(src, str(tmp_path / 'x'))
    assert not os.path.exists(tmp_path / 'x')
    capsys.readouterr()
    # Through the command line: exit status 1 and a one-line message.
    assert cli.main(['migrate', missing, str(tmp_path / 'x')]) == 1
    err = capsys.readouterr().err
    assert 'error:' in err and 'does not exist' in err and 'Traceback' not in err
    assert cli.main(['migrate', str(plain), str(tmp_path / 'x')]) == 1
    # Usage errors: exit status 2.
    assert cli.main(['migrate', src]) == 2
    assert cli.main(['migrate', src, str(tmp_path / 'x'), '--bogus']) == 2


def test_cli_migrate_summary(tmp_path, capsys):
    src = str(tmp_path / 'src')
    with diskcache.Cache(src) as old:
        old['a'] = b'x' * BIG
        old['b'] = 1
    assert cli.main(['migrate', src, str(tmp_path / 'dst')]) == 0
    captured = capsys.readouterr()
    assert 'items migrated:' in captured.out and '2' in captured.out
    assert 'value files copied:' in captured.out
    assert captured.err == ''  # no progress bar when stderr is not a terminal
    assert cli.main(['migrate', src, str(tmp_path / 'dst2'), '--progress', '--json']) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)['files_copied'] == 1
    assert 'migrating [' in captured.err
    assert cli.main(['migrate', src, str(tmp_path / 'dst3'), '--progress', '--quiet']) == 0
    captured = capsys.readouterr()
    assert captured.out == '' and captured.err == ''


def test_source_with_wal_left_is_read(tmp_path):
    """A source still open elsewhere (its -wal present) is read as it is."""
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    old = diskcache.Cache(src)
    try:
        for i in range(100):
            old[i] = i
        assert os.path.exists(os.path.join(src, 'cache.db-wal'))
        summary = migrate(src, dst)
        assert summary.migrated == 100
    finally:
        old.close()
    with diskcache_go.Cache(dst) as cache:
        assert list(cache) == list(range(100))

