/*
 * example.c - use the diskcache-go engine from C.
 *
 * Build (after ./build.sh build):
 *   cc -I capi capi/example/example.c -L python/diskcache_go -ldiskcache_go \
 *      -Wl,-rpath,$PWD/python/diskcache_go -o build/example
 *   build/example /tmp/some-cache-dir
 *
 * It stores a string under a key, reads it back, increments a counter and
 * prints what it found.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diskcache_go.h"

static unsigned char out[1 << 16];

/* Little-endian helpers for the request and result layouts. */
static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static void putf(unsigned char *p, double f) { uint64_t v; memcpy(&v, &f, 8); put64(p, v); }

/* request builds a dcg_write request: 64-byte header, then key and value. */
static int64_t request(unsigned char *req, double now, int kkind, const void *key, uint32_t klen,
                       int vkind, const void *val, uint32_t vlen, uint32_t flags) {
    memset(req, 0, 64);
    put64(req + 0, 1);          /* owner: any nonzero id for this thread */
    putf(req + 8, 5.0);         /* wait up to 5 s for the writer lock */
    putf(req + 16, now);
    put32(req + 40, flags);
    req[44] = (unsigned char)kkind;
    req[45] = (unsigned char)vkind;
    req[46] = 1;                /* MODE_RAW */
    put32(req + 48, klen);
    put32(req + 52, vlen);
    memcpy(req + 64, key, klen);
    memcpy(req + 64 + klen, val, vlen);
    return 64 + klen + vlen;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
        return 2;
    }
    if (dcg_version() != DCG_ABI_VERSION) {
        fprintf(stderr, "library ABI %d, header %d\n", dcg_version(), DCG_ABI_VERSION);
        return 1;
    }
    const char *dir = argv[1];
    uint64_t h;
    int st = dcg_open((const unsigned char *)dir, (int64_t)strlen(dir), 1 << 30, 10,
                      DCG_LEAST_RECENTLY_STORED, 5.0, 0, 0, 0, 0, &h, out, sizeof out);
    if (st != DCG_OK) {
        fprintf(stderr, "open: status %d: %.*s\n", st, (int)get64(out + 56), (const char *)out + 64);
        return 1;
    }
    double now = (double)time(NULL);
    unsigned char req[256];

    /* set "greeting" = "hello from C" (kind 3 = TEXT) */
    int64_t n = request(req, now, 3, "greeting", 8, 3, "hello from C", 12, 0);
    if ((st = dcg_write(h, DCG_OP_SET, req, n, out, sizeof out)) != DCG_OK) {
        fprintf(stderr, "set: status %d\n", st);
        return 1;
    }

    /* get it back: the value starts at byte 64 of out */
    st = dcg_get(h, 3, (const unsigned char *)"greeting", 8, now, 0, out, sizeof out);
    if (st != DCG_OK) {
        fprintf(stderr, "get: status %d\n", st);
        return 1;
    }
    printf("greeting = %.*s\n", (int)get64(out + 8), (const char *)out + 64);

    /* incr "counter" by 1, default 0 (kind 1 = INT: 8 bytes little endian) */
    unsigned char delta[8], deflt[8];
    put64(delta, 1);
    put64(deflt, 0);
    n = request(req, now, 3, "counter", 7, 1, delta, 8, DCG_RQ_DEFAULT | DCG_RQ_TAG);
    /* the default travels in the tag slot */
    req[47] = 1;
    put32(req + 56, 8);
    memcpy(req + n, deflt, 8);
    n += 8;
    if ((st = dcg_write(h, DCG_OP_INCR, req, n, out, sizeof out)) != DCG_OK) {
        fprintf(stderr, "incr: status %d\n", st);
        return 1;
    }
    printf("counter = %lld\n", (long long)get64(out + 64));

    int64_t info[6];
    dcg_info(h, info);
    printf("entries = %lld\n", (long long)info[0]);
    return dcg_close(h) == DCG_OK ? 0 : 1;
}
