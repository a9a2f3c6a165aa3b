/*
 * dq.checks: data-quality checks on one table (row counts, NULLs,
 * duplicates, accepted values, freshness, SQL assertions). Each check is one
 * portable SELECT whose result goes to tenants.tenant_dq_results through
 * proc_emit_dq; a failed check of severity error fails the step.
 */
#include "common/buf.h"
#include "common/sqltmpl.h"
#include "common/str.h"
#include "common/time.h"
#include "worker/processor.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDENT_MAX   128
#define STMT_MAX    (64 * 1024) /* a generated statement, the filter included */
#define MESSAGE_MAX 512
#define SHOWN_MAX   10  /* accepted values named in a message */
#define NAMES_MAX   900 /* failed check names in the step error */

typedef enum kind {
    K_ROW_COUNT,
    K_NOT_NULL,
    K_UNIQUE,
    K_ACCEPTED,
    K_FRESHNESS,
    K_SQL,
    K_COUNT
} kind_t;

/* Each check type and the fields of its own (name, type, severity and
 * description are every check's). */
static const struct {
    const char *name;
    const char *fields[3]; /* NULL-terminated */
} kinds[K_COUNT] = {
    [K_ROW_COUNT] = {"row_count", {"min", "max", NULL}},
    [K_NOT_NULL] = {"not_null", {"column", NULL}},
    [K_UNIQUE] = {"unique", {"column", "columns", NULL}},
    [K_ACCEPTED] = {"accepted_values", {"column", "values", NULL}},
    [K_FRESHNESS] = {"freshness", {"column", "max_age_hours", NULL}},
    [K_SQL] = {"sql_assertion", {"sql", NULL}},
};

static int kind_of(const char *name)
{
    for (int k = 0; name && k < K_COUNT; k++) {
        if (strcmp(kinds[k].name, name) == 0)
            return k;
    }
    return -1;
}

static bool kind_uses(int k, const char *field)
{
    if (strcmp(field, "name") == 0 || strcmp(field, "type") == 0 ||
        strcmp(field, "severity") == 0 || strcmp(field, "description") == 0)
        return true;
    for (size_t i = 0; kinds[k].fields[i]; i++) {
        if (strcmp(kinds[k].fields[i], field) == 0)
            return true;
    }
    return false;
}

/* A number as people write it: 24, 1.5, 1000000. */
static void num_text(double x, char *out, size_t size)
{
    if (x == floor(x) && fabs(x) < 1e15)
        snprintf(out, size, "%.0f", x);
    else
        snprintf(out, size, "%g", x);
}

/* Cuts a UTF-8 sequence that truncation left incomplete at the end of s. */
static void utf8_trim(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < want)
        s[i - 1] = '\0';
}

/* ---- validation ------------------------------------------------------------ */

/* Adds a problem of `field` of the check at cp, as "cp.field: why". */
static void add(cvg_errlist_t *errs, const char *cp, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(cvg_errlist_t *errs, const char *cp, const char *field, const char *fmt, ...)
{
    char at[CVG_ERR_FIELD_MAX], why[512];
    cvg_path_join(at, sizeof(at), cp, field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    cvg_errlist_add(errs, CVG_EINVAL, at, "%s: %s", at, why);
}

static void need(const json_t *check, const char *cp, const char *field, int k, cvg_errlist_t *errs)
{
    if (json_object_get(check, field) == NULL)
        add(errs, cp, field, "field required for %s", kinds[k].name);
}

/* The rules of one check that the schema cannot state. */
static void check_rules(const json_t *check, const char *cp, cvg_errlist_t *errs)
{
    int k = kind_of(json_string_value(json_object_get(check, "type")));
    if (k < 0)
        return; /* the schema reported it */
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)check, key, val)
    {
        bool known = false;
        for (int other = 0; other < K_COUNT && !known; other++)
            known = kind_uses(other, key);
        if (!known || kind_uses(k, key))
            continue; /* unknown to every check: the schema has said so */
        bool meant_age = k == K_FRESHNESS && strcmp(key, "max") == 0;
        add(errs, cp, key, "not used by %s%s", kinds[k].name,
            meant_age ? "; did you mean max_age_hours?" : "");
    }
    const json_t *mn = json_object_get(check, "min"), *mx = json_object_get(check, "max");
    const json_t *one = json_object_get(check, "column"), *cols = json_object_get(check, "columns");
    const json_t *age = json_object_get(check, "max_age_hours");
    const char *sql = json_string_value(json_object_get(check, "sql"));
    cvg_err_t err;
    cvg_err_clear(&err);
    switch (k) {
    case K_ROW_COUNT:
        if (mn == NULL && mx == NULL)
            add(errs, cp, "min", "min or max required for row_count");
        if (mn && mx && json_number_value(mn) > json_number_value(mx)) {
            char a[32], b[32];
            num_text(json_number_value(mn), a, sizeof(a));
            num_text(json_number_value(mx), b, sizeof(b));
            add(errs, cp, "min", "%s is greater than max %s", a, b);
        }
        break;
    case K_NOT_NULL:
        need(check, cp, "column", k, errs);
        break;
    case K_UNIQUE:
        if (one && cols)
            add(errs, cp, "columns", "give column or columns, not both");
        else if (one == NULL && cols == NULL)
            add(errs, cp, "column", "field required for unique (or columns, for several)");
        break;
    case K_ACCEPTED:
        need(check, cp, "column", k, errs);
        need(check, cp, "values", k, errs);
        break;
    case K_FRESHNESS:
        need(check, cp, "column", k, errs);
        need(check, cp, "max_age_hours", k, errs);
        if (age && json_number_value(age) <= 0)
            add(errs, cp, "max_age_hours", "must be greater than 0");
        break;
    case K_SQL:
        need(check, cp, "sql", k, errs);
        if (sql && cvg_sql_select_only(sql, NULL, &err) != 0)
            add(errs, cp, "sql", "must be a SELECT returning the number of offending rows; %s",
                err.message);
        break;
    default:
        break;
    }
}

static int validate(const json_t *step, const char *path, cvg_errlist_t *errs)
{
    size_t before = errs->n + errs->dropped;
    const json_t *checks = json_object_get(step, "checks");
    for (size_t i = 0; i < json_array_size(checks); i++) {
        const json_t *check = json_array_get(checks, i);
        char cp[200];
        snprintf(cp, sizeof(cp), "%s.checks[%zu]", path, i);
        check_rules(check, cp, errs);
        const char *name = json_string_value(json_object_get(check, "name"));
        for (size_t j = 0; name && j < i; j++) {
            const json_t *other = json_object_get(json_array_get(checks, j), "name");
            if (json_is_string(other) && strcmp(json_string_value(other), name) == 0) {
                add(errs, cp, "name", "duplicate check name '%s' (checks[%zu] has it)", name, j);
                break;
            }
        }
    }
    return (int)(errs->n + errs->dropped - before);
}

/* ---- running ---------------------------------------------------------------- */

/* The table checked and its rendered filter. */
typedef struct target {
    const char *dataset;
    const char *table;
    char name[2 * IDENT_MAX + 2]; /* dataset.table, for reports */
    char quote;                   /* the driver's identifier quote */
    bool filtered;                /* where holds a rendered filter */
    cvg_sql_t where;
} target_t;

/* What one check found. */
typedef struct outcome {
    bool passed;
    json_t *observed; /* owned */
    json_t *expected; /* owned */
    char message[MESSAGE_MAX];
} outcome_t;

/* The first value of a result, and how many rows and columns it had. */
typedef struct scalar {
    size_t rows;
    size_t cols;
    cvg_val_type_t type;
    int64_t i;
    double d;
    char text[64];
} scalar_t;

#define MORE_ROWS 1 /* read_scalar stops at a second row */

static int read_scalar(void *ud, const cvg_row_t *row)
{
    scalar_t *s = ud;
    if (++s->rows > 1)
        return MORE_ROWS;
    s->cols = row->ncols;
    if (row->ncols == 0)
        return 0;
    const cvg_val_t *v = &row->vals[0];
    s->type = v->type;
    s->i = v->i;
    s->d = v->d;
    if (v->type == CVG_VAL_TEXT) {
        size_t n = v->len < sizeof(s->text) - 1 ? v->len : sizeof(s->text) - 1;
        memcpy(s->text, v->s, n);
        s->text[n] = '\0';
    } else if (v->type == CVG_VAL_INT) {
        snprintf(s->text, sizeof(s->text), "%lld", (long long)v->i);
    } else if (v->type == CVG_VAL_REAL) {
        cvg_format_double(v->d, s->text);
    }
    return 0;
}

static int append_ident(cvg_buf_t *b, char quote, const char *name)
{
    if (name == NULL || !cvg_wh_ident_ok(name))
        return CVG_EINVAL;
    return cvg_buf_printf(b, "%c%s%c", quote, name, quote);
}

/* " FROM "ds"."table" WHERE (filter) AND cond", each part when present. */
static int append_from(cvg_buf_t *b, const target_t *t, const char *cond)
{
    int rc = cvg_buf_puts(b, " FROM ");
    if (rc == 0)
        rc = append_ident(b, t->quote, t->dataset);
    if (rc == 0)
        rc = cvg_buf_puts(b, ".");
    if (rc == 0)
        rc = append_ident(b, t->quote, t->table);
    /* The filter on lines of its own, so a trailing -- comment in it
     * cannot swallow what follows. */
    if (rc == 0 && t->filtered)
        rc = cvg_buf_printf(b, " WHERE (\n%s\n)", cvg_buf_cstr(&t->where.text));
    if (rc == 0 && cond)
        rc = cvg_buf_printf(b, " %s %s", t->filtered ? "AND" : "WHERE", cond);
    return rc;
}

/* Runs sql with the filter's parameters followed by extra, reading the
 * first value into out. */
static int query(const proc_ctx_t *ctx, const target_t *t, const char *sql, const cvg_val_t *extra,
                 size_t nextra, scalar_t *out, cvg_err_t *err)
{
    size_t nwhere = t->filtered ? t->where.nparams : 0;
    cvg_val_t *params = NULL;
    if (nwhere + nextra > 0) {
        params = calloc(nwhere + nextra, sizeof(*params));
        if (params == NULL)
            return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
        if (nwhere > 0)
            memcpy(params, t->where.params, nwhere * sizeof(*params));
        if (nextra > 0)
            memcpy(params + nwhere, extra, nextra * sizeof(*params));
    }
    memset(out, 0, sizeof(*out));
    int rc = cvg_wh_exec(ctx->wh, sql, params, nwhere + nextra, read_scalar, out, NULL, err);
    free(params);
    return rc;
}

/* A count from a query that returns one integer. */
static int count_of(const scalar_t *s, int64_t *n, cvg_err_t *err)
{
    if (s->rows == 0 || s->type == CVG_VAL_NULL) {
        *n = 0;
        return 0;
    }
    if (s->type == CVG_VAL_INT) {
        *n = s->i;
        return 0;
    }
    if (s->type == CVG_VAL_REAL && s->d == floor(s->d) && fabs(s->d) < 9e18) {
        *n = (int64_t)s->d;
        return 0;
    }
    if (s->type == CVG_VAL_TEXT && cvg_parse_int64(s->text, INT64_MIN, INT64_MAX, n) == 0)
        return 0;
    return cvg_err_set(err, CVG_EINVAL, "", "the query returned '%s', not a number of rows",
                       s->text);
}

/* SELECT COUNT(*) of the target's rows matching cond (NULL: all), with
 * extra parameters after the target's own. */
static int count_rows(const proc_ctx_t *ctx, const target_t *t, cvg_buf_t *sql, const char *cond,
                      const cvg_val_t *extra, size_t nextra, int64_t *n, cvg_err_t *err)
{
    *n = 0;
    scalar_t s;
    int rc = cvg_buf_puts(sql, "SELECT COUNT(*)");
    if (rc == 0)
        rc = append_from(sql, t, cond);
    if (rc == 0)
        rc = query(ctx, t, cvg_buf_cstr(sql), extra, nextra, &s, err);
    return rc == 0 ? count_of(&s, n, err) : rc;
}

static const char *rows_word(int64_t n)
{
    return n == 1 ? "row has" : "rows have";
}

static int run_row_count(const proc_ctx_t *ctx, const target_t *t, const json_t *check,
                         cvg_buf_t *sql, outcome_t *o, cvg_err_t *err)
{
    int64_t n = 0;
    int rc = count_rows(ctx, t, sql, NULL, NULL, 0, &n, err);
    if (rc != 0)
        return rc;
    const json_t *mn = json_object_get(check, "min"), *mx = json_object_get(check, "max");
    char lo[32] = "", hi[32] = "", expected[80];
    if (mn)
        num_text(json_number_value(mn), lo, sizeof(lo));
    if (mx)
        num_text(json_number_value(mx), hi, sizeof(hi));
    if (mn && mx)
        snprintf(expected, sizeof(expected), ">= %s and <= %s", lo, hi);
    else
        snprintf(expected, sizeof(expected), "%s %s", mn ? ">=" : "<=", mn ? lo : hi);
    o->observed = json_integer(n);
    o->expected = json_string(expected);
    if (mn && (double)n < json_number_value(mn))
        snprintf(o->message, sizeof(o->message), "row_count %lld is below the minimum %s",
                 (long long)n, lo);
    else if (mx && (double)n > json_number_value(mx))
        snprintf(o->message, sizeof(o->message), "row_count %lld is above the maximum %s",
                 (long long)n, hi);
    else {
        o->passed = true;
        snprintf(o->message, sizeof(o->message), "row_count %lld is %s", (long long)n, expected);
    }
    return 0;
}

static int run_not_null(const proc_ctx_t *ctx, const target_t *t, const json_t *check,
                        cvg_buf_t *sql, outcome_t *o, cvg_err_t *err)
{
    const char *col = json_string_value(json_object_get(check, "column"));
    cvg_buf_t cond;
    cvg_buf_init(&cond, 2 * IDENT_MAX + 32);
    int rc = append_ident(&cond, t->quote, col);
    if (rc == 0)
        rc = cvg_buf_puts(&cond, " IS NULL");
    int64_t n = 0;
    if (rc == 0)
        rc = count_rows(ctx, t, sql, cvg_buf_cstr(&cond), NULL, 0, &n, err);
    cvg_buf_cleanup(&cond);
    if (rc != 0)
        return rc;
    o->passed = n == 0;
    o->observed = json_integer(n);
    o->expected = json_integer(0);
    if (n == 0)
        snprintf(o->message, sizeof(o->message), "no NULL in %s", col);
    else
        snprintf(o->message, sizeof(o->message), "%lld %s NULL in %s", (long long)n, rows_word(n),
                 col);
    return 0;
}

static int run_unique(const proc_ctx_t *ctx, const target_t *t, const json_t *check, cvg_buf_t *sql,
                      outcome_t *o, cvg_err_t *err)
{
    const json_t *one = json_object_get(check, "column");
    const json_t *cols = json_object_get(check, "columns");
    size_t ncols = one ? 1 : json_array_size(cols);
    if (ncols == 0)
        return cvg_err_set(err, CVG_EINVAL, "column", "column or columns required");
    /* A row with a NULL in any of the columns is not compared, as in a
     * UNIQUE constraint; not_null is the check for those. */
    cvg_buf_t list, cond;
    cvg_buf_init(&list, ncols * (IDENT_MAX + 4));
    cvg_buf_init(&cond, ncols * (IDENT_MAX + 20));
    char shown[MESSAGE_MAX / 2] = "";
    size_t used = 0;
    int rc = 0;
    for (size_t i = 0; i < ncols && rc == 0; i++) {
        const char *c = json_string_value(one ? one : json_array_get(cols, i));
        if (i > 0)
            rc = cvg_buf_puts(&list, ", ");
        if (rc == 0)
            rc = append_ident(&list, t->quote, c);
        if (rc == 0 && i > 0)
            rc = cvg_buf_puts(&cond, " AND ");
        if (rc == 0)
            rc = append_ident(&cond, t->quote, c);
        if (rc == 0)
            rc = cvg_buf_puts(&cond, " IS NOT NULL");
        if (rc == 0 && used < sizeof(shown)) {
            int w = snprintf(shown + used, sizeof(shown) - used, "%s%s", i ? ", " : "", c);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    if (rc == 0)
        rc = cvg_buf_puts(sql, "SELECT COUNT(*) FROM (SELECT 1 AS one");
    if (rc == 0)
        rc = append_from(sql, t, cvg_buf_cstr(&cond));
    if (rc == 0)
        rc = cvg_buf_printf(sql, " GROUP BY %s HAVING COUNT(*) > 1) AS duplicates",
                            cvg_buf_cstr(&list));
    cvg_buf_cleanup(&list);
    cvg_buf_cleanup(&cond);
    scalar_t s;
    int64_t n = 0;
    if (rc == 0)
        rc = query(ctx, t, cvg_buf_cstr(sql), NULL, 0, &s, err);
    if (rc == 0)
        rc = count_of(&s, &n, err);
    if (rc != 0)
        return rc;
    char what[MESSAGE_MAX / 2 + 4];
    snprintf(what, sizeof(what), ncols > 1 ? "(%s)" : "%s", shown);
    o->passed = n == 0;
    o->observed = json_integer(n);
    o->expected = json_integer(0);
    if (n == 0)
        snprintf(o->message, sizeof(o->message), "no duplicate values of %s", what);
    else
        snprintf(o->message, sizeof(o->message), "%lld duplicate value%s of %s", (long long)n,
                 n == 1 ? "" : "s", what);
    return 0;
}

static int run_accepted(const proc_ctx_t *ctx, const target_t *t, const json_t *check,
                        cvg_buf_t *sql, outcome_t *o, cvg_err_t *err)
{
    const char *col = json_string_value(json_object_get(check, "column"));
    const json_t *values = json_object_get(check, "values");
    size_t nv = json_array_size(values);
    if (nv == 0)
        return cvg_err_set(err, CVG_EINVAL, "values", "values required");
    size_t first = t->filtered ? t->where.nparams : 0; /* our parameters follow the filter's */
    cvg_val_t *params = calloc(nv, sizeof(*params));
    cvg_buf_t cond;
    cvg_buf_init(&cond, IDENT_MAX + 32 + nv * 12);
    char shown[MESSAGE_MAX / 2] = "";
    size_t used = 0;
    int rc = params ? append_ident(&cond, t->quote, col) : CVG_ENOMEM;
    if (rc == 0)
        rc = cvg_buf_puts(&cond, " NOT IN (");
    for (size_t i = 0; i < nv && rc == 0; i++) {
        const char *v = json_string_value(json_array_get(values, i));
        params[i] = cvg_v_text(v ? v : "");
        rc = cvg_buf_printf(&cond, "%s$%zu", i ? ", " : "", first + i + 1);
        if (i < SHOWN_MAX && used < sizeof(shown)) {
            int w = snprintf(shown + used, sizeof(shown) - used, "%s%s", i ? ", " : "", v);
            used += w > 0 ? (size_t)w : 0;
        } else if (i == SHOWN_MAX && used < sizeof(shown)) {
            int w = snprintf(shown + used, sizeof(shown) - used, ", ... %zu more", nv - i);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    utf8_trim(shown);
    if (rc == 0)
        rc = cvg_buf_puts(&cond, ")");
    int64_t n = 0;
    if (rc == 0)
        rc = count_rows(ctx, t, sql, cvg_buf_cstr(&cond), params, nv, &n, err);
    cvg_buf_cleanup(&cond);
    free(params);
    if (rc == CVG_ENOMEM)
        cvg_err_set(err, rc, "", "out of memory");
    if (rc != 0)
        return rc;
    o->passed = n == 0;
    o->observed = json_integer(n);
    o->expected = json_deep_copy(values);
    if (n == 0)
        snprintf(o->message, sizeof(o->message), "every value of %s is in [%s]", col, shown);
    else
        snprintf(o->message, sizeof(o->message), "%lld %s %s outside [%s] in %s", (long long)n,
                 rows_word(n), n == 1 ? "a value" : "values", shown, col);
    return 0;
}

static int run_freshness(const proc_ctx_t *ctx, const target_t *t, const json_t *check,
                         cvg_buf_t *sql, outcome_t *o, cvg_err_t *err)
{
    const char *col = json_string_value(json_object_get(check, "column"));
    double limit = json_number_value(json_object_get(check, "max_age_hours"));
    char lim[32];
    num_text(limit, lim, sizeof(lim));
    int rc = cvg_buf_puts(sql, "SELECT MAX(");
    if (rc == 0)
        rc = append_ident(sql, t->quote, col);
    if (rc == 0)
        rc = cvg_buf_puts(sql, ")");
    if (rc == 0)
        rc = append_from(sql, t, NULL);
    scalar_t s;
    if (rc == 0)
        rc = query(ctx, t, cvg_buf_cstr(sql), NULL, 0, &s, err);
    if (rc != 0)
        return rc;
    o->expected = json_real(limit);
    int64_t newest = 0;
    if (s.rows == 0 || s.type == CVG_VAL_NULL) {
        o->observed = json_null();
        snprintf(o->message, sizeof(o->message), "no %s values in %s%s", col, t->name,
                 t->filtered ? " match the filter" : "");
        return 0;
    }
    if (s.type != CVG_VAL_TEXT || cvg_time_parse_iso(s.text, &newest) != 0) {
        utf8_trim(s.text);
        o->observed = json_string(s.text);
        snprintf(o->message, sizeof(o->message), "newest %s '%s' is not an ISO 8601 timestamp", col,
                 s.text);
        return 0;
    }
    double age = round((double)(cvg_time_now_ms() - newest) / 360000.0) / 10.0;
    if (age == 0)
        age = 0; /* not -0.0 */
    o->passed = age <= limit;
    o->observed = json_real(age);
    /* A value ahead of the clock passes; the message says so, as a time
     * zone mistake often is the cause. */
    if (age < 0)
        snprintf(o->message, sizeof(o->message), "newest %s is %.1f h in the future; limit %s h",
                 col, -age, lim);
    else
        snprintf(o->message, sizeof(o->message), "newest %s is %.1f h old; limit %s h", col, age,
                 lim);
    return 0;
}

static int run_assertion(const proc_ctx_t *ctx, const target_t *t, const json_t *check,
                         outcome_t *o, cvg_err_t *err)
{
    static const cvg_vars_t none = {0};
    const char *text = json_string_value(json_object_get(check, "sql"));
    if (text == NULL)
        return cvg_err_set(err, CVG_EINVAL, "sql", "sql required");
    cvg_sql_t q;
    int rc = cvg_sql_render(text, ctx->vars ? ctx->vars : &none, t->quote, &q, err);
    if (rc != 0)
        return rc;
    scalar_t s;
    memset(&s, 0, sizeof(s));
    rc = cvg_wh_exec(ctx->wh, cvg_buf_cstr(&q.text), q.params, q.nparams, read_scalar, &s, NULL,
                     err);
    cvg_sql_cleanup(&q);
    int64_t n = 0;
    if (rc == MORE_ROWS || (rc == 0 && (s.rows != 1 || s.cols != 1))) {
        char got[64];
        if (rc == MORE_ROWS)
            snprintf(got, sizeof(got), "several rows");
        else if (s.rows == 0)
            snprintf(got, sizeof(got), "no rows");
        else
            snprintf(got, sizeof(got), "one row of %zu columns", s.cols);
        return cvg_err_set(err, CVG_EINVAL, "sql",
                           "the sql must return one row with one column, the number of offending "
                           "rows; it returned %s",
                           got);
    }
    if (rc == 0)
        rc = count_of(&s, &n, err);
    if (rc == 0 && (s.type == CVG_VAL_NULL || n < 0))
        rc = cvg_err_set(err, CVG_EINVAL, "sql", "the sql returned %s, not a number of rows",
                         s.type == CVG_VAL_NULL ? "NULL" : s.text);
    if (rc != 0)
        return rc;
    o->passed = n == 0;
    o->observed = json_integer(n);
    o->expected = json_integer(0);
    if (n == 0)
        snprintf(o->message, sizeof(o->message), "sql_assertion found no offending rows");
    else
        snprintf(o->message, sizeof(o->message), "sql_assertion found %lld offending row%s",
                 (long long)n, n == 1 ? "" : "s");
    return 0;
}

static int run_check(const proc_ctx_t *ctx, const target_t *t, const json_t *check, int k,
                     outcome_t *o, cvg_err_t *err)
{
    cvg_buf_t sql;
    cvg_buf_init(&sql, STMT_MAX);
    int rc;
    switch (k) {
    case K_ROW_COUNT:
        rc = run_row_count(ctx, t, check, &sql, o, err);
        break;
    case K_NOT_NULL:
        rc = run_not_null(ctx, t, check, &sql, o, err);
        break;
    case K_UNIQUE:
        rc = run_unique(ctx, t, check, &sql, o, err);
        break;
    case K_ACCEPTED:
        rc = run_accepted(ctx, t, check, &sql, o, err);
        break;
    case K_FRESHNESS:
        rc = run_freshness(ctx, t, check, &sql, o, err);
        break;
    default:
        rc = run_assertion(ctx, t, check, o, err);
    }
    /* Errors from building the statement come without a message. */
    if (rc == CVG_ETOOBIG && err->message[0] == '\0')
        cvg_err_set(err, rc, "", "the statement is longer than %d bytes", STMT_MAX);
    else if (rc == CVG_ENOMEM && err->message[0] == '\0')
        cvg_err_set(err, rc, "", "out of memory");
    else if (rc != 0 && err->message[0] == '\0')
        cvg_err_set(err, rc, "", "a column name is not an identifier");
    cvg_buf_cleanup(&sql);
    return rc;
}

/* One result as proc_emit_dq and the step detail carry it. */
static json_t *result_json(const target_t *t, const char *name, int k, const char *severity,
                           outcome_t *o)
{
    json_t *d = json_object();
    if (d == NULL)
        return NULL;
    json_object_set_new(d, "check_name", json_string(name));
    json_object_set_new(d, "check_type", json_string(kinds[k].name));
    json_object_set_new(d, "passed", json_boolean(o->passed));
    json_object_set_new(d, "target_table", json_string(t->name));
    json_object_set_new(d, "severity", json_string(severity));
    json_object_set_new(d, "observed_value", o->observed ? o->observed : json_null());
    json_object_set_new(d, "expected_value", o->expected ? o->expected : json_null());
    utf8_trim(o->message);
    json_t *msg = json_string(o->message);
    json_object_set_new(d, "message", msg ? msg : json_string("(the message is not UTF-8)"));
    o->observed = o->expected = NULL;
    return d;
}

/* Adds name to the list of failed checks, ending it with "..." when full. */
static void note_failed(char *names, size_t size, const char *name)
{
    size_t used = strlen(names);
    if (used >= 3 && strcmp(names + used - 3, "...") == 0)
        return;
    const char *sep = used ? ", " : "";
    if (used + strlen(sep) + strlen(name) + 5 < size)
        snprintf(names + used, size - used, "%s%s", sep, name);
    else
        snprintf(names + used, size - used, "%s...", sep);
}

static int run(const proc_ctx_t *ctx, const json_t *step, proc_result_t *res)
{
    static const cvg_vars_t none = {0};
    const json_t *target = json_object_get(step, "target");
    const json_t *checks = json_object_get(step, "checks");
    target_t t = {
        .dataset = json_string_value(json_object_get(target, "dataset_type")),
        .table = json_string_value(json_object_get(target, "table")),
        .quote = cvg_wh_ident_quote(ctx->wh),
    };
    const char *where = json_string_value(json_object_get(target, "where"));
    if (t.dataset == NULL || t.table == NULL || !cvg_wh_ident_ok(t.dataset) ||
        !cvg_wh_ident_ok(t.table) || json_array_size(checks) == 0)
        return proc_fail(res, CVG_EINVAL, "invalid step configuration: target and checks needed");
    snprintf(t.name, sizeof(t.name), "%s.%s", t.dataset, t.table);

    /* The names again, now that variables are expanded. */
    char path[64];
    snprintf(path, sizeof(path), "steps[%d]", ctx->step_index);
    cvg_errlist_t *errs = cvg_errlist_new();
    if (errs == NULL)
        return proc_fail(res, CVG_ENOMEM, "out of memory");
    int rc = validate(step, path, errs) > 0
                 ? proc_fail(res, CVG_EINVAL, "%s", errs->items[0].message)
                 : 0;
    free(errs);
    if (rc != 0)
        return rc;

    cvg_err_t err;
    cvg_err_clear(&err);
    bool exists = false;
    if ((rc = cvg_wh_table_exists(ctx->wh, t.dataset, t.table, &exists, &err)) != 0) {
        res->transient = rc == CVG_EBUSY;
        return proc_fail(res, rc, "target %s: %s", t.name, err.message);
    }
    if (!exists)
        return proc_fail(res, CVG_ENOTFOUND, "target table %s does not exist", t.name);
    if (where) {
        rc = cvg_sql_render(where, ctx->vars ? ctx->vars : &none, t.quote, &t.where, &err);
        if (rc != 0)
            return proc_fail(res, rc, "target.where: %s", err.message);
        t.filtered = true;
    }

    size_t n = json_array_size(checks), passed = 0, failed = 0, warned = 0;
    char names[NAMES_MAX] = "";
    json_t *results = json_array();
    if (results == NULL) {
        rc = proc_fail(res, CVG_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *check = json_array_get(checks, i);
        const char *name = json_string_value(json_object_get(check, "name"));
        const char *severity = json_string_value(json_object_get(check, "severity"));
        int k = kind_of(json_string_value(json_object_get(check, "type")));
        if (severity == NULL)
            severity = "error";
        if (name == NULL || k < 0) {
            rc = proc_fail(res, CVG_EINVAL, "invalid step configuration: checks[%zu]", i);
            goto out;
        }
        if (ctx->cancel && *ctx->cancel) {
            rc = proc_fail(res, CVG_ECANCELED, "cancelled after %zu of %zu checks", i, n);
            goto out;
        }
        outcome_t o = {0};
        cvg_err_clear(&err);
        rc = run_check(ctx, &t, check, k, &o, &err);
        if (rc != 0) {
            json_decref(o.observed);
            json_decref(o.expected);
            res->transient = rc == CVG_EBUSY;
            proc_fail(res, rc, "check %s (%s): %s", name, kinds[k].name, err.message);
            goto out;
        }
        json_t *d = result_json(&t, name, k, severity, &o);
        if (d == NULL) {
            rc = proc_fail(res, CVG_ENOMEM, "out of memory");
            goto out;
        }
        if (o.passed) {
            passed++;
        } else if (strcmp(severity, "warn") == 0) {
            warned++;
        } else {
            failed++;
            note_failed(names, sizeof(names), name);
        }
        json_array_append(results, d);
        proc_emit_dq(ctx, d);
    }
    if (failed > 0)
        rc = proc_fail(res, CVG_EINVAL, "%zu check%s failed: %s", failed, failed == 1 ? "" : "s",
                       names);
out:
    res->rows = -1;
    if (results)
        res->detail = json_pack("{s:s, s:i, s:i, s:i, s:i, s:o}", "target_table", t.name, "checks",
                                (int)n, "passed", (int)passed, "failed", (int)failed, "warned",
                                (int)warned, "results", results);
    if (t.filtered)
        cvg_sql_cleanup(&t.where);
    return rc;
}

const proc_def_t proc_dq_checks = {
    .ps_type = "dq.checks",
    .summary = "data-quality checks on a table, each result reported to tenant_dq_results",
    .setup_only = false,
    .validate = validate,
    .validate_always = true, /* each check on its own: one of an unknown type hides nothing */
    .run = run,
};
