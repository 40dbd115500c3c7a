"""Reader process for test_crash.py; runs while writers are started and
SIGKILLed.

Usage: dcg_crash_reader.py IMPL DIRECTORY TIMEOUT STOP_FILE RESULT_FILE

Opens ``Cache(DIRECTORY, timeout=TIMEOUT)`` once and, until STOP_FILE exists,
keeps doing ``get`` on the writers' keys (validating every value) plus an
occasional ``set`` of its own key, timing every call. Writes a pickled result
dict to RESULT_FILE. Prints one byte on stdout once it is running.
"""

import os
import random
import sys
import time
import traceback

WORKERS_DIR = os.path.dirname(os.path.abspath(__file__))
if WORKERS_DIR not in sys.path:
    sys.path.insert(0, WORKERS_DIR)

import dcg_testutil as tu  # noqa: E402
from dcg_crash_writer import COUNTER_KEYS, VALUE_KEYS  # noqa: E402

READER_KEY = 'reader-own-key'


def main(argv):
    impl_name, directory, timeout, stop_file, result_file = argv[1:6]
    timeout = float(timeout)
    result = {
        'error': None, 'gets': 0, 'sets': 0, 'max_get': 0.0, 'max_set': 0.0,
        'slow': [], 'set_timeouts': 0, 'bad_values': [],
    }
    try:
        mod = tu.load_impl(impl_name)
        cache = mod.Cache(directory, timeout=timeout)
        rng = random.Random()
        os.write(1, b'R')
        n = 0
        while True:
            n += 1
            if n % 16 == 0 and os.path.exists(stop_file):
                break
            if n % 25 == 0:
                value = tu.random_value(rng, -2, 0, n, large_fraction=0.3)
                t0 = time.monotonic()
                try:
                    cache.set(READER_KEY, value)
                except mod.Timeout:
                    # Allowed: the lock may be busy for up to `timeout`.
                    result['set_timeouts'] += 1
                elapsed = time.monotonic() - t0
                result['sets'] += 1
                result['max_set'] = max(result['max_set'], elapsed)
                if elapsed > timeout:
                    result['slow'].append(('set', elapsed))
                continue
            if rng.random() < 0.8:
                index = rng.randrange(len(VALUE_KEYS))
                key = VALUE_KEYS[index]
            else:
                index, key = None, rng.choice(COUNTER_KEYS)
            t0 = time.monotonic()
            value = cache.get(key)
            elapsed = time.monotonic() - t0
            result['gets'] += 1
            result['max_get'] = max(result['max_get'], elapsed)
            if elapsed > timeout:
                result['slow'].append(('get', elapsed))
            if value is None:
                continue
            try:
                if index is None:
                    if type(value) is not int or value < 1:
                        raise tu.BadValue('counter %r holds %r'
                                          % (key, value))
                else:
                    tu.parse_value(value, index)
            except tu.BadValue as exc:
                result['bad_values'].append('%r: %s' % (key, exc))
        cache.close()
    except BaseException:
        result['error'] = traceback.format_exc()
    tu.dump_result(result_file, result)


if __name__ == '__main__':
    main(sys.argv)
