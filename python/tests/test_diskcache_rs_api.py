"""diskcache_rs's users can switch by changing the import.

diskcache_rs (``pip install diskcache-rs``, ``import diskcache_rs``) is a
Rust port of python-diskcache whose README seeded this project. Three parts:

* the examples of its README (English and Chinese) run against diskcache_go
  with only the import changed, written out here as snippets; paths are
  temporary directories, except that the Windows and UNC paths and the
  ``PyCache`` examples (an internal class of diskcache_rs) are left out;
* ``stats()`` is a named tuple that still is python-diskcache's tuple;
* the calls diskcache_rs adds to python-diskcache's API, in the meaning its
  own tests give them, wherever that changes no python-diskcache behaviour
  (docs/compatibility.md lists the rest, each with its reason).

Its test suite, run against diskcache_go through a module named
diskcache_rs, found what the second half of this file tests.
"""

import glob
import io
import os
import os.path as op
import pickle
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

try:
    import diskcache_go  # noqa: F401
except ModuleNotFoundError:  # not installed: use the in-tree package
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import diskcache  # noqa: E402  (python-diskcache 5.6.3, the reference)
import diskcache_go  # noqa: E402
from diskcache_go import Cache, Deque, Disk, FanoutCache, FastCache, Index, JSONDisk  # noqa: E402

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(diskcache_go.__file__)))


# -- the README's examples ---------------------------------------------------------


def test_readme_quick_start(tmp_path):
    from diskcache_go import Cache

    cache = Cache(str(tmp_path / 'mycache'))
    cache['key'] = 'value'
    print(cache['key'])
    if 'key' in cache:
        print('Key exists!')
    value = cache.get('missing_key', 'default')
    del cache['key']

    assert value == 'default'
    assert 'key' not in cache


def test_readme_basic_cache_operations(tmp_path):
    from diskcache_go import Cache

    cache = Cache(str(tmp_path / 'mycache'), size_limit=1e9)  # 1GB limit
    cache['key'] = 'value'
    print(cache['key'])
    cache.set('number', 42)
    cache.set('data', {'nested': 'dict'})
    value = cache.get('missing', 'default_value')
    if 'key' in cache:
        print('Found key!')
    seen = []
    for key in cache:
        print(f'{key}: {cache[key]}')
        seen.append(key)
    del cache['key']
    cache.pop('number', None)  # Safe deletion
    cache.clear()

    assert value == 'default_value'
    assert seen == ['key', 'number', 'data']
    assert len(cache) == 0


def test_readme_advanced_features(tmp_path):
    from diskcache_go import FanoutCache

    cache = FanoutCache(str(tmp_path / 'fanout'), shards=8, size_limit=1e9)
    cache.set('temp_key', 'temp_value', expire=3600)
    cache.touch('temp_key')
    with cache.transact():
        cache['key1'] = 'value1'
        cache['key2'] = 'value2'
    stats = cache.stats()
    print(f'Hits: {stats.hits}, Misses: {stats.misses}')
    print(f'Size: {cache.volume()} bytes')
    cache.cull()
    cache.expire()

    assert (stats.hits, stats.misses) == (0, 0)
    assert cache['key1'] == 'value1' and cache['key2'] == 'value2'


def test_readme_high_performance(tmp_path):
    from diskcache_go import FastCache

    fast_cache = FastCache(max_size=1000)
    items = [(f'key_{i}', f'value_{i}') for i in range(1000)]
    for key, value in items:
        fast_cache[key] = value
    keys = [f'key_{i}' for i in range(100)]
    values = [fast_cache.get(key) for key in keys]

    # max_size is diskcache_rs's name for size_limit, in bytes: the least
    # recently used values went, the last one written stayed.
    assert fast_cache.size_limit == 1000
    assert fast_cache.volume() <= 1000
    assert fast_cache['key_999'] == 'value_999'
    assert all(value in (None, 'value_%d' % i) for i, value in enumerate(values))


def test_readme_network_filesystem(tmp_path):
    # The README's '//server/share/cache' is a Windows share: a temporary
    # directory stands in for it.
    from diskcache_go import Cache

    large_dataset = {'rows': list(range(10000))}
    network_cache = Cache(str(tmp_path / 'share' / 'cache'))
    network_cache['important_data'] = large_dataset
    value = network_cache['important_data']
    assert value == large_dataset


def test_readme_django_integration(tmp_path):
    # Django's settings are process-wide: the example runs in a child.
    pytest.importorskip('django')
    script = '''
import django
from django.conf import settings
CACHES = {
    'default': {
        'BACKEND': 'diskcache_go.DjangoCache',
        'LOCATION': %r,
        'OPTIONS': {
            'size_limit': 1e9,  # 1GB
            'cull_limit': 0.1,  # Remove 10%% when full
        }
    }
}
settings.configure(CACHES=CACHES)
django.setup()
from django.core.cache import cache
user_profile = {'name': 'Ada', 'id': 42}
cache.set('user_data', user_profile, timeout=3600)
user_data = cache.get('user_data')
assert user_data == user_profile, user_data
stats = cache.stats()
assert stats == (0, 0) and (stats.hits, stats.misses) == (0, 0)
print('ok')
''' % str(tmp_path / 'django_cache')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PACKAGE_PARENT, os.environ.get('PYTHONPATH', '')]))
    env.pop('DJANGO_SETTINGS_MODULE', None)
    done = subprocess.run([sys.executable, '-c', script], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'ok'


def test_readme_performance_comparison(tmp_path):
    import time

    import diskcache
    from diskcache_go import Cache

    data = b'x' * 1024  # 1KB test data
    dc_cache = diskcache.Cache(str(tmp_path / 'diskcache_test'))
    start = time.perf_counter()
    for i in range(1000):
        dc_cache.set(f'key_{i}', data)
    dc_time = time.perf_counter() - start

    rs_cache = Cache(str(tmp_path / 'diskcache_rs_test'))
    start = time.perf_counter()
    for i in range(1000):
        rs_cache[f'key_{i}'] = data
    rs_time = time.perf_counter() - start

    print(f'diskcache: {dc_time:.3f}s ({1000/dc_time:.0f} ops/sec)')
    print(f'diskcache_rs: {rs_time:.3f}s ({1000/rs_time:.0f} ops/sec)')
    print(f'Speedup: {dc_time/rs_time:.1f}x faster')
    assert len(rs_cache) == len(dc_cache) == 1000
    dc_cache.close()


def test_readme_python_compatible_api(tmp_path, monkeypatch):
    # Both README languages show this one; the path insertion is kept (it
    # is harmless) and undone after the test.
    monkeypatch.setattr(sys, 'path', list(sys.path))
    import sys as sys_module
    sys_module.path.insert(0, 'python')

    from diskcache_go import Cache, FanoutCache

    directory = str(tmp_path / 'cache')
    cache = Cache(directory)
    cache['key'] = 'value'
    print(cache['key'])
    fanout = FanoutCache(directory, shards=8)
    fanout.set('key', 'value')

    assert cache['key'] == 'value' and fanout['key'] == 'value'


def test_readme_api_reference_constructors(tmp_path):
    # The API reference's signatures, with the values it shows.
    from diskcache_go import Cache, FanoutCache, FastCache

    cache = Cache(str(tmp_path / 'c'), size_limit=None, cull_limit=0.1)
    cache[b'k'] = b'v'
    cache.set('key', 'value', expire=None, tag=None)
    assert cache.get('key', default=None) == 'value'
    assert len(cache) == 2
    assert cache.stats() == (0, 0) and isinstance(cache.volume(), int)
    assert cache.clear() == 2

    fanout = FanoutCache(str(tmp_path / 'f'), shards=8, size_limit=None)
    fanout['key'] = 'value'
    assert fanout['key'] == 'value'

    fast = FastCache(max_size=1000)
    fast['key'] = 'value'
    assert fast.get('key', default=None) == 'value'
    del fast['key']
    fast.clear()


def test_readme_chinese_basic_usage_calls(tmp_path):
    # The Chinese README's basic usage is written for PyCache (left out);
    # its calls on the public Cache: set, get, exists, delete, stats, clear.
    from diskcache_go import Cache

    cache = Cache(str(tmp_path / 'cache'))
    cache.set('key', b'value')
    result = cache.get('key')
    if cache.exists('key'):
        print('键存在！')
    assert result == b'value' and cache.exists('key')
    cache.delete('key')
    assert not cache.exists('key')
    stats = cache.stats()
    print(f'命中: {stats.hits}, 未命中: {stats.misses}')
    cache.clear()


# -- stats() -----------------------------------------------------------------------


def test_stats_is_a_named_tuple_equal_to_the_reference(tmp_path):
    from diskcache_go.core import Stats

    ref = diskcache.Cache(str(tmp_path / 'ref'))
    new = Cache(str(tmp_path / 'new'))
    for cache in (ref, new):
        cache.stats(enable=True)
        cache.set('a', 1)
        cache.get('a')
        cache.get('a')
        cache.get('missing')
    assert new.stats() == ref.stats() == (2, 1)
    stats = new.stats(reset=True)
    assert isinstance(stats, tuple) and type(stats) is Stats
    assert (stats.hits, stats.misses) == (2, 1)
    hits, misses = stats
    assert (hits, misses) == (2, 1) and stats[0] == 2 and stats[-1] == 1
    assert ref.stats(reset=True) == (2, 1)
    assert new.stats() == ref.stats() == (0, 0)
    assert pickle.loads(pickle.dumps(stats)) == stats
    ref.close()
    new.close()


def test_stats_named_on_fanout_fastcache_and_djangocache(tmp_path):
    from diskcache_go.core import Stats

    fanout = FanoutCache(str(tmp_path / 'f'), shards=3)
    fanout.stats(enable=True)
    fanout['a'] = 1
    fanout.get('a')
    fanout.get('b')
    stats = fanout.stats()
    assert type(stats) is Stats and stats == (1, 1) and (stats.hits, stats.misses) == (1, 1)

    fast = FastCache(statistics=True)
    fast['a'] = 1
    fast.get('a')
    stats = fast.stats()
    assert type(stats) is Stats and stats.hits == 1 and stats.misses == 0

    pytest.importorskip('django')
    from django.conf import settings
    if not settings.configured:
        settings.configure()
    from diskcache_go.djangocache import DjangoCache
    django_cache = DjangoCache(str(tmp_path / 'd'), {})
    stats = django_cache.stats()
    assert type(stats) is Stats and stats == (0, 0)
    django_cache.close()


# -- exists, keys, values, items ---------------------------------------------------


def test_exists_is_contains(tmp_path):
    cache = Cache(str(tmp_path))
    cache.set('a', 1)
    cache.set(('t', 1), None)
    cache.set('gone', 2, expire=0.001)
    time.sleep(0.01)
    assert cache.exists('a') is True
    assert cache.exists(('t', 1)) is True  # a stored None is present
    assert cache.exists('gone') is False   # expired
    assert cache.exists('never') is False
    fanout = FanoutCache(str(tmp_path / 'f'), shards=4)
    fanout['k'] = 1
    assert fanout.exists('k') is True and fanout.exists('other') is False


def test_keys_values_items(tmp_path):
    cache = Cache(str(tmp_path), cull_limit=0)  # expired items stay until removed
    cache.set('b', 2)
    cache.set('old', 0, expire=0.001)
    cache.set(('t', 1), [1])
    cache.set('big', b'x' * 100000)  # in a value file
    time.sleep(0.01)
    # keys(): what iteration and len() see, expired items included (as
    # diskcache_rs's); values() and items(): what get() would find.
    assert cache.keys() == list(cache) == ['b', 'old', ('t', 1), 'big']
    assert cache.values() == [2, [1], b'x' * 100000]
    assert cache.items() == [('b', 2), (('t', 1), [1]), ('big', b'x' * 100000)]
    assert type(cache.keys()) is list and type(cache.items()) is list
    assert cache.expire() == 1
    assert cache.keys() == [key for key, _ in cache.items()]
    empty = Cache(str(tmp_path / 'empty'))
    assert empty.keys() == empty.values() == empty.items() == []


def test_listing_is_not_counted_and_not_a_use(tmp_path):
    cache = Cache(str(tmp_path), eviction_policy='least-recently-used', statistics=1)
    for key in 'abc':
        cache.set(key, key)
    cache.get('a')  # 'b' is now the least recently used
    before = cache.stats()
    assert cache.items() == [('a', 'a'), ('b', 'b'), ('c', 'c')]
    assert cache.keys() == ['a', 'b', 'c'] and cache.values() == ['a', 'b', 'c']
    assert cache.stats() == before
    # Had the listing counted as reads, 'c' would be the eviction victim.
    cache.reset('size_limit', 0)
    cache.reset('cull_limit', 1)
    cache.set('d', 'd')
    assert 'b' not in cache and 'c' in cache


def test_fanout_keys_values_items(tmp_path):
    fanout = FanoutCache(str(tmp_path), shards=4)
    for i in range(20):
        fanout.set(i, i * i)
    fanout.set('old', 1, expire=0.001)
    time.sleep(0.01)
    keys = fanout.keys()
    assert keys == list(fanout) and sorted(keys, key=str) == sorted(list(range(20)) + ['old'], key=str)
    live = [key for key in keys if key != 'old']  # shard order
    assert fanout.values() == [key * key for key in live]
    assert fanout.items() == list(zip(live, fanout.values()))


# -- set_many, get_many ------------------------------------------------------------


def test_set_many_from_a_mapping_pairs_or_a_generator(tmp_path):
    cache = Cache(str(tmp_path))
    assert cache.set_many({'alpha': 'one', 'beta': {'nested': 2}, 'gamma': b'bytes'}) == 3
    assert cache.get('beta') == {'nested': 2} and cache.get('gamma') == b'bytes'
    assert cache.set_many((('key_%d' % i, i) for i in range(4))) == 4
    assert cache.get('key_3') == 3
    assert cache.set_many([]) == 0 and len(cache) == 7
    # A Cache is a mapping source too (its items()).
    copy = Cache(str(tmp_path / 'copy'))
    assert copy.set_many(cache) == 7 and copy.items() == cache.items()


def test_set_many_expire_tag_and_overwrite(tmp_path):
    cache = Cache(str(tmp_path))
    cache.set('key1', 'old')
    assert cache.set_many([('key1', 'value1'), ('key2', 'value2')], expire=60, tag='batch') == 2
    value, expire_time, tag = cache.get('key1', expire_time=True, tag=True)
    assert value == 'value1' and tag == 'batch' and time.time() < expire_time <= time.time() + 60
    assert len(cache) == 2
    assert cache.evict('batch') == 2


def test_set_many_is_atomic(tmp_path):
    cache = Cache(str(tmp_path))
    cache.set('safe', 'value')
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        cache.set_many([('first', b'y' * 100000), ('broken', lambda: None)])
    assert cache.items() == [('safe', 'value')]
    assert cache.check() == []  # no value file of the batch left behind
    # A failure inside the transaction rolls back what was written.
    with pytest.raises(sqlite3.InterfaceError):  # python-diskcache's error for such a tag
        cache.set_many([('first', b'y' * 100000), ('bad tag', 1)], tag=[1])
    assert cache.items() == [('safe', 'value')]
    assert cache.check() == []


def test_set_many_refuses_what_is_not_pairs(tmp_path):
    cache = Cache(str(tmp_path))
    for bad in (5, 'ab', [('a', 1), 'abc'], [('a', 1, 2)], [None]):
        with pytest.raises(TypeError, match='set_many\\(\\) items'):
            cache.set_many(bad)
    assert len(cache) == 0


def test_get_many(tmp_path):
    cache = Cache(str(tmp_path), statistics=1)
    cache.set_many({'a': 1, 'b': None, ('t',): 3})
    cache.set('old', 0, expire=0.001)
    time.sleep(0.01)
    found = cache.get_many(['a', 'b', ('t',), 'old', 'missing'])
    assert found == {'a': 1, 'b': None, ('t',): 3}
    assert cache.stats() == (3, 2)
    assert cache.get_many(iter([])) == {}
    for bad in ('ab', b'ab', 5):
        with pytest.raises(TypeError, match='get_many\\(\\) keys'):
            cache.get_many(bad)


# -- vacuum, expire(now=...) -------------------------------------------------------


def test_vacuum_removes_expired_items_and_their_files(tmp_path):
    cache = Cache(str(tmp_path), cull_limit=0)
    cache.set('keep', 1)
    cache.set('short', b'z' * 100000, expire=0.001)  # a value file
    cache.set('short2', 2, expire=0.001)
    time.sleep(0.01)
    files = [name for _, _, names in os.walk(str(tmp_path)) for name in names if name.endswith('.val')]
    assert len(files) == 1
    assert len(cache) == 3
    assert cache.vacuum() == 2
    assert list(cache) == ['keep'] and cache.vacuum() == 0
    files = [name for _, _, names in os.walk(str(tmp_path)) for name in names if name.endswith('.val')]
    assert files == []
    assert cache.check() == []


def _segment_bytes(directory):
    return sum(op.getsize(p) for p in glob.glob(op.join(directory, '**', 'cache.dcg-*.seg'), recursive=True))


def test_vacuum_compacts_the_segment_files(tmp_path):
    """Space of overwritten and deleted items comes back at once: the
    segment files shrink to about the live data, and every item stays."""
    cache = Cache(str(tmp_path))
    for rounds in range(4):
        for i in range(2000):
            cache.set(i, b'x' * 900)
    for i in range(0, 2000, 2):
        del cache[i]
    before = _segment_bytes(str(tmp_path))
    assert cache.vacuum() == 0
    after = _segment_bytes(str(tmp_path))
    live = 1000 * 1000
    assert after < before / 3 and after < 2 * live + (1 << 20), (before, after)
    assert len(cache) == 1000 and all(cache[i] == b'x' * 900 for i in range(1, 2000, 2))
    assert cache.check() == []
    cache.close()


def test_fanout_vacuum_and_expire_now(tmp_path):
    fanout = FanoutCache(str(tmp_path), shards=4)
    now = time.time()
    for i in range(10):
        fanout.set(i, i, expire=100 + i)
    fanout.set('forever', 1)
    assert fanout.vacuum() == 0
    assert fanout.expire(now=now + 104.5) == 5  # 0..4 expired by then
    assert sorted(fanout, key=str) == sorted([5, 6, 7, 8, 9, 'forever'], key=str)
    assert fanout.expire() == 0
    # The first positional parameter stays python-diskcache's retry.
    assert fanout.expire(True) == 0
    for bad in ('soon', True, [1]):
        with pytest.raises(TypeError, match='now'):
            fanout.expire(now=bad)


# -- Disk ----------------------------------------------------------------------------


def test_disk_directory_store_fetch_defaults_and_repr(tmp_path):
    disk = Disk(str(tmp_path))
    assert disk.directory == str(tmp_path)
    size, mode, filename, db_value = disk.store({'key': 'value'})
    assert disk.fetch(mode, filename, db_value) == {'key': 'value'}
    assert disk.store(42) == (0, 1, None, 42)
    assert repr(disk) == 'Disk(directory=%r)' % str(tmp_path)
    json_disk = JSONDisk(str(tmp_path), compress_level=5)
    assert json_disk.directory == str(tmp_path)
    size, mode, filename, db_value = json_disk.store({'key': 'value'})
    assert json_disk.fetch(mode, filename, db_value) == {'key': 'value'}
    assert repr(json_disk) == 'JSONDisk(directory=%r, compress_level=5)' % str(tmp_path)


def test_disk_write_threshold_is_min_file_size(tmp_path):
    disk = Disk(str(tmp_path), write_threshold=100)
    assert disk.min_file_size == 100
    assert disk.store(b'x' * 99, False)[2] is None      # inline
    assert disk.store(b'x' * 100, False)[2] is not None  # its own file
    assert Disk(str(tmp_path), min_file_size=7, write_threshold=7).min_file_size == 7
    with pytest.raises(TypeError, match='write_threshold'):
        Disk(str(tmp_path), min_file_size=7, write_threshold=8)


def test_cache_disk_write_threshold_setting(tmp_path):
    directory = str(tmp_path / 'c')
    cache = Cache(directory, disk_write_threshold=0)
    assert cache.disk_min_file_size == 0 and cache.disk.min_file_size == 0
    cache.set('tiny', b'x')
    assert cache.get('tiny', read=True).read() == b'x'  # a file even for one byte
    cache.close()
    reopened = Cache(directory)  # the threshold was persisted under its setting
    assert reopened.disk_min_file_size == 0
    assert not hasattr(reopened, 'disk_write_threshold')
    reopened.close()
    fanout = FanoutCache(str(tmp_path / 'f'), shards=2, disk_write_threshold=10)
    assert fanout.disk_min_file_size == 10
    with pytest.raises(TypeError, match='disk_write_threshold'):
        Cache(str(tmp_path / 'x'), disk_min_file_size=1, disk_write_threshold=2)


def test_disk_subclass_with_its_own_write_threshold_gets_it(tmp_path):
    # python-diskcache hands disk_write_threshold to the Disk as
    # write_threshold: a subclass that takes one still gets it.
    class MyDisk(Disk):
        def __init__(self, directory, write_threshold=None, **kwargs):
            self.mine = write_threshold
            super().__init__(directory, **kwargs)

    cache = Cache(str(tmp_path), disk=MyDisk, disk_write_threshold=3)
    assert cache.disk.mine == cache.disk.write_threshold == 3
    assert cache.disk.min_file_size == cache.disk_min_file_size == 2**15


# -- Index and Deque: close() and with -----------------------------------------------


def test_index_and_deque_close_and_context_manager(tmp_path):
    directory = str(tmp_path / 'index')
    with Index(directory) as index:
        index['a'] = 1
        assert index.cache._handle is not None
    assert index.cache._handle is None      # closed by the with block
    assert index['a'] == 1                  # and reopened on use
    index.close()
    assert index.cache._handle is None
    assert dict(Index(directory)) == {'a': 1}

    with Deque([1, 2], directory=str(tmp_path / 'deque')) as deque:
        deque.append(3)
    assert deque.cache._handle is None
    assert list(deque) == [1, 2, 3]
    deque.close()
    assert deque.cache._handle is None


# -- FastCache's constructor and calls ---------------------------------------------


def test_fastcache_max_size_and_default_ttl(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, 'time', lambda: now[0])
    cache = FastCache(max_size=10000, default_ttl_seconds=10)
    assert cache.size_limit == 10000 and cache.default_ttl_seconds == 10
    cache['a'] = 1
    cache.set('b', 2, expire=None)
    cache.set('c', 3, expire=60)
    cache.add('d', 4)
    assert cache.incr('n') == 1
    assert cache.get('a', expire_time=True) == (1, 1010.0)
    assert cache.get('c', expire_time=True) == (3, 1060.0)
    assert cache.get('n', expire_time=True) == (1, 1010.0)
    now[0] = 1005.0
    assert cache.touch('a')  # the default lifetime again, from now
    now[0] = 1011.0
    assert cache.keys() == ['a', 'c'] and cache.exists('a') and not cache.exists('b')
    assert 'd' not in cache
    copy = pickle.loads(pickle.dumps(cache))
    assert copy.default_ttl_seconds == 10
    assert FastCache(size_limit=5, max_size=5).size_limit == 5
    assert FastCache().default_ttl_seconds is None


def test_fastcache_refuses_a_directory_and_bad_arguments(tmp_path):
    for directory in ('/tmp/x', str(tmp_path), tmp_path, b'/tmp/x'):
        with pytest.raises(TypeError, match='takes no directory.*Cache\\(directory\\)'):
            FastCache(directory)
    with pytest.raises(TypeError, match='max_size'):
        FastCache(size_limit=5, max_size=6)
    with pytest.raises(TypeError, match='max_size'):
        FastCache(max_size='big')
    with pytest.raises(ValueError, match='max_size'):
        FastCache(max_size=-1)
    with pytest.raises(TypeError, match='max_entries'):
        FastCache(max_entries=[3])
    for bad, error in (('1h', TypeError), (True, TypeError), (0, ValueError), (-5, ValueError)):
        with pytest.raises(error, match='default_ttl_seconds'):
            FastCache(default_ttl_seconds=bad)
    # The first parameter is still max_entries.
    assert FastCache(3).max_entries == 3


def test_fastcache_exists_and_keys():
    cache = FastCache(cull_limit=0)  # expired items stay until removed
    cache['a'] = 1
    cache['b'] = None
    cache.set('c', 3, expire=-1)  # already expired
    cache.get('a')
    assert cache.exists('b') and not cache.exists('c') and not cache.exists('z')
    assert cache.keys() == ['b', 'a']  # least recently used first
    assert list(cache) == ['b', 'c', 'a']


# -- smaller things ------------------------------------------------------------------


def test_diskcache_alias_and_args_to_key_default(tmp_path):
    assert diskcache_go.DiskCache is Cache
    assert 'DiskCache' not in diskcache_go.__all__
    from diskcache_go.recipes import args_to_key
    assert args_to_key(('f',), (1, 2), {'a': 3}, False) == ('f', 1, 2, None, 'a', 3)
    assert args_to_key(('f',), (1,), {}, True) == diskcache.core.args_to_key(('f',), (1,), {}, True, ())


def test_size_limit_none_means_no_limit(tmp_path):
    cache = Cache(str(tmp_path / 'c'), size_limit=None, cull_limit=5)
    for i in range(50):
        cache.set(i, b'x' * 1000)
    assert len(cache) == 50 and cache.cull() == 0
    cache.close()
    reopened = Cache(str(tmp_path / 'c'))
    assert reopened.size_limit is None and len(reopened) == 50
    fanout = FanoutCache(str(tmp_path / 'f'), shards=4, size_limit=None)
    assert fanout.size_limit is None


def test_fractional_cull_limit_culls(tmp_path):
    # diskcache_rs's README passes cull_limit=0.1 ("remove 10% when full"):
    # rounded up, not truncated to 0, which would turn culling off.
    cache = Cache(str(tmp_path), size_limit=0, cull_limit=0.1)
    for i in range(5):
        cache.set(i, i)
    assert len(cache) <= 1
    off = Cache(str(tmp_path / 'off'), size_limit=0, cull_limit=0)
    for i in range(5):
        off.set(i, i)
    assert len(off) == 5


def test_read_bytes_value_still_python_diskcaches(tmp_path):
    # Not changed: get(read=True) of an inline bytes value gives the bytes,
    # as python-diskcache does (diskcache_rs gives a BytesIO).
    cache = Cache(str(tmp_path))
    cache.set('k', b'hello')
    assert cache.get('k', read=True) == b'hello'
    assert not isinstance(cache.get('k', read=True), io.BytesIO)


def test_index_directory_keyword_stays_an_item(tmp_path):
    # Not changed: Index(directory=...) stores an item named 'directory', as
    # in python-diskcache (diskcache_rs opens that directory).
    directory = tempfile.mkdtemp(dir=str(tmp_path))
    ref = diskcache.Index(directory=directory)
    new = Index(directory=directory)
    assert dict(new) == dict(ref) == {'directory': directory}
    assert new.directory != directory
