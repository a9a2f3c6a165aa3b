/*
 * The SQLite driver keeps prepared statements for reuse: a reused statement
 * must answer exactly as a fresh one would. Fresh data from other
 * connections, tables re-created with another shape, datasets detached and
 * attached again, failures, nested use of the same text, more texts than
 * the cache holds, and a connection restricted to one tenant's dataset that
 * must not inherit what it was allowed to run before. The central tables'
 * lookups by run id and idempotency key go through their indexes.
 */
#include "common/central.h"
#include "common/warehouse.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

static char *dir;
static char url[600];

static int setup(void)
{
    dir = tmpdir_new("stmts");
    if (dir == NULL)
        return 1;
    snprintf(url, sizeof(url), "sqlite://%s/wh", dir);
    return 0;
}

static int teardown(void)
{
    tmpdir_remove(&dir);
    return 0;
}

static cvg_wh_t *open_wh(void)
{
    cvg_wh_t *wh = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_open(url, &wh, &err), 0);
    return wh;
}

static int run(cvg_wh_t *wh, const char *sql)
{
    cvg_err_t err;
    int rc = cvg_wh_exec(wh, sql, NULL, 0, NULL, NULL, NULL, &err);
    if (rc != 0)
        printf("\n  %s: %s\n", sql, err.message);
    return rc;
}

static int64_t num(cvg_wh_t *wh, const char *sql, const cvg_val_t *p, size_t np)
{
    int64_t n = -1;
    cvg_err_t err;
    if (cvg_wh_query_int(wh, sql, p, np, &n, NULL, &err) != 0)
        return -1;
    return n;
}

static void test_stmts_reused_statement_sees_current_data(void)
{
    cvg_wh_t *a = open_wh(), *b = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(a, "fresh", &err), 0);
    CU_ASSERT_EQUAL_FATAL(run(a, "CREATE TABLE fresh.t (k TEXT, n INTEGER)"), 0);
    const char *count = "SELECT count(*) FROM fresh.t WHERE k = $1";
    cvg_val_t x = cvg_v_text("x"), y = cvg_v_text("y");
    for (int i = 1; i <= 5; i++) {
        CU_ASSERT_EQUAL(run(b, "INSERT INTO fresh.t VALUES ('x', 1)"), 0);
        CU_ASSERT_EQUAL(num(a, count, &x, 1), i); /* b's rows, each time */
        CU_ASSERT_EQUAL(num(a, count, &y, 1), 0);
    }
    /* b re-creates the table with another shape: a's statement follows */
    CU_ASSERT_EQUAL(run(b, "DROP TABLE fresh.t"), 0);
    CU_ASSERT_EQUAL(run(b, "CREATE TABLE fresh.t (z INTEGER, k TEXT)"), 0);
    CU_ASSERT_EQUAL(run(b, "INSERT INTO fresh.t VALUES (7, 'y')"), 0);
    CU_ASSERT_EQUAL(num(a, count, &x, 1), 0);
    CU_ASSERT_EQUAL(num(a, count, &y, 1), 1);
    CU_ASSERT_EQUAL(num(a, "SELECT z FROM fresh.t WHERE k = $1", &y, 1), 7);
    /* a kept statement (stopped after its first row) holds no snapshot:
     * b can checkpoint the whole log (busy = 0) */
    CU_ASSERT_EQUAL(num(a, "SELECT z FROM fresh.t", NULL, 0), 7);
    CU_ASSERT_EQUAL(num(b, "PRAGMA fresh.wal_checkpoint(TRUNCATE)", NULL, 0), 0);
    CU_ASSERT_EQUAL(num(b, "SELECT count(*) FROM fresh.t", NULL, 0), 1);
    cvg_wh_close(&a);
    cvg_wh_close(&b);
}

static void test_stmts_dataset_recreated_by_another_connection(void)
{
    cvg_wh_t *a = open_wh(), *b = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(a, "again", &err), 0);
    CU_ASSERT_EQUAL_FATAL(run(a, "CREATE TABLE again.t (n INTEGER)"), 0);
    const char *count = "SELECT count(*) FROM again.t";
    CU_ASSERT_EQUAL(num(a, count, NULL, 0), 0);
    CU_ASSERT_EQUAL(num(a, count, NULL, 0), 0);
    /* b drops the dataset and makes a new one: a must read the new file */
    CU_ASSERT_EQUAL(cvg_wh_dataset_drop(b, "again", &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_dataset_create(b, "again", &err), 0);
    CU_ASSERT_EQUAL(run(b, "CREATE TABLE again.t (n INTEGER)"), 0);
    CU_ASSERT_EQUAL(run(b, "INSERT INTO again.t VALUES (1), (2)"), 0);
    CU_ASSERT_EQUAL(num(a, count, NULL, 0), 2);
    cvg_wh_close(&a);
    cvg_wh_close(&b);
}

static void test_stmts_survive_detach_and_reattach(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    enum { N = 13 }; /* more than the 10 attachments SQLite allows */
    for (int i = 0; i < N; i++) {
        char ds[32], sql[128];
        snprintf(ds, sizeof(ds), "rot_%d", i);
        CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, ds, &err), 0);
        snprintf(sql, sizeof(sql), "CREATE TABLE rot_%d.t (n INTEGER)", i);
        CU_ASSERT_EQUAL_FATAL(run(wh, sql), 0);
        snprintf(sql, sizeof(sql), "INSERT INTO rot_%d.t VALUES (%d)", i, i * 10);
        CU_ASSERT_EQUAL_FATAL(run(wh, sql), 0);
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            char sql[128];
            snprintf(sql, sizeof(sql), "SELECT n FROM rot_%d.t", i);
            CU_ASSERT_EQUAL(num(wh, sql, NULL, 0), i * 10);
        }
    }
    cvg_wh_close(&wh);
}

static void test_stmts_failure_then_success(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "fails", &err), 0);
    CU_ASSERT_EQUAL_FATAL(run(wh, "CREATE TABLE fails.t (k TEXT NOT NULL PRIMARY KEY) STRICT"), 0);
    const char *ins = "INSERT INTO fails.t VALUES ($1)";
    cvg_val_t a = cvg_v_text("a"), b = cvg_v_text("b"), bad = CVG_V_NULL;
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, ins, &a, 1, NULL, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, ins, &a, 1, NULL, NULL, NULL, &err), CVG_EEXIST);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, ins, &bad, 1, NULL, NULL, NULL, &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, ins, NULL, 0, NULL, NULL, NULL, &err), CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "parameter 1 but 0 were given"));
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, ins, &b, 1, NULL, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(num(wh, "SELECT count(*) FROM fails.t", NULL, 0), 2);
    cvg_wh_close(&wh);
}

typedef struct nest {
    cvg_wh_t *wh;
    const char *sql;
    int depth;
    int64_t inner_sum;
    int outer_rows;
} nest_t;

static int inner_row(void *ud, const cvg_row_t *row)
{
    ((nest_t *)ud)->inner_sum += row->vals[0].i;
    return 0;
}

/* For each row of the outer run, the same text runs again, inside. */
static int outer_row(void *ud, const cvg_row_t *row)
{
    (void)row;
    nest_t *n = ud;
    n->outer_rows++;
    cvg_err_t err;
    nest_t inner = {.wh = n->wh, .sql = n->sql};
    CU_ASSERT_EQUAL(cvg_wh_exec(n->wh, n->sql, NULL, 0, inner_row, &inner, NULL, &err), 0);
    n->inner_sum += inner.inner_sum;
    return 0;
}

static void test_stmts_same_text_nested(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "nested", &err), 0);
    CU_ASSERT_EQUAL_FATAL(run(wh, "CREATE TABLE nested.t (n INTEGER)"), 0);
    CU_ASSERT_EQUAL_FATAL(run(wh, "INSERT INTO nested.t VALUES (1), (2), (3)"), 0);
    const char *sql = "SELECT n FROM nested.t ORDER BY n";
    for (int round = 0; round < 2; round++) {
        nest_t n = {.wh = wh, .sql = sql};
        CU_ASSERT_EQUAL(cvg_wh_exec(wh, sql, NULL, 0, outer_row, &n, NULL, &err), 0);
        CU_ASSERT_EQUAL(n.outer_rows, 3); /* the outer run was not disturbed */
        CU_ASSERT_EQUAL(n.inner_sum, 18);
    }
    cvg_wh_close(&wh);
}

static void test_stmts_more_texts_than_kept(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "many", &err), 0);
    CU_ASSERT_EQUAL_FATAL(run(wh, "CREATE TABLE many.t (n INTEGER)"), 0);
    CU_ASSERT_EQUAL_FATAL(run(wh, "INSERT INTO many.t VALUES (1)"), 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 300; i++) {
            char sql[96];
            snprintf(sql, sizeof(sql), "SELECT n + %d FROM many.t", i);
            CU_ASSERT_EQUAL(num(wh, sql, NULL, 0), 1 + i);
        }
    }
    cvg_wh_close(&wh);
}

static void test_stmts_restricted_use_prepares_its_own(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "hub", &err), 0);
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "own", &err), 0);
    CU_ASSERT_EQUAL_FATAL(run(wh, "CREATE TABLE hub.secrets (k TEXT)"), 0);
    CU_ASSERT_EQUAL_FATAL(run(wh, "INSERT INTO hub.secrets VALUES ('s')"), 0);
    CU_ASSERT_EQUAL_FATAL(run(wh, "CREATE TABLE own.t (n INTEGER)"), 0);
    const char *steal = "SELECT count(*) FROM hub.secrets";
    for (int i = 0; i < 3; i++) /* run, and kept, while unrestricted */
        CU_ASSERT_EQUAL(num(wh, steal, NULL, 0), 1);
    const char *only[] = {"own", NULL};
    CU_ASSERT_EQUAL_FATAL(cvg_wh_restrict(wh, only, &err), 0);
    CU_ASSERT_NOT_EQUAL(cvg_wh_exec(wh, steal, NULL, 0, NULL, NULL, NULL, &err), 0);
    CU_ASSERT_NOT_EQUAL(cvg_wh_exec(wh, "DELETE FROM hub.secrets", NULL, 0, NULL, NULL, NULL, &err),
                        0);
    CU_ASSERT_EQUAL(num(wh, "SELECT count(*) FROM own.t", NULL, 0), 0);
    CU_ASSERT_EQUAL(cvg_wh_restrict(wh, NULL, &err), 0);
    CU_ASSERT_EQUAL(num(wh, steal, NULL, 0), 1);
    cvg_wh_close(&wh);
}

typedef struct plan {
    char text[1024];
} plan_t;

static int take_plan(void *ud, const cvg_row_t *row)
{
    plan_t *p = ud;
    const cvg_val_t *d = &row->vals[row->ncols - 1];
    size_t used = strlen(p->text);
    if (d->type == CVG_VAL_TEXT)
        snprintf(p->text + used, sizeof(p->text) - used, "%.*s; ", (int)d->len, d->s);
    return 0;
}

/* The services' lookups by run id, idempotency key and tenant state. */
static void test_stmts_central_lookups_use_indexes(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "tenants", &err), 0);
    for (size_t i = 0; i < CVG_CENTRAL_TABLE_COUNT; i++)
        CU_ASSERT_EQUAL_FATAL(central_table_create(wh, "tenants", cvg_central_tables[i]), 0);
    static const struct {
        const char *where, *index;
    } cases[] = {
        {"tenant_pipeline_execution_queue WHERE pipeline_logging_id = 'r'",
         "tenant_pipeline_execution_queue__run"},
        {"tenant_pipeline_execution_queue WHERE tenant_id = 't' AND idempotency_key = 'k'",
         "tenant_pipeline_execution_queue__idempotency_set"},
        {"tenant_pipeline_execution_queue WHERE tenant_id = 't' AND state IN ('RUNNING', "
         "'DISPATCHED')",
         "tenant_pipeline_execution_queue__tenant_state"},
        {"tenant_dq_results WHERE pipeline_logging_id = 'r'", "tenant_dq_results__run"},
        {"tenant_step_logs WHERE pipeline_logging_id = 'r'", "tenant_step_logs__cluster"},
        {"tenant_pipeline_runs WHERE pipeline_logging_id = 'r'", "sqlite_autoindex"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char sql[512];
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN SELECT * FROM tenants.%s", cases[i].where);
        plan_t p = {{0}};
        CU_ASSERT_EQUAL(cvg_wh_exec(wh, sql, NULL, 0, take_plan, &p, NULL, &err), 0);
        if (strstr(p.text, cases[i].index) == NULL)
            printf("\n  %s: %s\n", cases[i].where, p.text);
        CU_ASSERT_PTR_NOT_NULL(strstr(p.text, cases[i].index));
    }
    cvg_wh_close(&wh);
}

static CU_TestInfo tests[] = {
    {"test_stmts_reused_statement_sees_current_data",
     test_stmts_reused_statement_sees_current_data},
    {"test_stmts_dataset_recreated_by_another_connection",
     test_stmts_dataset_recreated_by_another_connection},
    {"test_stmts_survive_detach_and_reattach", test_stmts_survive_detach_and_reattach},
    {"test_stmts_failure_then_success", test_stmts_failure_then_success},
    {"test_stmts_same_text_nested", test_stmts_same_text_nested},
    {"test_stmts_more_texts_than_kept", test_stmts_more_texts_than_kept},
    {"test_stmts_restricted_use_prepares_its_own", test_stmts_restricted_use_prepares_its_own},
    {"test_stmts_central_lookups_use_indexes", test_stmts_central_lookups_use_indexes},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_sqlite_stmts = {"unit_sqlite_stmts", setup, teardown, tests, 60};
