/*
 * diskcache_go.h - the C ABI of the diskcache-go engine.
 *
 * Build the library with:
 *     go build -buildmode=c-shared -o libdiskcache_go.so ./capi
 *
 * Conventions
 *   - Every fallible function returns an int status (DCG_OK = 0, or one of
 *     the DCG_* codes below). Results go through out-parameters.
 *   - Caches are integer handles. A closed or unknown handle gives
 *     DCG_CLOSED; it never crashes. Functions are safe to call from many
 *     threads at once.
 *   - Keys, values, tags and file names cross as (pointer, length), never
 *     NUL-terminated. The library never keeps a caller's pointer past the
 *     call and never hands out memory: callers provide every buffer, so
 *     there is no free function.
 *   - Result buffers ("out") start with a 64-byte header, struct
 *     dcg_result below (eight little-endian int64 fields), followed by
 *     data: the value, then the tag, then the file name, each of the
 *     length the header gives.
 *   - Kinds (DCG_KIND_*): INT is 8 bytes little endian, FLOAT 8 bytes
 *     IEEE 754, TEXT UTF-8, BLOB raw bytes, PICKLE a pickled key. INT and
 *     FLOAT keys compare numerically, so 1 and 1.0 are one key.
 *   - Value modes (DCG_VALUE_*) are python-diskcache's MODE_* numbers.
 *   - Times are seconds since the epoch as doubles, supplied by the caller
 *     (so a patched clock works); timeouts are seconds, negative = wait
 *     forever.
 *   - After fork(), a child must not call the library its parent loaded
 *     (the Go runtime's threads are gone): load a fresh copy of the file.
 *     dcg_fds lists the descriptors the parent's caches hold, so the child
 *     can close them.
 */
#ifndef DISKCACHE_GO_H
#define DISKCACHE_GO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Everything numeric that crosses the ABI is defined in this file, and only
 * here: the Go library takes these constants and layouts through cgo, the
 * Python extension compiles against this file and its module reads them
 * back (python/diskcache_go/_ffi.py), and the cffi declarations are made
 * from the prototypes below. Define DCG_NO_PROTOTYPES before including it
 * to get the constants and layouts alone (the Go side, whose exported
 * functions cgo declares itself, and the Python shim, which calls the
 * library through pointers).
 */
#define DCG_ABI_VERSION 8

enum {
    DCG_OK = 0,
    DCG_NOTFOUND = 1,    /* key absent or expired */
    DCG_EXISTS = 2,      /* add: a live value is present */
    DCG_TIMEOUT = 3,     /* the writer lock was not free within the timeout */
    DCG_CLOSED = 4,      /* closed or unknown handle */
    DCG_CORRUPT = 5,     /* a file failed validation */
    DCG_INVALID = 6,     /* malformed argument */
    DCG_FULL = 7,        /* ENOSPC/EDQUOT, or an engine limit */
    DCG_PERMISSION = 8,  /* EACCES/EPERM/EROFS */
    DCG_NOTNUMERIC = 9,  /* incr: value is not an inline number */
    DCG_OVERFLOW = 10,   /* incr: result beyond int64 */
    DCG_SHORTBUF = 11,   /* out too small; header field 5 says how big */
    DCG_NOTOWNER = 12,   /* transaction call from a non-owner */
    DCG_IO = 13,         /* other I/O error (message in out) */
    DCG_PANIC = 14,      /* internal error (message in out) */
    DCG_WOULDBLOCK = 15  /* get with flag 2: the read would have waited */
};

/* Write operations for dcg_write. */
enum {
    DCG_OP_SET = 1, DCG_OP_ADD = 2, DCG_OP_DELETE = 3, DCG_OP_POP = 4,
    DCG_OP_TOUCH = 5, DCG_OP_INCR = 6, DCG_OP_EXPIRE = 7, DCG_OP_EVICT = 8,
    DCG_OP_CLEAR = 9, DCG_OP_CULL = 10, DCG_OP_BEGIN = 11, DCG_OP_END = 12,
    DCG_OP_GET = 13, /* get that records the read (LRU/LFU policies) */
    DCG_OP_PUSH = 14, DCG_OP_PULL = 15, DCG_OP_PEEK = 16, DCG_OP_PEEKITEM = 17,
    DCG_OP_COMPACT = 18 /* compact every segment with dead bytes now; aux: bytes given back */
};

/* Request flags for dcg_write. */
enum {
    DCG_RQ_EXPIRE = 1, DCG_RQ_TAG = 2, DCG_RQ_DEFAULT = 4, DCG_RQ_COMMIT = 8,
    DCG_RQ_STATS = 16,
    DCG_RQ_FRONT = 32,  /* push, pull, peek: at the front */
    DCG_RQ_LAST = 64,   /* peekitem: the last item */
    DCG_RQ_PREFIX = 128 /* push, pull, peek: the key slot holds the prefix */
};

/* Eviction policies for dcg_open and dcg_limits. */
enum {
    DCG_LEAST_RECENTLY_STORED = 0, DCG_NONE = 1,
    DCG_LEAST_RECENTLY_USED = 2, DCG_LEAST_FREQUENTLY_USED = 3
};

/* Kinds of keys, values and tags (core/kind.go). */
enum {
    DCG_KIND_NULL = 0, DCG_KIND_INT = 1, DCG_KIND_FLOAT = 2, DCG_KIND_TEXT = 3,
    DCG_KIND_BLOB = 4, DCG_KIND_PICKLE = 5
};

/* Value modes: python-diskcache's MODE_NONE, MODE_RAW, MODE_BINARY,
 * MODE_TEXT and MODE_PICKLE. */
enum {
    DCG_VALUE_NONE = 0, DCG_VALUE_RAW = 1, DCG_VALUE_BINARY = 2,
    DCG_VALUE_TEXT = 3, DCG_VALUE_PICKLE = 4
};

/* dcg_get and dcg_getv flags. */
enum {
    DCG_GET_COUNT = 1,    /* count the lookup as a hit or a miss */
    DCG_GET_NOWAIT = 2,   /* never wait: DCG_WOULDBLOCK instead */
    DCG_GET_CLOCK_NOW = 4 /* ignore now; read the wall clock if the entry
                             found has an expire time */
};

/*
 * The request header of dcg_write: 64 bytes, little endian, no padding.
 * owner identifies the calling thread: writes with the owner of an open
 * transaction (DCG_OP_BEGIN) run inside it. The key, value, tag and file
 * name bytes follow, in that order.
 */
struct dcg_request {
    uint64_t owner;
    double timeout;     /* seconds; negative: wait forever */
    double now;
    double expire;      /* with DCG_RQ_EXPIRE; NaN: no expiry */
    int64_t size;       /* the value file's size */
    uint32_t flags;     /* DCG_RQ_* */
    uint8_t key_kind, value_kind, mode, tag_kind;
    uint32_t key_len, value_len, tag_len, file_len;
};

/*
 * The result header at the start of every result buffer: 64 bytes, eight
 * little-endian int64 fields.
 */
struct dcg_result {
    int64_t kinds;      /* value kind | mode << DCG_KINDS_MODE_SHIFT
                           | tag kind << DCG_KINDS_TAG_SHIFT | DCG_KINDS_HAS_TAG
                           | DCG_KINDS_HAS_EXPIRE | DCG_KIND_OTHERS_WROTE
                           | key kind << DCG_KINDS_KEY_SHIFT */
    int64_t value_len;
    int64_t tag_len;
    int64_t file_len;
    double expire;      /* the expire time, with DCG_KINDS_HAS_EXPIRE; the
                           cursor's rowid for dcg_keys */
    int64_t aux;        /* file size; count for bulk operations (also on
                           DCG_TIMEOUT); bytes needed on DCG_SHORTBUF */
    int64_t aux2;       /* key length (pops, pulls, peeks); cursor id for
                           dcg_keys */
    int64_t msg_len;    /* error message length; the message (UTF-8)
                           starts at DCG_RESULT_DATA */
};

/* Where the data starts in a result buffer: sizeof(struct dcg_result). */
#define DCG_RESULT_DATA 64

/* Fields of struct dcg_result's kinds. */
#define DCG_KINDS_KIND_MASK 0xFF
#define DCG_KINDS_MODE_SHIFT 8
#define DCG_KINDS_TAG_SHIFT 16
#define DCG_KINDS_HAS_TAG (1 << 24)
#define DCG_KINDS_HAS_EXPIRE (1 << 25)
#define DCG_KINDS_KEY_SHIFT 28

/* dcg_getv's results besides a value: vlen << DCG_GETV_LEN_SHIFT | mode
 * << DCG_GETV_MODE_SHIFT | kind. */
#define DCG_GETV_MISS (-1)
#define DCG_GETV_HEADER (-2)
#define DCG_GETV_STATUS_BASE 100
#define DCG_GETV_LEN_SHIFT 6
#define DCG_GETV_MODE_SHIFT 3

/* Fields dcg_info writes. */
#define DCG_INFO_FIELDS 6

/* dcg_open flags. Without NETWORK or LOCAL, network mode is chosen when the
 * directory is on a network or FUSE filesystem. */
#define DCG_OPEN_SYNC    1 /* fsync every commit: power-loss durable */
#define DCG_OPEN_NETWORK 2 /* force network mode */
#define DCG_OPEN_LOCAL   4 /* force local mode (shared mappings) */

/* Modes dcg_mode reports. */
#define DCG_MODE_SHARED  0 /* shared mappings (the default) */
#define DCG_MODE_ORDERED 1 /* DCG_OPEN_SYNC on a local filesystem */
#define DCG_MODE_NETWORK 2 /* network mode */
/* Or-ed in when the open found the index damaged beyond repair and replaced
 * it with an empty one. */
#define DCG_MODE_WAS_RESET 8

/* Set in an item's kinds (header field 0), and in field 0 of a key
 * listing, once the handle has read a segment file that a user other than
 * the process's effective user and root could have written (owned by one,
 * or writable by group or others): its records may have been planted, so
 * a caller must not deserialize code-running formats (pickles) from it
 * unless they are authenticated. It stays set until the handle closes. */
#define DCG_KIND_OTHERS_WROTE (1 << 26)

#ifndef DCG_NO_PROTOTYPES

/* Returns DCG_ABI_VERSION of the library; refuse a mismatch. */
int dcg_version(void);

/*
 * Opens (creating if needed) the cache in directory dir[0:dirlen].
 * [in]  size_limit, cull_limit (0 disables automatic culling; negative:
 *       no limit, as SQLite's LIMIT), policy,
 *       timeout (seconds, for the repair an open may need), file_mode and
 *       dir_mode for what it creates (0: 0600 and 0700), flags (DCG_OPEN_*),
 *       compress_above (inline text and byte values of at least this many
 *       bytes are stored LZ4-compressed; 0: never)
 * [out] *handle
 * [out] out: error message on failure
 */
int dcg_open(const unsigned char *dir, int64_t dirlen, int64_t size_limit,
             int64_t cull_limit, int policy, double timeout, int file_mode,
             int dir_mode, int flags, int64_t compress_above, uint64_t *handle,
             unsigned char *out, int64_t outcap);


/* CRC-32 (IEEE, as zlib's crc32) of buf[0:n] continued from seed: the
 * checksum in value file names. */
uint32_t dcg_crc32(uint32_t seed, const unsigned char *buf, int64_t n);

/* Returns the handle's DCG_MODE_*, -DCG_CLOSED for a closed handle. */
int dcg_mode(uint64_t handle);

/* Closes a handle; later calls with it give DCG_CLOSED. */
int dcg_close(uint64_t handle);

/* Changes the limits this handle applies (python-diskcache's reset());
   cull_limit as for dcg_open. */
int dcg_limits(uint64_t handle, int64_t size_limit, int64_t cull_limit, int policy);

/*
 * Reads key (kind, key[0:klen]) if it is unexpired at now. Takes no lock.
 * flags: 1 = count the lookup as a hit or miss; 2 = never wait: give
 * DCG_WOULDBLOCK where the read would wait (network mode, or a writer in
 * the middle of a commit), so a caller can release its own lock first;
 * 4 = ignore now and read the wall clock if the entry found has an
 * expire time.
 * [out] out: header and data as described above; DCG_NOTFOUND on a miss.
 */
int dcg_get(uint64_t handle, int kind, const unsigned char *key, int64_t klen,
            double now, int flags, unsigned char *out, int64_t outcap);

/*
 * dcg_get for the hot path, with the common outcome in the result: >= 0
 * means the value (no file) is at out[64:64+vlen] and the result is
 * vlen << 6 | mode << 3 | kind; -1 not found; -2 the full header was
 * written (a value with a file, or a pickle with DCG_KIND_OTHERS_WROTE);
 * -(100 + status) any other status (DCG_GETV_*).
 */
int64_t dcg_getv(uint64_t handle, int kind, const unsigned char *key, int64_t klen,
                 double now, int flags, unsigned char *out, int64_t outcap);


/* DCG_OK if key is present and unexpired at now, else DCG_NOTFOUND. */
int dcg_contains(uint64_t handle, int kind, const unsigned char *key, int64_t klen,
                 double now);

/*
 * [out] info[6]: count (expired included), volume, hits, misses,
 *       largest rowid, bytes of value files.
 */
int dcg_info(uint64_t handle, int64_t *info);

/* Zeroes the hit and miss counters. */
int dcg_reset_stats(uint64_t handle);

/* Moves one hit to the misses: a get counted as a hit found its value file
   gone (python-diskcache counts that get as a miss). */
int dcg_hit_was_miss(uint64_t handle);

/*
 * Lists up to max keys in insertion order after the cursor (cur_id,
 * cur_rowid) (0, 0 = from the start), skipping rowids >= bound; reverse
 * walks backwards. out: header field 5 = number of keys, field 6 = cursor
 * id, field 4 = cursor rowid, field 0 = DCG_KIND_OTHERS_WROTE or 0; then
 * per key: length u32 | kind u8 | 3 pad | bytes. Fewer than max keys means
 * the walk is complete.
 */
int dcg_keys(uint64_t handle, uint32_t cur_id, uint64_t cur_rowid, uint64_t bound,
             int reverse, int max, unsigned char *out, int64_t outcap);

/*
 * Lists up to max keys in python-diskcache's iterkeys order after the key
 * (kind, key[0:klen]) (from the start when has_after is 0), or before it
 * when reverse. out: header field 5 = number of keys, field 0 =
 * DCG_KIND_OTHERS_WROTE or 0; then per key as for dcg_keys.
 */
int dcg_keys_sorted(uint64_t handle, int has_after, int kind, const unsigned char *key,
                    int64_t klen, int reverse, int max, unsigned char *out, int64_t outcap);

/*
 * Runs a write operation. req is a struct dcg_request followed by the
 * key, value, tag and file name bytes. For DCG_OP_INCR the value slot
 * holds the delta and the tag slot the default (with DCG_RQ_DEFAULT).
 */
int dcg_write(uint64_t handle, int op, const unsigned char *req, int64_t reqlen,
              unsigned char *out, int64_t outcap);

/*
 * Verifies the cache (fix != 0 also repairs). out: u32 warning count, each
 * kind u8 | length u32 | message; then u32 file count, each length u32 |
 * name (value files the index refers to).
 */
int dcg_check(uint64_t handle, uint64_t owner, double timeout, int fix,
              unsigned char *out, int64_t outcap);

/*
 * Returns 1 and writes the filesystem's name (NUL-terminated) to out when
 * the cache is on a network or FUSE filesystem (nfs, smb, cifs, fuse, ...),
 * 0 on a local one, -DCG_CLOSED for a closed handle.
 */
int dcg_filesystem(uint64_t handle, unsigned char *out, int64_t outcap);

/*
 * Returns 1 and writes what the last rebuild of the index from the segments
 * found (NUL-terminated, truncated to outcap) to out, 0 when the index was
 * not rebuilt since the handle was opened, -DCG_CLOSED for a closed handle.
 */
int dcg_repair_note(uint64_t handle, unsigned char *out, int64_t outcap);

/* [out] out[3]: goroutines, Go heap bytes in use, open handles (leak tests). */
int dcg_runtime(int64_t *out);

/* Writes up to cap descriptors held by open caches; returns how many. */
int64_t dcg_fds(int32_t *fds, int64_t cap);

/* An exclusive lock on the file path[0:pathlen] between processes (created
   if missing; flock on unix, LockFileEx on Windows), for locks held long
   and taken rarely. Waits up to timeout seconds (negative: forever);
   DCG_TIMEOUT if another holder kept it. The handle goes to *lock. */
int dcg_file_lock(const unsigned char *path, int64_t pathlen, double timeout, uint64_t *lock);
/* Releases a lock from dcg_file_lock; DCG_CLOSED for an unknown handle. */
int dcg_file_unlock(uint64_t lock);

/*
 * Whether an account other than this process's user (and root; SYSTEM and
 * Administrators on Windows) could write the file or directory
 * path[0:pathlen], links followed: 1 with the reason in out (NUL-terminated,
 * cut to outcap), 0 when none could, or a negated status (-DCG_NOTFOUND for
 * a missing path) with the error in out. Owner and mode bits on unix, owner
 * and DACL on Windows (the check the engine makes of each segment).
 */
int dcg_others_can_write(const unsigned char *path, int64_t pathlen, unsigned char *out, int64_t outcap);

#endif /* DCG_NO_PROTOTYPES */

#ifdef __cplusplus
}
#endif

#endif /* DISKCACHE_GO_H */
