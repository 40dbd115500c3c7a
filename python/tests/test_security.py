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
