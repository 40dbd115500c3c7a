"""FanoutIndex: the Index API over N shards.

* mapping behaviour against a plain dict (hypothesis state machine);
* routing: every key is in shard ``disk.hash(key) % shards``, the shard a
  FanoutCache (ours and python-diskcache's) picks;
* layout, reopening, pickling, repr, equality, transact, memoize;
* several processes writing at once.
"""

import multiprocessing
import os
import pathlib
import pickle
import shutil
import sys
import tempfile

import diskcache
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

try:
    import diskcache_go  # noqa: F401  (FastCache/FanoutIndex exist only here)
except ModuleNotFoundError:  # not installed: use the in-tree package
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from diskcache_go import FanoutCache, FanoutIndex, Index  # noqa: E402
from diskcache_go.core import ENOVAL  # noqa: E402

MAX_EXAMPLES = int(os.environ.get('DISKCACHE_GO_HYPOTHESIS_EXAMPLES', '25'))
STEP_COUNT = int(os.environ.get('DISKCACHE_GO_HYPOTHESIS_STEPS', '40'))

SAMPLE_KEYS = [0, 1, -7, 2**40, 2**70, 1.5, 'a', 'b', '', 'ключ', b'raw', (1, 'x'), None,
               frozenset({3})]


# -- against a dict -------------------------------------------------------------

KEY_SPACE = [0, 1, 2, 'a', 'b', 'c', 'ключ', b'x', (1, 2), None, 2.5]
KEYS = st.sampled_from(KEY_SPACE)
VALUES = st.one_of(
    st.integers(-5, 5), st.text(max_size=3), st.none(), st.lists(st.integers(), max_size=2)
)


class IndexAgainstDict(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.root = tempfile.mkdtemp(prefix='diskcache-go-fanoutindex-')
        self.index = FanoutIndex(self.root, shards=3)
        self.model = {}

    def teardown(self):
        self.index.close()
        shutil.rmtree(self.root, ignore_errors=True)

    @rule(key=KEYS, value=VALUES)
    def setitem(self, key, value):
        self.index[key] = value
        self.model[key] = value

    @rule(key=KEYS)
    def getitem(self, key):
        if key in self.model:
            assert self.index[key] == self.model[key]
        else:
            with pytest.raises(KeyError):
                self.index[key]

    @rule(key=KEYS)
    def delitem(self, key):
        if key in self.model:
            del self.index[key]
            del self.model[key]
        else:
            with pytest.raises(KeyError):
                del self.index[key]

    @rule(key=KEYS, default=VALUES)
    def get(self, key, default):
        assert self.index.get(key, default) == self.model.get(key, default)

    @rule(key=KEYS, default=st.one_of(st.just(ENOVAL), VALUES))
    def pop(self, key, default):
        if default is ENOVAL and key not in self.model:
            with pytest.raises(KeyError):
                self.index.pop(key)
        elif default is ENOVAL:
            assert self.index.pop(key) == self.model.pop(key)
        else:
            assert self.index.pop(key, default) == self.model.pop(key, default)

    @rule(key=KEYS, default=VALUES)
    def setdefault(self, key, default):
        assert self.index.setdefault(key, default) == self.model.setdefault(key, default)

    @rule(pairs=st.lists(st.tuples(KEYS, VALUES), max_size=4))
    def update(self, pairs):
        self.index.update(pairs)
        self.model.update(pairs)

    @rule(last=st.booleans())
    def popitem(self, last):
        if not self.model:
            with pytest.raises(KeyError):
                self.index.popitem(last)
            return
        key, value = self.index.popitem(last)
        assert self.model.pop(key) == value

    @rule(data=st.data())
    def clear(self, data):
        if data.draw(st.integers(0, 9)) == 0:
            self.index.clear()
            self.model.clear()

    @invariant()
    def same_items(self):
        assert len(self.index) == len(self.model)
        assert sorted(map(repr, self.index)) == sorted(map(repr, self.model))
        assert self.index == self.model
        for key in KEY_SPACE:
            assert (key in self.index) == (key in self.model)


def test_mapping_against_dict():
    run_state_machine_as_test(
        IndexAgainstDict,
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=STEP_COUNT,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# -- routing and layout ---------------------------------------------------------


def test_routing_matches_fanoutcache(tmp_path):
    shards = 5
    index = FanoutIndex(tmp_path / 'index', shards=shards)
    ours = FanoutCache(str(tmp_path / 'ours'), shards=shards)
    theirs = diskcache.FanoutCache(str(tmp_path / 'theirs'), shards=shards)
    try:
        for key in SAMPLE_KEYS:
            index[key] = ours[key] = theirs[key] = repr(key)
        for number in range(shards):
            mine = sorted(map(repr, index.shards[number]))
            assert mine == sorted(map(repr, ours._shards[number]))
            assert mine == sorted(map(repr, theirs._shards[number]))
            disk = index.shards[0].cache.disk
            assert all(disk.hash(key) % shards == number for key in index.shards[number])
        assert sum(len(shard) for shard in index.shards) == len(SAMPLE_KEYS)
    finally:
        ours.close()
        theirs.close()


def test_layout_and_shards(tmp_path):
    index = FanoutIndex(str(tmp_path / 'ix'))
    assert index.directory == str(tmp_path / 'ix')
    assert sorted(os.listdir(index.directory)) == ['%03d' % n for n in range(8)]
    assert len(index.shards) == 8 and all(type(shard) is Index for shard in index.shards)
    assert [shard.directory for shard in index.shards] == [
        os.path.join(index.directory, '%03d' % n) for n in range(8)
    ]
    assert all(shard.cache.eviction_policy == 'none' for shard in index.shards)
    temporary = FanoutIndex(shards=2)
    try:
        assert os.path.basename(temporary.directory).startswith('diskcache-')
    finally:
        shutil.rmtree(temporary.directory)
    path_like = FanoutIndex(pathlib.Path(tmp_path) / 'p', shards=1)
    assert path_like.directory == str(tmp_path / 'p')
    for bad in (0, -1, True, 2.0, '4'):
        with pytest.raises(ValueError):
            FanoutIndex(str(tmp_path / 'bad'), shards=bad)


def test_iteration_order_is_shard_order(tmp_path):
    index = FanoutIndex(str(tmp_path), shards=4)
    keys = ['key%02d' % n for n in range(30)]
    for key in keys:
        index[key] = key.upper()
    index['key05'] = 'rewritten'  # keeps its place in its shard
    expected = [key for shard in index.shards for key in shard]
    assert list(index) == expected and sorted(expected) == keys
    for shard in index.shards:
        mine = [key for key in keys if key in shard.cache]
        assert list(shard) == mine
    assert list(reversed(index)) == expected[::-1]
    assert list(index.keys()) == expected
    assert list(index.values()) == [index[key] for key in expected]
    assert list(index.items()) == [(key, index[key]) for key in expected]
    assert ('key05', 'rewritten') in index.items() and 'KEY05' not in index.values()


def test_reopen_pickle_repr(tmp_path):
    index = FanoutIndex(str(tmp_path), shards=3)
    index.update({'a': 1, 'b': [2]}, c=3)
    again = FanoutIndex(str(tmp_path), shards=3)
    assert dict(again.items()) == {'a': 1, 'b': [2], 'c': 3}
    copy = pickle.loads(pickle.dumps(index))
    assert copy.directory == index.directory and len(copy.shards) == 3
    assert copy == index
    assert repr(index) == 'FanoutIndex(%r, shards=3)' % str(tmp_path)
    with FanoutIndex(str(tmp_path), shards=3) as scoped:
        assert scoped['a'] == 1
    assert scoped['c'] == 3  # reconnects after close


def test_mapping_extras(tmp_path):
    index = FanoutIndex(str(tmp_path), shards=3)
    assert index.setdefault('n', []) == [] and index.setdefault('n', 5) == []
    index.update([('x', 1), ('y', 2)])
    index.update(z=3)

    class KeysOnly:
        def keys(self):
            return ['k']

        def __getitem__(self, key):
            return 'v'

    index.update(KeysOnly())
    assert index['k'] == 'v'
    with pytest.raises(TypeError):
        index.update({}, {})
    assert index.pop('x') == 1 and index.pop('x', 'd') == 'd'
    with pytest.raises(KeyError):
        index.pop('x')
    assert index.get('missing') is None and index.get('y') == 2
    assert index == {'n': [], 'y': 2, 'z': 3, 'k': 'v'}
    assert index != {'n': [], 'y': 2, 'z': 3}
    assert index != {'n': [], 'y': 2, 'z': 3, 'k': 'other'}
    assert (index == 5) is False and index != 'text'
    with pytest.raises(TypeError):
        hash(index)
    popped = [index.popitem(last=False) for _ in range(4)]
    assert sorted(popped, key=repr) == sorted(
        [('n', []), ('y', 2), ('z', 3), ('k', 'v')], key=repr
    )
    with pytest.raises(KeyError, match='dictionary is empty'):
        index.popitem()
    index['a'] = 1
    index.clear()
    assert len(index) == 0 and list(index) == []


def test_transact_and_memoize(tmp_path):
    index = FanoutIndex(str(tmp_path), shards=3)
    with index.transact():
        for n in range(10):
            index[n] = n * n
    assert sum(index.values()) == sum(n * n for n in range(10))
    with pytest.raises(ZeroDivisionError):
        with index.transact():
            index['rolled back'] = 1
            1 / 0
    assert 'rolled back' not in index

    calls = []

    with pytest.raises(TypeError):
        index.memoize(lambda: 1)

    @index.memoize(name='square', typed=True)
    def square(x):
        calls.append(x)
        return x * x

    assert [square(3), square(3), square(3.0), square(4)] == [9, 9, 9.0, 16]
    assert calls == [3, 3.0, 4]
    assert index[square.__cache_key__(3)] == 9 and square.__name__ == 'square'


def _writer(index, worker, count):
    for n in range(count):
        index['w%d-%d' % (worker, n)] = n
        index.setdefault('shared', worker)


def test_processes_write_at_once(tmp_path):
    index = FanoutIndex(str(tmp_path), shards=4)
    context = multiprocessing.get_context('spawn')
    workers = [context.Process(target=_writer, args=(index, w, 150)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert len(index) == 4 * 150 + 1
    assert index['shared'] in range(4)
    assert all(index['w%d-%d' % (w, n)] == n for w in range(4) for n in range(150))
