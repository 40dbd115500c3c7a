"""Worker for test_torture.py: random operations of every kind on one cache
directory, until it is SIGKILLed by the supervisor.

Usage (spawned): torture_worker.py IMPL DIRECTORY LOG WID SEED
Forked children call :func:`run` directly with the Cache object inherited
from the parent.

Every cache call is bracketed by two JSON lines appended to LOG through an
unbuffered ``O_APPEND`` fd (``os.write``: on disk the moment the call
returns, survives SIGKILL):

    {"B": seq, "op": ..., ...}     before the call ("begin")
    {"A": seq, "r": result, ...}   after the call returned ("ack")

An unexpected exception is logged as ``{"E": traceback}`` and the worker
exits with status 3; the supervisor fails the test with that traceback.

Key spaces:
* ``('w', wid, n)`` for n < NKEYS: written only by worker ``wid``
  (set/add/delete/pop/touch/get/transact/evict of its own tags);
* ``COUNTERS``: incr from every worker;
* queue ``QUEUE_PREFIX``: push/pull from every worker;
* expire()/cull() act on everything (only expired items may go: the
  supervisor sets size_limit far above what the run can store).

Values are self-validating (dcg_testutil.make_value): key index
``wid * KEY_STRIDE + n``, writer id, a value sequence number and a hash of
the payload; ``get``/``pop``/``pull`` results are validated here (a torn
value or one under the wrong key raises, i.e. fails the test) and logged
as ``[wid, vseq]``.
"""

import json
import os
import random
import sys
import time
import traceback

WORKERS_DIR = os.path.dirname(os.path.abspath(__file__))
if WORKERS_DIR not in sys.path:
    sys.path.insert(0, WORKERS_DIR)

import dcg_testutil as tu  # noqa: E402

NKEYS = 12
KEY_STRIDE = 100
COUNTERS = ('ctr-0', 'ctr-1')
QUEUE_PREFIX = 'tq'
QUEUE_INDEX = 99          # key index embedded in queue values
NTAGS = 3
TIMEOUT = 10.0            # lock timeout of every worker's Cache
BROKEN_ENV = 'DISKCACHE_GO_TORTURE_BROKEN'  # 'early-ack': a deliberate bug

OPS = (
    ('set', 26), ('get', 15), ('delete', 6), ('add', 6), ('pop', 5),
    ('touch', 5), ('incr', 10), ('push', 7), ('pull', 7), ('transact', 6),
    ('evict', 3), ('expire', 2), ('cull', 2),
)


def wkey(wid, n):
    return ('w', wid, n)


def key_index(wid, n):
    return wid * KEY_STRIDE + n


def tag_name(wid, t):
    return 'tag-%d-%d' % (wid, t)


def random_payload(rng):
    roll = rng.random()
    if roll < 0.06:
        size = 0
    elif roll < 0.86:
        size = rng.randrange(0, 4096)
    elif roll < 0.96:
        size = rng.randrange(33 * 1024, 128 * 1024)   # file-backed
    else:
        size = rng.randrange(128 * 1024, 1024 * 1024 + 1)
    return rng.randbytes(size)


def random_value(rng, kidx, wid, vseq):
    kind = rng.choice(('bytes', 'bytes', 'str', 'pickle'))
    payload = random_payload(rng)
    if kind == 'str':
        payload = payload[:len(payload) // 2]  # hex doubles the length
    return make(kind, kidx, wid, vseq, payload)


def make(kind, kidx, wid, vseq, payload):
    return tu.make_value(kind, kidx, wid, vseq, payload)


def ident(value, kidx):
    """Validate a stored value; return ``[wid, vseq]`` (raises if torn)."""
    wid, vseq = tu.parse_value(value, kidx)
    return [wid, vseq]


def random_expire(rng):
    return None if rng.random() < 0.65 else round(rng.uniform(0.5, 30.0), 3)


def random_tag(rng, wid):
    return None if rng.random() < 0.5 else tag_name(wid, rng.randrange(NTAGS))


def run(cache, log_path, wid, seed):
    """Loop forever; never returns normally."""
    rng = random.Random(seed)
    broken = os.environ.get(BROKEN_ENV, '')
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def log(record):
        tu.write_all(fd, json.dumps(record).encode('ascii') + b'\n')

    try:
        names = [name for name, _ in OPS]
        weights = [w for _, w in OPS]
        seq = 0
        miss = object()
        while True:
            seq += 1
            vseq = seq * 4
            op = rng.choices(names, weights)[0]
            rec = {'B': seq, 'op': op}
            n = rng.randrange(NKEYS)
            key, kidx = wkey(wid, n), key_index(wid, n)
            if op in ('set', 'add'):
                value = random_value(rng, kidx, wid, vseq)
                expire, tag = random_expire(rng), random_tag(rng, wid)
                rec.update(k=n, v=vseq, exp=expire, tag=tag)
                rec['t'] = time.time()
                log(rec)
                if op == 'set' and broken == 'early-ack':
                    log({'A': seq, 'r': True, 't': time.time()})
                call = cache.set if op == 'set' else cache.add
                result = call(key, value, expire=expire, tag=tag)
                if op == 'set' and broken == 'early-ack':
                    continue
            elif op in ('get', 'pop'):
                rec.update(k=n, t=time.time())
                log(rec)
                call = cache.get if op == 'get' else cache.pop
                value = call(key, miss)
                result = None if value is miss else ident(value, kidx)
            elif op == 'delete':
                rec.update(k=n, t=time.time())
                log(rec)
                result = cache.delete(key)
            elif op == 'touch':
                expire = random_expire(rng)
                rec.update(k=n, exp=expire, t=time.time())
                log(rec)
                result = cache.touch(key, expire=expire)
            elif op == 'incr':
                c = rng.randrange(len(COUNTERS))
                rec.update(c=c, t=time.time())
                log(rec)
                result = cache.incr(COUNTERS[c])
            elif op == 'push':
                value = make('bytes', QUEUE_INDEX, wid, vseq,
                             random_payload(rng)[:8192])
                rec.update(v=vseq, t=time.time())
                log(rec)
                result = cache.push(value, prefix=QUEUE_PREFIX)
            elif op == 'pull':
                rec.update(t=time.time())
                log(rec)
                qkey, value = cache.pull(prefix=QUEUE_PREFIX)
                result = (None if qkey is None
                          else [qkey, ident(value, QUEUE_INDEX)])
            elif op == 'transact':
                subs = []
                for j, m in enumerate(rng.sample(range(NKEYS),
                                                 rng.randrange(2, 4))):
                    if rng.random() < 0.7:
                        subs.append(['set', m, vseq + j, random_expire(rng),
                                     random_tag(rng, wid)])
                    else:
                        subs.append(['delete', m])
                rec.update(subs=subs, t=time.time())
                log(rec)
                result = []
                with cache.transact():
                    for sub in subs:
                        m = sub[1]
                        if sub[0] == 'set':
                            value = random_value(rng, key_index(wid, m), wid,
                                                 sub[2])
                            result.append(cache.set(
                                wkey(wid, m), value, expire=sub[3],
                                tag=sub[4]))
                        else:
                            result.append(cache.delete(wkey(wid, m)))
            elif op == 'evict':
                tag = tag_name(wid, rng.randrange(NTAGS))
                rec.update(tag=tag, t=time.time())
                log(rec)
                result = cache.evict(tag)
            elif op == 'expire':
                rec.update(t=time.time())
                log(rec)
                result = cache.expire()
            elif op == 'cull':
                rec.update(t=time.time())
                log(rec)
                result = cache.cull()
            else:
                raise AssertionError(op)
            log({'A': seq, 'r': result, 't': time.time()})
    except BaseException:
        log({'E': 'worker %d (pid %d):\n%s' % (wid, os.getpid(),
                                              traceback.format_exc())})
        os._exit(3)


def main(argv):
    impl_name, directory, log_path, wid, seed = argv[1:6]
    mod = tu.load_impl(impl_name)
    try:
        cache = mod.Cache(directory, timeout=TIMEOUT)
    except BaseException:
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        tu.write_all(fd, json.dumps({'E': 'open failed:\n%s' % (
            traceback.format_exc(),)}).encode('ascii') + b'\n')
        os._exit(3)
    run(cache, log_path, int(wid), int(seed))


if __name__ == '__main__':
    main(sys.argv)
