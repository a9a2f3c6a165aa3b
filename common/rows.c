/*
 * Rows of CSV or JSON Lines files (see rows.h): bytes come through the gzip
 * reader (gz.c) into one chunk buffer; CSV records are cut by the parser in
 * csv.c and mapped onto the header, JSONL lines are parsed by jansson.
 */
#include "common/rows.h"
#include "common/utf8.h"
#include "common/buf.h"
#include "common/csv.h"
#include "common/gz.h"
#include "common/json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROWS_CHUNK (64 * 1024)

/* csv_record's end of input, apart from CVG_CSV_RECORD and CVG_CSV_BAD. */
#define CSV_END 3

struct cvg_rows {
    cvg_rows_format_t format; /* CVG_ROWS_CSV or CVG_ROWS_JSONL */
    size_t max_columns;       /* CSV columns, JSONL object members */
    int max_depth;            /* JSONL nesting */
    cvg_gz_t *gz;             /* the source, inflated when gzip */
    int fd;                   /* owned descriptor (new_file), else -1 */
    int read_errno;           /* errno of the descriptor's failed read */
    const char *mem;          /* borrowed bytes (new_mem) */
    size_t mem_len;           /* their length */
    size_t mem_pos;           /* next byte to hand out */
    char *chunk;              /* bytes read from gz */
    size_t len;               /* bytes in chunk */
    size_t pos;               /* next byte of chunk to parse */
    bool started;             /* the first chunk was read (BOM checked) */
    cvg_csv_t *csv;           /* CSV: the record parser */
    char **columns;           /* CSV: the header's names, owned */
    size_t ncolumns;          /* their count */
    bool header_read;         /* CSV: the first record was taken as header */
    cvg_buf_t line;           /* JSONL: the line being read */
    unsigned long line_no;    /* JSONL: lines read so far */
    unsigned long row_line;   /* where the last returned row started */
    bool ended;               /* CVG_ROWS_END was returned */
    cvg_err_t failure;        /* the final error; code 0 until then */
};

cvg_rows_format_t cvg_rows_format_from_name(const char *name)
{
    if (name == NULL)
        return CVG_ROWS_AUTO;
    size_t n = strlen(name);
    if (n > 3 && strcasecmp(name + n - 3, ".gz") == 0)
        n -= 3;
    static const struct {
        const char *ext;
        cvg_rows_format_t format;
    } exts[] = {{".csv", CVG_ROWS_CSV}, {".jsonl", CVG_ROWS_JSONL}, {".ndjson", CVG_ROWS_JSONL}};
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t e = strlen(exts[i].ext);
        if (n > e && strncasecmp(name + n - e, exts[i].ext, e) == 0)
            return exts[i].format;
    }
    return CVG_ROWS_AUTO;
}

/* ---- sources -------------------------------------------------------- */

static ssize_t fd_read(void *ud, void *buf, size_t size)
{
    cvg_rows_t *r = ud;
    ssize_t n;
    do {
        n = read(r->fd, buf, size);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        r->read_errno = errno;
        return -1;
    }
    return n;
}

static ssize_t mem_read(void *ud, void *buf, size_t size)
{
    cvg_rows_t *r = ud;
    size_t n = r->mem_len - r->mem_pos;
    if (n > size)
        n = size;
    if (n > 0)
        memcpy(buf, r->mem + r->mem_pos, n);
    r->mem_pos += n;
    return (ssize_t)n;
}

/* ---- life cycle ----------------------------------------------------- */

/* Everything but the source; NULL with err set. */
static cvg_rows_t *create(const char *name, const cvg_rows_opts_t *opts, cvg_err_t *err)
{
    cvg_rows_opts_t o = {0};
    if (opts)
        o = *opts;
    if (o.format == CVG_ROWS_AUTO)
        o.format = cvg_rows_format_from_name(name);
    if (o.format != CVG_ROWS_CSV && o.format != CVG_ROWS_JSONL) {
        cvg_err_set(err, CVG_EINVAL, "format",
                    "cannot tell the format of '%s': expected a name ending in .csv, .jsonl "
                    "or .ndjson (each optionally followed by .gz)",
                    name ? name : "");
        return NULL;
    }
    if (o.delimiter == 0)
        o.delimiter = ',';
    if (o.delimiter == '"' || o.delimiter == '\r' || o.delimiter == '\n') {
        cvg_err_set(err, CVG_EINVAL, "delimiter",
                    "a CSV delimiter cannot be a quote or line break");
        return NULL;
    }
    size_t max_record = o.max_record ? o.max_record : CVG_ROWS_MAX_RECORD;
    cvg_rows_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto nomem;
    r->format = o.format;
    r->max_columns = o.max_columns ? o.max_columns : CVG_ROWS_MAX_COLUMNS;
    r->max_depth = o.max_depth > 0 ? o.max_depth : CVG_JSON_MAX_DEPTH;
    r->fd = -1;
    cvg_buf_init(&r->line, max_record);
    r->chunk = malloc(ROWS_CHUNK);
    if (r->chunk == NULL)
        goto nomem;
    if (r->format == CVG_ROWS_CSV) {
        r->csv = cvg_csv_new(o.delimiter, max_record, r->max_columns);
        if (r->csv == NULL)
            goto nomem;
    }
    return r;
nomem:
    cvg_rows_destroy(&r);
    cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    return NULL;
}

/* Connects the source; destroys r and returns NULL when out of memory. */
static cvg_rows_t *attach(cvg_rows_t *r, cvg_rows_read_fn read, void *ud,
                          const cvg_rows_opts_t *opts, cvg_err_t *err)
{
    uint64_t max = opts && opts->max_inflated ? opts->max_inflated : CVG_ROWS_MAX_INFLATED;
    r->gz = cvg_gz_new(read, ud, max);
    if (r->gz == NULL) {
        cvg_rows_destroy(&r);
        cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    }
    return r;
}

cvg_rows_t *cvg_rows_new(cvg_rows_read_fn read, void *ud, const char *name,
                         const cvg_rows_opts_t *opts, cvg_err_t *err)
{
    cvg_rows_t *r = create(name, opts, err);
    return r ? attach(r, read, ud, opts, err) : NULL;
}

cvg_rows_t *cvg_rows_new_mem(const void *data, size_t len, const char *name,
                             const cvg_rows_opts_t *opts, cvg_err_t *err)
{
    cvg_rows_t *r = create(name, opts, err);
    if (r == NULL)
        return NULL;
    r->mem = data;
    r->mem_len = len;
    return attach(r, mem_read, r, opts, err);
}

cvg_rows_t *cvg_rows_new_file(const char *path, const cvg_rows_opts_t *opts, cvg_err_t *err)
{
    cvg_rows_t *r = create(path, opts, err);
    if (r == NULL)
        return NULL;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        cvg_err_set(err, errno == ENOENT ? CVG_ENOTFOUND : CVG_EIO, "path", "cannot open %s: %s",
                    path, strerror(errno));
        cvg_rows_destroy(&r);
        return NULL;
    }
    struct stat st;
    if (fstat(r->fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        cvg_err_set(err, CVG_EIO, "path", "%s is a directory or cannot be read", path);
        cvg_rows_destroy(&r);
        return NULL;
    }
    return attach(r, fd_read, r, opts, err);
}

void cvg_rows_destroy(cvg_rows_t **r)
{
    if (r == NULL || *r == NULL)
        return;
    cvg_rows_t *p = *r;
    cvg_gz_destroy(&p->gz);
    if (p->fd >= 0)
        close(p->fd);
    free(p->chunk);
    cvg_csv_destroy(&p->csv);
    for (size_t i = 0; i < p->ncolumns; i++)
        free(p->columns[i]);
    free(p->columns);
    cvg_buf_cleanup(&p->line);
    free(p);
    *r = NULL;
}

unsigned long cvg_rows_line(const cvg_rows_t *r)
{
    return r->row_line;
}

const char *const *cvg_rows_columns(const cvg_rows_t *r, size_t *count)
{
    *count = r->ncolumns;
    return (const char *const *)r->columns;
}

cvg_rows_format_t cvg_rows_format(const cvg_rows_t *r)
{
    return r->format;
}

bool cvg_rows_compressed(const cvg_rows_t *r)
{
    return cvg_gz_compressed(r->gz);
}

/* ---- bytes ---------------------------------------------------------- */

/* Refills chunk; pos == len afterwards only at the end of the input. The
 * first fill drops a UTF-8 byte order mark. */
static int fill(cvg_rows_t *r, cvg_err_t *err)
{
    size_t want = r->started ? 1 : 3;
    r->pos = 0;
    r->len = 0;
    while (r->len < want) {
        size_t got = 0;
        int rc = cvg_gz_read(r->gz, r->chunk + r->len, ROWS_CHUNK - r->len, &got, err);
        if (rc != 0) {
            if (rc == CVG_EIO && r->read_errno != 0 && err)
                snprintf(err->message, sizeof(err->message), "reading the input failed: %s",
                         strerror(r->read_errno));
            return rc;
        }
        if (got == 0)
            break;
        r->len += got;
    }
    if (!r->started) {
        r->started = true;
        if (r->len >= 3 && memcmp(r->chunk, "\xef\xbb\xbf", 3) == 0)
            r->pos = 3;
        if (r->pos == r->len && r->len > 0)
            return fill(r, err); /* the mark alone: read on */
    }
    return 0;
}

/* ---- text checks ---------------------------------------------------- */

/* ---- CSV ------------------------------------------------------------ */

/* The next CSV record: CVG_CSV_RECORD, CVG_CSV_BAD, CSV_END or a CVG_E*. */
static int csv_record(cvg_rows_t *r, cvg_err_t *err)
{
    for (;;) {
        if (r->pos == r->len) {
            int rc = fill(r, err);
            if (rc != 0)
                return rc;
            if (r->pos == r->len) {
                rc = cvg_csv_finish(r->csv, err);
                return rc == CVG_CSV_MORE ? CSV_END : rc;
            }
        }
        size_t used = 0;
        int rc = cvg_csv_feed(r->csv, r->chunk + r->pos, r->len - r->pos, &used, err);
        r->pos += used;
        if (rc != CVG_CSV_MORE)
            return rc;
    }
}

/* Takes the first record as the header: names non-empty, unique, UTF-8. */
static int read_header(cvg_rows_t *r, cvg_err_t *err)
{
    int rc = csv_record(r, err);
    if (rc == CSV_END)
        return CVG_ROWS_END;
    if (rc < 0)
        return rc;
    r->row_line = cvg_csv_line(r->csv);
    if (rc == CVG_CSV_BAD) {
        char why[CVG_ERR_MSG_MAX];
        snprintf(why, sizeof(why), "%s", err->message);
        return cvg_err_set(err, err->code, "", "bad header: %s", why);
    }
    size_t n = cvg_csv_fields(r->csv);
    r->columns = calloc(n, sizeof(*r->columns));
    json_t *seen = json_object();
    if (r->columns == NULL || seen == NULL) {
        json_decref(seen);
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    }
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = 0;
        const char *name = cvg_csv_field(r->csv, i, &len, NULL);
        if (len == 0) {
            rc = cvg_err_set(err, CVG_EINVAL, "", "header column %zu has no name", i + 1);
        } else if (strlen(name) != len || !cvg_utf8_valid(name, len)) {
            rc = cvg_err_set(err, CVG_EINVAL, "", "header column %zu is not valid UTF-8", i + 1);
        } else if (memchr(name, '\r', len) != NULL) {
            /* the whole file read as one line */
            rc = cvg_err_set(err, CVG_EINVAL, "",
                             "header column %zu has a carriage return: the file's lines end "
                             "with CR alone (old Mac line ends); save it with LF or CRLF line "
                             "ends",
                             i + 1);
        } else if (json_object_get(seen, name) != NULL) {
            rc = cvg_err_set(err, CVG_EINVAL, name, "header column %zu '%s' repeats column %lld",
                             i + 1, name,
                             (long long)json_integer_value(json_object_get(seen, name)));
        } else if ((r->columns[i] = strdup(name)) == NULL ||
                   json_object_set_new(seen, name, json_integer((json_int_t)i + 1)) != 0) {
            rc = cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
        }
        if (r->columns[i] != NULL)
            r->ncolumns = i + 1;
    }
    json_decref(seen);
    if (rc != 0) {
        /* No half header for cvg_rows_columns to show. */
        for (size_t i = 0; i < r->ncolumns; i++)
            free(r->columns[i]);
        r->ncolumns = 0;
    }
    return rc;
}

/* The last record as an object on the header, or CVG_ROWS_BAD. */
static int csv_row(cvg_rows_t *r, json_t **row, cvg_err_t *err)
{
    size_t n = cvg_csv_fields(r->csv);
    if (n != r->ncolumns) {
        cvg_err_set(err, CVG_EINVAL, "", "line %lu: %zu field%s, header has %zu", r->row_line, n,
                    n == 1 ? "" : "s", r->ncolumns);
        return CVG_ROWS_BAD;
    }
    json_t *obj = json_object();
    if (obj == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        bool quoted = false;
        const char *text = cvg_csv_field(r->csv, i, &len, &quoted);
        json_t *value;
        if (len == 0 && !quoted) {
            value = json_null();
        } else if (!cvg_utf8_valid(text, len)) {
            json_decref(obj);
            cvg_err_set(err, CVG_EINVAL, r->columns[i], "line %lu: column '%s' is not valid UTF-8",
                        r->row_line, r->columns[i]);
            return CVG_ROWS_BAD;
        } else {
            /* Checked just above. */
            value = json_stringn_nocheck(text, len);
        }
        if (value == NULL || json_object_set_new_nocheck(obj, r->columns[i], value) != 0) {
            json_decref(obj);
            return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
        }
    }
    *row = obj;
    return 0;
}

static int next_csv(cvg_rows_t *r, json_t **row, cvg_err_t *err)
{
    if (!r->header_read) {
        r->header_read = true;
        int rc = read_header(r, err);
        if (rc != 0)
            return rc;
    }
    int rc = csv_record(r, err);
    if (rc == CSV_END)
        return CVG_ROWS_END;
    if (rc < 0)
        return rc;
    r->row_line = cvg_csv_line(r->csv);
    if (rc == CVG_CSV_BAD)
        return CVG_ROWS_BAD;
    return csv_row(r, row, err);
}

/* ---- JSON Lines ----------------------------------------------------- */

/* The next line, without its LF, into r->line: 0, CVG_ROWS_END or < 0. */
static int jsonl_line(cvg_rows_t *r, cvg_err_t *err)
{
    cvg_buf_reset(&r->line);
    bool any = false;
    for (;;) {
        if (r->pos == r->len) {
            int rc = fill(r, err);
            if (rc != 0)
                return rc;
            if (r->pos == r->len) {
                if (!any)
                    return CVG_ROWS_END;
                r->line_no++;
                return 0;
            }
        }
        const char *start = r->chunk + r->pos;
        const char *nl = memchr(start, '\n', r->len - r->pos);
        size_t n = nl ? (size_t)(nl - start) : r->len - r->pos;
        if (cvg_buf_append(&r->line, start, n) != 0) {
            if (r->line.overflow)
                return cvg_err_set(err, CVG_ETOOBIG, "",
                                   "line %lu: longer than the limit of %zu bytes", r->line_no + 1,
                                   r->line.max);
            return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
        }
        any = true;
        r->pos += n;
        if (nl) {
            r->pos++;
            r->line_no++;
            return 0;
        }
    }
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    default:
        return "an object";
    }
}

static int next_jsonl(cvg_rows_t *r, json_t **row, cvg_err_t *err)
{
    for (;;) {
        int rc = jsonl_line(r, err);
        if (rc != 0)
            return rc;
        const char *text = cvg_buf_cstr(&r->line);
        size_t len = r->line.len;
        while (len > 0 && (text[len - 1] == '\r' || text[len - 1] == ' ' || text[len - 1] == '\t'))
            len--;
        size_t lead = 0;
        while (lead < len && (text[lead] == ' ' || text[lead] == '\t'))
            lead++;
        if (lead == len)
            continue; /* blank */
        r->row_line = r->line_no;
        if (cvg_json_depth(text, len) > r->max_depth) {
            cvg_err_set(err, CVG_ETOOBIG, "", "line %lu: JSON nested deeper than %d levels",
                        r->line_no, r->max_depth);
            return CVG_ROWS_BAD;
        }
        json_error_t jerr;
        json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (doc == NULL) {
            cvg_err_set(err, CVG_EINVAL, "", "line %lu: malformed JSON at column %d: %s",
                        r->line_no, jerr.column, jerr.text);
            return CVG_ROWS_BAD;
        }
        if (!json_is_object(doc)) {
            cvg_err_set(err, CVG_EINVAL, "", "line %lu: %s, not a JSON object", r->line_no,
                        json_kind(doc));
            json_decref(doc);
            return CVG_ROWS_BAD;
        }
        if (json_object_size(doc) > r->max_columns) {
            cvg_err_set(err, CVG_ETOOBIG, "", "line %lu: %zu members, over the limit of %zu",
                        r->line_no, json_object_size(doc), r->max_columns);
            json_decref(doc);
            return CVG_ROWS_BAD;
        }
        *row = doc;
        return 0;
    }
}

/* ---- rows ----------------------------------------------------------- */

int cvg_rows_next(cvg_rows_t *r, json_t **row, cvg_err_t *err)
{
    *row = NULL;
    if (r->failure.code != 0) {
        if (err)
            *err = r->failure;
        return r->failure.code;
    }
    if (r->ended)
        return CVG_ROWS_END;
    cvg_err_t e;
    cvg_err_clear(&e);
    int rc = r->format == CVG_ROWS_CSV ? next_csv(r, row, &e) : next_jsonl(r, row, &e);
    if (rc < 0) {
        if (e.code == 0)
            cvg_err_set(&e, rc, "", "%s", cvg_strerror(rc));
        r->failure = e;
    }
    if (rc == CVG_ROWS_END)
        r->ended = true;
    if (rc != 0 && rc != CVG_ROWS_END && err)
        *err = e;
    return rc;
}
