/*
 * The test suites and the helpers they share. Each tests/unit/test_<module>.c
 * and tests/integration/test_<area>.c defines one cvg_suite_t; runner.c lists
 * them all and runs each in a forked child with a timeout.
 */
#ifndef CVG_TESTS_H
#define CVG_TESTS_H

#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

/* Sets a fixed-size char array field. */
#define STRSET(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

typedef struct cvg_suite {
    const char *name;       /* "unit_codec", "integration_cluster" */
    CU_InitializeFunc init; /* may be NULL */
    CU_CleanupFunc cleanup; /* may be NULL */
    CU_TestInfo *tests;     /* NULL-terminated */
    int timeout_s;          /* the whole suite, in its child */
} cvg_suite_t;

/* A fresh temporary directory for a test (removed by tmpdir_remove). */
char *tmpdir_new(const char *prefix);
void tmpdir_remove(char **dir);

/* Copies the directory tree src to dst (regular files and directories).
 * 0 on success. */
int tree_copy(const char *src, const char *dst);

/* The source tree (configs/, ps_templates/): CVG_SOURCE_DIR or ".". */
const char *source_dir(void);

/* Directory holding the binaries under test (next to the runner). */
const char *bin_dir(void);

/* Creates the central table `table` in dataset from its schema file under
 * ps_templates/setup/initial/schemas; 0 or the warehouse's error. */
struct cvg_wh;
int central_table_create(struct cvg_wh *wh, const char *dataset, const char *table);

/* in gzip-compressed, appended to *out (*len bytes, free() it). */
void gzip_append(const char *in, size_t n, unsigned char **out, size_t *len);

/* Another writer of a SQLite file: its own connection runs first_sql (may
 * be NULL), takes the write lock (BEGIN IMMEDIATE) and commits hold_ms
 * later from a thread. 0 once the lock is held; lock_join waits for the
 * commit and closes the connection. */
typedef struct lock_holder {
    void *db; /* sqlite3 */
    int hold_ms;
    pthread_t thread;
} lock_holder_t;
int lock_hold(lock_holder_t *h, const char *path, const char *first_sql, int hold_ms);
void lock_join(lock_holder_t *h);

#endif
