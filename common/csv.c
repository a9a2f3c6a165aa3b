/*
 * CSV records (see csv.h): a byte-at-a-time state machine that copies runs
 * of ordinary bytes in one go.
 */
#include "common/csv.h"
#include "common/buf.h"

#include <stdlib.h>

enum {
    ST_FIELD,  /* at the start of a field */
    ST_PLAIN,  /* inside an unquoted field */
    ST_QUOTED, /* inside a quoted field */
    ST_QUOTE,  /* a '"' inside a quoted field: an escape or the closing one */
    ST_CR      /* a CR outside quotes: a line end when LF follows */
};

typedef struct field {
    size_t start; /* offset in text */
    size_t len;   /* bytes, not counting the terminator */
    bool quoted;  /* written in quotes */
} field_t;

struct cvg_csv {
    char delim;                /* field separator */
    size_t max_fields;         /* fields kept per record */
    cvg_buf_t text;            /* the record's fields, each NUL-terminated */
    field_t *fields;           /* the first max_fields fields */
    size_t cap;                /* entries allocated in fields */
    size_t nfields;            /* fields seen in the record, kept or not */
    size_t field_start;        /* offset in text of the field being read */
    bool field_quoted;         /* the field being read was opened by '"' */
    int state;                 /* ST_* */
    int cr_from;               /* the state a CR interrupted */
    bool any;                  /* the record has a byte other than a line end */
    bool done;                 /* the record is complete; reset at next feed */
    size_t junk_field;         /* 1-based field with bytes after its closing quote */
    unsigned long line;        /* physical line being read */
    unsigned long record_line; /* line where the record started */
    unsigned long quote_line;  /* line where the open quoted field started */
    int failed;                /* the final error code, once failed */
};

cvg_csv_t *cvg_csv_new(char delim, size_t max_record, size_t max_fields)
{
    cvg_csv_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->delim = delim;
    p->max_fields = max_fields;
    cvg_buf_init(&p->text, max_record);
    p->state = ST_FIELD;
    p->line = 1;
    return p;
}

void cvg_csv_destroy(cvg_csv_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    cvg_buf_cleanup(&(*p)->text);
    free((*p)->fields);
    free(*p);
    *p = NULL;
}

size_t cvg_csv_fields(const cvg_csv_t *p)
{
    return p->nfields < p->max_fields ? p->nfields : p->max_fields;
}

const char *cvg_csv_field(const cvg_csv_t *p, size_t i, size_t *len, bool *quoted)
{
    const field_t *f = &p->fields[i];
    if (len)
        *len = f->len;
    if (quoted)
        *quoted = f->quoted;
    return p->text.data + f->start;
}

unsigned long cvg_csv_line(const cvg_csv_t *p)
{
    return p->record_line;
}

static void reset_record(cvg_csv_t *p)
{
    cvg_buf_reset(&p->text);
    p->nfields = 0;
    p->field_start = 0;
    p->field_quoted = false;
    p->state = ST_FIELD;
    p->any = false;
    p->done = false;
    p->junk_field = 0;
}

/* Marks the record as started at the current line. */
static void begin(cvg_csv_t *p)
{
    if (!p->any) {
        p->any = true;
        p->record_line = p->line;
    }
}

static int fatal(cvg_csv_t *p, int code, cvg_err_t *err)
{
    p->failed = code;
    if (code == CVG_ETOOBIG)
        return cvg_err_set(err, code, "", "line %lu: record longer than the limit of %zu bytes",
                           p->record_line, p->text.max);
    return cvg_err_set(err, code, "", "line %lu: out of memory", p->record_line);
}

static int append(cvg_csv_t *p, const char *data, size_t n, cvg_err_t *err)
{
    int rc = cvg_buf_append(&p->text, data, n);
    return rc == 0 ? 0 : fatal(p, rc, err);
}

/* Closes the field being read: its terminator, and its place in fields. */
static int end_field(cvg_csv_t *p, cvg_err_t *err)
{
    int rc = append(p, "", 1, err);
    if (rc != 0)
        return rc;
    if (p->nfields < p->max_fields) {
        if (p->nfields == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 16;
            if (cap > p->max_fields)
                cap = p->max_fields;
            field_t *fields = realloc(p->fields, cap * sizeof(*fields));
            if (fields == NULL)
                return fatal(p, CVG_ENOMEM, err);
            p->fields = fields;
            p->cap = cap;
        }
        field_t *f = &p->fields[p->nfields];
        f->start = p->field_start;
        f->len = p->text.len - 1 - p->field_start;
        f->quoted = p->field_quoted;
    }
    p->nfields++;
    p->field_start = p->text.len;
    p->field_quoted = false;
    p->state = ST_FIELD;
    return 0;
}

/* Closes the record: CVG_CSV_RECORD or CVG_CSV_BAD. */
static int end_record(cvg_csv_t *p, cvg_err_t *err)
{
    int rc = end_field(p, err);
    if (rc != 0)
        return rc;
    p->done = true;
    if (p->junk_field > 0) {
        cvg_err_set(err, CVG_EINVAL, "", "line %lu: field %zu: characters after the closing quote",
                    p->record_line, p->junk_field);
        return CVG_CSV_BAD;
    }
    if (p->nfields > p->max_fields) {
        cvg_err_set(err, CVG_ETOOBIG, "", "line %lu: %zu fields, over the limit of %zu",
                    p->record_line, p->nfields, p->max_fields);
        return CVG_CSV_BAD;
    }
    return CVG_CSV_RECORD;
}

/* A line break outside quotes: skips a blank line, ends any other record. */
static int end_line(cvg_csv_t *p, cvg_err_t *err)
{
    p->line++;
    if (!p->any) {
        p->state = ST_FIELD;
        return CVG_CSV_MORE;
    }
    return end_record(p, err);
}

/* Bytes up to the next delimiter or line break, appended in one go. */
static int plain_run(cvg_csv_t *p, const char *data, size_t len, size_t *i, cvg_err_t *err)
{
    size_t j = *i;
    while (j < len && data[j] != p->delim && data[j] != '\n' && data[j] != '\r')
        j++;
    int rc = append(p, data + *i, j - *i, err);
    *i = j;
    return rc;
}

/* Bytes up to the next quote, appended in one go; counts the lines. */
static int quoted_run(cvg_csv_t *p, const char *data, size_t len, size_t *i, cvg_err_t *err)
{
    size_t j = *i;
    while (j < len && data[j] != '"') {
        if (data[j] == '\n')
            p->line++;
        j++;
    }
    int rc = append(p, data + *i, j - *i, err);
    *i = j;
    return rc;
}

int cvg_csv_feed(cvg_csv_t *p, const char *data, size_t len, size_t *used, cvg_err_t *err)
{
    *used = 0;
    if (p->failed)
        return cvg_err_set(err, p->failed, "", "the CSV input already failed");
    if (p->done)
        reset_record(p);
    size_t i = 0;
    int rc = CVG_CSV_MORE;
    while (i < len && rc == CVG_CSV_MORE) {
        char c = data[i];
        switch (p->state) {
        case ST_FIELD:
            if (c == '\r') {
                p->cr_from = ST_FIELD;
                p->state = ST_CR;
                i++;
            } else if (c == '\n') {
                i++;
                rc = end_line(p, err);
            } else if (c == p->delim) {
                begin(p);
                i++;
                rc = end_field(p, err);
            } else if (c == '"') {
                begin(p);
                p->field_quoted = true;
                p->quote_line = p->line;
                p->state = ST_QUOTED;
                i++;
            } else {
                begin(p);
                p->state = ST_PLAIN;
            }
            break;
        case ST_PLAIN:
            rc = plain_run(p, data, len, &i, err);
            if (rc != 0 || i == len)
                break;
            if (data[i] == '\r') {
                p->cr_from = ST_PLAIN;
                p->state = ST_CR;
                i++;
            } else if (data[i] == '\n') {
                i++;
                rc = end_line(p, err);
            } else {
                i++;
                rc = end_field(p, err);
            }
            break;
        case ST_QUOTED:
            rc = quoted_run(p, data, len, &i, err);
            if (rc == 0 && i < len) {
                p->state = ST_QUOTE;
                i++;
            }
            break;
        case ST_QUOTE:
            if (c == '"') {
                rc = append(p, "\"", 1, err);
                p->state = ST_QUOTED;
                i++;
            } else if (c == p->delim) {
                i++;
                rc = end_field(p, err);
            } else if (c == '\n') {
                i++;
                rc = end_line(p, err);
            } else if (c == '\r') {
                p->cr_from = ST_QUOTE;
                p->state = ST_CR;
                i++;
            } else {
                /* Kept as text so the record stays in step; reported at
                 * its end. */
                if (p->junk_field == 0)
                    p->junk_field = p->nfields + 1;
                p->state = ST_PLAIN;
            }
            break;
        case ST_CR:
            if (c == '\n') {
                i++;
                rc = end_line(p, err);
                break;
            }
            /* A CR on its own is text; this byte is read again as text. */
            if (p->cr_from == ST_QUOTE && p->junk_field == 0)
                p->junk_field = p->nfields + 1;
            begin(p);
            rc = append(p, "\r", 1, err);
            p->state = ST_PLAIN;
            break;
        }
    }
    *used = i;
    return rc;
}

int cvg_csv_finish(cvg_csv_t *p, cvg_err_t *err)
{
    if (p->failed)
        return cvg_err_set(err, p->failed, "", "the CSV input already failed");
    if (p->done)
        reset_record(p);
    if (p->state == ST_QUOTED) {
        p->failed = CVG_EPROTO;
        return cvg_err_set(err, CVG_EPROTO, "",
                           "line %lu: the quoted field opened here is never closed "
                           "(the input ends inside it)",
                           p->quote_line);
    }
    if (!p->any)
        return CVG_CSV_MORE;
    return end_record(p, err);
}
