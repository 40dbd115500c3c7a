#!/usr/bin/env python3
"""asyncio benchmark: diskcache-go's awaitable methods against the usual
way to use python-diskcache from asyncio, a thread per call.

Cases (issue 19, point 5), each the median µs per operation over rounds:

* ``aget`` / ``aset`` with 50 concurrent tasks: ``Cache.aget`` and
  ``Cache.aset`` of diskcache-go (inline on the loop, a thread only when
  a call would wait) against ``asyncio.to_thread(cache.get, ...)`` over
  python-diskcache 5.6.3 (and, for scale, ``to_thread`` over diskcache-go).
* Django ``aget``: ``diskcache_go.DjangoCache.aget`` (native) against
  python-diskcache's ``DjangoCache.aget`` (Django's ``BaseCache.aget``:
  ``sync_to_async(self.get)``), one task in a loop and 50 concurrent tasks.

Method: every implementation gets a fresh temporary directory filled with
``--keys`` str keys of ``--value-size``-byte values. A round runs
``--ops`` operations split over the tasks and is timed around the whole
``gather`` with ``perf_counter_ns`` (GC disabled); the implementations
alternate in each round; one untimed warm-up round first. The figure is the
median over ``--rounds``; the ratio is python-diskcache's median over
diskcache-go's.

    python benchmarks/bench_async.py
    python benchmarks/bench_async.py --rounds 9 --ops 20000 --json out.json
"""

import argparse
import asyncio
import datetime
import gc
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'python'))

import diskcache  # noqa: E402

import diskcache_go  # noqa: E402

TASKS = 50


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--ops', type=int, default=10000, help='operations per round')
    parser.add_argument('--keys', type=int, default=5000)
    parser.add_argument('--value-size', type=int, default=100)
    parser.add_argument('--dir', default=None, help='parent of the temporary cache directories')
    parser.add_argument('--json', default=None, help='also write the figures here')
    return parser.parse_args()


async def timed(make_call, keys, ops, tasks):
    """µs per operation of ``ops`` calls ``make_call(key)`` spread over
    ``tasks`` concurrent tasks."""
    per_task = ops // tasks

    async def worker(offset):
        for i in range(per_task):
            await make_call(keys[(offset + i * tasks) % len(keys)])

    gc.disable()
    try:
        start = time.perf_counter_ns()
        await asyncio.gather(*(worker(t) for t in range(tasks)))
        elapsed = time.perf_counter_ns() - start
    finally:
        gc.enable()
    return elapsed / 1000 / (per_task * tasks)


def configure_django():
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_TZ=True, CACHES={})
        django.setup()


def cases(args, root):
    """(case name, {implementation: (make_call, tasks)}) for each case."""
    value = b'v' * args.value_size
    ours = diskcache_go.Cache(os.path.join(root, 'go'))
    theirs = diskcache.Cache(os.path.join(root, 'py'))
    keys = ['key-%05d' % i for i in range(args.keys)]
    for key in keys:
        ours.set(key, value)
        theirs.set(key, value)
    random.Random(1).shuffle(keys)

    configure_django()
    dj_ours = diskcache_go.DjangoCache(os.path.join(root, 'dj-go'), {})
    dj_theirs = diskcache.DjangoCache(os.path.join(root, 'dj-py'), {})
    for key in keys:
        dj_ours.set(key, value)
        dj_theirs.set(key, value)

    to_thread = asyncio.to_thread
    yield keys, 'aget, 50 tasks', {
        'diskcache_go aget': (ours.aget, TASKS),
        'diskcache to_thread(get)': (lambda key: to_thread(theirs.get, key), TASKS),
        'diskcache_go to_thread(get)': (lambda key: to_thread(ours.get, key), TASKS),
    }
    yield keys, 'aset, 50 tasks', {
        'diskcache_go aset': (lambda key: ours.aset(key, value), TASKS),
        'diskcache to_thread(set)': (lambda key: to_thread(theirs.set, key, value), TASKS),
        'diskcache_go to_thread(set)': (lambda key: to_thread(ours.set, key, value), TASKS),
    }
    yield keys, 'Django aget, 1 task', {
        'diskcache_go DjangoCache.aget': (dj_ours.aget, 1),
        'diskcache DjangoCache.aget': (dj_theirs.aget, 1),
    }
    yield keys, 'Django aget, 50 tasks', {
        'diskcache_go DjangoCache.aget': (dj_ours.aget, TASKS),
        'diskcache DjangoCache.aget': (dj_theirs.aget, TASKS),
    }


async def measure(args, root):
    results = {}
    for keys, case, impls in cases(args, root):
        figures = {name: [] for name in impls}
        names = list(impls)
        for round_no in range(args.rounds + 1):
            order = names if round_no % 2 == 0 else names[::-1]
            for name in order:
                make_call, tasks = impls[name]
                ops = args.ops if tasks > 1 else max(args.ops // 5, 100)
                figure = await timed(make_call, keys, ops, tasks)
                if round_no:  # round 0 warms up
                    figures[name].append(figure)
        results[case] = {name: statistics.median(values) for name, values in figures.items()}
        print_case(case, results[case])
    return results


def print_case(case, medians):
    names = list(medians)
    base = next((medians[n] for n in names if n.startswith('diskcache ')), None)
    print('\n%s (median µs per operation)' % case)
    for name in names:
        ratio = '' if base is None else '  %6.1fx' % (base / medians[name])
        print('  %-32s %9.2f%s' % (name, medians[name], ratio))


def machine():
    return {
        'date': datetime.date.today().isoformat(),
        'python': platform.python_version(),
        'platform': platform.platform(),
        'cpus': os.cpu_count(),
        'diskcache': diskcache.__version__,
        'diskcache_go': diskcache_go.__version__,
    }


def main():
    args = parse_args()
    root = tempfile.mkdtemp(prefix='bench-async-', dir=args.dir)
    try:
        info = machine()
        print('bench_async: %s' % json.dumps(info))
        print('rounds=%d ops=%d keys=%d value=%d B' % (args.rounds, args.ops, args.keys, args.value_size))
        results = asyncio.run(measure(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as out:
            json.dump({'machine': info, 'args': vars(args), 'results': results}, out, indent=2)


if __name__ == '__main__':
    main()
