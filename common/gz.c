/*
 * Transparent gzip for byte streams (see gz.h).
 */
#include "common/gz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZ_CHUNK (64 * 1024)

enum { MODE_UNKNOWN, MODE_PLAIN, MODE_GZIP };

struct cvg_gz {
    cvg_gz_read_fn read;        /* the source */
    void *ud;                   /* borrowed, passed to read */
    uint64_t max_inflated;      /* most inflated bytes allowed */
    uint64_t inflated;          /* inflated bytes so far */
    int mode;                   /* MODE_* once the first bytes are seen */
    bool src_end;               /* the source returned 0 */
    bool member_end;            /* inflate finished a member; another may follow */
    bool zinit;                 /* zs needs inflateEnd */
    z_stream zs;                /* inflate state (gzip mode) */
    size_t held;                /* bytes read into `in` while sniffing (plain mode) */
    size_t held_pos;            /* the next of them to hand out */
    cvg_err_t failure;          /* the final error, once failed */
    unsigned char in[GZ_CHUNK]; /* input from the source */
};

cvg_gz_t *cvg_gz_new(cvg_gz_read_fn read, void *ud, uint64_t max_inflated)
{
    cvg_gz_t *gz = calloc(1, sizeof(*gz));
    if (gz == NULL)
        return NULL;
    gz->read = read;
    gz->ud = ud;
    gz->max_inflated = max_inflated;
    return gz;
}

void cvg_gz_destroy(cvg_gz_t **gz)
{
    if (gz == NULL || *gz == NULL)
        return;
    if ((*gz)->zinit)
        inflateEnd(&(*gz)->zs);
    free(*gz);
    *gz = NULL;
}

bool cvg_gz_compressed(const cvg_gz_t *gz)
{
    return gz->mode == MODE_GZIP;
}

/* Records the final error and returns its code. */
static int fail(cvg_gz_t *gz, cvg_err_t *err, int code, const char *message)
{
    cvg_err_set(&gz->failure, code, "", "%s", message);
    if (err)
        *err = gz->failure;
    return code;
}

/* One call of the source into buf: bytes read, 0 at the end, or -1. */
static ssize_t pull(cvg_gz_t *gz, void *buf, size_t size)
{
    if (gz->src_end)
        return 0;
    ssize_t n = gz->read(gz->ud, buf, size);
    if (n == 0)
        gz->src_end = true;
    return n;
}

/* Reads the first two bytes (or what there is) and picks the mode. */
static int sniff(cvg_gz_t *gz, cvg_err_t *err)
{
    while (gz->held < 2) {
        ssize_t n = pull(gz, gz->in + gz->held, sizeof(gz->in) - gz->held);
        if (n < 0)
            return fail(gz, err, CVG_EIO, "reading the input failed");
        if (n == 0)
            break;
        gz->held += (size_t)n;
    }
    if (gz->held >= 2 && gz->in[0] == 0x1f && gz->in[1] == 0x8b) {
        /* 16 + MAX_WBITS: expect a gzip header and trailer. */
        if (inflateInit2(&gz->zs, 16 + MAX_WBITS) != Z_OK)
            return fail(gz, err, CVG_ENOMEM, "out of memory starting gzip");
        gz->zinit = true;
        gz->zs.next_in = gz->in;
        gz->zs.avail_in = (uInt)gz->held;
        gz->held = 0;
        gz->mode = MODE_GZIP;
    } else {
        gz->mode = MODE_PLAIN;
    }
    return 0;
}

static int read_plain(cvg_gz_t *gz, void *buf, size_t size, size_t *got, cvg_err_t *err)
{
    if (gz->held_pos < gz->held) {
        size_t n = gz->held - gz->held_pos;
        if (n > size)
            n = size;
        memcpy(buf, gz->in + gz->held_pos, n);
        gz->held_pos += n;
        *got = n;
        return 0;
    }
    ssize_t n = pull(gz, buf, size);
    if (n < 0)
        return fail(gz, err, CVG_EIO, "reading the input failed");
    *got = (size_t)n;
    return 0;
}

static int read_gzip(cvg_gz_t *gz, void *buf, size_t size, size_t *got, cvg_err_t *err)
{
    /* zlib counts in uInt. */
    if (size > UINT32_MAX)
        size = UINT32_MAX;
    for (;;) {
        if (gz->zs.avail_in == 0 && !gz->src_end) {
            ssize_t n = pull(gz, gz->in, sizeof(gz->in));
            if (n < 0)
                return fail(gz, err, CVG_EIO, "reading the input failed");
            gz->zs.next_in = gz->in;
            gz->zs.avail_in = (uInt)n;
        }
        if (gz->member_end) {
            if (gz->zs.avail_in == 0) {
                if (gz->src_end)
                    return 0; /* *got is 0: the end */
                continue;
            }
            /* More bytes after a member: the next member of a
             * concatenated file (anything else fails its header check). */
            inflateReset(&gz->zs);
            gz->member_end = false;
        }
        if (gz->zs.avail_in == 0 && gz->src_end)
            return fail(gz, err, CVG_EPROTO, "gzip data truncated: the input ends inside a member");
        gz->zs.next_out = buf;
        gz->zs.avail_out = (uInt)size;
        int zrc = inflate(&gz->zs, Z_NO_FLUSH);
        size_t produced = size - gz->zs.avail_out;
        switch (zrc) {
        case Z_OK:
            break;
        case Z_STREAM_END:
            gz->member_end = true;
            break;
        case Z_BUF_ERROR:
            /* No progress: fine when it wants more input, which the
             * next round reads. */
            if (gz->zs.avail_in == 0)
                break;
            return fail(gz, err, CVG_EPROTO, "corrupt gzip data: inflate made no progress");
        case Z_MEM_ERROR:
            return fail(gz, err, CVG_ENOMEM, "out of memory inflating gzip data");
        default: {
            char message[CVG_ERR_MSG_MAX];
            snprintf(message, sizeof(message), "corrupt gzip data: %s",
                     gz->zs.msg ? gz->zs.msg : "inflate failed");
            return fail(gz, err, CVG_EPROTO, message);
        }
        }
        if (produced == 0)
            continue;
        gz->inflated += produced;
        if (gz->inflated > gz->max_inflated) {
            char message[CVG_ERR_MSG_MAX];
            snprintf(message, sizeof(message),
                     "gzip data inflates to more than the limit of %llu bytes",
                     (unsigned long long)gz->max_inflated);
            return fail(gz, err, CVG_ETOOBIG, message);
        }
        *got = produced;
        return 0;
    }
}

int cvg_gz_read(cvg_gz_t *gz, void *buf, size_t size, size_t *got, cvg_err_t *err)
{
    *got = 0;
    if (gz->failure.code != 0) {
        if (err)
            *err = gz->failure;
        return gz->failure.code;
    }
    if (size == 0)
        return 0;
    if (gz->mode == MODE_UNKNOWN) {
        int rc = sniff(gz, err);
        if (rc != 0)
            return rc;
    }
    if (gz->mode == MODE_PLAIN)
        return read_plain(gz, buf, size, got, err);
    return read_gzip(gz, buf, size, got, err);
}
