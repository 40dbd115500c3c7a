"""A file of an open cache truncated under the running process (issue 15).

The index is mapped, and so are the segments: a load or a store past the
end of a truncated file raises SIGBUS, which used to kill the interpreter
(in the engine's hash-table probe, for the index). Now the process must
answer every call with a value, a miss or a diskcache_go error, exit
normally, and the directory must open and work again afterwards (a
truncated index comes back empty; its entries' files become orphans that
``check(fix=True)`` removes).

Each case runs in a subprocess, so a crash fails the test instead of
killing pytest: the child truncates the file itself with ``os.truncate``,
which is what any other program would do (the engine is not told), for
the index, a record segment and a value file, to nothing and to half, in
the shared mode (the default) and the ordered mode (``fsync=True``, whose
index mapping is copy-on-write).
"""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(sys.platform == 'win32', reason='Windows refuses to truncate a file that is mapped, so no cache can meet one cut under it')

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                'workers'))
import dcg_testutil as tu  # noqa: E402

CHILD = r'''
import glob
import os
import sys
import warnings

import diskcache_go
from diskcache_go.core import Error

directory, kind, cut, mode = sys.argv[1:5]
warnings.simplefilter('ignore')  # reopening a reset index warns
FAILED = object()


def attempt(fn, *args):
    """fn's answer, or FAILED for a diskcache_go error (anything else, and
    any crash, fails the test)."""
    try:
        return fn(*args)
    except Error:
        return FAILED


items = {'k%d' % i: b'v%d-' % i * (i % 9 + 1) for i in range(300)}
for i in range(4):
    items['file%d' % i] = bytes([i + 1]) * 100_000  # value files
cache = diskcache_go.Cache(directory, fsync=(mode == 'ordered'), statistics=True)
for key, value in items.items():
    cache.set(key, value)
for key, value in items.items():
    assert cache.get(key) == value  # maps the segments

if kind == 'index':
    path = os.path.join(directory, 'cache.dcg')
elif kind == 'segment':
    path = sorted(glob.glob(os.path.join(directory, 'cache.dcg-*.seg')))[0]
else:
    path = sorted(glob.glob(os.path.join(directory, '*', '*.val')))[0]
os.truncate(path, 0 if cut == 'zero' else os.path.getsize(path) // 2)

for key, value in items.items():
    got = attempt(cache.get, key)
    assert got is FAILED or got is None or got == value, (key, got)
attempt(len, cache)
attempt(list, cache)
attempt(cache.stats)
attempt(cache.set, 'new', b'after')
attempt(cache.set, 'new-file', b'x' * 100_000)
attempt(cache.delete, 'k1')
got = attempt(cache.get, 'new')
assert got is FAILED or got is None or got == b'after', got
cache.close()

again = diskcache_go.Cache(directory)
again.set('fresh', b'fresh')
assert again.get('fresh') == b'fresh'
for key, value in items.items():
    got = attempt(again.get, key)
    assert got is FAILED or got is None or got == value, (key, got)
len(again)
# check(fix=True) drops what the truncation damaged: every entry left
# reads back, the rest miss.
again.check(fix=True)
again.check(fix=True)
for key, value in items.items():
    assert again.get(key) in (None, value), key
assert again.get('fresh') == b'fresh'
again.close()
print('survived')
'''


@pytest.mark.parametrize('mode', ['shared', 'ordered'])
@pytest.mark.parametrize('cut', ['zero', 'half'])
@pytest.mark.parametrize('kind', ['index', 'segment', 'value'])
def test_truncated_under_running_process(tmp_path, kind, cut, mode):
    directory = str(tmp_path / 'cache')
    proc = subprocess.run(
        [sys.executable, '-c', CHILD, directory, kind, cut, mode],
        env=tu.child_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, 'the process died (%d):\n%s' % (
        proc.returncode, proc.stderr[-4000:])
    assert proc.stdout.strip().endswith('survived'), proc.stdout
