"""Secure by default: a cache that someone else can write never runs their
pickles in this process (issue 21, CVE-2025-69872).

The first tests reproduce the attack across two real users: a child
process running as ``nobody`` makes a cache and plants pickles that would
create a marker file when unpickled; this process (root) opens the
directory with Cache, FanoutCache, Index, Deque, DjangoCache or a memoized
function. The pickle must be refused by default and with a secret, and run
only once the directory is declared trusted. The others need no second
user: a cache made writable by group or others (or a parent folder, an
engine file, a value folder, a value file, or a segment made after the
open) counts as shared whoever owns it.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import load_impl

impl = load_impl()

pytestmark = [
    pytest.mark.skipif(
        not hasattr(getattr(impl, 'core', None), 'UntrustedDataError'),
        reason='the reference python-diskcache unpickles whatever it reads',
    ),
    pytest.mark.skipif(sys.platform == 'win32', reason='POSIX owners and mode bits (Windows: access lists)'),
]

NOBODY = 65534
TRUSTED = 'DISKCACHE_GO_TRUSTED_DIRECTORIES'


class Exploit:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No secret or trust declaration leaks in from the environment."""
    for name in ('DISKCACHE_GO_HMAC_SECRET', 'DISKCACHE_GO_HMAC_SECRET_FILE',
                 'DISKCACHE_GO_TRUSTED_DIRECTORIES'):
        monkeypatch.delenv(name, raising=False)


# -- the attack, across two users ---------------------------------------------

ATTACKER = r'''
import os, sys
import diskcache_go  # before setuid: the interpreter's files may be root's only
from diskcache_go import Cache, Deque, FanoutCache, Index
from diskcache_go.djangocache import DjangoCache
kind, directory, marker = sys.argv[1:4]
os.setgid(int(sys.argv[4]))
os.setuid(int(sys.argv[4]))


class Exploit:
    def __reduce__(self):
        return (open, (marker, 'w'))


if kind == 'cache':
    cache = Cache(directory)
    cache.set('evil', Exploit())
    cache.set('evil-file', [Exploit(), 'x' * 100000])  # a value file
    cache.set((Exploit(), 'key'), 'a pickled key')
    cache.set('text', 'hello')
    cache.set('number', 7)
    cache.set('real', 1.5)
    cache.set('blob', b'b' * 100000)
elif kind == 'fanout':
    FanoutCache(directory).set('evil', Exploit())
elif kind == 'index':
    Index(directory)['evil'] = Exploit()
elif kind == 'deque':
    Deque(directory=directory).append(Exploit())
elif kind == 'django':
    DjangoCache(directory, {}).set('evil', Exploit())
elif kind == 'memoize':
    # The key Cache.memoize(name='job') gives the call job(1).
    Cache(directory).set(('job', 1, None), Exploit())
print('planted')
'''


@pytest.fixture
def world_dir():
    """A folder every user may create entries in, sticky like /tmp."""
    path = tempfile.mkdtemp(prefix='dcg-shared-')
    os.chmod(path, 0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def plant_as_nobody(kind, directory, marker):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, '-c', ATTACKER, kind, directory, marker, str(NOBODY)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and 'planted' in result.stdout, result.stderr
    assert os.stat(directory).st_uid == NOBODY


def open_and_read(kind, directory, settings):
    """Open ``directory`` as ``kind`` with ``settings`` and read the
    planted value; returns (result, closer)."""
    if kind == 'cache':
        cache = impl.Cache(directory, **settings)
        return cache.get('evil'), cache.close
    if kind == 'fanout':
        cache = impl.FanoutCache(directory, **settings)
        return cache.get('evil'), cache.close
    if kind == 'index':
        # Index and Deque take no settings: they come with a Cache.
        index = impl.Index.fromcache(impl.Cache(directory, eviction_policy='none', **settings))
        return index['evil'], index.cache.close
    if kind == 'deque':
        deque = impl.Deque.fromcache(impl.Cache(directory, eviction_policy='none', **settings))
        return deque[0], deque.cache.close
    if kind == 'django':
        from diskcache_go.djangocache import DjangoCache
        cache = DjangoCache(directory, {'OPTIONS': settings})
        return cache.get('evil'), cache.close
    if kind == 'memoize':
        cache = impl.Cache(directory, **settings)

        @cache.memoize(name='job')
        def job(number):
            return number * 2

        return job(1), cache.close
    raise AssertionError(kind)


KINDS = ['cache', 'fanout', 'index', 'deque', 'django', 'memoize']
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root to run a child as another user')


@needs_root
@pytest.mark.parametrize('kind', KINDS)
def test_another_users_pickle_is_refused_by_default_and_with_a_secret(world_dir, kind):
    if kind == 'django':
        pytest.importorskip('django')
    directory = os.path.join(world_dir, 'cache')
    marker = os.path.join(world_dir, 'pwned')
    plant_as_nobody(kind, directory, marker)
    for settings in ({}, {'disk_hmac_secret': b'a secret nobody has'}):
        if kind == 'memoize' and settings:
            # With a secret a pickled key is stored with its tag, so the
            # planted entry (a key without one) is not even found: the
            # function runs.
            value, close = open_and_read(kind, directory, settings)
            assert value == 2
            close()
            assert not os.path.exists(marker)
            continue
        with pytest.raises(impl.core.UntrustedDataError) as info:
            open_and_read(kind, directory, settings)
        assert not os.path.exists(marker), 'the planted pickle ran (%s, %s)' % (kind, settings)
        text = str(info.value)
        if not settings:
            # The error names the directory, what made it shared, and
            # both ways out.
            assert directory in text and 'uid %d' % NOBODY in text, text
            assert 'disk_hmac_secret' in text and 'trust_shared_directory' in text, text
            assert TRUSTED in text, text
        else:
            assert 'HMAC' in text, text


@needs_root
@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('how', ['setting', 'environment'])
def test_another_users_pickle_runs_only_when_declared_trusted(world_dir, kind, how, monkeypatch):
    if kind == 'django':
        pytest.importorskip('django')
    directory = os.path.join(world_dir, 'cache')
    marker = os.path.join(world_dir, 'pwned')
    plant_as_nobody(kind, directory, marker)
    with pytest.raises(impl.core.UntrustedDataError):
        open_and_read(kind, directory, {})
    assert not os.path.exists(marker)
    if how == 'setting':
        settings = {'trust_shared_directory': True}
    else:
        # A folder above the cache trusts what is below it (FanoutCache's
        # shards, Django's LOCATION).
        monkeypatch.setenv(TRUSTED, os.pathsep.join(['/nonexistent', world_dir]))
        settings = {}
    value, close = open_and_read(kind, directory, settings)
    # The user said the directory is theirs to trust: python-diskcache's
    # behaviour, the pickle ran.
    assert os.path.exists(marker)
    value.close()
    close()


@needs_root
def test_shared_cache_still_reads_raw_values_and_refuses_pickled_keys(world_dir):
    directory = os.path.join(world_dir, 'cache')
    marker = os.path.join(world_dir, 'pwned')
    plant_as_nobody('cache', directory, marker)
    with impl.Cache(directory) as cache:
        assert cache.get('text') == 'hello'
        assert cache.get('number') == 7
        assert cache.get('real') == 1.5
        assert cache.get('blob') == b'b' * 100000
        assert cache['text'] == 'hello'
        for key in ('evil', 'evil-file'):
            with pytest.raises(impl.core.UntrustedDataError):
                cache.get(key)
        with pytest.raises(impl.core.UntrustedDataError):
            cache.pop('evil')
        # Iteration unpickles keys: a planted key is refused too.
        with pytest.raises(impl.core.UntrustedDataError):
            list(cache)
        with pytest.raises(impl.core.UntrustedDataError):
            cache.peekitem(last=False)  # 'evil-file', the first left
        assert cache.peekitem() == ('blob', b'b' * 100000)
        # Looking a pickled key up compares pickles and unpickles nothing:
        # its raw value reads.
        assert (Exploit(marker), 'key') in cache
        assert cache.get((Exploit(marker), 'key')) == 'a pickled key'
    assert not os.path.exists(marker)


# -- what counts as shared, with one user ---------------------------------------


def make_cache(directory, marker):
    """A cache holding a pickle that would create ``marker``, and raw values."""
    with impl.Cache(directory) as cache:
        cache.set('evil', Exploit(marker))
        cache.set('evil-file', [Exploit(marker), 'x' * 100000])
        cache.set('text', 'hello')
        cache.set('blob', b'b' * 100000)


def assert_refused(directory, marker, why, **settings):
    with impl.Cache(directory, **settings) as cache:
        assert cache.get('text') == 'hello'
        assert cache.get('blob') == b'b' * 100000
        for key in ('evil', 'evil-file'):
            with pytest.raises(impl.core.UntrustedDataError) as info:
                cache.get(key)
            assert why in str(info.value), str(info.value)
            assert isinstance(info.value, pickle.UnpicklingError)
    assert not os.path.exists(marker), 'the pickle ran'


def test_ordinary_directories_are_private(tmp_path):
    # tmp_path (pytest's, under /tmp), a directory Cache makes, one made by
    # mkdtemp and one by os.makedirs with the usual umask: the pickles
    # read as they always did (the marker is made), and the check is made
    # again at every open.
    old = os.umask(0o022)
    try:
        os.makedirs(str(tmp_path / 'makedirs'))
    finally:
        os.umask(old)
    for directory in (str(tmp_path / 'made'), tempfile.mkdtemp(dir=str(tmp_path)),
                      str(tmp_path / 'makedirs')):
        marker = os.path.join(directory + '-pwned')
        make_cache(directory, marker)
        with impl.Cache(directory) as cache:
            cache.get('evil').close()
            assert os.path.exists(marker)
            assert cache.get('evil-file')[1] == 'x' * 100000
        os.remove(marker)
        mode = os.stat(directory).st_mode & 0o777
        os.chmod(directory, 0o775)
        assert_refused(directory, marker, 'its group may write it')
        os.chmod(directory, mode)
        with impl.Cache(directory) as cache:
            cache.get('evil').close()


@pytest.mark.parametrize('mode, who', [(0o770, 'its group'), (0o703, 'others'), (0o777, 'its group and others')])
def test_directory_writable_by_group_or_others_is_shared(tmp_path, mode, who):
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'pwned')
    make_cache(directory, marker)
    os.chmod(directory, mode)
    assert_refused(directory, marker, '%s has mode %04o: %s may write it' % (directory, mode, who))


def test_engine_file_writable_by_others_is_shared(tmp_path):
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'pwned')
    make_cache(directory, marker)
    os.chmod(os.path.join(directory, 'cache.dcg'), 0o666)
    assert_refused(directory, marker, 'cache.dcg has mode 0666')


def test_parent_writable_by_others_is_shared_unless_sticky(tmp_path):
    parent = tmp_path / 'parent'
    parent.mkdir()
    directory = str(parent / 'cache')
    marker = str(tmp_path / 'pwned')
    make_cache(directory, marker)
    os.chmod(str(parent), 0o777)
    assert_refused(directory, marker, 'they could put another directory in place of %s' % directory)
    # Sticky (as /tmp is): only the cache directory's owner may rename it.
    os.chmod(str(parent), 0o1777)
    with impl.Cache(directory) as cache:
        cache.get('evil').close()
    assert os.path.exists(marker)


def test_symbolic_link_into_a_shared_folder_is_followed(tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir()
    directory = str(shared / 'cache')
    marker = str(tmp_path / 'pwned')
    make_cache(directory, marker)
    os.chmod(str(shared), 0o777)
    link = str(tmp_path / 'link')
    os.symlink(directory, link)
    assert_refused(link, marker, 'they could put another directory in place of %s' % directory)


def test_value_folder_or_file_made_shared_after_the_open(tmp_path):
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'pwned')
    make_cache(directory, marker)
    with impl.Cache(directory) as cache:
        # After the open, the owner makes the value file's folder
        # writable by others: the next read of a pickle from it is
        # refused (the C get sees the folder for the first time), and
        # from then on every pickle, inline ones too.
        name = pickle_file_of(cache)
        os.chmod(os.path.dirname(name), 0o777)
        with pytest.raises(impl.core.UntrustedDataError, match='mode 0777'):
            cache.get('evil-file')
        with pytest.raises(impl.core.UntrustedDataError, match='mode 0777'):
            cache.get('evil')
        assert cache.get('blob') == b'b' * 100000
    os.chmod(os.path.dirname(name), 0o700)
    # A value file others may write, in a private folder.
    os.chmod(name, 0o666)
    with impl.Cache(directory) as cache:
        cache.get('evil').close()  # inline: its segment is private
        os.remove(marker)
        with pytest.raises(impl.core.UntrustedDataError, match='mode 0666'):
            cache.get('evil-file')
    assert not os.path.exists(marker)


def pickle_file_of(cache):
    """The value file of the pickle in make_cache's cache."""
    # read() hands out only bytes values' files: the pickle's is the other.
    with cache.read('blob') as reader:
        pass
    files = [os.path.join(root, name) for root, _, names in os.walk(cache.directory)
             for name in names if name.endswith('.val')]
    files.remove(reader.name)
    (name,) = files
    return name


def test_segment_made_after_the_open_by_a_sharing_process(tmp_path):
    # A process of the owner with a file mode that lets others write
    # starts a new segment after this one opened: the engine says so when
    # this process first reads from it.
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'pwned')
    reader = impl.Cache(directory, disk_min_file_size=2 ** 21)
    reader.set('first', 'private')
    old = os.umask(0)
    try:
        writer = impl.Cache(directory, disk_file_mode=0o666, disk_min_file_size=2 ** 21)
        for number in range(80):  # ~80 MiB of records: past one 64 MiB segment
            writer.set(number, [b'x' * (1 << 20)])
        writer.set('evil', Exploit(marker))
        writer.close()
    finally:
        os.umask(old)
    segments = sorted(name for name in os.listdir(directory) if name.endswith('.seg'))
    assert len(segments) >= 2
    assert oct(os.stat(os.path.join(directory, segments[-1])).st_mode & 0o777) == oct(0o666)
    with pytest.raises(impl.core.UntrustedDataError, match='may write it'):
        reader.get('evil')
    assert reader.get('first') == 'private'
    reader.close()
    assert not os.path.exists(marker)


def test_trust_declared_by_setting_or_environment(tmp_path, monkeypatch):
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'pwned')
    make_cache(directory, marker)
    os.chmod(directory, 0o777)
    assert_refused(directory, marker, 'mode 0777')
    for settings, listed in (({'trust_shared_directory': True}, None),
                             ({}, directory), ({}, str(tmp_path)), ({}, '*')):
        if listed is None:
            monkeypatch.delenv(TRUSTED, raising=False)
        else:
            monkeypatch.setenv(TRUSTED, listed)
        with impl.Cache(directory, **settings) as cache:
            cache.get('evil').close()
        assert os.path.exists(marker)
        os.remove(marker)
    # A sibling with the same prefix is not below the listed directory.
    monkeypatch.setenv(TRUSTED, directory + '-other')
    assert_refused(directory, marker, 'mode 0777')
    # reset() can declare it too (and take it back).
    monkeypatch.delenv(TRUSTED)
    with impl.Cache(directory) as cache:
        cache.reset('trust_shared_directory', True)
        cache.get('evil').close()
        os.remove(marker)
        cache.reset('trust_shared_directory', False)
        with pytest.raises(impl.core.UntrustedDataError):
            cache.get('evil')
    with pytest.raises(ValueError, match='trust_shared_directory'):
        impl.Cache(directory, trust_shared_directory='yes')


def test_trust_and_secrets_are_never_taken_from_the_directory(tmp_path):
    # Whoever can write the settings file must not declare the directory
    # trusted, or choose the secret, for the processes that read it.
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'pwned')
    make_cache(directory, marker)
    path = os.path.join(directory, 'cache.dcg-settings')
    with open(path) as reader:
        data = json.load(reader)
    data.pop('$crc32')
    data['trust_shared_directory'] = 1
    data['disk_hmac_secret'] = 'chosen by the attacker'
    data['$crc32'] = impl.core._settings_sum(data)
    with open(path, 'w') as writer:
        json.dump(data, writer)
    os.chmod(directory, 0o777)
    assert_refused(directory, marker, 'mode 0777')
    with impl.Cache(directory) as cache:
        assert cache.disk.hmac_secret is None


def test_shared_cache_with_the_secret_reads_what_it_signed(tmp_path):
    directory = str(tmp_path / 'cache')
    with impl.Cache(directory, disk_hmac_secret='s3cret', disk_dir_mode=0o777, disk_file_mode=0o666) as cache:
        cache.set('a', {'x': 1})
        cache.set(('t', 1), ['y' * 100000])
    os.chmod(directory, 0o777)
    with impl.Cache(directory, disk_hmac_secret='s3cret') as cache:
        assert cache.get('a') == {'x': 1}
        assert cache[('t', 1)] == ['y' * 100000]
        assert sorted(map(repr, cache)) == sorted(map(repr, ['a', ('t', 1)]))
    with impl.Cache(directory) as cache:
        with pytest.raises(impl.core.UntrustedDataError, match='is shared'):
            cache.get('a')
