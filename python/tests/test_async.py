"""The awaitable methods (aio.py, docs/async.md).

* Parity: each ``a``-method of Cache, FanoutCache, Index and Deque gives the
  result (or raises the exception) its sync twin gives, on twin caches
  holding the same items: inline values, value files, queues, tuple keys,
  the expire-time and tag shapes, errors.
* The loop never stalls: while another process holds the writer lock for a
  second, fifty tasks write and a ticker on the loop keeps ticking at
  least every 50 ms (the bound issue 19 sets); reads are answered while the
  lock is still held, and the writes complete once it is released.
* ``atransact``: other tasks of the loop wait for the block, its own calls
  join it, an exception rolls it back, and a lock held elsewhere makes it
  raise Timeout without blocking the loop.
"""

import asyncio
import gc
import io
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from conftest import outcome

import diskcache_go
from diskcache_go import Cache, Deque, FanoutCache, Index, Timeout

PYTHON_SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LARGE = b'L' * 100_000  # above min_file_size: kept in a value file
LARGE_TEXT = 'T' * 70_000


def run(coro):
    return asyncio.run(coro)


async def aoutcome(awaitable):
    """``outcome`` for an awaitable."""
    try:
        result = await awaitable
    except Exception as exc:  # captured for comparison, never swallowed
        return outcome(lambda: (_ for _ in ()).throw(exc))
    return outcome(lambda: result)


def fill(cache):
    cache.set('s', 'text', tag='t1')
    cache.set(7, 70, expire=100)
    cache.set(b'b', b'bytes')
    cache.set(1.5, [1, 2, 3], expire=50, tag=9)
    cache.set(('tu', 1, None), {'a': 1})
    cache.set('file', LARGE, tag='big')
    cache.set('tfile', LARGE_TEXT)
    cache.set('n', 5)
    cache.set('huge', 2 ** 62)
    for value in ('q1', LARGE, 'q3'):
        cache.push(value, prefix='q')
    cache.push('plain')


# (method name, args, kwargs) run as cache.name(...) and cache.aname(...).
CACHE_CALLS = [
    ('get', ('s',), {}),
    ('get', ('s',), {'expire_time': True, 'tag': True}),
    ('get', (7,), {'expire_time': True}),
    ('get', (1.5,), {'tag': True}),
    ('get', (('tu', 1, None),), {}),
    ('get', ('file',), {}),
    ('get', ('file',), {'expire_time': True, 'tag': True}),
    ('get', ('tfile',), {}),
    ('get', ('missing', 'dflt'), {}),
    ('get', ('missing',), {'expire_time': True, 'tag': True}),
    ('set', ('s', 'new'), {'expire': 10, 'tag': 'x'}),
    ('set', ('new-file', LARGE), {}),
    ('set', (('k', 2), {'v': 1}), {}),
    ('set', ([1],), {'value': 1}),
    ('add', ('s', 'other'), {}),
    ('add', ('fresh', 'v'), {'expire': 5}),
    ('add', ('fresh-file', LARGE), {}),
    ('touch', ('s',), {'expire': 30}),
    ('touch', ('missing',), {}),
    ('delete', ('s',), {}),
    ('delete', ('file',), {}),
    ('delete', ('missing',), {}),
    ('incr', ('n',), {}),
    ('incr', ('n', 10), {}),
    ('incr', ('missing-n',), {'default': 3}),
    ('incr', ('missing-n',), {'default': None}),
    ('incr', ('s',), {}),
    ('incr', ('huge', 2 ** 62), {}),
    ('decr', ('n', 2), {}),
    ('pop', ('s',), {'expire_time': True, 'tag': True}),
    ('pop', ('file',), {'tag': True}),
    ('pop', ('missing', 'gone'), {}),
    ('push', ('v',), {'prefix': 'q', 'side': 'front'}),
    ('push', (LARGE,), {}),
    ('push', ('v',), {'side': 'middle'}),
    ('pull', (), {'prefix': 'q'}),
    ('pull', (), {'prefix': 'q', 'side': 'back', 'expire_time': True, 'tag': True}),
    ('pull', (), {'prefix': 'empty'}),
    ('pull', (), {}),
    ('peek', (), {'prefix': 'q', 'side': 'back'}),
    ('peek', (), {'prefix': 'empty', 'default': 'none'}),
    ('peekitem', (), {}),
    ('peekitem', (), {'last': False, 'tag': True}),
    ('get_many', (['s', 7, 'missing', 'file'],), {}),
    ('get_many', ('s',), {}),
    ('set_many', ({'m1': 1, 'm2': LARGE},), {'expire': 9}),
    ('expire', (), {}),
    ('evict', ('t1',), {}),
    ('clear', (), {}),
    ('cull', (), {}),
    ('check', (), {}),
    ('stats', (), {}),
    ('exists', ('s',), {}),
    ('exists', ('missing',), {}),
    ('exists', ('file',), {}),
]


def call_id(call):
    name, args, kwargs = call
    return '%s-%s-%s' % (name, repr(args)[:20], sorted(kwargs))


@pytest.mark.parametrize('call', CACHE_CALLS, ids=call_id)
def test_cache_method_twins(call, clock, tmp_path):
    name, args, kwargs = call
    sync_cache = Cache(str(tmp_path / 'sync'))
    async_cache = Cache(str(tmp_path / 'async'))
    for cache in (sync_cache, async_cache):
        cache.stats(enable=True)
        fill(cache)
    expected = outcome(lambda: getattr(sync_cache, name)(*args, **kwargs))
    got = run(aoutcome(getattr(async_cache, 'a' + name)(*args, **kwargs)))
    assert got == expected
    # The same items (and statistics) afterwards.
    assert sorted(map(repr, async_cache)) == sorted(map(repr, sync_cache))
    for key in sync_cache:
        assert async_cache.get(key, expire_time=True, tag=True) == sync_cache.get(
            key, expire_time=True, tag=True)
    assert async_cache.stats() == sync_cache.stats()


def test_len_contains_volume_and_read(tmp_path):
    cache = Cache(str(tmp_path))
    fill(cache)

    async def main():
        assert await cache.alen() == len(cache)
        assert await cache.acontains('s') and not await cache.acontains('missing')
        assert await cache.avolume() == cache.volume()
        with await cache.aread('file') as handle:
            assert handle.read() == LARGE
        with pytest.raises(KeyError):
            await cache.aread('missing')
        assert await cache.aset('streamed', io.BytesIO(LARGE), read=True)
        assert cache.get('streamed') == LARGE
        assert await cache.avacuum() == cache.vacuum()

    run(main())


def test_fanout_twins(tmp_path, clock):
    sync_cache = FanoutCache(str(tmp_path / 'sync'), shards=3)
    async_cache = FanoutCache(str(tmp_path / 'async'), shards=3)
    calls = [
        ('set', ('a', 1), {'tag': 'x'}), ('set', ('f', LARGE), {}), ('get', ('a',), {'tag': True}),
        ('get', ('f',), {}), ('get', ('zz', 'd'), {}), ('add', ('a', 2), {}),
        ('touch', ('a', 10), {}), ('incr', ('n',), {}), ('decr', ('n', 3), {}),
        ('incr', ('zz',), {'default': None}), ('pop', ('f',), {}), ('delete', ('a',), {}),
        ('exists', ('n',), {}), ('stats', (), {}), ('expire', (), {}), ('evict', ('x',), {}),
        ('cull', (), {}), ('check', (), {}), ('clear', (), {}),
    ]
    for name, args, kwargs in calls:
        expected = outcome(lambda: getattr(sync_cache, name)(*args, **kwargs))
        got = run(aoutcome(getattr(async_cache, 'a' + name)(*args, **kwargs)))
        assert got == expected, name
    assert run(async_cache.alen()) == len(sync_cache)


def test_fanout_timeout_gives_up_as_sync(tmp_path):
    # A shard whose lock another thread holds: sync and async alike return
    # False / None / default after the shard's timeout.
    cache = FanoutCache(str(tmp_path), shards=1, timeout=0.05)
    cache.set('k', 1)
    held, release = threading.Event(), threading.Event()

    def holder():
        with cache._shards[0].transact():
            held.set()
            release.wait()

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    try:
        async def main():
            return (await cache.aset('k', 2), await cache.aadd('j', 1), await cache.aincr('n'),
                    await cache.adelete('k'), await cache.apop('k', 'dflt'))

        assert run(main()) == (False, False, None, False, 'dflt')
    finally:
        release.set()
        thread.join()
    assert cache.get('k') == 1


def test_index_and_deque_twins(tmp_path):
    index = Index(str(tmp_path / 'index'))

    async def index_calls():
        await index.asetitem('a', 1)
        await index.asetitem('b', LARGE)
        assert await index.agetitem('a') == 1 == index['a']
        assert await index.aget('missing', 'd') == 'd'
        with pytest.raises(KeyError):
            await index.agetitem('missing')
        assert await index.asetdefault('a', 5) == 1
        assert await index.asetdefault('c', 5) == 5
        assert await index.acontains('b') and await index.alen() == 3
        assert await index.apeekitem() == ('c', 5)
        assert await index.apopitem(last=False) == ('a', 1)
        assert await index.apop('b') == LARGE
        assert await index.apop('b', 'd') == 'd'
        with pytest.raises(KeyError):
            await index.apop('b')
        await index.adelitem('c')
        with pytest.raises(KeyError):
            await index.adelitem('c')
        with pytest.raises(KeyError, match='dictionary is empty'):
            await index.apeekitem()
        key = await index.apush('p', prefix='q')
        assert await index.apull(prefix='q') == (key, 'p')
        await index.asetitem('x', 1)
        await index.aclear()
        assert len(index) == 0

    run(index_calls())

    deque = Deque(directory=str(tmp_path / 'deque'), maxlen=3)
    reference = Deque(directory=str(tmp_path / 'deque-sync'), maxlen=3)

    async def deque_calls():
        await deque.aextend([1, 2, LARGE, 4])
        reference.extend([1, 2, LARGE, 4])
        assert list(deque) == list(reference)
        await deque.aappendleft(0)
        reference.appendleft(0)
        assert list(deque) == list(reference)
        assert await deque.apeek() == reference.peek()
        assert await deque.apeekleft() == reference.peekleft()
        assert await deque.agetitem(1) == reference[1]
        await deque.asetitem(0, 'zero')
        reference[0] = 'zero'
        await deque.arotate(1)
        reference.rotate(1)
        assert list(deque) == list(reference)
        await deque.aremove('zero')
        reference.remove('zero')
        assert await deque.apop() == reference.pop()
        assert await deque.apopleft() == reference.popleft()
        assert await deque.alen() == len(reference) == 0
        with pytest.raises(IndexError, match='pop from an empty deque'):
            await deque.apop()
        with pytest.raises(IndexError, match='peek from an empty deque'):
            await deque.apeekleft()

    run(deque_calls())


HOLDER = textwrap.dedent('''
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from diskcache_go import Cache
    cache = Cache(sys.argv[2])
    with cache.transact():
        cache.set('holder', 1)
        print('held', flush=True)
        time.sleep(float(sys.argv[3]))
    open(sys.argv[4], 'w').close()
    print('released', flush=True)
''')


def hold_lock_in_child(directory, seconds, marker):
    """Start a process that holds ``directory``'s writer lock for
    ``seconds``, then creates ``marker``; returns once the lock is held."""
    child = subprocess.Popen(
        [sys.executable, '-c', HOLDER, PYTHON_SRC, directory, str(seconds), marker],
        stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout.readline().strip() == 'held'
    return child


def quiet_collector():
    """Collect the garbage of the earlier tests now (their caches are
    closed by __del__) and freeze what survives: a full collection of the
    test process's heap in the middle of a measurement pauses the loop for
    as long as the heap is large, which is not what the measurement is
    about. (Unfrozen by the fixture below.)"""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _unfreeze():
    yield
    gc.unfreeze()


async def ticking(done, gaps):
    """Tick every 5 ms until ``done`` is set, recording each gap."""
    loop = asyncio.get_running_loop()
    last = loop.time()
    while not done.is_set():
        await asyncio.sleep(0.005)
        now = loop.time()
        gaps.append(now - last)
        last = now


def test_loop_keeps_ticking_while_another_process_holds_the_lock(tmp_path):
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'released')
    cache = Cache(directory)
    for i in range(50):
        cache.set(('read', i), i)
    cache.set('file', LARGE)
    child = hold_lock_in_child(directory, 1.0, marker)
    quiet_collector()
    try:
        async def main():
            done = asyncio.Event()
            gaps = []
            ticker = asyncio.create_task(ticking(done, gaps))
            await asyncio.sleep(0.02)
            # Reads take no lock: answered while the other process holds it.
            reads = await asyncio.gather(*(cache.aget(('read', i)) for i in range(50)),
                                         cache.aget('file'))
            read_while_held = not os.path.exists(marker)
            writes = await asyncio.gather(*(cache.aset(('write', i), i) for i in range(50)))
            written_after_release = os.path.exists(marker)
            done.set()
            await ticker
            return reads, read_while_held, writes, written_after_release, gaps

        reads, read_while_held, writes, written_after_release, gaps = run(main())
    finally:
        child.wait(timeout=30)
    assert reads == list(range(50)) + [LARGE]
    assert read_while_held
    assert writes == [True] * 50
    assert written_after_release
    assert all(cache.get(('write', i)) == i for i in range(50))
    assert len(gaps) > 20
    assert max(gaps) < 0.050, 'the event loop stalled for %.3f s' % max(gaps)


def test_other_tasks_wait_for_an_async_transaction(tmp_path):
    cache = Cache(str(tmp_path))
    order = []

    async def owner(entered):
        async with cache.atransact():
            entered.set()
            await cache.aset('x', 'owner-1')
            await asyncio.sleep(0.05)
            # Its own reads see its writes; the other task's are not in.
            assert await cache.aget('x') == 'owner-1'
            cache.set('sync', 'joined')  # a sync call of the owner joins too
            await cache.aset('x', 'owner-2')
            order.append('owner done')

    async def other(entered):
        await entered.wait()
        await cache.aset('x', 'other')
        order.append('other wrote')

    async def main():
        entered = asyncio.Event()
        await asyncio.gather(owner(entered), other(entered))

    run(main())
    assert order == ['owner done', 'other wrote']
    assert cache.get('x') == 'other'
    assert cache.get('sync') == 'joined'


def test_async_transaction_rolls_back_and_nests(tmp_path):
    cache = Cache(str(tmp_path))

    async def main():
        with pytest.raises(ValueError):
            async with cache.atransact():
                await cache.aset('a', 1)
                async with cache.atransact():
                    await cache.aset('b', 2)
                raise ValueError('roll back')
        async with cache.atransact():
            async with cache.atransact():
                await cache.aset('c', 3)
            await cache.aincr('c')

    run(main())
    assert 'a' not in cache and 'b' not in cache
    assert cache['c'] == 4


def test_async_transaction_times_out_without_stalling(tmp_path):
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'released')
    cache = Cache(directory, timeout=0.2)
    child = hold_lock_in_child(directory, 1.0, marker)
    quiet_collector()
    try:
        async def main():
            done = asyncio.Event()
            gaps = []
            ticker = asyncio.create_task(ticking(done, gaps))
            with pytest.raises(Timeout):
                async with cache.atransact():
                    pass
            timed_out_while_held = not os.path.exists(marker)
            async with cache.atransact(retry=True):
                await cache.aset('after', 1)
            done.set()
            await ticker
            return timed_out_while_held, gaps

        timed_out_while_held, gaps = run(main())
    finally:
        child.wait(timeout=30)
    assert timed_out_while_held
    assert cache['after'] == 1
    assert max(gaps) < 0.050


def test_async_transaction_excludes_other_threads(tmp_path):
    cache = Cache(str(tmp_path), timeout=0.05)
    results = []

    async def main():
        async with cache.atransact():
            await cache.aset('k', 'loop')
            thread = threading.Thread(target=lambda: results.append(
                outcome(lambda: cache.set('k', 'thread'))))
            thread.start()
            await asyncio.get_running_loop().run_in_executor(None, thread.join)

    run(main())
    assert [result[:2] for result in results] == [('raise', 'Timeout')]
    assert cache['k'] == 'loop'


def test_network_mode_runs_in_threads(tmp_path):
    cache = Cache(str(tmp_path), network_mode='network')
    assert cache.network_mode == 'network'

    async def main():
        assert await cache.aset('a', 1)
        assert await cache.aget('a') == 1
        assert await cache.apop('a') == 1
        async with cache.atransact():
            await cache.aset('b', 2)
        return threading.get_ident()

    run(main())
    assert cache['b'] == 2


def test_fanout_async_transaction(tmp_path):
    cache = FanoutCache(str(tmp_path), shards=4)

    async def main():
        with pytest.raises(AssertionError):
            async with cache.atransact(retry=False):
                pass
        with pytest.raises(RuntimeError):
            async with cache.atransact():
                for i in range(8):
                    await cache.aset(i, i)
                raise RuntimeError
        async with cache.atransact():
            for i in range(8):
                await cache.aset(i, -i)

    run(main())
    assert sorted(cache) == list(range(8))
    assert all(cache[i] == -i for i in range(8))


def test_module_exports():
    assert diskcache_go.aio.AsyncCacheMixin in Cache.__mro__


def test_calls_reopen_a_closed_cache(tmp_path):
    cache = Cache(str(tmp_path))
    cache.set('a', 1)
    cache.close()

    async def main():
        found = await cache.aget('a')
        cache.close()
        stored = await cache.aset('b', 2)
        cache.close()
        return found, stored, await cache.apop('b')

    assert run(main()) == (1, True, 2)
