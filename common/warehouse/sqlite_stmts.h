/*
 * Prepared-statement cache for the SQLite driver (see sqlite_stmts.c).
 * Private to common/warehouse/.
 */
#ifndef CVG_SQLITE_STMTS_H
#define CVG_SQLITE_STMTS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVG_STMT_CACHE_SIZE 48

typedef struct cvg_stmt_slot {
    uint64_t hash;
    char *sql; /* the caller's text, owned copy */
    sqlite3_stmt *st;
    uint64_t used; /* tick of last use, for LRU */
    bool busy;     /* taken and not yet given back */
} cvg_stmt_slot_t;

typedef struct cvg_stmt_cache {
    cvg_stmt_slot_t slot[CVG_STMT_CACHE_SIZE];
    size_t n;
    uint64_t tick;
    uint64_t gen; /* bumped by clear: statements taken before are not kept */
} cvg_stmt_cache_t;

/* A cached statement for sql, marked busy, or NULL. *gen receives the
 * generation to hand back to cvg_stmt_cache_give. */
sqlite3_stmt *cvg_stmt_cache_take(cvg_stmt_cache_t *c, const char *sql, uint64_t *gen);

/* Ends a use of st, which either came from take (same sql) or was freshly
 * prepared for sql. keep: reset it, clear its bindings and keep it for the
 * next use of sql; otherwise (or when the cache was cleared since gen, or
 * has no room) it is finalized. */
void cvg_stmt_cache_give(cvg_stmt_cache_t *c, const char *sql, sqlite3_stmt *st, uint64_t gen,
                         bool keep);

/* Finalizes every cached statement; a busy one is finalized when given
 * back. Called before the connection's attachments change and at close. */
void cvg_stmt_cache_clear(cvg_stmt_cache_t *c);

#endif
