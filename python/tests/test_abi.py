"""The ABI is defined once, in capi/diskcache_go.h: these tests fail if any
copy Python or C uses disagrees with it.

* every constant the header defines, evaluated from the header's text here,
  is the value the compiled extension reports (a stale build, or a cdef
  that lost a name, fails);
* the request and result layouts Python packs are the header's structs,
  field by field;
* the Python modules and the C files of the extension define no ABI number
  of their own.

The Go side takes the same header through cgo (capi/abi.go), and
capi/abi_test.go checks it against core's numbers.
"""

import ast
import os
import re

import pytest

pytest.importorskip('diskcache_go._dcg', reason='the extension is not built (./build.sh build)')

from diskcache_go import _binding, _ffi, _ffi_build  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, 'python', 'diskcache_go')
HEADER = os.path.join(ROOT, 'capi', 'diskcache_go.h')


def header_text():
    with open(HEADER, encoding='utf-8') as f:
        return f.read()


def header_values():
    """{name: value} of every #define and enum member of the header,
    evaluated independently of cffi."""
    text = re.sub(r'/\*.*?\*/', ' ', header_text(), flags=re.S)
    values = {}
    for name, expr in re.findall(r'^#define\s+(DCG_[A-Z0-9_]+)[ \t]+(.+?)\s*$', text, flags=re.M):
        values[name] = eval(expr, {})  # integer expressions: 7, (1 << 26), (-1), 0xFF
    for body in re.findall(r'\benum\s*\{(.*?)\}', text, flags=re.S):
        following = 0
        for item in body.split(','):
            item = item.strip()
            if not item:
                continue
            name, _, expr = (part.strip() for part in item.partition('='))
            value = eval(expr, dict(values)) if expr else following
            values[name] = value
            following = value + 1
    return values


def test_header_has_the_constants_python_uses():
    values = header_values()
    assert len(values) > 80
    for name in ('DCG_OK', 'DCG_WOULDBLOCK', 'DCG_OP_SET', 'DCG_OP_COMPACT', 'DCG_RQ_PREFIX', 'DCG_KIND_PICKLE',
                 'DCG_VALUE_PICKLE', 'DCG_GET_CLOCK_NOW', 'DCG_RESULT_DATA', 'DCG_KIND_OTHERS_WROTE'):
        assert name in values, name


def test_every_header_constant_is_the_compiled_value():
    """The module was built from this header, and its cdef lost no name."""
    for name, value in header_values().items():
        assert getattr(_ffi._C, name) == value, name


def test_cdef_names_every_constant_and_export():
    text = header_text()
    cdef = _ffi_build.cdef(text)
    for name in header_values():
        assert '#define %s ...' % name in cdef, name
    exports = re.findall(r'^\w+ \*?(dcg_\w+)\(', re.sub(r'/\*.*?\*/', ' ', text, flags=re.S), flags=re.M)
    assert len(exports) == 23
    for name in exports:
        assert callable(getattr(_ffi._C, name)), name


def test_python_constants_are_the_headers():
    values = header_values()
    pairs = {
        'OK': 'DCG_OK', 'NOTFOUND': 'DCG_NOTFOUND', 'EXISTS': 'DCG_EXISTS', 'TIMEOUT': 'DCG_TIMEOUT',
        'CLOSED': 'DCG_CLOSED', 'CORRUPT': 'DCG_CORRUPT', 'INVALID': 'DCG_INVALID', 'FULL': 'DCG_FULL',
        'PERMISSION': 'DCG_PERMISSION', 'NOTNUMERIC': 'DCG_NOTNUMERIC', 'OVERFLOW': 'DCG_OVERFLOW',
        'SHORTBUF': 'DCG_SHORTBUF', 'NOTOWNER': 'DCG_NOTOWNER', 'IO': 'DCG_IO', 'PANIC': 'DCG_PANIC',
        'WOULDBLOCK': 'DCG_WOULDBLOCK', 'K_NULL': 'DCG_KIND_NULL', 'K_INT': 'DCG_KIND_INT',
        'K_FLOAT': 'DCG_KIND_FLOAT', 'K_TEXT': 'DCG_KIND_TEXT', 'K_BLOB': 'DCG_KIND_BLOB',
        'K_PICKLE': 'DCG_KIND_PICKLE', 'OTHERS_WROTE': 'DCG_KIND_OTHERS_WROTE', 'OUT_DATA': 'DCG_RESULT_DATA',
        'ABI_VERSION': 'DCG_ABI_VERSION', 'INFO_FIELDS': 'DCG_INFO_FIELDS', 'GET_COUNT': 'DCG_GET_COUNT',
        'MODE_WAS_RESET': 'DCG_MODE_WAS_RESET', 'HAS_TAG': 'DCG_KINDS_HAS_TAG',
        'HAS_EXPIRE': 'DCG_KINDS_HAS_EXPIRE',
    }
    for attr in dir(_ffi):
        if attr.startswith(('OP_', 'RQ_', 'OPEN_')):
            pairs[attr] = 'DCG_' + attr
    for attr, name in pairs.items():
        assert getattr(_ffi, attr) == values[name], attr
    from diskcache_go import core
    for mode in ('NONE', 'RAW', 'BINARY', 'TEXT', 'PICKLE'):
        assert getattr(core, 'MODE_' + mode) == values['DCG_VALUE_' + mode]
    assert _ffi.POLICIES == {
        'least-recently-stored': values['DCG_LEAST_RECENTLY_STORED'], 'none': values['DCG_NONE'],
        'least-recently-used': values['DCG_LEAST_RECENTLY_USED'],
        'least-frequently-used': values['DCG_LEAST_FREQUENTLY_USED'],
    }
    assert _ffi.ABI_VERSION == _ffi.lib().dcg_version()


def header_struct_fields(name):
    text = re.sub(r'/\*.*?\*/', ' ', header_text(), flags=re.S)
    body = re.search(r'struct %s \{(.*?)\};' % name, text, flags=re.S).group(1)
    fields = []
    for decl in body.split(';'):
        decl = decl.strip()
        if decl:
            ctype, names = decl.split(None, 1)
            fields += [(ctype, n.strip()) for n in names.split(',')]
    return fields


@pytest.mark.parametrize('struct_name, packer', [('dcg_request', _ffi.REQ), ('dcg_result', _ffi.OUT)])
def test_layouts_are_the_headers_structs(struct_name, packer):
    sizes = {'uint64_t': 8, 'int64_t': 8, 'double': 8, 'uint32_t': 4, 'uint8_t': 1}
    fields = header_struct_fields(struct_name)
    offset = 0
    codes = ''
    for ctype, field in fields:
        assert _ffi.ffi.offsetof('struct ' + struct_name, field) == offset, field
        offset += sizes[ctype]
        codes += {'uint64_t': 'Q', 'int64_t': 'q', 'double': 'd', 'uint32_t': 'I', 'uint8_t': 'B'}[ctype]
    assert _ffi.ffi.sizeof('struct ' + struct_name) == offset == packer.size
    assert packer.format == '<' + codes


def test_a_packed_request_reads_back_through_the_struct():
    req = _binding.request(_ffi.OP_SET, 1.5, 2.5, (_ffi.K_TEXT, b'key'), (_ffi.K_BLOB, b'value'),
                           _ffi.MODE_RAW, b'', 0, (_ffi.K_INT, b'\x01' + b'\x00' * 7), 9.5, 0)
    c = _ffi.ffi.cast('struct dcg_request *', _ffi.ffi.from_buffer(req))
    assert (c.timeout, c.now, c.expire) == (1.5, 2.5, 9.5)
    assert c.flags == _ffi.RQ_TAG | _ffi.RQ_EXPIRE
    assert (c.key_kind, c.value_kind, c.mode, c.tag_kind) == (_ffi.K_TEXT, _ffi.K_BLOB, _ffi.MODE_RAW, _ffi.K_INT)
    assert (c.key_len, c.value_len, c.tag_len, c.file_len) == (3, 5, 8, 0)
    assert req[_ffi.REQ.size:] == b'keyvalue\x01' + b'\x00' * 7


# Module-level numbers the Python modules may define, none of them the
# ABI's: a buffer size, the int64 range, the default permissions of what a
# cache creates and the size of the tuple-key memo. Any other number a
# module assigns fails the test below: an ABI number belongs in the header.
OWN_NUMBERS = {'BUFSIZE', '_INT64_MIN', '_INT64_MAX', 'FILE_MODE', 'DIR_MODE', '_MEMO_SIZE'}


@pytest.mark.parametrize('module', ['_ffi.py', '_binding.py', '_cache.py', '_settings.py', 'core.py'])
def test_python_modules_define_no_abi_numbers(module):
    with open(os.path.join(PACKAGE, module), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    header_names = {name[4:] for name in header_values()}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or not isinstance(node.targets[0], ast.Name):
            continue
        name = node.targets[0].id
        literal = isinstance(node.value, ast.Constant) and type(node.value.value) is int
        literal = literal or (isinstance(node.value, ast.BinOp) and all(
            isinstance(side, ast.Constant) for side in (node.value.left, node.value.right)))
        if literal:
            assert name in OWN_NUMBERS, '%s defines %s = a number of its own' % (module, name)
        assert not (literal and name.lstrip('_') in header_names), name


def test_c_files_define_no_header_constant():
    names = set(header_values())
    for filename in os.listdir(os.path.join(PACKAGE, '_c')):
        with open(os.path.join(PACKAGE, '_c', filename), encoding='utf-8') as f:
            text = f.read()
        assert '#include "diskcache_go.h"' in text or '#include "dcg_ext.h"' in text, filename
        for defined in re.findall(r'^#define\s+(\w+)', text, flags=re.M):
            assert defined not in names, '%s defines %s, which the header defines' % (filename, defined)
        assert not re.search(r'\bcase 0[0-7]+:', text), '%s: a kind or mode written as a number' % filename
