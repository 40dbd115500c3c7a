"""Hostile cache contents: HMAC-authenticated pickles, and permissions."""

import os
import pickle
import stat

import zlib

import pytest

from conftest import load_impl

impl = load_impl()

pytestmark = pytest.mark.skipif(
    not hasattr(getattr(impl, 'core', None), 'UntrustedDataError'),
    reason='the candidate has no HMAC setting (the reference python-diskcache)',
)


class Exploit:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def plant(directory, key, payload, **settings):
    """Write a pickled value the way an attacker with write access to the
    directory (or a process without the secret) would."""
    cache = impl.Cache(directory, **settings)
    cache.set(key, payload)
    cache.close()


@pytest.mark.parametrize('size', ['inline', 'file'])
def test_planted_pickle_is_never_unpickled(tmp_path, size):
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'pwned')
    payload = Exploit(marker)
    if size == 'file':
        payload = [Exploit(marker), 'x' * 100000]
    plant(directory, 'evil', payload)
    assert not os.path.exists(marker)

    cache = impl.Cache(directory, disk_hmac_secret=b'correct horse')
    with pytest.raises(impl.core.UntrustedDataError):
        cache.get('evil')
    with pytest.raises(pickle.UnpicklingError):  # the error is an UnpicklingError
        cache['evil']
    assert not os.path.exists(marker), 'the planted pickle ran'
    # The rest of the cache still works with the secret.
    cache.set('good', {'a': 1})
    assert cache.get('good') == {'a': 1}
    cache.close()


def test_planted_pickled_key_is_refused(tmp_path):
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'pwned')
    plant(directory, (Exploit(marker), 1), 'value')
    cache = impl.Cache(directory, disk_hmac_secret='s3cret')
    with pytest.raises(impl.core.UntrustedDataError):
        list(cache)
    assert not os.path.exists(marker)
    cache.close()


def test_tampered_value_is_refused(tmp_path):
    directory = str(tmp_path / 'cache')
    cache = impl.Cache(directory, disk_hmac_secret='s3cret')
    cache.set('k', ['a' * 50000])  # a pickled value in its own file
    cache.close()
    (val,) = [os.path.join(r, f) for r, _, fs in os.walk(directory) for f in fs if f.endswith('.val')]
    data = bytearray(open(val, 'rb').read())
    target = zlib.crc32(data)
    data[100] ^= 0x01
    if impl.__name__ == 'diskcache_go':
        # A careless edit is caught by the file's CRC-32 (CorruptionError);
        # an attacker forges the CRC, and the HMAC still refuses the file.
        with open(val, 'wb') as f:
            f.write(data)
        with impl.Cache(directory, disk_hmac_secret='s3cret') as cache:
            with pytest.raises(impl.core.CorruptionError):
                cache.get('k')
        data += forge_crc32(bytes(data), target)
    os.chmod(val, 0o600)
    with open(val, 'wb') as f:
        f.write(data)
    cache = impl.Cache(directory, disk_hmac_secret='s3cret')
    with pytest.raises(impl.core.UntrustedDataError):
        cache.get('k')
    cache.close()


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table


def forge_crc32(data, target):
    """Four bytes that, appended to ``data``, make its CRC-32 ``target``
    (CRC-32 is linear, so a checksum is no defence against a deliberate
    edit: the HMAC is)."""
    table = _crc_table()
    by_top = {t >> 24: i for i, t in enumerate(table)}
    reg, indices = target ^ 0xFFFFFFFF, []
    for _ in range(4):
        i = by_top[reg >> 24]
        indices.append(i)
        reg = ((reg ^ table[i]) << 8) & 0xFFFFFFFF
    reg, out = zlib.crc32(data) ^ 0xFFFFFFFF, bytearray()
    for i in reversed(indices):
        out.append((reg ^ i) & 0xFF)
        reg = (reg >> 8) ^ table[i]
    assert zlib.crc32(data + bytes(out)) == target
    return bytes(out)


def test_secret_round_trip_and_never_persisted(tmp_path):
    directory = str(tmp_path / 'cache')
    cache = impl.Cache(directory, disk_hmac_secret='s3cret')
    values = {'a': {'x': 1}, (1, 2): [3], 'big': list(range(20000)), 'raw': b'bytes', 'n': 5}
    for key, value in values.items():
        cache.set(key, value)
    assert {key: cache[key] for key in cache} == values
    cache.close()
    for root, _, files in os.walk(directory):
        for name in files:
            with open(os.path.join(root, name), 'rb') as f:
                assert b's3cret' not in f.read(), name
    reopened = impl.Cache(directory, disk_hmac_secret='s3cret')
    assert reopened.get('a') == {'x': 1}
    assert reopened.disk.hmac_secret == b's3cret'
    reopened.close()


def test_private_permissions_by_default(tmp_path):
    directory = str(tmp_path / 'cache')
    cache = impl.Cache(directory)
    cache.set('big', b'x' * 100000)
    cache.set('small', 1)
    cache.close()
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    for root, dirs, files in os.walk(directory):
        for name in dirs:
            assert stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode) == 0o700, name
        for name in files:
            assert stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode) == 0o600, name


def test_permissions_on_request(tmp_path):
    directory = str(tmp_path / 'shared')
    old = os.umask(0o022)
    try:
        cache = impl.Cache(directory, disk_file_mode=0o644, disk_dir_mode=0o755)
        cache.set('big', b'x' * 100000)
        cache.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o755
    modes = {stat.S_IMODE(os.stat(os.path.join(r, f)).st_mode) for r, _, fs in os.walk(directory) for f in fs}
    assert modes == {0o644}


# -- what a signature is bound to -----------------------------------------------
#
# The attacker below can write any bytes to the cache's files but does not
# know the secret: they copy genuine signed values around. They use a Cache
# without the secret and its low-level store, which writes an entry with
# the stored bytes and the file name they choose, as editing the files
# would.

SECRET = 's3cret'
BIG = ['x' * 100000]  # pickles to a value file


def stored(cache, key):
    """What the files hold for ``key``: (mode, value file or None, inline
    bytes or None), read as an attacker with read access would."""
    import time
    status, bufs = cache._get_raw(cache._key(key), time.time())
    assert status == 0
    mode, filename, db_value, _, _ = cache._item(bufs)
    if filename is not None:
        with open(os.path.join(cache.directory, filename), 'rb') as reader:
            return mode, filename, reader.read()
    return mode, None, db_value


def forge(directory, key, entry, file_name='ab/forged.val', key_enc=None):
    """Make ``key``'s entry (or the one whose stored key is ``key_enc``)
    hold ``entry`` (as ``stored`` returned it), the bytes in a value file
    of the attacker's if it had one."""
    import time
    mode, filename, data = entry
    attacker = impl.Cache(directory, disk_hmac_secret=None)
    if key_enc is not None:
        attacker._key = lambda key: key_enc
    if filename is not None:
        os.makedirs(os.path.join(directory, os.path.dirname(file_name)), exist_ok=True)
        with open(os.path.join(directory, file_name), 'wb') as writer:
            writer.write(data)
        assert attacker._store(1, attacker._key(key), None, None, len(data), mode, file_name, None,
                               False, time.time())
    else:
        assert attacker._store(1, attacker._key(key), None, None, 0, mode, None, data, False, time.time())
    attacker.close()


needs_signing = pytest.mark.skipif(impl.__name__ != 'diskcache_go',
                                   reason="diskcache_go's signature format")


@needs_signing
@pytest.mark.parametrize('value', [{'inline': 1}, BIG], ids=['inline', 'file'])
def test_signed_value_under_another_key_is_refused(tmp_path, value):
    directory = str(tmp_path / 'cache')
    with impl.Cache(directory, disk_hmac_secret=SECRET) as cache:
        cache.set('admin', value)
        cache.set('guest', 'raw')
        genuine = stored(cache, 'admin')
    forge(directory, 'guest', genuine)
    with impl.Cache(directory, disk_hmac_secret=SECRET) as cache:
        assert cache.get('admin') == value
        with pytest.raises(impl.core.UntrustedDataError, match='under another key'):
            cache.get('guest')
        # Under pickled keys too (the attacker reuses the stored form of a
        # genuine key: without the secret they can make no other).
        cache.set(('user', 1), value)
        cache.set(('user', 2), 'raw')
        forge(directory, None, stored(cache, ('user', 1)), key_enc=cache._key(('user', 2)))
        assert cache.get(('user', 1)) == value
        with pytest.raises(impl.core.UntrustedDataError, match='under another key'):
            cache.get(('user', 2))


@needs_signing
@pytest.mark.parametrize('value', [{'inline': 1}, BIG], ids=['inline', 'file'])
def test_signed_value_from_another_cache_is_refused(tmp_path, value):
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    with impl.Cache(one, disk_hmac_secret=SECRET) as cache:
        cache.set('k', value)
        genuine = stored(cache, 'k')
    with impl.Cache(two, disk_hmac_secret=SECRET) as cache:
        cache.set('k', 'something else')
    forge(two, 'k', genuine)
    with impl.Cache(two, disk_hmac_secret=SECRET) as cache:
        with pytest.raises(impl.core.UntrustedDataError, match='in another cache'):
            cache.get('k')
    # Pickled keys are bound to their cache as well: the copied key is
    # refused when iteration unpickles it.
    with impl.Cache(one, disk_hmac_secret=SECRET) as cache:
        cache.set(('t', 1), 'raw')
        (_, key_bytes), = [pair for pair in [cache._key(('t', 1))]]
    with impl.Cache(two, disk_hmac_secret=None) as attacker:
        import time
        assert attacker._store(1, (5, key_bytes), None, None, 0, 1, None, 'raw', False, time.time())
    with impl.Cache(two, disk_hmac_secret=SECRET) as cache:
        assert ('t', 1) not in cache  # looked up with this cache's tag
        with pytest.raises(impl.core.UntrustedDataError, match='key that fails'):
            list(cache)


@needs_signing
@pytest.mark.parametrize('value', [{'inline': 1}, BIG], ids=['inline', 'file'])
def test_replayed_value_is_refused_once_a_newer_one_was_seen(tmp_path, value):
    directory = str(tmp_path / 'cache')
    writer = impl.Cache(directory, disk_hmac_secret=SECRET)
    reader = impl.Cache(directory, disk_hmac_secret=SECRET)
    writer.set('balance', value)
    old = stored(writer, 'balance')
    assert reader.get('balance') == value
    writer.set('balance', ['new'])
    assert reader.get('balance') == ['new']
    # The attacker puts the old, genuine, signed value back.
    forge(directory, 'balance', old)
    for cache in (writer, reader):  # one wrote the new version, one read it
        with pytest.raises(impl.core.UntrustedDataError, match='older than a version'):
            cache.get('balance')
    # The writer's next version is newer still, whatever the clock says.
    writer.set('balance', ['newer'])
    assert reader.get('balance') == ['newer']
    # Removing an entry makes the version removed stale too.
    removed = stored(writer, 'balance')
    assert writer.pop('balance') == ['newer']
    forge(directory, 'balance', removed)
    with pytest.raises(impl.core.UntrustedDataError, match='older than a version'):
        writer.get('balance')
    writer.close()
    reader.close()
    # What is not covered (SECURITY.md): a cache object that never saw a
    # newer version (a new process) has nothing to compare with, and takes
    # the genuine old value.
    with impl.Cache(directory, disk_hmac_secret=SECRET) as fresh:
        assert fresh.get('balance') == ['newer']


@needs_signing
def test_pushed_value_is_bound_to_its_queue(tmp_path):
    directory = str(tmp_path / 'cache')
    with impl.Cache(directory, disk_hmac_secret=SECRET) as cache:
        key = cache.push({'job': 1}, prefix='jobs')
        cache.push({'job': 2}, prefix='jobs')
        genuine = stored(cache, key)
        assert cache.pull(prefix='jobs') == (key, {'job': 1})
    deque = impl.Deque.fromcache(impl.Cache(str(tmp_path / 'deque'), disk_hmac_secret=SECRET))
    deque.append(['item'])
    deque.appendleft(['first'])
    assert list(deque) == [['first'], ['item']]
    assert deque.pop() == ['item']
    deque.cache.close()
    forge(directory, 'jobs-500000000000007', genuine)   # same queue
    forge(directory, 'mail-500000000000000', genuine)   # another queue
    forge(directory, 'jobs', genuine)                   # not a queue's key
    with impl.Cache(directory, disk_hmac_secret=SECRET) as cache:
        # Within its queue a pushed value may be moved (SECURITY.md).
        assert cache.get('jobs-500000000000007') == {'job': 1}
        for other in ('mail-500000000000000', 'jobs'):
            with pytest.raises(impl.core.UntrustedDataError, match='another key or queue'):
                cache.get(other)


@needs_signing
def test_earlier_format_is_refused_with_a_clear_error(tmp_path):
    # 0.1.0 appended an HMAC of the pickle alone, which bound it to nothing.
    import hashlib
    import hmac
    directory = str(tmp_path / 'cache')
    data = pickle.dumps({'old': 1})
    old = data + hmac.new(SECRET.encode(), data, hashlib.sha256).digest()
    with impl.Cache(directory, disk_hmac_secret=SECRET) as cache:
        cache.set('x', 1)
    forge(directory, 'k', (4, None, old))
    with impl.Cache(directory, disk_hmac_secret=SECRET) as cache:
        with pytest.raises(impl.core.UntrustedDataError, match='0.1.0'):
            cache.get('k')


# -- where the secret comes from ------------------------------------------------


@pytest.fixture
def no_secret_env(monkeypatch):
    for name in ('DISKCACHE_GO_HMAC_SECRET', 'DISKCACHE_GO_HMAC_SECRET_FILE',
                 'DISKCACHE_GO_TRUSTED_DIRECTORIES'):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def secret_file(tmp_path, content, mode=0o600):
    path = tmp_path / 'secret'
    path.write_bytes(content)
    os.chmod(str(path), mode)
    return str(path)


@needs_signing
def test_secret_from_the_environment_or_a_file(tmp_path, no_secret_env):
    monkeypatch = no_secret_env
    directory = str(tmp_path / 'cache')
    marker = str(tmp_path / 'pwned')
    with impl.Cache(directory, disk_hmac_secret=SECRET) as cache:
        cache.set('signed', {'a': 1})
    plant(directory, 'evil', Exploit(marker), disk_hmac_secret=None)
    path = secret_file(tmp_path, SECRET.encode() + b'\n')  # as `echo` writes it
    sources = [
        ({'disk_hmac_secret_file': path}, {}),
        ({}, {'DISKCACHE_GO_HMAC_SECRET': SECRET}),
        ({}, {'DISKCACHE_GO_HMAC_SECRET_FILE': path}),
    ]
    for settings, env in sources:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        with impl.Cache(directory, **settings) as cache:
            assert cache.disk.hmac_secret == SECRET.encode()
            assert cache.get('signed') == {'a': 1}
            with pytest.raises(impl.core.UntrustedDataError):
                cache.get('evil')
        for name in env:
            monkeypatch.delenv(name)
    assert not os.path.exists(marker)
    # An explicit argument wins; disk_hmac_secret=None turns the
    # environment's secret off.
    monkeypatch.setenv('DISKCACHE_GO_HMAC_SECRET', 'another')
    with impl.Cache(directory, disk_hmac_secret=SECRET) as cache:
        assert cache.get('signed') == {'a': 1}
    with impl.Cache(directory, disk_hmac_secret=None) as cache:
        assert cache.disk.hmac_secret is None
    # FanoutCache and Django pass the settings on to every shard.
    with impl.FanoutCache(str(tmp_path / 'fanout'), disk_hmac_secret_file=path) as cache:
        cache.set(('t', 1), [1])
        assert cache.get(('t', 1)) == [1]
        assert cache.disk.hmac_secret == SECRET.encode()
    # Neither the secret nor where it came from is written to the directory.
    for root, _, files in os.walk(str(tmp_path)):
        for name in files:
            if os.path.join(root, name) == path:
                continue
            with open(os.path.join(root, name), 'rb') as reader:
                content = reader.read()
            assert SECRET.encode() not in content and path.encode() not in content, name


@needs_signing
def test_secret_sources_refused_with_clear_errors(tmp_path, no_secret_env):
    monkeypatch = no_secret_env
    directory = str(tmp_path / 'cache')
    path = secret_file(tmp_path, b'abc')
    with pytest.raises(ValueError, match='disk_hmac_secret or disk_hmac_secret_file, not both'):
        impl.Cache(directory, disk_hmac_secret='x', disk_hmac_secret_file=path)
    monkeypatch.setenv('DISKCACHE_GO_HMAC_SECRET', 'x')
    monkeypatch.setenv('DISKCACHE_GO_HMAC_SECRET_FILE', path)
    with pytest.raises(ValueError, match='DISKCACHE_GO_HMAC_SECRET or DISKCACHE_GO_HMAC_SECRET_FILE'):
        impl.Cache(directory)
    monkeypatch.delenv('DISKCACHE_GO_HMAC_SECRET')
    # Whoever can write the file chooses the secret.
    os.chmod(path, 0o666)
    with pytest.raises(ValueError, match='DISKCACHE_GO_HMAC_SECRET_FILE: refusing .*mode 0666'):
        impl.Cache(directory)
    os.chmod(path, 0o600)
    os.chmod(str(tmp_path), 0o777)
    try:
        with pytest.raises(ValueError, match='could put another directory in place'):
            impl.Cache(directory)
    finally:
        os.chmod(str(tmp_path), 0o700)
    monkeypatch.delenv('DISKCACHE_GO_HMAC_SECRET_FILE')
    with pytest.raises(ValueError, match='is empty'):
        impl.Cache(directory, disk_hmac_secret_file=secret_file(tmp_path, b'\n'))
    with pytest.raises(FileNotFoundError, match='disk_hmac_secret_file: could not read'):
        impl.Cache(directory, disk_hmac_secret_file=str(tmp_path / 'missing'))
    with pytest.raises(ValueError, match='disk_hmac_secret must be a non-empty'):
        impl.Cache(directory, disk_hmac_secret=b'')
