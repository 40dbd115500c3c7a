"""Build the ``diskcache_go._dcg`` extension with cffi (API mode).

The extension is a shim of function pointers: ``dcg_load(path)`` dlopens
the Go library and fills them, and every other function calls through
them. A compiled cffi call costs a fraction of a ctypes call, and because
the Go library is loaded at run time rather than linked, a forked child can
load a fresh copy of it (the parent's Go runtime does not survive fork).

The C is in ``_c/*.c`` (``_c/dcg_ext.h`` says what each file holds); this
module only declares to cffi what Python may call, and makes that
declaration from ``capi/diskcache_go.h``, the one definition of the ABI:
its prototypes (with byte buffers as ``char *``, so that Python bytes pass
without a copy) and its constants (``#define NAME ...``: cffi asks the
compiler for their values, so Python reads them back from the module).

Run by ``setup.py``'s build step and by ``./build.sh build`` (through
``_build.py``); it needs cffi and a C compiler, which cgo needs anyway.
"""

import glob
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

#: The extension's C sources and their shared header.
C_DIR = os.path.join(HERE, '_c')

#: The directory of capi/diskcache_go.h: the checkout's or the sdist's
#: capi/, two levels above this file.
CAPI_DIR = os.path.normpath(os.path.join(HERE, '..', '..', 'capi'))

HEADER = os.path.join(CAPI_DIR, 'diskcache_go.h')

#: Declarations of the shim itself (_c/library.c, _c/fast_method.c), which
#: are not exports of the library.
SHIM_CDEF = '''
int dcg_load(char *path, char *err, int64_t errcap);
int dcg_fast_register(char *module);
'''

#: The compiler flags of the C sources (gcc and clang spell them so; MSVC
#: would not). The test command builds them again with -Werror (build.sh);
#: an installation does not, so that a newer compiler's new warning can not
#: stop a user's pip install.
CFLAGS = [] if sys.platform == 'win32' else ['-Wall', '-Wextra']


def read_header(path=HEADER):
    """The text of capi/diskcache_go.h, or a clear error when the source
    tree lacks it."""
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            'building the diskcache-go extension needs %s (the C ABI header); the source tree is '
            'incomplete' % path) from None


def _strip_comments(text):
    return re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)


def header_constants(text):
    """Every integer constant the header defines: ``#define DCG_*`` lines
    with a value and the members of its enums, in order."""
    text = _strip_comments(text)
    names = []
    for match in re.finditer(r'^#define\s+(DCG_[A-Z0-9_]+)[ \t]+\S', text, flags=re.M):
        names.append(match.group(1))
    for body in re.findall(r'\benum\s*\{(.*?)\}', text, flags=re.S):
        for item in body.split(','):
            item = item.strip()
            if item:
                names.append(item.split('=')[0].strip())
    return names


def header_structs(text):
    """The structs the header defines (the request and result headers),
    as they are written there."""
    return re.findall(r'^struct dcg_[a-z_]+ \{.*?^\};', _strip_comments(text), flags=re.S | re.M)


def header_prototypes(text):
    """The exported functions' prototypes, as cffi declarations: one line
    each, with byte buffers as ``char *``."""
    text = _strip_comments(text)
    start = text.index('#ifndef DCG_NO_PROTOTYPES')
    end = text.index('#endif', start)
    protos = []
    for decl in text[start:end].split(';'):
        decl = ' '.join(decl.replace('#ifndef DCG_NO_PROTOTYPES', '').split())
        if not decl:
            continue
        if not re.match(r'^[a-z0-9_]+ \*?dcg_[a-z0-9_]+\(.*\)$', decl):
            raise ValueError('capi/diskcache_go.h: not a prototype cffi can take: %r' % decl)
        decl = re.sub(r'\b(?:const )?unsigned char \*', 'char *', decl)
        protos.append(decl + ';')
    return protos


def cdef(text=None):
    """The whole cffi declaration: the header's prototypes and constants,
    and the shim's own functions."""
    if text is None:
        text = read_header()
    lines = header_structs(text) + header_prototypes(text)
    lines += ['#define %s ...' % name for name in header_constants(text)]
    return '\n'.join(lines) + SHIM_CDEF


def c_sources():
    """The extension's C files, in a stable order."""
    return sorted(glob.glob(os.path.join(C_DIR, '*.c')))


def ffibuilder(extra_cflags=()):
    """The cffi builder (``setup.py`` may also use it as a cffi_module)."""
    import cffi

    builder = cffi.FFI()
    builder.cdef(cdef())
    libraries = [] if sys.platform.startswith(('darwin', 'freebsd')) else ['dl']
    # The generated module includes the shared header, which declares the
    # wrappers it calls and includes capi/diskcache_go.h for the rest.
    builder.set_source(
        'diskcache_go._dcg', '#include "dcg_ext.h"\n',
        sources=c_sources(),
        include_dirs=[C_DIR, CAPI_DIR], libraries=libraries,
        extra_compile_args=CFLAGS + list(extra_cflags), py_limited_api=True)
    return builder


def build_extension(outdir, verbose=False, extra_cflags=()):
    """Compile the extension and copy it into ``outdir``; returns its path."""
    read_header()  # the clear error first
    builder = ffibuilder(extra_cflags)
    tmp = tempfile.mkdtemp(prefix='dcg-ffi-')
    try:
        built = builder.compile(tmpdir=tmp, verbose=verbose)
        os.makedirs(outdir, exist_ok=True)
        for old in glob.glob(os.path.join(outdir, '_dcg.*')):
            if old.endswith(('.so', '.pyd', '.dylib')):
                os.remove(old)
        target = os.path.join(outdir, os.path.basename(built))
        shutil.copy2(built, target)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    print(build_extension(sys.argv[1] if len(sys.argv) > 1 else HERE, verbose=True))
