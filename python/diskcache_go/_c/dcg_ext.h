/*
 * dcg_ext.h - what the C files of the diskcache_go._dcg extension share.
 *
 * The extension is built by cffi (python/diskcache_go/_ffi_build.py): its
 * generated module calls the wrappers declared here, and every .c file in
 * this directory is compiled alongside it. The ABI constants and layouts
 * come from capi/diskcache_go.h, the one place they are defined.
 *
 * Files:
 *   library.c     loads the Go library (dcg_load) and calls it through
 *                 pointers, so a forked child can load a fresh copy
 *   fast_common.c the thread's result buffer, little-endian helpers,
 *                 unpickling
 *   fast_get.c    Cache.get's fast path: one engine read, the value built
 *                 from the result header
 *   fast_write.c  Cache.set, delete and incr's fast path: one request
 *   fast_method.c the method descriptor that becomes Cache.get/set/
 *                 delete/incr and hands every unusual call to Python
 *   value_file.c  reading and checking a value file (the stock Disk's)
 */
#ifndef DCG_EXT_H
#define DCG_EXT_H

/* The stable ABI (abi3), as cffi chooses it for the generated module, so
   that every file of the extension sees the same Python API. */
#ifndef Py_LIMITED_API
#include <pyconfig.h>
#if !defined(Py_DEBUG) && !defined(Py_TRACE_REFS) && !defined(Py_REF_DEBUG) && !defined(Py_GIL_DISABLED)
#define Py_LIMITED_API
#endif
#endif
#include <Python.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define DCG_NO_PROTOTYPES
#include "diskcache_go.h"

/* Functions shared between the extension's files stay inside it. A
   Windows DLL exports only what is declared dllexport, and PE has no
   visibility attribute (mingw's gcc warns about it). */
#if defined(__GNUC__) && !defined(_WIN32)
#define DCG_INTERNAL __attribute__((visibility("hidden")))
#else
#define DCG_INTERNAL
#endif

/* In the stable ABI from 3.10 and exported by every CPython 3: declared
   here because the extension is compiled for the 3.9 stable ABI. */
#if !defined(Py_LIMITED_API) || Py_LIMITED_API + 0 < 0x030A0000
PyAPI_FUNC(const char *) PyUnicode_AsUTF8AndSize(PyObject *unicode, Py_ssize_t *size);
#endif

/* Every export of the Go library the extension calls, once: return type,
   name, parameters, arguments. library.c makes from it a pointer, a
   wrapper and a lookup for each; the declarations below are the wrappers
   cffi's module calls. They are capi/diskcache_go.h's prototypes with
   byte buffers as char *, as the cdef made from that header declares
   them (so that Python bytes pass without a copy): the generated module
   includes this file, so a prototype that disagrees with the header's
   fails to compile, and a function missing here is an implicit
   declaration (an error under -Werror) and an unresolved symbol. */
#define DCG_EXPORTS(X) \
    X(int, dcg_version, (void), ()) \
    X(int, dcg_open, (char *dir, int64_t dirlen, int64_t size_limit, int64_t cull_limit, int policy, double timeout, int file_mode, int dir_mode, int flags, int64_t compress_above, uint64_t *handle, char *out, int64_t outcap), (dir, dirlen, size_limit, cull_limit, policy, timeout, file_mode, dir_mode, flags, compress_above, handle, out, outcap)) \
    X(uint32_t, dcg_crc32, (uint32_t seed, char *buf, int64_t n), (seed, buf, n)) \
    X(int, dcg_mode, (uint64_t handle), (handle)) \
    X(int, dcg_close, (uint64_t handle), (handle)) \
    X(int, dcg_limits, (uint64_t handle, int64_t size_limit, int64_t cull_limit, int policy), (handle, size_limit, cull_limit, policy)) \
    X(int, dcg_get, (uint64_t handle, int kind, char *key, int64_t klen, double now, int flags, char *out, int64_t outcap), (handle, kind, key, klen, now, flags, out, outcap)) \
    X(int64_t, dcg_getv, (uint64_t handle, int kind, char *key, int64_t klen, double now, int flags, char *out, int64_t outcap), (handle, kind, key, klen, now, flags, out, outcap)) \
    X(int, dcg_contains, (uint64_t handle, int kind, char *key, int64_t klen, double now), (handle, kind, key, klen, now)) \
    X(int, dcg_info, (uint64_t handle, int64_t *info), (handle, info)) \
    X(int, dcg_reset_stats, (uint64_t handle), (handle)) \
    X(int, dcg_hit_was_miss, (uint64_t handle), (handle)) \
    X(int, dcg_keys, (uint64_t handle, uint32_t cur_id, uint64_t cur_rowid, uint64_t bound, int reverse, int max, char *out, int64_t outcap), (handle, cur_id, cur_rowid, bound, reverse, max, out, outcap)) \
    X(int, dcg_keys_sorted, (uint64_t handle, int has_after, int kind, char *key, int64_t klen, int reverse, int max, char *out, int64_t outcap), (handle, has_after, kind, key, klen, reverse, max, out, outcap)) \
    X(int, dcg_write, (uint64_t handle, int op, char *req, int64_t reqlen, char *out, int64_t outcap), (handle, op, req, reqlen, out, outcap)) \
    X(int, dcg_check, (uint64_t handle, uint64_t owner, double timeout, int fix, char *out, int64_t outcap), (handle, owner, timeout, fix, out, outcap)) \
    X(int, dcg_filesystem, (uint64_t handle, char *out, int64_t outcap), (handle, out, outcap)) \
    X(int, dcg_repair_note, (uint64_t handle, char *out, int64_t outcap), (handle, out, outcap)) \
    X(int, dcg_runtime, (int64_t *out), (out)) \
    X(int64_t, dcg_fds, (int32_t *fds, int64_t cap), (fds, cap)) \
    X(int, dcg_file_lock, (char *path, int64_t pathlen, double timeout, uint64_t *lock), (path, pathlen, timeout, lock)) \
    X(int, dcg_file_unlock, (uint64_t lock), (lock)) \
    X(int, dcg_others_can_write, (char *path, int64_t pathlen, char *out, int64_t outcap), (path, pathlen, out, outcap))

#define DCG_DECLARE(ret, name, params, args) DCG_INTERNAL ret name params;
DCG_EXPORTS(DCG_DECLARE)
#undef DCG_DECLARE

#ifdef _WIN32
#include <wchar.h>
/* The UTF-8 path (what os.fsencode makes on Windows) as a new wide
   string for the W functions, or NULL with errno set (library.c). */
DCG_INTERNAL wchar_t *dcg_widen(const char *utf8);
#endif

/* Points every wrapper at the library file at path; 0, or -1 with the
   reason in err. */
DCG_INTERNAL int dcg_load(char *path, char *err, int64_t errcap);

/* Installs fast_method and _read_file in the Python module named module
   (fast_method.c). */
DCG_INTERNAL int dcg_fast_register(char *module);

/* fast_common.c */

/* The size of each thread's result buffer. */
#define DCG_FAST_BUF (1 << 16)

/* The calling thread's result buffer (DCG_FAST_BUF bytes), or NULL when
   out of memory. */
DCG_INTERNAL unsigned char *fast_buffer(void);

/* Little-endian fields of the ABI's headers, whatever the CPU's order. */
static inline uint64_t get_le64(const unsigned char *p) {
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline void put_le64(unsigned char *p, uint64_t v) {
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void put_le32(unsigned char *p, uint32_t v) {
    int i;
    for (i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void put_f64(unsigned char *p, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    put_le64(p, v);
}

/* loads(b), or pickle.loads looked up in pickle_mod when loads is NULL;
   steals b. */
DCG_INTERNAL PyObject *dcg_fast_get(PyObject *self, PyObject *args);
DCG_INTERNAL PyObject *unpickle(PyObject *b, PyObject *loads, PyObject *pickle_mod);
/* Interned names the fast paths look up: "loads", "_key", "_fast" and
   "time". */
DCG_INTERNAL extern PyObject *str_loads, *str_key, *str_fast, *str_time;
/* Interns them; 0 on failure (an error set). */
DCG_INTERNAL int common_intern(void);

/* fast_method.c: the descriptor and what it hands its operations. */

enum { OP_GET_M = 0, OP_SET_M = 1, OP_DELETE_M = 2, OP_INCR_M = 3, OP_COUNT_M = 4 };

/* Vectorcall (PEP 590), stable since 3.8 but in the limited API only
   from 3.12: declared here as CPython defines it. The call
   `cache.get(key)` then passes its arguments as an array; through tp_call
   it built a tuple for them, 3-4% of a get (perf). */
typedef PyObject *(*dcg_vectorcallfunc)(PyObject *, PyObject *const *, size_t, PyObject *);

typedef struct {
    PyObject_HEAD
    int op;            /* OP_*_M */
    PyObject *func;    /* the Python method: every case */
    PyObject *general; /* get: Cache._get_general(self, key, default, read, expire_time, tag,
                          retry, count); set, delete, incr: Cache._fail_out(self, status, out, what) */
    PyObject *gen;     /* _ffi.GEN: [fork generation, epoch of the instances' _fast] */
    PyObject *time_mod;
    PyObject *pickle_mod;
    PyObject *time_fn;   /* time.time when the descriptor was made */
    PyObject *time_dict; /* time.__dict__: where a patched time.time is */
    /* The last instance's _fast: a weak reference to the instance (so a
       new object at a freed one's address is not taken for it), the
       tuple, and gen[1] when it was read (Cache._sync_fast replaces gen[1]
       whenever any instance's _fast changes). */
    PyObject *last_ref, *last_state, *last_epoch;
    dcg_vectorcallfunc vectorcall; /* fast_method_vcall: no argument tuple */
} FastMethod;

/* The fields of an instance's _fast tuple (Cache._sync_fast). */
enum {
    FAST_HANDLE = 0,     /* the engine handle */
    FAST_GEN = 1,        /* its fork generation */
    FAST_GET_FLAGS = 2,  /* DCG_GET_COUNT when statistics are on */
    FAST_TIMEOUT = 3,    /* the writer lock's timeout */
    FAST_MIN_FILE = 4,   /* the Disk's min_file_size */
    FAST_GET_OK = 5,     /* get may skip the Disk and does not write */
    FAST_DIR = 6,        /* the directory, bytes */
    FAST_FOLDERS = 7,    /* value folders found private (bytearray of 256), or None */
    FAST_FIELDS = 8
};

/* time.time(), or with lazy 1 (and the builtin clock) nothing: the engine
   reads the clock (DCG_GET_CLOCK_NOW). 0 with *now set, 1 for lazy, -1
   with an error set. */
DCG_INTERNAL int fast_now(FastMethod *m, double *now, int lazy);

/* fast_get.c: Cache.get(obj, key, default, ..., retry) with the
   parameters bound in p and obj's _fast in state. */
DCG_INTERNAL PyObject *fast_get_op(FastMethod *m, PyObject *obj, PyObject **p, PyObject *state);

/* fast_write.c: set, delete and incr the same way; NotImplemented (a new
   reference) when the Python method must run. */
DCG_INTERNAL PyObject *fast_write_op(FastMethod *m, PyObject *obj, PyObject **p, PyObject *state);

/* value_file.c */

/* The value of a get whose result header (in the thread's buffer) names a
   value file, or NotImplemented for the general path. */
DCG_INTERNAL PyObject *fast_file_value(PyObject *dir, PyObject *folders, PyObject *pickle_mod);
/* _read_file(path) -> (contents, crc) or (None, None). */
DCG_INTERNAL PyObject *dcg_read_file(PyObject *self, PyObject *path);

#endif /* DCG_EXT_H */
