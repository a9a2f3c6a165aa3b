/*
 * Prepared-statement cache (see sqlite_stmts.h). The services run the same
 * few dozen statements over and over: parsing and planning each one again
 * cost half of an authenticated read. Statements are found by the hash and
 * text of the caller's SQL, reset and unbound after each use so they hold
 * no read transaction and no pointer into the caller's memory, and the
 * least recently used is finalized to make room.
 */
#include "common/warehouse/sqlite_stmts.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static cvg_stmt_slot_t *find(cvg_stmt_cache_t *c, const char *sql, uint64_t h)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->slot[i].hash == h && strcmp(c->slot[i].sql, sql) == 0)
            return &c->slot[i];
    }
    return NULL;
}

static void drop(cvg_stmt_cache_t *c, size_t i, bool finalize)
{
    if (finalize)
        sqlite3_finalize(c->slot[i].st);
    free(c->slot[i].sql);
    c->slot[i] = c->slot[--c->n];
}

sqlite3_stmt *cvg_stmt_cache_take(cvg_stmt_cache_t *c, const char *sql, uint64_t *gen)
{
    *gen = c->gen;
    cvg_stmt_slot_t *s = find(c, sql, hash_text(sql));
    if (s == NULL || s->busy)
        return NULL; /* a nested use of the same text prepares its own */
    s->busy = true;
    s->used = ++c->tick;
    return s->st;
}

/* A slot for a new statement: a free one, or the least recently used idle
 * one emptied; NULL when every slot is busy. */
static cvg_stmt_slot_t *room(cvg_stmt_cache_t *c)
{
    if (c->n < CVG_STMT_CACHE_SIZE)
        return &c->slot[c->n++];
    size_t lru = CVG_STMT_CACHE_SIZE;
    for (size_t i = 0; i < c->n; i++) {
        if (!c->slot[i].busy && (lru == CVG_STMT_CACHE_SIZE || c->slot[i].used < c->slot[lru].used))
            lru = i;
    }
    if (lru == CVG_STMT_CACHE_SIZE)
        return NULL;
    sqlite3_finalize(c->slot[lru].st);
    free(c->slot[lru].sql);
    memset(&c->slot[lru], 0, sizeof(c->slot[lru]));
    return &c->slot[lru];
}

void cvg_stmt_cache_give(cvg_stmt_cache_t *c, const char *sql, sqlite3_stmt *st, uint64_t gen,
                         bool keep)
{
    if (st == NULL)
        return;
    keep = keep && gen == c->gen;
    for (size_t i = 0; i < c->n; i++) {
        if (c->slot[i].st == st) {
            if (!keep) {
                drop(c, i, true);
                return;
            }
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            c->slot[i].busy = false;
            return;
        }
    }
    /* a nested use of a cached text prepared its own: keep only one */
    char *copy = keep && find(c, sql, hash_text(sql)) == NULL ? strdup(sql) : NULL;
    cvg_stmt_slot_t *s = copy ? room(c) : NULL;
    if (s == NULL) {
        free(copy);
        sqlite3_finalize(st);
        return;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    *s = (cvg_stmt_slot_t){
        .hash = hash_text(sql), .sql = copy, .st = st, .used = ++c->tick, .busy = false};
}

void cvg_stmt_cache_clear(cvg_stmt_cache_t *c)
{
    c->gen++;
    while (c->n > 0)
        drop(c, c->n - 1, !c->slot[c->n - 1].busy);
}
