"""A program that uses every class of diskcache_go, for the type checker.

test_typing.py runs ``mypy --strict`` on this file (it must be clean) and
also runs it (it must work). It is written as user code would be: typed
functions, the decorators' results called with their real signatures, and
``reveal_type``-free, so the strict checker sees only what users see.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator, MutableMapping, Sequence
from typing import IO, Any

import diskcache_go
from diskcache_go import (
    DEFAULT_SETTINGS,
    ENOVAL,
    EVICTION_POLICY,
    UNKNOWN,
    Averager,
    BoundedSemaphore,
    Cache,
    Deque,
    Disk,
    EmptyDirWarning,
    FanoutCache,
    Index,
    JSONDisk,
    Lock,
    RLock,
    Timeout,
    UnknownFileWarning,
    barrier,
    memoize_stampede,
    throttle,
)
from diskcache_go.core import Constant, args_to_key, full_name
from diskcache_go.fanoutindex import FanoutIndex
from diskcache_go.fastcache import FastCache


class UpperDisk(Disk):
    """A Disk subclass, as users write them: str keys are stored upper-case."""

    def put(self, key: Any) -> tuple[Any, bool]:
        if isinstance(key, str):
            key = key.upper()
        return super().put(key)


def use_cache(directory: str) -> int:
    with Cache(directory, timeout=1, size_limit=2**20, eviction_policy='least-recently-used') as cache:
        assert cache.directory == directory
        timeout: float = cache.timeout
        disk: Disk = cache.disk
        assert timeout == 1 and isinstance(disk, Disk)
        size_limit: int = cache.size_limit
        assert size_limit == 2**20

        ok: bool = cache.set('a', 1, expire=60, tag='x')
        cache['b'] = b'bytes'
        added: bool = cache.add('c', [1, 2, 3], expire=None, retry=True)
        touched: bool = cache.touch('a', expire=120.5)
        count: int = cache.incr('n')
        count = cache.decr('n', 2, default=10)
        value: Any = cache.get('a', default=None, expire_time=True, tag=True)
        assert ok and added and touched and count == -1 and value[0] == 1
        assert cache['b'] == b'bytes' and 'c' in cache

        cache.set('file', io.BytesIO(b'x' * 100), read=True)
        reader: IO[bytes] = cache.read('file')
        with reader:
            assert reader.read() == b'x' * 100

        with cache.transact(retry=True):
            cache.set('t', 1)
            popped: Any = cache.pop('t')
        assert popped == 1
        deleted: bool = cache.delete('c')
        del cache['b']
        assert deleted

        key: Any = cache.push('job', prefix='queue', side='back')
        pulled: Any = cache.pull(prefix='queue')
        peeked: Any = cache.peek(prefix='queue', default=(None, None))
        assert pulled == (key, 'job') and peeked == (None, None)
        first: Any = cache.peekitem(last=False)
        assert first[0] == 'a'

        keys: list[Any] = list(cache.iterkeys(reverse=True)) + list(cache) + list(reversed(cache))
        assert keys
        length: int = len(cache)
        stats: tuple[int, int] = cache.stats(enable=True, reset=False)
        volume: int = cache.volume()
        assert length >= 1 and stats == (0, 0) and volume > 0

        @cache.memoize(name='square', typed=True, expire=60, tag='memo', ignore={'verbose'})
        def square(number: int, verbose: bool = False) -> int:
            return number * number

        result: int = square(4)
        cache_key: tuple[Any, ...] = square.__cache_key__(4, verbose=True)
        assert result == 16 and cache[cache_key] == 16
        assert square.__wrapped__(5) == 25

        found: list[warnings.WarningMessage] = cache.check(fix=False)
        assert isinstance(found, list)
        cache.create_tag_index()
        cache.drop_tag_index()
        removed: int = cache.expire() + cache.evict('x') + cache.cull() + cache.clear(retry=True)
        setting: Any = cache.reset('cull_limit', 5)
        assert removed >= 1 and setting == 5
    return count


def use_disks(directory: str) -> None:
    with Cache(os.path.join(directory, 'json'), disk=JSONDisk, disk_compress_level=6) as cache:
        cache.set('doc', {'a': [1, 2]})
        assert cache.get('doc') == {'a': [1, 2]}
    with Cache(os.path.join(directory, 'upper'), disk=UpperDisk) as cache:
        cache['key'] = 1
        assert cache.get('KEY') == 1
    disk = JSONDisk(directory, compress_level=1, min_file_size=0)
    db_key, raw = disk.put({'k': 1})
    assert disk.get(db_key, raw) == {'k': 1}
    assert isinstance(disk.hash('k'), int)
    sealed = Disk(directory, hmac_secret='secret', file_mode=0o600)
    secret: bytes | None = sealed.hmac_secret
    assert secret == b'secret' and sealed.file_mode == 0o600


def use_fanout(directory: str) -> None:
    cache = FanoutCache(directory, shards=4, timeout=0.5, size_limit=2**22)
    try:
        assert cache.set('a', 1, expire=10) and cache.add('b', 2)
        cache['c'] = 3
        total: int | None = cache.incr('n', delta=5)
        assert total == 5
        assert cache.get('a') == 1 and cache['c'] == 3 and 'b' in cache
        assert cache.pop('b') == 2 and cache.delete('a')
        del cache['c']

        @cache.memoize(expire=60)
        def greet(name: str) -> str:
            return 'hello ' + name

        assert greet('you') == 'hello you'
        sub: Cache = cache.cache('sub')
        queue: Deque = cache.deque('queue', maxlen=10)
        table: Index = cache.index('table')
        sub['x'] = 1
        queue.append(1)
        table['y'] = 2
        with cache.transact():
            assert len(cache) >= 1
        hits, misses = cache.stats()
        assert hits >= 0 and misses >= 0
        assert cache.volume() > 0 and cache.check() == []
        assert cache.expire() >= 0 and cache.cull() >= 0 and cache.clear() >= 1
        policy: str = cache.eviction_policy
        assert policy in EVICTION_POLICY
    finally:
        cache.close()


def use_deque(directory: str) -> Sequence[Any]:
    deque = Deque([1, 2, 3], directory=directory, maxlen=5)
    deque.append(4)
    deque.appendleft(0)
    deque.extend([5])
    deque.extendleft([-1])
    deque += [6]
    assert deque.pop() == 6 and deque.popleft() == 1
    assert deque.peek() == 4 and deque.peekleft() == 2
    deque.rotate(-1)
    deque.reverse()
    deque[0] = 'first'
    del deque[0]
    deque.remove(4)
    assert deque.count(3) == 1
    with deque.transact():
        items: list[Any] = list(deque)
    assert items == list(reversed(list(reversed(deque))))
    maxlen: float = deque.maxlen
    deque.maxlen = 3
    assert maxlen == 5 and len(deque) <= 3
    other = Deque.fromcache(deque.cache, maxlen=None)
    copy: Deque = other.copy()
    assert copy == deque and not (copy < deque)
    deque.clear()
    return items


def use_index(directory: str) -> MutableMapping[Any, Any]:
    index = Index(directory, {'a': 1}, b=2)
    index['c'] = 3
    assert index.setdefault('d', 4) == 4
    assert index.pop('d') == 4 and index.pop('missing', None) is None
    assert list(index.keys()) == ['a', 'b', 'c']
    assert list(index.values()) == [1, 2, 3]
    assert list(index.items())[0] == ('a', 1)
    last: tuple[Any, Any] = index.peekitem()
    first: tuple[Any, Any] = index.popitem(last=False)
    assert last == ('c', 3) and first == ('a', 1)
    key: Any = index.push('job', prefix='q')
    assert index.pull(prefix='q') == (key, 'job')
    with index.transact():
        index.update({'e': 5})
    same = Index.fromcache(index.cache)
    assert same == index and index.directory == directory

    @index.memoize(typed=True)
    def double(number: float) -> float:
        return number * 2

    assert double(1.5) == 3.0
    reversed_keys: list[Any] = list(reversed(index))
    assert reversed_keys[-1] == 'b'
    return index


def use_fanout_index(directory: str) -> None:
    with FanoutIndex(directory, shards=2) as index:
        index.update(a=1, b=2)
        index['c'] = 3
        assert index.get('a') == 1 and 'b' in index and len(index) == 3
        assert sorted(index.keys()) == ['a', 'b', 'c']
        assert index.setdefault('a', 9) == 1 and index.pop('b') == 2
        shards: tuple[Index, ...] = index.shards
        assert len(shards) == 2
        with index.transact():
            del index['c']

        @index.memoize()
        def ident(value: str) -> str:
            return value

        assert ident('x') == 'x'
        index.clear()


def use_fastcache() -> None:
    cache = FastCache(max_entries=100, size_limit=2**20, sizeof=sys.getsizeof, statistics=True)
    with cache:
        assert cache.set('a', 1, expire=1.5, tag='t') and cache.add('b', 2)
        cache['c'] = 3
        assert cache.incr('n', 1.5) == 1.5
        assert cache.get('a') == 1 and cache['c'] == 3 and 'b' in cache
        assert cache.touch('a', None) and cache.pop('b') == 2 and cache.delete('c')
        limit: int | None = cache.max_entries
        cache.max_entries = 50
        cache.size_limit = None
        assert limit == 100 and cache.evict('t') == 1

        @cache.memoize(expire=10)
        def cube(number: int) -> int:
            return number**3

        assert cube(2) == 8 and cube.__cache_key__(2)
        hits, misses = cache.stats()
        assert hits + misses > 0 and cache.volume() >= 0
        assert cache.expire() + cache.cull() + cache.clear() >= 0


def use_diskcache_rs_calls(directory: str) -> None:
    """The calls diskcache_rs's users know."""
    with diskcache_go.DiskCache(os.path.join(directory, 'c'), disk_write_threshold=0) as cache:
        stored: int = cache.set_many({'a': 1, 'b': 2}, expire=60, tag='t')
        found: dict[Any, Any] = cache.get_many(['a', 'z'])
        present: bool = cache.exists('a')
        keys: list[Any] = cache.keys()
        values: list[Any] = cache.values()
        items: list[tuple[Any, Any]] = cache.items()
        stats: diskcache_go.Stats = cache.stats()
        removed: int = cache.vacuum()
        assert stored == 2 and found == {'a': 1} and present and keys == ['a', 'b']
        assert values == [1, 2] and items == [('a', 1), ('b', 2)] and removed == 0
        assert stats.hits + stats.misses >= 0
    disk = Disk(directory, write_threshold=10)
    where: str = disk.directory
    size, mode, filename, db_value = disk.store(3)
    assert where == directory and disk.fetch(mode, filename, db_value) == 3 and size == 0
    with FanoutCache(os.path.join(directory, 'f'), shards=2) as fanout:
        fanout['k'] = 1
        assert fanout.expire(now=0.0) + fanout.vacuum() == 0
        assert fanout.exists('k') and fanout.keys() == ['k'] and fanout.items() == [('k', 1)]
        assert fanout.values() == [1] and fanout.stats().misses == 0
    with Index(os.path.join(directory, 'i')) as index, Deque(directory=os.path.join(directory, 'd')) as deque:
        index['x'] = 1
        deque.append(1)
    index.close()
    deque.close()
    fast = FastCache(max_size=1000, default_ttl_seconds=60)
    fast['x'] = 1
    ttl: float | None = fast.default_ttl_seconds
    assert ttl == 60 and fast.exists('x') and fast.keys() == ['x'] and fast.stats().hits == 0


def use_recipes(directory: str) -> None:
    with Cache(directory, eviction_policy='none') as cache:
        average = Averager(cache, 'latency', expire=60)
        average.add(1.0)
        average.add(2.0)
        mean: float | None = average.get()
        assert mean == 1.5 and average.pop() == 1.5

        lock = Lock(cache, 'lock')
        with lock:
            assert lock.locked()
        rlock = RLock(cache, 'rlock', expire=10)
        with rlock:
            rlock.acquire()
            rlock.release()
        semaphore = BoundedSemaphore(cache, 'sem', value=2)
        semaphore.acquire()
        semaphore.release()

        @throttle(cache, 100, 1, name='throttled')
        def fast(value: int) -> int:
            return value + 1

        @barrier(cache, Lock, name='barrier')
        def guarded(text: str, *, repeat: int = 1) -> str:
            return text * repeat

        @memoize_stampede(cache, expire=60, beta=0.5)
        def slow(value: int) -> list[int]:
            return [value]

        assert fast(1) == 2 and guarded('ab', repeat=2) == 'abab'
        stampede: list[int] = slow(3)
        assert stampede == [3] and slow.__cache_key__(3)


def use_django(directory: str) -> None:
    if importlib.util.find_spec('django') is None:
        return  # DjangoCache needs Django
    from diskcache_go import DjangoCache

    cache = DjangoCache(directory, {'SHARDS': 2, 'DATABASE_TIMEOUT': 0.1, 'OPTIONS': {'size_limit': 2**22}})
    try:
        assert cache.set('a', 1, timeout=60) and cache.add('b', 2, timeout=None)
        assert cache.get('a') == 1 and cache.has_key('b')
        total: int | None = cache.incr('b', 3)
        assert total == 5 and cache.decr('b') == 4
        assert cache.touch('a', timeout=120) and cache.pop('a') == 1
        deleted: bool = cache.delete('b')
        assert deleted
        sub: Cache = cache.cache('sub')
        queue: Deque = cache.deque('queue')
        table: Index = cache.index('table')
        assert sub.directory and queue.directory and table.directory

        @cache.memoize(timeout=60, tag='memo')
        def triple(value: int) -> int:
            return 3 * value

        assert triple(2) == 6
        seconds: float | None = cache.get_backend_timeout(10)
        assert seconds == 10 and cache.stats() >= (0, 0)
        assert cache.expire() + cache.cull() + cache.evict('memo') + cache.clear() >= 0
    finally:
        cache.close()


def use_module_api() -> None:
    version: str = diskcache_go.__version__
    assert version and 'Cache' in diskcache_go.__all__
    marker: Constant = ENOVAL
    assert marker is not UNKNOWN and repr(UNKNOWN) == 'UNKNOWN'
    assert DEFAULT_SETTINGS['eviction_policy'] in EVICTION_POLICY
    assert full_name(use_module_api).endswith('use_module_api')
    assert args_to_key(('f',), (1,), {}, False, ()) == ('f', 1, None)
    errors: tuple[type[Exception], ...] = (Timeout, UnknownFileWarning, EmptyDirWarning)
    assert all(issubclass(error, Exception) for error in errors)


@contextlib.contextmanager
def tempdir() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix='dcg-typing-')
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> int:
    with tempdir() as root:
        use_cache(os.path.join(root, 'cache'))
        use_disks(os.path.join(root, 'disks'))
        use_fanout(os.path.join(root, 'fanout'))
        use_deque(os.path.join(root, 'deque'))
        use_index(os.path.join(root, 'index'))
        use_fanout_index(os.path.join(root, 'fanoutindex'))
        use_fastcache()
        use_diskcache_rs_calls(os.path.join(root, 'rs'))
        use_recipes(os.path.join(root, 'recipes'))
        use_django(os.path.join(root, 'django'))
        use_module_api()
    print('typing example: ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
