#!/usr/bin/env python3
"""Side-by-side latency benchmark: diskcache.Cache vs diskcache_go.Cache.

Measures the median per-operation latency of

    get (hit), get (miss), set (overwrite), set (new key), delete

for every implementation named in ``--impls`` (each name is a module that
exposes a ``Cache`` class with the python-diskcache API), in ONE process run,
and prints an aligned table plus a machine description.

Method
------
* Every implementation gets its own fresh temporary directory, prefilled with
  ``--keys`` str keys (``'key-00001'`` ...) mapped to ``--value-size`` bytes.
* For every operation, ``--rounds`` rounds are run.  Within a round every
  implementation times one batch of ``--ops`` operations with
  ``time.perf_counter_ns()`` around the whole batch (GC disabled), giving a
  per-op figure in microseconds.  The implementation order alternates between
  rounds (A,B then B,A ...) to cancel drift.  One untimed warm-up round
  precedes the timed ones.  The reported figure is the median over rounds.
* Key order is shuffled with a fixed seed (``--seed``); successive rounds use
  successive slices of the shuffled key list, and both implementations see
  exactly the same keys in a round.
* ``set (new)`` inserts keys that do not exist yet; they are removed again
  after the round, outside the timed region, so the cache size stays constant.
* ``delete`` always removes existing keys; they are re-inserted after the
  round, outside the timed region.

Only the standard library and the cache modules are used.

Usage
-----
    python benchmarks/bench_basic.py
    python benchmarks/bench_basic.py --rounds 9 --ops 5000 --json out.json
    python benchmarks/bench_basic.py --impls diskcache,diskcache   # self-check
"""

import argparse
import datetime
import gc
import importlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

MAIN_IMPLS = ('diskcache', 'diskcache_go')

OPERATIONS = (
    ('get_hit', 'get (hit)'),
    ('get_miss', 'get (miss)'),
    ('set_overwrite', 'set (overwrite)'),
    ('set_new', 'set (new key)'),
    ('delete', 'delete'),
)

# Make the in-repo package importable without installing it
# (<repo>/python/diskcache_go); an installed copy is shadowed by the checkout.
_LOCAL_PY = Path(__file__).resolve().parent.parent / 'python'
if (_LOCAL_PY / 'diskcache_go').is_dir() and str(_LOCAL_PY) not in sys.path:
    sys.path.insert(0, str(_LOCAL_PY))


def _micro():
    """Return 'µs' if stdout can encode it, else 'us'."""
    try:
        'µ'.encode(sys.stdout.encoding or 'ascii')
        return 'µs'
    except (UnicodeEncodeError, LookupError):
        return 'us'


US = _micro()


def note(msg):
    print('note: ' + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Machine description
# --------------------------------------------------------------------------

def cpu_model():
    try:
        with open('/proc/cpuinfo', encoding='utf-8', errors='replace') as f:
            info = f.read()
    except OSError:
        info = ''
    for field in ('model name', 'Model', 'Hardware', 'cpu model', 'Processor'):
        for line in info.splitlines():
            name, sep, value = line.partition(':')
            if sep and name.strip() == field and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or 'unknown'


def filesystem_of(path):
    """Best-effort filesystem type of *path* from /proc/mounts."""
    try:
        path = os.path.realpath(path)
        best, fstype = '', 'unknown'
        with open('/proc/mounts', encoding='utf-8') as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mnt = parts[1].replace('\\040', ' ')
                if (path == mnt or path.startswith(mnt.rstrip('/') + '/')) \
                        and len(mnt) >= len(best):
                    best, fstype = mnt, parts[2]
        return '%s (%s)' % (fstype, best) if best else fstype
    except OSError:
        return 'unknown'


def machine_info(base_dir):
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = None
    cores = os.cpu_count()
    return {
        'cpu': cpu_model(),
        'cores': cores,
        'cores_usable': usable if usable is not None else cores,
        'python': '%s %s' % (platform.python_implementation(),
                             platform.python_version()),
        'platform': platform.platform(),
        'date_utc': datetime.datetime.now(datetime.timezone.utc)
                    .strftime('%Y-%m-%d %H:%M:%S UTC'),
        'tmp_dir': base_dir,
        'filesystem': filesystem_of(base_dir),
    }


# --------------------------------------------------------------------------
# Benchmark machinery
# --------------------------------------------------------------------------

class Impl:
    def __init__(self, label, modname, module):
        self.label = label
        self.modname = modname
        self.module = module
        self.version = getattr(module, '__version__', '?')
        self.origin = getattr(module, '__file__', '?')
        self.tmp = None
        self.cache = None
        self.broken = {}        # op -> error message

    def open(self, base_dir):
        self.tmp = tempfile.TemporaryDirectory(
            prefix='bench-%s-' % self.label.replace('#', '_'), dir=base_dir)
        self.cache = self.module.Cache(self.tmp.name)

    def close(self):
        if self.cache is not None:
            try:
                self.cache.close()
            except Exception as exc:  # pragma: no cover - best effort
                note('%s: close() failed: %r' % (self.label, exc))
            self.cache = None
        if self.tmp is not None:
            self.tmp.cleanup()
            self.tmp = None


def load_impls(names):
    impls = []
    seen = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else '%s#%d' % (name, seen[name])
        try:
            module = importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - anything may break
            if isinstance(exc, KeyboardInterrupt):
                raise
            note('skipping %r: import failed: %s: %s'
                 % (name, type(exc).__name__, exc))
            continue
        if not callable(getattr(module, 'Cache', None)):
            note('skipping %r: module has no Cache class' % name)
            continue
        impls.append(Impl(label, name, module))
    return impls


def timed_batch(func, keys, *args):
    """Call func(key, *args) for every key; return elapsed ns."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if args:
            (arg,) = args
            t0 = time.perf_counter_ns()
            for k in keys:
                func(k, arg)
            t1 = time.perf_counter_ns()
        else:
            t0 = time.perf_counter_ns()
            for k in keys:
                func(k)
            t1 = time.perf_counter_ns()
    finally:
        if gc_was_enabled:
            gc.enable()
    return t1 - t0


def key_name(i):
    return 'key-%05d' % i


class Workload:
    def __init__(self, args):
        rng = random.Random(args.seed)
        self.nkeys = args.keys
        self.ops = args.ops
        self.keys = [key_name(i) for i in range(1, args.keys + 1)]
        self.shuffled = self.keys[:]
        rng.shuffle(self.shuffled)
        self.value = rng.randbytes(args.value_size)
        self.value2 = rng.randbytes(args.value_size)   # for overwrites
        self.miss_keys = ['miss-%05d' % i for i in range(1, args.ops + 1)]
        rng.shuffle(self.miss_keys)
        self.new_counter = 0

    def slice(self, r):
        """Keys for round r: a rotating window over the shuffled key list."""
        n, ops = self.nkeys, self.ops
        start = (r * ops) % n
        if ops <= n:
            out = self.shuffled[start:start + ops]
            if len(out) < ops:
                out += self.shuffled[:ops - len(out)]
            return out
        # More ops than keys: repeat the key list (fine for get/set).
        reps = self.shuffled[start:] + self.shuffled[:start]
        return (reps * (ops // n + 1))[:ops]

    def delete_targets(self, r):
        """Distinct existing keys to delete in round r (+extra if ops>keys)."""
        if self.ops <= self.nkeys:
            return self.slice(r), []
        extra = ['key-x%06d' % i for i in range(self.ops - self.nkeys)]
        return self.shuffled[:] + extra, extra

    def new_keys(self):
        base = self.new_counter
        self.new_counter += self.ops
        return ['new-%07d' % (base + i) for i in range(self.ops)]


def prefill(impl, wl):
    cache = impl.cache
    for k in wl.keys:
        cache.set(k, wl.value)
    got = len(cache)
    if got != wl.nkeys:
        raise RuntimeError('prefill: len(cache) == %d, expected %d'
                           % (got, wl.nkeys))
    if cache.get(wl.keys[0]) != wl.value:
        raise RuntimeError('prefill: get() did not return the stored value')


def run_round(impl, op, wl, r, ctx):
    """Run one batch of `op` on impl for round r; return per-op µs."""
    cache = impl.cache
    ops = wl.ops
    if op == 'get_hit':
        keys = wl.slice(r)
        ns = timed_batch(cache.get, keys)
        if cache.get(keys[-1]) is None:
            raise RuntimeError('get (hit) returned None for %r' % keys[-1])
    elif op == 'get_miss':
        ns = timed_batch(cache.get, wl.miss_keys)
        if cache.get(wl.miss_keys[0]) is not None:
            raise RuntimeError('get (miss) returned a value')
    elif op == 'set_overwrite':
        keys = wl.slice(r)
        val = wl.value2 if r % 2 else wl.value
        ns = timed_batch(cache.set, keys, val)
        if len(cache) != wl.nkeys:
            raise RuntimeError('set (overwrite) changed the key count')
    elif op == 'set_new':
        keys = ctx['new_keys']          # shared by all impls in this round
        before = len(cache)
        ns = timed_batch(cache.set, keys, wl.value)
        added = len(cache) - before
        for k in keys:                   # untimed cleanup
            cache.delete(k)
        if added != len(keys):
            raise RuntimeError('set (new) added %d keys, expected %d'
                               % (added, len(keys)))
    elif op == 'delete':
        keys, extra = wl.delete_targets(r)
        for k in extra:                  # untimed: make sure all exist
            cache.set(k, wl.value)
        before = len(cache)
        ns = timed_batch(cache.delete, keys)
        removed = before - len(cache)
        extra_set = set(extra)
        for k in keys:                   # untimed: restore
            if k not in extra_set:
                cache.set(k, wl.value)
        if removed != len(keys):
            raise RuntimeError('delete removed %d keys, expected %d'
                               % (removed, len(keys)))
    else:  # pragma: no cover
        raise ValueError(op)
    return ns / 1000.0 / ops


def bench(impls, wl, rounds, warmup):
    results = {op: {impl.label: [] for impl in impls} for op, _ in OPERATIONS}
    for op, title in OPERATIONS:
        t_op = time.perf_counter()
        # Round index -1.. are warm-up rounds (untimed, discarded).
        for r in range(-warmup, rounds):
            order = impls if r % 2 == 0 else impls[::-1]
            ctx = {'new_keys': wl.new_keys()} if op == 'set_new' else {}
            for impl in order:
                if op in impl.broken or impl.cache is None:
                    continue
                try:
                    us = run_round(impl, op, wl, r + warmup, ctx)
                except Exception as exc:  # noqa: BLE001
                    impl.broken[op] = '%s: %s' % (type(exc).__name__, exc)
                    note('%s: %s failed: %s'
                         % (impl.label, title, impl.broken[op]))
                    continue
                if r >= 0:
                    results[op][impl.label].append(us)
        print('  %-16s done in %5.1f s' % (title, time.perf_counter() - t_op),
              file=sys.stderr, flush=True)
    return results


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def summarize(impls, results):
    summary = {}
    for op, _ in OPERATIONS:
        summary[op] = {}
        for impl in impls:
            vals = results[op][impl.label]
            if vals and op not in impl.broken:
                summary[op][impl.label] = {
                    'median_us': statistics.median(vals),
                    'min_us': min(vals),
                    'max_us': max(vals),
                    'rounds_us': vals,
                }
            else:
                summary[op][impl.label] = {
                    'error': impl.broken.get(op, 'no data')}
    return summary


def format_table(impls, summary):
    base = impls[0].label
    others = impls[1:]
    headers = ['operation']
    headers += ['%s median %s' % (impl.label, US) for impl in impls]
    if len(impls) == 2:
        headers.append('speed-up (%s / %s)' % (base, others[0].label))
    else:
        headers += ['ratio %s / %s' % (base, impl.label) for impl in others]
    rows = []
    for op, title in OPERATIONS:
        row = [title]
        meds = {}
        for impl in impls:
            cell = summary[op][impl.label]
            if 'median_us' in cell:
                meds[impl.label] = cell['median_us']
                row.append('%.2f' % cell['median_us'])
            else:
                row.append('ERR')
        for impl in others:
            a, b = meds.get(base), meds.get(impl.label)
            row.append('%.2fx' % (a / b) if a and b else 'n/a')
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows))
              for i, h in enumerate(headers)]

    def fmt(cells):
        out = [cells[0].ljust(widths[0])]
        out += [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return '  '.join(out)

    lines = [fmt(headers), '  '.join('-' * w for w in widths)]
    lines += [fmt(r) for r in rows]
    return '\n'.join(lines)


def ratios(impls, summary):
    base = impls[0].label
    out = {}
    for op, _ in OPERATIONS:
        out[op] = {}
        a = summary[op][base].get('median_us')
        for impl in impls[1:]:
            b = summary[op][impl.label].get('median_us')
            out[op]['%s/%s' % (base, impl.label)] = (a / b) if a and b else None
    return out


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be >= 1')
    return value


def parse_args(argv):
    p = argparse.ArgumentParser(
        description='Median latency of basic Cache operations, '
                    'diskcache vs diskcache_go, side by side.')
    p.add_argument('--rounds', type=positive_int, default=7,
                   help='timed rounds per operation (default: 7)')
    p.add_argument('--ops', type=positive_int, default=2000,
                   help='operations per timed batch (default: 2000)')
    p.add_argument('--keys', type=positive_int, default=10000,
                   help='keys prefilled into each cache (default: 10000)')
    p.add_argument('--value-size', type=int, default=1024,
                   help='value size in bytes (default: 1024)')
    p.add_argument('--warmup', type=int, default=1,
                   help='untimed warm-up rounds per operation (default: 1)')
    p.add_argument('--seed', type=int, default=20240601,
                   help='random seed for key order and values')
    p.add_argument('--impls', default=','.join(MAIN_IMPLS),
                   help='comma-separated module names exposing a Cache class; '
                        'the first is the baseline of the ratio '
                        '(default: diskcache,diskcache_go)')
    p.add_argument('--dir', default=None,
                   help='parent directory for the temporary cache '
                        'directories (default: system temp dir)')
    p.add_argument('--json', metavar='PATH', default=None,
                   help='also write the results as JSON to PATH')
    args = p.parse_args(argv)
    if args.value_size < 0:
        p.error('--value-size must be >= 0')
    if args.warmup < 0:
        p.error('--warmup must be >= 0')
    args.impl_names = [s.strip() for s in args.impls.split(',') if s.strip()]
    if not args.impl_names:
        p.error('--impls is empty')
    return args


def main(argv=None):
    args = parse_args(argv)
    impls = load_impls(args.impl_names)
    if not any(impl.modname in MAIN_IMPLS for impl in impls):
        print('error: none of %s could be imported' % ', '.join(MAIN_IMPLS),
              file=sys.stderr)
        return 2

    base_dir = args.dir or tempfile.gettempdir()
    machine = machine_info(base_dir)
    wl = Workload(args)

    print('diskcache-go basic benchmark', file=sys.stderr)
    live = []
    try:
        for impl in impls:
            try:
                impl.open(base_dir)
                t0 = time.perf_counter()
                prefill(impl, wl)
                print('  prefilled %-14s %d keys in %.1f s'
                      % (impl.label, wl.nkeys, time.perf_counter() - t0),
                      file=sys.stderr, flush=True)
                live.append(impl)
            except Exception as exc:  # noqa: BLE001
                note('skipping %r: setup failed: %s: %s'
                     % (impl.label, type(exc).__name__, exc))
                impl.close()
        if not live:
            print('error: no implementation could be set up', file=sys.stderr)
            return 2
        impls = live
        t0 = time.perf_counter()
        results = bench(impls, wl, args.rounds, args.warmup)
        elapsed = time.perf_counter() - t0
    finally:
        for impl in impls:
            impl.close()

    summary = summarize(impls, results)

    print()
    print('Machine : %s' % machine['cpu'])
    print('Cores   : %s (usable: %s)' % (machine['cores'],
                                         machine['cores_usable']))
    print('Python  : %s' % machine['python'])
    print('Platform: %s' % machine['platform'])
    print('Date    : %s' % machine['date_utc'])
    print('Storage : %s, %s' % (machine['tmp_dir'], machine['filesystem']))
    for impl in impls:
        print('Impl    : %-14s %s  (%s)' % (impl.label, impl.version,
                                            impl.origin))
    print('Workload: %d keys, %d-byte values, %d ops/batch, %d rounds '
          '(+%d warm-up), median of per-round per-op latency; seed %d'
          % (args.keys, args.value_size, args.ops, args.rounds, args.warmup,
             args.seed))
    print()
    print(format_table(impls, summary))
    print()
    print('benchmark time: %.1f s' % elapsed)

    if args.json:
        doc = {
            'benchmark': 'bench_basic',
            'machine': machine,
            'params': {
                'rounds': args.rounds, 'ops': args.ops, 'keys': args.keys,
                'value_size': args.value_size, 'warmup': args.warmup,
                'seed': args.seed, 'impls': args.impl_names,
            },
            'impls': {impl.label: {'module': impl.modname,
                                   'version': impl.version,
                                   'file': impl.origin} for impl in impls},
            'operations': {op: title for op, title in OPERATIONS},
            'results': summary,
            'ratios': ratios(impls, summary),
            'elapsed_s': elapsed,
        }
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write('\n')
        print('JSON written to %s' % args.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
