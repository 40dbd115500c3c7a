"""Opening a python-diskcache directory imports it in place (pyimport.py).

Every source is written by the real ``diskcache`` 5.6.3 package and read
back through it to get what a python-diskcache user sees; the diskcache_go
object opened on the same directory must then see exactly that: keys (every
type) in insertion order, values and their types, raw and pickled, value
files, remaining expiry, tags, queue and deque order, settings. Also: the
warning (once), the refuse and ignore modes, several processes opening at
once, kill -9 during the import, a python-diskcache writer still running,
and a rollback to python-diskcache.
"""

import hashlib
import json
import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import warnings

import diskcache
import pytest

import diskcache_go
from diskcache_go import pyimport
from diskcache_go.core import PyDiskcacheDirectoryError, PyDiskcacheImportWarning

TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(TESTS, 'workers'))
import dcg_testutil as tu  # noqa: E402

BIG = 40_000  # above disk_min_file_size (32 KiB): a value file
ENV = pyimport.MODE_ENV


@pytest.fixture(autouse=True)
def default_mode(monkeypatch):
    """Every test starts from the default mode, whatever the caller's
    environment says."""
    monkeypatch.delenv(ENV, raising=False)


# -- sources and what python-diskcache sees in them ---------------------------


def fill(cache, count=300):
    """Write every kind of item through python-diskcache's API."""
    keys = []
    for i in range(count):
        key = (i, i + 0.25, 'key-%d' % i, b'key-%d' % i, ('t', i))[i % 5]
        if i % 50 == 7:
            value = bytes([i % 256]) * BIG  # MODE_BINARY value file
        elif i % 50 == 17:
            value = 'text %d\n' % i * (BIG // 7)  # MODE_TEXT value file
        elif i % 50 == 27:
            value = list(range(i, i + BIG // 2))  # pickled value file
        else:
            value = (i * 3, i / 7, 'value-%d' % i, b'\x00\xff%d' % i, [i, {'x': i}], None, i % 2 == 0)[i % 7]
        expire = 3600 + i if i % 11 == 0 else (0.001 if i % 13 == 0 else None)
        tag = (None, 'tag-a', i % 4, b'tag-b', 1.5)[i % 5] if i % 3 else None
        cache.set(key, value, expire=expire, tag=tag)
        keys.append(key)
    for i in range(0, count, 9):
        cache.delete(keys[i])  # holes in the rowids
    cache.set(keys[1], 'updated in place')  # keeps its place in the order
    time.sleep(0.01)  # the 1 ms expiries are past


def make_cache_source(directory, **settings):
    settings.setdefault('size_limit', 2**28)
    settings.setdefault('eviction_policy', 'least-recently-used')
    cache = diskcache.Cache(directory, cull_limit=0, **settings)
    fill(cache)
    for i in range(5):
        cache.push('job-%d' % i, prefix='queue')
    cache.push('urgent', prefix='queue', side='front')
    assert cache.pull(prefix='queue')[1] == 'urgent'
    cache.reset('cull_limit', 3)
    cache.close()


def view(cache):
    """What a cache holds: ``[(key, value, expire_time, tag)]`` in iteration
    order, expired items left out (python-diskcache iterates over them)."""
    now = time.time()
    rows = []
    for key in list(cache):
        got = cache.get(key, default=KeyError, expire_time=True, tag=True)
        if got[0] is KeyError:
            continue
        value, expire_time, tag = got
        if expire_time is not None and expire_time <= now:
            continue
        rows.append((key, value, expire_time, tag))
    return rows


def reference_view(directory):
    with diskcache.Cache(directory) as cache:
        return view(cache)


def assert_same(got, expected):
    assert [row[0] for row in got] == [row[0] for row in expected]
    assert len(expected) > 0
    for (key, value, expire_time, tag), (_, ref_value, ref_expire, ref_tag) in zip(got, expected):
        assert value == ref_value and type(value) is type(ref_value), key
        assert tag == ref_tag and type(tag) is type(ref_tag), key
        if ref_expire is None:
            assert expire_time is None, key
        else:
            # The remaining expiry is carried: the same deadline.
            assert math.isclose(expire_time, ref_expire, abs_tol=0.05), key


def source_digest(directory):
    """sha256 of python-diskcache's files (its WAL is checked to be empty:
    a reader may create it, never fill it) and its rows."""
    digest = {}
    for name in pyimport.source_files(directory):
        if name.endswith(('-shm', '-wal', '-journal')):
            continue
        with open(os.path.join(directory, name), 'rb') as f:
            digest[name] = hashlib.sha256(f.read()).hexdigest()
    wal = os.path.join(directory, 'cache.db-wal')
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0
    uri = 'file:%s?mode=ro&immutable=1' % os.path.join(directory, 'cache.db')
    con = sqlite3.connect(uri, uri=True)
    try:
        digest['rows'] = con.execute('SELECT * FROM Cache ORDER BY rowid').fetchall()
        digest['settings'] = con.execute('SELECT * FROM Settings ORDER BY key').fetchall()
    finally:
        con.close()
    return digest


def import_warnings(record):
    return [w for w in record if issubclass(w.category, PyDiskcacheImportWarning)]


def open_recording(factory, *args, **kwargs):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        obj = factory(*args, **kwargs)
    return obj, import_warnings(record)


class StoredForm(diskcache_go.Disk):
    """Fetches the value file name instead of the value."""

    def fetch(self, mode, filename, value, read):
        return filename


# -- Cache ------------------------------------------------------------------------


def test_cache_imports_everything_once(tmp_path):
    src = str(tmp_path / 'cache')
    make_cache_source(src)
    expected = reference_view(src)
    before = source_digest(src)

    cache, warned = open_recording(diskcache_go.Cache, src)
    with cache:
        assert len(warned) == 1
        assert warned[0].filename == __file__  # points at the caller
        message = str(warned[0].message)
        assert 'imported %d entries' % len(cache) in message
        assert os.path.abspath(src) in message and 'cache.db' in message
        assert ENV in message and 'ignore' in message and 'refuse' in message
        assert_same(view(cache), expected)
        # The queue: its order and its remaining items.
        assert cache.peek(prefix='queue', side='front')[1] == 'job-0'
        assert [cache.pull(prefix='queue')[1] for _ in range(5)] == ['job-%d' % i for i in range(5)]
        # Settings.
        assert cache.size_limit == 2**28
        assert cache.eviction_policy == 'least-recently-used'
        assert cache.cull_limit == 3
        assert cache.check() == []
    assert source_digest(src) == before

    # Second open: no import, no warning, the same items.
    cache, warned = open_recording(diskcache_go.Cache, src)
    with cache:
        assert warned == []
        assert_same(view(cache), [row for row in expected if not str(row[0]).startswith('queue')])


def test_value_files_are_hard_links(tmp_path):
    src = str(tmp_path / 'cache')
    make_cache_source(src)
    with diskcache.Cache(src) as ref:
        source_files = {}
        for key in ref:
            row = ref._sql('SELECT filename, expire_time FROM Cache WHERE key = ? AND raw = ?',
                           ref._disk.put(key)).fetchone()
            if row[0] and (row[1] is None or row[1] > time.time()):
                source_files[key] = row[0]
    assert len(source_files) > 10
    with pytest.warns(PyDiskcacheImportWarning, match=r'%d value files hard-linked, 0 copied' % len(source_files)):
        diskcache_go.Cache(src).close()
    with diskcache_go.Cache(src, disk=StoredForm) as cache:
        for key, old_name in source_files.items():
            new_name = cache.get(key)
            assert new_name != old_name
            assert os.path.samefile(os.path.join(src, new_name), os.path.join(src, old_name))
    with diskcache_go.Cache(src) as cache:
        assert cache.check() == []


def test_copies_where_hard_links_fail(tmp_path, monkeypatch):
    src = str(tmp_path / 'cache')
    make_cache_source(src)
    expected = reference_view(src)

    def no_links(source, target):
        raise OSError(1, 'Operation not permitted')  # EPERM, as on a filesystem without links

    monkeypatch.setattr(os, 'link', no_links)
    with pytest.warns(PyDiskcacheImportWarning, match=r'0 value files hard-linked, [1-9]\d* copied'):
        cache = diskcache_go.Cache(src)
    with cache:
        assert_same(view(cache), expected)
        assert cache.check() == []


# -- FanoutCache, Index, Deque, DjangoCache -----------------------------------------


def make_fanout_source(directory, shards):
    fan = diskcache.FanoutCache(directory, shards=shards, size_limit=2**28,
                                eviction_policy='least-frequently-used', cull_limit=0)
    fill(fan)
    names = fan.index('names')
    names.update([('b', 2), ('a', 1), ('c', 3)])
    jobs = fan.deque('jobs')
    jobs.extend(['j1', 'j2', 'j3'])
    jobs.appendleft('j0')
    fan.cache('sessions').set('s1', {'user': 1}, expire=600)
    fan.close()


def fanout_view(fan):
    return sorted(view(fan), key=repr)


@pytest.mark.parametrize('explicit', [True, False], ids=['shards-given', 'shards-found'])
def test_fanout(tmp_path, explicit):
    src = str(tmp_path / 'fan')
    make_fanout_source(src, 4)
    with diskcache.FanoutCache(src, shards=4, size_limit=2**28) as ref:
        expected = fanout_view(ref)
    kwargs = {'shards': 4} if explicit else {}
    fan, warned = open_recording(diskcache_go.FanoutCache, src, size_limit=2**28, **kwargs)
    with fan:
        assert len(warned) == 1  # one warning for the four shards
        assert warned[0].filename == __file__
        assert '4 of its 4 shards' in str(warned[0].message)
        assert fan._count == 4
        got = fanout_view(fan)
        assert_same(got, expected)
        # Every key is where FanoutCache routes it.
        for key, value, _, _ in expected:
            assert fan[key] == value
        assert fan.eviction_policy == 'least-frequently-used'
        assert fan.size_limit == 2**28 / 4
        # The named sub-stores are imported when opened.
        with pytest.warns(PyDiskcacheImportWarning):
            assert list(fan.index('names').items()) == [('b', 2), ('a', 1), ('c', 3)]
        with pytest.warns(PyDiskcacheImportWarning):
            assert list(fan.deque('jobs')) == ['j0', 'j1', 'j2', 'j3']
        with pytest.warns(PyDiskcacheImportWarning):
            assert fan.cache('sessions').get('s1') == {'user': 1}
        assert fan.check() == []
    # Later opens without shards keep finding four, with no warning.
    fan, warned = open_recording(diskcache_go.FanoutCache, src)
    with fan:
        assert warned == [] and fan._count == 4
        assert len(fan) == len(expected)


def test_fanout_with_another_shard_count_is_refused(tmp_path):
    src = str(tmp_path / 'fan')
    make_fanout_source(src, 3)
    with pytest.raises(PyDiskcacheDirectoryError, match=r'3 shards: open it with shards=3'):
        diskcache_go.FanoutCache(src, shards=8)
    assert not any(name.startswith('cache.dcg') for name in os.listdir(os.path.join(src, '000')))
    with pytest.warns(PyDiskcacheImportWarning):
        with diskcache_go.FanoutCache(src, shards=3) as fan:
            assert len(fan) > 0


def test_index(tmp_path):
    src = str(tmp_path / 'index')
    ref = diskcache.Index(src, [('z', 26), ('a', 1)], m={'thirteen': 13})
    ref[('tuple', 1)] = b'bytes'
    ref[7] = 'x' * BIG
    ref['a'] = 'one'  # updated in place: keeps its position
    del ref['m']
    ref['m'] = 'back'  # re-inserted at the end
    expected = list(ref.items())
    ref.cache.close()
    with pytest.warns(PyDiskcacheImportWarning, match='imported 5 entries'):
        index = diskcache_go.Index(src)
    assert list(index.items()) == expected
    assert index.peekitem() == ('m', 'back')
    assert index.popitem(last=False) == ('z', 26)
    index['new'] = 1
    assert list(index)[-1] == 'new'
    index.cache.close()


def test_deque(tmp_path):
    src = str(tmp_path / 'deque')
    ref = diskcache.Deque(['b', 'c'], directory=src)
    ref.appendleft('a')
    ref.extend([4, 5.5, b'six', ('seven',), 'x' * BIG])
    ref.rotate(2)
    ref.popleft()
    expected = list(ref)
    ref.directory  # noqa: B018 - python-diskcache's Deque keeps its cache open
    ref._cache.close()
    with pytest.warns(PyDiskcacheImportWarning):
        deque = diskcache_go.Deque(directory=src)
    assert list(deque) == expected
    deque.appendleft('first')
    deque.append('last')
    assert list(deque) == ['first'] + expected + ['last']
    assert deque.popleft() == 'first'
    deque._cache.close()


@pytest.fixture
def django_configured():
    django = pytest.importorskip('django')
    from django.conf import settings

    if not settings.configured:
        if TESTS not in sys.path:
            sys.path.insert(0, TESTS)
        from djangoapp import settings as project_settings

        names = [name for name in dir(project_settings) if name.isupper()]
        settings.configure(**{name: getattr(project_settings, name) for name in names})
        django.setup()


@pytest.mark.parametrize('shards', [None, 4])
def test_django_cache(tmp_path, django_configured, shards):
    from diskcache.djangocache import DjangoCache as ReferenceDjangoCache

    src = str(tmp_path / 'django')
    options = {'OPTIONS': {'size_limit': 2**27, 'eviction_policy': 'least-recently-used'}}
    ref = ReferenceDjangoCache(src, dict(options, SHARDS=4))
    ref.set('user:1', {'name': 'Ada'}, timeout=600)
    ref.set('page', b'<html>' * 10_000, timeout=None)
    ref.set_many({'a': 1, 'b': 2.5, 'c': 'three'})
    ref.incr('a')
    ref.set('short', 'gone', timeout=0.001)
    expire = ref._cache.get(ref.make_key('user:1'), expire_time=True)[1]
    ref.close()
    time.sleep(0.01)

    params = dict(options) if shards is None else dict(options, SHARDS=shards)
    with pytest.warns(PyDiskcacheImportWarning, match='of its 4 shards'):
        cache = diskcache_go.DjangoCache(src, params)
    try:
        assert cache._cache._count == 4
        assert cache.get('user:1') == {'name': 'Ada'}
        assert cache.get('page') == b'<html>' * 10_000
        assert cache.get_many(['a', 'b', 'c']) == {'a': 2, 'b': 2.5, 'c': 'three'}
        assert cache.get('short') is None
        got_expire = cache._cache.get(cache.make_key('user:1'), expire_time=True)[1]
        assert math.isclose(got_expire, expire, abs_tol=0.05)
        assert cache._cache.eviction_policy == 'least-recently-used'
    finally:
        cache.close()


# -- modes ---------------------------------------------------------------------------


@pytest.mark.parametrize('how', ['keyword', 'environment'])
def test_refuse(tmp_path, monkeypatch, how):
    src = str(tmp_path / 'cache')
    make_cache_source(src)
    before = sorted(os.listdir(src))
    kwargs = {}
    if how == 'keyword':
        kwargs['pydiskcache'] = 'refuse'
    else:
        monkeypatch.setenv(ENV, 'refuse')
    with pytest.raises(PyDiskcacheDirectoryError, match=r'is a python-diskcache directory .* migrate'):
        diskcache_go.Cache(src, **kwargs)
    with pytest.raises(PyDiskcacheDirectoryError):
        diskcache_go.Index(src) if how == 'environment' else diskcache_go.Cache(src, **kwargs)
    assert sorted(os.listdir(src)) == before  # nothing written

    fan = str(tmp_path / 'fan')
    make_fanout_source(fan, 2)
    with pytest.raises(PyDiskcacheDirectoryError, match='FanoutCache directory'):
        diskcache_go.FanoutCache(fan, **kwargs)


@pytest.mark.parametrize('how', ['keyword', 'environment'])
def test_ignore(tmp_path, monkeypatch, how):
    src = str(tmp_path / 'cache')
    make_cache_source(src)
    expected = reference_view(src)
    kwargs = {}
    if how == 'keyword':
        kwargs['pydiskcache'] = 'ignore'
    else:
        monkeypatch.setenv(ENV, 'ignore')
    cache, warned = open_recording(diskcache_go.Cache, src, **kwargs)
    with cache:
        assert warned == []
        assert len(cache) == 0
        cache['mine'] = 1
        # The mode is not a setting: not an attribute, not persisted.
        assert not hasattr(cache, 'pydiskcache')
    with open(os.path.join(src, 'cache.dcg-settings')) as f:
        assert 'pydiskcache' not in json.load(f)
    monkeypatch.delenv(ENV, raising=False)
    # In the default mode now: the diskcache_go cache made beside cache.db
    # is opened as it is, with a warning at every open.
    for _ in range(2):
        cache, warned = open_recording(diskcache_go.Cache, src)
        with cache:
            assert len(warned) == 1 and 'was not imported' in str(warned[0].message)
            assert list(cache) == ['mine']
    assert reference_view(src) == expected


def test_bad_mode(tmp_path, monkeypatch):
    src = str(tmp_path / 'cache')
    make_cache_source(src)
    with pytest.raises(ValueError, match='pydiskcache must be one of import, refuse, ignore'):
        diskcache_go.Cache(src, pydiskcache='maybe')
    with pytest.raises(ValueError, match='pydiskcache must be one of'):
        diskcache_go.Cache(str(tmp_path / 'new'), pydiskcache=True)
    monkeypatch.setenv(ENV, 'Import')
    with pytest.raises(ValueError, match='%s must be one of' % ENV):
        diskcache_go.Cache(src)


# -- processes -------------------------------------------------------------------------

N_BIG = 20_000

CHILD = r'''
import hashlib, json, sys, warnings
import diskcache_go
from diskcache_go.core import PyDiskcacheImportWarning
kind, directory, go = sys.argv[1:4]
if go != '-':
    import os, time
    while not os.path.exists(go):
        time.sleep(0.001)
with warnings.catch_warnings(record=True) as record:
    warnings.simplefilter('always')
    cache = diskcache_go.Cache(directory) if kind == 'Cache' else diskcache_go.FanoutCache(directory)
items = sorted(repr((key, cache[key])) for key in cache)
print(json.dumps({
    'count': len(items),
    'digest': hashlib.sha256('\n'.join(items).encode()).hexdigest(),
    'warned': sum(issubclass(w.category, PyDiskcacheImportWarning) for w in record),
}))
cache.close()
'''


def big_value(i):
    return (b'%d:' % i).ljust(BIG, b'.') if i % 1000 == 3 else ('v%d' % i, i)


@pytest.fixture(scope='module')
def big_sources(tmp_path_factory):
    """A 20,000-entry Cache and a 4-shard FanoutCache, and their contents
    as CHILD reports them."""
    root = tmp_path_factory.mktemp('big')
    sources = {}
    for kind in ('Cache', 'FanoutCache'):
        src = str(root / kind)
        ref = diskcache.Cache(src) if kind == 'Cache' else diskcache.FanoutCache(src, shards=4)
        with ref.transact():
            for i in range(N_BIG):
                ref.set(('k', i) if i % 2 else 'k%d' % i, big_value(i))
        items = sorted(repr((key, ref[key])) for key in ref)
        ref.close()
        sources[kind] = (src, {'count': len(items),
                               'digest': hashlib.sha256('\n'.join(items).encode()).hexdigest()})
    return sources


def child(kind, directory, go='-'):
    return subprocess.Popen([sys.executable, '-c', CHILD, kind, directory, go], env=tu.child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize('kind', ['Cache', 'FanoutCache'])
def test_processes_opening_at_once_all_see_everything(tmp_path, big_sources, kind):
    src, expected = big_sources[kind]
    directory = str(tmp_path / 'dir')
    shutil.copytree(src, directory)
    go = str(tmp_path / 'go')
    procs = [child(kind, directory, go) for _ in range(4)]
    time.sleep(1.0)  # the interpreters start and wait for the go file
    open(go, 'w').close()
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        reports.append(json.loads(out))
    for report in reports:
        assert (report['count'], report['digest']) == (expected['count'], expected['digest'])
    # One process imported (per shard, for a FanoutCache: still one
    # warning per process that imported any shard).
    assert sum(report['warned'] for report in reports) >= 1
    if kind == 'Cache':
        assert sum(report['warned'] for report in reports) == 1


@pytest.mark.skipif(not hasattr(signal, 'SIGKILL'), reason='needs SIGKILL (POSIX)')
def test_kill_during_import(tmp_path, big_sources):
    src, expected = big_sources['Cache']
    before = source_digest(src)
    # How long an import takes here, to kill inside it.
    timing = str(tmp_path / 'timing')
    shutil.copytree(src, timing)
    started = time.monotonic()
    with pytest.warns(PyDiskcacheImportWarning):
        diskcache_go.Cache(timing).close()
    duration = time.monotonic() - started
    rng = random.Random(16)
    hits = 0
    for trial in range(6):
        directory = str(tmp_path / ('trial%d' % trial))
        shutil.copytree(src, directory)
        proc = child('Cache', directory)
        started_file = os.path.join(directory, pyimport.STARTED_FILE)
        deadline = time.monotonic() + 60
        while not os.path.exists(started_file) and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.0005)
        time.sleep(rng.uniform(0, duration * 0.8))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        finished = os.path.exists(os.path.join(directory, pyimport.MARKER_FILE))
        if not finished:
            assert os.path.exists(started_file)
            # Killed inside the import, after it made engine files.
            hits += bool(pyimport._engine_files(directory))
        # The source is as it was.
        assert source_digest(directory) == before
        cache, warned = open_recording(diskcache_go.Cache, directory)
        with cache:
            # The next open starts over (and says so) unless it was done.
            assert len(warned) == (0 if finished else 1)
            items = sorted(repr((key, cache[key])) for key in cache)
            assert len(items) == expected['count']
            assert hashlib.sha256('\n'.join(items).encode()).hexdigest() == expected['digest']
            assert cache.check() == []
        assert not os.path.exists(started_file)
        assert source_digest(directory) == before
        # No value file of the killed import is left: one per file value.
        imported_files = [name for top in os.listdir(directory) if len(top) == 2
                          for name in os.listdir(os.path.join(directory, top))
                          if name.endswith('.val')]
        assert len(imported_files) == sum(1 for i in range(N_BIG) if i % 1000 == 3)
    print('killed inside the import in %d of 6 trials (an import takes %.2f s)' % (hits, duration))
    assert hits >= 3, 'the kill landed inside the import in only %d of 6 trials' % hits


# -- a python-diskcache writer during a rolling deploy, and a rollback ------------------


def test_python_diskcache_writes_after_the_import_are_not_seen(tmp_path):
    src = str(tmp_path / 'cache')
    old = diskcache.Cache(src)  # a python-diskcache process still running
    old.set('a', 1)
    old.set('b', 2)
    old.set('file', b'f' * BIG)
    with pytest.warns(PyDiskcacheImportWarning, match='imported 3 entries'):
        new = diskcache_go.Cache(src)
    assert sorted(new) == ['a', 'b', 'file']
    # The old writer goes on: it writes to cache.db only.
    old.set('late', 'x')
    old.set('a', 'changed')
    old.delete('b')
    old.delete('file')
    old.set('late-file', b'l' * BIG)
    new.close()
    # A fresh diskcache_go object (a new process) sees the import's state:
    # the import happens once.
    new, warned = open_recording(diskcache_go.Cache, src)
    with new:
        assert warned == []
        assert sorted(new) == ['a', 'b', 'file']
        assert (new['a'], new['b'], new['file']) == (1, 2, b'f' * BIG)
        new.set('new-only', 1)
    # python-diskcache still sees its own writes, not diskcache_go's.
    assert sorted(old) == ['a', 'late', 'late-file']
    assert (old['a'], old['late'], old['late-file']) == ('changed', 'x', b'l' * BIG)
    old.close()


def test_rollback_to_python_diskcache(tmp_path):
    src = str(tmp_path / 'cache')
    make_cache_source(src)
    expected = reference_view(src)
    before = source_digest(src)
    with pytest.warns(PyDiskcacheImportWarning):
        cache = diskcache_go.Cache(src)
    with cache:
        assert len(cache) == len(expected)
        # diskcache_go changes its own copy: deletes, overwrites (value
        # files included), clears, and repairs the directory.
        for key, value, _, _ in expected:
            if isinstance(value, (bytes, list)) and len(value) > 1000:
                cache[key] = 'overwritten'
        del cache[expected[0][0]]
        cache.clear()
        assert cache.check(fix=True) == []
    assert source_digest(src) == before
    # Back to python-diskcache: all of its data is there.
    assert_same(reference_view(src), expected)
    with diskcache.Cache(src) as old:
        old.set('after-rollback', 1)
        assert old.pull(prefix='queue')[1] == 'job-0'


def test_a_cache_db_that_is_not_python_diskcache(tmp_path):
    directory = str(tmp_path / 'other')
    os.makedirs(directory)
    con = sqlite3.connect(os.path.join(directory, 'cache.db'))
    con.execute('CREATE TABLE pages (url TEXT)')
    con.commit()
    con.close()
    with pytest.raises(PyDiskcacheDirectoryError, match=r'not a python-diskcache database.*ignore'):
        diskcache_go.Cache(directory)
    assert not any(name.startswith('cache.dcg-import.started') for name in os.listdir(directory))
    with diskcache_go.Cache(directory, pydiskcache='ignore') as cache:
        cache['k'] = 1


def test_remove_source(tmp_path):
    src = str(tmp_path / 'fan')
    make_fanout_source(src, 3)
    with pytest.raises(PyDiskcacheDirectoryError, match='was not imported'):
        pyimport.remove_source(src)
    with pytest.warns(PyDiskcacheImportWarning):
        fan = diskcache_go.FanoutCache(src)
    with fan:
        expected = fanout_view(fan)
        with pytest.warns(PyDiskcacheImportWarning):
            names = list(fan.index('names').items())
    # The deque and cache sub-stores were never opened: not imported.
    with pytest.raises(PyDiskcacheDirectoryError, match=r'cache.db that was not imported'):
        pyimport.remove_source(src)
    shutil.rmtree(os.path.join(src, 'deque'))
    shutil.rmtree(os.path.join(src, 'cache'))
    assert pyimport.remove_source(src) > 3
    for dirpath, dirnames, filenames in os.walk(src):
        assert 'cache.db' not in filenames
        assert not any(len(name) == 32 and name.endswith('.val') for name in filenames), dirpath
    fan, warned = open_recording(diskcache_go.FanoutCache, src)
    with fan:
        assert warned == [] and fan._count == 3
        assert_same(fanout_view(fan), expected)
        assert list(fan.index('names').items()) == names
        assert fan.check() == []
        assert fan.index('names').cache.check() == []
