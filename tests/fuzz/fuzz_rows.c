/*
 * Fuzz target: the file loaders' row reader (common/rows.c) over the gzip
 * reader (common/gz.c) and the CSV parser: the bytes of a file or S3 object
 * a tenant loads, as file.data_loader and aws.s3_data_loader read them. The
 * first 2 bytes pick the format (CSV, JSON Lines, or from a name), the
 * delimiter, small or default limits, whether the rest is gzip-compressed
 * here first (one member or two, so the fuzzer also reaches the text behind
 * the inflater; raw input starting 1f 8b reaches corrupt gzip) and the size
 * of the reads. Every input is read twice, from memory and through a read
 * callback returning a few bytes at a time, and the two readings must give
 * the same rows, bad rows and end (unless gzip data fails, see below):
 * the reader may not depend on how the source splits its bytes.
 */
#include "common/rows.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROWS 100000 /* a reading stops here (each row takes a byte of input) */

/* A source handing out at most `chunk` bytes a call. */
typedef struct source {
    const unsigned char *data;
    size_t len, pos, chunk, turn;
} source_t;

static ssize_t source_read(void *ud, void *buf, size_t size)
{
    source_t *s = ud;
    size_t n = s->len - s->pos;
    size_t want = 1 + (s->turn++ * 13) % s->chunk;
    if (n > want)
        n = want;
    if (n > size)
        n = size;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* Reads r to its end; a hash of every row, bad row, line and the end. */
static uint64_t drain(cvg_rows_t *r, int *end)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < MAX_ROWS; i++) {
        json_t *row = NULL;
        cvg_err_t err;
        cvg_err_clear(&err);
        int rc = cvg_rows_next(r, &row, &err);
        unsigned long line = cvg_rows_line(r);
        h = mix(h, &rc, sizeof(rc));
        h = mix(h, &line, sizeof(line));
        if (rc == 0) {
            char *text = json_dumps(row, JSON_COMPACT | JSON_ENCODE_ANY);
            if (text == NULL)
                abort();
            h = mix(h, text, strlen(text));
            free(text);
            json_decref(row);
            continue;
        }
        if (row != NULL)
            abort(); /* rows.h: NULL unless 0 is returned */
        h = mix(h, err.message, strlen(err.message));
        if (rc != CVG_ROWS_BAD) {
            *end = rc;
            size_t n = 0;
            const char *const *cols = cvg_rows_columns(r, &n);
            for (size_t c = 0; c < n; c++)
                h = mix(h, cols[c], strlen(cols[c]) + 1);
            return h;
        }
    }
    *end = 1000;
    return h;
}

/* in gzip-compressed into a new buffer of *len bytes, in one member or two. */
static unsigned char *gzip(const unsigned char *in, size_t n, bool two, size_t *len)
{
    size_t cut = two ? n / 2 : n;
    size_t room = n + n / 8 + 256; /* over deflateBound for a member */
    unsigned char *out = malloc(2 * room);
    if (out == NULL)
        abort();
    *len = 0;
    for (int m = 0; m < (two ? 2 : 1); m++) {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            abort();
        zs.next_in = (Bytef *)(uintptr_t)(m == 0 ? in : in + cut);
        zs.avail_in = (uInt)(m == 0 ? cut : n - cut);
        zs.next_out = out + *len;
        zs.avail_out = (uInt)room;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
            abort();
        *len += zs.total_out;
        deflateEnd(&zs);
    }
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const char *const names[] = {"rows.csv", "rows.jsonl", "rows.csv.gz", "rows.NDJSON"};
    static const char delims[] = {',', ';', '\t', '|', ' ', '\'', '"', '\n'};
    uint8_t flags = data[0];
    cvg_rows_opts_t opts = {0};
    const char *name = names[flags & 3];
    if ((flags & 3) < 2)
        opts.format = (flags & 3) == 0 ? CVG_ROWS_CSV : CVG_ROWS_JSONL;
    opts.delimiter = delims[(flags >> 4) & 7];
    if (flags & 8) {
        opts.max_record = 64;
        opts.max_columns = 4;
        opts.max_depth = 3;
        opts.max_inflated = 4096;
    }
    const unsigned char *body = data + 2;
    size_t len = size - 2;
    unsigned char *packed = NULL;
    if (flags & 4)
        body = packed = gzip(body, len, flags & 0x80, &len);

    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_rows_t *whole = cvg_rows_new_mem(body, len, name, &opts, &err);
    source_t src = {.data = body, .len = len, .chunk = 1 + (data[1] & 0x3f)};
    cvg_rows_t *chunked = cvg_rows_new(source_read, &src, name, &opts, &err);
    if ((whole == NULL) != (chunked == NULL))
        abort();
    if (whole != NULL) {
        int end_whole = 0, end_chunked = 0;
        uint64_t a = drain(whole, &end_whole);
        uint64_t b = drain(chunked, &end_chunked);
        /* A corrupt or oversized gzip stream fails the reading, but the
         * rows inflated before the failure (and a CSV header made of them)
         * depend on where the reads cut it: what inflate produced in the
         * failing call is dropped. The loader rolls such a load back, so
         * such readings are not compared. */
        bool gz_failed =
            cvg_rows_compressed(whole) && (end_whole == CVG_EPROTO || end_whole == CVG_ETOOBIG ||
                                           end_chunked == CVG_EPROTO || end_chunked == CVG_ETOOBIG);
        if (!gz_failed && (a != b || end_whole != end_chunked)) {
            fprintf(stderr, "read in chunks of at most %zu: end %d, from memory: end %d%s\n",
                    src.chunk, end_chunked, end_whole, a != b ? "; the rows differ" : "");
            abort();
        }
        if (cvg_rows_compressed(whole) != cvg_rows_compressed(chunked))
            abort();
    }
    cvg_rows_destroy(&whole);
    cvg_rows_destroy(&chunked);
    free(packed);
    return 0;
}
