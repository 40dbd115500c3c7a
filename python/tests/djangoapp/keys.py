"""Key functions named by the test caches' ``KEY_FUNCTION``."""


def custom_key_func(key, key_prefix, version):
    """A key function unlike Django's default one."""
    return 'CUSTOM-' + '-'.join([key_prefix, str(version), key])
