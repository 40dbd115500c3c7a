"""Compare two builds of diskcache_go, before and after a change, in one run.

Each round starts one process per build, alternating which goes first, and
each process times the same loops (get hit and miss, set, set of a new
key, incr, delete, a 16 KiB set and get, a 256 KiB set, a tuple-key get)
on a fresh cache of 20,000 keys of 256 bytes. The table gives the median
per operation of each build and their ratio. Two builds of the library
can not share a process (each carries a Go runtime), hence the processes.

    python benchmarks/bench_ab.py BEFORE/python AFTER/python [--rounds 9] [--json FILE]

Each argument is a directory holding a built ``diskcache_go`` package (a
checkout's ``python/`` after ``./build.sh build``).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

KEYS = 20000


def timed(fn, n):
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n * 1e6


def child():
    import diskcache_go

    directory = tempfile.mkdtemp()
    cache = diskcache_go.Cache(directory)
    val = b'x' * 256
    for i in range(KEYS):
        cache.set('k%d' % i, val)
    v16, v256 = b'y' * 16384, b'z' * 262144
    cache.set(('user', 1), val)
    res = {
        'get hit': timed(lambda i: cache.get('k%d' % (i % KEYS)), 20000),
        'get miss': timed(lambda i: cache.get('m%d' % i), 20000),
        'set (overwrite)': timed(lambda i: cache.set('k%d' % (i % KEYS), val), 10000),
        'incr': timed(lambda i: cache.incr('ctr%d' % (i % 100)), 10000),
        'delete': timed(lambda i: cache.delete('k%d' % i), 10000),
        'set (new key)': timed(lambda i: cache.set('n%d' % i, val), 10000),
        'set, 16 KiB': timed(lambda i: cache.set('s%d' % (i % 500), v16), 2000),
        'get, 16 KiB': timed(lambda i: cache.get('s%d' % (i % 500)), 2000),
        'set, 256 KiB': timed(lambda i: cache.set('b%d' % (i % 20), v256), 300),
        'get, tuple key': timed(lambda i: cache.get(('user', 1)), 10000),
    }
    cache.close()
    shutil.rmtree(directory)
    print(json.dumps(res))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('before')
    parser.add_argument('after')
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument('--json', help='also write every round of both builds to this file')
    args = parser.parse_args()
    builds = {'before': os.path.abspath(args.before), 'after': os.path.abspath(args.after)}
    out = {name: [] for name in builds}
    for r in range(args.rounds):
        order = ['before', 'after'] if r % 2 == 0 else ['after', 'before']
        for name in order:
            env = dict(os.environ, PYTHONPATH=builds[name])
            text = subprocess.check_output([sys.executable, __file__, '--child'], env=env)
            out[name].append(json.loads(text))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)
    # The median and the best round of each build: on a shared machine
    # other work only ever adds time, so the best is the steadier figure.
    # "paired" is the median of the rounds' own after/before ratios: the
    # two processes of a round ran back to back, under about the same load.
    print('%-16s %12s %12s %7s %12s %12s %7s %7s' % ('operation', 'median before', 'after', 'ratio',
                                                     'best before', 'after', 'ratio', 'paired'))
    for row in out['before'][0]:
        b = statistics.median(run[row] for run in out['before'])
        a = statistics.median(run[row] for run in out['after'])
        bb = min(run[row] for run in out['before'])
        ab = min(run[row] for run in out['after'])
        paired = statistics.median(x[row] / y[row] for x, y in zip(out['after'], out['before']))
        print('%-16s %9.2f µs %9.2f µs %7.3f %9.2f µs %9.2f µs %7.3f %7.3f'
              % (row, b, a, a / b, bb, ab, ab / bb, paired))


if __name__ == '__main__':
    if sys.argv[1:] == ['--child']:
        child()
    else:
        main()
