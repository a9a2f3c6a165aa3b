/*
 * CSV records (RFC 4180) from bytes pushed in chunks of any size: quoted
 * fields with "" escapes, delimiters and line breaks inside quotes, LF or
 * CRLF line ends. No I/O: the row reader (rows.c) feeds it. Bounded: a
 * record over its byte limit ends the stream, one over its field limit is
 * reported as a bad record and skipped.
 */
#ifndef CVG_CSV_H
#define CVG_CSV_H

#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>

/* What cvg_csv_feed and cvg_csv_finish return besides negative CVG_E*. */
enum {
    CVG_CSV_MORE = 0,   /* every byte was used, no record is complete yet */
    CVG_CSV_RECORD = 1, /* a record is complete: read it with cvg_csv_field */
    CVG_CSV_BAD = 2     /* a record is complete but malformed: err says why */
};

typedef struct cvg_csv cvg_csv_t;

/* A parser splitting fields at delim (not '"', CR or LF). A record's field
 * text may hold max_record bytes (counting one terminator per field) and
 * max_fields fields. NULL when out of memory. */
cvg_csv_t *cvg_csv_new(char delim, size_t max_record, size_t max_fields);

/* Parses data until a record ends or data runs out; *used says how many
 * bytes were taken (feed the rest next). CVG_CSV_MORE, CVG_CSV_RECORD,
 * CVG_CSV_BAD (the parser is in step again: go on feeding; err->code is
 * CVG_EINVAL for text after a closing quote, CVG_ETOOBIG for more than
 * max_fields fields), or CVG_ETOOBIG (a record over max_record) and
 * CVG_ENOMEM, which are final. Lines with
 * no byte at all are skipped, so a blank line is never a record. Messages
 * name the line: "line 3: field 2: ...". */
int cvg_csv_feed(cvg_csv_t *p, const char *data, size_t len, size_t *used, cvg_err_t *err);

/* Ends the input: completes a last record that has no line break after it.
 * CVG_CSV_RECORD, CVG_CSV_BAD, CVG_CSV_MORE when nothing was pending, or
 * CVG_EPROTO when the input ends inside a quoted field. */
int cvg_csv_finish(cvg_csv_t *p, cvg_err_t *err);

/* Fields in the last complete record. */
size_t cvg_csv_fields(const cvg_csv_t *p);

/* Field i (< cvg_csv_fields) of the last complete record: borrowed, valid
 * until the next feed, NUL-terminated (it may hold NULs too: use *len).
 * *quoted says whether it was written in quotes, so "" and an empty field
 * can be told apart. */
const char *cvg_csv_field(const cvg_csv_t *p, size_t i, size_t *len, bool *quoted);

/* Physical line (1-based) where the last complete record started. */
unsigned long cvg_csv_line(const cvg_csv_t *p);

/* Frees the parser; accepts NULL. */
void cvg_csv_destroy(cvg_csv_t **p);

#endif
