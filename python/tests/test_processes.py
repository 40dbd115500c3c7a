"""Multi-process correctness: several ``spawn``-ed processes share one cache
directory.

* ``test_processes_hammer``: 4 processes run a random set/get/delete/incr/add
  mix on a small shared key space for > 5 s and >= 200 operations each, then
  the parent checks that no increment was lost or duplicated, every stored
  value was written by someone for that key (and is not torn), every
  contested ``add`` had exactly one winner, and a freshly spawned process
  sees the same final state.
* ``test_processes_pingpong``: a write by one process is visible to the very
  next read in another process, both holding their Cache open.

The module under test is named by ``DISKCACHE_GO_TEST_IMPL`` (default
``diskcache_go``) and passed explicitly to every child.
"""

import multiprocessing
import os
import random
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                'workers'))
import dcg_testutil as tu  # noqa: E402
import dcg_proc_worker as pw  # noqa: E402

N_WORKERS = 4
DURATION = 5.5          # seconds of hammering per worker (>= 5 s)
MIN_OPS = 200           # and at least this many operations per worker
JOIN_TIMEOUT = 90       # generous: a hung child fails instead of hanging CI
MISSING = object()


@pytest.fixture
def mod():
    return tu.load_impl()


@pytest.fixture
def spawn_ctx():
    """A ``spawn`` context; every process started through ``ctx.started``
    is killed at teardown if it is still alive."""
    ctx = multiprocessing.get_context('spawn')
    ctx.started = []
    yield ctx
    for proc in ctx.started:
        if proc.is_alive():
            proc.kill()
            proc.join(10)


def start(ctx, target, *args):
    proc = ctx.Process(target=target, args=args, daemon=True)
    proc.start()
    ctx.started.append(proc)
    return proc


def join_and_load(proc, result_path, what, timeout=JOIN_TIMEOUT):
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join(10)
        pytest.fail('%s (pid %s) did not finish within %ss (deadlock?)'
                    % (what, proc.pid, timeout))
    if not os.path.exists(result_path):
        pytest.fail('%s (pid %s) died with exit code %s without writing a '
                    'result' % (what, proc.pid, proc.exitcode))
    result = tu.load_result(result_path)
    if result['error']:
        pytest.fail('%s failed:\n%s' % (what, result['error']))
    assert proc.exitcode == 0, '%s exit code %s' % (what, proc.exitcode)
    return result


def dump_cache(cache):
    items = {}
    for key in list(cache):
        items[key] = cache[key]
    return items


def test_processes_hammer(mod, spawn_ctx, tmp_path):
    directory = str(tmp_path / 'cache')
    seed = random.randrange(2**32)
    # Create the directory up front so that all workers open an existing
    # cache (concurrent creation is exercised by the ping-pong test).
    mod.Cache(directory).close()

    start_event = spawn_ctx.Event()
    workers = []
    for wid in range(1, N_WORKERS + 1):
        ready = spawn_ctx.Event()
        result_path = str(tmp_path / ('worker-%d.pickle' % wid))
        proc = start(spawn_ctx, pw.hammer, tu.impl_name(), directory, wid,
                     seed + wid, DURATION, MIN_OPS, result_path, ready,
                     start_event)
        workers.append((wid, proc, ready, result_path))
    deadline = time.monotonic() + JOIN_TIMEOUT
    for wid, proc, ready, result_path in workers:
        while not ready.wait(0.1):
            if not proc.is_alive():
                # Reports the child's traceback (or its exit code).
                join_and_load(proc, result_path, 'worker %d' % wid)
                pytest.fail('worker %d exited before becoming ready' % wid)
            if time.monotonic() > deadline:
                pytest.fail('worker %d did not open the cache within %ss'
                            % (wid, JOIN_TIMEOUT))
    start_event.set()

    results = {}
    for wid, proc, ready, result_path in workers:
        results[wid] = join_and_load(proc, result_path, 'worker %d' % wid,
                                     timeout=DURATION + pw.MAX_OVERRUN + JOIN_TIMEOUT)

    context = 'seed=%d' % seed
    for wid, res in results.items():
        assert res['elapsed'] >= 5.0, (wid, res['elapsed'])
        # Fewer means the worker hit its hard deadline: starved.
        assert sum(res['ops'].values()) >= MIN_OPS, (
            'worker %d made %d operations in %.1fs' % (
                wid, sum(res['ops'].values()), res['elapsed']),
            res['ops'], context)
        for op in ('set', 'get', 'delete', 'incr', 'add', 'add_race'):
            assert res['ops'].get(op, 0) > 0, (wid, op, res['ops'], context)

    cache = mod.Cache(directory)
    try:
        # -- counters: no lost and no duplicated increment ----------------
        for key in pw.COUNTER_KEYS:
            returns = []
            for res in results.values():
                returns.extend(res['incr_returns'].get(key, []))
            total = len(returns)
            final = cache.get(key, MISSING)
            if total == 0:
                assert final is MISSING, (key, final, context)
                continue
            assert final == total, (
                'counter %r holds %r but %d incr calls returned (%s)'
                % (key, final, total, context))
            assert type(final) is int
            # Each incr returned a distinct value: together exactly 1..total.
            assert sorted(returns) == list(range(1, total + 1)), (
                'incr results of %r are not a permutation of 1..%d: '
                'duplicates %r (%s)' % (
                    key, total,
                    sorted({v for v in returns if returns.count(v) > 1})[:10],
                    context))
            for wid, res in results.items():
                assert res['counter_max'].get(key, 0) <= final, (wid, key)

        # -- value keys: present value was written for that key -----------
        written = {key: set() for key in pw.VALUE_KEYS}
        for res in results.values():
            for key, idents in res['written'].items():
                written[key] |= idents
        expected_keys = set()
        for index, key in enumerate(pw.VALUE_KEYS):
            value = cache.get(key, MISSING)
            if value is MISSING:
                continue
            expected_keys.add(key)
            ident = tu.parse_value(value, index)
            assert ident in written[key], (
                'key %r holds a value written by writer %d seq %d, but no '
                'set/add of that value to this key returned (%s)'
                % ((key,) + ident + (context,)))
        for wid, res in results.items():
            for key, idents in res['observed'].items():
                stray = idents - written[key]
                assert not stray, (
                    'worker %d read values of %r that nobody wrote: %r (%s)'
                    % (wid, key, sorted(stray)[:5], context))

        # -- add race: exactly one winner per key ----------------------------
        last_round = results[1]['last_round']
        for round_no in range(last_round + 1):
            key = pw.add_key(round_no)
            winners = [(wid, res['add_wins'][round_no])
                       for wid, res in results.items()
                       if round_no in res['add_wins']]
            attempts = sum(round_no in res['add_attempted']
                           for res in results.values())
            assert attempts == N_WORKERS
            assert len(winners) == 1, (
                'add(%r) returned True in %d processes: %r (%s)'
                % (key, len(winners), winners, context))
            stored = cache.get(key, MISSING)
            assert stored is not MISSING, key
            assert tu.parse_value(stored, -1) == winners[0][1], (
                'add(%r) winner was %r but the cache holds %r'
                % (key, winners[0][1], tu.parse_value(stored)))
            expected_keys.add(key)
        # The race really happened: some keys were added by >= 2 processes
        # during the timed phase, before the final sweep.
        contested = sum(
            1 for round_no in range(last_round + 1)
            if sum(round_no in res['race_attempted']
                   for res in results.values()) > 1)
        assert contested > 0

        expected_keys |= {key for key in pw.COUNTER_KEYS
                          if cache.get(key) is not None}

        # -- whole-cache view ---------------------------------------------
        parent_items = dump_cache(cache)
        assert set(parent_items) == expected_keys, (
            'unexpected keys: %r, missing keys: %r'
            % (set(parent_items) - expected_keys,
               expected_keys - set(parent_items)))
        assert len(cache) == len(parent_items)
        warnings = cache.check()
        assert warnings == [], [str(w.message) for w in warnings]
    finally:
        cache.close()

    # -- a fresh process sees the same state ------------------------------
    snap_path = str(tmp_path / 'snapshot.pickle')
    proc = start(spawn_ctx, pw.snapshot, tu.impl_name(), directory, snap_path)
    snap = join_and_load(proc, snap_path, 'snapshot child')
    assert snap['len'] == len(parent_items)
    assert set(snap['items']) == set(parent_items)
    for key, value in parent_items.items():
        assert snap['items'][key] == value, (
            'fresh process sees a different value for %r' % (key,))


def test_processes_pingpong(mod, spawn_ctx, tmp_path):
    """Alternating writes between two processes that both keep their Cache
    open: each read must see the other side's latest write immediately."""
    directory = str(tmp_path / 'cache')
    parent_conn, child_conn = spawn_ctx.Pipe()
    # The child opens (and may create) the directory concurrently with the
    # parent.
    proc = start(spawn_ctx, pw.pingpong, tu.impl_name(), directory,
                 child_conn)
    cache = mod.Cache(directory)
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)

    def call(*request):
        if request[0] != 'hello':
            parent_conn.send(request)
        if not parent_conn.poll(JOIN_TIMEOUT):
            pytest.fail('child did not answer %r within %ss'
                        % (request[:2], JOIN_TIMEOUT))
        status, payload = parent_conn.recv()
        if status == 'error':
            pytest.fail('child failed on %r:\n%s' % (request[:2], payload))
        return status, payload

    try:
        status, _pid = call('hello')
        assert status == 'ready'
        keys = ['pp', 7, b'pp-bytes', ('pp', 'tuple')]
        index = 0
        counter = None
        for i in range(100):
            parent_writes = i % 2 == 0
            key = keys[i % len(keys)]
            if i % 10 == 9:
                op = 'delete'
            elif i % 10 == 4:
                op = 'incr'
            else:
                op = 'set'
            if op == 'set':
                index += 1
                value = tu.random_value(rng, 0, 1 if parent_writes else 2,
                                        index, large_fraction=0.4)
                if parent_writes:
                    assert cache.set(key, value) is True
                else:
                    assert call('set', key, value) == ('ok', True)
                if parent_writes:
                    status, seen = call('get', key)
                    assert status == 'ok', (i, key, status)
                else:
                    seen = cache.get(key, MISSING)
                assert seen is not MISSING, (i, key)
                assert tu.parse_value(seen, 0) == tu.parse_value(value, 0), (
                    'round %d: read in the %s does not see the latest write '
                    'to %r (seed %d)' % (i, 'child' if parent_writes
                                         else 'parent', key, seed))
                assert seen == value
            elif op == 'delete':
                if parent_writes:
                    assert cache.delete(key) is True
                    status, _ = call('get', key)
                    assert status == 'absent', (i, key)
                else:
                    assert call('delete', key) == ('ok', True)
                    assert cache.get(key, MISSING) is MISSING, (i, key)
            else:
                if parent_writes:
                    counter = cache.incr('pp-counter')
                    assert call('get', 'pp-counter') == ('ok', counter)
                else:
                    status, counter = call('incr', 'pp-counter')
                    assert cache.get('pp-counter') == counter, i
        assert counter == 10
        assert call('stop') == ('ok', None)
        proc.join(JOIN_TIMEOUT)
        assert not proc.is_alive(), 'ping-pong child did not exit'
        assert proc.exitcode == 0
    finally:
        cache.close()
