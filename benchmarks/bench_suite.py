#!/usr/bin/env python3
"""The full speed suite: diskcache_go against python-diskcache and the ports.

    python benchmarks/bench_suite.py                 # default run, a few minutes
    python benchmarks/bench_suite.py --quick         # a smoke run, under a minute
    python benchmarks/bench_suite.py --sizes 1000,10000,100000,1000000 \\
        --json suite.json --charts docs/images

Implementations: ``diskcache`` (5.6.3, the baseline of every ratio),
``diskcache_go`` (this checkout), and ``diskcache_rs`` and
``pysciqlop_cache`` when they can be imported (a missing one is skipped
with the reason printed). Workloads, each one a row of the table:

* python-diskcache's mix (100 keys, 90% get / 9% set / 1% delete) in one
  process and in eight at once (aggregate operations per second);
* get hit, get miss, set (overwrite), set (new key) and delete at growing
  entry counts (``--sizes``), 256-byte values; one cache per implementation
  grows from size to size, filled through its fastest bulk path;
* get and set of values from 64 B to 64 MiB (``--value-sizes``);
* pickled values (a dict, a tuple) and non-str keys (int, tuple);
* ``incr`` and ``memoize`` hits;
* open plus first get of the largest cache in a fresh process, and the peak
  RSS of a fresh process that reads every key of it.

Method: every row runs one untimed warm-up round and ``--rounds`` timed
rounds; within a round each implementation runs the same batch, and the
order of the implementations rotates from round to round, so that the
drift of a shared machine falls on all of them alike. A row's figure is
the median of its rounds. Every round checks its results (a get hit must
return the stored value, a delete must remove the key...), so an
implementation that fails quietly is reported as failing, not as fast.

The ratio columns say how many times better than python-diskcache each
implementation is: diskcache time / its time, its throughput / diskcache
throughput, diskcache memory / its memory, taken round by round (the two
ran back to back) and the median of those kept. Above 1 is better.
"""

import argparse
import gc
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import suite_child
import suite_impls
from bench_basic import machine_info
from suite_child import scale_key

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = 'diskcache'
MIB = 1 << 20
VALUE_SIZES = (64, 1 << 10, 16 << 10, 256 << 10, MIB, 16 * MIB, 64 * MIB)
VALUE_BUDGET = 64 * MIB     # bytes moved per round and implementation


class Row:
    """One line of the table: what was measured and which way is better."""

    def __init__(self, row_id, section, label, unit, higher_better=False):
        self.id = row_id
        self.section = section
        self.label = label
        self.unit = unit
        self.higher_better = higher_better


class Suite:
    """The implementations under test and every figure measured so far."""

    def __init__(self, adapters, args, base_dir):
        self.adapters = adapters
        self.names = [adapter.name for adapter in adapters]
        self.args = args
        self.base_dir = base_dir
        self.rows = {}
        self.values = {}
        self.errors = {}
        self.extra = {}

    def row(self, row_id, section, label, unit, higher_better=False):
        self.rows[row_id] = Row(row_id, section, label, unit, higher_better)
        self.values[row_id] = {name: [] for name in self.names}
        self.errors[row_id] = {}
        return row_id

    def failed(self, row_id, name):
        return name in self.errors[row_id]

    def fail(self, row_id, name, reason):
        self.errors[row_id][name] = reason
        note('%s: %s: %s' % (name, self.rows[row_id].label, reason))

    def median(self, row_id, name):
        values = self.values[row_id][name]
        if not values or self.failed(row_id, name):
            return None
        return statistics.median(values)

    def ratio(self, row_id, name, base=BASELINE):
        """How many times better `name` is than `base` on this row.

        The median of the rounds' own ratios: the two ran back to back in
        each round, so a slow spell of the shared machine that falls on
        one round moves both, where a ratio of the two medians could pair
        a fast round of one with a slow round of the other.
        """
        if self.median(row_id, name) is None or self.median(row_id, base) is None:
            return None
        mine, theirs = self.values[row_id][name], self.values[row_id][base]
        if len(mine) != len(theirs):
            mine, theirs = [statistics.median(mine)], [statistics.median(theirs)]
        better = self.rows[row_id].higher_better
        ratios = [(m / t if better else t / m) for m, t in zip(mine, theirs) if m and t]
        return statistics.median(ratios) if ratios else None

    def scratch(self, label):
        return tempfile.mkdtemp(prefix='suite-%s-' % label, dir=self.base_dir)


class Unsupported(Exception):
    """The implementation has no way to do what the row measures."""


class WrongResult(Exception):
    """A round's check failed: the implementation answered wrongly."""


def note(message):
    print('note: ' + message, file=sys.stderr, flush=True)


def progress(message):
    print(message, file=sys.stderr, flush=True)


def expect(condition, message):
    if not condition:
        raise WrongResult(message)


def timed(func, items, *args):
    """µs per call of func(item, *args) over items, with GC paused."""
    gc.disable()
    try:
        began = time.perf_counter_ns()
        for item in items:
            func(item, *args)
        elapsed = time.perf_counter_ns() - began
    finally:
        gc.enable()
    return elapsed / 1000 / max(1, len(items))


def interleave(suite, row_id, runners, rounds=None, warmup=1):
    """Run every implementation's round function, rotating their order.

    runners maps an implementation name to fn(round_index) -> figure. A
    failure is recorded and printed, and that implementation sits out the
    rest of the row; the suite goes on with the others.
    """
    names = [name for name in suite.names if name in runners]
    rounds = suite.args.rounds if rounds is None else rounds
    for rnd in range(-warmup, rounds):
        shift = rnd % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            if suite.failed(row_id, name):
                continue
            figure = _run_one(suite, row_id, name, runners[name], rnd + warmup)
            if figure is not None and rnd >= 0:
                suite.values[row_id][name].append(figure)


def _run_one(suite, row_id, name, runner, rnd):
    """One round of one implementation; None if it failed."""
    try:
        return runner(rnd)
    except Unsupported as exc:
        suite.fail(row_id, name, 'not supported: %s' % exc)
    except WrongResult as exc:
        suite.fail(row_id, name, 'wrong result: %s' % exc)
    # Anything else an implementation raises is a finding to report, not a
    # reason to stop the suite: it is recorded and printed with its type.
    except Exception as exc:  # noqa: BLE001
        suite.fail(row_id, name, '%s: %s' % (type(exc).__name__, exc))
    return None


def setup_failed(suite, name, stage, exc):
    """Record that an implementation could not even be set up for a stage."""
    reason = '%s: %s: %s' % (stage, type(exc).__name__, exc)
    suite.extra.setdefault('setup_errors', {}).setdefault(name, []).append(reason)
    note('%s left out of %s' % (name, reason))


def open_all(suite, label, fill=()):
    """A fresh cache per implementation, in its own scratch directory.

    An implementation that cannot open or fill is left out of this stage
    (and says why) rather than stopping the suite.
    """
    opened = {}
    for adapter in suite.adapters:
        directory = suite.scratch('%s-%s' % (label, adapter.name))
        try:
            cache = adapter.open(directory)
            adapter.fill(cache, fill)
        # Reported with its type and carried on, like a failed round.
        except Exception as exc:  # noqa: BLE001
            setup_failed(suite, adapter.name, label, exc)
            shutil.rmtree(directory, ignore_errors=True)
            continue
        opened[adapter.name] = (adapter, directory, cache)
    return opened


def close_all(opened):
    for _, directory, cache in opened.values():
        cache.close()
        shutil.rmtree(directory, ignore_errors=True)


# --------------------------------------------------------------------------
# Workload: python-diskcache's mix, 1 and 8 processes
# --------------------------------------------------------------------------

def bench_mix(suite):
    """Aggregate ops/s of the 90/9/1 mix over 100 keys, 1 and 8 processes."""
    args = suite.args
    value = random.Random(1).randbytes(256)
    opened = open_all(suite, 'mix', [(key, value) for key in suite_child.MIX_KEYS])
    row = suite.row('mix1', 'mix', 'mix 90/9/1, 1 process', 'ops/s', True)
    interleave(suite, row, {name: _mix_one(cache, args.mix_ops, value)
                            for name, (_, _, cache) in opened.items()})
    progress('  mix, 1 process done')
    row = suite.row('mix8', 'mix', 'mix 90/9/1, %d processes' % args.processes,
                    'ops/s', True)
    pool = MixPool(args.processes)
    try:
        interleave(suite, row, {
            name: _mix_many(suite, pool, name, directory, args.mix_ops, value)
            for name, (_, directory, _) in opened.items()})
    finally:
        pool.close()
    progress('  mix, %d processes done' % args.processes)
    close_all(opened)


def _mix_one(cache, count, value):
    def run(rnd):
        ops = suite_child.mix_ops(1000 + rnd, count)
        began = time.perf_counter()
        failed = suite_child.run_mix(cache, ops, value)
        elapsed = time.perf_counter() - began
        expect(failed == 0, '%d sets returned False' % failed)
        return count / elapsed
    return run


def _mix_many(suite, pool, name, directory, count, value):
    def run(rnd):
        if rnd == 0:
            pool.open(name, directory)
        spans = pool.run(name, directory, 2000 + 100 * rnd, count, value)
        failed = sum(span[2] for span in spans)
        expect(failed == 0, '%d sets returned False' % failed)
        wall = max(span[1] for span in spans) - min(span[0] for span in spans)
        return count * len(spans) / wall
    return run


class MixPool:
    """Long-lived spawned workers, so process start-up is never timed."""

    def __init__(self, processes):
        context = multiprocessing.get_context('spawn')
        # Kept on self: the children unpickle it after start() returns, and
        # its semaphore must still exist then.
        self.barrier = context.Barrier(processes)
        self.conns = []
        self.procs = []
        for _ in range(processes):
            parent, child = context.Pipe()
            proc = context.Process(target=suite_child.mix_worker,
                                   args=(child, self.barrier), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    def open(self, name, directory):
        """Open the cache in every worker, one worker at a time.

        Sequential on purpose: diskcache_rs fails when several processes
        open one directory at the same instant (its start-up probe file
        races), and the mix measures operations, not opening.
        """
        for conn in self.conns:
            conn.send(('open', name, directory))
            self._answer(conn)

    def run(self, name, directory, seed, count, value):
        for i, conn in enumerate(self.conns):
            conn.send(('run', name, directory, seed + i, count, value))
        answers = [conn.recv() for conn in self.conns]
        errors = [message for status, message in answers if status == 'error']
        if errors:
            raise RuntimeError('mix worker: %s' % errors[0])
        return [message for _, message in answers]

    @staticmethod
    def _answer(conn):
        status, message = conn.recv()
        if status == 'error':
            raise RuntimeError('mix worker: %s' % message)
        return message

    def close(self):
        for conn in self.conns:
            conn.send(None)
        for proc in self.procs:
            proc.join(timeout=30)


# --------------------------------------------------------------------------
# Workload: get/set/delete as the cache grows
# --------------------------------------------------------------------------

SCALE_OPS = (
    ('get_hit', 'get hit'),
    ('get_miss', 'get miss'),
    ('set', 'set (overwrite)'),
    ('set_new', 'set (new key)'),
    ('delete', 'delete'),
)


def bench_scale(suite):
    """Grow one cache per implementation through --sizes, measuring at each.

    Returns the caches (still on disk, closed) for the fresh-process rows.
    """
    value = random.Random(2).randbytes(256)
    opened = open_all(suite, 'scale')
    filled = 0
    for size in suite.args.sizes:
        for name, (adapter, directory, cache) in list(opened.items()):
            began = time.perf_counter()
            try:
                adapter.fill(cache, ((scale_key(i), value) for i in range(filled, size)))
            # Reported with its type; the others go on growing.
            except Exception as exc:  # noqa: BLE001
                setup_failed(suite, name, 'scale fill to %d' % size, exc)
                del opened[name]
                shutil.rmtree(directory, ignore_errors=True)
                continue
            progress('  filled %-16s to %d entries in %.1f s'
                     % (name, size, time.perf_counter() - began))
        filled = size
        for op, title in SCALE_OPS:
            row = suite.row('%s@%d' % (op, size), 'scale',
                            '%s, %s entries' % (title, '{:,}'.format(size)), 'µs')
            interleave(suite, row, {
                name: _scale_round(op, adapter, cache, size, value, suite.args.ops)
                for name, (adapter, _, cache) in opened.items()})
        progress('  scale %d done' % size)
    for _, _, cache in opened.values():
        cache.close()
    return {name: directory for name, (_, directory, _) in opened.items()}


def _scale_round(op, adapter, cache, size, value, ops):
    def run(rnd):
        rng = random.Random(rnd * 7 + size)
        picked = [scale_key(i) for i in rng.sample(range(size), min(ops, size))]
        return SCALE_ROUNDS[op](adapter, cache, picked, value, rnd)
    return run


def _get_hit(adapter, cache, keys, value, rnd):
    figure = timed(cache.get, keys)
    expect(cache.get(keys[-1]) == value, 'get of a stored key lost its value')
    return figure


def _get_miss(adapter, cache, keys, value, rnd):
    absent = ['absent-%d-%s' % (rnd, key) for key in keys]
    figure = timed(cache.get, absent)
    expect(cache.get(absent[0]) is None, 'get of an absent key found a value')
    return figure


def _set_overwrite(adapter, cache, keys, value, rnd):
    figure = timed(cache.set, keys, value)
    expect(cache.get(keys[0]) == value, 'set did not store the value')
    return figure


def _set_new(adapter, cache, keys, value, rnd):
    fresh = ['new-%d-%s' % (rnd, key) for key in keys]
    figure = timed(cache.set, fresh, value)
    expect(cache.get(fresh[-1]) == value, 'set of a new key did not store it')
    for key in fresh:              # untimed: keep the entry count constant
        cache.delete(key)
    return figure


def _delete(adapter, cache, keys, value, rnd):
    figure = timed(cache.delete, keys)
    expect(cache.get(keys[0]) is None, 'delete left the key readable')
    adapter.fill(cache, [(key, value) for key in keys])   # untimed restore
    return figure


SCALE_ROUNDS = {'get_hit': _get_hit, 'get_miss': _get_miss,
                'set': _set_overwrite, 'set_new': _set_new, 'delete': _delete}


# --------------------------------------------------------------------------
# Workload: value sizes
# --------------------------------------------------------------------------

def bench_values(suite):
    """get and set of one value size at a time, 64 B to 64 MiB."""
    opened = open_all(suite, 'values')
    for size in suite.args.value_sizes:
        count = max(3, min(suite.args.ops, VALUE_BUDGET // size))
        keys = ['value-%d-%d' % (size, i) for i in range(min(count, 100))]
        value = random.Random(size).randbytes(size)
        batch = [keys[i % len(keys)] for i in range(count)]
        label = human_size(size)
        row = suite.row('value_get@%d' % size, 'values', 'get, %s value' % label, 'µs')
        interleave(suite, row, {name: _value_get(adapter, cache, batch, value)
                                for name, (adapter, _, cache) in opened.items()})
        row = suite.row('value_set@%d' % size, 'values', 'set, %s value' % label, 'µs')
        interleave(suite, row, {name: _value_set(cache, batch, value)
                                for name, (_, _, cache) in opened.items()})
        for _, _, cache in opened.values():     # keep the disk use bounded
            for key in keys:
                cache.delete(key)
        progress('  values %s done' % label)
    close_all(opened)


def _value_get(adapter, cache, batch, value):
    def run(rnd):
        if rnd == 0:
            adapter.fill(cache, [(key, value) for key in sorted(set(batch))])
        figure = timed(cache.get, batch)
        expect(cache.get(batch[0]) == value, 'get returned another value')
        return figure
    return run


def _value_set(cache, batch, value):
    def run(rnd):
        figure = timed(cache.set, batch, value)
        expect(cache.get(batch[-1]) == value, 'set did not store the value')
        return figure
    return run


def human_size(size):
    for unit, scale in (('MiB', MIB), ('KiB', 1 << 10)):
        if size >= scale and size % scale == 0:
            return '%d %s' % (size // scale, unit)
    return '%d B' % size


# --------------------------------------------------------------------------
# Workload: pickled values, non-str keys, incr, memoize
# --------------------------------------------------------------------------

OBJECT_KEYS = 1000


def _dict_value(i):
    return {'id': i, 'name': 'user-%d' % i, 'email': 'user%d@example.org' % i,
            'tags': ['alpha', 'beta'], 'score': i * 0.5, 'active': True}


def _tuple_value(i):
    return (i, 'name-%d' % i, 3.25, None, (1, 2, 3))


OBJECT_CASES = (
    # row suffix, title, key of i, value of i, needs non-str keys
    ('dict', 'pickled dict value', 'obj-%d'.__mod__, _dict_value, False),
    ('tuple', 'pickled tuple value', 'tup-%d'.__mod__, _tuple_value, False),
    ('intkey', 'int key, 256 B value', int, None, True),
    ('tuplekey', 'tuple key, 256 B value', lambda i: ('user', i), None, True),
)


def bench_objects(suite):
    """get and set of pickled values, and of int and tuple keys."""
    opened = open_all(suite, 'objects')
    blob = random.Random(3).randbytes(256)
    for suffix, title, key_of, value_of, non_str in OBJECT_CASES:
        items = [(key_of(i), value_of(i) if value_of else blob)
                 for i in range(OBJECT_KEYS)]
        for op in ('get', 'set'):
            row = suite.row('%s_%s' % (op, suffix), 'objects',
                            '%s, %s' % (op, title), 'µs')
            interleave(suite, row, {
                name: _object_round(op, adapter, cache, items, non_str, suite.args.ops)
                for name, (adapter, _, cache) in opened.items()})
        progress('  objects %s done' % suffix)
    bench_incr(suite, opened)
    bench_memoize(suite, opened)
    close_all(opened)


def _object_round(op, adapter, cache, items, non_str, ops):
    def run(rnd):
        if non_str and adapter.str_keys_only:
            raise Unsupported('str keys only')
        if rnd == 0:
            adapter.fill(cache, items)
        rng = random.Random(rnd)
        chosen = [items[rng.randrange(len(items))] for _ in range(ops)]
        keys = [key for key, _ in chosen]
        if op == 'get':
            figure = timed(cache.get, keys)
        else:
            figure = _timed_set_items(cache, chosen)
        expect(cache.get(keys[-1]) == chosen[-1][1], '%s returned another value' % op)
        return figure
    return run


def _timed_set_items(cache, items):
    """µs per set over (key, value) pairs, with GC paused."""
    set_ = cache.set
    gc.disable()
    try:
        began = time.perf_counter_ns()
        for key, value in items:
            set_(key, value)
        elapsed = time.perf_counter_ns() - began
    finally:
        gc.enable()
    return elapsed / 1000 / max(1, len(items))


def _cache_row(suite, opened, row_id, label, make_round):
    """One 'objects' row: make_round(cache, ops) for every open cache."""
    row = suite.row(row_id, 'objects', label, 'µs')
    interleave(suite, row, {name: make_round(cache, suite.args.ops)
                            for name, (_, _, cache) in opened.items()})
    progress('  %s done' % row_id)


def bench_incr(suite, opened):
    """incr of 100 counters, checked against a local count."""
    _cache_row(suite, opened, 'incr', 'incr', _incr_round)


def _incr_round(cache, ops):
    expected = {}

    def run(rnd):
        keys = ['counter-%d' % (i % 100) for i in range(ops)]
        figure = timed(cache.incr, keys)
        for key in keys:
            expected[key] = expected.get(key, 0) + 1
        expect(cache.get(keys[0]) == expected[keys[0]], 'incr lost a count')
        return figure
    return run


def bench_memoize(suite, opened):
    """Calls of a memoized function whose results are all cached."""
    _cache_row(suite, opened, 'memoize', 'memoize hit', _memoize_round)


def _memoize_round(cache, ops):
    calls = [0]

    @cache.memoize()
    def square(x):
        calls[0] += 1
        return x * x

    for x in range(100):            # warm: every later call is a hit
        square(x)

    def run(rnd):
        before = calls[0]
        figure = timed(square, [i % 100 for i in range(ops)])
        expect(calls[0] == before, 'memoize recomputed %d results'
               % (calls[0] - before))
        return figure
    return run


# --------------------------------------------------------------------------
# Workload: fresh processes (open + first get, reader peak memory)
# --------------------------------------------------------------------------

def bench_processes(suite, directories):
    """Open-plus-first-get and reader memory on the largest scale cache."""
    size = suite.args.sizes[-1]
    count = '{:,}'.format(size)
    row = suite.row('open_get', 'process',
                    'open + first get, %s entries, fresh process' % count, 'ms')
    interleave(suite, row, {name: _open_round(name, directories[name], size)
                            for name in directories})
    progress('  open + first get done')
    row = suite.row('reader_rss', 'process',
                    'peak RSS, reader of all %s entries' % count, 'MiB')
    # Peak memory hardly varies from run to run, and each reader reads the
    # whole cache, so fewer rounds and no warm-up.
    interleave(suite, row, {name: _reader_round(suite, name, directories[name], size)
                            for name in directories},
               rounds=suite.args.reader_rounds, warmup=0)
    progress('  reader memory done')


def run_child(*argv):
    """Run suite_child.py in a fresh interpreter; return its JSON answer."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [HERE, os.path.join(suite_impls.REPO, 'python')]
        + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    done = subprocess.run([sys.executable, os.path.join(HERE, 'suite_child.py')]
                          + [str(arg) for arg in argv],
                          env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError('child %s failed: %s' % (argv[0], done.stderr.strip()[-500:]))
    return json.loads(done.stdout)


def _open_round(name, directory, size):
    def run(rnd):
        answer = run_child('open', name, directory, scale_key(size // 2))
        expect(answer['hit'], 'the first get missed')
        return answer['open_get_s'] * 1000
    return run


def _reader_round(suite, name, directory, size):
    def run(rnd):
        answer = run_child('reader', name, directory, size)
        expect(answer['hits'] == size, 'read %d of %d keys' % (answer['hits'], size))
        extra = suite.extra.setdefault('reader', {}).setdefault(name, [])
        extra.append(answer)
        return answer['peak_kib'] / 1024
    return run


# --------------------------------------------------------------------------
# Targets of issue 6 item 2 (diskcache_go against the others)
# --------------------------------------------------------------------------

GO = 'diskcache_go'

# (description, row-id prefixes, threshold on the ratio to python-diskcache)
TARGETS = (
    ('get hit >= 8x', ('get_hit@',), 8),
    ('get miss >= 8x', ('get_miss@',), 8),
    ('set >= 10x', ('set@', 'set_new@'), 10),
    ('delete >= 10x', ('delete@',), 10),
    ('8-process mix >= 8x', ('mix8',), 8),
    ('pickled get/set and memoize hit >= 5x',
     ('get_dict', 'set_dict', 'get_tuple', 'set_tuple', 'memoize'), 5),
    ('1 MiB get >= 2x', ('value_get@%d' % MIB,), 2),
    ('1 MiB set >= 3x', ('value_set@%d' % MIB,), 3),
    ('open + first get >= 2x', ('open_get',), 2),
    ('reader peak memory <= 1.1x (ratio >= 0.91)', ('reader_rss',), 1 / 1.1),
)


def _matching(suite, prefixes):
    return [row_id for row_id in suite.rows
            if any(row_id == p or (p.endswith('@') and row_id.startswith(p))
                   for p in prefixes)]


def evaluate_targets(suite):
    """Each target: the worst ratio over its rows, and whether it holds."""
    results = []
    for description, prefixes, threshold in TARGETS:
        pairs = [(suite.ratio(row_id, GO), row_id)
                 for row_id in _matching(suite, prefixes)]
        pairs = [pair for pair in pairs if pair[0] is not None]
        if not pairs:
            results.append({'target': description, 'measured': None, 'met': None,
                            'worst_row': None})
            continue
        worst, row_id = min(pairs)
        results.append({'target': description, 'measured': worst,
                        'met': worst >= threshold, 'worst_row': row_id})
    results.append(_flatness_target(suite))
    results.extend(_ports_targets(suite))
    return results


def _flatness_target(suite):
    """Latency at the largest size within 1.3x of that at 10,000 entries."""
    sizes = suite.args.sizes
    small = 10000 if 10000 in sizes else sizes[0]
    large = sizes[-1]
    worst = None
    for op, _ in SCALE_OPS:
        a = suite.median('%s@%d' % (op, small), GO)
        b = suite.median('%s@%d' % (op, large), GO)
        if a and b and (worst is None or b / a > worst[0]):
            worst = (b / a, '%s@%d' % (op, large))
    description = 'latency at %s entries <= 1.3x that at %s' % (
        '{:,}'.format(large), '{:,}'.format(small))
    if worst is None or large == small:
        return {'target': description, 'measured': None, 'met': None, 'worst_row': None}
    return {'target': description, 'measured': worst[0], 'met': worst[0] <= 1.3,
            'worst_row': worst[1], 'lower_is_better': True}


def _ports_targets(suite):
    """diskcache_go at least 3x ahead of each other port on every row."""
    results = []
    for port in ('diskcache_rs', 'pysciqlop_cache'):
        if port not in suite.names:
            continue
        pairs = [(suite.ratio(row_id, GO, base=port), row_id) for row_id in suite.rows]
        pairs = [pair for pair in pairs if pair[0] is not None]
        if not pairs:
            continue
        behind = [row_id for ratio, row_id in pairs if ratio < 3]
        worst, row_id = min(pairs)
        results.append({'target': '>= 3x ahead of %s on every row' % port,
                        'measured': worst, 'met': not behind, 'worst_row': row_id,
                        'rows_below': behind, 'rows_compared': len(pairs)})
    return results


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def format_figure(value, unit):
    if value is None:
        return '-'
    if unit == 'ops/s':
        return '{:,.0f}'.format(value)
    if value >= 1000:
        return '{:,.0f}'.format(value)
    return '%.3g' % value if value < 10 else '%.1f' % value


def table_lines(suite):
    """The table of medians and ratios, as aligned text lines."""
    others = [name for name in suite.names if name != BASELINE]
    header = ['row', 'unit'] + suite.names + ['%s/%s' % (BASELINE, name) for name in others]
    body = []
    for row in suite.rows.values():
        cells = [row.label, row.unit]
        for name in suite.names:
            cells.append('ERR' if suite.failed(row.id, name) and not
                         suite.errors[row.id][name].startswith('not supported')
                         else format_figure(suite.median(row.id, name), row.unit))
        for name in others:
            ratio = suite.ratio(row.id, name)
            cells.append('%.2fx' % ratio if ratio is not None else '-')
        body.append(cells)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

    def line(cells):
        return '  '.join([cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
                         + [c.rjust(w) for c, w in zip(cells[2:], widths[2:])])
    return [line(header), '  '.join('-' * w for w in widths)] + [line(r) for r in body]


def target_lines(targets):
    lines = ['Targets (issue 6 item 2), diskcache_go:']
    for target in targets:
        verdict = {True: 'met', False: 'NOT met', None: 'not measured'}[target['met']]
        measured = ('%.2fx' % target['measured']) if target['measured'] is not None else '-'
        lines.append('  %-52s %8s  %-12s %s' % (target['target'], measured, verdict,
                                                 target.get('worst_row') or ''))
    return lines


def error_lines(suite):
    lines = []
    for row_id, errors in suite.errors.items():
        for name, reason in errors.items():
            lines.append('  %s / %s: %s' % (suite.rows[row_id].label, name, reason))
    return ['Failed or unsupported:'] + lines if lines else []


def document(suite, machine, targets, elapsed, skipped):
    """Everything measured, for --json and plot_suite.py."""
    return {
        'benchmark': 'bench_suite',
        'machine': machine,
        'params': {key: getattr(suite.args, key) for key in
                   ('rounds', 'ops', 'mix_ops', 'processes', 'sizes', 'value_sizes',
                    'reader_rounds', 'quick')},
        'impls': {a.name: {'version': a.version, 'note': a.note} for a in suite.adapters},
        'skipped': skipped,
        'baseline': BASELINE,
        'rows': [{'id': row.id, 'section': row.section, 'label': row.label,
                  'unit': row.unit, 'higher_better': row.higher_better,
                  'median': {n: suite.median(row.id, n) for n in suite.names},
                  'rounds': suite.values[row.id],
                  'ratio_to_baseline': {n: suite.ratio(row.id, n) for n in suite.names},
                  'errors': suite.errors[row.id]}
                 for row in suite.rows.values()],
        'targets': targets,
        'extra': suite.extra,
        'elapsed_s': elapsed,
    }


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def int_list(text):
    return [int(part.replace('_', '')) for part in text.split(',') if part.strip()]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='diskcache_go against python-diskcache and the other ports, '
                    'side by side (see the module docstring).')
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run: 3 rounds, small sizes, values up to 1 MiB')
    parser.add_argument('--impls', default=','.join(suite_impls.ALL_NAMES),
                        help='implementations to try (default: all four)')
    parser.add_argument('--rounds', type=int, help='timed rounds per row (default 5)')
    parser.add_argument('--ops', type=int, help='operations per round (default 2000)')
    parser.add_argument('--mix-ops', type=int,
                        help='mix operations per process and round (default 5000)')
    parser.add_argument('--processes', type=int, default=8,
                        help='processes of the multi-process mix (default 8)')
    parser.add_argument('--sizes', type=int_list,
                        help='entry counts of the scale rows, ascending '
                             '(default 1000,10000,100000; add 1000000,10000000 '
                             'for the full run, which takes long to fill)')
    parser.add_argument('--value-sizes', type=int_list,
                        help='value sizes in bytes (default 64 B to 64 MiB)')
    parser.add_argument('--reader-rounds', type=int, default=3,
                        help='fresh reader processes per implementation (default 3)')
    parser.add_argument('--dir', help='parent of the scratch cache directories')
    parser.add_argument('--json', metavar='PATH', help='write every figure to PATH')
    parser.add_argument('--charts', metavar='DIR',
                        help='write the PNG charts into DIR (e.g. docs/images)')
    args = parser.parse_args(argv)
    _fill_defaults(args)
    if args.sizes != sorted(args.sizes) or args.sizes[0] < 1:
        parser.error('--sizes must be positive and ascending')
    return args


def _fill_defaults(args):
    """Defaults depend on --quick; explicit options always win."""
    quick = args.quick
    defaults = {
        'rounds': 3 if quick else 5,
        'ops': 500 if quick else 2000,
        'mix_ops': 1000 if quick else 5000,
        'sizes': [1000, 10000] if quick else [1000, 10000, 100000],
        'value_sizes': [v for v in VALUE_SIZES if v <= MIB] if quick else list(VALUE_SIZES),
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if quick:
        args.reader_rounds = min(args.reader_rounds, 1)


def load_adapters(names):
    """Import what can be imported; say why each missing one is skipped."""
    adapters, skipped = [], {}
    for name in names:
        try:
            adapters.append(suite_impls.load(name))
        except ImportError as exc:
            skipped[name] = 'not importable: %s' % exc
            note('skipping %s: %s' % (name, skipped[name]))
    return adapters, skipped


def run_all(suite):
    """Every workload in turn; the scale caches feed the process rows."""
    progress('mix')
    bench_mix(suite)
    progress('scale')
    directories = bench_scale(suite)
    try:
        progress('fresh processes')
        bench_processes(suite, directories)
    finally:
        for directory in directories.values():
            shutil.rmtree(directory, ignore_errors=True)
    progress('value sizes')
    bench_values(suite)
    progress('objects, incr, memoize')
    bench_objects(suite)


def report(suite, machine, targets, elapsed):
    print('Machine : %s, %s cores, %s' % (machine['cpu'], machine['cores'], machine['platform']))
    print('Python  : %s;  date %s;  storage %s' % (machine['python'], machine['date_utc'],
                                                    machine['filesystem']))
    for adapter in suite.adapters:
        print('Impl    : %-16s %s %s' % (adapter.name, adapter.version,
                                         '(%s)' % adapter.note if adapter.note else ''))
    args = suite.args
    print('Method  : medians of %d interleaved rounds (+1 warm-up), %d ops per round; '
          'ratio = how many times better than %s' % (args.rounds, args.ops, BASELINE))
    print()
    print('\n'.join(table_lines(suite)))
    print()
    print('\n'.join(target_lines(targets)))
    lines = error_lines(suite)
    if lines:
        print()
        print('\n'.join(lines))
    print()
    print('suite time: %.0f s' % elapsed)


def main(argv=None):
    args = parse_args(argv)
    adapters, skipped = load_adapters([n.strip() for n in args.impls.split(',') if n.strip()])
    if [a.name for a in adapters][:1] != [BASELINE] or len(adapters) < 2:
        print('error: need %s first and at least one other implementation' % BASELINE,
              file=sys.stderr)
        return 2
    base_dir = args.dir or tempfile.gettempdir()
    suite = Suite(adapters, args, base_dir)
    machine = machine_info(base_dir)
    began = time.perf_counter()
    run_all(suite)
    elapsed = time.perf_counter() - began
    targets = evaluate_targets(suite)
    report(suite, machine, targets, elapsed)
    doc = document(suite, machine, targets, elapsed, skipped)
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as out:
            json.dump(doc, out, indent=1, ensure_ascii=False)
            out.write('\n')
        print('JSON written to %s' % args.json)
    if args.charts:
        import plot_suite
        for path in plot_suite.draw_all(doc, args.charts):
            print('chart written to %s' % path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
