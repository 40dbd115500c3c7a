"""Torture: N worker processes -- half spawned (``subprocess`` running
workers/torture_worker.py), half ``os.fork()`` children of this process,
which has already used the cache and keeps using it -- do random operations
of every kind on ONE cache directory (set/get/delete/add/incr/pop/touch/
expire/evict/cull/push/pull/transact, values of 0 bytes to 1 MiB straddling
the file threshold, expiries of 0.5-30 s on the real clock, tags), while
this supervisor SIGKILLs random workers at random moments and starts new
ones.

Each worker logs a "begin" record before every call and an acknowledgement
after it returned (unbuffered ``os.write``). Afterwards the directory is
opened here and checked against the model built from the logs:

* every worker key holds the value of the worker's last acknowledged write
  (or the effect of the one op in flight at its kill; a transact block in
  flight counts all-or-nothing); a key may be missing only if the model says
  it is absent or its earliest possible expiry has passed; no value is torn
  or under a wrong key; the results of get/add/delete/pop/touch and of the
  sub-ops of transact blocks agree with the model while replaying;
* shared counters: acknowledged incrs <= final value <= acknowledged incrs
  + incrs in flight at kills, and no two acknowledged incrs returned the
  same value;
* queue: every pulled or remaining item was pushed, none pulled twice, an
  acknowledged push is still queued or was pulled (at most as many missing
  as pulls in flight at kills), keys agree with the keys push returned;
* no stray keys; ``len(cache)`` equals the number of keys iterated;
  ``check()`` reports only UnknownFileWarning/EmptyDirWarning, and none
  after ``check(fix=True)``; ``volume()`` equals a fresh process's.

Short version in the default run (4 workers, 20 s, ~15 kills). Long version:
``DISKCACHE_GO_TORTURE_SECONDS=600 [DISKCACHE_GO_TORTURE_WORKERS=6]
pytest python/tests/test_torture.py``.
"""

import json
import os
import random
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                'workers'))
import dcg_testutil as tu  # noqa: E402
import torture_worker as tw  # noqa: E402

pytestmark = [
    pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork'),
    pytest.mark.filterwarnings(
        'ignore:.*multi-threaded.*fork.*:DeprecationWarning'),
]

SECONDS = float(os.environ.get('DISKCACHE_GO_TORTURE_SECONDS', '20'))
WORKERS = int(os.environ.get('DISKCACHE_GO_TORTURE_WORKERS', '4'))
KILL_INTERVAL = (0.3, 2.3)   # uniform; ~15 kills in 20 s
WAIT = 30                    # bound on every wait for a child
TIMEOUT = tw.TIMEOUT
SLACK = 2.0
PROBE_KEY = 'supervisor-probe'
MISSING = object()
ALLOWED_CHECK_WARNINGS = ('UnknownFileWarning', 'EmptyDirWarning')
HUGE = 2 ** 50               # size_limit: cull must only remove expired


@pytest.fixture
def mod():
    return tu.load_impl()


class Children:
    """Spawned (Popen) and forked (pid) workers; all SIGKILLed at
    teardown."""

    def __init__(self):
        self.live = {}   # wid -> ('spawn', Popen) | ('fork', pid)

    def kill(self, wid):
        kind, handle = self.live.pop(wid)
        if kind == 'spawn':
            if handle.poll() is None:
                handle.kill()
            try:
                handle.wait(WAIT)
            except subprocess.TimeoutExpired:
                pytest.fail('worker %d not reaped %ss after SIGKILL'
                            % (wid, WAIT))
        else:
            tu.kill_pid(handle)

    def exited(self, wid):
        """Return the exit status if the worker exited by itself."""
        kind, handle = self.live[wid]
        if kind == 'spawn':
            return handle.poll()
        done, status = os.waitpid(handle, os.WNOHANG)
        if done:
            del self.live[wid]
            return os.waitstatus_to_exitcode(status)
        return None

    def kill_all(self):
        for wid in list(self.live):
            self.kill(wid)


@pytest.fixture
def children():
    kids = Children()
    yield kids
    kids.kill_all()


def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except FileNotFoundError:
        return '<no file>'


def parse_log(path, wid):
    """Return ``(acks, pending, error)``: ``acks`` is a list of
    ``(begin_record, ack_record)``, ``pending`` the begin record of the op
    in flight at the kill (or None), ``error`` a logged traceback."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        return [], None, None   # killed before it opened its log
    # A trailing partial line is treated as never written: sound for both
    # kinds ("begin" is logged before the call, "ack" after it returned).
    lines = data.split(b'\n')[:-1]
    acks, pending, last = [], None, 0
    for number, line in enumerate(lines):
        where = 'worker %d log line %d: %r' % (wid, number + 1, line[:200])
        rec = json.loads(line)
        if 'E' in rec:
            return acks, pending, rec['E']
        if 'B' in rec:
            assert pending is None, 'two ops in flight: ' + where
            assert rec['B'] == last + 1, where
            pending, last = rec, rec['B']
        elif 'A' in rec:
            assert pending is not None and rec['A'] == pending['B'], where
            acks.append((pending, rec))
            pending = None
        else:
            raise AssertionError('garbage in ' + where)
    return acks, pending, None


# A key state is None (absent) or (vid, tag, exp_lo): vid = [wid, vseq] of
# the value, exp_lo the earliest moment it can have expired (None: never).

def exp_lo(t0, expire):
    return None if expire is None else t0 + expire


def may_be_gone(state, now):
    return state is None or (state[2] is not None and state[2] <= now)


def compatible(observed, state, now):
    if observed is None:
        return may_be_gone(state, now)
    return state is not None and list(state[0]) == list(observed)


class Model:
    def __init__(self):
        self.keys = {}          # wid -> {n: state}
        self.pending = {}       # wid -> begin record in flight at the kill
        self.incr_results = {c: [] for c in range(len(tw.COUNTERS))}
        self.incr_pending = {c: 0 for c in range(len(tw.COUNTERS))}
        self.pushed = {}        # (wid, vseq) -> acked key or None (in flight)
        self.pulled = {}        # (wid, vseq) -> (puller wid, key)
        self.pull_pending = 0
        self.acks = 0

    def replay(self, wid, acks, pending):
        st = self.keys.setdefault(wid, {n: None for n in range(tw.NKEYS)})
        for rec, ack in acks:
            self.acks += 1
            self.apply(wid, st, rec, ack['r'], ack['t'])
        if pending is None:
            return
        self.pending[wid] = pending
        op = pending['op']
        if op == 'incr':
            self.incr_pending[pending['c']] += 1
        elif op == 'push':
            self.pushed[(wid, pending['v'])] = None
        elif op == 'pull':
            self.pull_pending += 1

    def apply(self, wid, st, rec, r, t1):
        op, t0 = rec['op'], rec['t']
        where = 'worker %d seq %d %s %r -> %r' % (wid, rec['B'], op,
                                                  rec.get('k'), r)
        n = rec.get('k')
        if op == 'set':
            assert r is True, where
            st[n] = ([wid, rec['v']], rec['tag'], exp_lo(t0, rec['exp']))
        elif op == 'add':
            if r:
                assert may_be_gone(st[n], t1), where + ': key was live'
                st[n] = ([wid, rec['v']], rec['tag'], exp_lo(t0, rec['exp']))
            else:
                assert st[n] is not None, where + ': key was absent'
        elif op in ('get', 'pop'):
            assert compatible(r, st[n], t1), (
                '%s: model state %r' % (where, st[n]))
            if r is None or op == 'pop':
                st[n] = None
        elif op == 'delete':
            if r:
                assert st[n] is not None, where + ': key was absent'
            else:
                assert may_be_gone(st[n], t1), where + ': key was live'
            st[n] = None
        elif op == 'touch':
            if r:
                assert st[n] is not None, where + ': key was absent'
                st[n] = (st[n][0], st[n][1], exp_lo(t0, rec['exp']))
            else:
                assert may_be_gone(st[n], t1), where + ': key was live'
                st[n] = None
        elif op == 'transact':
            assert len(r) == len(rec['subs']), where
            for sub, res in zip(rec['subs'], r):
                m = sub[1]
                if sub[0] == 'set':
                    assert res is True, where
                    st[m] = ([wid, sub[2]], sub[4], exp_lo(t0, sub[3]))
                else:
                    if res:
                        assert st[m] is not None, where + ': key was absent'
                    else:
                        assert may_be_gone(st[m], t1), where
                    st[m] = None
        elif op == 'evict':
            assert isinstance(r, int) and r >= 0, where
            for m, s in st.items():
                if s is not None and s[1] == rec['tag']:
                    st[m] = None
        elif op in ('expire', 'cull'):
            assert isinstance(r, int) and r >= 0, where
        elif op == 'incr':
            assert isinstance(r, int) and r >= 1, where
            self.incr_results[rec['c']].append(r)
        elif op == 'push':
            assert isinstance(r, str) and r.startswith(tw.QUEUE_PREFIX + '-')
            self.pushed[(wid, rec['v'])] = r
        elif op == 'pull':
            if r is not None:
                qkey, vid = r[0], tuple(r[1])
                assert vid not in self.pulled, (
                    '%s: item %r pulled twice (before by worker %d)'
                    % (where, vid, self.pulled[vid][0]))
                self.pulled[vid] = (wid, qkey)
        else:
            raise AssertionError('unknown op in ' + where)

    def alternative(self, wid):
        """The key states if the op in flight at the kill took effect, and
        whether its effect may be partial per key (evict is chunked)."""
        st = self.keys[wid]
        rec = self.pending.get(wid)
        alt = dict(st)
        if rec is None:
            return alt, False
        op, t0, n = rec['op'], rec['t'], rec.get('k')
        if op in ('set', 'add'):
            new = ([wid, rec['v']], rec['tag'], exp_lo(t0, rec['exp']))
            if op == 'set' or may_be_gone(st[n], time.time()):
                alt[n] = new
        elif op in ('pop', 'delete'):
            alt[n] = None
        elif op == 'touch':
            if st[n] is not None:
                alt[n] = (st[n][0], st[n][1], exp_lo(t0, rec['exp']))
        elif op == 'transact':
            for sub in rec['subs']:
                alt[sub[1]] = (([wid, sub[2]], sub[4], exp_lo(t0, sub[3]))
                               if sub[0] == 'set' else None)
        elif op == 'evict':
            for m, s in st.items():
                if s is not None and s[1] == rec['tag']:
                    alt[m] = None
            return alt, True
        return alt, False


def start_worker(kind, wid, seed, cache, directory, tmp_path, impl, env):
    log_path = str(tmp_path / ('w%d.log' % wid))
    err_path = str(tmp_path / ('w%d.stderr' % wid))
    if kind == 'spawn':
        with open(err_path, 'wb') as err:
            proc = subprocess.Popen(
                [sys.executable, os.path.join(tu.WORKERS_DIR,
                                              'torture_worker.py'),
                 impl, directory, log_path, str(wid), str(seed)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env)
        return ('spawn', proc)
    pid = os.fork()
    if pid == 0:
        try:
            # The Cache object the supervisor has been using, inherited.
            tw.run(cache, log_path, wid, seed)
        finally:
            os._exit(4)
    return ('fork', pid)


def fail_exited(wid, status, tmp_path):
    _acks, _pending, error = parse_log(str(tmp_path / ('w%d.log' % wid)),
                                       wid)
    pytest.fail('worker %d exited by itself with status %s:\n%s\n%s'
                % (wid, status, error or '<no traceback logged>',
                   read_text(str(tmp_path / ('w%d.stderr' % wid)))))


def probe(mod, cache, value):
    """The supervisor keeps using the (forked-from) Cache object: a set
    must succeed within the lock timeout even right after a kill."""
    t0 = time.monotonic()
    try:
        assert cache.set(PROBE_KEY, value) is True
    except mod.Timeout:
        pytest.fail('supervisor set raised Timeout after a kill')
    elapsed = time.monotonic() - t0
    assert elapsed <= TIMEOUT + SLACK, 'supervisor set took %.2fs' % elapsed
    assert cache.get(PROBE_KEY) == value


def fresh_volume(directory, env):
    code = ('import sys, %s as m; c = m.Cache(sys.argv[1]); '
            'print(c.volume()); c.close()' % tu.impl_name())
    out = subprocess.run([sys.executable, '-c', code, directory], env=env,
                         capture_output=True, timeout=WAIT)
    assert out.returncode == 0, out.stderr.decode('utf-8', 'replace')
    return int(out.stdout)


def test_torture(mod, children, tmp_path):
    directory = str(tmp_path / 'cache')
    seed = int(os.environ.get('DISKCACHE_GO_TORTURE_SEED',
                              random.randrange(2 ** 32)))
    rng = random.Random(seed)
    env = tu.child_env()
    impl = tu.impl_name()
    print('\ntorture: impl %s, %d workers, %.0fs, seed %d'
          % (impl, WORKERS, SECONDS, seed))

    cache = mod.Cache(directory, timeout=TIMEOUT, size_limit=HUGE)
    probe(mod, cache, 0)
    stats = {'spawned': 0, 'forked': 0, 'kills': 0, 'probes': 1}
    next_wid = [1]

    def launch(kind):
        wid = next_wid[0]
        next_wid[0] += 1
        children.live[wid] = start_worker(kind, wid, rng.randrange(2 ** 32),
                                          cache, directory, tmp_path, impl,
                                          env)
        stats['spawned' if kind == 'spawn' else 'forked'] += 1
        return wid

    kinds = {}
    for i in range(WORKERS):
        kind = 'spawn' if i % 2 == 0 else 'fork'
        kinds[launch(kind)] = kind

    start = time.monotonic()
    deadline = start + SECONDS
    next_kill = start + rng.uniform(*KILL_INTERVAL)
    while time.monotonic() < deadline:
        time.sleep(0.05)
        for wid in list(children.live):
            status = children.exited(wid)
            if status is not None:
                fail_exited(wid, status, tmp_path)
        if time.monotonic() >= next_kill:
            victim = rng.choice(sorted(children.live))
            children.kill(victim)
            stats['kills'] += 1
            kinds[launch(kinds[victim])] = kinds[victim]
            stats['probes'] += 1
            probe(mod, cache, stats['probes'])
            next_kill = time.monotonic() + rng.uniform(*KILL_INTERVAL)
    for wid in list(children.live):
        status = children.exited(wid)
        if status is not None:
            fail_exited(wid, status, tmp_path)
    final_kills = len(children.live)
    children.kill_all()
    stats['kills'] += final_kills
    cache.close()

    # -- the model -------------------------------------------------------
    model = Model()
    total = next_wid[0] - 1
    for wid in range(1, total + 1):
        acks, pending, error = parse_log(str(tmp_path / ('w%d.log' % wid)),
                                         wid)
        if error:
            pytest.fail('worker %d failed:\n%s' % (wid, error))
        model.replay(wid, acks, pending)

    # -- compare with the directory, opened afresh ------------------------
    cache = mod.Cache(directory, timeout=TIMEOUT)
    try:
        context = 'seed %d' % seed
        probe(mod, cache, -1)
        keys = list(cache)
        assert len(keys) == len(set(keys)), 'iteration yields duplicates'
        assert len(cache) == len(keys), (len(cache), len(keys))

        found = 0
        for wid in range(1, total + 1):
            st = model.keys[wid]
            observed = {}
            for n in range(tw.NKEYS):
                value = cache.get(tw.wkey(wid, n), MISSING)
                observed[n] = (None if value is MISSING
                               else tw.ident(value, tw.key_index(wid, n)))
                found += observed[n] is not None
            now = time.time()
            alt, per_key = model.alternative(wid)
            pend = model.pending.get(wid)
            base_ok = all(compatible(observed[n], st[n], now) for n in st)
            alt_ok = all(compatible(observed[n], alt[n], now) for n in st)
            mixed_ok = per_key and all(
                compatible(observed[n], st[n], now)
                or compatible(observed[n], alt[n], now) for n in st)
            if not (base_ok or alt_ok or mixed_ok):
                bad = {n: (observed[n], st[n], alt[n]) for n in st
                       if not compatible(observed[n], st[n], now)}
                pytest.fail(
                    'worker %d: stored state differs from its acknowledged '
                    'operations (in flight at the kill: %r); key: '
                    '(found, acknowledged state, state if in-flight op '
                    'landed): %r (%s)' % (wid, pend, bad, context))

        for c, name in enumerate(tw.COUNTERS):
            value = cache.get(name, 0)
            results = model.incr_results[c]
            assert type(value) is int, (name, value)
            assert len(results) == len(set(results)), (
                '%s: two acknowledged incrs returned the same value' % name)
            assert len(results) <= value <= (len(results)
                                             + model.incr_pending[c]), (
                '%s = %d, but %d incrs acknowledged and %d in flight at '
                'kills (%s)' % (name, value, len(results),
                                model.incr_pending[c], context))
            assert not results or max(results) <= value, (name, value)

        queued = {}
        prefix = tw.QUEUE_PREFIX + '-'
        for key in keys:
            if isinstance(key, str) and key.startswith(prefix):
                value = cache.get(key, MISSING)
                assert value is not MISSING, key
                vid = tuple(tw.ident(value, tw.QUEUE_INDEX))
                assert vid not in queued, 'item %r queued twice' % (vid,)
                queued[vid] = key
        for vid, key in queued.items():
            assert vid in model.pushed, 'queued item %r never pushed' % (vid,)
            assert vid not in model.pulled, (
                'item %r pulled by worker %d but still queued'
                % (vid, model.pulled[vid][0]))
            assert model.pushed[vid] in (None, key), (vid, key)
        for vid, (puller, key) in model.pulled.items():
            assert vid in model.pushed, (
                'worker %d pulled %r, which was never pushed' % (puller, vid))
            assert model.pushed[vid] in (None, key), (vid, key)
        lost = [vid for vid, key in model.pushed.items()
                if key is not None and vid not in queued
                and vid not in model.pulled]
        assert len(lost) <= model.pull_pending, (
            'acknowledged pushes %r are neither queued nor pulled (only %d '
            'pulls in flight at kills; %s)'
            % (lost[:10], model.pull_pending, context))

        allowed = {PROBE_KEY} | set(tw.COUNTERS) | set(queued.values())
        allowed |= {tw.wkey(wid, n) for wid in range(1, total + 1)
                    for n in range(tw.NKEYS)}
        stray = [key for key in keys if key not in allowed]
        assert not stray, 'stray keys: %r' % (stray[:10],)

        warnings = [(w.category.__name__, str(w.message))
                    for w in cache.check()]
        bad = [w for w in warnings if w[0] not in ALLOWED_CHECK_WARNINGS]
        assert not bad, 'check() after the run: %r (%s)' % (bad, context)
        # check(fix=True) removes empty directories top-down, like upstream
        # 5.6.3: a parent emptied by removing its empty child is reported
        # (and removed) by the next pass. Two-level fan-out: <= 3 passes.
        for _ in range(3):
            fixed = [(w.category.__name__, str(w.message))
                     for w in cache.check(fix=True)]
            bad = [w for w in fixed if w[0] not in ALLOWED_CHECK_WARNINGS]
            assert not bad, 'check(fix=True): %r (%s)' % (bad, context)
            if not fixed:
                break
        after = [(w.category.__name__, str(w.message))
                 for w in cache.check()]
        assert not after, 'check() after check(fix=True): %r' % (after,)
        assert len(cache) == len(list(cache))
        volume = cache.volume()
        assert volume == fresh_volume(directory, env), volume
    finally:
        cache.close()

    print('torture: %d ops acknowledged, %d in flight at kills, %d kills '
          '(%d mid-run, %d at the end), %d workers (%d spawned, %d forked), '
          '%d supervisor probes; checked %d keys in the cache (%d worker '
          'keys present, %d queued), %d incrs, %d pushes, %d pulls; check() '
          'warnings before fix: %d (%s); volume %d'
          % (model.acks, len(model.pending), stats['kills'],
             stats['kills'] - final_kills, final_kills, total,
             stats['spawned'], stats['forked'], stats['probes'], len(keys),
             found, len(queued), sum(map(len, model.incr_results.values())),
             len(model.pushed), len(model.pulled), len(warnings),
             ', '.join(sorted({w[0] for w in warnings})) or 'none', volume))
    assert model.acks >= 20 * stats['kills'], 'too few ops: %d' % model.acks
    assert len(model.pending) >= stats['kills'] // 3, (
        'kills rarely hit an op in flight: %d of %d'
        % (len(model.pending), stats['kills']))
