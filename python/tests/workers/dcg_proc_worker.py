"""Child-process entry points for test_processes.py.

They are started with the ``spawn`` start method, so they live in an
importable module (this directory is on the parent's ``sys.path``, which
``multiprocessing`` passes on to spawned children). The module under test is
passed explicitly as ``impl_name``.
"""

import collections
import os
import random
import sys
import time
import traceback

WORKERS_DIR = os.path.dirname(os.path.abspath(__file__))
if WORKERS_DIR not in sys.path:
    sys.path.insert(0, WORKERS_DIR)

import dcg_testutil as tu  # noqa: E402

# The shared key space. Value keys use every key type the Disk stores
# differently (str, int, bytes -> raw; tuple -> pickled). Value keys are
# never incr'd, counter keys are only incr'd (and read).
VALUE_KEYS = (
    ['val-%d' % i for i in range(30)]
    + [10_000 + i for i in range(10)]
    + [b'bval-%d' % i for i in range(5)]
    + [('val', i) for i in range(5)]
)
COUNTER_KEYS = ['ctr-%d' % i for i in range(6)] + [('ctr', 0), ('ctr', 1)]
ADD_ROUND_SECONDS = 0.05
MAX_OVERRUN = 60  # seconds a hammer worker may run on to reach min_ops


def add_key(round_no):
    return ('add', round_no)


def hammer(impl_name, directory, wid, seed, duration, min_ops, result_path,
           ready_event, start_event):
    """Hammer ``directory`` with a random op mix for ``duration`` seconds
    and at least ``min_ops`` operations (a slow machine or filesystem makes
    the run longer instead of thinner), but never past ``duration`` plus
    ``MAX_OVERRUN`` seconds, so that a starved worker is reported.

    Writes a result dict to ``result_path`` (always, also on failure).
    """
    result = {
        'wid': wid,
        'error': None,
        'ops': collections.Counter(),
        'elapsed': 0.0,
        # counter key -> list of values returned by incr
        'incr_returns': collections.defaultdict(list),
        # value key -> set of (wid, seq) written by a set/add that returned
        'written': collections.defaultdict(set),
        # value key -> set of (wid, seq) read back by get
        'observed': collections.defaultdict(set),
        # counter key -> largest value observed by get or incr
        'counter_max': {},
        # add round -> (wid, seq) for every add on ('add', round) that
        # returned True; and the rounds this worker attempted
        'add_wins': {},
        'add_attempted': set(),
        'race_attempted': set(),
        'last_round': None,
    }
    try:
        mod = tu.load_impl(impl_name)
        rng = random.Random(seed)
        cache = mod.Cache(directory)
        ready_event.set()
        if not start_event.wait(60):
            raise RuntimeError('start event never came')
        start = time.monotonic()
        deadline = start + duration
        hard_deadline = deadline + MAX_OVERRUN
        # Past the duration the add race stays on the last round's key, so
        # every worker's final sweep covers the same rounds.
        last_round = int(duration / ADD_ROUND_SECONDS)
        seq = 0
        ops = result['ops']
        counter_max = result['counter_max']

        def see_counter(key, value, source):
            if type(value) is not int:
                raise AssertionError('counter %r holds %r (%s)'
                                     % (key, value, type(value).__name__))
            previous = counter_max.get(key, 0)
            if value < previous:
                raise AssertionError(
                    'counter %r went backwards: %s returned %d after %d was '
                    'observed' % (key, source, value, previous))
            counter_max[key] = value

        def try_add(key, key_index):
            nonlocal seq
            seq += 1
            value = tu.random_value(rng, key_index, wid, seq,
                                    large_fraction=0.2, max_size=64 * 1024)
            added = cache.add(key, value)
            if added is not True and added is not False:
                raise AssertionError('add returned %r' % (added,))
            return added, (wid, seq)

        while True:
            now = time.monotonic()
            if now >= hard_deadline or (
                    now >= deadline and sum(ops.values()) >= min_ops):
                break
            round_no = min(int((now - start) / ADD_ROUND_SECONDS), last_round)
            roll = rng.random()
            if roll < 0.28:
                index = rng.randrange(len(VALUE_KEYS))
                seq += 1
                value = tu.random_value(rng, index, wid, seq,
                                        large_fraction=0.2,
                                        max_size=64 * 1024)
                if cache.set(VALUE_KEYS[index], value) is not True:
                    raise AssertionError('set did not return True')
                result['written'][VALUE_KEYS[index]].add((wid, seq))
                ops['set'] += 1
            elif roll < 0.50:
                index = rng.randrange(len(VALUE_KEYS))
                value = cache.get(VALUE_KEYS[index])
                if value is not None:
                    ident = tu.parse_value(value, index)
                    result['observed'][VALUE_KEYS[index]].add(ident)
                ops['get'] += 1
            elif roll < 0.60:
                index = rng.randrange(len(VALUE_KEYS))
                deleted = cache.delete(VALUE_KEYS[index])
                if deleted is not True and deleted is not False:
                    raise AssertionError('delete returned %r' % (deleted,))
                ops['delete'] += 1
            elif roll < 0.80:
                key = rng.choice(COUNTER_KEYS)
                value = cache.incr(key)
                see_counter(key, value, 'incr')
                result['incr_returns'][key].append(value)
                ops['incr'] += 1
            elif roll < 0.86:
                key = rng.choice(COUNTER_KEYS)
                value = cache.get(key)
                if value is not None:
                    see_counter(key, value, 'get')
                ops['get_counter'] += 1
            elif roll < 0.92:
                index = rng.randrange(len(VALUE_KEYS))
                added, ident = try_add(VALUE_KEYS[index], index)
                if added:
                    result['written'][VALUE_KEYS[index]].add(ident)
                ops['add'] += 1
            else:
                # The add race: every worker adds the key of the current
                # time slot, so the workers collide on the same keys.
                added, ident = try_add(add_key(round_no), -1)
                result['add_attempted'].add(round_no)
                result['race_attempted'].add(round_no)
                if added:
                    if round_no in result['add_wins']:
                        raise AssertionError(
                            'add of %r returned True twice in one process'
                            % (add_key(round_no),))
                    result['add_wins'][round_no] = ident
                ops['add_race'] += 1
        result['elapsed'] = time.monotonic() - start
        # Sweep: every round key gets attempted by every worker at least
        # once, so each one has exactly one winner overall.
        result['last_round'] = last_round
        for round_no in range(last_round + 1):
            added, ident = try_add(add_key(round_no), -1)
            result['add_attempted'].add(round_no)
            if added:
                if round_no in result['add_wins']:
                    raise AssertionError(
                        'add of %r returned True twice in one process'
                        % (add_key(round_no),))
                result['add_wins'][round_no] = ident
        cache.close()
    except BaseException:
        result['error'] = 'worker %d (pid %d):\n%s' % (
            wid, os.getpid(), traceback.format_exc())
    result['ops'] = dict(result['ops'])
    result['incr_returns'] = dict(result['incr_returns'])
    result['written'] = dict(result['written'])
    result['observed'] = dict(result['observed'])
    tu.dump_result(result_path, result)


def snapshot(impl_name, directory, result_path):
    """Open ``directory`` fresh and dump all of its items."""
    result = {'error': None}
    try:
        mod = tu.load_impl(impl_name)
        cache = mod.Cache(directory)
        items = {}
        for key in list(cache):
            items[key] = cache[key]
        result['items'] = items
        result['len'] = len(cache)
        cache.close()
    except BaseException:
        result['error'] = 'snapshot child (pid %d):\n%s' % (
            os.getpid(), traceback.format_exc())
    tu.dump_result(result_path, result)


def pingpong(impl_name, directory, conn):
    """Serve read/write requests from the parent over ``conn`` with one
    Cache object that stays open for the whole session. Any failure is sent
    to the parent as ``('error', traceback)`` and ends the child."""
    try:
        mod = tu.load_impl(impl_name)
        cache = mod.Cache(directory)
        missing = object()
        conn.send(('ready', os.getpid()))
        while True:
            if not conn.poll(60):
                raise RuntimeError('parent went silent')
            request = conn.recv()
            op = request[0]
            if op == 'stop':
                cache.close()
                conn.send(('ok', None))
                return
            if op == 'get':
                value = cache.get(request[1], missing)
                if value is missing:
                    conn.send(('absent', None))
                else:
                    conn.send(('ok', value))
            elif op == 'set':
                conn.send(('ok', cache.set(request[1], request[2])))
            elif op == 'delete':
                conn.send(('ok', cache.delete(request[1])))
            elif op == 'incr':
                conn.send(('ok', cache.incr(request[1])))
            else:
                raise ValueError('unknown request %r' % (request,))
    except BaseException:
        conn.send(('error', 'pingpong child (pid %d):\n%s'
                   % (os.getpid(), traceback.format_exc())))
