"""The ``diskcache-go`` command line (also ``python -m diskcache_go``).

Each command is a function taking the parsed arguments and returning the
exit status: 0 for success, 1 for a failure a script may test for (a missing
key, warnings found by ``check``, or an error), 2 for a usage error.
"""

import argparse
import ast
import importlib
import importlib.util
import io
import json
import os
import os.path as op
import shutil
import sys
import tempfile
import time

from ._version import __version__
from .core import ENOVAL, Cache, Disk, JSONDisk, Timeout, UntrustedDataError, _settings_load
from .migrate import MigrationError, _split_disk_settings, human_bytes, inspect_source, migrate

__all__ = ['main']

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

_GO_MARKERS = ('cache.dcg', 'cache.dcg-settings')
_SUBSTORE_KINDS = ('cache', 'deque', 'index')
_TYPES = ('str', 'int', 'float', 'bytes', 'json', 'literal')

DESCRIPTION = """\
Inspect, script and migrate diskcache_go cache directories.

A directory may hold a Cache (or an Index or Deque, which are Caches) or a
FanoutCache (shard directories 000, 001, ...); every command finds out which.
"""

EPILOG = """\
exit status:
  0  success
  1  failure: the key is missing (get, delete), check found problems,
     or an error occurred (the message is on standard error)
  2  usage error: unknown command, bad option or bad argument

examples:
  %(prog)s migrate ~/.cache/old ~/.cache/new    # copy a python-diskcache directory
  %(prog)s stats ~/.cache/new                   # count, volume, hits, settings
  %(prog)s check ~/.cache/new --fix             # verify and repair
  %(prog)s set /tmp/c greeting hello --expire 60
  %(prog)s get /tmp/c greeting                  # prints: hello
  %(prog)s set /tmp/c --key-type int 7 42 --type int
  %(prog)s get /tmp/c image > image.png         # bytes are written raw
  %(prog)s keys /tmp/c --limit 10               # one repr() per line
  %(prog)s bench --quick                        # diskcache vs diskcache_go

Run '%(prog)s COMMAND --help' for the options of a command.
"""

TYPE_HELP = (
    'str (default): the text as is; int; float; bytes: the argument\'s bytes '
    '(os.fsencode); json: a JSON document; literal: a Python literal such as '
    "\"('a', 1)\" (what 'keys' prints reads back this way)"
)


class CommandError(Exception):
    """An error reported as ``error: message`` with exit status 1."""


class UsageError(Exception):
    """An error in the arguments, reported with exit status 2."""


# -- directories ---------------------------------------------------------------


def _has_go_cache(path):
    return any(op.isfile(op.join(path, name)) for name in _GO_MARKERS)


def _go_shards(path):
    count = 0
    while _has_go_cache(op.join(path, '%03d' % count)):
        count += 1
    return count


def detect(path):
    """What ``path`` holds.

    One of ``'missing'``, ``'not-dir'``, ``'empty'``, ``'cache'``,
    ``'fanout'`` (diskcache_go), ``'py-cache'``, ``'py-fanout'``
    (python-diskcache) or ``'unknown'``.
    """
    if not op.exists(path):
        return 'missing'
    if not op.isdir(path):
        return 'not-dir'
    if _has_go_cache(path):
        return 'cache'
    if _go_shards(path):
        return 'fanout'
    if op.isfile(op.join(path, 'cache.db')):
        return 'py-cache'
    if op.isfile(op.join(path, '000', 'cache.db')):
        return 'py-fanout'
    if not os.listdir(path):
        return 'empty'
    return 'unknown'


def _sub_stores(path):
    """Relative paths of the diskcache_go sub-stores of a FanoutCache."""
    found = []
    for kind in _SUBSTORE_KINDS:
        top = op.join(path, kind)
        if not op.isdir(top):
            continue
        for dirpath, dirnames, _ in os.walk(top):
            dirnames.sort()
            if _has_go_cache(dirpath):
                found.append(op.relpath(dirpath, path))
    return found


class _LenientDisk(Disk):
    """The stock Disk, keeping unknown ``disk_*`` settings as attributes."""

    def __init__(self, directory, **settings):
        known, extra = _split_disk_settings(settings)
        super().__init__(directory, **known)
        for name, value in extra.items():
            setattr(self, name, value)


def _disk_class(directory):
    """The Disk class a cache directory's persisted settings call for.

    A ``disk_compress_level`` setting means the cache was made with
    `JSONDisk`; other unknown ``disk_*`` settings are kept but ignored.
    """
    try:
        settings = _settings_load(directory)
    except Exception:  # noqa: BLE001 - opening the cache reports it better
        return Disk
    disk_settings = {key[5:]: value for key, value in settings.items() if key.startswith('disk_')}
    extra = set(_split_disk_settings(disk_settings)[1])
    if not extra:
        return Disk
    if extra == {'compress_level'}:
        return JSONDisk
    return _LenientDisk


def _open_cache(directory):
    return Cache(directory, disk=_disk_class(directory))


class Store:
    """A Cache or FanoutCache directory opened without changing its settings.

    A FanoutCache is opened shard by shard (opening a ``FanoutCache`` object
    would rewrite each shard's ``size_limit``); keys are routed as
    FanoutCache routes them.
    """

    def __init__(self, path, create=False):
        kind = detect(path)
        if kind in ('missing', 'empty') and create:
            kind = 'cache'
        elif kind == 'missing':
            raise CommandError('%s does not exist' % path)
        elif kind == 'not-dir':
            raise CommandError('%s is not a directory' % path)
        elif kind == 'empty':
            raise CommandError('%s is empty: not a cache directory' % path)
        elif kind in ('py-cache', 'py-fanout'):
            raise CommandError(
                '%s is a python-diskcache directory; copy it with: diskcache-go migrate %s NEW_DIR'
                % (path, path)
            )
        elif kind == 'unknown':
            raise CommandError('%s is not a cache directory' % path)
        self.path = path
        self.kind = kind
        if kind == 'cache':
            self.caches = [_open_cache(path)]
        else:
            self.caches = [_open_cache(op.join(path, '%03d' % n)) for n in range(_go_shards(path))]

    def route(self, key):
        caches = self.caches
        if len(caches) == 1:
            return caches[0]
        return caches[caches[0].disk.hash(key) % len(caches)]

    def keys(self):
        for cache in self.caches:
            yield from cache

    def close(self):
        for cache in self.caches:
            cache.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- values --------------------------------------------------------------------


def parse_typed(text, kind, what):
    """Convert a command-line argument to a key or value of type ``kind``."""
    try:
        if kind == 'str':
            return text
        if kind == 'int':
            return int(text)
        if kind == 'float':
            return float(text)
        if kind == 'bytes':
            return text if isinstance(text, bytes) else os.fsencode(text)
        if kind == 'json':
            return json.loads(text)
        if kind == 'literal':
            return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as error:
        raise UsageError('%s %r is not a valid %s: %s' % (what, _short(text), kind, error)) from None
    raise UsageError('unknown type %r' % kind)  # pragma: no cover (argparse checks choices)


def _short(text, limit=60):
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= limit else text[:limit] + '...'


def _stdout_binary():
    stream = sys.stdout
    buffer = getattr(stream, 'buffer', None)
    stream.flush()
    return buffer


def write_value(value, kind):
    """Print a value: str as is, bytes raw, anything else as repr.

    ``kind`` (the ``--type`` of ``get``) asks for one representation and
    fails (CommandError) if the value cannot be shown that way.
    """
    if kind in (None, 'auto'):
        if isinstance(value, (bytes, bytearray)):
            _write_bytes(bytes(value))
        elif isinstance(value, str):
            print(value)
        else:
            print(repr(value))
        return
    if kind == 'str':
        print(value.decode('utf-8', 'surrogateescape') if isinstance(value, bytes) else str(value))
    elif kind == 'bytes':
        if isinstance(value, (bytes, bytearray)):
            _write_bytes(bytes(value))
        elif isinstance(value, str):
            _write_bytes(value.encode('utf-8', 'surrogateescape'))
        else:
            raise CommandError('the value is a %s, not bytes or str' % type(value).__name__)
    elif kind in ('int', 'float'):
        convert = int if kind == 'int' else float
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CommandError('the value is a %s, not a number' % type(value).__name__)
        print(convert(value))
    elif kind == 'json':
        try:
            print(json.dumps(value, ensure_ascii=False))
        except (TypeError, ValueError) as error:
            raise CommandError('the value cannot be written as JSON: %s' % error) from None
    elif kind == 'literal':
        print(repr(value))


def _write_bytes(data):
    buffer = _stdout_binary()
    if buffer is None:
        sys.stdout.write(data.decode('latin-1'))
    else:
        buffer.write(data)
        buffer.flush()


# -- commands ------------------------------------------------------------------


def cmd_stats(args):
    path = args.directory
    kind = detect(path)
    if kind in ('py-cache', 'py-fanout'):
        info = inspect_source(path)
        volume = 0
        shards = ['%03d' % n for n in range(info['shards'])] or ['']
        for shard in shards:
            volume += op.getsize(op.join(path, shard, 'cache.db'))
        report = {
            'directory': op.abspath(path),
            'format': 'python-diskcache',
            'kind': info['kind'],
            'shards': info['shards'],
            'count': info['count'],
            'volume': volume + info['size'],
            'hits': info['hits'],
            'misses': info['misses'],
            'settings': info['settings'],
            'stores': info['stores'],
        }
    else:
        with Store(path) as store:
            caches = store.caches
            settings = _settings_of(caches[0])
            if store.kind == 'fanout':
                settings['size_limit'] = sum(c.reset('size_limit') for c in caches)
            report = {
                'directory': op.abspath(path),
                'format': 'diskcache_go',
                'kind': 'FanoutCache' if store.kind == 'fanout' else 'Cache',
                'shards': len(caches) if store.kind == 'fanout' else 0,
                'count': sum(len(c) for c in caches),
                'volume': sum(c.volume() for c in caches),
                'hits': sum(c.reset('hits') for c in caches),
                'misses': sum(c.reset('misses') for c in caches),
                'settings': settings,
                'stores': _sub_stores(path) if store.kind == 'fanout' else [],
            }
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True, default=repr))
        return EXIT_OK
    kind_text = '%s (%s)' % (report['kind'], report['format'])
    if report['shards']:
        kind_text += ', %d shards' % report['shards']
    print('directory: %s' % report['directory'])
    print('kind:      %s' % kind_text)
    print('count:     %d items (expired ones included)' % report['count'])
    print('volume:    %d bytes (%s)' % (report['volume'], human_bytes(report['volume'])))
    lookups = report['hits'] + report['misses']
    ratio = ' (%.1f%% hits)' % (100.0 * report['hits'] / lookups) if lookups else ''
    print('hits:      %d' % report['hits'])
    print('misses:    %d%s' % (report['misses'], ratio))
    if report['stores']:
        print('sub-stores: %s' % ', '.join(report['stores']))
    print('settings:')
    width = max((len(k) for k in report['settings']), default=0)
    for key in sorted(report['settings']):
        print('  %-*s  %r' % (width, key, report['settings'][key]))
    if report['format'] == 'python-diskcache':
        print('(a python-diskcache directory: copy it with "migrate %s NEW_DIR")' % path)
    return EXIT_OK


def _settings_of(cache):
    return _settings_load(cache.directory)  # the persisted settings, as they are


def cmd_check(args):
    path = args.directory
    with Store(path) as store:
        directories = [c.directory for c in store.caches]
        store_dirs = list(directories)
        if store.kind == 'fanout':
            store_dirs += [op.join(path, rel) for rel in _sub_stores(path)]
        count = 0
        for directory in store_dirs:
            if directory in directories:
                cache = store.caches[directories.index(directory)]
            else:
                cache = _open_cache(directory)
            found = cache.check(fix=args.fix)
            for warning in found:
                count += 1
                where_prefix = '%s: ' % op.relpath(directory, path) if len(store_dirs) > 1 else ''
                print('%s%s: %s' % (where_prefix, warning.category.__name__, warning.message))
            if directory not in directories:
                cache.close()
    where = '%d cache director%s' % (len(store_dirs), 'y' if len(store_dirs) == 1 else 'ies')
    if count:
        verb = 'repaired' if args.fix else 'found'
        print('%d problem%s %s in %s' % (count, '' if count == 1 else 's', verb, where), file=sys.stderr)
        return EXIT_FAILURE
    print('ok: no problems in %s' % where, file=sys.stderr)
    return EXIT_OK


def cmd_migrate(args):
    show_progress = not args.quiet and (args.progress or sys.stderr.isatty())
    summary = migrate(args.source, args.destination, drop=args.drop, force=args.force,
                      progress=show_progress, stream=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2, sort_keys=True))
    elif not args.quiet:
        print(summary.format())
    return EXIT_OK


def cmd_get(args):
    key = parse_typed(args.key, args.key_type, 'key')
    with Store(args.directory) as store:
        cache = store.route(key)
        # read=True streams file-backed bytes (only the stock Disk's fetch
        # returns the stored value unchanged that way; JSONDisk's does not).
        streaming = args.type in (None, 'auto', 'bytes') and type(cache.disk) in (Disk, _LenientDisk)
        value = cache.get(key, default=ENOVAL, read=streaming)
        if value is ENOVAL:
            print('key not found: %r' % (key,), file=sys.stderr)
            return EXIT_FAILURE
        if isinstance(value, io.IOBase):
            # A file-backed bytes value: copied to stdout, never held whole.
            with value:
                buffer = _stdout_binary()
                if buffer is None:
                    write_value(value.read(), args.type)
                else:
                    shutil.copyfileobj(value, buffer, 2**20)
                    buffer.flush()
            return EXIT_OK
        write_value(value, args.type)
    return EXIT_OK


def cmd_set(args):
    key = parse_typed(args.key, args.key_type, 'key')
    if args.value == '-':
        raw = sys.stdin.buffer.read() if args.type == 'bytes' else sys.stdin.read()
        value = parse_typed(raw, args.type, 'value')
    else:
        value = parse_typed(args.value, args.type, 'value')
    if args.expire is not None and args.expire <= 0:
        raise UsageError('--expire must be a positive number of seconds')
    with Store(args.directory, create=True) as store:
        try:
            store.route(key).set(key, value, expire=args.expire, tag=args.tag)
        except (TypeError, ValueError, OverflowError) as error:
            raise CommandError('cannot store %r: %s' % (key, error)) from None
    return EXIT_OK


def cmd_delete(args):
    key = parse_typed(args.key, args.key_type, 'key')
    with Store(args.directory) as store:
        if not store.route(key).delete(key):
            print('key not found: %r' % (key,), file=sys.stderr)
            return EXIT_FAILURE
    return EXIT_OK


def cmd_keys(args):
    if args.limit is not None and args.limit < 0:
        raise UsageError('--limit must be 0 or more')
    with Store(args.directory) as store:
        shown = 0
        for key in store.keys():
            if args.limit is not None and shown >= args.limit:
                break
            print(repr(key))
            shown += 1
    return EXIT_OK


# -- bench ---------------------------------------------------------------------


def _bench_script():
    """``benchmarks/bench_basic.py`` of a source checkout, if there is one."""
    here = op.dirname(op.abspath(__file__))
    path = op.join(op.dirname(op.dirname(here)), 'benchmarks', 'bench_basic.py')
    return path if op.isfile(path) else None


def _load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cmd_bench(args):
    script = None if args.builtin else _bench_script()
    if script is not None:
        module = _load_module('_diskcache_go_bench_basic', script)
        if args.quick:
            argv = ['--rounds', '3', '--ops', '300', '--keys', '1000', '--warmup', '1']
        else:
            argv = ['--rounds', '5', '--ops', '1000', '--keys', '5000']
        print('running %s %s' % (script, ' '.join(argv)), file=sys.stderr)
        return module.main(argv)
    return _builtin_bench(args.ops or (1000 if args.quick else 5000))


def _builtin_bench(ops):
    impls = []
    for name in ('diskcache', 'diskcache_go'):
        try:
            module = importlib.import_module(name)
        except ImportError:
            print('note: %s is not installed; skipped' % name, file=sys.stderr)
            continue
        impls.append((name, module))
    value = b'v' * 1024
    keys = ['key-%06d' % n for n in range(ops)]
    missing = ['missing-%06d' % n for n in range(ops)]
    operations = (
        ('set (new key)', lambda c: [c.set(k, value) for k in keys]),
        ('set (overwrite)', lambda c: [c.set(k, value) for k in keys]),
        ('get (hit)', lambda c: [c.get(k) for k in keys]),
        ('get (miss)', lambda c: [c.get(k) for k in missing]),
        ('delete', lambda c: [c.delete(k) for k in keys]),
    )
    results = {}
    parent = tempfile.mkdtemp(prefix='diskcache-go-bench-')
    try:
        for name, module in impls:
            cache = module.Cache(op.join(parent, name))
            try:
                for title, run in operations:
                    start = time.perf_counter()
                    run(cache)
                    results[name, title] = (time.perf_counter() - start) / ops * 1e6
            finally:
                cache.close()
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    names = [name for name, _ in impls]
    print('%d ops per operation, 1 KiB bytes values, microseconds per op' % ops)
    header = '%-16s' % 'operation' + ''.join('%14s' % n for n in names)
    if len(names) == 2:
        header += '%10s' % 'speed-up'
    print(header)
    for title, _ in operations:
        line = '%-16s' % title + ''.join('%14.1f' % results[n, title] for n in names)
        if len(names) == 2:
            line += '%9.1fx' % (results[names[0], title] / max(results[names[1], title], 1e-9))
        print(line)
    if len(names) == 2:
        print('speed-up = diskcache / diskcache_go (above 1: diskcache_go is faster)')
    return EXIT_OK


# -- parser --------------------------------------------------------------------


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the text's line breaks; lists the commands without the
    metavar line argparse puts above them."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=32)

    def _format_action(self, action):
        text = super()._format_action(action)
        if action.nargs == argparse.PARSER:
            first, _, rest = text.partition('\n')
            if first.strip() == action.metavar:
                text = rest
        return text


_formatter = _Formatter


def _int_at_least(minimum):
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError('%r is not a whole number' % text) from None
        if value < minimum:
            raise argparse.ArgumentTypeError('must be %d or more' % minimum)
        return value

    return parse


_positive_int = _int_at_least(1)
_nonnegative_int = _int_at_least(0)


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a number of seconds' % text) from None
    if not value > 0:
        raise argparse.ArgumentTypeError('must be a positive number of seconds')
    return value


def build_parser(prog='diskcache-go'):
    """The argument parser of the command line."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG % {'prog': prog},
                                     formatter_class=_formatter)
    parser.add_argument('--version', action='version', version='%(prog)s ' + __version__)
    commands = parser.add_subparsers(dest='command', title='commands', metavar='COMMAND')

    def command(name, func, summary, description, epilog=''):
        sub = commands.add_parser(name, help=summary, description=description,
                                  epilog=epilog % {'prog': prog} if epilog else None,
                                  formatter_class=_formatter)
        sub.set_defaults(func=func)
        return sub

    def key_type(sub):
        sub.add_argument('-k', '--key-type', choices=_TYPES, default='str', metavar='TYPE',
                         help='how to read KEY: ' + TYPE_HELP)

    sub = command(
        'stats', cmd_stats, 'show item count, disk volume, hits/misses and settings',
        'Show the number of items, the estimated bytes on disk, the hit and miss counts\n'
        'and the settings of a Cache or FanoutCache directory. A python-diskcache\n'
        'directory is read (read-only) too, to see what a migration would copy.',
        'examples:\n  %(prog)s stats ~/.cache/app\n  %(prog)s stats ~/.cache/app --json | jq .count\n')
    sub.add_argument('directory', metavar='DIR', help='cache directory')
    sub.add_argument('--json', action='store_true', help='print the statistics as JSON')

    sub = command(
        'check', cmd_check, 'verify a cache directory (repair it with --fix)',
        'Verify the index, the value files and the directory tree of a cache (every\n'
        'shard and sub-store of a FanoutCache). Problems are printed one per line.\n'
        'Exit status 0: no problems; 1: problems were found (with --fix: and repaired).',
        'examples:\n  %(prog)s check ~/.cache/app || %(prog)s check ~/.cache/app --fix\n')
    sub.add_argument('directory', metavar='DIR', help='cache directory')
    sub.add_argument('--fix', action='store_true',
                     help='repair what can be repaired: drop entries whose file is gone, '
                          'fix sizes and counters, delete unknown files and empty directories')

    sub = command(
        'migrate', cmd_migrate, 'copy a python-diskcache directory into a diskcache_go one',
        'Copy a python-diskcache Cache, FanoutCache, Index or Deque directory into a new\n'
        'diskcache_go directory: every live item with its key, value, remaining expiry,\n'
        'tag and insertion order, the value files, and the settings. python-diskcache\n'
        'need not be installed. The source is only read, and stays byte-for-byte the\n'
        'same, unless --drop is given. Stop the programs using the source first.',
        'examples:\n'
        '  %(prog)s migrate ~/.cache/app ~/.cache/app-go\n'
        '  %(prog)s migrate old new --drop --quiet   # move the items, print nothing\n'
        '  %(prog)s migrate old new --json           # the summary as JSON\n')
    sub.add_argument('source', metavar='SRC', help='python-diskcache directory to copy')
    sub.add_argument('destination', metavar='DST', help='diskcache_go directory to create (missing or empty)')
    sub.add_argument('--drop', action='store_true',
                     help='delete each item (and its file) from the source once it is copied; '
                          'expired items are deleted too')
    sub.add_argument('--force', action='store_true', help='write into a non-empty destination')
    sub.add_argument('--progress', action='store_true',
                     help='draw a progress bar on standard error even if it is not a terminal')
    sub.add_argument('-q', '--quiet', action='store_true', help='no progress bar and no summary')
    sub.add_argument('--json', action='store_true', help='print the summary as JSON')

    sub = command(
        'bench', cmd_bench, 'short side-by-side benchmark of diskcache and diskcache_go',
        'Time basic operations (set, get, delete) on diskcache (the reference, if it is\n'
        'installed) and diskcache_go, side by side. In a source checkout this runs\n'
        'benchmarks/bench_basic.py with short settings; elsewhere a small built-in loop.')
    sub.add_argument('--quick', action='store_true', help='fewer operations: a few seconds')
    sub.add_argument('--builtin', action='store_true', help='use the built-in loop even in a checkout')
    sub.add_argument('--ops', type=_positive_int, metavar='N',
                     help='operations per measurement for the built-in loop (default 5000, 1000 with --quick)')

    sub = command(
        'get', cmd_get, 'print the value of a key',
        'Print the value of KEY: a str as is (with a newline), bytes raw (binary safe,\n'
        'with no newline; big file-backed values are streamed), anything else as its\n'
        'repr(). Exit status 1 (and a message on standard error) if the key is missing\n'
        'or expired.',
        'examples:\n'
        '  %(prog)s get ~/.cache/app user:42\n'
        '  %(prog)s get ~/.cache/app --key-type int 7 --type json\n'
        '  %(prog)s get ~/.cache/app --key-type literal "(\'f\', 1)"\n'
        '  %(prog)s get ~/.cache/app image > image.png\n')
    sub.add_argument('directory', metavar='DIR', help='cache directory')
    sub.add_argument('key', metavar='KEY', help='the key (see --key-type)')
    key_type(sub)
    sub.add_argument('-t', '--type', choices=('auto',) + _TYPES, default='auto', metavar='TYPE',
                     help='how to print the value: auto (default, as above); str; bytes: raw '
                          '(str as UTF-8); int; float; json; literal: repr(). Exit status 1 if '
                          'the value cannot be printed so')

    sub = command(
        'set', cmd_set, 'store a value under a key',
        'Store VALUE under KEY, creating the cache directory if it does not exist.\n'
        'VALUE "-" reads the value from standard input (raw bytes with --type bytes).',
        'examples:\n'
        '  %(prog)s set /tmp/c greeting hello\n'
        '  %(prog)s set /tmp/c --key-type int 7 \'{"a": [1, 2]}\' --type json --expire 3600\n'
        '  %(prog)s set /tmp/c image - --type bytes < image.png\n'
        '  %(prog)s set /tmp/c session abc --tag login\n')
    sub.add_argument('directory', metavar='DIR', help='cache directory (created if missing)')
    sub.add_argument('key', metavar='KEY', help='the key (see --key-type)')
    sub.add_argument('value', metavar='VALUE', help='the value (see --type), or - for standard input')
    key_type(sub)
    sub.add_argument('-t', '--type', choices=_TYPES, default='str', metavar='TYPE',
                     help='how to read VALUE: the same types as --key-type (default str)')
    sub.add_argument('-e', '--expire', type=_seconds, metavar='S', help='seconds until the item expires')
    sub.add_argument('--tag', metavar='T', help='a tag (a str) for the item, for evict()')

    sub = command(
        'delete', cmd_delete, 'delete a key',
        'Delete KEY. Exit status 1 (and a message on standard error) if it is missing\n'
        'or expired.',
        'examples:\n  %(prog)s delete ~/.cache/app user:42\n')
    sub.add_argument('directory', metavar='DIR', help='cache directory')
    sub.add_argument('key', metavar='KEY', help='the key (see --key-type)')
    key_type(sub)

    sub = command(
        'keys', cmd_keys, 'list keys in insertion order',
        'Print the keys of a cache, one repr() per line, in insertion order (for a\n'
        'FanoutCache: shard by shard). Expired items not yet removed are included.\n'
        "A line reads back as a key with --key-type literal.",
        'examples:\n  %(prog)s keys ~/.cache/app --limit 20\n  %(prog)s keys ~/.cache/app | wc -l\n')
    sub.add_argument('directory', metavar='DIR', help='cache directory')
    sub.add_argument('-n', '--limit', type=_nonnegative_int, metavar='N', help='print at most N keys')
    return parser


def _default_prog():
    name = op.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ''
    if name in ('__main__.py', '-m', '-c', ''):
        return 'python -m diskcache_go'
    return 'diskcache-go'


def main(argv=None, prog=None):
    """Run the command line; returns the exit status (0, 1 or 2)."""
    parser = build_parser(prog or _default_prog())
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:
        # --help and --version exit 0; argparse's usage errors exit 2.
        return exit.code if isinstance(exit.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    error_prefix = '%s %s: error: ' % (parser.prog, args.command)
    try:
        return args.func(args)
    except UsageError as error:
        print(error_prefix + str(error), file=sys.stderr)
        return EXIT_USAGE
    except (CommandError, MigrationError) as error:
        print(error_prefix + str(error), file=sys.stderr)
        return EXIT_FAILURE
    except Timeout:
        print(error_prefix + 'timed out waiting for the writer lock of the cache', file=sys.stderr)
        return EXIT_FAILURE
    except UntrustedDataError as error:
        # A refused pickle (a shared cache, or a failed signature): the
        # message says why and how to share the cache safely.
        print(error_prefix + str(error), file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader went away (say 'keys DIR | head'): not an error. Later
        # writes (the interpreter's final flush) go nowhere.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return EXIT_OK
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except OSError as error:
        print(error_prefix + str(error), file=sys.stderr)
        return EXIT_FAILURE
