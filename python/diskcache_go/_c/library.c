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

/* The library's functions (dcg_ext.h's DCG_EXPORTS): a pointer each, set
   by dcg_load, and the wrapper that calls through it. */
#define DCG_POINTER(ret, name, params, args) static ret(*p_##name) params;
DCG_EXPORTS(DCG_POINTER)
#undef DCG_POINTER

#define DCG_WRAPPER(ret, name, params, args) \
    ret name params { return p_##name args; }
DCG_EXPORTS(DCG_WRAPPER)
#undef DCG_WRAPPER

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
#define DCG_RESOLVE(ret, name, params, args) \
    if (resolve(h, #name, &p_##name, sizeof p_##name, err, errcap) != 0) \
        return -1;
    DCG_EXPORTS(DCG_RESOLVE)
#undef DCG_RESOLVE
    return 0;
}
