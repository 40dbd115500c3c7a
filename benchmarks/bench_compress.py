"""What compress_min_size costs and gains: get and set time and bytes on
disk for compressible (JSON text) and incompressible (random) values, with
compression off and on, in one interleaved run.

    python benchmarks/bench_compress.py [--rounds 5] [--keys 2000]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))

import diskcache_go  # noqa: E402


def payloads(size):
    """A JSON document and random bytes of about ``size`` bytes."""
    rows, doc = [], ''
    while len(doc) < size:
        rows.append({'id': len(rows), 'name': 'user %d' % len(rows), 'active': True, 'tags': ['a', 'b']})
        doc = json.dumps(rows)
    return {'json': doc[:size], 'random': os.urandom(size)}


def disk_bytes(directory):
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(directory) for name in names
               if name.endswith('.seg'))


def one_round(value, keys, threshold):
    directory = tempfile.mkdtemp(prefix='bench-compress-')
    try:
        cache = diskcache_go.Cache(directory, compress_min_size=threshold)
        start = time.perf_counter()
        for i in range(keys):
            cache.set(i, value)
        set_us = (time.perf_counter() - start) / keys * 1e6
        start = time.perf_counter()
        for i in range(keys):
            cache.get(i)
        get_us = (time.perf_counter() - start) / keys * 1e6
        cache.close()
        return set_us, get_us, disk_bytes(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--keys', type=int, default=2000)
    args = parser.parse_args()
    print('%-8s %6s %-4s %9s %9s %12s' % ('value', 'size', 'lz4', 'set us', 'get us', 'segment MiB'))
    for size in (1024, 8192, 30000):
        for kind, value in payloads(size).items():
            results = {0: [], 256: []}
            for _ in range(args.rounds):
                for threshold in results:  # alternate off and on
                    results[threshold].append(one_round(value, args.keys, threshold))
            for threshold, rounds in results.items():
                med = [statistics.median(r[i] for r in rounds) for i in range(3)]
                print('%-8s %6d %-4s %9.2f %9.2f %12.2f' % (
                    kind, size, 'on' if threshold else 'off', med[0], med[1], med[2] / 2**20))


if __name__ == '__main__':
    main()
