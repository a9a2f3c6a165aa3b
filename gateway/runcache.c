/*
 * Finished runs' answers (see runcache.h): open addressing on an FNV-1a
 * hash of the run id, under a read-write lock. A hit copies the answer out
 * under the read lock, so readers never wait for each other.
 */
#include "gateway/runcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char run_id[CVG_ID_LEN]; /* "" = empty slot */
    char tenant[CVG_TENANT_ID_MAX + 1];
    char *body;
    size_t len;
    int64_t stored_ms;
} entry_t;

struct gw_runcache {
    pthread_rwlock_t lock;
    size_t n, cap, bytes, max_bytes;
    entry_t *slots;
};

bool gw_runcache_final(const char *status)
{
    static const char *const final[] = {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED", "DEAD"};
    for (size_t i = 0; status && i < sizeof(final) / sizeof(final[0]); i++) {
        if (strcmp(status, final[i]) == 0)
            return true;
    }
    return false;
}

gw_runcache_t *gw_runcache_new(size_t capacity, size_t max_bytes)
{
    gw_runcache_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cap = capacity < 16 ? 32 : capacity * 2; /* load at most 1/2 */
    c->max_bytes = max_bytes;
    c->slots = calloc(c->cap, sizeof(*c->slots));
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    pthread_rwlock_init(&c->lock, NULL);
    return c;
}

static void clear(gw_runcache_t *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->slots[i].body);
    memset(c->slots, 0, c->cap * sizeof(*c->slots));
    c->n = 0;
    c->bytes = 0;
}

void gw_runcache_destroy(gw_runcache_t **pc)
{
    if (pc == NULL || *pc == NULL)
        return;
    clear(*pc);
    pthread_rwlock_destroy(&(*pc)->lock);
    free((*pc)->slots);
    free(*pc);
    *pc = NULL;
}

/* The slot holding run_id, or the empty slot where it would go. Run ids
 * begin with their time, so the whole id is hashed. */
static entry_t *probe(gw_runcache_t *c, const char *run_id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = run_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (size_t k = 0, i = (size_t)(h % c->cap); k < c->cap; k++) {
        entry_t *e = &c->slots[(i + k) % c->cap];
        if (e->run_id[0] == '\0' || strcmp(e->run_id, run_id) == 0)
            return e;
    }
    return NULL;
}

char *gw_runcache_get(gw_runcache_t *c, const char *run_id, int ttl_ms, int64_t now_ms,
                      char tenant[CVG_TENANT_ID_MAX + 1], size_t *len)
{
    char *copy = NULL;
    if (ttl_ms <= 0 || strlen(run_id) >= CVG_ID_LEN)
        return NULL;
    pthread_rwlock_rdlock(&c->lock);
    entry_t *e = probe(c, run_id);
    if (e && e->run_id[0] && now_ms - e->stored_ms < ttl_ms &&
        (copy = malloc(e->len + 1)) != NULL) {
        memcpy(copy, e->body, e->len + 1);
        memcpy(tenant, e->tenant, sizeof(e->tenant));
        *len = e->len;
    }
    pthread_rwlock_unlock(&c->lock);
    return copy;
}

void gw_runcache_put(gw_runcache_t *c, const char *run_id, const char *tenant, const char *body,
                     size_t len, int64_t now_ms)
{
    if (strlen(run_id) >= CVG_ID_LEN || strlen(tenant) > CVG_TENANT_ID_MAX ||
        len > c->max_bytes / 8)
        return;
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return;
    memcpy(copy, body, len);
    copy[len] = '\0';
    pthread_rwlock_wrlock(&c->lock);
    entry_t *e = probe(c, run_id);
    bool fresh = e == NULL || e->run_id[0] == '\0';
    size_t bytes = c->bytes - (fresh ? 0 : e->len) + len;
    if (e == NULL || (fresh && c->n + 1 > c->cap / 2) || bytes > c->max_bytes) {
        clear(c);
        e = probe(c, run_id);
        fresh = true;
        bytes = len;
    }
    if (fresh) {
        memcpy(e->run_id, run_id, strlen(run_id) + 1);
        c->n++;
    }
    free(e->body);
    e->body = copy;
    e->len = len;
    memcpy(e->tenant, tenant, strlen(tenant) + 1);
    e->stored_ms = now_ms;
    c->bytes = bytes;
    pthread_rwlock_unlock(&c->lock);
}
