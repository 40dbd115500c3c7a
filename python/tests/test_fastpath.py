"""The shortcuts of Cache.get and key encoding give exactly what the general
paths give (the differential suites compare them with python-diskcache;
these pin the cases a shortcut could get wrong)."""

import functools
import pathlib

import diskcache
import pytest

import diskcache_go


@pytest.fixture
def pair(tmp_path):
    ref = diskcache.Cache(str(tmp_path / 'ref'))
    new = diskcache_go.Cache(str(tmp_path / 'new'))
    yield ref, new
    ref.close()
    new.close()


def test_equal_tuple_keys_of_other_types_stay_apart(pair):
    for cache in pair:
        cache.set((1,), 'int')
        cache.set((True,), 'bool')
        cache.set((1, None), 'none')
        cache.set(('a', b'a'), 'mixed')
    for key in [(1,), (True,), (1, None), ('a', b'a'), (0,), (False,), (1.0,)]:
        assert pair[1].get(key, 'missing') == pair[0].get(key, 'missing'), key
    assert len(pair[1]) == len(pair[0]) == 4


def test_key_memo_follows_a_new_pickle_protocol(pair):
    for cache in pair:
        cache.set(('k', 1), 'p5')
        assert cache.get(('k', 1)) == 'p5'
        cache.reset('disk_pickle_protocol', 2)
        # Another protocol encodes the key differently: python-diskcache
        # no longer finds it, and neither may a remembered encoding.
        assert cache.get(('k', 1)) is None
        cache.set(('k', 1), 'p2')
    assert sorted(map(repr, pair[1])) == sorted(map(repr, pair[0]))
    assert pair[1].get(('k', 1)) == pair[0].get(('k', 1)) == 'p2'


def test_a_secret_set_later_turns_the_shortcut_off(tmp_path):
    directory = str(tmp_path / 'c')
    with diskcache_go.Cache(directory) as cache:
        cache.set('k', {'v': 1})
        assert cache.get('k') == {'v': 1}
        cache.reset('disk_hmac_secret', 's3cret')
        # The pickle has no tag for this secret: refused, not unpickled by
        # the C shortcut.
        with pytest.raises(diskcache_go.core.UntrustedDataError):
            cache.get('k')


def test_statistics_count_once_per_lookup(tmp_path):
    with diskcache_go.Cache(str(tmp_path / 'c'), statistics=True) as cache:
        cache.set('small', b'x')
        cache.set('file', b'y' * 100000)
        cache.set(('t', 1), 'tuple')
        for key in ('small', 'file', ('t', 1), 'absent', ('absent',)):
            cache.get(key)
        assert cache.stats() == (3, 2)


def test_get_arguments_every_way_they_can_be_passed(pair):
    """Cache.get is a C method descriptor: positional, keyword, and the
    arguments it hands to the Python function give python-diskcache's
    results and errors."""
    for cache in pair:
        cache.set('k', b'v', expire=1000, tag='t')
    calls = [
        (('k',), {}),
        (('missing', 'd'), {}),
        (('missing',), {'default': 'kw'}),
        (('k', None, False, False, False, True), {}),
        (('k',), {'read': False, 'expire_time': False, 'tag': False, 'retry': True}),
        (('k',), {'tag': True}),
        (('k', None, False, True, True), {}),
        ((), {'key': 'k'}),
        ((), {'key': 'missing', 'default': 5}),
        (('k',), {'key': 'k'}),
        (('k',), {'bogus': 1}),
        ((), {}),
        (('k', 1, 2, 3, 4, 5, 6), {}),
        (('missing', 1), {'default': 2}),
    ]
    # cache.get as a bound value, the descriptor called with the instance
    # first (what `cache.get(k)` does) and its tp_call (through the
    # __call__ slot wrapper, which does not use vectorcall).
    descriptor = type(pair[1]).__dict__['get']
    ways = [pair[0].get, pair[1].get, functools.partial(descriptor, pair[1]),
            functools.partial(descriptor.__call__, pair[1])]
    for args, kwargs in calls:
        results = []
        for get in ways:
            try:
                value = get(*args, **kwargs)
            except TypeError as error:
                value = TypeError
                assert 'get()' in str(error), error
            if isinstance(value, tuple) and len(value) > 1 and isinstance(value[1], float):
                value = (value[0], 'expire-time') + value[2:]
            results.append(value)
        assert results[1:] == [results[0]] * 3, (args, kwargs, results)


def test_get_on_the_class_and_as_a_value(tmp_path):
    import inspect

    with diskcache_go.Cache(str(tmp_path / 'c')) as cache:
        cache.set('k', 'v')
        # On the class it is the Python function: its signature and docs.
        assert list(inspect.signature(diskcache_go.Cache.get).parameters)[:2] == ['self', 'key']
        assert diskcache_go.Cache.get(cache, 'k') == 'v'
        assert 'default' in inspect.signature(cache.get).parameters
        assert cache.get.__name__ == 'get'
    # A bound get keeps its cache alive, as a bound method does.
    getter = diskcache_go.Cache(str(tmp_path / 'c')).get
    import gc

    gc.collect()
    assert getter('k') == 'v'
    assert getter('missing', default=3) == 3


def test_a_subclass_get_overrides_and_reaches_the_fast_one(tmp_path):
    class Counting(diskcache_go.Cache):
        calls = 0

        def get(self, key, default=None, **kwargs):
            Counting.calls += 1
            return super().get(key, default, **kwargs)

    with Counting(str(tmp_path / 'c')) as cache:
        cache.set('k', 1)
        assert cache.get('k') == 1 and cache.get('x', 2) == 2
        assert Counting.calls == 2


def test_the_c_get_follows_the_handle_the_settings_and_the_clock(tmp_path):
    from unittest import mock

    with diskcache_go.Cache(str(tmp_path / 'c')) as cache:
        cache.set('k', 'v', expire=10)
        cache.close()
        assert cache.get('k') == 'v'            # reopened by the Python path
        cache.reset('statistics', True)
        cache.get('k')
        cache.get('nope')
        assert cache.stats() == (1, 1)
        cache.reset('statistics', False)
        cache.get('k')
        assert cache.stats() == (1, 1)
        now = __import__('time').time()
        with mock.patch('time.time', lambda: now + 20):
            assert cache.get('k') is None       # the patched clock is read
        assert cache.get('k') == 'v'
        # With the real clock the engine reads it, only for an entry with
        # an expire time: one that has passed is a miss.
        cache.set('brief', 'v', expire=0.05)
        cache.set('forever', 'v')
        assert cache.get('brief') == 'v'
        __import__('time').sleep(0.1)
        assert cache.get('brief', 'gone') == 'gone'
        assert cache.get('forever') == 'v'
        assert cache._fast is not None and cache._fast[5] is True
        cache.reset('eviction_policy', 'least-recently-used')
        # A policy that records reads turns the C get off (the Python get
        # writes the access time); set and delete stay in C.
        assert cache._fast[5] is False
        assert cache.get('k') == 'v'


def test_the_c_methods_never_use_another_caches_remembered_state(tmp_path):
    # The C methods remember the last instance's _fast; alternating caches,
    # a closed one, a changed setting and a new cache made where a dropped
    # one was must each still reach their own data.
    import gc

    a = diskcache_go.Cache(str(tmp_path / 'a'))
    b = diskcache_go.Cache(str(tmp_path / 'b'))
    a.set('k', 'a')
    b.set('k', 'b')
    for _ in range(3):
        assert (a.get('k'), b.get('k'), a.get('k')) == ('a', 'b', 'a')
    a.close()
    assert a.get('k') == 'a'                    # reopened by the Python path
    a.reset('statistics', True)
    a.get('k')
    assert a.stats() == (1, 0)                  # the new flags were read
    b.close()
    for n in range(20):
        # Freed and made again: CPython often puts the new object where the
        # old one was, which a remembered raw address would take for it.
        c = diskcache_go.Cache(str(tmp_path / ('c%d' % n)))
        assert c.get('k') is None
        c.set('k', n)
        assert c.get('k') == n
        c.close()
        del c
        gc.collect()
    a.close()


def test_c_set_and_delete_under_policies_that_record_reads(tmp_path):
    """Under least-recently-used and least-frequently-used, set and delete
    take the C path and get the Python one (which records the read); a cull
    then removes the entries the policy ranks first."""
    from unittest import mock

    tick = [1000.0]

    def clock():
        tick[0] += 1.0
        return tick[0]

    for policy in ('least-recently-used', 'least-frequently-used'):
        with mock.patch('time.time', clock), \
                diskcache_go.Cache(str(tmp_path / policy), eviction_policy=policy) as cache:
            assert cache._fast is not None and cache._fast[5] is False
            rank = {}                      # key -> what the policy orders by
            order = []                     # insertion order (rowid)
            for i in range(40):
                key = 'k%02d' % i
                cache.set(key, b'v' * 100)
                order.append(key)
                rank[key] = [tick[0], 0]
            for i in range(0, 40, 3):
                for _ in range(1 + i % 2):
                    key = 'k%02d' % i
                    assert cache.get(key) == b'v' * 100
                    rank[key][0] = tick[0]
                    rank[key][1] += 1
            for i in range(1, 40, 7):
                assert cache.delete('k%02d' % i) is True
                del rank['k%02d' % i]
            cache.set('k06', b'w' * 100)   # an overwrite: stored now, count 0
            rank['k06'] = [tick[0], 0]
            if policy == 'least-recently-used':
                expected = sorted(rank, key=lambda k: (rank[k][0], order.index(k)))
            else:
                expected = sorted(rank, key=lambda k: (rank[k][1], order.index(k)))
            cache.reset('size_limit', cache.volume() - 1)
            before = set(cache)
            assert cache.cull() == 10
            assert sorted(before - set(cache)) == sorted(expected[:10]), policy



def test_reads_in_network_mode_wait_without_holding_the_gil(tmp_path):
    """In network mode a get waits for the lock when another thread of this
    process holds it; it must release the GIL while it waits, or the holder
    (which needs the GIL to finish) and the reader would wait for each
    other until the timeout."""
    import threading

    with diskcache_go.Cache(str(tmp_path / 'c'), network_mode='network') as cache:
        assert cache.network_mode == 'network'
        cache.set('k', 'old')
        holding, done = threading.Event(), threading.Event()

        def writer():
            with cache.transact():
                cache.set('k', 'new')
                holding.set()
                # Python work while the lock is held: needs the GIL.
                total = 0
                for i in range(200000):
                    total += i
                done.set()

        thread = threading.Thread(target=writer)
        thread.start()
        holding.wait(10)
        seen = cache.get('k')
        thread.join(10)
        assert done.is_set() and not thread.is_alive()
        assert seen in ('old', 'new')
        assert cache.get('k') == 'new'


def test_set_delete_and_incr_arguments_every_way_they_can_be_passed(pair, tmp_path):
    """Cache.set, Cache.delete and Cache.incr are C method descriptors too:
    whatever they do not handle themselves goes to the Python methods; the
    stored items and the results and errors equal python-diskcache's."""
    import io

    big = 'x' * (1 << 16)
    calls = [
        ('set', ('s', 'text'), {}),
        ('set', ('b', b'bytes'), {}),
        ('set', (7, 8), {}),
        ('set', (2 ** 70, 'big int key'), {}),
        ('set', ('i', 2 ** 70), {}),
        ('set', (True, 'bool key'), {}),
        ('set', ('f', 1.5), {}),
        ('set', ('e', 'expires'), {'expire': 100}),
        ('set', ('e2', 'expires'), {'expire': 2.5, 'retry': True}),
        ('set', ('t', 'tagged', None, False, 'tag'), {}),
        ('set', ('t2', 'tagged'), {'tag': 'tag'}),
        ('set', ('big', big), {}),
        ('set', ('bigb', big.encode()), {}),
        ('set', lambda: ('r', io.BytesIO(b'stream')), {'read': True}),
        ('set', (), {'key': 'kw', 'value': 'both by keyword'}),
        ('set', ('dup', 1), {'key': 'dup'}),
        ('set', ('unknown', 1), {'bogus': 2}),
        ('set', ('only-key',), {}),
        ('set', ('x', 1, None, False, None, False, 'extra'), {}),
        ('set', (('tuple', 'key'), {'a': 1}), {}),
        ('set', ('badexpire', 1), {'expire': 'soon'}),
        ('delete', ('s',), {}),
        ('delete', ('s',), {}),
        ('delete', (7,), {'retry': True}),
        ('delete', (), {'key': 'b'}),
        ('delete', (('tuple', 'key'),), {}),
        ('delete', ('big', True, 'extra'), {}),
        ('delete', (), {}),
        ('delete', ('x',), {'bogus': 1}),
        ('incr', ('c',), {}),
        ('incr', ('c', 5), {}),
        ('incr', ('c',), {'delta': -2, 'retry': True}),
        ('incr', (), {'key': 'c', 'delta': 3}),
        ('incr', ('d',), {'default': 10}),
        ('incr', ('d', 1, 7), {}),
        ('incr', ('c', True), {}),
        ('incr', ('fl', 1.5), {}),
        ('incr', ('fl',), {}),
        ('incr', ('f', 1), {}),             # a float stored by set
        ('incr', ('s',), {}),               # a str: TypeError
        ('incr', ('bigb', 1), {}),          # bytes in a file: TypeError
        ('incr', ('missing', 1, None), {}),  # KeyError
        ('incr', ('big', 2 ** 62), {}),
        ('incr', ('big', 2 ** 62), {}),     # OverflowError on a live value
        ('incr', ('huge', 2 ** 63), {}),    # out of int64: stored pickled
        ('incr', ('neg', -2 ** 63), {}),
        ('incr', ('neg', -1), {}),
        ('incr', (('tuple', 'count'),), {}),
        ('incr', ((1, 2),), {'default': 3}),
        ('incr', ('c',), {'bogus': 1}),
        ('incr', ('c', 1, 0, False, 'extra'), {}),
        ('incr', (), {}),
        ('incr', ('c', 'x'), {}),
    ]
    # The bound method (`g = cache.set; g(...)`) and the descriptor called
    # with the instance first (what `cache.set(...)` does) are two C entry
    # points; a third cache takes the second.
    third = diskcache_go.Cache(str(tmp_path / 'third'))
    for name, args, kwargs in calls:
        results = []
        for cache, call in ((pair[0], getattr(pair[0], name)), (pair[1], getattr(pair[1], name)),
                            (third, functools.partial(type(third).__dict__[name], third))):
            try:
                results.append(call(*(args() if callable(args) else args), **kwargs))
            except (TypeError, KeyError, OverflowError) as error:
                results.append(type(error))
        assert results[1] == results[0] and results[2] == results[0], (name, args, kwargs, results)
    assert sorted(map(repr, third)) == sorted(map(repr, pair[0]))
    third.close()
    for cache in pair:
        cache.set('i2', 5)
        assert cache.incr('i2') == 6          # an int stored by the C set
    keys = sorted(map(repr, pair[0]))
    assert sorted(map(repr, pair[1])) == keys
    for key in pair[0]:
        expected = pair[0].get(key, expire_time=True, tag=True)
        actual = pair[1].get(key, expire_time=True, tag=True)
        assert actual[0] == expected[0] and actual[2] == expected[2], key
        assert (actual[1] is None) == (expected[1] is None), key


@pytest.mark.parametrize('size', [0, 1, (256 << 10) - 1, 256 << 10, (256 << 10) + 1, (1 << 20) + 3])
def test_value_files_are_read_and_checksummed_piece_by_piece(tmp_path, size):
    import random
    import zlib

    from diskcache_go import _binding

    path = tmp_path / 'value'
    data = random.Random(size).randbytes(size)
    path.write_bytes(data)
    assert _binding.read_file(str(path)) == (data, zlib.crc32(data))
    assert _binding.read_file(path) == (data, zlib.crc32(data))  # a path object


def test_value_file_reads_that_the_c_reader_leaves_to_open(tmp_path):
    from diskcache_go import _binding

    with pytest.raises(FileNotFoundError) as raised:
        _binding.read_file(str(tmp_path / 'absent'))
    assert raised.value.filename == str(tmp_path / 'absent')
    # Not a regular file, and a file whose size is not what fstat says
    # (procfs reports 0): the caller reads these with open().
    assert _binding.read_file(str(tmp_path)) == (None, None)
    assert _binding.read_file('/proc/self/status') == (None, None)
    cache = diskcache_go.Cache(str(tmp_path / 'cache'))
    # An unsummed name is read as it is (absolute: join keeps it).
    assert cache.disk._read_checked('/proc/self/status').startswith(b'Name:')
    cache.close()


def test_a_shortened_or_lengthened_value_file_is_refused(tmp_path):
    cache = diskcache_go.Cache(str(tmp_path / 'cache'))
    value = bytes(range(256)) * 4096  # 1 MiB: a file of its own
    cache.set('short', value)
    cache.set('long', value)
    for key, change in (('short', lambda d: d[:-1]), ('long', lambda d: d + b'x')):
        with cache.get(key, read=True) as reader:
            path = pathlib.Path(reader.name)
        path.write_bytes(change(path.read_bytes()))
        with pytest.raises(diskcache_go.core.CorruptionError):
            cache.get(key)
    assert cache.get('other', 'missing') == 'missing'
    cache.close()
