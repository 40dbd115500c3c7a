"""Network mode: detection, forcing, and two machines sharing a directory.

* Detection: ``Cache(directory)`` resolves ``network_mode`` to
  ``'network'`` on a network or FUSE filesystem (and warns with
  ``NetworkFilesystemWarning``) and to ``'local'`` elsewhere; the test
  classifies the directory itself from ``/proc/self/mountinfo`` and expects
  the engine's ``statfs`` to agree.
* Forcing: ``network_mode='network'`` on a local directory runs every kind
  of operation as python-diskcache does, and a network-mode Cache and a
  local-mode Cache open on one directory (in one process, and in several)
  see each other's writes. ``DISKCACHE_GO_NETWORK_MODE`` replaces the
  default ``'auto'``; the keyword beats it; nothing is persisted.
* Two machines: processes on two separate sshfs mounts of one export
  (``tests/sshfs/setup.sh`` mounts them with coherent options and
  ``tests/sshfs/run.sh`` names them in ``DISKCACHE_GO_TEST_NETFS_A`` and
  ``_B``) increment shared counters, write their own keys and read the
  others'; no increment is lost, every acknowledged write is read back
  from both mounts, no read goes back in time, ``check()`` is clean.

The tests that need the mounts skip, saying so, when those variables are
not set. This file is also the workers' program: ``python test_network.py
worker SPEC_JSON``.
"""

import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
import warnings

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                'workers'))
import dcg_testutil as tu  # noqa: E402

MOUNT_A_ENV = 'DISKCACHE_GO_TEST_NETFS_A'
MOUNT_B_ENV = 'DISKCACHE_GO_TEST_NETFS_B'
MODE_ENV = 'DISKCACHE_GO_NETWORK_MODE'

# Filesystem types the engine treats as network filesystems (statfs magic
# numbers there, /proc/self/mountinfo names here; fuse covers fuse.sshfs).
NETWORK_FS = ('nfs', 'nfs4', 'smb', 'smb2', 'smb3', 'cifs', 'fuse', 'ceph',
              'afs', '9p', 'gpfs', 'lustre')

MISSING = object()
BIG = bytes(range(256)) * 400          # 100 KiB: a file-backed value

# The two-machine test: WORKERS processes, alternately on mount A and B.
WORKERS = 4
OPS = 300                # operations per worker
WORKER_SECONDS = 120     # a worker stops early after this long
WAIT = 60                # bound on waiting for a worker to open its cache
COUNTERS = ('c0', 'c1', 'c2')
KEYS_PER_WORKER = 12


@pytest.fixture(autouse=True)
def no_mode_env(monkeypatch):
    """Every test here starts from the default mode (``'auto'``)."""
    monkeypatch.delenv(MODE_ENV, raising=False)


@pytest.fixture
def mod():
    return tu.load_impl()


@pytest.fixture
def net_warning(mod):
    return mod.core.NetworkFilesystemWarning


# -- where directories are ------------------------------------------------


def _unescape(field):
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(field):
        if field[i] == '\\' and field[i + 1:i + 4].isdigit() and i + 4 <= len(field):
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return ''.join(out)


def fs_type(path):
    """The type of the filesystem holding ``path`` (e.g. ``'ext4'``,
    ``'fuse.sshfs'``), from /proc/self/mountinfo; None if unknown."""
    try:
        with open('/proc/self/mountinfo', encoding='utf-8',
                  errors='surrogateescape') as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    path = os.path.realpath(path)
    best, best_type = '', None
    for line in lines:
        left, sep, right = line.partition(' - ')
        if not sep:
            continue
        mount_point = _unescape(left.split()[4])
        inside = (path == mount_point or mount_point == '/'
                  or path.startswith(mount_point.rstrip('/') + '/'))
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, right.split()[0]
    return best_type


def is_network_fs(kind):
    return kind is not None and kind.split('.')[0] in NETWORK_FS


@pytest.fixture
def local_dir(tmp_path):
    """A directory on a local filesystem: ``tmp_path`` unless the run put
    it on a network filesystem (tests/sshfs/run.sh does), then one under
    $TMPDIR."""
    if not is_network_fs(fs_type(str(tmp_path))):
        yield str(tmp_path)
        return
    directory = tempfile.mkdtemp(prefix='dcg-test-network-')
    try:
        kind = fs_type(directory)
        if is_network_fs(kind):
            pytest.skip('no local directory: both tmp_path and %s are on %s'
                        % (directory, kind))
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _mount(env):
    path = os.environ.get(env)
    if not path:
        pytest.skip('%s is not set: the sshfs mounts exist only under '
                    'tests/sshfs/run.sh (needs /dev/fuse and sshfs)' % env)
    assert os.path.isdir(path), '%s=%s is not a directory' % (env, path)
    return path


@pytest.fixture
def mounts():
    """``(directory on mount A, the same directory on mount B)``: one
    directory of the export, seen through the two mounts; deleted after the
    test."""
    a, b = _mount(MOUNT_A_ENV), _mount(MOUNT_B_ENV)
    name = 'test-network-%s' % uuid.uuid4().hex[:12]
    os.mkdir(os.path.join(a, name))
    deadline = time.monotonic() + 10
    while not os.path.isdir(os.path.join(b, name)):
        assert time.monotonic() < deadline, (
            'a directory made on mount A is not seen on mount B: are %s and '
            '%s mounts of one export?' % (a, b))
        time.sleep(0.1)
    yield os.path.join(a, name), os.path.join(b, name)
    shutil.rmtree(os.path.join(a, name), ignore_errors=True)


def open_quietly(mod, directory, **kwargs):
    """Open a Cache, ignoring NetworkFilesystemWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', mod.core.NetworkFilesystemWarning)
        return mod.Cache(directory, **kwargs)


def network_warnings(record, category):
    return [w for w in record if issubclass(w.category, category)]


# -- detection --------------------------------------------------------------


def test_detects_sshfs_mounts(mod, mounts, net_warning):
    for directory in mounts:
        with pytest.warns(net_warning) as record:
            cache = mod.Cache(directory)
        try:
            assert cache.network_mode == 'network', directory
            messages = [str(w.message) for w in network_warnings(record, net_warning)]
            assert any('fuse' in m for m in messages), messages
            cache['seen'] = directory
            assert cache['seen'] == directory
        finally:
            cache.close()


def test_detection_agrees_with_mountinfo(mod, tmp_path, net_warning):
    """Wherever the suite runs (a local disk, or sshfs under run.sh), the
    engine's statfs and /proc/self/mountinfo agree on the kind of
    filesystem, and the warning comes exactly with network mode."""
    kind = fs_type(str(tmp_path))
    if kind is None:
        pytest.skip('/proc/self/mountinfo is not readable here')
    expected = 'network' if is_network_fs(kind) else 'local'
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        cache = mod.Cache(str(tmp_path / 'cache'))
    try:
        assert cache.network_mode == expected, kind
        assert bool(network_warnings(record, net_warning)) == (expected == 'network'), (
            kind, [str(w.message) for w in record])
    finally:
        cache.close()


def test_local_directory_is_local(mod, local_dir, net_warning):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        cache = mod.Cache(local_dir)
    try:
        assert cache.network_mode == 'local'
        assert network_warnings(record, net_warning) == []
    finally:
        cache.close()


@pytest.mark.parametrize('mode, resolved', [
    ('auto', 'local'), ('local', 'local'), ('network', 'network')])
def test_network_mode_keyword(mod, local_dir, net_warning, mode, resolved):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        cache = mod.Cache(local_dir, network_mode=mode)
    try:
        assert cache.network_mode == resolved
        # The warning is about the filesystem, and this one is local.
        assert network_warnings(record, net_warning) == []
        cache['k'] = mode
        assert cache['k'] == mode
    finally:
        cache.close()


def test_network_mode_keyword_rejects_unknown(mod, local_dir):
    with pytest.raises(ValueError):
        mod.Cache(local_dir, network_mode='sometimes')


def test_network_mode_is_not_persisted(mod, local_dir):
    with mod.Cache(local_dir, network_mode='network') as cache:
        assert cache.network_mode == 'network'
        cache['k'] = 1
    with mod.Cache(local_dir) as cache:
        assert cache.network_mode == 'local'
        assert cache['k'] == 1
    settings = os.path.join(local_dir, mod.core._SETTINGS_FILE)
    if os.path.exists(settings):
        with open(settings, 'rb') as f:
            assert 'network_mode' not in json.loads(f.read().decode('utf-8'))


# -- the environment variable ---------------------------------------------


def test_env_var_replaces_the_default(mod, local_dir, monkeypatch):
    monkeypatch.setenv(MODE_ENV, 'network')
    with mod.Cache(local_dir) as cache:
        assert cache.network_mode == 'network'
        cache['k'] = 'v'
    # The keyword wins over the variable.
    with mod.Cache(local_dir, network_mode='local') as cache:
        assert cache.network_mode == 'local'
        assert cache['k'] == 'v'
    monkeypatch.setenv(MODE_ENV, 'local')
    with mod.Cache(local_dir) as cache:
        assert cache.network_mode == 'local'
    with mod.Cache(local_dir, network_mode='network') as cache:
        assert cache.network_mode == 'network'
    monkeypatch.setenv(MODE_ENV, 'auto')
    with mod.Cache(local_dir) as cache:
        assert cache.network_mode == 'local'


def test_env_var_reaches_a_child_process(mod, local_dir):
    """The variable is read at open, so a deployment can set it for
    processes it does not control; here a child process."""
    code = ('import importlib, sys\n'
            'c = importlib.import_module(sys.argv[2]).Cache(sys.argv[1])\n'
            'print(c.network_mode)\n'
            'c.close()\n')
    for value, expected in (('network', 'network'), ('local', 'local'), ('auto', 'local')):
        env = tu.child_env({MODE_ENV: value})
        out = subprocess.run([sys.executable, '-c', code, local_dir, tu.impl_name()], env=env,
                             capture_output=True, text=True, timeout=WAIT)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == expected, (value, out.stdout, out.stderr)


def test_env_var_local_on_sshfs(mod, tmp_path, monkeypatch, net_warning):
    """Forcing local mode on a FUSE mount (sshfs with its default options,
    where shared mappings work) gives the shared-mapping engine there."""
    kind = fs_type(str(tmp_path))
    if not is_network_fs(kind):
        pytest.skip('tmp_path is on %s, not a network filesystem (runs under '
                    'tests/sshfs/run.sh)' % kind)
    monkeypatch.setenv(MODE_ENV, 'local')
    cache = open_quietly(mod, str(tmp_path / 'cache'))
    try:
        assert cache.network_mode == 'local'
        cache['k'] = BIG
        assert cache['k'] == BIG
        assert cache.check() == []
    finally:
        cache.close()


# -- forced network mode on a local directory -----------------------------


def test_forced_network_mode_matches_reference(mod, refmod, clock, local_dir, both):
    """Every kind of operation, in network mode, gives python-diskcache's
    results."""
    ref = refmod.Cache(os.path.join(local_dir, 'ref'))
    new = mod.Cache(os.path.join(local_dir, 'new'), network_mode='network')
    assert new.network_mode == 'network'

    def transact(c):
        with c.transact():
            c.set('t1', 1)
            c.set('t2', BIG)
            return c.incr('t1'), c.get('t2') == BIG

    steps = [
        lambda c: c.set('a', 1),
        lambda c: c.set(('tuple', 2), 'two', tag='even'),
        lambda c: c.set(b'bytes', BIG, tag='big'),
        lambda c: c.set(4, b'', expire=10),
        lambda c: c.set('e', 'expiring', expire=5, tag='even'),
        lambda c: (c.get('a'), c.get(('tuple', 2), tag=True),
                   c.get(b'bytes') == BIG, c.get(4), c.get('nope')),
        lambda c: c.get('e', expire_time=True, tag=True),
        lambda c: c[b'bytes'] == BIG,
        lambda c: c['missing'],
        lambda c: (c.add('a', 2), c.add('new', 3), c.get('a'), c.get('new')),
        lambda c: [c.incr('n') for _ in range(5)],
        lambda c: (c.decr('n', 2), c.incr('n', 10), c.incr('fresh', default=7)),
        lambda c: c.incr('absent', default=None),
        lambda c: c.incr(('tuple', 2)),
        lambda c: (c.pop('new'), c.pop('new', 'default'), c.pop(b'bytes') == BIG),
        lambda c: (c.delete('a'), c.delete('a'), 'a' in c),
        lambda c: (c.touch(4, expire=100), c.touch('absent')),
        transact,
        lambda c: list(c.iterkeys()),
        lambda c: (list(c), list(reversed(c)), len(c)),
        lambda c: [c.push(i, prefix='q') for i in range(4)],
        lambda c: [c.push(x, side='front') for x in ('f1', 'f2')],
        lambda c: (c.peek(prefix='q'), c.peek(prefix='q', side='front')),
        lambda c: (c.pull(prefix='q'), c.pull(prefix='q', side='back'),
                   c.pull(), c.pull(side='back')),
        lambda c: c.peekitem(),
        lambda c: c.peekitem(last=False),
        'advance the clock by 6 s',
        lambda c: (c.get('e'), 'e' in c, c.get(4)),
        lambda c: c.expire(),
        lambda c: c.evict('even'),
        lambda c: sorted(map(repr, c)),
        lambda c: c.check(),
        lambda c: c.clear(),
        lambda c: (len(c), list(c)),
        lambda c: c.check(),
    ]
    try:
        for step in steps:
            if step == 'advance the clock by 6 s':
                clock.advance(6)
            else:
                both(ref, new, step)
    finally:
        ref.close()
        new.close()


def test_network_and_local_caches_on_one_directory(mod, local_dir):
    """A network-mode Cache and a local-mode Cache open on the same
    directory at once: each sees the other's writes at once."""
    net = mod.Cache(local_dir, network_mode='network')
    loc = mod.Cache(local_dir, network_mode='local')
    try:
        assert (net.network_mode, loc.network_mode) == ('network', 'local')
        sides = ((net, loc), (loc, net))
        counter = 0
        for i in range(60):
            writer, reader = sides[i % 2]
            key = ('k', i % 5)
            value = BIG + str(i).encode() if i % 7 == 0 else 'v%d' % i
            assert writer.set(key, value) is True
            assert reader.get(key) == value, (i, writer.network_mode)
            counter += 1
            assert writer.incr('n') == counter
            assert reader.get('n') == counter
            if i % 10 == 9:
                assert writer.delete(key) is True
                assert reader.get(key, MISSING) is MISSING, i
            if i % 6 == 0:
                with writer.transact():
                    writer['x'] = i
                    writer['y'] = -i
                assert (reader['x'], reader['y']) == (i, -i)
                assert reader.incr('x', 1000) == i + 1000
                assert writer['x'] == i + 1000
            if i % 8 == 0:
                writer.push(i, prefix='q')
                assert reader.pull(prefix='q')[1] == i
        assert list(net) == list(loc)
        assert len(net) == len(loc)
        assert {k: net[k] for k in net} == {k: loc[k] for k in loc}
        assert net.check() == []
        assert loc.check() == []
    finally:
        net.close()
        loc.close()


def test_fanout_index_deque_in_network_mode(mod, local_dir):
    fanout = mod.FanoutCache(os.path.join(local_dir, 'fanout'), shards=3,
                             network_mode='network')
    try:
        assert [s.network_mode for s in fanout._shards] == ['network'] * 3
        for i in range(30):
            fanout[i] = i * i
        assert fanout.incr('n', 5) == 5
        assert sorted(k for k in fanout if k != 'n') == list(range(30))
        assert fanout.check() == []
    finally:
        fanout.close()
    cache = mod.Cache(os.path.join(local_dir, 'index'), network_mode='network')
    try:
        index = mod.Index.fromcache(cache)
        index.update(a=1, b=2)
        assert list(index.items()) == [('a', 1), ('b', 2)]
        assert index.cache.network_mode == 'network'
        deque = mod.Deque.fromcache(mod.Cache(os.path.join(local_dir, 'deque'),
                                              network_mode='network'))
        deque.extend([1, 2, 3])
        deque.appendleft(0)
        assert list(deque) == [0, 1, 2, 3]
        assert deque.cache.network_mode == 'network'
        deque.cache.close()
    finally:
        cache.close()


# -- many processes ---------------------------------------------------------


def key_index(wid, j):
    return wid * 1000 + j


def worker(spec):
    """One process of the multi-process tests; returns its result dict.

    Opens the cache, prints ``ready``, waits for ``go`` on stdin, then runs
    ``spec['ops']`` random operations: incr of a shared counter, set of one
    of its own keys (read back at once), reads of its own keys (the last
    value it wrote) and of other workers' keys (a value that worker wrote to
    that key, never older than one read before), and a transaction that
    increments a shared counter and records the result under its own key.
    """
    mod = tu.load_impl(spec['impl'])
    rng = random.Random(spec['seed'])
    wid = spec['wid']
    kwargs = {'network_mode': spec['mode']} if spec['mode'] else {}
    cache = open_quietly(mod, spec['directory'], **kwargs)
    result = {'mode': cache.network_mode, 'incr': {k: [] for k in COUNTERS},
              'last': {}, 'ops': {}, 'reads_of_others': 0, 'txn': []}
    print('ready', flush=True)
    if sys.stdin.readline().strip() != 'go':
        raise RuntimeError('no go from the parent')
    seen = {}                   # (other wid, j) -> highest seq read
    seq = 0
    deadline = time.monotonic() + spec['seconds']
    for _ in range(spec['ops']):
        if time.monotonic() > deadline:
            break
        roll = rng.random()
        if roll < 0.35:
            op = 'incr'
            key = rng.choice(COUNTERS)
            result['incr'][key].append(cache.incr(key))
        elif roll < 0.6:
            op = 'set'
            j = rng.randrange(KEYS_PER_WORKER)
            seq += 1
            value = tu.random_value(rng, key_index(wid, j), wid, seq,
                                    large_fraction=0.15, max_size=48 * 1024)
            if cache.set(('k', wid, j), value) is not True:
                raise AssertionError('set returned something else than True')
            result['last'][j] = seq
            back = cache.get(('k', wid, j))
            if back is None or tu.parse_value(back, key_index(wid, j)) != (wid, seq):
                raise AssertionError('own write %d of key %d not read back: %r'
                                     % (seq, j, None if back is None else tu.parse_value(back)))
        elif roll < 0.7:
            op = 'get-own'
            j = rng.randrange(KEYS_PER_WORKER)
            value = cache.get(('k', wid, j))
            ident = None if value is None else tu.parse_value(value, key_index(wid, j))
            if ident != ((wid, result['last'][j]) if j in result['last'] else None):
                raise AssertionError('key %d: read %r, last write was seq %r'
                                     % (j, ident, result['last'].get(j)))
        elif roll < 0.93:
            op = 'get-other'
            other = rng.choice([w for w in spec['all_wids'] if w != wid])
            j = rng.randrange(KEYS_PER_WORKER)
            value = cache.get(('k', other, j))
            if value is not None:
                owner, got = tu.parse_value(value, key_index(other, j))
                if owner != other:
                    raise AssertionError('key of worker %d holds a value of worker %d'
                                         % (other, owner))
                if got < seen.get((other, j), 0):
                    raise AssertionError(
                        'key %r went back in time: seq %d read after seq %d'
                        % (('k', other, j), got, seen[(other, j)]))
                seen[(other, j)] = got
                result['reads_of_others'] += 1
        else:
            op = 'transact'
            with cache.transact():
                n = cache.incr('t')
                cache.set(('t', wid, n), n)
            result['txn'].append(n)
        result['ops'][op] = result['ops'].get(op, 0) + 1
    cache.close()
    return result


def worker_main(argv):
    spec = json.loads(argv[0])
    try:
        result = worker(spec)
    except BaseException:
        result = {'error': traceback.format_exc()}
    tu.dump_result(spec['result'], result)
    return 1 if 'error' in result else 0


def run_workers(mod, tmp_path, directories, modes, ops=OPS):
    """Run len(directories) workers, worker i on directories[i] with mode
    modes[i] (None: the default); return {wid: result}."""
    if sys.platform == 'win32':
        pytest.skip("the workers report over pipes read with select(), which is POSIX (Windows selects sockets only)")
    seed = random.randrange(2**32)
    wids = list(range(1, len(directories) + 1))
    procs = {}
    try:
        for wid, directory, mode in zip(wids, directories, modes):
            spec = {'impl': tu.impl_name(), 'wid': wid, 'seed': seed + wid,
                    'directory': directory, 'mode': mode, 'ops': ops,
                    'seconds': WORKER_SECONDS, 'all_wids': wids,
                    'result': str(tmp_path / ('worker-%d.pickle' % wid))}
            procs[wid] = (subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), 'worker', json.dumps(spec)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=tu.child_env(),
                text=True), spec)
        # Everyone has the cache open before anyone starts.
        for wid, (proc, spec) in procs.items():
            ready, _, _ = select.select([proc.stdout], [], [], WAIT)
            line = proc.stdout.readline() if ready else ''
            if line.strip() != 'ready':
                proc.kill()
                proc.wait()
                detail = ''
                if os.path.exists(spec['result']):
                    detail = tu.load_result(spec['result']).get('error', '')
                pytest.fail('worker %d did not open its cache within %ss '
                            '(seed %d):\n%s' % (wid, WAIT, seed, detail))
        for proc, _ in procs.values():
            proc.stdin.write('go\n')
            proc.stdin.flush()
        results = {}
        for wid, (proc, spec) in procs.items():
            try:
                proc.wait(WORKER_SECONDS + WAIT)
            except subprocess.TimeoutExpired:
                pytest.fail('worker %d did not finish within %ss (deadlock?), seed %d'
                            % (wid, WORKER_SECONDS + WAIT, seed))
            if not os.path.exists(spec['result']):
                pytest.fail('worker %d died with exit code %s, seed %d'
                            % (wid, proc.returncode, seed))
            res = tu.load_result(spec['result'])
            if 'error' in res:
                pytest.fail('worker %d (%s, seed %d) failed:\n%s'
                            % (wid, spec['directory'], seed, res['error']))
            assert proc.returncode == 0
            results[wid] = res
        return results, seed
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout):
                stream.close()


def check_final_state(cache, results, seed):
    """What every acknowledged operation must have left in ``cache``."""
    context = 'seed %d, %s mode' % (seed, cache.network_mode)
    expected = {}
    for key in COUNTERS:
        returns = sorted(v for res in results.values() for v in res['incr'][key])
        if returns:
            assert returns == list(range(1, len(returns) + 1)), (
                'incr of %r returned duplicates or skipped values (%s)' % (key, context))
            expected[key] = len(returns)
    txn = sorted(v for res in results.values() for v in res['txn'])
    assert txn == list(range(1, len(txn) + 1)), context
    if txn:
        expected['t'] = len(txn)
    for wid, res in results.items():
        for n in res['txn']:
            expected[('t', wid, n)] = n
    for key, value in expected.items():
        assert cache.get(key, MISSING) == value, (key, context)
    for wid, res in results.items():
        for j, seq in res['last'].items():
            value = cache.get(('k', wid, j), MISSING)
            assert value is not MISSING, (
                'acknowledged write of %r is lost (%s)' % (('k', wid, j), context))
            assert tu.parse_value(value, key_index(wid, j)) == (wid, seq), (
                'key %r holds %r, the last acknowledged write was seq %d (%s)'
                % (('k', wid, j), tu.parse_value(value), seq, context))
    n_keys = len(expected) + sum(len(res['last']) for res in results.values())
    assert len(cache) == n_keys, context
    assert len(list(cache)) == n_keys, context
    assert cache.check() == [], context
    return {key: cache[key] for key in cache}


def test_two_machines_share_a_directory(mod, mounts, tmp_path):
    """Processes on two sshfs mounts of one export, half on each: the
    'two machines' of docs/network-filesystems.md."""
    a, b = mounts
    directories = [a if wid % 2 else b for wid in range(1, WORKERS + 1)]
    open_quietly(mod, a).close()
    started = time.monotonic()
    results, seed = run_workers(mod, tmp_path, directories, [None] * WORKERS)
    elapsed = time.monotonic() - started
    for wid, res in results.items():
        assert res['mode'] == 'network', (wid, directories[wid - 1])
        assert sum(res['ops'].values()) == OPS, (
            'worker %d ran %d of %d operations in %.0fs' % (wid, sum(res['ops'].values()), OPS,
                                                             WORKER_SECONDS))
    assert sum(res['reads_of_others'] for res in results.values()) > 0
    views = []
    for directory in (a, b):
        cache = open_quietly(mod, directory)
        try:
            views.append(check_final_state(cache, results, seed))
        finally:
            cache.close()
    assert views[0] == views[1], 'mounts A and B see different contents'
    print('two machines: %d workers x %d operations in %.1fs'
          % (WORKERS, OPS, elapsed))


def test_network_and_local_processes_share_a_directory(mod, local_dir, tmp_path):
    """The same workload on a local directory, half the processes in
    network mode and half in local mode."""
    directory = os.path.join(local_dir, 'shared')
    mod.Cache(directory).close()
    modes = ['network' if wid % 2 else 'local' for wid in range(1, WORKERS + 1)]
    results, seed = run_workers(mod, tmp_path, [directory] * WORKERS, modes)
    assert [results[w]['mode'] for w in sorted(results)] == modes
    for mode in ('network', 'local'):
        with mod.Cache(directory, network_mode=mode) as cache:
            check_final_state(cache, results, seed)


if __name__ == '__main__':
    if sys.argv[1:2] == ['worker']:
        sys.exit(worker_main(sys.argv[2:]))
    sys.exit('usage: %s worker SPEC_JSON' % sys.argv[0])
