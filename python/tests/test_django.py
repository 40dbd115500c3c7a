"""DjangoCache under real Django.

Two kinds of tests:

* Django-behaviour tests, modelled on the way Django's own cache test-suite
  exercises a backend: the basic API, versions, key prefixes and key
  functions, timeouts and expiry, ``MAX_ENTRIES``, pickled model instances,
  the cache middleware, ``cache_page``, ``{% cache %}`` fragments, the async
  methods, and a pre-forked 4-worker Django app sharing one cache directory.
* Differential tests: the same Django settings hold two cache aliases per
  role, one ``diskcache.DjangoCache`` (python-diskcache 5.6.3, the
  reference) and one ``diskcache_go.DjangoCache``; each scenario runs on both
  and the results must be identical.

Django is configured with ``settings.configure()`` from the test project in
``djangoapp/`` and every cache is reached through ``django.core.cache.caches``
under ``override_settings(CACHES=...)``. The clock is the fake ``time.time``
of conftest's ``clock`` fixture, so timeouts are tested without sleeping.

Runs under any installed Django (checked with the 5.2 LTS line and the
current release); skipped when Django is not installed.
"""

import asyncio
import concurrent.futures
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
import zlib

import pytest

django = pytest.importorskip(
    'django', reason='Django is not installed; the DjangoCache tests need it (pip install django)'
)

from django.conf import settings  # noqa: E402

TESTS = os.path.dirname(os.path.abspath(__file__))
PYTHON_SRC = os.path.dirname(TESTS)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from djangoapp import settings as project_settings  # noqa: E402

if not settings.configured:
    names = [name for name in dir(project_settings) if name.isupper()]
    settings.configure(**{name: getattr(project_settings, name) for name in names})
django.setup()

from django.core import signals  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.cache.backends.base import DEFAULT_TIMEOUT, CacheKeyWarning  # noqa: E402
from django.core.cache.utils import make_template_fragment_key  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.middleware.cache import FetchFromCacheMiddleware, UpdateCacheMiddleware  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from djangoapp import views  # noqa: E402
from djangoapp.keys import custom_key_func  # noqa: E402
from djangoapp.models import Poll, expensive_calculation  # noqa: E402

REFERENCE_BACKEND = 'diskcache.DjangoCache'

# Cache roles: the differential tests use ``'ref_' + role`` and ``role``.
ROLES = ('default', 'prefix', 'v2', 'custom_key', 'custom_key2', 'cull', 'forever', 'other')


def caches_setting(backend, reference_backend, root):
    """``settings.CACHES`` with every role twice (candidate, reference).

    As in Django's suite, the prefix, version and key-function variants
    share the default cache's directory, so their keys must not collide.
    """

    def config(backend, location, **extra):
        entry = {'BACKEND': backend, 'LOCATION': location}
        entry.update(extra)
        return entry

    result = {}
    for prefix, name, backend_path in (('', 'new', backend), ('ref_', 'ref', reference_backend)):
        main = os.path.join(root, name, 'main')
        result[prefix + 'default'] = config(backend_path, main)
        result[prefix + 'prefix'] = config(backend_path, main, KEY_PREFIX='cacheprefix')
        result[prefix + 'v2'] = config(backend_path, main, VERSION=2)
        result[prefix + 'custom_key'] = config(backend_path, main, KEY_FUNCTION=custom_key_func)
        result[prefix + 'custom_key2'] = config(
            backend_path, main, KEY_FUNCTION='djangoapp.keys.custom_key_func'
        )
        result[prefix + 'cull'] = config(
            backend_path,
            os.path.join(root, name, 'cull'),
            OPTIONS={'MAX_ENTRIES': 30, 'CULL_FREQUENCY': 3},
        )
        result[prefix + 'forever'] = config(backend_path, main, TIMEOUT=None)
        result[prefix + 'other'] = config(backend_path, os.path.join(root, name, 'other'))
    return result


@pytest.fixture
def backend(impl):
    """Dotted path of the candidate backend (the reference itself when the
    suite runs with DISKCACHE_GO_TEST_IMPL=diskcache)."""
    return impl.__name__ + '.DjangoCache'


@pytest.fixture
def djcaches(backend, tmp_path, clock):
    """Configure the caches in a fresh directory; yields ``caches``."""
    with override_settings(CACHES=caches_setting(backend, REFERENCE_BACKEND, str(tmp_path))):
        yield caches


@pytest.fixture
def cache(djcaches):
    return djcaches['default']


@pytest.fixture
def djpair(djcaches):
    """``pair(role)`` -> (reference cache, candidate cache) for ``role``."""

    def pair(role='default'):
        return djcaches['ref_' + role], djcaches[role]

    return pair


def on_both(djpair, both, scenario, role='default', **kwargs):
    """Run ``scenario(cache, caches_of_that_side)`` on both sides; the
    outcomes (results or exceptions) must match. Returns the reference's."""
    ref, new = djpair(role)

    def side(which):
        prefix = 'ref_' if which is ref else ''
        return lambda name: caches[prefix + name]

    return both(ref, new, lambda c: scenario(c, side(c)), **kwargs)


def f():
    return 42


class C:
    def m(n):
        return 24


# -- configuration ------------------------------------------------------------


def test_backend_is_loaded_by_django(cache, impl, tmp_path):
    assert type(cache).__module__ == impl.__name__ + '.djangocache'
    assert type(cache).__name__ == 'DjangoCache'
    assert cache.directory == os.path.join(str(tmp_path), 'new', 'main')
    assert cache.default_timeout == 300
    # The shard directories exist once the cache is opened.
    assert sorted(os.listdir(cache.directory))[:8] == ['%03d' % n for n in range(8)]


def test_options_mapping(backend, tmp_path, both):
    """SHARDS, DATABASE_TIMEOUT, OPTIONS (settings for every shard, Django's
    MAX_ENTRIES/CULL_FREQUENCY tolerated), TIMEOUT, KEY_PREFIX, VERSION."""
    params = {
        'SHARDS': 3,
        'DATABASE_TIMEOUT': 0.25,
        'TIMEOUT': 77,
        'KEY_PREFIX': 'kp',
        'VERSION': 3,
        'OPTIONS': {
            'size_limit': 3 * 2**20,
            'statistics': 1,
            'MAX_ENTRIES': 5,
            'CULL_FREQUENCY': 2,
        },
    }
    setting = {}
    for alias, path, directory in (('new', backend, 'n'), ('ref', REFERENCE_BACKEND, 'r')):
        setting[alias] = dict(params, BACKEND=path, LOCATION=str(tmp_path / directory))
    with override_settings(CACHES=dict(setting, default=setting['new'])):

        def facts(c):
            fanout = c._cache
            return (
                len(fanout._shards),
                sorted(os.listdir(c.directory)),
                fanout.timeout,
                fanout.size_limit,
                fanout.statistics,
                fanout._shards[2].MAX_ENTRIES,
                fanout._shards[2].CULL_FREQUENCY,
                c.default_timeout,
                c._max_entries,
                c._cull_frequency,
                c.key_prefix,
                c.version,
                c.make_key('k'),
            )

        result = both(caches['ref'], caches['new'], facts)
        assert result[:3] == (3, ['000', '001', '002'], 0.25)
        assert result[3] == 2**20
        assert result[5:] == (5, 2, 77, 5, 2, 'kp', 3, 'kp:3:k')
        # MAX_ENTRIES=5 limits nothing.
        for n in range(20):
            assert caches['new'].set('key%d' % n, n) is True
        assert sum(caches['new'].has_key('key%d' % n) for n in range(20)) == 20


def test_get_backend_timeout(djpair, both):
    ref, new = djpair()
    expected = [(DEFAULT_TIMEOUT, 300), (0, -1), (None, None), (5, 5), (0.5, 0.5), (-3, -3),
                (60 * 60 * 24 * 365, 60 * 60 * 24 * 365)]
    for timeout, seconds in expected:
        assert both(ref, new, lambda c: c.get_backend_timeout(timeout)) == seconds
    assert both(ref, new, lambda c: c.get_backend_timeout()) == 300
    forever_ref, forever_new = djpair('forever')
    assert both(forever_ref, forever_new, lambda c: c.get_backend_timeout()) is None


def test_no_check_method(cache):
    # python-diskcache's DjangoCache defines no ``check``; Django's system
    # checks must not find FanoutCache's ``check(fix, retry)`` here.
    assert 'check' not in type(cache).__dict__
    from django.core.checks import run_checks

    assert [m for m in run_checks() if m.id.startswith('caches.')] == []


# -- Django's basic API (after Django's BaseCacheTests), differential ---------


def test_simple(djpair, both):
    def scenario(c, _):
        return [
            c.set('key', 'value'),
            c.get('key'),
            c.get('missing'),
            c.get('missing', 'dflt'),
            c.set('none', None),
            c.get('none', 'dflt'),
            c.add('addkey1', 'value'),
            c.add('addkey1', 'newvalue'),
            c.get('addkey1'),
            c.has_key('addkey1'),
            c.has_key('goodbye1'),
            'addkey1' in c,
            'goodbye1' in c,
            c.delete('key'),
            c.delete('key'),
            c.get('key'),
        ]

    result = on_both(djpair, both, scenario)
    assert result == [True, 'value', None, 'dflt', True, None, True, False, 'value', True,
                      False, True, False, True, False, None]


def test_data_types_unicode_binary(djpair, both):
    stuff = {
        'string': 'this is a string',
        'int': 42,
        'bool': True,
        'list': [1, 2, 3, 4],
        'tuple': (1, 2, 3, 4),
        'dict': {'A': 1, 'B': 2},
        'function': f,
        'class': C,
    }
    unicode_items = {
        'ascii': 'ascii_value',
        'unicode_ascii': 'Iñtërnâtiônàlizætiøn1',
        'Iñtërnâtiônàlizætiøn': 'Iñtërnâtiônàlizætiøn2',
        'ascii2': {'x': 1},
    }
    compressed = zlib.compress(b'value to be compressed')

    def scenario(c, _):
        out = [c.set('stuff', stuff), c.get('stuff') == stuff]
        for key, value in unicode_items.items():
            out += [c.set(key, value), c.get(key) == value, c.delete(key), c.add(key, value),
                    c.get(key) == value]
        out += [c.set('binary1', compressed), zlib.decompress(c.get('binary1'))]
        out += [c.add('binary1-add', compressed), c.get('binary1-add') == compressed]
        out += [c.set_many({'binary1-set_many': compressed}),
                c.get('binary1-set_many') == compressed]
        return out

    result = on_both(djpair, both, scenario)
    assert result[1] is True and result[-1] is True


def test_many(djpair, both):
    def scenario(c, _):
        return [
            c.set_many({'a': 'a', 'b': 'b', 'c': 'c', 'd': 'd'}),
            c.get_many(['a', 'c', 'd']),
            c.get_many(iter(['a', 'b', 'e'])),
            c.set_many({'key1': 'spam', 'key2': 'eggs'}, 1),
            c.set_many({}),
            c.delete_many(['a', 'b']),
            c.get_many(['a', 'b', 'c', 'd']),
            c.delete_many([]),
            c.get_many([]),
        ]

    result = on_both(djpair, both, scenario)
    assert result[1] == {'a': 'a', 'c': 'c', 'd': 'd'}
    assert result[6] == {'c': 'c', 'd': 'd'}


def test_set_many_expiration(djpair, both, clock):
    def scenario(c, _):
        start = clock.now
        c.set_many({'key1': 'spam', 'key2': 'eggs'}, 1)
        before = c.get_many(['key1', 'key2'])
        clock.advance(2)
        after = c.get_many(['key1', 'key2'])
        clock.set(start)
        return before, after

    assert on_both(djpair, both, scenario) == ({'key1': 'spam', 'key2': 'eggs'}, {})


def test_incr_decr(djpair, both):
    def scenario(c, _):
        c.set('answer', 41)
        out = [c.incr('answer'), c.get('answer'), c.incr('answer', 10), c.incr('answer', -10),
               c.decr('answer'), c.decr('answer', 10), c.decr('answer', -10)]
        c.set('float', 1.5)
        out.append(c.incr('float', 2))
        out.append(c.incr('fresh', default=5))
        out.append(c.decr('fresh2', 3, default=0))
        return out

    assert on_both(djpair, both, scenario) == [42, 42, 52, 42, 41, 31, 41, 3.5, 6, -3]
    # A missing key is a ValueError naming the *made* key.
    for call in (
        lambda c: c.incr('does_not_exist'),
        lambda c: c.incr('does_not_exist', -1),
        lambda c: c.decr('does_not_exist'),
        lambda c: c.incr('does_not_exist', version=7),
    ):
        error = on_both(djpair, both, lambda c, _: call(c))
        assert isinstance(error, ValueError)
    with pytest.raises(ValueError, match=r"^Key ':7:nope' not found$"):
        djpair()[1].incr('nope', version=7)

    def non_numeric(c, _):
        c.set('null', None)
        c.set('text', 'abc')
        return [outcome_of(lambda: c.incr('null')), outcome_of(lambda: c.incr('text'))]

    assert on_both(djpair, both, non_numeric) == ['TypeError', 'TypeError']


def outcome_of(fn):
    try:
        return fn()
    except Exception as exc:  # recorded for comparison, never swallowed
        return type(exc).__name__


def test_get_or_set(djpair, both):
    calls = []

    def make():
        calls.append(1)
        return 'computed'

    def scenario(c, _):
        return [
            c.get_or_set('projector', 42),
            c.get_or_set('projector', 43),
            c.get_or_set('null', None),
            c.get_or_set('null', 'other'),
            c.get_or_set('callable', make),
            c.get_or_set('callable', make),
            c.get_or_set('brian', 1979, version=2),
            c.get('brian', version=1),
            c.get('brian', version=2),
            c.get_or_set('zero', 'v', timeout=0),
            c.get('zero'),
        ]

    assert on_both(djpair, both, scenario) == [42, 42, None, None, 'computed', 'computed', 1979,
                                              None, 1979, 'v', None]
    assert len(calls) == 2  # once per side


def test_key_prefix(djpair, both):
    def scenario(c, other):
        c.set('somekey', 'value')
        prefixed = other('prefix')
        out = [prefixed.has_key('somekey'), prefixed.set('somekey', 'value2'),
               c.get('somekey'), prefixed.get('somekey')]
        out += [prefixed.make_key('somekey'), c.make_key('somekey')]
        return out

    assert on_both(djpair, both, scenario) == [False, True, 'value', 'value2',
                                              'cacheprefix:1:somekey', ':1:somekey']


def test_custom_key_function(djpair, both):
    def scenario(c, other):
        c.set('answer1', 42)
        custom, custom2 = other('custom_key'), other('custom_key2')
        out = [c.get('answer1'), custom.get('answer1'), custom2.get('answer1')]
        custom.set('answer2', 42)
        out += [c.get('answer2'), custom.get('answer2'), custom2.get('answer2'),
                custom.make_key('answer2')]
        return out

    assert on_both(djpair, both, scenario) == [42, None, None, None, 42, 42, 'CUSTOM--1-answer2']


def test_versioning(djpair, both):
    def scenario(c, other):
        v2 = other('v2')
        out = []
        # set with the default version 1
        c.set('answer1', 42)
        out += [c.get('answer1'), c.get('answer1', version=1), c.get('answer1', version=2),
                v2.get('answer1'), v2.get('answer1', version=1), v2.get('answer1', version=2)]
        # default version 1, overridden with 2
        c.set('answer2', 42, version=2)
        out += [c.get('answer2'), c.get('answer2', version=2), v2.get('answer2')]
        # v2 cache: default version 2
        v2.set('answer3', 42)
        out += [c.get('answer3'), c.get('answer3', version=2), v2.get('answer3', version=1)]
        # add / has_key / delete per version
        out += [c.add('answer4', 37, version=1), c.add('answer4', 42, version=2),
                c.add('answer4', 99, version=2), c.get('answer4', version=1),
                c.get('answer4', version=2), c.has_key('answer4', version=2),
                c.delete('answer4', version=2), c.has_key('answer4', version=2),
                c.has_key('answer4', version=1)]
        # incr/decr per version
        c.set('n', 1, version=1)
        c.set('n', 2, version=2)
        out += [c.incr('n', version=2), c.decr('n', version=1), v2.incr('n')]
        # get_many / set_many per version
        c.set_many({'ford1': 37, 'arthur1': 42})
        c.set_many({'ford2': 37, 'arthur2': 42}, version=2)
        out += [c.get_many(['ford1', 'arthur1']), c.get_many(['ford1', 'arthur1'], version=2),
                v2.get_many(['ford1', 'arthur1'], version=1), c.get_many(['ford2', 'arthur2']),
                v2.get_many(['ford2', 'arthur2'])]
        return out

    result = on_both(djpair, both, scenario)
    assert result[:6] == [42, 42, None, None, 42, None]


def test_incr_decr_version(djpair, both):
    def scenario(c, other):
        v2 = other('v2')
        c.set('answer', 42, version=2)
        out = [c.get('answer'), c.get('answer', version=2), c.get('answer', version=3),
               c.incr_version('answer', version=2), c.get('answer', version=2),
               c.get('answer', version=3)]
        v2.set('answer2', 42)
        out += [v2.incr_version('answer2'), v2.get('answer2'), v2.get('answer2', version=3),
                v2.incr_version('answer2', delta=2, version=3), v2.get('answer2', version=5)]
        c.set('answer3', 42)
        out += [c.decr_version('answer3', version=1), c.get('answer3', version=0),
                c.decr_version('answer3', version=0, delta=1)]
        out.append(outcome_of(lambda: c.incr_version('does_not_exist')))
        out.append(outcome_of(lambda: c.decr_version('does_not_exist', version=2)))
        return out

    assert on_both(djpair, both, scenario) == [
        None, 42, None, 3, None, 42, 3, None, 42, 5, 42, 0, 42, -1, 'ValueError', 'ValueError',
    ]


def test_key_warnings(djpair, both):
    """DjangoCache does not validate keys (as python-diskcache): keys that
    memcached refuses raise no CacheKeyWarning. Django's helpers still warn
    when called."""
    keys = ['key with spaces', 'key\nwith\tcontrol', 'a' * 300, 'ключ']

    def scenario(c, _):
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            return [
                (c.set(key, key), c.get(key) == key, c.add(key, 1),
                 c.incr('n' + key, default=0), c.touch(key, 10), c.delete(key))
                for key in keys
            ]

    on_both(djpair, both, scenario)
    new = djpair()[1]
    with pytest.warns(CacheKeyWarning):
        new.validate_key('key with spaces')
    with pytest.warns(CacheKeyWarning):
        assert new.make_and_validate_key('a' * 300) == ':1:' + 'a' * 300


def test_non_string_keys(djpair, both):
    """With Django's key function every key becomes a string."""

    def scenario(c, _):
        out = []
        for key in (1, 1.5, b'bytes', ('t', 1), None):
            out += [c.set(key, repr(key)), c.get(key), c.has_key(str(key)), c.make_key(key)]
        return out

    on_both(djpair, both, scenario)


# -- timeouts (Django's test_expiration, test_touch, zero/forever/long) -------


def test_default_timeout(djpair, both, clock):
    def scenario(c, other):
        c.set('k', 'v')
        c.add('a', 'v')
        c.set('n', 'v', None)
        forever = other('forever')
        forever.set('f', 'v')
        return [c.get('k', expire_time=True)[1] - clock.now,
                c.get('a', expire_time=True)[1] - clock.now,
                c.get('n', expire_time=True), forever.get('f', expire_time=True)]

    assert on_both(djpair, both, scenario) == [300, 300, ('v', None), ('v', None)]


def test_expiration(djpair, both, clock):
    def scenario(c, _):
        start = clock.now
        c.set('expire1', 'very quickly', 1)
        c.set('expire2', 'very quickly', 1)
        c.set('expire3', 'very quickly', 1)
        clock.advance(2)
        out = [c.get('expire1'), c.add('expire2', 'newvalue'), c.get('expire2'),
               c.has_key('expire3'), 'expire3' in c]
        clock.set(start)
        return out

    assert on_both(djpair, both, scenario) == [None, True, 'newvalue', False, False]


def test_touch(djpair, both, clock):
    def scenario(c, _):
        start = clock.now
        c.set('expire1', 'very quickly', timeout=1)
        out = [c.touch('expire1', timeout=4)]
        clock.advance(2)
        out.append(c.has_key('expire1'))
        clock.advance(3)
        out.append(c.has_key('expire1'))
        c.set('expire2', 'very quickly', timeout=1)
        out.append(c.touch('expire2', timeout=None))
        clock.advance(10**6)
        out += [c.get('expire2'), c.touch('nonexistent'), c.touch('expire1')]
        c.set('expire3', 'v', timeout=1)
        out.append(c.touch('expire3'))
        out.append(c.get('expire3', expire_time=True)[1] - clock.now)
        clock.set(start)
        return out

    assert on_both(djpair, both, scenario) == [True, True, False, True, 'very quickly', False,
                                              False, True, 300]


def test_zero_timeout(djpair, both):
    def scenario(c, _):
        return [
            c.set('key1', 'eggs', 0),
            c.get('key1'),
            c.add('key2', 'ham', 0),
            c.get('key2'),
            c.set_many({'key3': 'sausage', 'key4': 'lobster bisque'}, 0),
            c.get('key3'),
            c.get('key4'),
            c.set('key5', 'belgian fries', timeout=5),
            c.touch('key5', timeout=0),
            c.get('key5'),
            c.has_key('key5'),
        ]

    assert on_both(djpair, both, scenario) == [True, None, True, None, [], None, None, True,
                                              True, None, False]


def test_forever_and_long_timeouts(djpair, both, clock):
    def scenario(c, _):
        start = clock.now
        out = [c.set('key1', 'eggs', None), c.get('key1'), c.add('key2', 'ham', None),
               c.get('key2'), c.add('key1', 'new eggs', None), c.get('key1')]
        c.set_many({'key3': 'sausage', 'key4': 'lobster bisque'}, None)
        c.set('key5', 'belgian fries', timeout=1)
        out.append(c.touch('key5', timeout=None))
        # Long timeouts are relative seconds, with no memcached 30-day rule.
        c.set('long', 'value', 60 * 60 * 24 * 30 + 1)
        c.set('float', 'spam', 100.2)
        out.append(c.get('long', expire_time=True)[1] - clock.now)
        clock.advance(60 * 60 * 24 * 30)
        out += [c.get('key3'), c.get('key4'), c.get('key5'), c.get('long'), c.get('float')]
        clock.advance(2)
        out.append(c.get('long'))
        clock.set(start)
        return out

    assert on_both(djpair, both, scenario) == [
        True, 'eggs', True, 'ham', False, 'eggs', True, 60 * 60 * 24 * 30 + 1, 'sausage',
        'lobster bisque', 'belgian fries', 'value', None, None,
    ]


# -- culling: MAX_ENTRIES is tolerated; size_limit culls ---------------------


def perform_cull_test(c, initial_count):
    # After Django's BaseCacheTests._perform_cull_test.
    for i in range(1, initial_count):
        c.set('cull%d' % i, 'value', 1000)
    return sum(c.has_key('cull%d' % i) for i in range(1, initial_count))


def test_cull_max_entries_is_tolerated(djpair, both):
    """Django's test_cull expects MAX_ENTRIES=30 to cull a 50-key cache.
    python-diskcache's DjangoCache stores MAX_ENTRIES as a setting but culls
    only by size_limit, so all 49 keys stay; diskcache_go does the same."""
    kept = on_both(djpair, both, lambda c, _: perform_cull_test(c, 50), role='cull')
    assert kept == 49
    ref, new = djpair('cull')
    assert both(ref, new, lambda c: (c._max_entries, c._cull_frequency, c.cull())) == (30, 3, 0)


def test_cull_by_size_limit(backend, tmp_path, both):
    """OPTIONS size_limit culls: 1 MiB file-backed values into a 10.1 MiB
    single-shard cache; the least recently stored go first."""
    setting = {}
    for alias, path in (('new', backend), ('ref', REFERENCE_BACKEND)):
        setting[alias] = {
            'BACKEND': path,
            'LOCATION': str(tmp_path / alias),
            'SHARDS': 1,
            'OPTIONS': {'size_limit': int(10.1 * 2**20), 'MAX_ENTRIES': 3},
        }
    value = b'x' * 2**20
    with override_settings(CACHES=dict(setting, default=setting['new'])):

        def scenario(c):
            for n in range(25):
                c.set('big%d' % n, value)
            present = [c.has_key('big%d' % n) for n in range(25)]
            return present, c.cull()

        present, culled = both(caches['ref'], caches['new'], scenario)
        assert 0 < sum(present) < 25
        assert present[-1] and not present[0]
        assert culled == 0


# -- DjangoCache extras, differential ----------------------------------------


def test_return_values(djpair, both):
    """set -> bool, delete -> bool, clear -> count (Django's own return
    None for clear)."""

    def scenario(c, _):
        out = [c.set('a', 1), c.set('b', 2), c.delete('a'), c.delete('a')]
        c.set_many({'x%d' % n: n for n in range(10)})
        out.append(c.clear())
        out.append(c.get_many(['b', 'x1']))
        return out

    assert on_both(djpair, both, scenario) == [True, True, True, False, 11, {}]


def test_extras(djpair, both, clock, tmp_path):
    source = tmp_path / 'payload.bin'
    source.write_bytes(b'file payload' * 10000)

    def scenario(c, _):
        out = []
        c.set('t1', 'one', tag='red')
        c.set('t2', 'two', 5, tag='blue')
        out.append(c.get('t1', tag=True))
        out.append(c.get('t2', expire_time=True, tag=True)[2])
        out.append(c.get('missing', 'd', expire_time=True, tag=True))
        out.append(c.pop('t2', expire_time=True, tag=True)[::2])
        out.append(c.pop('t2', 'gone'))
        out.append(c.pop('t2', 'gone', expire_time=True))
        with open(str(source), 'rb') as reader:
            out.append(c.set('file', reader, read=True))
        with c.read('file') as handle:
            out.append(handle.read() == source.read_bytes())
        with c.get('file', read=True) as handle:
            out.append(handle.read(12))
        out.append(outcome_of(lambda: c.read('nothing')))
        with open(str(source), 'rb') as reader:
            out.append(c.add('added', reader, read=True, tag='red'))
        c.create_tag_index()
        out.append(c.evict('red'))
        c.drop_tag_index()
        out.append(c.get('t1'))
        c.set('short', 1, timeout=1)
        c.set('short2', 1, timeout=2)
        clock.advance(5)
        out.append(c.expire())
        out.append(c.cull())
        c.set('plain', 'text')
        out.append(c.stats())
        c.get('plain')
        c.get('nothing')
        out.append(c.stats(enable=False, reset=True))
        out.append(c.stats(enable=False))
        clock.advance(-5)
        return out

    result = on_both(djpair, both, scenario)
    assert result[0] == ('one', 'red')
    assert result[-3:] == [(0, 0), (1, 1), (0, 0)]


def test_stats_count_each_get_once(djpair, both):
    def scenario(c, _):
        c.set('pickled', {'a': 1})
        c.set('file', b'x' * 100000)
        c.stats()
        c.get('pickled')
        c.get('file')
        return c.stats(reset=True)

    assert on_both(djpair, both, scenario) == (2, 0)


def test_named_stores(djpair, both):
    def scenario(c, _):
        sub, deque, index = c.cache('sub/inner'), c.deque('dq', maxlen=3), c.index('ix')
        sub['k'] = 1
        deque.extend(range(5))
        index['k'] = 'v'
        return [
            os.path.relpath(sub.directory, c.directory),
            os.path.relpath(deque.directory, c.directory),
            os.path.relpath(index.directory, c.directory),
            c.cache('sub/inner') is sub,
            c.deque('dq') is deque,
            c.index('ix') is index,
            list(deque),
            dict(index),
            sub['k'],
        ]

    assert on_both(djpair, both, scenario) == [
        os.path.join('cache', 'sub', 'inner'),
        os.path.join('deque', 'dq'),
        os.path.join('index', 'ix'),
        True, True, True, [2, 3, 4], {'k': 'v'}, 1,
    ]


def test_memoize(djpair, both):
    def scenario(c, _):
        runs = [0]
        out = [outcome_of(lambda: c.memoize(lambda: 1))]

        @c.memoize()
        def add(x, y):
            runs[0] += 1
            return x + y

        @c.memoize(name='mul', timeout=0)
        def mul(x, y):
            runs[0] += 100
            return x * y

        @c.memoize(name='typed', typed=True, version=3, tag='memo', ignore={1})
        def first(x, unused):
            runs[0] += 10000
            return x

        out += [add(1, 2), add(1, 2), add(2, 1), add(1, y=2), add(1, y=2)]
        out += [mul(2, 3), mul(2, 3)]
        out += [first(1, 'a'), first(1, 'b'), first(1.0, 'c')]
        out += [add.__cache_key__(1, 2), first.__cache_key__(1, 'x'),
                c.get(add.__cache_key__(1, 2)), c.get(first.__cache_key__(1, 'x'), version=3),
                c.has_key(mul.__cache_key__(2, 3)), c.evict('memo'),
                add.__wrapped__ is not None, add.__name__]
        out.append(runs[0])
        return out

    result = on_both(djpair, both, scenario)
    assert result[0] == 'TypeError'
    assert result[-1] == 3 + 200 + 20000


def test_timeouts_give_up_without_retry(djpair, both):
    """With retry=False a write that cannot get the shard lock within
    DATABASE_TIMEOUT reports failure (False/None/default) instead of raising."""

    def scenario(c, _):
        key = c.make_key('locked')
        fanout = c._cache
        shard = fanout._shards[fanout._hash(key) % fanout._count]
        entered, release = threading.Event(), threading.Event()

        def hold():
            with shard.transact(retry=True):
                entered.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert entered.wait(10)
            out = [
                c.set('locked', 1, retry=False),
                c.add('locked', 1, retry=False),
                c.incr('locked', default=0, retry=False),
                c.touch('locked', retry=False),
                c.delete('locked', retry=False),
                c.pop('locked', 'dflt', retry=False),
            ]
        finally:
            release.set()
            holder.join()
        out.append(c.set('locked', 2))
        return out

    assert on_both(djpair, both, scenario) == [False, False, None, False, False, 'dflt', True]


# -- close, async, threads ----------------------------------------------------


def test_close(cache):
    cache.set('k', 'v')
    cache.close()
    cache.close(some_kwarg=True)
    assert cache.get('k') == 'v'
    # Django closes every initialized cache when a request ends.
    signals.request_finished.send(sender=None)
    assert cache.get('k') == 'v'
    assert cache.set('k2', 'v2') is True


def test_async_variants(djpair, both):
    async def scenario(c):
        out = [await c.aset('a', 1), await c.aget('a'), await c.aadd('a', 2), await c.aadd('b', 2),
               await c.atouch('a', 10), await c.ahas_key('a'), await c.aincr('a'),
               await c.adecr('a', 5), await c.aset_many({'m1': 1, 'm2': 2}),
               await c.aget_many(['m1', 'm2', 'zz']), await c.adelete_many(['m1']),
               await c.aget_or_set('g', 'got'), await c.aget_or_set('g', 'other'),
               await c.aincr_version('g'), await c.aget('g', version=2),
               await c.adecr_version('g', version=2), await c.adelete('g'),
               await c.aclear(), await c.aget('a')]
        await c.aclose()
        try:
            await c.aincr('missing')
        except ValueError:
            out.append('ValueError')
        return out

    result = both(*djpair(), lambda c: asyncio.run(scenario(c)))
    assert result[:8] == [True, 1, False, True, True, True, 2, -3]
    assert result[-1] == 'ValueError'


def test_async_expiry_versions_and_prefixes(djpair, both, clock):
    # Django's async cache tests, differentially: timeouts (relative, 0 and
    # None), versions, key prefixes, get_or_set with a callable, touch,
    # has_key of expired items and the many-key calls.
    async def scenario(c, caches_of):
        start = clock.now
        prefixed = caches_of('prefix')
        v2 = caches_of('v2')
        out = [await c.aset('k', 'v', timeout=1), await c.aset('z', 'zero', timeout=0),
               await c.aset('f', 'forever', timeout=None), await c.aget('z'),
               await prefixed.aget('k'), await prefixed.aset('k', 'prefixed'),
               await c.aget('k'), await v2.aget('k'), await c.aset('k', 'v2', version=2),
               await v2.aget('k'), await c.aget_or_set('g', lambda: 'computed', timeout=5),
               await c.aget_or_set('g', 'ignored'), await c.atouch('g', 100)]
        clock.advance(2)
        out += [await c.aget('k', 'gone'), await c.ahas_key('k'), await c.ahas_key('f'),
                await c.aget('g'), await c.aadd('k', 'again'), await c.aget('k'),
                await c.aset_many({'m1': 1, 'm2': 2}, timeout=10),
                await c.aget_many(['m1', 'm2', 'missing']),
                await c.adelete_many(['m1', 'missing']), await c.aget_many(['m1', 'm2']),
                await c.aincr('m2', 40), await c.adecr('m2', 2),
                await c.adelete('f'), await c.adelete('f')]
        for bad in ('aincr', 'adecr'):
            try:
                await getattr(c, bad)('missing')
            except ValueError as error:
                out.append(str(error))
        clock.set(start)
        return out

    result = on_both(djpair, both, lambda c, side: asyncio.run(scenario(c, side)))
    assert result[:4] == [True, True, True, None]
    assert result[-2:] in (["Key 'missing' not found"] * 2, ["Key ':1:missing' not found"] * 2)


def test_async_methods_are_native(cache, impl, monkeypatch):
    """Django's BaseCache runs each a-method through sync_to_async (a
    thread per call); DjangoCache's own run on the loop."""
    if impl.__name__ != 'diskcache_go':
        pytest.skip('python-diskcache uses Django\'s sync_to_async')
    import django.core.cache.backends.base as base

    def refuse(*args, **kwargs):
        raise AssertionError('sync_to_async was used')

    monkeypatch.setattr(base, 'sync_to_async', refuse)

    async def scenario():
        loop_thread = threading.get_ident()
        out = [await cache.aset('a', 1), await cache.aget('a'), await cache.aadd('b', 2),
               await cache.atouch('a', 10), await cache.ahas_key('b'), await cache.aincr('a'),
               await cache.adecr('a', 3), await cache.aset_many({'c': 3}),
               await cache.aget_many(['a', 'c']), await cache.adelete_many(['c']),
               await cache.aget_or_set('d', 4), await cache.aincr_version('d'),
               await cache.adelete('b'), await cache.apop('a'), await cache.aclear()]
        await cache.aclose()

        @cache.memoize()
        async def twice(number):
            return number * 2

        out += [await twice(21), await twice(21), threading.get_ident() == loop_thread]
        return out

    assert asyncio.run(scenario()) == [True, 1, True, True, True, 2, -1, [], {'a': -1, 'c': 3},
                                      None, 4, 2, True, -1, 1, 42, 42, True]


def test_threads_share_the_cache(cache, clock):
    """Django gives each thread its own backend object; all of them share
    the directory, and incr stays atomic."""
    cache.set('counter', 0, None)
    seen = []

    def work():
        mine = caches['default']
        seen.append(mine)  # kept alive, so the ids below stay distinct
        for _ in range(40):
            mine.incr('counter')
        caches['default'].close()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(backend) for backend in seen}) == 6
    assert cache.get('counter') == 240


# -- pickled model instances --------------------------------------------------


@pytest.fixture(scope='module')
def poll_table():
    with connection.schema_editor() as editor:
        editor.create_model(Poll)
    yield
    with connection.schema_editor() as editor:
        editor.delete_model(Poll)


def test_model_instances(cache, poll_table):
    """After Django's test_cache_read_for_model_instance and the deferred
    queryset tests: unpickling does not run field defaults again."""
    Poll.objects.all().delete()
    expensive_calculation.num_runs = 0
    poll = Poll.objects.create(question='Well?')
    assert expensive_calculation.num_runs == 1
    cache.set('question', poll)
    cached = cache.get('question')
    assert cached == poll and cached.answer == poll.answer == 'computed-1'
    assert cached.question == 'Well?'
    assert expensive_calculation.num_runs == 1

    deferred = Poll.objects.defer('question')
    assert deferred.count() == 1
    cache.set('deferred_queryset', deferred)
    assert expensive_calculation.num_runs == 1
    runs = expensive_calculation.num_runs
    restored = cache.get('deferred_queryset')
    assert [p.pk for p in restored] == [poll.pk]
    assert expensive_calculation.num_runs == runs
    assert restored[0].get_deferred_fields() == {'question'}

    unsaved = Poll(question='Not saved', answer='x')
    cache.set('unsaved', unsaved)
    back = cache.get('unsaved')
    assert back.pk is None and back.question == 'Not saved' and back._state.adding


# -- middleware, cache_page, template fragments -------------------------------

CACHE_MIDDLEWARE = [
    'djangoapp.middleware.WorkerPidMiddleware',
    'django.middleware.cache.UpdateCacheMiddleware',
    'django.middleware.common.CommonMiddleware',
    'django.middleware.cache.FetchFromCacheMiddleware',
]


def test_cache_middleware(cache, clock):
    views.CALLS.update(hello=0, private=0)
    with override_settings(
        MIDDLEWARE=CACHE_MIDDLEWARE,
        CACHE_MIDDLEWARE_ALIAS='default',
        CACHE_MIDDLEWARE_SECONDS=30,
        CACHE_MIDDLEWARE_KEY_PREFIX='site',
    ):
        client = Client()
        first = client.get('/hello/')
        assert first.content == b'Hello 1'
        assert 'max-age=30' in first['Cache-Control']
        assert client.get('/hello/').content == b'Hello 1'
        assert views.CALLS['hello'] == 1
        # A POST is never served from the cache.
        assert client.post('/hello/').content == b'Hello 2'
        # Cache-Control: private responses are not cached.
        assert client.get('/private/').content == b'Private 1'
        assert client.get('/private/').content == b'Private 2'
        # After the middleware's 30 seconds the page is rendered again.
        clock.advance(31)
        assert client.get('/hello/').content == b'Hello 3'
        assert client.get('/hello/').content == b'Hello 3'
        # Clearing the cache clears the pages.
        assert cache.clear() > 0
        assert client.get('/hello/').content == b'Hello 4'


def test_cache_middleware_pickles_cookies(cache):
    """After Django's test_cache_write_unpicklable_object: a response with
    cookies goes through the cache and back."""
    with override_settings(CACHE_MIDDLEWARE_ALIAS='default', CACHE_MIDDLEWARE_SECONDS=30):
        factory = RequestFactory()
        fetch = FetchFromCacheMiddleware(lambda request: HttpResponse())
        request = factory.get('/cookie/test')
        request._cache_update_cache = True
        assert fetch.process_request(request) is None
        content = 'Testing cookie serialization.'

        def get_response(request):
            response = HttpResponse(content)
            response.set_cookie('foo', 'bar')
            return response

        response = UpdateCacheMiddleware(get_response)(request)
        cached = fetch.process_request(request)
        assert cached is not None
        assert cached.content == content.encode()
        assert cached.cookies == response.cookies
        UpdateCacheMiddleware(lambda request: cached)(request)
        again = fetch.process_request(request)
        assert again.content == content.encode() and again.cookies == response.cookies


def test_cache_page(djcaches, clock):
    views.CALLS['page'] = 0
    client = Client()
    first = client.get('/page/')
    assert client.get('/page/').content == first.content
    assert views.CALLS['page'] == 1
    assert client.get('/page/?a=1').content != first.content
    assert views.CALLS['page'] == 2
    # Another cache (alias 'other', key_prefix 'elsewhere') holds its own copy.
    other = client.get('/page-other/')
    assert client.get('/page-other/').content == other.content
    assert views.CALLS['page'] == 3
    assert len(djcaches['other']._cache) > 0
    assert djcaches['other'].clear() > 0
    assert client.get('/page-other/').content != other.content
    assert client.get('/page/').content == first.content
    clock.advance(61)
    assert client.get('/page/').content != first.content


def test_template_fragment_cache(cache, clock):
    views.CALLS['fragment'] = 0
    client = Client()
    first = client.get('/fragment/?user=alice').content.decode()
    second = client.get('/fragment/?user=alice').content.decode()
    assert 'sidebar of alice: render 1' in first and 'sidebar of alice: render 1' in second
    assert 'live: render 2' in second
    assert 'sidebar of bob: render 3' in client.get('/fragment/?user=bob').content.decode()
    key = make_template_fragment_key('sidebar', ['alice'])
    assert cache.has_key(key)
    assert cache.delete(key) is True
    assert 'sidebar of alice: render 4' in client.get('/fragment/?user=alice').content.decode()
    clock.advance(61)
    assert 'sidebar of alice: render 5' in client.get('/fragment/?user=alice').content.decode()


def test_pickling_the_backend(cache):
    cache.set('k', 'v')
    copy = pickle.loads(pickle.dumps(cache))
    assert copy.get('k') == 'v' and copy.directory == cache.directory


# -- four worker processes of the Django app share one cache directory --------


def _fetch(port, path):
    with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path), timeout=30) as reply:
        return reply.status, reply.headers.get('X-Worker-Pid'), reply.read()


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='a pre-forking server needs os.fork')
def test_four_prefork_workers_share_the_cache(backend, tmp_path):
    """The test project runs under a pre-forking server (4 workers forked
    from a parent that already used the cache, like gunicorn --preload).
    Requests spread over the workers must see one cache: atomic counters,
    one cached page, one cached fragment, one memoized result."""
    cache_dir = str(tmp_path / 'shared')
    port_file = str(tmp_path / 'port')
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [TESTS, PYTHON_SRC] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else [])
    )
    env['DJANGOAPP_CACHE_DIR'] = cache_dir
    env['DJANGOAPP_CACHE_BACKEND'] = backend
    env.pop('DJANGO_SETTINGS_MODULE', None)
    server = subprocess.Popen(
        [sys.executable, '-m', 'djangoapp.serve', '--workers', '4', '--port-file', port_file,
         '--lifetime', '90'],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(port_file):
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, 'the server did not start'
            time.sleep(0.05)
        with open(port_file) as reader:
            port = int(reader.read())

        setting = {'BACKEND': backend, 'LOCATION': cache_dir, 'SHARDS': 4}
        with override_settings(CACHES={'default': setting}):
            here = caches['default']
            workers = here.deque('workers')
            while len(workers) < 4:
                assert time.monotonic() < deadline, 'workers did not start: %r' % list(workers)
                time.sleep(0.05)
            worker_pids = set(workers)
            assert len(worker_pids) == 4 and server.pid not in worker_pids
            assert here.get('server-pid') == server.pid

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                replies = list(pool.map(lambda n: _fetch(port, '/incr/'), range(120)))
                values = sorted(json.loads(body)['value'] for _, _, body in replies)
                assert values == list(range(1, 121))
                served = {int(pid) for _, pid, _ in replies}
                assert served <= worker_pids and len(served) >= 2
                assert here.get('hits') == 120

                # One request fills the cache, then every worker serves it.
                page = _fetch(port, '/page/')[2]
                pages = list(pool.map(lambda n: _fetch(port, '/page/'), range(24)))
                assert {body for _, _, body in pages} == {page}
                assert len({pid for _, pid, _ in pages}) >= 2

                def sidebar(body):
                    return body.decode().split('</p>')[0]

                fragment = sidebar(_fetch(port, '/fragment/?user=z')[2])
                fragments = list(pool.map(lambda n: _fetch(port, '/fragment/?user=z'), range(24)))
                assert {sidebar(body) for _, _, body in fragments} == {fragment}

                squares = list(pool.map(lambda n: _fetch(port, '/square/12/'), range(24)))
                assert {json.loads(body)['value'] for _, _, body in squares} == {144}
                runs = here.get('square-runs')
                assert 1 <= runs <= 4
                for _ in range(8):
                    assert json.loads(_fetch(port, '/square/12/')[2])['value'] == 144
                assert here.get('square-runs') == runs
                # The memoized result is visible here, under the made key.
                assert here.get(views._squarer().__cache_key__(12)) == 144

            assert all(status == 200 for status, _, _ in replies + pages + fragments + squares)
            here.close()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            out, err = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
    assert server.returncode == 0, err.decode(errors='replace')
