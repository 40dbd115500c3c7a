"""The shortcuts of Cache.get and key encoding give exactly what the general
paths give (the differential suites compare them with python-diskcache;
these pin the cases a shortcut could get wrong)."""

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
