/*
 * Variables and pipeline SQL: placeholders found and expanded, precedence
 * of the sources, values bound as parameters and names checked and quoted,
 * and the hundred classic injection payloads of
 * tests/configs/security/injection_payloads.json changing no statement.
 */
#include "common/buf.h"
#include "common/sqltmpl.h"
#include "common/vars.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

static char *dir;

static int setup(void)
{
    dir = tmpdir_new("sqltmpl");
    return dir ? 0 : 1;
}

static int teardown(void)
{
    tmpdir_remove(&dir);
    return 0;
}

static void test_vars_expand_and_precedence(void)
{
    cvg_vars_t v = {0};
    CU_ASSERT_EQUAL(cvg_vars_set(&v, "region", "from-pipeline", CVG_VAR_PIPELINE, false), 0);
    CU_ASSERT_EQUAL(cvg_vars_set(&v, "region", "from-settings", CVG_VAR_SETTING, false), 0);
    CU_ASSERT_EQUAL(cvg_vars_set(&v, "region", "from-parameter", CVG_VAR_PARAM, false), 0);
    /* a lower source never overrides a higher one */
    CU_ASSERT_EQUAL(cvg_vars_set(&v, "region", "late-pipeline", CVG_VAR_PIPELINE, false), 0);
    CU_ASSERT_STRING_EQUAL(cvg_vars_find(&v, "region")->value, "from-parameter");
    CU_ASSERT_EQUAL(cvg_vars_set(&v, "tenant_id", "acme", CVG_VAR_BUILTIN, false), 0);
    CU_ASSERT_EQUAL(cvg_vars_set(&v, "tenant_id", "other", CVG_VAR_PARAM, false), 0);
    CU_ASSERT_STRING_EQUAL(cvg_vars_find(&v, "tenant_id")->value, "acme");
    CU_ASSERT_EQUAL(cvg_vars_set(&v, "bad name", "x", CVG_VAR_PARAM, false), CVG_EINVAL);

    cvg_buf_t b;
    cvg_buf_init(&b, 4096);
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_vars_expand(&v, "s3://{tenant_id}/{region}/x.csv", &b, &err), 0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&b), "s3://acme/from-parameter/x.csv");
    /* braces that are not a placeholder are text */
    cvg_buf_reset(&b);
    CU_ASSERT_EQUAL(cvg_vars_expand(&v, "{\"a\": 1} { x} {1x} {", &b, &err), 0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&b), "{\"a\": 1} { x} {1x} {");
    cvg_buf_reset(&b);
    CU_ASSERT_EQUAL(cvg_vars_expand(&v, "a{nope}b", &b, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "unknown variable {nope}");
    CU_ASSERT_STRING_EQUAL(err.field, "nope");
    /* a value is not expanded again */
    cvg_vars_set(&v, "loop", "{loop}", CVG_VAR_PARAM, false);
    cvg_buf_reset(&b);
    CU_ASSERT_EQUAL(cvg_vars_expand(&v, "<{loop}>", &b, &err), 0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&b), "<{loop}>");
    cvg_buf_cleanup(&b);
    cvg_vars_cleanup(&v);
}

static cvg_vars_t sample_vars(void)
{
    cvg_vars_t v = {0};
    cvg_vars_set(&v, "tenant_id", "acme_corp", CVG_VAR_BUILTIN, false);
    cvg_vars_set(&v, "date", "2026-11-03", CVG_VAR_BUILTIN, false);
    cvg_vars_set(&v, "limit", "25", CVG_VAR_PARAM, true);
    cvg_vars_set(&v, "table", "gcp_cost_billing", CVG_VAR_PIPELINE, false);
    return v;
}

static void test_sql_values_are_bound(void)
{
    cvg_vars_t v = sample_vars();
    cvg_sql_t q;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        cvg_sql_render("SELECT * FROM {tenant_id}.{table} WHERE usage_date = '{date}' "
                       "AND day = {date} LIMIT {limit}",
                       &v, '"', &q, &err),
        0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&q.text),
                           "SELECT * FROM \"acme_corp\".\"gcp_cost_billing\" WHERE usage_date = "
                           "$1 AND day = $1 LIMIT $2");
    CU_ASSERT_EQUAL(q.nparams, 2);
    CU_ASSERT_EQUAL(q.params[0].type, CVG_VAL_TEXT);
    CU_ASSERT_STRING_EQUAL(q.params[0].s, "2026-11-03");
    CU_ASSERT_EQUAL(q.params[1].type, CVG_VAL_INT);
    CU_ASSERT_EQUAL(q.params[1].i, 25);
    cvg_sql_cleanup(&q);
    /* INTO, JOIN, UPDATE, TABLE and a quoted name are name positions too */
    CU_ASSERT_EQUAL_FATAL(cvg_sql_render("INSERT INTO {table} SELECT 1; -- {not_looked_up}\n"
                                         "/* '{nor_this}' */ UPDATE \"{table}\" JOIN {table}",
                                         &v, '"', &q, &err),
                          0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&q.text),
                           "INSERT INTO \"gcp_cost_billing\" SELECT 1; -- {not_looked_up}\n"
                           "/* '{nor_this}' */ UPDATE \"gcp_cost_billing\" JOIN "
                           "\"gcp_cost_billing\"");
    CU_ASSERT_EQUAL(q.nparams, 0);
    cvg_sql_cleanup(&q);
    /* the driver's quote character */
    CU_ASSERT_EQUAL_FATAL(cvg_sql_render("SELECT 1 FROM {table}", &v, '`', &q, &err), 0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&q.text), "SELECT 1 FROM `gcp_cost_billing`");
    cvg_sql_cleanup(&q);
    cvg_vars_cleanup(&v);
}

/* A tenant id with '-' names its dataset with '_': where a name is
 * expected ({tenant_id}.t, an identifier field) the variable gives its
 * name; where a value is, the id itself. */
static void test_vars_name_where_a_name_is_expected(void)
{
    cvg_vars_t v = {0};
    CU_ASSERT_EQUAL(cvg_vars_set(&v, "tenant_id", "acme-corp", CVG_VAR_BUILTIN, false), 0);
    CU_ASSERT_EQUAL(cvg_vars_set_name(&v, "tenant_id", "acme_corp"), 0);
    CU_ASSERT_EQUAL(cvg_vars_set_name(&v, "nope", "x"), CVG_ENOTFOUND);
    cvg_sql_t q;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        cvg_sql_render("SELECT '{tenant_id}' AS t FROM {tenant_id}.costs", &v, '"', &q, &err), 0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&q.text), "SELECT $1 AS t FROM \"acme_corp\".costs");
    CU_ASSERT_EQUAL(q.nparams, 1);
    CU_ASSERT_STRING_EQUAL(q.params[0].s, "acme-corp");
    cvg_sql_cleanup(&q);
    cvg_buf_t b;
    cvg_buf_init(&b, 256);
    CU_ASSERT_EQUAL(cvg_vars_expand(&v, "s3://{tenant_id}/x", &b, &err), 0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&b), "s3://acme-corp/x");
    cvg_buf_reset(&b);
    CU_ASSERT_EQUAL(cvg_vars_expand_name(&v, "{tenant_id}", &b, &err), 0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&b), "acme_corp");
    /* a new value forgets the old name */
    CU_ASSERT_EQUAL(cvg_vars_set(&v, "tenant_id", "other-co", CVG_VAR_BUILTIN, false), 0);
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT 1 FROM {tenant_id}.costs", &v, '"', &q, &err),
                    CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'other-co' is not an identifier"));
    cvg_buf_cleanup(&b);
    cvg_vars_cleanup(&v);
}

static void test_sql_errors_name_the_problem(void)
{
    cvg_vars_t v = sample_vars();
    cvg_sql_t q;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT {nope}", &v, '"', &q, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "unknown variable {nope}");
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT 'cost_{date}'", &v, '"', &q, &err), CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "{date} inside quotes must be all of the quoted"));
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT * FROM t WHERE a = $1", &v, '"', &q, &err), CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "write variables as {name}"));
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT * FROM t WHERE a = ?", &v, '"', &q, &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT 'open", &v, '"', &q, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "unterminated string literal");
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT 1 /* open", &v, '"', &q, &err), CVG_EINVAL);
    /* a variable is never part of a word: {t}_v2 would read table t */
    CU_ASSERT_EQUAL(
        cvg_sql_render("SELECT count(*) FROM {tenant_id}.{tenant_id}_v2", &v, '"', &q, &err),
        CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message,
                           "{tenant_id} is joined to the text around it ('{tenant_id}_v2'): a "
                           "variable stands for a whole value or a whole name, never part of one");
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT x{date}", &v, '"', &q, &err), CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "('x{date}')"));
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT {date}{date}", &v, '"', &q, &err), CVG_EINVAL);
    /* beside punctuation it is whole */
    CU_ASSERT_EQUAL_FATAL(cvg_sql_render("SELECT ({date}),{date}::text", &v, '"', &q, &err), 0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&q.text), "SELECT ($1),$1::text");
    cvg_sql_cleanup(&q);
    /* a date is not a name */
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT * FROM {date}", &v, '"', &q, &err), CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'2026-11-03' is not an identifier"));
    /* quotes inside literals are kept as written */
    CU_ASSERT_EQUAL_FATAL(cvg_sql_render("SELECT 'it''s {x'", &v, '"', &q, &err), 0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&q.text), "SELECT 'it''s {x'");
    cvg_sql_cleanup(&q);
    cvg_vars_cleanup(&v);
}

static int collect_ref(void *ud, const char *name, size_t offset, size_t length)
{
    (void)offset;
    (void)length;
    cvg_buf_t *b = ud;
    cvg_buf_printf(b, "%s;", name);
    return 0;
}

/* Before a run, without values: the errors the render would give, and the
 * variables it would use (those in comments and longer literals are not). */
static void test_sql_checked_before_a_run(void)
{
    cvg_err_t err;
    cvg_buf_t refs;
    cvg_buf_init(&refs, 1024);
    CU_ASSERT_EQUAL(cvg_sql_check("SELECT {a}, '{b}', \"{c}\" FROM {d}.t -- {e}\n"
                                  "/* {f} */ WHERE x = 'it''s {g'",
                                  collect_ref, &refs, &err),
                    0);
    CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&refs), "a;b;c;d;");
    static const struct {
        const char *sql, *error;
    } bad[] = {
        {"SELECT 'cost_{date}'", "{date} inside quotes must be all of the quoted text"},
        {"SELECT \"t_{tenant_id}\"", "{tenant_id} inside quotes"},
        {"SELECT 'open", "unterminated string literal"},
        {"SELECT 1 /* open", "unterminated /* comment"},
        {"SELECT * FROM t WHERE a = ?", "? placeholders are reserved"},
        {"SELECT * FROM t WHERE a = $1", "$ placeholders are reserved"},
        {"SELECT n FROM {d}.{t}_archive", "{t} is joined to the text around it ('{t}_archive')"},
        /* the first mistake is the one told, whatever follows it */
        {"SELECT ? AS a, 'open", "? placeholders are reserved"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cvg_err_clear(&err);
        CU_ASSERT_EQUAL(cvg_sql_check(bad[i].sql, NULL, NULL, &err), CVG_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, bad[i].error));
    }
    /* as many distinct variables as a statement binds, and one more */
    cvg_buf_t many;
    cvg_buf_init(&many, 8192);
    cvg_buf_printf(&many, "SELECT 1 WHERE 1 = 1");
    for (int i = 0; i < CVG_SQL_MAX_PARAMS; i++)
        cvg_buf_printf(&many, " AND a = {v%d} AND b = '{v%d}'", i, i);
    CU_ASSERT_EQUAL(cvg_sql_check(cvg_buf_cstr(&many), NULL, NULL, &err), 0);
    cvg_buf_printf(&many, " AND c = {one_more}");
    CU_ASSERT_EQUAL(cvg_sql_check(cvg_buf_cstr(&many), NULL, NULL, &err), CVG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "more than 64 variables"));
    cvg_buf_cleanup(&many);
    /* a render without variables knows none */
    cvg_sql_t q;
    CU_ASSERT_EQUAL(cvg_sql_render("SELECT {a}", NULL, '"', &q, &err), CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "unknown variable {a}");
    cvg_buf_cleanup(&refs);
}

/* A query step's SQL is one statement that reads; a closing ';' is fine. */
static void test_sql_select_only(void)
{
    static const struct {
        const char *sql;
        size_t len;
    } good[] = {
        {"SELECT 1", 8},
        {"  -- note\n(SELECT 1)", 20},
        {"WITH x AS (SELECT 1 AS a) SELECT a FROM x", 41},
        {"select 1 as a; ", 13},
        {"SELECT replace(name, '-', '_') FROM t", 37},
        /* the statement ends before a closing comment: it is wrapped */
        {"SELECT 'DELETE' AS w, \"update\" FROM t -- DROP", 37},
        {"SELECT {x} FROM {tenant_id}.t;\n-- the end\n", 29},
        {"VALUES (1), (2)", 15},
        {"SELECT `delete`, [drop] FROM t", 30},
        {"select x.insert from x", 22},
        /* an alias is a name, whatever word it is */
        {"SELECT 1 AS attach, 2 AS Delete", 31},
    };
    cvg_err_t err;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t len = 0;
        cvg_err_clear(&err);
        int rc = cvg_sql_select_only(good[i].sql, &len, &err);
        if (rc != 0 || len != good[i].len)
            printf("\n  %s: %d %zu %s", good[i].sql, rc, len, err.message);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(len, good[i].len);
    }
    static const struct {
        const char *sql, *why;
    } bad[] = {
        {"INSERT INTO t VALUES (1)", "it starts with INSERT"},
        {"SELECT 1 AS a; DROP TABLE t", "there is another statement after the ';'"},
        {"SELECT 1;;", "there is another statement after the ';'"},
        {"WITH x AS (SELECT 1) DELETE FROM t", "DELETE writes"},
        {"SELECT * FROM t; -- fine\nUPDATE t SET a = 1", "there is another statement after"},
        {"", "it has no statement"},
        {"  -- only a comment", "it has no statement"},
        {"* FROM t", "it starts with '*'"},
        {"'x'", "it starts with '''"},
        {"{query}", "it starts with '{'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cvg_err_clear(&err);
        CU_ASSERT_EQUAL(cvg_sql_select_only(bad[i].sql, NULL, &err), CVG_EINVAL);
        if (strstr(err.message, bad[i].why) == NULL)
            printf("\n  %s: %s", bad[i].sql, err.message);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, bad[i].why));
    }
}

static int count_row(void *ud, const cvg_row_t *row)
{
    (void)row;
    (*(int *)ud)++;
    return 0;
}

static void test_sql_injection_payloads_change_nothing(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/configs/security/injection_payloads.json", source_dir());
    json_t *doc = json_load_file(path, 0, NULL);
    json_t *payloads = json_object_get(doc, "payloads");
    CU_ASSERT_FATAL(json_array_size(payloads) >= 100);
    char url[1100];
    snprintf(url, sizeof(url), "sqlite://%s/wh", dir);
    cvg_wh_t *wh = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_open(url, &wh, &err), 0);
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "acme", &err), 0);
    CU_ASSERT_EQUAL_FATAL(cvg_wh_exec(wh, "CREATE TABLE acme.costs (name TEXT, cost REAL)", NULL, 0,
                                      NULL, NULL, NULL, &err),
                          0);
    CU_ASSERT_EQUAL_FATAL(cvg_wh_exec(wh, "INSERT INTO acme.costs VALUES ('vm', 1.5)", NULL, 0,
                                      NULL, NULL, NULL, &err),
                          0);
    const char *tmpl = "SELECT name FROM {tenant_id}.costs WHERE name = {service} OR name = "
                       "'{service}'";
    const char *expect = "SELECT name FROM \"acme\".costs WHERE name = $1 OR name = $1";
    size_t bound = 0, refused_as_name = 0;
    for (size_t i = 0; i < json_array_size(payloads); i++) {
        const char *p = json_string_value(json_array_get(payloads, i));
        cvg_vars_t v = {0};
        cvg_vars_set(&v, "tenant_id", "acme", CVG_VAR_BUILTIN, false);
        cvg_vars_set(&v, "service", p, CVG_VAR_PARAM, false);
        cvg_sql_t q;
        CU_ASSERT_EQUAL_FATAL(cvg_sql_render(tmpl, &v, '"', &q, &err), 0);
        /* same statement text whatever the value */
        CU_ASSERT_STRING_EQUAL(cvg_buf_cstr(&q.text), expect);
        CU_ASSERT_EQUAL(q.nparams, 1);
        int rows = 0;
        CU_ASSERT_EQUAL(cvg_wh_exec(wh, cvg_buf_cstr(&q.text), q.params, q.nparams, count_row,
                                    &rows, NULL, &err),
                        0);
        CU_ASSERT_EQUAL(rows, 0);
        bound += q.nparams == 1 && rows == 0;
        cvg_sql_cleanup(&q);
        /* where a name is expected, a payload is refused */
        refused_as_name +=
            cvg_sql_render("SELECT * FROM {tenant_id}.{service}", &v, '"', &q, &err) == CVG_EINVAL;
        cvg_vars_cleanup(&v);
    }
    CU_ASSERT_EQUAL(bound, json_array_size(payloads));
    CU_ASSERT_EQUAL(refused_as_name, json_array_size(payloads));
    /* and the table is as it was */
    int rows = 0;
    CU_ASSERT_EQUAL(
        cvg_wh_exec(wh, "SELECT * FROM acme.costs", NULL, 0, count_row, &rows, NULL, &err), 0);
    CU_ASSERT_EQUAL(rows, 1);
    cvg_wh_close(&wh);
    json_decref(doc);
}

static CU_TestInfo tests[] = {
    {"test_vars_expand_and_precedence", test_vars_expand_and_precedence},
    {"test_sql_values_are_bound", test_sql_values_are_bound},
    {"test_vars_name_where_a_name_is_expected", test_vars_name_where_a_name_is_expected},
    {"test_sql_errors_name_the_problem", test_sql_errors_name_the_problem},
    {"test_sql_checked_before_a_run", test_sql_checked_before_a_run},
    {"test_sql_select_only", test_sql_select_only},
    {"test_sql_injection_payloads_change_nothing", test_sql_injection_payloads_change_nothing},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_sqltmpl = {"unit_sqltmpl", setup, teardown, tests, 60};
