/*
 * Rows of CSV or JSON Lines files for the file loader processors, read as a
 * stream from a pull callback (a file, a memory buffer, an HTTP body) and
 * inflated on the way when gzip-compressed. Every row comes out as a JSON
 * object; a malformed row is reported and skipped, the stream goes on.
 */
#ifndef CVG_ROWS_H
#define CVG_ROWS_H

#include "common/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CVG_ROWS_MAX_RECORD   (1024 * 1024)       /* bytes in a CSV record or JSONL line */
#define CVG_ROWS_MAX_COLUMNS  1024                /* CSV columns, JSONL object members */
#define CVG_ROWS_MAX_INFLATED ((uint64_t)1 << 30) /* bytes a gzip input may inflate to */

/* What cvg_rows_next returns besides 0 (a row) and negative CVG_E* codes. */
enum {
    CVG_ROWS_END = 1, /* no more rows */
    CVG_ROWS_BAD = 2  /* a malformed row was skipped: err says where and why */
};

typedef enum cvg_rows_format {
    CVG_ROWS_AUTO = 0, /* from the name: .csv, .jsonl, .ndjson (each maybe .gz) */
    CVG_ROWS_CSV,      /* RFC 4180 with a header line */
    CVG_ROWS_JSONL     /* one JSON object per line */
} cvg_rows_format_t;

/* Options; all zeros (or a NULL pointer) means the defaults. */
typedef struct cvg_rows_opts {
    cvg_rows_format_t format; /* CVG_ROWS_AUTO: from the name */
    char delimiter;           /* CSV field separator; 0 means ',' */
    size_t max_record;        /* 0 means CVG_ROWS_MAX_RECORD; a CSV record's
                                 fields count one byte each on top */
    size_t max_columns;       /* 0 means CVG_ROWS_MAX_COLUMNS */
    uint64_t max_inflated;    /* 0 means CVG_ROWS_MAX_INFLATED */
    int max_depth;            /* JSONL nesting; 0 means CVG_JSON_MAX_DEPTH */
} cvg_rows_opts_t;

/* Reads up to size bytes into buf: the count, 0 at the end, -1 on error. */
typedef ssize_t (*cvg_rows_read_fn)(void *ud, void *buf, size_t size);

typedef struct cvg_rows cvg_rows_t;

/* The format a file name says (case does not matter, a trailing .gz is
 * looked through), or CVG_ROWS_AUTO when it says none. */
cvg_rows_format_t cvg_rows_format_from_name(const char *name);

/*
 * A reader pulling bytes from read(ud, ...); ud is borrowed and must
 * outlive the reader. name (borrowed for the call, may be NULL) is the file
 * name or object key: it picks the format when opts->format is
 * CVG_ROWS_AUTO. gzip is recognised by its magic bytes whatever the name.
 * NULL on failure, with err set: CVG_EINVAL (no format, bad delimiter),
 * CVG_ENOMEM.
 */
cvg_rows_t *cvg_rows_new(cvg_rows_read_fn read, void *ud, const char *name,
                         const cvg_rows_opts_t *opts, cvg_err_t *err);

/* A reader of the file at path (the reader owns the descriptor). NULL on
 * failure: CVG_ENOTFOUND, CVG_EIO, and those of cvg_rows_new. */
cvg_rows_t *cvg_rows_new_file(const char *path, const cvg_rows_opts_t *opts, cvg_err_t *err);

/* A reader of len bytes at data, borrowed (it must outlive the reader). */
cvg_rows_t *cvg_rows_new_mem(const void *data, size_t len, const char *name,
                             const cvg_rows_opts_t *opts, cvg_err_t *err);

/*
 * The next row, as a new reference in *row (json_decref it), NULL unless 0
 * is returned. The first call reads the CSV header.
 *
 * CSV: an object {column: value} in header order. A value is the field's
 * text as a string, except an empty unquoted field, which is null: `a,,b`
 * has a null middle field, `a,"",b` an empty string. JSONL: the object on
 * the line, as parsed (duplicate keys refused). Blank lines are skipped in
 * both formats; a UTF-8 byte order mark at the start is dropped. An empty
 * CSV input has no header and no rows: CVG_ROWS_END at once.
 *
 * Returns:
 *   0             a row
 *   CVG_ROWS_END  no more rows (again on every later call)
 *   CVG_ROWS_BAD  the row starting at cvg_rows_line was malformed and is
 *                 skipped; err->message says why ("line 17: 5 fields,
 *                 header has 7"); call again for the next row
 *   < 0           the stream cannot go on; the same code on every later
 *                 call: CVG_EINVAL (bad header: empty, duplicate or non
 *                 UTF-8 name), CVG_ETOOBIG (record over max_record, header
 *                 over max_columns, inflated size over max_inflated),
 *                 CVG_EPROTO (corrupt or truncated gzip, a quoted field
 *                 still open at the end), CVG_EIO (the source failed),
 *                 CVG_ENOMEM
 */
int cvg_rows_next(cvg_rows_t *r, json_t **row, cvg_err_t *err);

/* The physical line (1-based) where the row last returned by cvg_rows_next
 * (good or bad) started; 0 before the first. */
unsigned long cvg_rows_line(const cvg_rows_t *r);

/* The CSV header's column names, borrowed until cvg_rows_destroy, and their
 * count in *count. Empty (*count 0) for JSONL and before the first
 * cvg_rows_next. */
const char *const *cvg_rows_columns(const cvg_rows_t *r, size_t *count);

/* The format being read: CVG_ROWS_CSV or CVG_ROWS_JSONL. */
cvg_rows_format_t cvg_rows_format(const cvg_rows_t *r);

/* True when the input turned out gzip-compressed (known after the first
 * cvg_rows_next). */
bool cvg_rows_compressed(const cvg_rows_t *r);

/* Frees the reader, its buffers and the file it opened; never the
 * callback's ud. Accepts NULL. */
void cvg_rows_destroy(cvg_rows_t **r);

#endif
