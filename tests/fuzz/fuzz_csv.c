/*
 * Fuzz target: the CSV record parser (common/csv.c) on the bytes of a file a
 * tenant loads. The first 4 bytes pick the parser's settings (delimiter,
 * record and field limits, chunk sizes); the rest is the CSV text. It is
 * parsed twice, once in one push and once in pushes of 1 to 64 bytes, and
 * the two readings must be the same record for record: csv.h promises
 * chunks of any size. Every field handed out is read whole, and must end
 * with the NUL csv.h promises, so a wrong offset or length shows up here.
 */
#include "common/csv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 4096

/* What a reading produced, as a hash per record, to compare two readings. */
typedef struct reading {
    size_t n;
    uint64_t events[MAX_EVENTS];
    int final; /* the code that ended the reading */
} reading_t;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* Hashes the complete record (rc is CVG_CSV_RECORD or CVG_CSV_BAD), reading
 * every byte of every field. */
static void record(reading_t *r, const cvg_csv_t *p, int rc, const cvg_err_t *err)
{
    uint64_t h = mix(14695981039346656037ULL, &rc, sizeof(rc));
    unsigned long line = cvg_csv_line(p);
    h = mix(h, &line, sizeof(line));
    size_t n = cvg_csv_fields(p);
    h = mix(h, &n, sizeof(n));
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        bool quoted = false;
        const char *f = cvg_csv_field(p, i, &len, &quoted);
        if (f[len] != '\0') {
            fprintf(stderr, "field %zu of %zu is not NUL-terminated at its length %zu\n", i, n,
                    len);
            abort();
        }
        h = mix(h, f, len);
        h = mix(h, &quoted, sizeof(quoted));
    }
    if (rc == CVG_CSV_BAD)
        h = mix(h, err->message, strlen(err->message));
    if (r->n < MAX_EVENTS)
        r->events[r->n++] = h;
}

/* Reads text with the settings, pushing chunks of at most `chunk` bytes (0:
 * all at once), the sizes varied by `step`. */
static void parse(reading_t *r, const uint8_t *cfg, const char *text, size_t len, size_t chunk)
{
    static const char delims[] = {',', ';', '\t', '|', ' ', '\0', 'a', '\x80'};
    size_t max_record = (size_t)(cfg[1] & 0x0f) * 16 + 1 + (cfg[1] & 0x10 ? 1024 * 1024 : 0);
    size_t max_fields = (size_t)(cfg[2] & 0x3f) + 1 + (cfg[2] & 0x40 ? 1024 : 0);
    memset(r, 0, sizeof(*r));
    cvg_csv_t *p = cvg_csv_new(delims[cfg[0] & 7], max_record, max_fields);
    if (p == NULL)
        abort();
    cvg_err_t err;
    size_t pos = 0, turn = 0;
    int rc = 0;
    while (pos < len) {
        size_t n = len - pos;
        if (chunk > 0) {
            size_t want = 1 + (cfg[3] + turn++ * 7) % chunk;
            n = n < want ? n : want;
        }
        size_t used = 0;
        cvg_err_clear(&err);
        rc = cvg_csv_feed(p, text + pos, n, &used, &err);
        if (used > n)
            abort();
        pos += used;
        if (rc < 0)
            break;
        if (rc == CVG_CSV_RECORD || rc == CVG_CSV_BAD)
            record(r, p, rc, &err);
        else if (used != n)
            abort(); /* CVG_CSV_MORE promises every byte was used */
    }
    if (rc >= 0) {
        cvg_err_clear(&err);
        rc = cvg_csv_finish(p, &err);
        if (rc == CVG_CSV_RECORD || rc == CVG_CSV_BAD)
            record(r, p, rc, &err);
    }
    r->final = rc;
    cvg_csv_destroy(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    static reading_t whole, chunked;
    const char *text = (const char *)data + 4;
    size_t len = size - 4;
    parse(&whole, data, text, len, 0);
    parse(&chunked, data, text, len, 1 + (data[3] & 63));
    if (whole.final != chunked.final || whole.n != chunked.n ||
        memcmp(whole.events, chunked.events, whole.n * sizeof(whole.events[0])) != 0) {
        fprintf(stderr, "chunked reading differs: %zu records (end %d) against %zu (end %d)\n",
                chunked.n, chunked.final, whole.n, whole.final);
        abort();
    }
    return 0;
}
