/*
 * API key lookup cache (see keycache.h): open addressing on the key hash
 * (already uniformly random), under a read-write lock.
 */
#include "gateway/keycache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    bool used;
    bool found;
    char hash[CVG_APIKEY_HASH_HEX];
    cvg_keyinfo_t info;
    int64_t fetched_ms; /* 0 = forgotten */
    int64_t touched_ms;
} entry_t;

struct gw_keycache {
    pthread_rwlock_t lock;
    size_t n, cap;
    entry_t *slots;
};

gw_keycache_t *gw_keycache_new(size_t capacity)
{
    gw_keycache_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cap = capacity < 16 ? 16 : capacity * 2; /* load at most 1/2 */
    c->slots = calloc(c->cap, sizeof(*c->slots));
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    pthread_rwlock_init(&c->lock, NULL);
    return c;
}

void gw_keycache_destroy(gw_keycache_t **pc)
{
    if (pc == NULL || *pc == NULL)
        return;
    pthread_rwlock_destroy(&(*pc)->lock);
    free((*pc)->slots);
    free(*pc);
    *pc = NULL;
}

static size_t index_of(const gw_keycache_t *c, const char *hash)
{
    uint64_t h = 0;
    for (int i = 0; i < 15 && hash[i]; i++) {
        char ch = hash[i];
        h = h * 16 + (uint64_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
    }
    return (size_t)(h % c->cap);
}

/* The slot holding hash, or the empty slot where it would go. */
static entry_t *probe(gw_keycache_t *c, const char *hash)
{
    size_t i = index_of(c, hash);
    for (size_t k = 0; k < c->cap; k++) {
        entry_t *e = &c->slots[(i + k) % c->cap];
        if (!e->used || strcmp(e->hash, hash) == 0)
            return e;
    }
    return NULL;
}

bool gw_keycache_get(gw_keycache_t *c, const char *hash, int ttl_ms, int64_t now_ms, bool *found,
                     cvg_keyinfo_t *info)
{
    bool hit = false;
    pthread_rwlock_rdlock(&c->lock);
    entry_t *e = probe(c, hash);
    if (e && e->used && e->fetched_ms > 0 && now_ms - e->fetched_ms < ttl_ms) {
        *found = e->found;
        *info = e->info;
        hit = true;
    }
    pthread_rwlock_unlock(&c->lock);
    return hit;
}

void gw_keycache_put(gw_keycache_t *c, const char *hash, bool found, const cvg_keyinfo_t *info,
                     int64_t now_ms)
{
    pthread_rwlock_wrlock(&c->lock);
    entry_t *e = probe(c, hash);
    if (e == NULL || (!e->used && c->n + 1 > c->cap / 2)) {
        /* Full: start over rather than grow without bound. */
        memset(c->slots, 0, c->cap * sizeof(*c->slots));
        c->n = 0;
        e = probe(c, hash);
    }
    if (!e->used) {
        e->used = true;
        memcpy(e->hash, hash, sizeof(e->hash));
        c->n++;
    }
    e->found = found;
    if (info)
        e->info = *info;
    e->fetched_ms = now_ms;
    pthread_rwlock_unlock(&c->lock);
}

static void forget(gw_keycache_t *c, bool by_key, const char *value)
{
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < c->cap; i++) {
        entry_t *e = &c->slots[i];
        if (e->used && e->found && strcmp(by_key ? e->info.key_id : e->info.tenant_id, value) == 0)
            e->fetched_ms = 0;
    }
    pthread_rwlock_unlock(&c->lock);
}

void gw_keycache_forget_key(gw_keycache_t *c, const char *key_id)
{
    forget(c, true, key_id);
}

void gw_keycache_forget_tenant(gw_keycache_t *c, const char *tenant_id)
{
    forget(c, false, tenant_id);
}

bool gw_keycache_should_touch(gw_keycache_t *c, const char *hash, int64_t now_ms, int interval_ms)
{
    bool due = false;
    pthread_rwlock_wrlock(&c->lock);
    entry_t *e = probe(c, hash);
    if (e && e->used && now_ms - e->touched_ms >= interval_ms) {
        e->touched_ms = now_ms;
        due = true;
    }
    pthread_rwlock_unlock(&c->lock);
    return due;
}
