/*
 * The SQLite driver's WAL write-gathering (common/warehouse/sqlite_walbuf.c),
 * checked from outside: every commit is there at once for a connection on
 * SQLite's own VFS (another process's view of the file); a transaction of
 * several megabytes (the buffer filled and written many times over) reads
 * back whole and the file passes SQLite's integrity check; a rollback of a
 * transaction that spilled frames leaves nothing; with synchronous=OFF
 * (no sync to empty the buffer) every commit is still seen at once; a
 * write the disk refuses fails the commit instead of being lost; commits
 * after the WAL was checkpointed and truncated under the writer, and after
 * the writer was closed and reopened, read back.
 */
#include "common/warehouse.h"
#include "common/warehouse/sqlite_walbuf.h"
#include "tests/tests.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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
    uint64_t taken0, made0, taken, made;
    cvg_sqlite_walbuf_counts(&taken0, &made0);
    int64_t rows = 0;
    for (int i = 0; i < 40; i++) {
        insert(wh, rows, 3, 10, true);
        rows += 3;
        seen_t s = outside();
        CU_ASSERT_EQUAL(s.rows, rows);
        CU_ASSERT_EQUAL(s.sum, sum_range(0, rows));
    }
    /* and the frames were gathered: SQLite's two writes a frame became
     * one write a commit */
    cvg_sqlite_walbuf_counts(&taken, &made);
    CU_ASSERT(taken - taken0 >= 40 * 2);
    CU_ASSERT(made - made0 <= 40);
    cvg_wh_close(&wh);
}

static void test_walbuf_large_transaction(void)
{
    cvg_wh_t *wh = open_with_table();
    seen_t before = outside();
    uint64_t taken0, made0, taken, made;
    cvg_sqlite_walbuf_counts(&taken0, &made0);
    /* ~6 MB of rows: the buffer fills and is written many times over, and
     * the page cache spills frames before the commit */
    insert(wh, 1000000, 6000, 1000, true);
    cvg_sqlite_walbuf_counts(&taken, &made);
    CU_ASSERT(taken - taken0 >= 2 * 1500); /* two writes a frame, 4 KiB a frame */
    CU_ASSERT((made - made0) * 20 < taken - taken0);
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
    /* larger than the page cache: frames are written to the WAL before
     * the rollback throws them away */
    insert(wh, 2000000, 6000, 1000, false);
    seen_t after = outside();
    CU_ASSERT_EQUAL(after.rows, before.rows);
    CU_ASSERT_EQUAL(after.sum, before.sum);
    insert(wh, 3000000, 2, 5, true); /* the next commit is sound */
    after = outside();
    CU_ASSERT_EQUAL(after.rows, before.rows + 2);
    char *ok = integrity();
    CU_ASSERT_STRING_EQUAL(ok ? ok : "", "ok");
    free(ok);
    cvg_wh_close(&wh);
}

/* With synchronous=OFF no sync empties the buffer at the commit: the
 * frames must reach the file before the WAL index shows them. */
static void test_walbuf_visible_without_sync(void)
{
    cvg_wh_t *wh = open_with_table(); /* registers the VFS */
    cvg_wh_close(&wh);
    seen_t before = outside();
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE, "cvg-walbuf"),
                          SQLITE_OK);
    CU_ASSERT_EQUAL(
        sqlite3_exec(db, "PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL", NULL, NULL, NULL),
        SQLITE_OK);
    for (int i = 0; i < 20; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "INSERT INTO t (n, pad) VALUES (%d, 'abc')", 7000000 + i);
        CU_ASSERT_EQUAL(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        seen_t s = outside();
        CU_ASSERT_EQUAL(s.rows, before.rows + i + 1);
    }
    sqlite3_close(db);
    char *ok = integrity();
    CU_ASSERT_STRING_EQUAL(ok ? ok : "", "ok");
    free(ok);
}

/* Runs fn with no file allowed to grow (SIGXFSZ ignored, so a write
 * past a file's end fails with EFBIG); returns fn's result. */
static int without_growth(int (*fn)(void *), void *arg)
{
    struct rlimit old, none = {0, 0};
    getrlimit(RLIMIT_FSIZE, &old);
    none.rlim_max = old.rlim_max;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    int rc = setrlimit(RLIMIT_FSIZE, &none) == 0 ? fn(arg) : -12345;
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, was);
    return rc;
}

static void empty_wal(void)
{
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
                    SQLITE_OK);
    sqlite3_close(db);
}

static int commit_wh(void *wh)
{
    cvg_err_t err;
    return cvg_wh_commit(wh, &err);
}

static int insert_raw(void *db)
{
    return sqlite3_exec(db, "INSERT INTO t (n, pad) VALUES (1, 'refused')", NULL, NULL, NULL);
}

/* A write the disk refuses fails the commit, even when it was taken into
 * the buffer earlier: nothing half-written is reported as committed, and
 * once the disk takes writes again the next commit is whole. With
 * synchronous=FULL the commit's sync reports it; with OFF (no sync) the
 * write of the commit's last frame does. */
static void test_walbuf_failed_write_fails_the_commit(void)
{
    cvg_wh_t *wh = open_with_table();
    seen_t before = outside();
    empty_wal(); /* the next commit must grow the WAL */
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_begin(wh, &err), 0);
    for (int i = 0; i < 200; i++) {
        cvg_val_t v[2] = {CVG_V_INT(8000000 + i), cvg_v_text("pad")};
        CU_ASSERT_EQUAL(cvg_wh_exec(wh, "INSERT INTO ds.t (n, pad) VALUES ($1, $2)", v, 2, NULL,
                                    NULL, NULL, &err),
                        0);
    }
    CU_ASSERT_NOT_EQUAL(without_growth(commit_wh, wh), 0);
    CU_ASSERT_EQUAL(outside().rows, before.rows);
    insert(wh, 9000000, 3, 10, true);
    seen_t after = outside();
    CU_ASSERT_EQUAL(after.rows, before.rows + 3);
    CU_ASSERT_EQUAL(after.sum, before.sum + 3 * 9000000 + 3);
    cvg_wh_close(&wh);

    empty_wal();
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE, "cvg-walbuf"),
                          SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(db, "PRAGMA synchronous=OFF", NULL, NULL, NULL), SQLITE_OK);
    CU_ASSERT_NOT_EQUAL(without_growth(insert_raw, db), SQLITE_OK);
    CU_ASSERT_EQUAL(outside().rows, before.rows + 3);
    CU_ASSERT_EQUAL(insert_raw(db), SQLITE_OK);
    CU_ASSERT_EQUAL(outside().rows, before.rows + 4);
    sqlite3_close(db);
    char *ok = integrity();
    CU_ASSERT_STRING_EQUAL(ok ? ok : "", "ok");
    free(ok);
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
    {"a rollback of a spilled transaction leaves nothing", test_walbuf_rollback_leaves_nothing},
    {"frames reach the file before the WAL index shows them (no sync)",
     test_walbuf_visible_without_sync},
    {"a refused write fails the commit; the next commit is whole",
     test_walbuf_failed_write_fails_the_commit},
    {"commits after a truncating checkpoint and a reopen", test_walbuf_after_checkpoint_and_reopen},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_sqlite_walbuf = {"unit_sqlite_walbuf", setup, teardown, tests, 120};
