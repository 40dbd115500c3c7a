"""Hypothesis stateful differential test: reference ``diskcache.Cache``
versus the candidate ``Cache``, driven by the same random operations under a
fake ``time.time``.

Tunables (environment variables):

* ``DISKCACHE_GO_HYPOTHESIS_EXAMPLES``  -- ``max_examples`` (default 25)
* ``DISKCACHE_GO_HYPOTHESIS_STEPS``     -- ``stateful_step_count`` (default 40)

Run against the reference itself to validate the machine::

    DISKCACHE_GO_TEST_IMPL=diskcache python -m pytest -q \\
        python/tests/test_cache_hypothesis.py
"""

import os
import shutil
import tempfile
from unittest import mock

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

MAX_EXAMPLES = int(os.environ.get('DISKCACHE_GO_HYPOTHESIS_EXAMPLES', '25'))
STEP_COUNT = int(os.environ.get('DISKCACHE_GO_HYPOTHESIS_STEPS', '40'))

KiB = 2**10
BIG_VALUES = [
    b'B' * (40 * KiB),
    'S' * (40 * KiB),
    b'\x00' * (32 * KiB),  # exactly at the threshold: file-backed
    'line\r\n' * (6 * KiB),  # file-backed text, reads back with '\n'
    list(range(12000)),  # pickled, file-backed
]

KEY_SPACE = [0, 1, 1.0, -1, 2.5, 2**64, 'a', '', 'ключ', b'a', (1, 'x'), None, True]
KEYS = st.sampled_from(KEY_SPACE)
SMALL_VALUES = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.none(),
    st.booleans(),
    st.tuples(st.integers(-3, 3), st.text(max_size=2)),
)
VALUES = st.one_of(SMALL_VALUES, st.sampled_from(BIG_VALUES))
TAGS = st.sampled_from([None, 'red', 'blue', 1, b't'])
EXPIRES = st.sampled_from([None, None, 0, 0.5, 1, 2, 3, 5, 10, -1])
DEFAULTS = st.sampled_from([None, 0, 'dflt', (1, 2)])
DELTAS = st.one_of(st.integers(-5, 5), st.sampled_from([0.5, -2.25, 2**62]))
INCR_DEFAULTS = st.sampled_from([0, 0, None, 7, 1.5])
ADVANCE = st.one_of(st.integers(0, 5), st.sampled_from([0.5, 2.5]))


def make_machine(impl, harness):
    outcome = harness.outcome
    reference = harness.reference

    class CacheComparison(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.clock = harness.FakeClock()
            self.patcher = mock.patch('time.time', self.clock)
            self.patcher.start()
            self.root = tempfile.mkdtemp(prefix='diskcache-go-hyp-')
            self.ref = reference.Cache(os.path.join(self.root, 'ref'))
            self.new = impl.Cache(os.path.join(self.root, 'new'))

        def teardown(self):
            try:
                self.ref.close()
                self.new.close()
            finally:
                self.patcher.stop()
                shutil.rmtree(self.root, ignore_errors=True)

        def compare(self, fn, description):
            expected = outcome(fn, self.ref)
            actual = outcome(fn, self.new)
            assert actual == expected, (
                '%s at t=%r\n  reference: %r\n  candidate: %r'
                % (description, self.clock(), expected, actual)
            )

        # -- clock ---------------------------------------------------------

        @rule(seconds=ADVANCE)
        def advance_clock(self, seconds):
            self.clock.advance(seconds)

        # -- writes --------------------------------------------------------

        @rule(key=KEYS, value=VALUES, expire=EXPIRES, tag=TAGS)
        def set(self, key, value, expire, tag):
            self.compare(
                lambda c: c.set(key, value, expire=expire, tag=tag),
                'set(%r, <%s>, expire=%r, tag=%r)'
                % (key, type(value).__name__, expire, tag),
            )

        @rule(key=KEYS, value=VALUES)
        def setitem(self, key, value):
            self.compare(
                lambda c: c.__setitem__(key, value),
                'cache[%r] = <%s>' % (key, type(value).__name__),
            )

        @rule(key=KEYS, value=VALUES, expire=EXPIRES, tag=TAGS)
        def add(self, key, value, expire, tag):
            self.compare(
                lambda c: c.add(key, value, expire=expire, tag=tag),
                'add(%r, <%s>, expire=%r, tag=%r)'
                % (key, type(value).__name__, expire, tag),
            )

        @rule(key=KEYS, delta=DELTAS, default=INCR_DEFAULTS)
        def incr(self, key, delta, default):
            self.compare(
                lambda c: c.incr(key, delta, default=default),
                'incr(%r, %r, default=%r)' % (key, delta, default),
            )

        @rule(key=KEYS, delta=DELTAS, default=INCR_DEFAULTS)
        def decr(self, key, delta, default):
            self.compare(
                lambda c: c.decr(key, delta, default=default),
                'decr(%r, %r, default=%r)' % (key, delta, default),
            )

        @rule(key=KEYS, expire=EXPIRES)
        def touch(self, key, expire):
            self.compare(
                lambda c: c.touch(key, expire),
                'touch(%r, %r)' % (key, expire),
            )

        # -- reads ---------------------------------------------------------

        @rule(
            key=KEYS,
            default=DEFAULTS,
            expire_time=st.booleans(),
            tag=st.booleans(),
        )
        def get(self, key, default, expire_time, tag):
            self.compare(
                lambda c: c.get(key, default, expire_time=expire_time, tag=tag),
                'get(%r, %r, expire_time=%r, tag=%r)'
                % (key, default, expire_time, tag),
            )

        @rule(key=KEYS)
        def getitem(self, key):
            self.compare(lambda c: c[key], 'cache[%r]' % (key,))

        @rule(key=KEYS)
        def contains(self, key):
            self.compare(lambda c: key in c, '%r in cache' % (key,))

        # -- removals ------------------------------------------------------

        @rule(
            key=KEYS,
            default=DEFAULTS,
            expire_time=st.booleans(),
            tag=st.booleans(),
        )
        def pop(self, key, default, expire_time, tag):
            self.compare(
                lambda c: c.pop(key, default, expire_time=expire_time, tag=tag),
                'pop(%r, %r, expire_time=%r, tag=%r)'
                % (key, default, expire_time, tag),
            )

        @rule(key=KEYS)
        def delete(self, key):
            self.compare(lambda c: c.delete(key), 'delete(%r)' % (key,))

        @rule(key=KEYS)
        def delitem(self, key):
            self.compare(lambda c: c.__delitem__(key), 'del cache[%r]' % (key,))

        @rule()
        def expire(self):
            self.compare(lambda c: c.expire(), 'expire()')

        @rule(tag=TAGS)
        def evict(self, tag):
            self.compare(lambda c: c.evict(tag), 'evict(%r)' % (tag,))

        @rule(n=st.integers(0, 4))
        def clear(self, n):
            # clear() only one time in five, so that state can build up.
            if n == 0:
                self.compare(lambda c: c.clear(), 'clear()')
            else:
                self.compare(lambda c: list(reversed(c)), 'list(reversed(cache))')

        # -- invariants ----------------------------------------------------

        @invariant()
        def same_keys_in_order(self):
            self.compare(list, 'list(cache)')

        @invariant()
        def same_length(self):
            self.compare(len, 'len(cache)')

        @invariant()
        def same_visible_items(self):
            # Read-only view of the whole key space (fast-path get, no
            # statistics, LRS policy: nothing is written).
            for key in KEY_SPACE:
                self.compare(
                    lambda c: (
                        key in c,
                        c.get(key, 'MISSING', expire_time=True, tag=True),
                    ),
                    '(%r in cache, cache.get(%r, expire_time=True, tag=True))'
                    % (key, key),
                )

    return CacheComparison


def test_cache_state_machine(impl, harness):
    machine = make_machine(impl, harness)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=STEP_COUNT,
            deadline=None,
            database=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.filter_too_much,
            ],
        ),
    )
