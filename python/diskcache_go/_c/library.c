/*
 * library.c - the Go library, loaded at run time and called through
 * pointers.
 *
 * The extension does not link the library: dcg_load dlopens it and points
 * every wrapper below at its exports. A forked child must never call the
 * copy its parent loaded (the Go runtime's threads do not survive fork),
 * so _ffi.py loads a fresh copy there and dcg_load repoints the wrappers.
 * The wrappers take byte buffers as char *, as the cdef declares them, so
 * that Python bytes pass without a copy.
 *
 * The loader is the system's: dlopen/dlsym on POSIX, LoadLibraryExW/
 * GetProcAddress on Windows (the path, UTF-8 from Python, made wide so
 * that any name loads whatever the ANSI code page).
 */
#include "dcg_ext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <dlfcn.h>
#endif

static int (*p_dcg_version)(void);
static int (*p_dcg_open)(char *dir, int64_t dirlen, int64_t size_limit, int64_t cull_limit, int policy, double timeout, int file_mode, int dir_mode, int flags, int64_t compress_above, uint64_t *handle, char *out, int64_t outcap);
static uint32_t (*p_dcg_crc32)(uint32_t seed, char *buf, int64_t n);
static int (*p_dcg_mode)(uint64_t handle);
static int (*p_dcg_close)(uint64_t handle);
static int (*p_dcg_limits)(uint64_t handle, int64_t size_limit, int64_t cull_limit, int policy);
static int (*p_dcg_get)(uint64_t handle, int kind, char *key, int64_t klen, double now, int flags, char *out, int64_t outcap);
static int64_t (*p_dcg_getv)(uint64_t handle, int kind, char *key, int64_t klen, double now, int flags, char *out, int64_t outcap);
static int (*p_dcg_contains)(uint64_t handle, int kind, char *key, int64_t klen, double now);
static int (*p_dcg_info)(uint64_t handle, int64_t *info);
static int (*p_dcg_reset_stats)(uint64_t handle);
static int (*p_dcg_hit_was_miss)(uint64_t handle);
static int (*p_dcg_keys)(uint64_t handle, uint32_t cur_id, uint64_t cur_rowid, uint64_t bound, int reverse, int max, char *out, int64_t outcap);
static int (*p_dcg_keys_sorted)(uint64_t handle, int has_after, int kind, char *key, int64_t klen, int reverse, int max, char *out, int64_t outcap);
static int (*p_dcg_write)(uint64_t handle, int op, char *req, int64_t reqlen, char *out, int64_t outcap);
static int (*p_dcg_check)(uint64_t handle, uint64_t owner, double timeout, int fix, char *out, int64_t outcap);
static int (*p_dcg_filesystem)(uint64_t handle, char *out, int64_t outcap);
static int (*p_dcg_repair_note)(uint64_t handle, char *out, int64_t outcap);
static int (*p_dcg_runtime)(int64_t *out);
static int64_t (*p_dcg_fds)(int32_t *fds, int64_t cap);
static int (*p_dcg_file_lock)(char *path, int64_t pathlen, double timeout, uint64_t *lock);
static int (*p_dcg_file_unlock)(uint64_t lock);
static int (*p_dcg_others_can_write)(char *path, int64_t pathlen, char *out, int64_t outcap);

int dcg_version(void) {
    return p_dcg_version();
}

int dcg_open(char *dir, int64_t dirlen, int64_t size_limit, int64_t cull_limit, int policy, double timeout, int file_mode, int dir_mode, int flags, int64_t compress_above, uint64_t *handle, char *out, int64_t outcap) {
    return p_dcg_open(dir, dirlen, size_limit, cull_limit, policy, timeout, file_mode, dir_mode, flags, compress_above, handle, out, outcap);
}

uint32_t dcg_crc32(uint32_t seed, char *buf, int64_t n) {
    return p_dcg_crc32(seed, buf, n);
}

int dcg_mode(uint64_t handle) {
    return p_dcg_mode(handle);
}

int dcg_close(uint64_t handle) {
    return p_dcg_close(handle);
}

int dcg_limits(uint64_t handle, int64_t size_limit, int64_t cull_limit, int policy) {
    return p_dcg_limits(handle, size_limit, cull_limit, policy);
}

int dcg_get(uint64_t handle, int kind, char *key, int64_t klen, double now, int flags, char *out, int64_t outcap) {
    return p_dcg_get(handle, kind, key, klen, now, flags, out, outcap);
}

int64_t dcg_getv(uint64_t handle, int kind, char *key, int64_t klen, double now, int flags, char *out, int64_t outcap) {
    return p_dcg_getv(handle, kind, key, klen, now, flags, out, outcap);
}

int dcg_contains(uint64_t handle, int kind, char *key, int64_t klen, double now) {
    return p_dcg_contains(handle, kind, key, klen, now);
}

int dcg_info(uint64_t handle, int64_t *info) {
    return p_dcg_info(handle, info);
}

int dcg_reset_stats(uint64_t handle) {
    return p_dcg_reset_stats(handle);
}

int dcg_hit_was_miss(uint64_t handle) {
    return p_dcg_hit_was_miss(handle);
}

int dcg_keys(uint64_t handle, uint32_t cur_id, uint64_t cur_rowid, uint64_t bound, int reverse, int max, char *out, int64_t outcap) {
    return p_dcg_keys(handle, cur_id, cur_rowid, bound, reverse, max, out, outcap);
}

int dcg_keys_sorted(uint64_t handle, int has_after, int kind, char *key, int64_t klen, int reverse, int max, char *out, int64_t outcap) {
    return p_dcg_keys_sorted(handle, has_after, kind, key, klen, reverse, max, out, outcap);
}

int dcg_write(uint64_t handle, int op, char *req, int64_t reqlen, char *out, int64_t outcap) {
    return p_dcg_write(handle, op, req, reqlen, out, outcap);
}

int dcg_check(uint64_t handle, uint64_t owner, double timeout, int fix, char *out, int64_t outcap) {
    return p_dcg_check(handle, owner, timeout, fix, out, outcap);
}

int dcg_filesystem(uint64_t handle, char *out, int64_t outcap) {
    return p_dcg_filesystem(handle, out, outcap);
}

int dcg_repair_note(uint64_t handle, char *out, int64_t outcap) {
    return p_dcg_repair_note(handle, out, outcap);
}

int dcg_runtime(int64_t *out) {
    return p_dcg_runtime(out);
}

int64_t dcg_fds(int32_t *fds, int64_t cap) {
    return p_dcg_fds(fds, cap);
}

int dcg_file_lock(char *path, int64_t pathlen, double timeout, uint64_t *lock) {
    return p_dcg_file_lock(path, pathlen, timeout, lock);
}

int dcg_file_unlock(uint64_t lock) {
    return p_dcg_file_unlock(lock);
}

int dcg_others_can_write(char *path, int64_t pathlen, char *out, int64_t outcap) {
    return p_dcg_others_can_write(path, pathlen, out, outcap);
}

#ifdef _WIN32
typedef HMODULE dcg_library;

/* Writes the text of Windows error code to err, after what. */
static void windows_error(const char *what, DWORD code, char *err, int64_t errcap) {
    char text[256];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0, text,
                             (DWORD)sizeof text, NULL);
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == ' '))
        n--;
    text[n] = 0;
    snprintf(err, (size_t)errcap, "%s (Windows error %lu: %s)", what, (unsigned long)code, text);
}

wchar_t *dcg_widen(const char *utf8) {
    wchar_t *wide;
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
    if (n <= 0) {
        errno = EINVAL;
        return NULL;
    }
    if ((wide = (wchar_t *)malloc((size_t)n * sizeof *wide)) == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, wide, n);
    return wide;
}

/* Loads the DLL at the UTF-8 path. LOAD_WITH_ALTERED_SEARCH_PATH makes
   Windows look for the DLL's own dependencies in its folder first. */
static dcg_library open_library(const char *path, char *err, int64_t errcap) {
    HMODULE h;
    wchar_t *wide = dcg_widen(path);
    if (wide == NULL) {
        snprintf(err, (size_t)errcap, "the library path %s: %s", path, strerror(errno));
        return NULL;
    }
    h = LoadLibraryExW(wide, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
    if (h == NULL)
        windows_error("LoadLibraryExW failed", GetLastError(), err, errcap);
    free(wide);
    return h;
}

static void *library_symbol(dcg_library h, const char *name) {
    /* FARPROC to a data pointer: resolve() copies it into the typed slot. */
    FARPROC f = GetProcAddress(h, name);
    void *sym;
    memcpy(&sym, &f, sizeof sym);
    return sym;
}
#else
typedef void *dcg_library;

static dcg_library open_library(const char *path, char *err, int64_t errcap) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        snprintf(err, (size_t)errcap, "%s", dlerror());
    return h;
}

static void *library_symbol(dcg_library h, const char *name) {
    return dlsym(h, name);
}
#endif

/* Resolves name in the library h into *slot; 0, or -1 with the reason in
   err. */
static int resolve(dcg_library h, const char *name, void *slot, size_t size, char *err, int64_t errcap) {
    void *sym = library_symbol(h, name);
    if (sym == NULL) {
        snprintf(err, (size_t)errcap, "missing symbol %s", name);
        return -1;
    }
    /* A data pointer to a function pointer, the way POSIX allows it. */
    memcpy(slot, &sym, size);
    return 0;
}

/* Loads the library at path and points every function at it. The previous
   copy (if any) stays mapped: in a forked child it must never run again. */
int dcg_load(char *path, char *err, int64_t errcap) {
    dcg_library h = open_library(path, err, errcap);
    if (h == NULL)
        return -1;
#define DCG_RESOLVE(name) \
    if (resolve(h, #name, &p_##name, sizeof p_##name, err, errcap) != 0) \
        return -1
    DCG_RESOLVE(dcg_version);
    DCG_RESOLVE(dcg_open);
    DCG_RESOLVE(dcg_crc32);
    DCG_RESOLVE(dcg_mode);
    DCG_RESOLVE(dcg_close);
    DCG_RESOLVE(dcg_limits);
    DCG_RESOLVE(dcg_get);
    DCG_RESOLVE(dcg_getv);
    DCG_RESOLVE(dcg_contains);
    DCG_RESOLVE(dcg_info);
    DCG_RESOLVE(dcg_reset_stats);
    DCG_RESOLVE(dcg_hit_was_miss);
    DCG_RESOLVE(dcg_keys);
    DCG_RESOLVE(dcg_keys_sorted);
    DCG_RESOLVE(dcg_write);
    DCG_RESOLVE(dcg_check);
    DCG_RESOLVE(dcg_filesystem);
    DCG_RESOLVE(dcg_repair_note);
    DCG_RESOLVE(dcg_runtime);
    DCG_RESOLVE(dcg_fds);
    DCG_RESOLVE(dcg_file_lock);
    DCG_RESOLVE(dcg_file_unlock);
    DCG_RESOLVE(dcg_others_can_write);
#undef DCG_RESOLVE
    return 0;
}
