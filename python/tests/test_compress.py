"""The compress_min_size setting: inline values stored LZ4-compressed."""

import json

import pytest

import diskcache_go

DOC = json.dumps([{'id': i, 'name': 'user %d' % i, 'tags': ['a', 'b']} for i in range(60)])


def test_values_round_trip_and_take_less_room(tmp_path):
    plain = diskcache_go.Cache(str(tmp_path / 'plain'))
    packed = diskcache_go.Cache(str(tmp_path / 'packed'), compress_min_size=128)
    values = {'text': DOC, 'bytes': DOC.encode(), 'pickle': {'doc': DOC}, 'small': 'x', 'n': 5}
    for cache in (plain, packed):
        for key, value in values.items():
            cache.set(key, value)
        assert {key: cache[key] for key in values} == values
        assert cache.check() == []
    assert packed.volume() - 4096 < (plain.volume() - 4096) / 2
    plain.close()
    packed.close()


def test_setting_is_persisted_and_any_reader_decompresses(tmp_path):
    directory = str(tmp_path / 'c')
    with diskcache_go.Cache(directory, compress_min_size=100) as cache:
        cache['doc'] = DOC
    with diskcache_go.Cache(directory) as cache:
        assert cache.compress_min_size == 100
        cache.reset('compress_min_size', 0)
        assert cache['doc'] == DOC
        cache['raw'] = DOC
    with diskcache_go.Cache(directory) as cache:
        assert cache.compress_min_size == 0
        assert cache['doc'] == cache['raw'] == DOC


@pytest.mark.parametrize('bad', [-1, 1.5, 'big'])
def test_bad_values_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match='compress_min_size'):
        diskcache_go.Cache(str(tmp_path / 'c'), compress_min_size=bad)
