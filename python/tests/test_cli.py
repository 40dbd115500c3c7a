"""The command line: ``python -m diskcache_go`` / ``diskcache-go``.

Commands are run in-process through ``cli.main(argv)``, which returns the
exit status; a few runs go through a real ``python -m diskcache_go`` process.
"""

import io
import json
import os
import re
import subprocess
import sys
import time

import diskcache
import pytest

import diskcache_go
from diskcache_go import cli

COMMANDS = ('stats', 'check', 'migrate', 'bench', 'get', 'set', 'delete', 'keys')


def run(capsys, *argv):
    """``(exit status, stdout, stderr)`` of one command."""
    status = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / 'cache')


# -- help and usage ------------------------------------------------------------


def test_help_lists_every_command(capsys):
    status, out, _ = run(capsys, '--help')
    assert status == 0
    for command in COMMANDS:
        assert re.search(r'^ +%s +\S' % command, out, re.M), command
    assert not re.search(r'^ +COMMAND *$', out, re.M)
    assert 'exit status:' in out and 'examples:' in out
    assert 'usage: diskcache-go' in out or 'usage: python -m diskcache_go' in out


@pytest.mark.parametrize('command', COMMANDS)
def test_command_help(capsys, command):
    status, out, _ = run(capsys, command, '--help')
    assert status == 0
    assert out.startswith('usage: ')
    assert ' %s ' % command in out.splitlines()[0]


def test_usage_errors_exit_2(capsys, cache_dir):
    status, _, err = run(capsys)
    assert status == 2 and 'usage:' in err
    assert run(capsys, 'frobnicate')[0] == 2
    assert run(capsys, 'get')[0] == 2
    assert run(capsys, 'get', cache_dir)[0] == 2
    assert run(capsys, 'set', cache_dir, 'k')[0] == 2
    assert run(capsys, 'set', cache_dir, 'k', 'v', '--expire', '-1')[0] == 2
    assert run(capsys, 'set', cache_dir, 'k', 'v', '--type', 'nope')[0] == 2
    assert run(capsys, 'keys', cache_dir, '--limit', 'x')[0] == 2
    # A KEY or VALUE that does not parse as its --key-type / --type.
    status, _, err = run(capsys, 'set', cache_dir, '--key-type', 'int', 'abc', 'v')
    assert status == 2 and "key 'abc' is not a valid int" in err
    status, _, err = run(capsys, 'set', cache_dir, 'k', '{bad', '--type', 'json')
    assert status == 2 and 'not a valid json' in err
    assert not os.path.exists(cache_dir)


def test_version(capsys):
    status, out, _ = run(capsys, '--version')
    assert status == 0 and diskcache_go.__version__ in out


# -- set / get / delete / keys ------------------------------------------------------


def test_set_get_delete_round_trip(capsys, cache_dir):
    assert run(capsys, 'set', cache_dir, 'greeting', 'hello world')[0] == 0
    assert os.path.isdir(cache_dir)
    assert run(capsys, 'get', cache_dir, 'greeting') == (0, 'hello world\n', '')
    with diskcache_go.Cache(cache_dir) as cache:
        assert cache['greeting'] == 'hello world'
        cache[('t', 1)] = {'a': [1, 2]}
        cache[7] = 3.5
    assert run(capsys, 'get', cache_dir, '--key-type', 'int', '7') == (0, '3.5\n', '')
    status, out, _ = run(capsys, 'get', cache_dir, '-k', 'literal', "('t', 1)")
    assert (status, out) == (0, "{'a': [1, 2]}\n")
    status, out, _ = run(capsys, 'get', cache_dir, '-k', 'literal', "('t', 1)", '--type', 'json')
    assert (status, json.loads(out)) == (0, {'a': [1, 2]})
    assert run(capsys, 'delete', cache_dir, 'greeting') == (0, '', '')
    status, out, err = run(capsys, 'delete', cache_dir, 'greeting')
    assert (status, out) == (1, '') and "key not found: 'greeting'" in err
    status, out, err = run(capsys, 'get', cache_dir, 'greeting')
    assert (status, out) == (1, '') and 'key not found' in err


def test_set_value_types(capsys, cache_dir):
    assert run(capsys, 'set', cache_dir, 'i', '42', '--type', 'int')[0] == 0
    assert run(capsys, 'set', cache_dir, 'f', '2.5', '-t', 'float')[0] == 0
    assert run(capsys, 'set', cache_dir, 'b', 'raw', '-t', 'bytes')[0] == 0
    assert run(capsys, 'set', cache_dir, 'j', '{"x": [1, null]}', '-t', 'json')[0] == 0
    assert run(capsys, 'set', cache_dir, 'l', "(1, 'a', b'z')", '-t', 'literal')[0] == 0
    assert run(capsys, 'set', cache_dir, '5', 'five', '--key-type', 'int')[0] == 0
    assert run(capsys, 'set', cache_dir, 'bk', 'v', '--key-type', 'bytes')[0] == 0
    with diskcache_go.Cache(cache_dir) as cache:
        assert cache['i'] == 42 and type(cache['i']) is int
        assert cache['f'] == 2.5
        assert cache['b'] == b'raw'
        assert cache['j'] == {'x': [1, None]}
        assert cache['l'] == (1, 'a', b'z')
        assert cache[5] == 'five' and '5' not in cache
        assert cache[b'bk'] == 'v'
    assert run(capsys, 'get', cache_dir, 'i', '--type', 'int')[1] == '42\n'
    assert run(capsys, 'get', cache_dir, 'i')[1] == '42\n'
    assert run(capsys, 'get', cache_dir, 'l')[1] == "(1, 'a', b'z')\n"
    # A value that cannot be shown as asked: exit status 1.
    status, out, err = run(capsys, 'get', cache_dir, 'l', '--type', 'int')
    assert (status, out) == (1, '') and 'not a number' in err
    status, _, err = run(capsys, 'get', cache_dir, 'l', '--type', 'json')
    assert status == 1 and 'JSON' in err


def test_set_expire_and_tag(capsys, cache_dir):
    before = time.time()
    assert run(capsys, 'set', cache_dir, 'k', 'v', '--expire', '60', '--tag', 'grp')[0] == 0
    with diskcache_go.Cache(cache_dir) as cache:
        value, expire_time, tag = cache.get('k', expire_time=True, tag=True)
        assert value == 'v' and tag == 'grp'
        assert before + 60 <= expire_time <= time.time() + 60
        assert cache.evict('grp') == 1
    assert run(capsys, 'set', cache_dir, 'short', 'v', '-e', '0.05')[0] == 0
    time.sleep(0.1)
    assert run(capsys, 'get', cache_dir, 'short')[0] == 1


def test_get_is_binary_safe(capsysbinary, cache_dir):
    small = bytes(range(256)) + b'\r\n\x00end'
    big = os.urandom(200_000)  # file-backed: streamed
    with diskcache_go.Cache(cache_dir) as cache:
        cache['small'] = small
        cache['big'] = big
        cache['text'] = 'héllo'
    assert cli.main(['get', cache_dir, 'small']) == 0
    assert capsysbinary.readouterr().out == small
    assert cli.main(['get', cache_dir, 'big']) == 0
    assert capsysbinary.readouterr().out == big
    assert cli.main(['get', cache_dir, 'big', '--type', 'bytes']) == 0
    assert capsysbinary.readouterr().out == big
    assert cli.main(['get', cache_dir, 'text']) == 0
    assert capsysbinary.readouterr().out == 'héllo\n'.encode()
    assert cli.main(['get', cache_dir, 'text', '--type', 'bytes']) == 0
    assert capsysbinary.readouterr().out == 'héllo'.encode()


def test_set_from_stdin(capsys, cache_dir, monkeypatch):
    data = bytes(range(256)) * 200
    monkeypatch.setattr(sys, 'stdin', io.TextIOWrapper(io.BytesIO(data), encoding='latin-1'))
    assert run(capsys, 'set', cache_dir, 'blob', '-', '--type', 'bytes')[0] == 0
    monkeypatch.setattr(sys, 'stdin', io.TextIOWrapper(io.BytesIO(b'[1, 2, 3]')))
    assert run(capsys, 'set', cache_dir, 'list', '-', '--type', 'json')[0] == 0
    with diskcache_go.Cache(cache_dir) as cache:
        assert cache['blob'] == data
        assert cache['list'] == [1, 2, 3]


def test_keys_insertion_order_and_limit(capsys, cache_dir):
    keys = ['z', 3, b'b', ('t', 1), 2.5, 'a']
    with diskcache_go.Cache(cache_dir) as cache:
        for key in keys:
            cache[key] = 1
    status, out, _ = run(capsys, 'keys', cache_dir)
    assert status == 0
    assert out.splitlines() == [repr(key) for key in keys]
    assert run(capsys, 'keys', cache_dir, '--limit', '2')[1].splitlines() == ["'z'", '3']
    assert run(capsys, 'keys', cache_dir, '-n', '0')[1] == ''
    # Each line reads back as a key.
    for line in out.splitlines():
        assert run(capsys, 'get', cache_dir, '--key-type', 'literal', line) == (0, '1\n', '')


def test_fanout_directory(capsys, tmp_path):
    path = str(tmp_path / 'fan')
    fanout = diskcache_go.FanoutCache(path, shards=4)
    for i in range(40):
        fanout['k%d' % i] = i
    fanout.close()
    for i in range(40, 60):
        assert run(capsys, 'set', path, 'k%d' % i, str(i), '--type', 'int')[0] == 0
    fanout = diskcache_go.FanoutCache(path, shards=4)
    try:
        # Routed as FanoutCache routes: every key is found where it looks.
        assert all(fanout['k%d' % i] == i for i in range(60))
        expected_keys = [repr(k) for k in fanout]
    finally:
        fanout.close()
    assert run(capsys, 'get', path, 'k7') == (0, '7\n', '')
    assert run(capsys, 'get', path, 'k55') == (0, '55\n', '')
    assert run(capsys, 'keys', path)[1].splitlines() == expected_keys
    assert run(capsys, 'delete', path, 'k3')[0] == 0
    assert run(capsys, 'get', path, 'k3')[0] == 1
    status, out, _ = run(capsys, 'stats', path, '--json')
    report = json.loads(out)
    assert (status, report['kind'], report['shards'], report['count']) == (0, 'FanoutCache', 4, 59)
    assert report['settings']['size_limit'] == 2**30
    assert run(capsys, 'check', path)[0] == 0


def test_missing_and_foreign_directories(capsys, tmp_path):
    missing = str(tmp_path / 'nope')
    for argv in (['get', missing, 'k'], ['delete', missing, 'k'], ['keys', missing],
                 ['stats', missing], ['check', missing]):
        status, out, err = run(capsys, *argv)
        assert (status, out) == (1, ''), argv
        assert 'does not exist' in err and 'Traceback' not in err
    assert not os.path.exists(missing)
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'notes.txt').write_text('x')
    status, _, err = run(capsys, 'get', other, 'k')
    assert status == 1 and 'not a cache directory' in err
    status, _, err = run(capsys, 'set', other, 'k', 'v')
    assert status == 1 and 'not a cache directory' in err
    old = str(tmp_path / 'old')
    with diskcache.Cache(old) as cache:
        cache['k'] = 1
    status, _, err = run(capsys, 'get', old, 'k')
    assert status == 1 and 'python-diskcache directory' in err and 'migrate' in err


# -- stats / check ----------------------------------------------------------------------


def test_stats(capsys, cache_dir):
    with diskcache_go.Cache(cache_dir, statistics=1, size_limit=10**8) as cache:
        cache['a'] = b'x' * 100_000
        cache['b'] = 2
        cache.get('a')
        cache.get('missing')
    status, out, _ = run(capsys, 'stats', cache_dir)
    assert status == 0
    assert 'kind:      Cache (diskcache_go)' in out
    assert 'count:     2 items' in out
    assert 'hits:      1' in out and 'misses:    1 (50.0% hits)' in out
    assert 'size_limit' in out and '100000000' in out
    status, out, _ = run(capsys, 'stats', cache_dir, '--json')
    report = json.loads(out)
    assert report['count'] == 2 and report['hits'] == 1 and report['misses'] == 1
    assert report['volume'] >= 100_000
    assert report['settings']['statistics'] == 1
    # stats only reads: the statistics stay as they were.
    with diskcache_go.Cache(cache_dir) as cache:
        assert cache.reset('hits') == 1 and cache.statistics == 1


def test_stats_of_python_diskcache_directory(capsys, tmp_path):
    path = str(tmp_path / 'old')
    with diskcache.FanoutCache(path, shards=2) as old:
        for i in range(10):
            old[i] = i
        old.cache('sub')['x'] = 1
    files_before = sorted(os.listdir(os.path.join(path, '000')))
    status, out, _ = run(capsys, 'stats', path, '--json')
    report = json.loads(out)
    assert status == 0
    assert (report['format'], report['kind'], report['shards'], report['count']) == (
        'python-diskcache', 'FanoutCache', 2, 10)
    assert report['stores'] == ['cache/sub']
    assert sorted(os.listdir(os.path.join(path, '000'))) == files_before
    status, out, _ = run(capsys, 'stats', path)
    assert status == 0 and 'migrate' in out


def test_check_and_fix(capsys, cache_dir):
    with diskcache_go.Cache(cache_dir) as cache:
        cache['a'] = 1
    status, out, err = run(capsys, 'check', cache_dir)
    assert (status, out) == (0, '') and 'no problems' in err
    with open(os.path.join(cache_dir, 'stray.txt'), 'w') as f:
        f.write('x')
    os.makedirs(os.path.join(cache_dir, 'empty'))
    status, out, err = run(capsys, 'check', cache_dir)
    assert status == 1
    assert 'UnknownFileWarning' in out and 'stray.txt' in out
    assert 'EmptyDirWarning' in out
    assert '2 problems found' in err
    assert os.path.exists(os.path.join(cache_dir, 'stray.txt'))  # no --fix: nothing changed
    status, out, err = run(capsys, 'check', cache_dir, '--fix')
    assert status == 1 and '2 problems repaired' in err
    assert not os.path.exists(os.path.join(cache_dir, 'stray.txt'))
    assert run(capsys, 'check', cache_dir)[0] == 0


# -- migrate and bench ---------------------------------------------------------------------


def test_migrate_command(capsys, tmp_path):
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    with diskcache.Cache(src) as old:
        old['a'] = 1
        old[('t', 2)] = b'two'
    status, out, err = run(capsys, 'migrate', src, dst)
    assert status == 0 and 'items migrated:' in out and err == ''
    assert run(capsys, 'keys', dst)[1].splitlines() == ["'a'", "('t', 2)"]
    assert run(capsys, 'migrate', src, dst)[0] == 1  # not empty any more
    assert run(capsys, 'migrate', str(tmp_path / 'missing'), str(tmp_path / 'x'))[0] == 1


def test_bench_builtin_quick(capsys):
    status, out, _ = run(capsys, 'bench', '--quick', '--builtin', '--ops', '50')
    assert status == 0
    assert 'diskcache_go' in out and 'get (hit)' in out and 'set (new key)' in out
    assert 'speed-up' in out


def test_bench_quick(capsys):
    status, out, _ = run(capsys, 'bench', '--quick')
    assert status == 0
    assert 'diskcache_go' in out and 'get (hit)' in out


# -- a real process ---------------------------------------------------------------------------


def _python_m(*argv, **kwargs):
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(diskcache_go.__file__)))
    env['PYTHONPATH'] = package_parent + os.pathsep + env.get('PYTHONPATH', '')
    return subprocess.run([sys.executable, '-m', 'diskcache_go'] + [str(a) for a in argv],
                          capture_output=True, env=env, timeout=120, **kwargs)


def test_python_m_exit_codes(tmp_path):
    path = str(tmp_path / 'c')
    done = _python_m('--help')
    assert done.returncode == 0 and b'usage: python -m diskcache_go' in done.stdout
    assert _python_m().returncode == 2
    assert _python_m('set', path, 'k', '-', '--type', 'bytes', input=b'\x00\x01\xff').returncode == 0
    done = _python_m('get', path, 'k')
    assert (done.returncode, done.stdout) == (0, b'\x00\x01\xff')
    done = _python_m('get', path, 'missing')
    assert (done.returncode, done.stdout) == (1, b'')
    assert b'key not found' in done.stderr
    with diskcache_go.Cache(path) as cache:
        for n in range(2000):
            cache['x%d' % n] = n
    # A reader that stops early is not an error.
    pipeline = subprocess.run(
        '"%s" -m diskcache_go keys "%s" | head -n 1' % (sys.executable, path),
        shell=True, capture_output=True, env=dict(os.environ, PYTHONPATH=os.path.dirname(
            os.path.dirname(os.path.abspath(diskcache_go.__file__)))), timeout=120)
    assert pipeline.stdout == b"'k'\n"
    assert b'Traceback' not in pipeline.stderr


def test_refused_pickle_is_reported_not_raised(capsys, tmp_path, monkeypatch):
    # A cache others may write: the command says why it refuses, and how
    # to share safely, instead of printing a traceback (or the value).
    monkeypatch.delenv('DISKCACHE_GO_TRUSTED_DIRECTORIES', raising=False)
    monkeypatch.delenv('DISKCACHE_GO_HMAC_SECRET', raising=False)
    monkeypatch.delenv('DISKCACHE_GO_HMAC_SECRET_FILE', raising=False)
    directory = str(tmp_path / 'cache')
    with diskcache_go.Cache(directory) as cache:
        cache.set('pickled', {'a': 1})
    os.chmod(directory, 0o777)
    status, out, err = run(capsys, 'get', directory, 'pickled')
    assert status == 1 and out == ''
    assert 'refusing to unpickle' in err and 'DISKCACHE_GO_TRUSTED_DIRECTORIES' in err, err
    monkeypatch.setenv('DISKCACHE_GO_TRUSTED_DIRECTORIES', directory)
    status, out, err = run(capsys, 'get', directory, 'pickled')
    assert status == 0 and "'a': 1" in out, (out, err)
