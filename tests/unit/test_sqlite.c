/*
 * The SQLite warehouse driver: datasets as files attached by name, DDL from
 * schema files, bound parameters (values full of quotes and semicolons are
 * stored verbatim and change no statement), STRICT types, transactions, the
 * attachment limit, and a dataset dropped and re-created under another
 * connection.
 */
#include "common/central.h"
#include "common/fs.h"
#include "common/time.h"
#include "common/warehouse.h"
#include "tests/tests.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static char url[600];

static int setup(void)
{
    dir = tmpdir_new("sqlite");
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

static void make_table(cvg_wh_t *wh, const char *ds, const char *name, const char *fields)
{
    json_t *doc = json_loads(fields, 0, NULL);
    cvg_schema_t s;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_schema_parse(doc, name, &s, &err), 0);
    int rc = cvg_wh_table_create(wh, ds, &s, &err);
    if (rc != 0)
        printf("\n  table_create: %s\n", err.message);
    CU_ASSERT_EQUAL(rc, 0);
    cvg_schema_cleanup(&s);
    json_decref(doc);
}

static void test_sqlite_datasets(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    bool exists = true;
    CU_ASSERT_EQUAL(cvg_wh_dataset_exists(wh, "alpha", &exists, &err), 0);
    CU_ASSERT_FALSE(exists);
    CU_ASSERT_EQUAL(cvg_wh_dataset_create(wh, "alpha", &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_dataset_exists(wh, "alpha", &exists, &err), 0);
    CU_ASSERT_TRUE(exists);
    char path[700];
    snprintf(path, sizeof(path), "%s/wh/alpha.db", dir);
    CU_ASSERT_TRUE(cvg_fs_exists(path));
    CU_ASSERT_EQUAL(cvg_wh_dataset_create(wh, "alpha", &err), CVG_EEXIST);
    CU_ASSERT_EQUAL(cvg_wh_dataset_create(wh, "main", &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(cvg_wh_dataset_create(wh, "../etc", &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(cvg_wh_dataset_create(wh, "a-b", &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(cvg_wh_use(wh, "nosuch", &err), CVG_ENOTFOUND);
    CU_ASSERT_EQUAL(cvg_wh_dataset_drop(wh, "alpha", &err), 0);
    CU_ASSERT_FALSE(cvg_fs_exists(path));
    cvg_wh_close(&wh);
    CU_ASSERT_PTR_NULL(wh);
}

static void test_sqlite_central_tables_from_schema_files(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "central", &err), 0);
    for (size_t i = 0; i < CVG_CENTRAL_TABLE_COUNT; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/ps_templates/setup/initial/schemas/%s.json", source_dir(),
                 cvg_central_tables[i]);
        cvg_schema_t s;
        CU_ASSERT_EQUAL_FATAL(cvg_schema_load_file(path, &s, &err), 0);
        CU_ASSERT_EQUAL(cvg_wh_table_create(wh, "central", &s, &err), 0);
        bool exists = false;
        CU_ASSERT_EQUAL(cvg_wh_table_exists(wh, "central", s.table, &exists, &err), 0);
        CU_ASSERT_TRUE(exists);
        CU_ASSERT_EQUAL(cvg_wh_table_create(wh, "central", &s, &err), CVG_EEXIST);
        cvg_schema_cleanup(&s);
    }
    cvg_strlist_t tables = {0};
    CU_ASSERT_EQUAL(cvg_wh_table_list(wh, "central", &tables, &err), 0);
    CU_ASSERT_EQUAL(tables.n, CVG_CENTRAL_TABLE_COUNT);
    cvg_strlist_cleanup(&tables);
    /* The primary key is enforced. */
    const char *ins = "INSERT INTO central.tenant_provider_configs (tenant_id, provider, settings, "
                      "created_at, updated_at) VALUES ($1, 'gcp', '{}', 'now', 'now')";
    cvg_val_t p = cvg_v_text("t1");
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, ins, &p, 1, NULL, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, ins, &p, 1, NULL, NULL, NULL, &err), CVG_EEXIST);
    cvg_wh_close(&wh);
}

typedef struct got {
    int rows;
    char text[256];
    int64_t i;
    bool is_null;
} got_t;

static int take(void *ud, const cvg_row_t *row)
{
    got_t *g = ud;
    g->rows++;
    if (row->vals[0].type == CVG_VAL_TEXT)
        snprintf(g->text, sizeof(g->text), "%.*s", (int)row->vals[0].len, row->vals[0].s);
    g->is_null = row->vals[0].type == CVG_VAL_NULL;
    if (row->ncols > 1 && row->vals[1].type == CVG_VAL_INT)
        g->i = row->vals[1].i;
    return 0;
}

static void test_sqlite_bound_values_are_verbatim(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "vals", &err), 0);
    make_table(wh, "vals", "t",
               "[{\"name\":\"s\",\"type\":\"STRING\"},{\"name\":\"n\",\"type\":\"INT64\"}]");
    static const char *payloads[] = {
        "it's a \"quote\"; DROP TABLE vals.t; --",
        "'); DELETE FROM vals.t WHERE ('1'='1",
        "Robert'); DROP TABLE Students;--",
        "$1 ? :name @x",
        "ünïcödé ✓ 中文",
        "",
    };
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        cvg_val_t p[2] = {cvg_v_text(payloads[i]), CVG_V_INT((int64_t)i)};
        CU_ASSERT_EQUAL(cvg_wh_exec(wh, "INSERT INTO vals.t (s, n) VALUES ($1, $2)", p, 2, NULL,
                                    NULL, NULL, &err),
                        0);
    }
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        got_t g = {0};
        cvg_val_t p = CVG_V_INT((int64_t)i);
        CU_ASSERT_EQUAL(
            cvg_wh_exec(wh, "SELECT s, n FROM vals.t WHERE n = $1", &p, 1, take, &g, NULL, &err),
            0);
        CU_ASSERT_EQUAL(g.rows, 1);
        CU_ASSERT_STRING_EQUAL(g.text, payloads[i]);
    }
    int64_t count = 0;
    CU_ASSERT_EQUAL(
        cvg_wh_query_int(wh, "SELECT count(*) FROM vals.t", NULL, 0, &count, NULL, &err), 0);
    CU_ASSERT_EQUAL(count, 6);
    /* Parameters bind by number wherever they appear. */
    got_t g = {0};
    cvg_val_t p2[2] = {cvg_v_text("first"), CVG_V_INT(7)};
    CU_ASSERT_EQUAL(
        cvg_wh_exec(wh, "SELECT $1 AS a, $2 + 0 AS b, $1 AS c", p2, 2, take, &g, NULL, &err), 0);
    CU_ASSERT_STRING_EQUAL(g.text, "first");
    CU_ASSERT_EQUAL(g.i, 7);
    g = (got_t){0};
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "SELECT $2 AS a, $1 AS b", p2, 2, NULL, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "SELECT $3", p2, 2, NULL, NULL, NULL, &err), CVG_EINVAL);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "SELECT :name", p2, 2, NULL, NULL, NULL, &err), CVG_EINVAL);
    g = (got_t){0};
    cvg_val_t np = CVG_V_NULL;
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "SELECT $1", &np, 1, take, &g, NULL, &err), 0);
    CU_ASSERT_TRUE(g.is_null);
    cvg_wh_close(&wh);
}

static void test_sqlite_refuses_unsafe_sql(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "SELECT 1; SELECT 2", NULL, 0, NULL, NULL, NULL, &err),
                    CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "one statement"));
    CU_ASSERT_EQUAL(
        cvg_wh_exec(wh, "SELECT 1; -- trailing comment", NULL, 0, NULL, NULL, NULL, &err), 0);
    char sql[800];
    snprintf(sql, sizeof(sql), "ATTACH DATABASE '%s/evil.db' AS evil", dir);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, sql, NULL, 0, NULL, NULL, NULL, &err), CVG_EINVAL);
    char evil[700];
    snprintf(evil, sizeof(evil), "%s/evil.db", dir);
    CU_ASSERT_FALSE(cvg_fs_exists(evil));
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "SELEKT 1", NULL, 0, NULL, NULL, NULL, &err), CVG_EINVAL);
    cvg_wh_close(&wh);
}

static void test_sqlite_types_are_enforced(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "types", &err), 0);
    make_table(wh, "types", "t",
               "[{\"name\":\"n\",\"type\":\"INT64\",\"mode\":\"REQUIRED\"},{\"name\":\"b\","
               "\"type\":\"BOOL\"},{\"name\":\"j\",\"type\":\"JSON\"},{\"name\":\"r\",\"type\":"
               "\"STRING\",\"mode\":\"REPEATED\"}]");
    cvg_val_t bad_int = cvg_v_text("not a number");
    CU_ASSERT_EQUAL(
        cvg_wh_exec(wh, "INSERT INTO types.t (n) VALUES ($1)", &bad_int, 1, NULL, NULL, NULL, &err),
        CVG_EINVAL);
    CU_ASSERT_EQUAL(
        cvg_wh_exec(wh, "INSERT INTO types.t (b) VALUES (1)", NULL, 0, NULL, NULL, NULL, &err),
        CVG_EINVAL); /* n is REQUIRED */
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "INSERT INTO types.t (n, b) VALUES (1, 2)", NULL, 0, NULL, NULL,
                                NULL, &err),
                    CVG_EINVAL);
    cvg_val_t bad_json = cvg_v_text("{nope");
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "INSERT INTO types.t (n, j) VALUES (1, $1)", &bad_json, 1, NULL,
                                NULL, NULL, &err),
                    CVG_EINVAL);
    cvg_val_t good[2] = {cvg_v_text("{\"a\":[1]}"), cvg_v_text("[\"x\",\"y\"]")};
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "INSERT INTO types.t (n, b, j, r) VALUES (1, 1, $1, $2)", good,
                                2, NULL, NULL, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(
        cvg_wh_exec(wh, "INSERT INTO types.t (n) VALUES (2)", NULL, 0, NULL, NULL, NULL, &err),
        0); /* NULL JSON columns are fine */
    cvg_wh_close(&wh);
}

static void test_sqlite_transactions(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "tx", &err), 0);
    make_table(wh, "tx", "t", "[{\"name\":\"n\",\"type\":\"INT64\"}]");
    CU_ASSERT_EQUAL(cvg_wh_use(wh, "tx", &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_begin(wh, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "INSERT INTO tx.t VALUES (1)", NULL, 0, NULL, NULL, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(cvg_wh_rollback(wh), 0);
    CU_ASSERT_EQUAL(cvg_wh_begin(wh, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "INSERT INTO tx.t VALUES (2)", NULL, 0, NULL, NULL, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(cvg_wh_commit(wh, &err), 0);
    int64_t sum = 0;
    CU_ASSERT_EQUAL(cvg_wh_query_int(wh, "SELECT sum(n) FROM tx.t", NULL, 0, &sum, NULL, &err), 0);
    CU_ASSERT_EQUAL(sum, 2);
    cvg_wh_close(&wh);
}

static void test_sqlite_more_datasets_than_attachments(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    enum { N = 14 }; /* SQLite attaches at most 10 */
    for (int i = 0; i < N; i++) {
        char ds[32];
        snprintf(ds, sizeof(ds), "many_%d", i);
        CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, ds, &err), 0);
        make_table(wh, ds, "t", "[{\"name\":\"n\",\"type\":\"INT64\"}]");
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            char sql[128];
            snprintf(sql, sizeof(sql), "INSERT INTO many_%d.t VALUES (%d)", i, i);
            CU_ASSERT_EQUAL(cvg_wh_exec(wh, sql, NULL, 0, NULL, NULL, NULL, &err), 0);
        }
    }
    int64_t n = 0;
    CU_ASSERT_EQUAL(cvg_wh_query_int(wh, "SELECT count(*) FROM many_13.t", NULL, 0, &n, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(n, 3);
    cvg_wh_close(&wh);
}

static void test_sqlite_dataset_recreated_under_another_connection(void)
{
    cvg_wh_t *a = open_wh(), *b = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(a, "shared", &err), 0);
    make_table(a, "shared", "t", "[{\"name\":\"n\",\"type\":\"INT64\"}]");
    CU_ASSERT_EQUAL(
        cvg_wh_exec(b, "INSERT INTO shared.t VALUES (1)", NULL, 0, NULL, NULL, NULL, &err), 0);
    /* a drops and re-creates the dataset; b must see the new, empty one. */
    CU_ASSERT_EQUAL(cvg_wh_dataset_drop(a, "shared", &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_dataset_create(a, "shared", &err), 0);
    make_table(a, "shared", "t", "[{\"name\":\"n\",\"type\":\"INT64\"}]");
    int64_t n = -1;
    CU_ASSERT_EQUAL(cvg_wh_query_int(b, "SELECT count(*) FROM shared.t", NULL, 0, &n, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(
        cvg_wh_exec(b, "INSERT INTO shared.t VALUES (5)", NULL, 0, NULL, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_query_int(a, "SELECT sum(n) FROM shared.t", NULL, 0, &n, NULL, &err), 0);
    CU_ASSERT_EQUAL(n, 5);
    cvg_wh_close(&a);
    cvg_wh_close(&b);
}

static void test_sqlite_missing_things_are_not_found(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "SELECT * FROM ghost.t", NULL, 0, NULL, NULL, NULL, &err),
                    CVG_ENOTFOUND);
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "present", &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "SELECT * FROM present.nope", NULL, 0, NULL, NULL, NULL, &err),
                    CVG_ENOTFOUND);
    CU_ASSERT_EQUAL(cvg_wh_table_drop(wh, "present", "nope", &err), CVG_ENOTFOUND);
    /* a quoted unknown column is an error, never the string 'nope' */
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh, "CREATE TABLE present.t (a TEXT)", NULL, 0, NULL, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_exec(wh, "SELECT COUNT(*) FROM \"present\".\"t\" WHERE \"nope\" IS NULL",
                                NULL, 0, NULL, NULL, NULL, &err),
                    CVG_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "sqlite: no such column: nope");
    bool exists = true;
    CU_ASSERT_EQUAL(cvg_wh_table_exists(wh, "ghost", "t", &exists, &err), 0);
    CU_ASSERT_FALSE(exists);
    CU_ASSERT_EQUAL(cvg_wh_ping(wh, &err), 0);
    cvg_wh_t *bad = NULL;
    CU_ASSERT_EQUAL(cvg_wh_open("mysql://x", &bad, &err), CVG_ECONFIG);
    CU_ASSERT_PTR_NULL(bad);
    cvg_wh_close(&wh);
}

static void test_sqlite_cross_dataset_view(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "hub", &err), 0);
    make_table(
        wh, "hub", "runs",
        "[{\"name\":\"tenant_id\",\"type\":\"STRING\"},{\"name\":\"n\",\"type\":\"INT64\"}]");
    CU_ASSERT_EQUAL(
        cvg_wh_exec(wh, "INSERT INTO hub.runs VALUES ('acme', 1), ('other', 2), ('acme', 3)", NULL,
                    0, NULL, NULL, NULL, &err),
        0);
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "acme", &err), 0);
    make_table(wh, "acme", "data", "[{\"name\":\"x\",\"type\":\"INT64\"}]");
    const char *reads[] = {"hub", NULL};
    int rc = cvg_wh_view_create(
        wh, "acme", "mine", "SELECT tenant_id, n FROM hub.runs WHERE tenant_id = 'acme' ORDER BY n",
        reads, &err);
    if (rc != 0)
        printf("\n  view_create: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(cvg_wh_view_create(wh, "acme", "mine", "SELECT 1", NULL, &err), CVG_EEXIST);
    /* A fresh connection, nothing attached: the view still answers, and
     * only with the tenant's rows. */
    cvg_wh_t *other = open_wh();
    int64_t sum = 0, count = 0;
    CU_ASSERT_EQUAL(
        cvg_wh_query_int(other, "SELECT sum(n) FROM acme.mine", NULL, 0, &sum, NULL, &err), 0);
    CU_ASSERT_EQUAL(sum, 4);
    CU_ASSERT_EQUAL(cvg_wh_query_int(other,
                                     "SELECT count(*) FROM acme.mine WHERE tenant_id <> 'acme'",
                                     NULL, 0, &count, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(count, 0);
    /* It is a view: not listed among the tables, read-only. */
    cvg_strlist_t tables = {0};
    CU_ASSERT_EQUAL(cvg_wh_table_list(other, "acme", &tables, &err), 0);
    CU_ASSERT_EQUAL(tables.n, 1);
    cvg_strlist_cleanup(&tables);
    CU_ASSERT_NOT_EQUAL(cvg_wh_exec(other, "INSERT INTO acme.mine VALUES ('x', 9)", NULL, 0, NULL,
                                    NULL, NULL, &err),
                        0);
    bool exists = false;
    CU_ASSERT_EQUAL(cvg_wh_table_exists(other, "acme", "mine", &exists, &err), 0);
    CU_ASSERT_TRUE(exists);
    cvg_wh_close(&other);
    CU_ASSERT_EQUAL(cvg_wh_dataset_drop(wh, "acme", &err), 0);
    cvg_wh_close(&wh);
}

static int64_t count_in(cvg_wh_t *wh, const char *sql, int *rc, cvg_err_t *err)
{
    int64_t n = -1;
    *rc = cvg_wh_query_int(wh, sql, NULL, 0, &n, NULL, err);
    return n;
}

/* A tenant run's connection reaches the tenant's dataset and nothing else,
 * except what a stored view of that dataset reads. */
static void test_sqlite_restricted_connection(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    int rc = 0;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "hq", &err), 0);
    make_table(wh, "hq", "secrets",
               "[{\"name\":\"tenant_id\",\"type\":\"STRING\"},"
               "{\"name\":\"k\",\"type\":\"STRING\"}]");
    cvg_wh_exec(wh, "INSERT INTO hq.secrets VALUES ('t1', 'a'), ('t2', 'b')", NULL, 0, NULL, NULL,
                NULL, &err);
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "t1", &err), 0);
    make_table(wh, "t1", "data", "[{\"name\":\"x\",\"type\":\"INT64\"}]");
    const char *reads[] = {"hq", NULL};
    CU_ASSERT_EQUAL_FATAL(cvg_wh_view_create(wh, "t1", "mine",
                                             "SELECT k FROM hq.secrets WHERE tenant_id = 't1'",
                                             reads, &err),
                          0);
    const char *only[] = {"t1", NULL};
    CU_ASSERT_EQUAL_FATAL(cvg_wh_restrict(wh, only, &err), 0);
    CU_ASSERT_EQUAL(
        cvg_wh_exec(wh, "INSERT INTO t1.data VALUES (1)", NULL, 0, NULL, NULL, NULL, &err), 0);
    CU_ASSERT_EQUAL(count_in(wh, "SELECT count(*) FROM t1.data", &rc, &err), 1);
    CU_ASSERT_EQUAL(count_in(wh, "SELECT count(*) FROM t1.mine", &rc, &err), 1);
    CU_ASSERT_EQUAL(rc, 0);
    static const char *const refused[] = {
        "SELECT count(*) FROM hq.secrets",
        "INSERT INTO hq.secrets VALUES ('t1', 'x')",
        "DELETE FROM hq.secrets",
        "SELECT count(*) FROM t1.data JOIN hq.secrets",
        "SELECT count(*) FROM hq.sqlite_master",
        "PRAGMA hq.table_info(secrets)",
        "CREATE TABLE hq.pwn (x)",
        "CREATE VIRTUAL TABLE t1.spy USING cvg_view(x00, hq)",
        "ATTACH DATABASE '/tmp/x.db' AS x",
        "SELECT count(*) FROM never_attached.t",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        rc = cvg_wh_exec(wh, refused[i], NULL, 0, NULL, NULL, NULL, &err);
        if (rc == 0)
            printf("\n  not refused: %s\n", refused[i]);
        CU_ASSERT_NOT_EQUAL(rc, 0);
    }
    /* the column list still works restricted */
    cvg_strlist_t cols = {0};
    CU_ASSERT_EQUAL(cvg_wh_table_columns(wh, "t1", "data", &cols, &err), 0);
    CU_ASSERT_EQUAL(cols.n, 1);
    cvg_strlist_cleanup(&cols);
    CU_ASSERT_EQUAL(cvg_wh_restrict(wh, NULL, &err), 0);
    CU_ASSERT_EQUAL(count_in(wh, "SELECT count(*) FROM hq.secrets", &rc, &err), 2);
    cvg_wh_close(&wh);
    /* a fresh connection, restricted before its dataset is first used */
    wh = open_wh();
    CU_ASSERT_EQUAL_FATAL(cvg_wh_restrict(wh, only, &err), 0);
    CU_ASSERT_EQUAL(count_in(wh, "SELECT count(*) FROM t1.data", &rc, &err), 1);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_NOT_EQUAL(
        cvg_wh_exec(wh, "SELECT count(*) FROM hq.secrets", NULL, 0, NULL, NULL, NULL, &err), 0);
    cvg_wh_close(&wh);
}

static void test_sqlite_statements_stop_at_deadline_or_cancel(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    int rc = 0;
    const char *endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                          "SELECT count(*) FROM n";
    cvg_wh_set_interrupt(wh, cvg_time_mono_ms() + 200, NULL);
    count_in(wh, endless, &rc, &err);
    CU_ASSERT_EQUAL(rc, CVG_ETIMEDOUT);
    CU_ASSERT_STRING_EQUAL(err.message, "the statement ran past the step's time limit");
    volatile sig_atomic_t cancel = 1;
    cvg_wh_set_interrupt(wh, 0, &cancel);
    count_in(wh, endless, &rc, &err);
    CU_ASSERT_EQUAL(rc, CVG_ECANCELED);
    /* lifted: the connection works again */
    cvg_wh_set_interrupt(wh, 0, NULL);
    CU_ASSERT_EQUAL(count_in(wh, "SELECT 42", &rc, &err), 42);
    cvg_wh_close(&wh);
}

static void test_sqlite_table_from_a_query(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "q", &err), 0);
    cvg_val_t p = cvg_v_text("x");
    CU_ASSERT_EQUAL(
        cvg_wh_table_create_as(wh, "q", "made", "SELECT 1 AS a, $1 AS b, 2.5 AS c", &p, 1, &err),
        0);
    cvg_strlist_t cols = {0};
    CU_ASSERT_EQUAL(cvg_wh_table_columns(wh, "q", "made", &cols, &err), 0);
    CU_ASSERT_EQUAL_FATAL(cols.n, 3);
    CU_ASSERT_STRING_EQUAL(cols.items[0], "a");
    CU_ASSERT_STRING_EQUAL(cols.items[2], "c");
    cvg_strlist_cleanup(&cols);
    int rc = 0;
    CU_ASSERT_EQUAL(count_in(wh, "SELECT count(*) FROM q.made", &rc, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_table_create_as(wh, "q", "made", "SELECT 1 AS a", NULL, 0, &err),
                    CVG_EEXIST);
    CU_ASSERT_EQUAL(cvg_wh_table_columns(wh, "q", "nope", &cols, &err), CVG_ENOTFOUND);
    CU_ASSERT_EQUAL(cvg_wh_ident_quote(wh), '"');
    cvg_wh_close(&wh);
}

static void test_sqlite_index_dropped_once(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "ix", &err), 0);
    make_table(wh, "ix", "t", "[{\"name\":\"n\",\"type\":\"INT64\"}]");
    const char *cols[] = {"n"};
    bool created = false;
    CU_ASSERT_EQUAL(cvg_wh_index_create(wh, "ix", "t", "by_n", cols, 1, NULL, &created, &err), 0);
    CU_ASSERT_TRUE(created);
    int rc = 0;
    const char *count = "SELECT count(*) FROM ix.sqlite_schema WHERE name = 't__by_n'";
    CU_ASSERT_EQUAL(count_in(wh, count, &rc, &err), 1);
    /* there already: nothing made */
    CU_ASSERT_EQUAL(cvg_wh_index_create(wh, "ix", "t", "by_n", cols, 1, NULL, &created, &err), 0);
    CU_ASSERT_FALSE(created);
    CU_ASSERT_EQUAL(count_in(wh, count, &rc, &err), 1);
    CU_ASSERT_EQUAL(rc, 0);
    bool dropped = false;
    CU_ASSERT_EQUAL(cvg_wh_index_drop(wh, "ix", "t", "by_n", &dropped, &err), 0);
    CU_ASSERT_TRUE(dropped);
    CU_ASSERT_EQUAL(count_in(wh, count, &rc, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_index_drop(wh, "ix", "t", "by_n", &dropped, &err), 0);
    CU_ASSERT_FALSE(dropped); /* gone already: nothing to do */
    CU_ASSERT_EQUAL(cvg_wh_index_drop(wh, "ix", "t", "x\"; DROP TABLE t; --", &dropped, &err),
                    CVG_EINVAL);
    CU_ASSERT_FALSE(dropped);
    CU_ASSERT_EQUAL(count_in(wh, "SELECT count(*) FROM ix.t", &rc, &err), 0); /* t still there */
    CU_ASSERT_EQUAL(rc, 0);
    cvg_wh_close(&wh);
}

/* Another process about to write a dataset file that is new (not yet in
 * WAL mode, as when two processes attach it first at once and both turn
 * it to WAL): turning it to WAL waits for that writer to let go instead of
 * failing at once with "database is locked" (SQLite gives up without its
 * busy handler where waiting could deadlock). */
static void test_sqlite_new_file_attached_while_read(void)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/wh/fresh.db", dir);
    CU_ASSERT_EQUAL_FATAL(cvg_fs_mkdir_p(dir, 0700, NULL), 0);
    cvg_wh_t *wh = open_wh(); /* makes the warehouse directory */
    lock_holder_t h;
    CU_ASSERT_EQUAL_FATAL(lock_hold(&h, path, "CREATE TABLE t (a)", 300), 0);
    cvg_err_t err;
    cvg_err_clear(&err);
    int64_t start = cvg_time_mono_ms();
    int rc = cvg_wh_use(wh, "fresh", &err);
    if (rc != 0)
        printf("\n  use: %s\n", err.message);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(err.message, "");      /* no trace of the tries that waited */
    CU_ASSERT(cvg_time_mono_ms() - start >= 250); /* it did wait for the writer */
    lock_join(&h);
    char mode[16] = "";
    CU_ASSERT_EQUAL(
        cvg_wh_query_text(wh, "PRAGMA fresh.journal_mode", NULL, 0, mode, sizeof(mode), NULL, &err),
        0);
    CU_ASSERT_STRING_EQUAL(mode, "wal");
    cvg_wh_close(&wh);
}

/* A tenant's write (restricted connection) on a dataset another process is
 * writing: begin_write waits for the lock, so the reads and the write that
 * follow all succeed, and a file it may read stays unlocked meanwhile. */
static void test_sqlite_write_waits_for_the_lock(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    int rc = 0;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "busy", &err), 0);
    make_table(wh, "busy", "t", "[{\"name\":\"x\",\"type\":\"INT64\"}]");
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "side", &err), 0);
    make_table(wh, "side", "log", "[{\"name\":\"x\",\"type\":\"INT64\"}]");
    const char *only[] = {"busy", NULL};
    CU_ASSERT_EQUAL_FATAL(cvg_wh_restrict(wh, only, &err), 0);
    char path[700];
    snprintf(path, sizeof(path), "%s/wh/busy.db", dir);
    lock_holder_t h;
    CU_ASSERT_EQUAL_FATAL(lock_hold(&h, path, NULL, 300), 0);
    int64_t start = cvg_time_mono_ms();
    rc = cvg_wh_begin_write(wh, "busy", &err);
    if (rc != 0)
        printf("\n  begin_write: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(cvg_time_mono_ms() - start >= 250); /* it waited for the other writer */
    CU_ASSERT_EQUAL(count_in(wh, "SELECT count(*) FROM busy.t", &rc, &err), 0);
    CU_ASSERT_EQUAL(
        cvg_wh_exec(wh, "INSERT INTO busy.t VALUES (7)", NULL, 0, NULL, NULL, NULL, &err), 0);
    /* the other file was not locked by this transaction */
    cvg_wh_t *other = open_wh();
    CU_ASSERT_EQUAL(
        cvg_wh_exec(other, "INSERT INTO side.log VALUES (1)", NULL, 0, NULL, NULL, NULL, &err), 0);
    cvg_wh_close(&other);
    CU_ASSERT_EQUAL(cvg_wh_commit(wh, &err), 0);
    lock_join(&h);
    CU_ASSERT_EQUAL(count_in(wh, "SELECT count(*) FROM busy.t WHERE x = 7", &rc, &err), 1);
    /* a dataset outside the restriction cannot be locked */
    CU_ASSERT_EQUAL(cvg_wh_begin_write(wh, "side", &err), CVG_EINVAL);
    cvg_wh_close(&wh);
}

/* A connection with another dataset reached (the gateway keeps the
 * datasets of the tenants it set up) writing the central one while a run
 * writes its own: begin_write locks only the file it names, so neither
 * waits for the other (BEGIN IMMEDIATE would lock both, and wait out the
 * busy timeout for the tenant's writer). */
static void test_sqlite_write_locks_only_its_dataset(void)
{
    cvg_wh_t *gw = open_wh(), *run = open_wh();
    cvg_err_t err;
    int rc = 0;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(gw, "central_w", &err), 0);
    make_table(gw, "central_w", "t", "[{\"name\":\"x\",\"type\":\"INT64\"}]");
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(gw, "tenant1", &err), 0);
    make_table(gw, "tenant1", "t", "[{\"name\":\"x\",\"type\":\"INT64\"}]");
    CU_ASSERT_EQUAL(count_in(gw, "SELECT count(*) FROM tenant1.t", &rc, &err), 0); /* reached */
    /* the tenant's run holds its dataset's write lock */
    CU_ASSERT_EQUAL_FATAL(cvg_wh_begin_write(run, "tenant1", &err), 0);
    CU_ASSERT_EQUAL(
        cvg_wh_exec(run, "INSERT INTO tenant1.t VALUES (1)", NULL, 0, NULL, NULL, NULL, &err), 0);
    rc = cvg_wh_begin_write(gw, "central_w", &err);
    if (rc != 0)
        printf("\n  begin_write: %s\n", err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(
        cvg_wh_exec(gw, "INSERT INTO central_w.t VALUES (2)", NULL, 0, NULL, NULL, NULL, &err), 0);
    /* it still reads the tenant's file, as it was before the run's write */
    CU_ASSERT_EQUAL(count_in(gw, "SELECT count(*) FROM tenant1.t", &rc, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_commit(gw, &err), 0);
    CU_ASSERT_EQUAL(cvg_wh_commit(run, &err), 0);
    CU_ASSERT_EQUAL(count_in(gw, "SELECT count(*) FROM central_w.t WHERE x = 2", &rc, &err), 1);
    CU_ASSERT_EQUAL(count_in(gw, "SELECT count(*) FROM tenant1.t WHERE x = 1", &rc, &err), 1);
    cvg_wh_close(&run);
    cvg_wh_close(&gw);
}

/* A table's schema as declared: STRICT types and the names CREATE TABLE
 * ... AS gives (from a column's or a CAST's type) map to the loader's
 * types; NOT NULL makes REQUIRED. */
static void test_sqlite_table_schema_from_declared_types(void)
{
    cvg_wh_t *wh = open_wh();
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "decl", &err), 0);
    make_table(wh, "decl", "strict_t",
               "[{\"name\":\"id\",\"type\":\"STRING\",\"mode\":\"REQUIRED\"},"
               "{\"name\":\"n\",\"type\":\"INT64\"},{\"name\":\"cost\",\"type\":\"FLOAT64\"},"
               "{\"name\":\"day\",\"type\":\"DATE\"}]");
    CU_ASSERT_EQUAL_FATAL(cvg_wh_table_create_as(wh, "decl", "ctas",
                                                 "SELECT 'a' AS s, CAST(1 AS INTEGER) AS i, "
                                                 "CAST(1.5 AS REAL) AS r, CAST(2 AS NUMERIC) "
                                                 "AS num, 1 AS lit",
                                                 NULL, 0, &err),
                          0);
    static const struct {
        const char *table, *col;
        cvg_col_type_t type;
        cvg_col_mode_t mode;
    } want[] = {
        {"strict_t", "id", CVG_COL_STRING, CVG_MODE_REQUIRED},
        {"strict_t", "n", CVG_COL_INT64, CVG_MODE_NULLABLE},
        {"strict_t", "cost", CVG_COL_FLOAT64, CVG_MODE_NULLABLE},
        {"strict_t", "day", CVG_COL_STRING, CVG_MODE_NULLABLE},
        {"ctas", "s", CVG_COL_STRING, CVG_MODE_NULLABLE},
        {"ctas", "i", CVG_COL_INT64, CVG_MODE_NULLABLE},
        {"ctas", "r", CVG_COL_FLOAT64, CVG_MODE_NULLABLE},
        {"ctas", "num", CVG_COL_NUMERIC, CVG_MODE_NULLABLE},
        {"ctas", "lit", CVG_COL_STRING, CVG_MODE_NULLABLE}, /* a literal declares no type */
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        cvg_schema_t sc;
        CU_ASSERT_EQUAL_FATAL(cvg_wh_table_schema(wh, "decl", want[i].table, &sc, &err), 0);
        CU_ASSERT_STRING_EQUAL(sc.table, want[i].table);
        int k = cvg_schema_find(&sc, want[i].col);
        CU_ASSERT_FATAL(k >= 0);
        if (sc.cols[k].type != want[i].type || sc.cols[k].mode != want[i].mode)
            printf("\n  %s.%s: type %d mode %d\n", want[i].table, want[i].col, sc.cols[k].type,
                   sc.cols[k].mode);
        CU_ASSERT_EQUAL(sc.cols[k].type, want[i].type);
        CU_ASSERT_EQUAL(sc.cols[k].mode, want[i].mode);
        cvg_schema_cleanup(&sc);
    }
    cvg_schema_t none;
    CU_ASSERT_EQUAL(cvg_wh_table_schema(wh, "decl", "missing", &none, &err), CVG_ENOTFOUND);
    CU_ASSERT_EQUAL(none.ncols, 0);
    cvg_wh_close(&wh);
}

typedef struct creator {
    cvg_wh_t *wh;
    pthread_barrier_t *start;
    char name[32];
    int rc;
} creator_t;

static void *create_at_once(void *arg)
{
    creator_t *c = arg;
    cvg_err_t err;
    cvg_err_clear(&err);
    pthread_barrier_wait(c->start);
    c->rc = cvg_wh_dataset_create(c->wh, c->name, &err);
    return NULL;
}

/* Connections creating one dataset at the same moment: exactly one creates
 * it, the others are told it already exists (none may believe it made the
 * file, or its cleanup after a later failure would drop the winner's). */
static void test_sqlite_dataset_created_once_under_a_race(void)
{
    enum { CREATORS = 4, ROUNDS = 60 };
    creator_t c[CREATORS];
    for (int i = 0; i < CREATORS; i++)
        c[i].wh = open_wh();
    int bad_rounds = 0;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, CREATORS);
        pthread_t t[CREATORS];
        for (int i = 0; i < CREATORS; i++) {
            c[i].start = &start;
            snprintf(c[i].name, sizeof(c[i].name), "race_%d", r);
            pthread_create(&t[i], NULL, create_at_once, &c[i]);
        }
        int created = 0, taken = 0;
        for (int i = 0; i < CREATORS; i++) {
            pthread_join(t[i], NULL);
            created += c[i].rc == 0;
            taken += c[i].rc == CVG_EEXIST;
        }
        pthread_barrier_destroy(&start);
        if (created != 1 || taken != CREATORS - 1) {
            if (bad_rounds++ == 0)
                printf("\n  round %d: %d created, %d already existing\n", r, created, taken);
        }
    }
    CU_ASSERT_EQUAL(bad_rounds, 0);
    for (int i = 0; i < CREATORS; i++)
        cvg_wh_close(&c[i].wh);
}

static CU_TestInfo tests[] = {
    {"test_sqlite_datasets", test_sqlite_datasets},
    {"test_sqlite_new_file_attached_while_read", test_sqlite_new_file_attached_while_read},
    {"test_sqlite_central_tables_from_schema_files", test_sqlite_central_tables_from_schema_files},
    {"test_sqlite_bound_values_are_verbatim", test_sqlite_bound_values_are_verbatim},
    {"test_sqlite_refuses_unsafe_sql", test_sqlite_refuses_unsafe_sql},
    {"test_sqlite_types_are_enforced", test_sqlite_types_are_enforced},
    {"test_sqlite_transactions", test_sqlite_transactions},
    {"test_sqlite_more_datasets_than_attachments", test_sqlite_more_datasets_than_attachments},
    {"test_sqlite_dataset_recreated_under_another_connection",
     test_sqlite_dataset_recreated_under_another_connection},
    {"test_sqlite_missing_things_are_not_found", test_sqlite_missing_things_are_not_found},
    {"test_sqlite_cross_dataset_view", test_sqlite_cross_dataset_view},
    {"test_sqlite_restricted_connection", test_sqlite_restricted_connection},
    {"test_sqlite_statements_stop_at_deadline_or_cancel",
     test_sqlite_statements_stop_at_deadline_or_cancel},
    {"test_sqlite_table_from_a_query", test_sqlite_table_from_a_query},
    {"test_sqlite_index_dropped_once", test_sqlite_index_dropped_once},
    {"test_sqlite_write_waits_for_the_lock", test_sqlite_write_waits_for_the_lock},
    {"test_sqlite_write_locks_only_its_dataset", test_sqlite_write_locks_only_its_dataset},
    {"test_sqlite_table_schema_from_declared_types", test_sqlite_table_schema_from_declared_types},
    {"test_sqlite_dataset_created_once_under_a_race",
     test_sqlite_dataset_created_once_under_a_race},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_sqlite = {"unit_sqlite", setup, teardown, tests, 60};
