/*
 * The dq.checks processor, driven as the runner drives it (schema check,
 * validate, resolve, run) against a SQLite warehouse: every check type
 * passing and failing with its observed and expected values and message,
 * warn against error severity, a bound filter, the validation errors with
 * their paths, warehouse errors, and injection payloads changing nothing.
 */
#include "common/id.h"
#include "common/pipeline.h"
#include "common/proto.h"
#include "common/time.h"
#include "common/yaml.h"
#include "logger/sink.h"
#include "tests/tests.h"
#include "worker/registry.h"
#include "worker/runner.h"

#include <stdlib.h>
#include <string.h>

static char *dir;
static cvg_wh_t *wh;
static bool stale; /* of the last lgr_sink_apply */
static cvg_config_t cfg;

/* A table whose rows break some rule of every check type; the dates and
 * the hours before now of usage_start_time are what the cases rely on. */
static const struct {
    const char *id, *account, *cost, *currency, *date;
    int hours_ago;
} rows[] = {
    {"1", "'a1'", "1.5", "'USD'", "2026-11-03", 2},
    {"2", "'a1'", "NULL", "'EUR'", "2026-11-03", 3},
    {"3", "'a2'", "2.0", "'GBP'", "2026-11-03", 5},
    {"3", "'a2'", "NULL", "'USD'", "2026-11-02", 50},
    {"4", "'a3'", "0.5", "'JPY'", "2026-11-02", 60},
    {"5", "'a1'", "1.0", "NULL", "2026-11-02", 70},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static int setup(void)
{
    dir = tmpdir_new("dq");
    if (dir == NULL)
        return 1;
    snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", source_dir());
    char url[600];
    snprintf(url, sizeof(url), "sqlite://%s/wh", dir);
    cvg_err_t err;
    if (cvg_wh_open(url, &wh, &err) != 0 || cvg_wh_dataset_create(wh, "acme", &err) != 0 ||
        cvg_wh_exec(wh,
                    "CREATE TABLE acme.billing (id INTEGER, account TEXT, cost REAL, "
                    "currency TEXT, usage_date TEXT, usage_start_time TEXT)",
                    NULL, 0, NULL, NULL, NULL, &err) != 0)
        return 1;
    char ahead[CVG_TIME_ISO_LEN], sql[400];
    cvg_time_format_iso(cvg_time_now_ms() + 3 * 3600000, ahead);
    snprintf(sql, sizeof(sql), "CREATE TABLE acme.ahead AS SELECT '%s' AS ts", ahead);
    if (cvg_wh_exec(wh, sql, NULL, 0, NULL, NULL, NULL, &err) != 0)
        return 1;
    for (size_t i = 0; i < NROWS; i++) {
        char ts[CVG_TIME_ISO_LEN];
        cvg_time_format_iso(cvg_time_now_ms() - (int64_t)rows[i].hours_ago * 3600000, ts);
        snprintf(sql, sizeof(sql), "INSERT INTO acme.billing VALUES (%s, %s, %s, %s, '%s', '%s')",
                 rows[i].id, rows[i].account, rows[i].cost, rows[i].currency, rows[i].date, ts);
        if (cvg_wh_exec(wh, sql, NULL, 0, NULL, NULL, NULL, &err) != 0)
            return 1;
    }
    return 0;
}

static int teardown(void)
{
    cvg_wh_close(&wh);
    wrk_registry_unload();
    tmpdir_remove(&dir);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------- */

static const cvg_psschema_t *schema(const proc_def_t **def)
{
    *def = wrk_registry_find("dq.checks");
    CU_ASSERT_PTR_NOT_NULL_FATAL(*def);
    cvg_err_t err;
    cvg_err_clear(&err);
    const cvg_psschema_t *s = wrk_registry_schema(*def, cfg.templates_dir, &err);
    if (s == NULL)
        printf("\n  schema: %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

static json_t *yaml(const char *text)
{
    json_t *doc = NULL;
    cvg_err_t err;
    int rc = cvg_yaml_load_string(text, strlen(text), "step.yml", &doc, &err);
    if (rc != 0)
        printf("\n  yaml: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return doc;
}

/* Checks a step as the runner does, at `path`; the errors go to errs. */
static size_t check_step(const char *text, const char *path, cvg_errlist_t *errs)
{
    const proc_def_t *def;
    const cvg_psschema_t *s = schema(&def);
    json_t *step = yaml(text);
    memset(errs, 0, sizeof(*errs));
    /* as the runner validates */
    if (cvg_psschema_check(s, step, path, NULL, NULL, errs) == 0 || def->validate_always)
        def->validate(step, path, errs);
    json_decref(step);
    return errs->n;
}

/* True when errs holds message, whose field is the path it starts with. */
static bool has(const cvg_errlist_t *errs, const char *message)
{
    for (size_t i = 0; i < errs->n; i++) {
        const cvg_err_t *e = &errs->items[i];
        if (strcmp(e->message, message) == 0) {
            size_t n = strlen(e->field);
            CU_ASSERT(n > 0 && strncmp(e->field, message, n) == 0 && message[n] == ':');
            return true;
        }
    }
    printf("\n  no error '%s'; got:", message);
    for (size_t i = 0; i < errs->n; i++)
        printf("\n    %s", errs->items[i].message);
    return false;
}

static void collect(void *ud, const proc_ctx_t *ctx, json_t *detail)
{
    (void)ctx;
    json_array_append(ud, detail);
}

static void base_vars(cvg_vars_t *v)
{
    cvg_vars_set(v, "tenant_id", "acme", CVG_VAR_BUILTIN, false);
    cvg_vars_set(v, "date", "2026-11-03", CVG_VAR_BUILTIN, false);
    cvg_vars_set(v, "run_id", "r1", CVG_VAR_BUILTIN, false);
}

/* One run of the step: what it returned, reported and emitted. */
typedef struct outcome {
    int rc;
    proc_result_t res;
    json_t *emitted; /* the proc_emit_dq details, in order */
} outcome_t;

static void outcome_cleanup(outcome_t *o)
{
    json_decref(o->res.detail);
    json_decref(o->emitted);
    memset(o, 0, sizeof(*o));
}

/* Checks, validates, resolves and runs a step with vars (NULL: the base
 * ones), as the runner would. */
static outcome_t run_with(const char *text, const cvg_vars_t *vars,
                          const volatile sig_atomic_t *cancel)
{
    outcome_t o = {.rc = -999, .res = {.rows = 0}, .emitted = json_array()};
    const proc_def_t *def;
    const cvg_psschema_t *s = schema(&def);
    cvg_vars_t own = {0};
    base_vars(&own);
    json_t *step = yaml(text);
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    CU_ASSERT_PTR_NOT_NULL_FATAL(errs);
    size_t bad = cvg_psschema_check(s, step, "steps[0]", NULL, NULL, errs) > 0
                     ? errs->n
                     : (size_t)def->validate(step, "steps[0]", errs);
    for (size_t i = 0; i < errs->n; i++)
        printf("\n  unexpected: %s", errs->items[i].message);
    CU_ASSERT_EQUAL(bad, 0);
    json_t *resolved = cvg_psschema_resolve(s, step, vars ? vars : &own, "steps[0]", errs);
    CU_ASSERT_PTR_NOT_NULL(resolved);
    if (resolved) {
        proc_ctx_t ctx = {.wh = wh,
                          .cfg = &cfg,
                          .tenant_id = "acme",
                          .run_id = "r1",
                          .pipeline_id = "p1",
                          .step_id = "checks",
                          .vars = vars ? vars : &own,
                          .step_index = 0,
                          .emit_dq = collect,
                          .emit_ud = o.emitted,
                          .cancel = cancel};
        o.rc = def->run(&ctx, resolved, &o.res);
    }
    json_decref(resolved);
    json_decref(step);
    free(errs);
    cvg_vars_cleanup(&own);
    return o;
}

static outcome_t run_step(const char *text)
{
    return run_with(text, NULL, NULL);
}

/* Asserts the result of check i: passed, observed and expected (as
 * compact JSON) and message. */
static void expect(const outcome_t *o, size_t i, bool passed, const char *observed,
                   const char *expected, const char *message)
{
    const json_t *d = json_array_get(o->emitted, i);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(json_is_true(json_object_get(d, "passed")), passed);
    char *obs = json_dumps(json_object_get(d, "observed_value"), JSON_COMPACT | JSON_ENCODE_ANY);
    char *exp = json_dumps(json_object_get(d, "expected_value"), JSON_COMPACT | JSON_ENCODE_ANY);
    const char *msg = json_string_value(json_object_get(d, "message"));
    if (strcmp(obs, observed) != 0 || strcmp(exp, expected) != 0 || strcmp(msg, message) != 0)
        printf("\n  check %zu: observed %s, expected %s, message '%s'", i, obs, exp, msg);
    CU_ASSERT_STRING_EQUAL(obs, observed);
    CU_ASSERT_STRING_EQUAL(exp, expected);
    CU_ASSERT_STRING_EQUAL(msg, message);
    free(obs);
    free(exp);
}

static const char *str_of(const json_t *d, const char *key)
{
    const char *s = json_string_value(json_object_get(d, key));
    return s ? s : "";
}

static json_int_t int_of(const json_t *d, const char *key)
{
    return json_integer_value(json_object_get(d, key));
}

#define TARGET        "target:\n  table: billing\n"
#define FILTER        "target:\n  table: billing\n  where: usage_date = '{date}'\n"
#define TARGET_INDENT "    target: {table: billing}\n"

/* ---- the check types ----------------------------------------------------------- */

static void test_dq_row_count(void)
{
    outcome_t o =
        run_step(TARGET "checks:\n"
                        "  - {name: some, type: row_count, min: 1}\n"
                        "  - {name: at_most, type: row_count, max: 100}\n"
                        "  - {name: between, type: row_count, min: 1, max: 6}\n"
                        "  - {name: too_few, type: row_count, min: 10}\n"
                        "  - {name: too_many, type: row_count, max: 3, severity: warn}\n");
    CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(o.res.error, "1 check failed: too_few");
    CU_ASSERT_EQUAL(json_array_size(o.emitted), 5);
    expect(&o, 0, true, "6", "\">= 1\"", "row_count 6 is >= 1");
    expect(&o, 1, true, "6", "\"<= 100\"", "row_count 6 is <= 100");
    expect(&o, 2, true, "6", "\">= 1 and <= 6\"", "row_count 6 is >= 1 and <= 6");
    expect(&o, 3, false, "6", "\">= 10\"", "row_count 6 is below the minimum 10");
    expect(&o, 4, false, "6", "\"<= 3\"", "row_count 6 is above the maximum 3");
    /* the fields every result carries, defaults from the schema */
    const json_t *d = json_array_get(o.emitted, 0);
    CU_ASSERT_STRING_EQUAL(str_of(d, "check_name"), "some");
    CU_ASSERT_STRING_EQUAL(str_of(d, "check_type"), "row_count");
    CU_ASSERT_STRING_EQUAL(str_of(d, "target_table"), "acme.billing");
    CU_ASSERT_STRING_EQUAL(str_of(d, "severity"), "error");
    CU_ASSERT_STRING_EQUAL(str_of(json_array_get(o.emitted, 4), "severity"), "warn");
    outcome_cleanup(&o);

    /* an empty table is caught, and the filter applies */
    o = run_step(FILTER "checks:\n"
                        "  - {name: today, type: row_count, min: 3, max: 3}\n");
    CU_ASSERT_EQUAL(o.rc, 0);
    expect(&o, 0, true, "3", "\">= 3 and <= 3\"", "row_count 3 is >= 3 and <= 3");
    outcome_cleanup(&o);
    o = run_step("target:\n  table: billing\n  where: usage_date = '1999-01-01'\n"
                 "checks:\n  - {name: any, type: row_count, min: 1}\n");
    CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
    expect(&o, 0, false, "0", "\">= 1\"", "row_count 0 is below the minimum 1");
    outcome_cleanup(&o);
}

static void test_dq_not_null(void)
{
    outcome_t o = run_step(TARGET "checks:\n"
                                  "  - {name: id_set, type: not_null, column: id}\n"
                                  "  - {name: cost_set, type: not_null, column: cost}\n");
    CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(o.res.error, "1 check failed: cost_set");
    expect(&o, 0, true, "0", "0", "no NULL in id");
    expect(&o, 1, false, "2", "0", "2 rows have NULL in cost");
    outcome_cleanup(&o);
    o = run_step(FILTER "checks:\n  - {name: cost_set, type: not_null, column: cost}\n");
    expect(&o, 0, false, "1", "0", "1 row has NULL in cost");
    outcome_cleanup(&o);
}

static void test_dq_unique(void)
{
    outcome_t o =
        run_step(TARGET "checks:\n"
                        "  - {name: unique_id, type: unique, column: id}\n"
                        "  - {name: unique_account, type: unique, column: account}\n"
                        "  - {name: pair, type: unique, columns: [account, usage_date]}\n"
                        "  - {name: pair_ok, type: unique, columns: [account, currency]}\n"
                        "  - {name: cost, type: unique, column: cost}\n");
    CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(o.res.error, "3 checks failed: unique_id, unique_account, pair");
    expect(&o, 0, false, "1", "0", "1 duplicate value of id");
    expect(&o, 1, false, "2", "0", "2 duplicate values of account");
    expect(&o, 2, false, "1", "0", "1 duplicate value of (account, usage_date)");
    expect(&o, 3, true, "0", "0", "no duplicate values of (account, currency)");
    /* two NULL costs are not duplicates of each other */
    expect(&o, 4, true, "0", "0", "no duplicate values of cost");
    outcome_cleanup(&o);
    /* with the filter, id 3 appears once */
    o = run_step(FILTER "checks:\n  - {name: unique_id, type: unique, column: id}\n");
    CU_ASSERT_EQUAL(o.rc, 0);
    expect(&o, 0, true, "0", "0", "no duplicate values of id");
    outcome_cleanup(&o);
}

static void test_dq_accepted_values(void)
{
    outcome_t o = run_step(TARGET "checks:\n"
                                  "  - name: currency\n"
                                  "    type: accepted_values\n"
                                  "    column: currency\n"
                                  "    values: [USD, EUR]\n"
                                  "  - name: currency_all\n"
                                  "    type: accepted_values\n"
                                  "    column: currency\n"
                                  "    values: [USD, EUR, GBP, JPY]\n");
    CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
    /* the NULL currency is not counted: not_null is the check for it */
    expect(&o, 0, false, "2", "[\"USD\",\"EUR\"]",
           "2 rows have values outside [USD, EUR] in currency");
    expect(&o, 1, true, "0", "[\"USD\",\"EUR\",\"GBP\",\"JPY\"]",
           "every value of currency is in [USD, EUR, GBP, JPY]");
    outcome_cleanup(&o);
    /* the filter's parameter ($1) and the values' ($2, $3) side by side */
    o = run_step(FILTER "checks:\n"
                        "  - {name: currency, type: accepted_values, column: currency, "
                        "values: [USD, EUR]}\n");
    expect(&o, 0, false, "1", "[\"USD\",\"EUR\"]",
           "1 row has a value outside [USD, EUR] in currency");
    outcome_cleanup(&o);
    /* a long list is shortened in the message, not in expected_value */
    o = run_step(TARGET "checks:\n"
                        "  - {name: many, type: accepted_values, column: currency, values: [a, b, "
                        "c, d, e, f, g, h, i, j, k, l, m, n, USD]}\n");
    CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
    expect(&o, 0, false, "3",
           "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\","
           "\"USD\"]",
           "3 rows have values outside [a, b, c, d, e, f, g, h, i, j, ... 5 more] in currency");
    outcome_cleanup(&o);
}

static void test_dq_freshness(void)
{
    outcome_t o = run_step(TARGET "checks:\n"
                                  "  - name: fresh\n"
                                  "    type: freshness\n"
                                  "    column: usage_start_time\n"
                                  "    max_age_hours: 24\n");
    CU_ASSERT_EQUAL(o.rc, 0);
    expect(&o, 0, true, "2.0", "24.0", "newest usage_start_time is 2.0 h old; limit 24 h");
    outcome_cleanup(&o);
    o = run_step("target:\n  table: billing\n  where: usage_date = '2026-11-02'\n"
                 "checks:\n"
                 "  - {name: fresh, type: freshness, column: usage_start_time, "
                 "max_age_hours: 24}\n"
                 "  - {name: fresh_enough, type: freshness, column: usage_start_time, "
                 "max_age_hours: 50.5}\n");
    CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(o.res.error, "1 check failed: fresh");
    expect(&o, 0, false, "50.0", "24.0", "newest usage_start_time is 50.0 h old; limit 24 h");
    expect(&o, 1, true, "50.0", "50.5", "newest usage_start_time is 50.0 h old; limit 50.5 h");
    outcome_cleanup(&o);
    /* ahead of the clock: fresh, and said so */
    o = run_step("target:\n  table: ahead\n"
                 "checks:\n"
                 "  - {name: fresh, type: freshness, column: ts, max_age_hours: 24}\n");
    CU_ASSERT_EQUAL(o.rc, 0);
    expect(&o, 0, true, "-3.0", "24.0", "newest ts is 3.0 h in the future; limit 24 h");
    outcome_cleanup(&o);
    /* no rows, or not a timestamp: the check fails and says why */
    o = run_step("target:\n  table: billing\n  where: usage_date = '1999-01-01'\n"
                 "checks:\n"
                 "  - {name: fresh, type: freshness, column: usage_start_time, "
                 "max_age_hours: 24}\n");
    expect(&o, 0, false, "null", "24.0",
           "no usage_start_time values in acme.billing match the filter");
    outcome_cleanup(&o);
    o = run_step(TARGET "checks:\n"
                        "  - {name: fresh, type: freshness, column: account, max_age_hours: 1}\n");
    CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
    expect(&o, 0, false, "\"a3\"", "1.0", "newest account 'a3' is not an ISO 8601 timestamp");
    outcome_cleanup(&o);
}

static void test_dq_sql_assertion(void)
{
    outcome_t o =
        run_step(TARGET "checks:\n"
                        "  - name: no_negative_cost\n"
                        "    type: sql_assertion\n"
                        "    sql: SELECT COUNT(*) FROM {tenant_id}.billing WHERE cost < 0\n"
                        "  - name: nothing_today\n"
                        "    type: sql_assertion\n"
                        "    severity: warn\n"
                        "    sql: |\n"
                        "      -- rows of the run's date\n"
                        "      SELECT COUNT(*) FROM {tenant_id}.billing\n"
                        "      WHERE usage_date = '{date}'\n");
    CU_ASSERT_EQUAL(o.rc, 0);
    expect(&o, 0, true, "0", "0", "sql_assertion found no offending rows");
    expect(&o, 1, false, "3", "0", "sql_assertion found 3 offending rows");
    outcome_cleanup(&o);

    /* one row with one integer, or the step fails naming the check */
    static const struct {
        const char *sql, *error;
    } bad[] = {
        {"SELECT id FROM {tenant_id}.billing",
         "check shape (sql_assertion): the sql must return one row with one column, the number "
         "of offending rows; it returned several rows"},
        {"SELECT 1, 2",
         "check shape (sql_assertion): the sql must return one row with one column, the number "
         "of offending rows; it returned one row of 2 columns"},
        {"SELECT id FROM {tenant_id}.billing WHERE id > 100",
         "check shape (sql_assertion): the sql must return one row with one column, the number "
         "of offending rows; it returned no rows"},
        {"SELECT 'many'", "check shape (sql_assertion): the query returned 'many', not a number "
                          "of rows"},
        {"SELECT NULL", "check shape (sql_assertion): the sql returned NULL, not a number of rows"},
        {"SELECT -1", "check shape (sql_assertion): the sql returned -1, not a number of rows"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text),
                 TARGET "checks:\n  - name: shape\n    type: sql_assertion\n    sql: \"%s\"\n",
                 bad[i].sql);
        o = run_step(text);
        CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
        if (strcmp(o.res.error, bad[i].error) != 0)
            printf("\n  %s: %s", bad[i].sql, o.res.error);
        CU_ASSERT_STRING_EQUAL(o.res.error, bad[i].error);
        CU_ASSERT_EQUAL(json_array_size(o.emitted), 0);
        outcome_cleanup(&o);
    }
}

/* ---- the step as a whole --------------------------------------------------------- */

static void test_dq_warn_and_error_severity(void)
{
    /* warn failures are reported and the step succeeds */
    outcome_t o = run_step(TARGET "checks:\n"
                                  "  - {name: rows, type: row_count, min: 1}\n"
                                  "  - {name: not_null_cost, type: not_null, column: cost, "
                                  "severity: warn}\n"
                                  "  - {name: unique_id, type: unique, column: id, "
                                  "severity: warn}\n");
    CU_ASSERT_EQUAL(o.rc, 0);
    CU_ASSERT_STRING_EQUAL(o.res.error, "");
    CU_ASSERT_EQUAL(o.res.rows, -1);
    const json_t *d = o.res.detail;
    CU_ASSERT_EQUAL(int_of(d, "checks"), 3);
    CU_ASSERT_EQUAL(int_of(d, "passed"), 1);
    CU_ASSERT_EQUAL(int_of(d, "failed"), 0);
    CU_ASSERT_EQUAL(int_of(d, "warned"), 2);
    CU_ASSERT_STRING_EQUAL(str_of(d, "target_table"), "acme.billing");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "results")), 3);
    /* the step's results are what was emitted */
    CU_ASSERT_TRUE(json_equal(json_object_get(d, "results"), o.emitted));
    outcome_cleanup(&o);

    /* error failures fail the step, named in order; every check still runs */
    o = run_step(TARGET "checks:\n"
                        "  - {name: not_null_cost, type: not_null, column: cost}\n"
                        "  - {name: warn_only, type: not_null, column: cost, severity: warn}\n"
                        "  - {name: unique_id, type: unique, column: id, severity: error}\n"
                        "  - {name: rows, type: row_count, min: 1}\n");
    CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
    CU_ASSERT_FALSE(o.res.transient);
    CU_ASSERT_STRING_EQUAL(o.res.error, "2 checks failed: not_null_cost, unique_id");
    d = o.res.detail;
    CU_ASSERT_EQUAL(int_of(d, "checks"), 4);
    CU_ASSERT_EQUAL(int_of(d, "passed"), 1);
    CU_ASSERT_EQUAL(int_of(d, "failed"), 2);
    CU_ASSERT_EQUAL(int_of(d, "warned"), 1);
    CU_ASSERT_EQUAL(json_array_size(o.emitted), 4);
    outcome_cleanup(&o);
}

static void test_dq_warehouse_errors_fail_the_step(void)
{
    /* an unknown column: the warehouse's message and the check's name; the
     * checks before it were reported */
    outcome_t o = run_step(TARGET "checks:\n"
                                  "  - {name: rows, type: row_count, min: 1}\n"
                                  "  - {name: nn_costt, type: not_null, column: costt}\n"
                                  "  - {name: after, type: row_count, min: 1}\n");
    CU_ASSERT_NOT_EQUAL(o.rc, 0);
    CU_ASSERT_STRING_EQUAL(o.res.error, "check nn_costt (not_null): sqlite: no such column: costt");
    CU_ASSERT_EQUAL(json_array_size(o.emitted), 1);
    CU_ASSERT_EQUAL(int_of(o.res.detail, "passed"), 1);
    outcome_cleanup(&o);
    o = run_step(TARGET "checks:\n  - name: bad_sql\n    type: sql_assertion\n"
                        "    sql: SELECT COUNT(*) FROM {tenant_id}.billing WHERE nope = 1\n");
    CU_ASSERT_NOT_EQUAL(o.rc, 0);
    CU_ASSERT_STRING_EQUAL(o.res.error,
                           "check bad_sql (sql_assertion): sqlite: no such column: nope");
    outcome_cleanup(&o);
    /* a filter naming an unknown column */
    o = run_step("target:\n  table: billing\n  where: nope = 1\n"
                 "checks:\n  - {name: rows, type: row_count, min: 1}\n");
    CU_ASSERT_STRING_EQUAL(o.res.error, "check rows (row_count): sqlite: no such column: nope");
    outcome_cleanup(&o);
    /* no such table, no such dataset */
    o = run_step("target:\n  table: nope\nchecks:\n  - {name: rows, type: row_count, min: 1}\n");
    CU_ASSERT_EQUAL(o.rc, CVG_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(o.res.error, "target table acme.nope does not exist");
    outcome_cleanup(&o);
    /* (a fixed name is refused by validation: a parameter names it) */
    cvg_vars_t other = {0};
    base_vars(&other);
    cvg_vars_set(&other, "ds", "other", CVG_VAR_PARAM, false);
    o = run_with("target:\n  dataset_type: \"{ds}\"\n  table: billing\n"
                 "checks:\n  - {name: rows, type: row_count, min: 1}\n",
                 &other, NULL);
    CU_ASSERT_EQUAL(o.rc, CVG_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(o.res.error, "target table other.billing does not exist");
    outcome_cleanup(&o);
    cvg_vars_cleanup(&other);
    /* a variable the run does not have */
    o = run_step("target:\n  table: billing\n  where: usage_date = {nope}\n"
                 "checks:\n  - {name: rows, type: row_count, min: 1}\n");
    CU_ASSERT_EQUAL(o.rc, CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(o.res.error, "target.where: unknown variable {nope}");
    outcome_cleanup(&o);
}

static void test_dq_cancel_stops_between_checks(void)
{
    volatile sig_atomic_t cancel = 1;
    outcome_t o =
        run_with(TARGET "checks:\n  - {name: rows, type: row_count, min: 1}\n", NULL, &cancel);
    CU_ASSERT_EQUAL(o.rc, CVG_ECANCELED);
    CU_ASSERT_STRING_EQUAL(o.res.error, "cancelled after 0 of 1 checks");
    CU_ASSERT_EQUAL(json_array_size(o.emitted), 0);
    outcome_cleanup(&o);
}

static int count_row(void *ud, const cvg_row_t *row)
{
    (void)row;
    (*(int *)ud)++;
    return 0;
}

static void test_dq_where_values_are_bound(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/configs/security/injection_payloads.json", source_dir());
    json_t *doc = json_load_file(path, 0, NULL);
    json_t *payloads = json_object_get(doc, "payloads");
    CU_ASSERT_FATAL(json_array_size(payloads) >= 100);
    size_t clean = 0;
    for (size_t i = 0; i < json_array_size(payloads); i++) {
        cvg_vars_t v = {0};
        base_vars(&v);
        cvg_vars_set(&v, "day", json_string_value(json_array_get(payloads, i)), CVG_VAR_PARAM,
                     false);
        /* the same value in a bare and a quoted position, in the filter and
         * in an assertion: it matches no row and runs nothing */
        outcome_t o = run_with("target:\n  table: billing\n"
                               "  where: usage_date = {day} OR account = '{day}'\n"
                               "checks:\n"
                               "  - {name: rows, type: row_count, max: 0}\n"
                               "  - {name: currency, type: accepted_values, column: currency, "
                               "values: [USD]}\n"
                               "  - name: assertion\n"
                               "    type: sql_assertion\n"
                               "    sql: SELECT COUNT(*) FROM {tenant_id}.billing WHERE "
                               "usage_date = '{day}'\n",
                               &v, NULL);
        bool ok = o.rc == 0 && int_of(o.res.detail, "passed") == 3;
        if (!ok)
            printf("\n  payload %zu (%s): %s", i, json_string_value(json_array_get(payloads, i)),
                   o.res.error);
        clean += ok;
        outcome_cleanup(&o);
        cvg_vars_cleanup(&v);
    }
    CU_ASSERT_EQUAL(clean, json_array_size(payloads));
    json_decref(doc);
    /* and the table is as it was */
    int n = 0;
    cvg_err_t err;
    CU_ASSERT_EQUAL(
        cvg_wh_exec(wh, "SELECT * FROM acme.billing", NULL, 0, count_row, &n, NULL, &err), 0);
    CU_ASSERT_EQUAL(n, (int)NROWS);
}

/* ---- validation -------------------------------------------------------------------- */

static void test_dq_validation_cross_field_rules(void)
{
    static const struct {
        const char *check; /* one item of checks, in flow style */
        const char *error; /* for steps[2].checks[0] */
    } cases[] = {
        {"{name: a, type: not_null}", "steps[2].checks[0].column: field required for not_null"},
        {"{name: a, type: row_count}", "steps[2].checks[0].min: min or max required for row_count"},
        {"{name: a, type: row_count, min: 10, max: 5}",
         "steps[2].checks[0].min: 10 is greater than max 5"},
        {"{name: a, type: accepted_values, column: c}",
         "steps[2].checks[0].values: field required for accepted_values"},
        {"{name: a, type: accepted_values, values: [x]}",
         "steps[2].checks[0].column: field required for accepted_values"},
        {"{name: a, type: sql_assertion}",
         "steps[2].checks[0].sql: field required for sql_assertion"},
        {"{name: a, type: sql_assertion, sql: 'DELETE FROM t'}",
         "steps[2].checks[0].sql: must be a SELECT returning the number of offending rows; it "
         "starts with DELETE"},
        {"{name: a, type: sql_assertion, sql: 'SELECT count(*) FROM t; DROP TABLE t'}",
         "steps[2].checks[0].sql: must be a SELECT returning the number of offending rows; there "
         "is another statement after the ';'"},
        {"{name: a, type: freshness, column: ts}",
         "steps[2].checks[0].max_age_hours: field required for freshness"},
        {"{name: a, type: freshness, max_age_hours: 1}",
         "steps[2].checks[0].column: field required for freshness"},
        {"{name: a, type: freshness, column: ts, max_age_hours: 0}",
         "steps[2].checks[0].max_age_hours: must be greater than 0"},
        {"{name: a, type: freshness, column: ts, max: 24}",
         "steps[2].checks[0].max: not used by freshness; did you mean max_age_hours?"},
        {"{name: a, type: unique}",
         "steps[2].checks[0].column: field required for unique (or columns, for several)"},
        {"{name: a, type: unique, column: x, columns: [y, z]}",
         "steps[2].checks[0].columns: give column or columns, not both"},
        {"{name: a, type: not_null, column: c, values: [x]}",
         "steps[2].checks[0].values: not used by not_null"},
        {"{name: a, type: row_count, min: 1, column: c}",
         "steps[2].checks[0].column: not used by row_count"},
        /* and what the schema says */
        {"{type: row_count, min: 1}", "steps[2].checks[0].name: field required"},
        {"{name: a, min: 1}", "steps[2].checks[0].type: field required"},
        {"{name: bad-name, type: row_count, min: 1}",
         "steps[2].checks[0].name: 'bad-name' is not an identifier (letters, digits and _, not "
         "starting with a digit)"},
        {"{name: a, type: bogus}",
         "steps[2].checks[0].type: 'bogus' is not one of row_count, not_null, unique, "
         "accepted_values, freshness, sql_assertion"},
        {"{name: a, type: sql, sql: 'SELECT 0'}",
         "steps[2].checks[0].type: 'sql' is not one of row_count, not_null, unique, "
         "accepted_values, freshness, sql_assertion; did you mean sql_assertion?"},
        {"{name: a, type: row_count, min: 1, severity: ERROR}",
         "steps[2].checks[0].severity: 'ERROR' is not one of error, warn; did you mean error?"},
        {"{name: a, type: row_count, min: 1, severity: WARN}",
         "steps[2].checks[0].severity: 'WARN' is not one of error, warn; did you mean warn?"},
        {"{name: a, type: row_count, min: 1, severity: warning}",
         "steps[2].checks[0].severity: 'warning' is not one of error, warn; did you mean warn?"},
        {"{name: a, type: row_count, min: -1}", "steps[2].checks[0].min: must be at least 0"},
        {"{name: a, type: freshness, column: ts, max_age_hours: -2}",
         "steps[2].checks[0].max_age_hours: must be at least 0"},
        {"{name: a, type: accepted_values, column: c, values: []}",
         "steps[2].checks[0].values: 0 items; expected 1 to 500"},
        {"{name: a, type: accepted_values, column: c, values: [1, 2]}",
         "steps[2].checks[0].values[0]: expected a string"},
        {"{name: a, type: unique, columns: [a, 'b c']}",
         "steps[2].checks[0].columns[1]: 'b c' is not an identifier (letters, digits and _, not "
         "starting with a digit)"},
        {"{name: a, check_type: row_count}",
         "steps[2].checks[0].check_type: unknown field; did you mean type?"},
        {"{name: a, type: freshness, column: ts, max_age: 3}",
         "steps[2].checks[0].max_age: unknown field; did you mean max_age_hours?"},
    };
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    CU_ASSERT_PTR_NOT_NULL_FATAL(errs);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), TARGET "checks:\n  - %s\n", cases[i].check);
        CU_ASSERT(check_step(text, "steps[2]", errs) >= 1);
        CU_ASSERT(has(errs, cases[i].error));
    }
    /* a field no check knows is told once, as unknown, not also as "not
     * used by" the check's type */
    errs->n = 0;
    CU_ASSERT_EQUAL(check_step(TARGET "checks:\n  - {name: a, type: row_count, min: 1, foo: 1}\n",
                               "steps[2]", errs),
                    1);
    CU_ASSERT(has(errs, "steps[2].checks[0].foo: unknown field"));
    free(errs);
}

static void test_dq_validation_paths_and_hints(void)
{
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    CU_ASSERT_PTR_NOT_NULL_FATAL(errs);
    /* every problem at once, each at its place in the list */
    CU_ASSERT_EQUAL(check_step(TARGET "checks:\n"
                                      "  - {name: rows, type: row_count, min: 1}\n"
                                      "  - {name: cost, type: not_null}\n"
                                      "  - {name: currency, type: accepted_values, column: c}\n"
                                      "  - {name: custom, type: sql_assertion}\n"
                                      "  - {name: rows, type: row_count, max: 5}\n"
                                      "  - {name: cost, type: not_null, column: cost}\n",
                               "steps[2]", errs),
                    5);
    CU_ASSERT(has(errs, "steps[2].checks[1].column: field required for not_null"));
    CU_ASSERT(has(errs, "steps[2].checks[2].values: field required for accepted_values"));
    CU_ASSERT(has(errs, "steps[2].checks[3].sql: field required for sql_assertion"));
    CU_ASSERT(has(errs, "steps[2].checks[4].name: duplicate check name 'rows' (checks[0] has it)"));
    CU_ASSERT(has(errs, "steps[2].checks[5].name: duplicate check name 'cost' (checks[1] has it)"));

    /* the target block */
    check_step("target:\n  dataset_id: acme\n  table_id: billing\n"
               "checks:\n  - {name: rows, type: row_count, min: 1}\n",
               "steps[2]", errs);
    CU_ASSERT(has(errs, "steps[2].target.dataset_id: unknown field; did you mean dataset_type?"));
    CU_ASSERT(has(errs, "steps[2].target.table_id: unknown field; did you mean table?"));
    CU_ASSERT(has(errs, "steps[2].target.table: field required"));
    check_step("table: billing\nchecks:\n  - {name: rows, type: row_count, min: 1}\n", "steps[2]",
               errs);
    CU_ASSERT(has(errs, "steps[2].table: unknown field; did you mean target.table?"));
    CU_ASSERT(has(errs, "steps[2].target: field required"));
    check_step("target:\n  table: bill-ing\n  where: 42\n", "steps[2]", errs);
    CU_ASSERT(has(errs, "steps[2].target.table: 'bill-ing' is not an identifier (letters, digits "
                        "and _, not starting with a digit)"));
    CU_ASSERT(has(errs, "steps[2].target.where: expected a string"));
    CU_ASSERT(has(errs, "steps[2].checks: field required"));

    /* how many checks */
    check_step(TARGET "checks: []\n", "steps[2]", errs);
    CU_ASSERT(has(errs, "steps[2].checks: 0 items; expected 1 to 100"));
    char *many = malloc(64 * 1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(many);
    size_t used = (size_t)snprintf(many, 64 * 1024, TARGET "checks:\n");
    for (int i = 0; i < 101; i++)
        used += (size_t)snprintf(many + used, 64 * 1024 - used,
                                 "  - {name: c%d, type: row_count, min: 1}\n", i);
    CU_ASSERT_EQUAL(check_step(many, "steps[2]", errs), 1);
    CU_ASSERT(has(errs, "steps[2].checks: 101 items; expected 1 to 100"));
    free(many);

    /* a good step: nothing to say */
    CU_ASSERT_EQUAL(check_step("target:\n  dataset_type: '{tenant_id}'\n  table: billing\n"
                               "  where: usage_date = '{date}'\n"
                               "checks:\n"
                               "  - {name: a, type: row_count, min: 1, max: 10, severity: warn}\n"
                               "  - {name: b, type: not_null, column: cost}\n"
                               "  - {name: c, type: unique, columns: [id, usage_date]}\n"
                               "  - {name: d, type: accepted_values, column: x, values: [y]}\n"
                               "  - {name: e, type: freshness, column: t, max_age_hours: 0.5}\n"
                               "  - name: f\n"
                               "    type: sql_assertion\n"
                               "    description: nothing negative\n"
                               "    sql: WITH x AS (SELECT 1) SELECT COUNT(*) FROM x\n",
                               "steps[2]", errs),
                    0);
    /* the example of docs/pipelines.md */
    CU_ASSERT_EQUAL(
        check_step(
            "step_id: check_billing\n"
            "ps_type: dq.checks\n"
            "target:\n"
            "  table: gcp_cost_billing\n"
            "  where: usage_date = '{date}'\n"
            "checks:\n"
            "  - {name: has_rows, type: row_count, min: 1}\n"
            "  - {name: cost_set, type: not_null, column: cost}\n"
            "  - {name: one_row_per_line, type: unique, columns: [billing_account_id, "
            "line_item_id]}\n"
            "  - name: known_currency\n"
            "    type: accepted_values\n"
            "    column: currency\n"
            "    values: [USD, EUR, GBP]\n"
            "    severity: warn\n"
            "  - {name: fresh, type: freshness, column: usage_start_time, max_age_hours: 36}\n"
            "  - name: no_negative_cost\n"
            "    type: sql_assertion\n"
            "    sql: |\n"
            "      SELECT COUNT(*) FROM {tenant_id}.gcp_cost_billing\n"
            "      WHERE usage_date = '{date}' AND cost < 0\n",
            "steps[0]", errs),
        0);
    free(errs);
}

/* The runner finds the processor, checks its steps at their place in the
 * pipeline and reports unknown variables in the filter. */
static void test_dq_runner_validates_the_pipeline(void)
{
    json_t *doc =
        yaml("pipeline_id: quality\n"
             "description: checks\n"
             "steps:\n"
             "  - step_id: ok\n"
             "    ps_type: dq.checks\n" TARGET_INDENT
             "    checks: [{name: rows, type: row_count, min: 1}]\n"
             "  - step_id: also_ok\n"
             "    ps_type: dq.checks\n" TARGET_INDENT
             "    checks: [{name: rows, type: row_count, min: 1}]\n"
             "  - step_id: broken\n"
             "    ps_type: dq.checks\n"
             "    target: {table: billing, where: \"d = {nope}\"}\n"
             "    checks: [{name: rows, type: row_count}, {name: rows, type: not_null}]\n");
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    CU_ASSERT_PTR_NOT_NULL_FATAL(errs);
    cvg_err_t err;
    cvg_pipeline_t p;
    CU_ASSERT_EQUAL_FATAL(cvg_pipeline_from_json(doc, "test/quality", &p, errs, &err), 0);
    wrk_env_t env = {.cfg = &cfg, .setup_allowed = false};
    /* unknown variables are the schema check's; each check's own rules are
     * reported beside them, all at once */
    CU_ASSERT_EQUAL(wrk_runner_validate(&env, &p, errs), 4);
    CU_ASSERT(has(errs, "steps[2].target.where: unknown variable {nope} (not a built-in, a "
                        "declared parameter, a variable of the pipeline or a provider setting)"));
    CU_ASSERT(has(errs, "steps[2].checks[0].min: min or max required for row_count"));
    CU_ASSERT(has(errs, "steps[2].checks[1].column: field required for not_null"));
    CU_ASSERT(has(errs, "steps[2].checks[1].name: duplicate check name 'rows' (checks[0] has it)"));
    cvg_pipeline_cleanup(&p);
    json_decref(doc);

    memset(errs, 0, sizeof(*errs));
    doc = yaml("pipeline_id: quality\n"
               "description: checks\n"
               "steps:\n"
               "  - step_id: ok\n"
               "    ps_type: dq.checks\n" TARGET_INDENT
               "    checks: [{name: rows, type: row_count, min: 1}]\n"
               "  - step_id: broken\n"
               "    ps_type: dq.checks\n" TARGET_INDENT
               "    checks: [{name: rows, type: row_count}, {name: rows, type: not_null}]\n");
    CU_ASSERT_EQUAL_FATAL(cvg_pipeline_from_json(doc, "test/quality", &p, errs, &err), 0);
    CU_ASSERT_EQUAL(wrk_runner_validate(&env, &p, errs), 3);
    CU_ASSERT(has(errs, "steps[1].checks[0].min: min or max required for row_count"));
    CU_ASSERT(has(errs, "steps[1].checks[1].column: field required for not_null"));
    CU_ASSERT(has(errs, "steps[1].checks[1].name: duplicate check name 'rows' (checks[0] has it)"));
    cvg_pipeline_cleanup(&p);
    json_decref(doc);
    free(errs);
}

/* A result as emitted lands in tenants.tenant_dq_results through the
 * logger's sink. */
static void test_dq_results_reach_the_log_table(void)
{
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "tenants", &err), 0);
    char path[1024];
    snprintf(path, sizeof(path), "%s/ps_templates/setup/initial/schemas/tenant_dq_results.json",
             source_dir());
    cvg_schema_t s;
    CU_ASSERT_EQUAL_FATAL(cvg_schema_load_file(path, &s, &err), 0);
    CU_ASSERT_EQUAL_FATAL(cvg_wh_table_create(wh, "tenants", &s, &err), 0);
    cvg_schema_cleanup(&s);

    outcome_t o = run_step(TARGET "checks:\n"
                                  "  - {name: currency, type: accepted_values, column: currency, "
                                  "values: [USD, EUR], severity: warn}\n");
    CU_ASSERT_EQUAL(o.rc, 0);
    cvg_event_t ev;
    cvg_event_init(&ev, CVG_EV_DQ_RESULT);
    char run[CVG_ID_LEN];
    cvg_id_new(run);
    STRSET(ev.run_id, run);
    STRSET(ev.tenant_id, "acme");
    STRSET(ev.pipeline_id, "quality");
    STRSET(ev.step_id, "checks");
    ev.detail = json_dumps(json_array_get(o.emitted, 0), JSON_COMPACT);
    CU_ASSERT_EQUAL(lgr_sink_apply(wh, &ev, &stale, &err), 0);
    cvg_event_cleanup(&ev);
    outcome_cleanup(&o);

    char row[600];
    bool found = false;
    cvg_val_t p = cvg_v_text(run);
    CU_ASSERT_EQUAL(cvg_wh_query_text(wh,
                                      "SELECT check_name || '|' || check_type || '|' || "
                                      "target_table || '|' || severity || '|' || passed || '|' || "
                                      "observed_value || '|' || expected_value || '|' || message "
                                      "FROM tenants.tenant_dq_results "
                                      "WHERE pipeline_logging_id = $1",
                                      &p, 1, row, sizeof(row), &found, &err),
                    0);
    CU_ASSERT_TRUE(found);
    CU_ASSERT_STRING_EQUAL(row, "currency|accepted_values|acme.billing|warn|0|2|[\"USD\",\"EUR\"]|"
                                "2 rows have values outside [USD, EUR] in currency");
}

static CU_TestInfo tests[] = {
    {"test_dq_row_count", test_dq_row_count},
    {"test_dq_not_null", test_dq_not_null},
    {"test_dq_unique", test_dq_unique},
    {"test_dq_accepted_values", test_dq_accepted_values},
    {"test_dq_freshness", test_dq_freshness},
    {"test_dq_sql_assertion", test_dq_sql_assertion},
    {"test_dq_warn_and_error_severity", test_dq_warn_and_error_severity},
    {"test_dq_warehouse_errors_fail_the_step", test_dq_warehouse_errors_fail_the_step},
    {"test_dq_cancel_stops_between_checks", test_dq_cancel_stops_between_checks},
    {"test_dq_where_values_are_bound", test_dq_where_values_are_bound},
    {"test_dq_validation_cross_field_rules", test_dq_validation_cross_field_rules},
    {"test_dq_validation_paths_and_hints", test_dq_validation_paths_and_hints},
    {"test_dq_runner_validates_the_pipeline", test_dq_runner_validates_the_pipeline},
    {"test_dq_results_reach_the_log_table", test_dq_results_reach_the_log_table},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_dq = {"unit_dq", setup, teardown, tests, 120};
