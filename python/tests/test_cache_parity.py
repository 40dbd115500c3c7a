"""Differential tests of the Cache methods beyond the basics: queues,
peekitem, iterkeys, memoize, read, check, Disk and JSONDisk, eviction
policies, settings, and the module layout."""

import io
import os
import pickle
import random
import warnings

import pytest

import diskcache as reference


def test_push_pull_peek(make_pair, both, clock):
    ref, new = make_pair()
    for prefix in (None, 'jobs'):
        for side in ('back', 'front', 'back'):
            both(ref, new, lambda c: c.push(side + str(prefix), prefix=prefix, side=side))
    both(ref, new, lambda c: c.push(b'x' * 40000, prefix='big'))
    both(ref, new, lambda c: c.push('t', expire=5, tag='tg'))
    for prefix in (None, 'jobs', 'big', 'missing'):
        both(ref, new, lambda c: c.peek(prefix=prefix))
        both(ref, new, lambda c: c.peek(prefix=prefix, side='back', expire_time=True, tag=True))
        both(ref, new, lambda c: c.pull(prefix=prefix, side='back', tag=True))
        both(ref, new, lambda c: c.pull(prefix=prefix, expire_time=True))
    clock.advance(10)
    both(ref, new, lambda c: c.pull(default=('d', 'd')))
    both(ref, new, lambda c: len(c))
    both(ref, new, lambda c: c.push(1, side='middle'))
    both(ref, new, lambda c: c.pull(side='middle'))
    both(ref, new, lambda c: c.peek(side='sideways'))
    both(ref, new, lambda c: list(c))


def test_queue_expired_items_deleted(make_pair, both, clock):
    ref, new = make_pair()
    for i in range(5):
        both(ref, new, lambda c: c.push(i, expire=1 if i < 3 else None))
    clock.advance(2)
    both(ref, new, lambda c: c.peek())
    both(ref, new, lambda c: len(c))
    both(ref, new, lambda c: c.pull(side='back'))
    both(ref, new, lambda c: list(c))


def test_queue_respects_user_keys(make_pair, both):
    ref, new = make_pair()
    for key in (500000000000010, 7, 'q-000000000000123', 'q-zzz', 2.5, b'q-1'):
        both(ref, new, lambda c: c.set(key, key))
    both(ref, new, lambda c: c.push('a'))
    both(ref, new, lambda c: c.push('b', side='front'))
    both(ref, new, lambda c: c.push('c', prefix='q', side='front'))
    both(ref, new, lambda c: [c.pull() for _ in range(6)])


def test_peekitem(make_pair, both, clock):
    ref, new = make_pair()
    both(ref, new, lambda c: c.peekitem())
    for i, key in enumerate(['a', 1, (2, 3), b'x']):
        both(ref, new, lambda c: c.set(key, i, expire=1 if i % 2 else None, tag=str(i)))
    both(ref, new, lambda c: c.peekitem(last=False, expire_time=True, tag=True))
    clock.advance(5)
    both(ref, new, lambda c: c.peekitem(expire_time=True))
    both(ref, new, lambda c: c.peekitem(last=False, tag=True))
    both(ref, new, lambda c: list(c))


def test_iterkeys_cross_type_order(make_pair, both):
    ref, new = make_pair()
    rng = random.Random(5)
    keys = [rng.choice([rng.randint(-50, 50), rng.randint(-50, 50) / 4, 'k%d' % rng.randint(0, 99),
                        ('k%d' % rng.randint(0, 99)).encode(), (1, rng.randint(0, 9)),
                        2**63 - 1, -(2**63), 1e300, -0.5, '', b''])
            for _ in range(400)]
    for key in keys:
        both(ref, new, lambda c: c.set(key, 1))
    both(ref, new, lambda c: list(c.iterkeys()))
    both(ref, new, lambda c: list(c.iterkeys(reverse=True)))
    both(ref, new, lambda c: next(c.iterkeys()))


def test_memoize(make_pair, both):
    ref, new = make_pair()
    calls = []

    def run(cache):
        del calls[:]

        @cache.memoize(typed=True, tag='m', ignore={1, 'skip'})
        def f(a, b=0, **kw):
            calls.append((a, b))
            return (a, b, sorted(kw.items()))

        out = [f(1, 2), f(1, 3), f(1.0, 2), f(2, skip=9, z=1), f(2, skip=8, z=1), len(calls),
               f.__cache_key__(1, 2, x=3), f.__wrapped__ is not None]

        @cache.memoize(name='named', expire=0)
        def g(x):
            calls.append(x)
            return None

        out += [g(1), g(1), len(calls)]
        return out

    both(ref, new, run)
    both(ref, new, lambda c: c.memoize(lambda: 1))


def test_args_to_key(impl):
    from diskcache.core import args_to_key as ref_key
    from diskcache_go.core import args_to_key as new_key

    cases = [((), {}, False, ()), ((1, 'a'), {'x': 1, 'b': 2}, True, ()),
             ((1, 2, 3), {'x': 1}, True, {0, 'x'}), ((None,), {}, True, {5})]
    for args, kwargs, typed, ignore in cases:
        assert new_key(('base',), args, kwargs, typed, ignore) == ref_key(('base',), args, kwargs, typed, ignore)


def test_read_and_file_values(make_pair, both):
    ref, new = make_pair()
    both(ref, new, lambda c: c.set('f', io.BytesIO(b'abc' * 100), read=True))
    both(ref, new, lambda c: c.read('f').read())
    both(ref, new, lambda c: os.path.isfile(c.read('f').name))
    both(ref, new, lambda c: c.read('missing'))
    both(ref, new, lambda c: c.set('small', b'abc'))
    both(ref, new, lambda c: c.read('small'))
    both(ref, new, lambda c: c.get('f', read=True).read())


def test_check_finds_and_fixes(impl, tmp_path, both):
    # Value files get distinct first-level directories (a random name could
    # put both in one directory, and then check() reports one fewer).
    def numbered(module):
        class Numbered(module.Disk):
            count = 0

            def filename(self, key=None, value=None):
                Numbered.count += 1
                name = os.path.join('%02x' % Numbered.count, 'aa', 'v%d.val' % Numbered.count)
                return name, os.path.join(self._directory, name)

        return Numbered

    ref = reference.Cache(str(tmp_path / 'ref'), disk=numbered(reference))
    new = impl.Cache(str(tmp_path / 'new'), disk=numbered(impl))
    for cache in (ref, new):
        cache.set('big', b'x' * 50000)
        cache.set('gone', b'y' * 50000)
        cache.set('small', 1)

    def damage(cache):
        names = []
        for root, _, files in os.walk(cache.directory):
            names += [os.path.join(root, f) for f in files if f.endswith('.val')]
        names.sort(key=lambda p: open(p, 'rb').read(1))
        os.remove(names[1])  # the 'gone' value (b'y')
        with open(os.path.join(cache.directory, 'stray.txt'), 'w') as f:
            f.write('x')
        os.makedirs(os.path.join(cache.directory, 'emptydir'))

    damage(ref)
    damage(new)

    def summary(cache, fix):
        found = cache.check(fix=fix)
        return sorted((w.category.__name__, str(w.message).split(':')[0]) for w in found)

    both(ref, new, lambda c: summary(c, False))
    both(ref, new, lambda c: summary(c, True))
    both(ref, new, lambda c: summary(c, False))
    both(ref, new, lambda c: (c.get('gone'), c.get('big') == b'x' * 50000, len(c)))
    ref.close()
    new.close()


@pytest.mark.parametrize('policy', ['least-recently-stored', 'least-recently-used',
                                    'least-frequently-used', 'none'])
def test_eviction_policies_cull_same_keys(make_pair, both, clock, policy):
    ref, new = make_pair(eviction_policy=policy, size_limit=10 * 2**20 + 2**19, cull_limit=3)
    rng = random.Random(policy)
    for i in range(14):
        clock.advance(1)
        both(ref, new, lambda c: c.set(i, b'v' * 2**20))
        for _ in range(rng.randint(0, 4)):
            clock.advance(0.25)
            k = rng.randint(0, i)
            both(ref, new, lambda c: c.get(k) is not None)
    both(ref, new, lambda c: sorted(c))
    both(ref, new, lambda c: c.cull())
    both(ref, new, lambda c: sorted(c))


def test_incr_under_lru_updates_order(make_pair, both, clock):
    ref, new = make_pair(eviction_policy='least-recently-used', size_limit=3 * 2**20 + 2**19,
                         cull_limit=5)
    for i in range(3):
        clock.advance(1)
        both(ref, new, lambda c: c.set('f%d' % i, b'v' * 2**20))
    clock.advance(1)
    both(ref, new, lambda c: c.get('f0') is not None)
    clock.advance(1)
    both(ref, new, lambda c: c.set('f3', b'v' * 2**20))
    both(ref, new, lambda c: sorted(c))


def test_json_disk(impl, tmp_path, clock):
    ref = reference.Cache(str(tmp_path / 'r'), disk=reference.JSONDisk, disk_compress_level=6)
    new = impl.Cache(str(tmp_path / 'n'), disk=impl.JSONDisk, disk_compress_level=6)
    try:
        for cache in (ref, new):
            cache.set((1, 'a'), {'x': [1, 2]})
            cache.set('big', list(range(20000)))
        for cache in (ref, new):
            assert cache.get([1, 'a']) == {'x': [1, 2]}
            assert cache.get('big') == list(range(20000))
            assert cache.disk.compress_level == 6
            with pytest.raises(TypeError):
                cache.incr((1, 'a'))
    finally:
        ref.close()
        new.close()


def test_custom_disk_subclass(impl, tmp_path):
    class Upper(impl.Disk):
        def store(self, value, read, key=impl.UNKNOWN):
            if isinstance(value, str):
                value = value.upper()
            return super().store(value, read, key=key)

    cache = impl.Cache(str(tmp_path), disk=Upper)
    try:
        cache.set('k', 'hello')
        assert cache.get('k') == 'HELLO'
        assert isinstance(cache.disk, Upper)
        with pytest.raises(ValueError, match='disk must subclass'):
            impl.Cache(str(tmp_path), disk=object)
    finally:
        cache.close()


def test_settings_reset_and_unknown(make_pair, both):
    ref, new = make_pair(custom_setting='yes', statistics=True)
    for name in ('custom_setting', 'statistics', 'size_limit', 'tag_index', 'cull_limit'):
        both(ref, new, lambda c: getattr(c, name))
        both(ref, new, lambda c: c.reset(name))
    both(ref, new, lambda c: c.reset('size_limit', 2**31))
    both(ref, new, lambda c: c.reset('nonexistent'))
    both(ref, new, lambda c: (c.create_tag_index(), c.tag_index, c.reset('tag_index')))
    both(ref, new, lambda c: (c.drop_tag_index(), c.tag_index))
    both(ref, new, lambda c: (c.stats(), c.get('x'), c.stats(reset=True), c.stats(enable=False)))
    both(ref, new, lambda c: c.reset('disk_min_file_size', 10))
    both(ref, new, lambda c: (c.set('s', 'x' * 20), c.get('s')))


def test_pickle_cache(make_pair, impl):
    _, new = make_pair()
    new.set('a', 1)
    copy = pickle.loads(pickle.dumps(new))
    assert copy.get('a') == 1 and copy.directory == new.directory
    copy.close()


def test_module_layout(impl):
    core = __import__(impl.__name__ + '.core', fromlist=['x'])
    for name in ('ENOVAL', 'UNKNOWN', 'DEFAULT_SETTINGS', 'EVICTION_POLICY', 'METADATA', 'Constant',
                 'DBNAME', 'MODE_NONE', 'MODE_RAW', 'MODE_BINARY', 'MODE_TEXT', 'MODE_PICKLE',
                 'args_to_key', 'full_name', 'Cache', 'Disk', 'JSONDisk', 'Timeout',
                 'UnknownFileWarning', 'EmptyDirWarning'):
        assert hasattr(core, name), name
    assert repr(core.ENOVAL) == 'ENOVAL' and core.ENOVAL == ('ENOVAL',)
    assert core.DEFAULT_SETTINGS == reference.core.DEFAULT_SETTINGS
    assert sorted(core.EVICTION_POLICY) == sorted(reference.core.EVICTION_POLICY)
    assert (core.MODE_NONE, core.MODE_RAW, core.MODE_BINARY, core.MODE_TEXT, core.MODE_PICKLE) == (0, 1, 2, 3, 4)
    assert issubclass(core.UnknownFileWarning, UserWarning)
    warnings.simplefilter('default')


def test_iterators_see_keys_added_while_iterating(make_pair, both):
    ref, new = make_pair()

    def run(cache):
        cache['a'] = 1
        cache['b'] = 2
        it = cache.iterkeys()
        first = next(it)
        cache['c'] = 3
        return first, list(it)

    both(ref, new, run)


def test_close_in_another_thread_keeps_a_transaction(make_pair, both):
    import threading

    ref, new = make_pair()

    def run(cache):
        with cache.transact():
            cache['a'] = 1
            thread = threading.Thread(target=cache.close)
            thread.start()
            thread.join()
            cache['b'] = 2
        return sorted(cache)

    both(ref, new, run)


def test_package_exports_match_upstream(impl):
    upstream = set(reference.__all__) - {'DjangoCache'}
    ours = set(impl.__all__) - {'DjangoCache'}
    assert ours == upstream
    for name in upstream:
        assert getattr(impl, name) is not None
    for module in ('core', 'fanout', 'persistent', 'recipes'):
        __import__(impl.__name__ + '.' + module)
    assert impl.Cache.__module__ == impl.__name__ + '.core'
    assert impl.FanoutCache.__module__ == impl.__name__ + '.fanout'
    assert impl.Deque.__module__ == impl.__name__ + '.persistent'


def test_stats_count_each_lookup_once(make_pair, both):
    ref, new = make_pair()

    def run(cache):
        cache.set('pickled', {'a': 1})
        cache.set('file', b'x' * 100000)
        cache.set('text', 'é' * 30000)  # inline, but longer than one buffer
        cache.stats(reset=True)
        out = [cache.get(k) is not None for k in ('pickled', 'file', 'text', 'missing')]
        return out, cache.stats()

    both(ref, new, run)
