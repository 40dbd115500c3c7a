/*
 * fast_common.c - what the fast paths share: each thread's result buffer
 * and unpickling.
 */
#include "dcg_ext.h"

#include <stdlib.h>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <pthread.h>
#endif

PyObject *str_loads, *str_key, *str_fast, *str_time;

/* Each thread's result buffer, freed when the thread exits (a server that
   starts a thread per request must not keep 64 KiB per dead thread). The
   system's thread-local slots do that, with a destructor: a pthread key on
   POSIX, a fiber-local slot on Windows (its callback runs at thread exit,
   as a pthread key's destructor does). CPython's Py_tss_t and C11
   _Thread_local have no destructor, so they would keep the buffer. */
#ifdef _WIN32
static DWORD fast_key = FLS_OUT_OF_INDEXES;
static INIT_ONCE fast_once = INIT_ONCE_STATIC_INIT;

static VOID NTAPI fast_free(PVOID buf) { free(buf); }

static BOOL CALLBACK fast_key_make(PINIT_ONCE once, PVOID param, PVOID *context) {
    (void)once, (void)param, (void)context;
    fast_key = FlsAlloc(fast_free);
    return TRUE;
}

unsigned char *fast_buffer(void) {
    unsigned char *buf;
    InitOnceExecuteOnce(&fast_once, fast_key_make, NULL, NULL);
    if (fast_key == FLS_OUT_OF_INDEXES)
        return NULL;
    buf = (unsigned char *)FlsGetValue(fast_key);
    if (buf == NULL && (buf = malloc(DCG_FAST_BUF)) != NULL && !FlsSetValue(fast_key, buf)) {
        free(buf);
        buf = NULL;
    }
    return buf;
}
#else
static pthread_key_t fast_key;
static pthread_once_t fast_once = PTHREAD_ONCE_INIT;
static int fast_key_ok;

static void fast_key_make(void) { fast_key_ok = pthread_key_create(&fast_key, free) == 0; }

unsigned char *fast_buffer(void) {
    unsigned char *buf;
    pthread_once(&fast_once, fast_key_make);
    if (!fast_key_ok)
        return NULL;
    buf = pthread_getspecific(fast_key);
    if (buf == NULL && (buf = malloc(DCG_FAST_BUF)) != NULL && pthread_setspecific(fast_key, buf) != 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}
#endif

/* loads(b), or pickle.loads from pickle_mod's dict when loads is NULL (a
   patched one is followed, and held while it runs); steals b. */
PyObject *unpickle(PyObject *b, PyObject *loads, PyObject *pickle_mod) {
    PyObject *fn = loads, *res;
    if (fn == NULL && (fn = PyDict_GetItemWithError(PyModule_GetDict(pickle_mod), str_loads)) == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_AttributeError, "module 'pickle' has no attribute 'loads'");
        Py_DECREF(b);
        return NULL;
    }
    Py_INCREF(fn);
    /* No argument tuple: CPython passes these arguments on the stack to a
       vectorcall callable such as pickle.loads. */
    res = PyObject_CallFunctionObjArgs(fn, b, NULL);
    Py_DECREF(fn);
    Py_DECREF(b);
    return res;
}

int common_intern(void) {
    if (str_time != NULL)
        return 1;
    return (str_loads = PyUnicode_InternFromString("loads")) != NULL
        && (str_key = PyUnicode_InternFromString("_key")) != NULL
        && (str_fast = PyUnicode_InternFromString("_fast")) != NULL
        && (str_time = PyUnicode_InternFromString("time")) != NULL;
}
