/*
 * value_file.c - reading a value file: _ffi.read_file, which Disk.fetch
 * uses for every file it reads, and fast_file_value, which lets the C get
 * return the stock Disk's plain file values without a trip through Python.
 *
 * fast_file_value takes only the case it can vouch for (a name of the
 * current form whose CRC matches, a private file and folder for a pickle)
 * and hands every other case to Disk.fetch through the general path, so
 * that each unusual case is judged in one place.
 *
 * Files are read through the C library's descriptors: open, fstat and
 * pread on POSIX; on Windows the CRT's _wopen (the UTF-8 path made wide),
 * _fstat64, and _lseeki64 + _read (the descriptor is this call's alone, so
 * a seek before each read does what pread does).
 */
#include "dcg_ext.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#ifdef _WIN32
#include <io.h>
#include <stdlib.h>

typedef struct _stat64 file_stat;
#define file_fstat _fstat64
#define file_close _close
#define FILE_IS_REGULAR(m) (((m) & _S_IFMT) == _S_IFREG)
/* The separator put between the directory and a value file's name, and
   in place of the name's '/': a path given with the \\?\ prefix takes no
   '/'. */
#define DCG_SEP '\\'

static int file_open(const char *path) {
    wchar_t *wide = dcg_widen(path);
    int fd;
    if (wide == NULL)
        return -1; /* errno set */
    fd = _wopen(wide, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
    free(wide);
    return fd;
}

static long long file_read_at(int fd, char *buf, size_t n, long long off) {
    if (_lseeki64(fd, off, SEEK_SET) < 0)
        return -1;
    /* n is at most DCG_READ_PIECE: it fits _read's unsigned int. */
    return _read(fd, buf, (unsigned int)n);
}
#else
#include <unistd.h>

typedef struct stat file_stat;
#define file_fstat fstat
#define file_close close
#define FILE_IS_REGULAR(m) S_ISREG(m)
#define DCG_SEP '/'

/* O_NONBLOCK: a FIFO put in a value file's place must not hang the open;
   the plain read of the caller behaves as before for it. */
static int file_open(const char *path) { return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); }

static long long file_read_at(int fd, char *buf, size_t n, long long off) {
    return (long long)pread(fd, buf, n, (off_t)off);
}
#endif

/* _read_file(path): (contents, crc) of a value file, read with one open,
   fstat and a pread per 256 KiB into the bytes object it returns, each
   piece checksummed while it is still in the CPU's cache, with the GIL
   released. crc is None when the file is not a regular file or changed
   size while it was read: the caller reads it the plain way then. The
   caller has loaded the library in this process (dcg_crc32). */
#define DCG_READ_PIECE (256 << 10)
typedef struct {
    int fd;
    char *buf;
    Py_ssize_t size, got;
    uint32_t crc;
    int whole; /* 1: exactly size bytes were there */
} FileRead;

static int read_pieces(FileRead *r) {
    char extra;
    long long n;
    while (r->got < r->size) {
        Py_ssize_t want = r->size - r->got;
        n = file_read_at(r->fd, r->buf + r->got, (size_t)(want < DCG_READ_PIECE ? want : DCG_READ_PIECE), r->got);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0; /* shorter than fstat said */
        r->crc = dcg_crc32(r->crc, r->buf + r->got, (int64_t)n);
        r->got += (Py_ssize_t)n;
    }
    if ((n = file_read_at(r->fd, &extra, 1, r->size)) < 0)
        return -1;
    r->whole = n == 0;
    return 0;
}

/* Sets OSError from errno for the file cpath, named path (or cpath when
   path is NULL: the name is only made when there is an error). */
static void file_error(const char *cpath, PyObject *path) {
    if (path != NULL)
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    else
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, cpath);
}

/* Reads the value file at cpath (path: its name for errors, or NULL)
   into a new bytes object, checksumming each piece. 0 with *data and *crc
   set (and *stp, the file's fstat, when stp is not NULL); 1 when
   it is not a regular file or changed size while being read (the caller
   reads it the plain way); -1 with an error set. */
static int read_value_file(const char *cpath, PyObject *path, PyObject **data, uint32_t *crc,
                           file_stat *stp) {
    FileRead r = {-1, NULL, 0, 0, 0, 0};
    file_stat st;
    int rc, err = 0, ret = -1;
    *data = NULL;
    Py_BEGIN_ALLOW_THREADS
    r.fd = file_open(cpath);
    if (r.fd < 0 || file_fstat(r.fd, &st) != 0)
        err = errno;
    Py_END_ALLOW_THREADS
    if (err != 0) {
        errno = err;
        file_error(cpath, path);
        goto done;
    }
    if (!FILE_IS_REGULAR(st.st_mode)) {
        ret = 1;
        goto done;
    }
    r.size = (Py_ssize_t)st.st_size;
    if ((*data = PyBytes_FromStringAndSize(NULL, r.size)) == NULL)
        goto done;
    r.buf = PyBytes_AsString(*data);
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        rc = read_pieces(&r);
        err = errno;
        Py_END_ALLOW_THREADS
        if (rc == 0)
            break;
        if (err != EINTR) {
            errno = err;
            file_error(cpath, path);
            goto done;
        }
        if (PyErr_CheckSignals() < 0)
            goto done;
    }
    if (r.whole) {
        *crc = r.crc;
        if (stp != NULL)
            *stp = st;
        ret = 0;
    } else {
        ret = 1;
    }
done:
    if (r.fd >= 0)
        file_close(r.fd);
    if (ret != 0)
        Py_CLEAR(*data);
    return ret;
}

PyObject *dcg_read_file(PyObject *self, PyObject *path) {
    PyObject *enc = NULL, *data = NULL, *res = NULL;
    uint32_t crc = 0;
    (void)self;
    if (!PyUnicode_FSConverter(path, &enc))
        return NULL;
    switch (read_value_file(PyBytes_AsString(enc), path, &data, &crc, NULL)) {
    case 0:
        res = Py_BuildValue("(Ok)", data, (unsigned long)crc);
        Py_DECREF(data);
        break;
    case 1:
        res = Py_BuildValue("(OO)", Py_None, Py_None);
        break;
    }
    Py_DECREF(enc);
    return res;
}

/* The CRC-32 in a value file name of the stock Disk's current form,
   "ab/<30 hex>-<8 hex>.val"; -1 for any other name (the general path
   knows the older and the foreign forms). */
static long long summed_name_crc(const unsigned char *name, Py_ssize_t n) {
    unsigned long long crc = 0;
    Py_ssize_t i;
    if (n != 46 || name[2] != '/' || name[33] != '-' || memcmp(name + 42, ".val", 4) != 0)
        return -1;
    for (i = 0; i < 42; i++) {
        unsigned char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (i == 2 || i == 33)
            continue;
        if (d < 0)
            return -1;
        if (i > 33)
            crc = crc << 4 | (unsigned long long)d;
    }
    return (long long)crc;
}

/* The value of a get whose result header (in the thread's buffer, from
   the lookup just made) names a value file: read and checked here, for
   the stock Disk's bytes and pickled values under names of its current
   form. dir is the cache directory (bytes); folders (a bytearray of 256,
   or None when the directory is declared trusted) marks the value folders
   found private since the open (by Python, or here: a folder not marked
   yet is checked with one stat). NotImplemented (a new reference) when the general
   path must read it: another mode or name, a missing or changed file, a
   checksum that does not match (that path reports it), and a pickle that
   another user could have written (the engine read a segment they could
   write, its folder is not known private yet, or the file is theirs or
   writable by group or others: Python decides whether the cache is
   shared), so that every unusual case is judged in one place. */
PyObject *fast_file_value(PyObject *dir, PyObject *folders, PyObject *pickle_mod) {
    const unsigned char *hdr = fast_buffer();
    unsigned long long kinds, vlen, tlen, flen;
    long long want;
    int mode;
    char path[4096];
    char *d;
    Py_ssize_t dl;
    PyObject *data = NULL;
    uint32_t crc = 0;
    file_stat st;
    int rc, check = folders != Py_None;
    if (hdr == NULL || !PyBytes_Check(dir) || (check && (!PyByteArray_Check(folders) || PyByteArray_Size(folders) != 256)))
        Py_RETURN_NOTIMPLEMENTED;
    kinds = get_le64(hdr + offsetof(struct dcg_result, kinds));
    vlen = get_le64(hdr + offsetof(struct dcg_result, value_len));
    tlen = get_le64(hdr + offsetof(struct dcg_result, tag_len));
    flen = get_le64(hdr + offsetof(struct dcg_result, file_len));
    mode = (int)(kinds >> DCG_KINDS_MODE_SHIFT & 7);
    if ((mode != DCG_VALUE_BINARY && mode != DCG_VALUE_PICKLE) || vlen != 0 || flen > 64
        || DCG_RESULT_DATA + tlen + flen > DCG_FAST_BUF)
        Py_RETURN_NOTIMPLEMENTED;
    if ((want = summed_name_crc(hdr + DCG_RESULT_DATA + tlen, (Py_ssize_t)flen)) < 0)
        Py_RETURN_NOTIMPLEMENTED;
    PyBytes_AsStringAndSize(dir, &d, &dl);
    if (dl + 1 + (Py_ssize_t)flen + 1 > (Py_ssize_t)sizeof path)
        Py_RETURN_NOTIMPLEMENTED;
    memcpy(path, d, (size_t)dl);
    path[dl] = DCG_SEP;
    memcpy(path + dl + 1, hdr + DCG_RESULT_DATA + tlen, (size_t)flen);
    path[dl + 1 + flen] = 0;
    path[dl + 3] = DCG_SEP; /* the name's '/' (summed_name_crc checked where it is) */
#ifdef _WIN32
    /* No owner or mode bits to read here: a pickle that may have to be
       refused is judged by the Python layer, which asks the engine for
       the folder's and the file's access lists (_trust.py). */
    if (check && mode == DCG_VALUE_PICKLE)
        Py_RETURN_NOTIMPLEMENTED;
#else
    if (check && mode == DCG_VALUE_PICKLE) {
        /* The folder: the name's first two characters, lowercase hex
           (summed_name_crc checked them), checked once per open as
           _Trust.check_file does: the owner's or root's, and writable by
           no one else. */
        const unsigned char *f = hdr + DCG_RESULT_DATA + tlen;
        int hi = f[0] <= '9' ? f[0] - '0' : f[0] - 'a' + 10, lo = f[1] <= '9' ? f[1] - '0' : f[1] - 'a' + 10;
        char *seen = PyByteArray_AsString(folders) + hi * 16 + lo;
        if (kinds & DCG_KIND_OTHERS_WROTE)
            Py_RETURN_NOTIMPLEMENTED;
        if (*seen == 0) {
            struct stat fst;
            int private_dir;
            path[dl + 3] = 0;
            private_dir = stat(path, &fst) == 0 && (fst.st_uid == 0 || fst.st_uid == geteuid()) && (fst.st_mode & 022) == 0;
            path[dl + 3] = DCG_SEP;
            if (!private_dir)
                Py_RETURN_NOTIMPLEMENTED; /* Python says why */
            *seen = 1;
        }
    }
#endif
    rc = read_value_file(path, NULL, &data, &crc, &st);
    if (rc < 0) {
        /* An interrupt or a lack of memory is the caller's; an OSError
           (the entry deleted under the read) is the general path's. */
        if (!PyErr_ExceptionMatches(PyExc_OSError))
            return NULL;
        PyErr_Clear();
    }
    if (rc != 0 || crc != (uint32_t)want) {
        Py_XDECREF(data);
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (mode == DCG_VALUE_BINARY)
        return data;
#ifndef _WIN32
    /* The file as it was read (fstat of the descriptor): the owner's or
       root's, and writable by no one else. */
    if (check && ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022) != 0)) {
        Py_DECREF(data);
        Py_RETURN_NOTIMPLEMENTED;
    }
#endif
    return unpickle(data, NULL, pickle_mod);
}

