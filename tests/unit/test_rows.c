/*
 * The row reader: CSV quoting and line ends, JSON Lines, bad rows that are
 * skipped with their line number, gzip (concatenated, corrupt, too big),
 * the limits, and reading from memory, a callback and a file.
 */
#include "common/err.h"
#include "common/rows.h"
#include "tests/tests.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BAD 16

/* Everything a reader gave until it stopped. */
typedef struct outcome {
    json_t *rows;                       /* the good rows, in order */
    unsigned long lines[64];            /* line of each of the first 64 rows */
    char bad[MAX_BAD][CVG_ERR_MSG_MAX]; /* messages of the bad rows */
    unsigned long bad_lines[MAX_BAD];   /* their lines */
    int nbad;                           /* bad rows seen */
    int end;                            /* CVG_ROWS_END or the final error */
    cvg_err_t err;                      /* the final error */
} outcome_t;

/* Reads r to its end into o (free o->rows with json_decref). */
static void drain(cvg_rows_t *r, outcome_t *o)
{
    memset(o, 0, sizeof(*o));
    o->rows = json_array();
    for (;;) {
        json_t *row = NULL;
        cvg_err_t err;
        cvg_err_clear(&err);
        int rc = cvg_rows_next(r, &row, &err);
        if (rc == 0) {
            size_t n = json_array_size(o->rows);
            if (n < 64)
                o->lines[n] = cvg_rows_line(r);
            json_array_append_new(o->rows, row);
        } else if (rc == CVG_ROWS_BAD) {
            CU_ASSERT_PTR_NULL(row);
            if (o->nbad < MAX_BAD) {
                STRSET(o->bad[o->nbad], err.message);
                o->bad_lines[o->nbad] = cvg_rows_line(r);
            }
            o->nbad++;
        } else {
            CU_ASSERT_PTR_NULL(row);
            o->end = rc;
            o->err = err;
            return;
        }
    }
}

/* Reads len bytes of memory named name to the end. */
static void drain_mem(const void *data, size_t len, const char *name, const cvg_rows_opts_t *opts,
                      outcome_t *o)
{
    cvg_err_t err;
    cvg_rows_t *r = cvg_rows_new_mem(data, len, name, opts, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    drain(r, o);
    cvg_rows_destroy(&r);
    CU_ASSERT_PTR_NULL(r);
}

/* True when the rows equal the JSON array in expected. */
static int rows_are(const outcome_t *o, const char *expected)
{
    json_t *want = json_loads(expected, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    int same = json_equal(o->rows, want);
    if (!same) {
        char *got = json_dumps(o->rows, JSON_COMPACT);
        printf("\n  rows: %s\n  want: %s\n", got, expected);
        free(got);
    }
    json_decref(want);
    return same;
}

/* A source handing out at most step bytes a call; -1 at fail_at. */
typedef struct trickle {
    const unsigned char *data;
    size_t len;
    size_t pos;
    size_t step;
    size_t fail_at; /* offset where reading fails; 0 never */
} trickle_t;

static ssize_t trickle_read(void *ud, void *buf, size_t size)
{
    trickle_t *t = ud;
    if (t->fail_at > 0 && t->pos >= t->fail_at)
        return -1;
    size_t n = t->len - t->pos;
    if (n > t->step)
        n = t->step;
    if (n > size)
        n = size;
    memcpy(buf, t->data + t->pos, n);
    t->pos += n;
    return (ssize_t)n;
}

static const char quoted_csv[] = "\xef\xbb\xbf"
                                 "id,name,note\r\n"
                                 "1,\"Smith, John\",\"said \"\"hi\"\"\"\r\n"
                                 "2,\"two\r\nlines\",\r\n"
                                 "3,,\"\"\r\n"
                                 "4,plain text,\"x\"";

static const char quoted_rows[] =
    "[{\"id\":\"1\",\"name\":\"Smith, John\",\"note\":\"said \\\"hi\\\"\"},"
    " {\"id\":\"2\",\"name\":\"two\\r\\nlines\",\"note\":null},"
    " {\"id\":\"3\",\"name\":null,\"note\":\"\"},"
    " {\"id\":\"4\",\"name\":\"plain text\",\"note\":\"x\"}]";

static void test_rows_csv_quotes(void)
{
    outcome_t o;
    cvg_err_t err;
    cvg_rows_t *r = cvg_rows_new_mem(quoted_csv, strlen(quoted_csv), "costs.csv", NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(cvg_rows_format(r), CVG_ROWS_CSV);
    drain(r, &o);
    CU_ASSERT_EQUAL(o.end, CVG_ROWS_END);
    CU_ASSERT_EQUAL(o.nbad, 0);
    CU_ASSERT_TRUE(rows_are(&o, quoted_rows));
    /* The row with a line break inside quotes takes lines 3 and 4. */
    CU_ASSERT_EQUAL(o.lines[0], 2);
    CU_ASSERT_EQUAL(o.lines[1], 3);
    CU_ASSERT_EQUAL(o.lines[2], 5);
    CU_ASSERT_EQUAL(o.lines[3], 6);
    /* The byte order mark is not part of the first column's name. */
    size_t n = 0;
    const char *const *cols = cvg_rows_columns(r, &n);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_STRING_EQUAL(cols[0], "id");
    CU_ASSERT_STRING_EQUAL(cols[1], "name");
    CU_ASSERT_STRING_EQUAL(cols[2], "note");
    CU_ASSERT_FALSE(cvg_rows_compressed(r));
    /* The end is final. */
    json_t *row = NULL;
    CU_ASSERT_EQUAL(cvg_rows_next(r, &row, &err), CVG_ROWS_END);
    CU_ASSERT_PTR_NULL(row);
    json_decref(o.rows);
    cvg_rows_destroy(&r);
}

/* Any split of the input into reads gives the same rows and lines. */
static void test_rows_csv_any_read_size(void)
{
    for (size_t step = 1; step <= 17; step++) {
        trickle_t t = {(const unsigned char *)quoted_csv, strlen(quoted_csv), 0, step, 0};
        cvg_err_t err;
        cvg_rows_t *r = cvg_rows_new(trickle_read, &t, "x.csv", NULL, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        outcome_t o;
        drain(r, &o);
        CU_ASSERT_EQUAL(o.end, CVG_ROWS_END);
        CU_ASSERT_TRUE(rows_are(&o, quoted_rows));
        CU_ASSERT_EQUAL(o.lines[3], 6);
        json_decref(o.rows);
        cvg_rows_destroy(&r);
    }
}

static void test_rows_csv_header_only(void)
{
    static const char *inputs[] = {"a,b\n", "a,b", "a,b\r\n\r\n",
                                   "\xef\xbb\xbf"
                                   "a,b\n"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        cvg_err_t err;
        cvg_rows_t *r = cvg_rows_new_mem(inputs[i], strlen(inputs[i]), "h.csv", NULL, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        json_t *row = NULL;
        CU_ASSERT_EQUAL(cvg_rows_next(r, &row, &err), CVG_ROWS_END);
        size_t n = 0;
        const char *const *cols = cvg_rows_columns(r, &n);
        CU_ASSERT_EQUAL_FATAL(n, 2);
        CU_ASSERT_STRING_EQUAL(cols[0], "a");
        CU_ASSERT_STRING_EQUAL(cols[1], "b");
        cvg_rows_destroy(&r);
    }
    /* An empty file has no header and no rows. */
    outcome_t o;
    drain_mem("", 0, "empty.csv", NULL, &o);
    CU_ASSERT_EQUAL(o.end, CVG_ROWS_END);
    CU_ASSERT_EQUAL(json_array_size(o.rows), 0);
    json_decref(o.rows);
}

static void test_rows_csv_line_ends(void)
{
    /* No final newline; blank lines (LF and CRLF) skipped anywhere, but
     * still counted for line numbers. */
    const char csv[] = "a,b\n\n1,2\r\n\r\n\n3,4\n\n";
    outcome_t o;
    drain_mem(csv, strlen(csv), "x.csv", NULL, &o);
    CU_ASSERT_EQUAL(o.end, CVG_ROWS_END);
    CU_ASSERT_TRUE(rows_are(&o, "[{\"a\":\"1\",\"b\":\"2\"},{\"a\":\"3\",\"b\":\"4\"}]"));
    CU_ASSERT_EQUAL(o.lines[0], 3);
    CU_ASSERT_EQUAL(o.lines[1], 6);
    json_decref(o.rows);

    const char last[] = "a,b\n1,2\n3,";
    drain_mem(last, strlen(last), "x.csv", NULL, &o);
    CU_ASSERT_TRUE(rows_are(&o, "[{\"a\":\"1\",\"b\":\"2\"},{\"a\":\"3\",\"b\":null}]"));
    json_decref(o.rows);

    /* A CR not followed by LF is text. */
    const char cr[] = "a,b\n1,x\ry\n";
    drain_mem(cr, strlen(cr), "x.csv", NULL, &o);
    CU_ASSERT_TRUE(rows_are(&o, "[{\"a\":\"1\",\"b\":\"x\\ry\"}]"));
    json_decref(o.rows);
}

static void test_rows_csv_bad_rows(void)
{
    const char csv[] = "id,service,cost\n"
                       "1,ec2,3.5\n"
                       "2,s3\n"
                       "3,rds,1,extra\n"
                       "\"4\"x,lambda,2\n"
                       "5,\"ok\",0\n";
    outcome_t o;
    drain_mem(csv, strlen(csv), "x.csv", NULL, &o);
    CU_ASSERT_EQUAL(o.end, CVG_ROWS_END);
    CU_ASSERT_TRUE(rows_are(&o, "[{\"id\":\"1\",\"service\":\"ec2\",\"cost\":\"3.5\"},"
                                " {\"id\":\"5\",\"service\":\"ok\",\"cost\":\"0\"}]"));
    CU_ASSERT_EQUAL_FATAL(o.nbad, 3);
    CU_ASSERT_STRING_EQUAL(o.bad[0], "line 3: 2 fields, header has 3");
    CU_ASSERT_STRING_EQUAL(o.bad[1], "line 4: 4 fields, header has 3");
    CU_ASSERT_STRING_EQUAL(o.bad[2], "line 5: field 1: characters after the closing quote");
    CU_ASSERT_EQUAL(o.bad_lines[0], 3);
    CU_ASSERT_EQUAL(o.bad_lines[2], 5);
    CU_ASSERT_EQUAL(o.lines[1], 6);
    json_decref(o.rows);

    /* Text that is not UTF-8 (Latin-1 here) is a bad row naming the column. */
    const char latin1[] = "name,city\nx,M\xfcnchen\ny,Paris\n";
    drain_mem(latin1, strlen(latin1), "x.csv", NULL, &o);
    CU_ASSERT_EQUAL(o.end, CVG_ROWS_END);
    CU_ASSERT_EQUAL(o.nbad, 1);
    CU_ASSERT_STRING_EQUAL(o.bad[0], "line 2: column 'city' is not valid UTF-8");
    CU_ASSERT_TRUE(rows_are(&o, "[{\"name\":\"y\",\"city\":\"Paris\"}]"));
    json_decref(o.rows);
}

static void test_rows_csv_delimiter(void)
{
    cvg_rows_opts_t opts = {.delimiter = ';'};
    const char csv[] = "a;b\n\"x;y\";2,5\n";
    outcome_t o;
    drain_mem(csv, strlen(csv), "x.csv", &opts, &o);
    CU_ASSERT_TRUE(rows_are(&o, "[{\"a\":\"x;y\",\"b\":\"2,5\"}]"));
    json_decref(o.rows);

    opts.delimiter = '\t';
    const char tsv[] = "a\tb\n1\t2\n";
    drain_mem(tsv, strlen(tsv), NULL, &(cvg_rows_opts_t){.format = CVG_ROWS_CSV, .delimiter = '\t'},
              &o);
    CU_ASSERT_TRUE(rows_are(&o, "[{\"a\":\"1\",\"b\":\"2\"}]"));
    json_decref(o.rows);

    opts.delimiter = '"';
    cvg_err_t err;
    CU_ASSERT_PTR_NULL(cvg_rows_new_mem(csv, strlen(csv), "x.csv", &opts, &err));
    CU_ASSERT_EQUAL(err.code, CVG_EINVAL);
}

static void test_rows_csv_unterminated_quote(void)
{
    const char csv[] = "a,b\n1,2\n3,\"never closed\n4,5\n";
    outcome_t o;
    cvg_err_t err;
    cvg_rows_t *r = cvg_rows_new_mem(csv, strlen(csv), "x.csv", NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    drain(r, &o);
    CU_ASSERT_EQUAL(json_array_size(o.rows), 1);
    CU_ASSERT_EQUAL(o.end, CVG_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err.message, "line 3:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err.message, "never closed"));
    /* Final: the same error again. */
    json_t *row = NULL;
    cvg_err_clear(&err);
    CU_ASSERT_EQUAL(cvg_rows_next(r, &row, &err), CVG_EPROTO);
    CU_ASSERT_STRING_EQUAL(err.message, o.err.message);
    json_decref(o.rows);
    cvg_rows_destroy(&r);
}

static void test_rows_csv_header_errors(void)
{
    static const struct {
        const char *csv;
        int code;
        const char *message;
    } cases[] = {
        {"a,b,a\n1,2,3\n", CVG_EINVAL, "header column 3 'a' repeats column 1"},
        {"a,,b\n1,2,3\n", CVG_EINVAL, "header column 2 has no name"},
        {"a,\"\"\n1,2\n", CVG_EINVAL, "header column 2 has no name"},
        {"a,\xff\n1,2\n", CVG_EINVAL, "header column 2 is not valid UTF-8"},
        {"a,b,c,d,e\n1,2,3,4,5\n", CVG_ETOOBIG,
         "bad header: line 1: 5 fields, over the limit of 4"},
        {"\"a\"b,c\n1,2\n", CVG_EINVAL,
         "bad header: line 1: field 1: characters after the closing quote"},
        /* CR alone ends no line: the file is one line, named for what it is */
        {"id,name\r1,a\r2,b\r", CVG_EINVAL,
         "header column 2 has a carriage return: the file's lines end with CR alone (old Mac "
         "line ends); save it with LF or CRLF line ends"},
    };
    cvg_rows_opts_t opts = {.max_columns = 4};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        outcome_t o;
        drain_mem(cases[i].csv, strlen(cases[i].csv), "x.csv", &opts, &o);
        CU_ASSERT_EQUAL(o.end, cases[i].code);
        CU_ASSERT_EQUAL(json_array_size(o.rows), 0);
        CU_ASSERT_STRING_EQUAL(o.err.message, cases[i].message);
        json_decref(o.rows);
    }
}

static void test_rows_record_limit(void)
{
    cvg_rows_opts_t opts = {.max_record = 64};
    char csv[512];
    char long_field[101];
    memset(long_field, 'x', 100);
    long_field[100] = '\0';
    snprintf(csv, sizeof(csv), "a,b\n1,short\n2,%s\n3,never read\n", long_field);
    outcome_t o;
    drain_mem(csv, strlen(csv), "x.csv", &opts, &o);
    CU_ASSERT_EQUAL(json_array_size(o.rows), 1);
    CU_ASSERT_EQUAL(o.end, CVG_ETOOBIG);
    CU_ASSERT_STRING_EQUAL(o.err.message, "line 3: record longer than the limit of 64 bytes");
    json_decref(o.rows);

    /* The same inside quotes that span lines: no way round the limit. */
    snprintf(csv, sizeof(csv), "a,b\n1,\"%s\n%s\"\n", long_field, long_field);
    drain_mem(csv, strlen(csv), "x.csv", &opts, &o);
    CU_ASSERT_EQUAL(o.end, CVG_ETOOBIG);
    json_decref(o.rows);

    char jsonl[512];
    snprintf(jsonl, sizeof(jsonl), "{\"a\":1}\n{\"a\":\"%s\"}\n{\"a\":3}\n", long_field);
    drain_mem(jsonl, strlen(jsonl), "x.jsonl", &opts, &o);
    CU_ASSERT_EQUAL(json_array_size(o.rows), 1);
    CU_ASSERT_EQUAL(o.end, CVG_ETOOBIG);
    CU_ASSERT_STRING_EQUAL(o.err.message, "line 2: longer than the limit of 64 bytes");
    json_decref(o.rows);
}

static void test_rows_jsonl(void)
{
    const char jsonl[] = "\xef\xbb\xbf{\"id\":1,\"tags\":{\"env\":\"prod\"},\"cost\":2.5}\n"
                         "\n"
                         "   \r\n"
                         "[1,2]\n"
                         "{\"id\":2,\r\n"
                         "\"just text\"\n"
                         "{\"id\":3,\"id\":4}\n"
                         "{\"id\":5,\"ok\":true}\r\n"
                         "[[[[[[1]]]]]]\n"
                         "{\"id\":6,\"note\":null}";
    cvg_rows_opts_t opts = {.max_depth = 4};
    outcome_t o;
    cvg_err_t err;
    cvg_rows_t *r = cvg_rows_new_mem(jsonl, strlen(jsonl), "events.ndjson", &opts, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(cvg_rows_format(r), CVG_ROWS_JSONL);
    drain(r, &o);
    CU_ASSERT_EQUAL(o.end, CVG_ROWS_END);
    CU_ASSERT_TRUE(rows_are(&o, "[{\"id\":1,\"tags\":{\"env\":\"prod\"},\"cost\":2.5},"
                                " {\"id\":5,\"ok\":true}, {\"id\":6,\"note\":null}]"));
    CU_ASSERT_EQUAL(o.lines[0], 1);
    CU_ASSERT_EQUAL(o.lines[1], 8);
    CU_ASSERT_EQUAL(o.lines[2], 10);
    CU_ASSERT_EQUAL_FATAL(o.nbad, 5);
    CU_ASSERT_STRING_EQUAL(o.bad[0], "line 4: an array, not a JSON object");
    CU_ASSERT_EQUAL(o.bad_lines[0], 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(o.bad[1], "line 5: malformed JSON"));
    CU_ASSERT_STRING_EQUAL(o.bad[2], "line 6: a string, not a JSON object");
    CU_ASSERT_PTR_NOT_NULL(strstr(o.bad[3], "line 7: malformed JSON"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o.bad[3], "duplicate"));
    CU_ASSERT_STRING_EQUAL(o.bad[4], "line 9: JSON nested deeper than 4 levels");
    size_t n = 9;
    cvg_rows_columns(r, &n);
    CU_ASSERT_EQUAL(n, 0);
    json_decref(o.rows);
    cvg_rows_destroy(&r);
}

static void test_rows_gzip(void)
{
    const char csv[] = "id,cost\n1,0.5\n2,1.25\n3,\"2\"\n";
    unsigned char *gz = NULL;
    size_t len = 0;
    gzip_append(csv, strlen(csv), &gz, &len);
    CU_ASSERT_EQUAL_FATAL(gz[0], 0x1f);
    const char *want = "[{\"id\":\"1\",\"cost\":\"0.5\"},{\"id\":\"2\",\"cost\":\"1.25\"},"
                       "{\"id\":\"3\",\"cost\":\"2\"}]";
    cvg_err_t err;
    cvg_rows_t *r = cvg_rows_new_mem(gz, len, "costs.csv.gz", NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    outcome_t o;
    drain(r, &o);
    CU_ASSERT_EQUAL(o.end, CVG_ROWS_END);
    CU_ASSERT_TRUE(rows_are(&o, want));
    CU_ASSERT_TRUE(cvg_rows_compressed(r));
    json_decref(o.rows);
    cvg_rows_destroy(&r);
    free(gz);

    /* Two members, split in the middle of a record, read a few bytes at a
     * time: one stream of rows. */
    gz = NULL;
    len = 0;
    size_t cut = 17;
    gzip_append(csv, cut, &gz, &len);
    gzip_append(csv + cut, strlen(csv) - cut, &gz, &len);
    for (size_t step = 1; step <= 9; step += 4) {
        trickle_t t = {gz, len, 0, step, 0};
        r = cvg_rows_new(trickle_read, &t, "costs.csv.gz", NULL, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        drain(r, &o);
        CU_ASSERT_EQUAL(o.end, CVG_ROWS_END);
        CU_ASSERT_TRUE(rows_are(&o, want));
        json_decref(o.rows);
        cvg_rows_destroy(&r);
    }
    free(gz);

    /* JSONL, detected by magic even when the name does not say .gz. */
    const char jsonl[] = "{\"a\":1}\n\n{\"a\":2}\n";
    gz = NULL;
    len = 0;
    gzip_append(jsonl, strlen(jsonl), &gz, &len);
    drain_mem(gz, len, "events.jsonl", NULL, &o);
    CU_ASSERT_EQUAL(o.end, CVG_ROWS_END);
    CU_ASSERT_TRUE(rows_are(&o, "[{\"a\":1},{\"a\":2}]"));
    json_decref(o.rows);
    free(gz);
}

static void test_rows_gzip_corrupt(void)
{
    char csv[4096];
    size_t used = 0;
    used += (size_t)snprintf(csv, sizeof(csv), "id,value\n");
    for (int i = 1; i <= 200; i++)
        used += (size_t)snprintf(csv + used, sizeof(csv) - used, "%d,v%d\n", i, i * 7919 % 1000);
    unsigned char *gz = NULL;
    size_t len = 0;
    gzip_append(csv, used, &gz, &len);
    outcome_t o;

    /* Truncated: cut inside the data, and inside the 8-byte trailer. */
    size_t cuts[] = {len / 2, len - 4, 10, 2};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        drain_mem(gz, cuts[i], "x.csv.gz", NULL, &o);
        CU_ASSERT_EQUAL(o.end, CVG_EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(o.err.message, "gzip"));
        json_decref(o.rows);
    }

    /* A flipped byte in the data or the checksum. */
    size_t spots[] = {len / 2, len - 6};
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        gz[spots[i]] ^= 0x55;
        drain_mem(gz, len, "x.csv.gz", NULL, &o);
        CU_ASSERT_EQUAL(o.end, CVG_EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(o.err.message, "corrupt gzip data"));
        json_decref(o.rows);
        gz[spots[i]] ^= 0x55;
    }

    /* Garbage after a complete member. */
    unsigned char *tail = realloc(gz, len + 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tail);
    gz = tail;
    memcpy(gz + len, "junk", 4);
    drain_mem(gz, len + 4, "x.csv.gz", NULL, &o);
    CU_ASSERT_EQUAL(o.end, CVG_EPROTO);
    CU_ASSERT_EQUAL(json_array_size(o.rows), 200);
    json_decref(o.rows);

    /* The magic and then nothing valid. */
    const unsigned char magic_only[] = {0x1f, 0x8b, 0x00, 0x01, 0x02};
    drain_mem(magic_only, sizeof(magic_only), "x.csv", NULL, &o);
    CU_ASSERT_EQUAL(o.end, CVG_EPROTO);
    json_decref(o.rows);
    free(gz);
}

static void test_rows_gzip_bomb(void)
{
    /* 4 MiB of short rows compress to a few KiB. */
    size_t n = 4 * 1024 * 1024;
    char *csv = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    memcpy(csv, "a,b\n", 4);
    for (size_t i = 4; i + 4 <= n; i += 4)
        memcpy(csv + i, "1,2\n", 4);
    unsigned char *gz = NULL;
    size_t len = 0;
    gzip_append(csv, n, &gz, &len);
    free(csv);
    CU_ASSERT(len < n / 100);
    cvg_rows_opts_t opts = {.max_inflated = 1024 * 1024};
    cvg_err_t err;
    cvg_rows_t *r = cvg_rows_new_mem(gz, len, "bomb.csv.gz", &opts, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    size_t rows = 0;
    json_t *row = NULL;
    int rc;
    while ((rc = cvg_rows_next(r, &row, &err)) == 0) {
        rows++;
        json_decref(row);
    }
    CU_ASSERT_EQUAL(rc, CVG_ETOOBIG);
    CU_ASSERT_STRING_EQUAL(err.message,
                           "gzip data inflates to more than the limit of 1048576 bytes");
    /* The rows before the limit came through; none after it. */
    CU_ASSERT(rows > 200000);
    CU_ASSERT(rows < 262144);
    cvg_rows_destroy(&r);
    free(gz);
}

/* Writes a 10,000-row cost export to dir/name, gzip-compressed if asked. */
static char *write_export(const char *dir, const char *name, int compress)
{
    size_t cap = 512 * 1024, used = 0;
    char *csv = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    used += (size_t)snprintf(csv, cap, "id,service,cost\n");
    for (int i = 1; i <= 10000; i++)
        used += (size_t)snprintf(csv + used, cap - used, "%d,svc-%d,\"%d.%02d\"\n", i, i % 7,
                                 i / 100, i % 100);
    CU_ASSERT_FATAL(used < cap);
    unsigned char *data = (unsigned char *)csv;
    size_t len = used;
    unsigned char *gz = NULL;
    if (compress) {
        len = 0;
        gzip_append(csv, used, &gz, &len);
        data = gz;
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    fclose(f);
    free(csv);
    free(gz);
    return strdup(path);
}

static void test_rows_file(void)
{
    char *dir = tmpdir_new("rows");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    const char *names[] = {"export.csv", "export.csv.gz"};
    for (int i = 0; i < 2; i++) {
        char *path = write_export(dir, names[i], i);
        cvg_err_t err;
        cvg_rows_t *r = cvg_rows_new_file(path, NULL, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        int count = 0, rc;
        json_t *row = NULL, *last = NULL;
        while ((rc = cvg_rows_next(r, &row, &err)) == 0) {
            count++;
            json_decref(last);
            last = row;
        }
        CU_ASSERT_EQUAL(rc, CVG_ROWS_END);
        CU_ASSERT_EQUAL(count, 10000);
        CU_ASSERT_PTR_NOT_NULL_FATAL(last);
        CU_ASSERT_EQUAL(cvg_rows_line(r), 10001);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(last, "id")), "10000");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(last, "service")), "svc-4");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(last, "cost")), "100.00");
        CU_ASSERT_EQUAL(cvg_rows_compressed(r), i == 1);
        json_decref(last);
        cvg_rows_destroy(&r);
        free(path);
    }

    cvg_err_t err;
    char path[512];
    snprintf(path, sizeof(path), "%s/missing.csv", dir);
    CU_ASSERT_PTR_NULL(cvg_rows_new_file(path, NULL, &err));
    CU_ASSERT_EQUAL(err.code, CVG_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "missing.csv"));
    CU_ASSERT_PTR_NULL(cvg_rows_new_file(dir, &(cvg_rows_opts_t){.format = CVG_ROWS_CSV}, &err));
    CU_ASSERT_EQUAL(err.code, CVG_EIO);
    /* A name that says no format, and no format given. */
    CU_ASSERT_PTR_NULL(cvg_rows_new_mem("a\n", 2, "export.txt", NULL, &err));
    CU_ASSERT_EQUAL(err.code, CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "export.txt"));
    tmpdir_remove(&dir);
}

static void test_rows_format_from_name(void)
{
    static const struct {
        const char *name;
        cvg_rows_format_t format;
    } cases[] = {
        {"costs.csv", CVG_ROWS_CSV},
        {"s3://bucket/cur/2024-05/costs.CSV.GZ", CVG_ROWS_CSV},
        {"events.jsonl", CVG_ROWS_JSONL},
        {"events.jsonl.gz", CVG_ROWS_JSONL},
        {"events.ndjson", CVG_ROWS_JSONL},
        {"events.NDJSON.gz", CVG_ROWS_JSONL},
        {"costs.json", CVG_ROWS_AUTO},
        {"costs.gz", CVG_ROWS_AUTO},
        {".csv", CVG_ROWS_AUTO},
        {"csv", CVG_ROWS_AUTO},
        {"", CVG_ROWS_AUTO},
        {NULL, CVG_ROWS_AUTO},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CU_ASSERT_EQUAL(cvg_rows_format_from_name(cases[i].name), cases[i].format);
}

static void test_rows_source_error(void)
{
    const char csv[] = "a,b\n1,2\n3,4\n";
    trickle_t t = {(const unsigned char *)csv, strlen(csv), 0, 4, 8};
    cvg_err_t err;
    cvg_rows_t *r =
        cvg_rows_new(trickle_read, &t, NULL, &(cvg_rows_opts_t){.format = CVG_ROWS_CSV}, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    outcome_t o;
    drain(r, &o);
    CU_ASSERT_TRUE(rows_are(&o, "[{\"a\":\"1\",\"b\":\"2\"}]"));
    CU_ASSERT_EQUAL(o.end, CVG_EIO);
    CU_ASSERT_STRING_EQUAL(o.err.message, "reading the input failed");
    json_decref(o.rows);
    cvg_rows_destroy(&r);
    cvg_rows_destroy(&r); /* NULL is fine */
}

static CU_TestInfo tests[] = {
    {"test_rows_csv_quotes", test_rows_csv_quotes},
    {"test_rows_csv_any_read_size", test_rows_csv_any_read_size},
    {"test_rows_csv_header_only", test_rows_csv_header_only},
    {"test_rows_csv_line_ends", test_rows_csv_line_ends},
    {"test_rows_csv_bad_rows", test_rows_csv_bad_rows},
    {"test_rows_csv_delimiter", test_rows_csv_delimiter},
    {"test_rows_csv_unterminated_quote", test_rows_csv_unterminated_quote},
    {"test_rows_csv_header_errors", test_rows_csv_header_errors},
    {"test_rows_record_limit", test_rows_record_limit},
    {"test_rows_jsonl", test_rows_jsonl},
    {"test_rows_gzip", test_rows_gzip},
    {"test_rows_gzip_corrupt", test_rows_gzip_corrupt},
    {"test_rows_gzip_bomb", test_rows_gzip_bomb},
    {"test_rows_file", test_rows_file},
    {"test_rows_format_from_name", test_rows_format_from_name},
    {"test_rows_source_error", test_rows_source_error},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_rows = {"unit_rows", NULL, NULL, tests, 60};
