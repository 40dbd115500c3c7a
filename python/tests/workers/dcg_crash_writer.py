"""Writer process for test_crash.py; it is SIGKILLed at a random moment.

Usage: dcg_crash_writer.py IMPL DIRECTORY LOG WID SEED

Loops forever over random operations on the shared key space. Around every
cache call it appends a line to LOG through an unbuffered ``O_APPEND`` fd
(``os.write``, so each line is on disk the moment the call returns and
survives SIGKILL):

    B <seq> <op> <key index>            before the call ("begin")
    A <seq> <op> <key index> <result>   after the call returned ("ack")

ops: S = set, D = delete, X = add, I = incr (key index into COUNTER_KEYS).
Values are self-validating (see dcg_testutil.make_value). After opening the
cache it writes one byte to stdout so the parent knows writing has started.
"""

import os
import random
import sys

WORKERS_DIR = os.path.dirname(os.path.abspath(__file__))
if WORKERS_DIR not in sys.path:
    sys.path.insert(0, WORKERS_DIR)

import dcg_testutil as tu  # noqa: E402

VALUE_KEYS = (
    ['key-%d' % i for i in range(24)]
    + [20_000 + i for i in range(6)]
    + [b'bkey-%d' % i for i in range(5)]
    + [('key', i) for i in range(5)]
)
COUNTER_KEYS = ['counter-%d' % i for i in range(4)] + [('counter', 0),
                                                        ('counter', 1)]


def main(argv):
    impl_name, directory, log_path, wid, seed = argv[1:6]
    wid = int(wid)
    rng = random.Random(int(seed))
    mod = tu.load_impl(impl_name)
    cache = mod.Cache(directory)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def log(line):
        tu.write_all(fd, line.encode('ascii') + b'\n')

    os.write(1, b'R')  # stdout is a pipe to the parent: "writing starts"
    seq = 0
    while True:
        seq += 1
        roll = rng.random()
        if roll < 0.55:
            op, index = 'S', rng.randrange(len(VALUE_KEYS))
            value = tu.random_value(rng, index, wid, seq, large_fraction=0.5)
            log('B %d S %d' % (seq, index))
            result = cache.set(VALUE_KEYS[index], value)
        elif roll < 0.65:
            op, index = 'D', rng.randrange(len(VALUE_KEYS))
            log('B %d D %d' % (seq, index))
            result = cache.delete(VALUE_KEYS[index])
        elif roll < 0.75:
            op, index = 'X', rng.randrange(len(VALUE_KEYS))
            value = tu.random_value(rng, index, wid, seq, large_fraction=0.5)
            log('B %d X %d' % (seq, index))
            result = cache.add(VALUE_KEYS[index], value)
        else:
            op, index = 'I', rng.randrange(len(COUNTER_KEYS))
            log('B %d I %d' % (seq, index))
            result = cache.incr(COUNTER_KEYS[index])
        log('A %d %s %d %r' % (seq, op, index, result))


if __name__ == '__main__':
    main(sys.argv)
