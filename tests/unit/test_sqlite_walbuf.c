/*
 * The SQLite driver's WAL write-gathering (common/warehouse/sqlite_walbuf.c),
 * checked from outside: every commit is there at once for a connection on
 * SQLite's own VFS (another process's view of the file); a transaction of
 * several megabytes (the buffer filled and written many times over) reads
 * back whole and the file passes SQLite's integrity check; a rollback
 * leaves nothing; commits after the WAL was checkpointed and truncated
 * under the writer, and after the writer was closed and reopened, read back.
 */
#include "common/warehouse.h"
#include "tests/tests.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static char url[600];
static char file[700];

static int setup(void)
{
    dir = tmpdir_new("walbuf");
    if (dir == NULL)
        return 1;
    snprintf(url, sizeof(url), "sqlite://%s/wh", dir);
    snprintf(file, sizeof(file), "%s/wh/ds.db", dir);
    return 0;
}

static int teardown(void)
{
    tmpdir_remove(&dir);
    return 0;
}

static cvg_wh_t *open_with_table(void)
{
    cvg_wh_t *wh = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_open(url, &wh, &err), 0);
    bool exists = false;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_exists(wh, "ds", &exists, &err), 0);
    if (!exists) {
        CU_ASSERT_EQUAL_FATAL(cvg_wh_dataset_create(wh, "ds", &err), 0);
        json_t *doc = json_loads("[{\"name\":\"n\",\"type\":\"INT64\"},"
                                 "{\"name\":\"pad\",\"type\":\"STRING\"}]",
                                 0, NULL);
        cvg_schema_t s;
        CU_ASSERT_EQUAL_FATAL(cvg_schema_parse(doc, "t", &s, &err), 0);
        CU_ASSERT_EQUAL_FATAL(cvg_wh_table_create(wh, "ds", &s, &err), 0);
        cvg_schema_cleanup(&s);
        json_decref(doc);
    }
    CU_ASSERT_EQUAL_FATAL(cvg_wh_use(wh, "ds", &err), 0);
    return wh;
}

/* Inserts rows [from, from + n) with pad of pad_len bytes, in one
 * transaction; commit or roll back. */
static void insert(cvg_wh_t *wh, int64_t from, int64_t n, size_t pad_len, bool commit)
{
    char *pad = malloc(pad_len + 1);
    memset(pad, 'x', pad_len);
    pad[pad_len] = '\0';
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_begin(wh, &err), 0);
    for (int64_t i = from; i < from + n; i++) {
        cvg_val_t v[2] = {CVG_V_INT(i), cvg_v_text(pad)};
        CU_ASSERT_EQUAL_FATAL(cvg_wh_exec(wh, "INSERT INTO ds.t (n, pad) VALUES ($1, $2)", v, 2,
                                          NULL, NULL, NULL, &err),
                              0);
    }
    int rc = commit ? cvg_wh_commit(wh, &err) : cvg_wh_rollback(wh);
    CU_ASSERT_EQUAL(rc, 0);
    free(pad);
}

/* What a connection on SQLite's own VFS sees: rows, sum of n, total pad. */
typedef struct seen {
    int64_t rows, sum, bytes;
} seen_t;

static seen_t outside(void)
{
    seen_t s = {-1, -1, -1};
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db,
                                             "SELECT count(*), coalesce(sum(n), 0), "
                                             "coalesce(sum(length(pad)), 0) FROM t",
                                             -1, &st, NULL),
                          SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        s = (seen_t){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                     sqlite3_column_int64(st, 2)};
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}

static char *integrity(void)
{
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static int64_t sum_range(int64_t from, int64_t to) /* from..to-1 */
{
    return (from + to - 1) * (to - from) / 2;
}

static void test_walbuf_commits_seen_at_once(void)
{
    cvg_wh_t *wh = open_with_table();
    int64_t rows = 0;
    for (int i = 0; i < 40; i++) {
        insert(wh, rows, 3, 10, true);
        rows += 3;
        seen_t s = outside();
        CU_ASSERT_EQUAL(s.rows, rows);
        CU_ASSERT_EQUAL(s.sum, sum_range(0, rows));
    }
    cvg_wh_close(&wh);
}

static void test_walbuf_large_transaction(void)
{
    cvg_wh_t *wh = open_with_table();
    seen_t before = outside();
    /* ~6 MB of rows: the buffer fills and is written many times over, and
     * the page cache spills frames before the commit */
    insert(wh, 1000000, 6000, 1000, true);
    seen_t after = outside();
    CU_ASSERT_EQUAL(after.rows, before.rows + 6000);
    CU_ASSERT_EQUAL(after.sum, before.sum + sum_range(1000000, 1006000));
    CU_ASSERT_EQUAL(after.bytes, before.bytes + 6000 * 1000);
    char *ok = integrity();
    CU_ASSERT_STRING_EQUAL(ok ? ok : "", "ok");
    free(ok);
    cvg_wh_close(&wh);
}

static void test_walbuf_rollback_leaves_nothing(void)
{
    cvg_wh_t *wh = open_with_table();
    seen_t before = outside();
    insert(wh, 2000000, 2000, 500, false);
    seen_t after = outside();
    CU_ASSERT_EQUAL(after.rows, before.rows);
    CU_ASSERT_EQUAL(after.sum, before.sum);
    insert(wh, 3000000, 2, 5, true); /* the next commit is sound */
    after = outside();
    CU_ASSERT_EQUAL(after.rows, before.rows + 2);
    cvg_wh_close(&wh);
}

static void test_walbuf_after_checkpoint_and_reopen(void)
{
    cvg_wh_t *wh = open_with_table();
    seen_t before = outside();
    insert(wh, 4000000, 50, 100, true);
    /* another connection checkpoints and truncates the WAL under the
     * writer: its next commit starts the file again from its header */
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
                    SQLITE_OK);
    sqlite3_close(db);
    insert(wh, 5000000, 50, 100, true);
    seen_t s = outside();
    CU_ASSERT_EQUAL(s.rows, before.rows + 100);
    cvg_wh_close(&wh);
    wh = open_with_table(); /* reopened: the WAL is read back */
    insert(wh, 6000000, 1, 1, true);
    cvg_wh_close(&wh);
    s = outside();
    CU_ASSERT_EQUAL(s.rows, before.rows + 101);
    CU_ASSERT_EQUAL(s.sum, before.sum + sum_range(4000000, 4000050) + sum_range(5000000, 5000050) +
                               6000000);
    char *ok = integrity();
    CU_ASSERT_STRING_EQUAL(ok ? ok : "", "ok");
    free(ok);
}

static CU_TestInfo tests[] = {
    {"every commit is seen at once through SQLite's own VFS", test_walbuf_commits_seen_at_once},
    {"a 6 MB transaction reads back whole; integrity ok", test_walbuf_large_transaction},
    {"a rollback leaves nothing; the next commit is sound", test_walbuf_rollback_leaves_nothing},
    {"commits after a truncating checkpoint and a reopen", test_walbuf_after_checkpoint_and_reopen},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_sqlite_walbuf = {"unit_sqlite_walbuf", setup, teardown, tests, 120};
