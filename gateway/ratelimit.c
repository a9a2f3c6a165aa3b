/*
 * Token buckets (see ratelimit.h), in 16 independently locked shards of
 * open-addressed slots; a full shard is cleared (every bucket in it starts
 * full again) rather than grown.
 */
#include "gateway/ratelimit.h"

#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS          16
#define SLOTS_PER_SHARD 4096

typedef struct bucket {
    char key[64];
    double tokens;
    int64_t last_ms;
} bucket_t;

typedef struct shard {
    pthread_mutex_t lock;
    size_t n;
    bucket_t slots[SLOTS_PER_SHARD];
} shard_t;

struct gw_ratelimit {
    shard_t shards[SHARDS];
};

gw_ratelimit_t *gw_ratelimit_new(void)
{
    gw_ratelimit_t *rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return NULL;
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&rl->shards[i].lock, NULL);
    return rl;
}

void gw_ratelimit_destroy(gw_ratelimit_t **prl)
{
    if (prl == NULL || *prl == NULL)
        return;
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_destroy(&(*prl)->shards[i].lock);
    free(*prl);
    *prl = NULL;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static bucket_t *find(shard_t *sh, const char *key, uint64_t h, bool *fresh)
{
    *fresh = false;
    for (size_t k = 0; k < SLOTS_PER_SHARD; k++) {
        bucket_t *b = &sh->slots[(h / SHARDS + k) % SLOTS_PER_SHARD];
        if (b->key[0] == '\0') {
            if (sh->n + 1 > SLOTS_PER_SHARD / 2)
                return NULL;
            snprintf(b->key, sizeof(b->key), "%s", key);
            sh->n++;
            *fresh = true;
            return b;
        }
        if (strcmp(b->key, key) == 0)
            return b;
    }
    return NULL;
}

static void settle(gw_ratelimit_t *rl, const char *key, int limit, int window_s, int64_t now_ms,
                   bool take, gw_rl_result_t *out)
{
    uint64_t h = hash(key);
    shard_t *sh = &rl->shards[h % SHARDS];
    double rate = (double)limit / (window_s > 0 ? window_s : 1); /* tokens per second */
    pthread_mutex_lock(&sh->lock);
    bool fresh;
    bucket_t *b = find(sh, key, h, &fresh);
    if (b == NULL) {
        memset(sh->slots, 0, sizeof(sh->slots));
        sh->n = 0;
        b = find(sh, key, h, &fresh);
    }
    if (fresh) {
        b->tokens = limit;
        b->last_ms = now_ms;
    }
    double elapsed = (double)(now_ms - b->last_ms) / 1000.0;
    if (elapsed > 0)
        b->tokens = fmin((double)limit, b->tokens + elapsed * rate);
    if (b->tokens > limit) /* the plan's limit went down */
        b->tokens = limit;
    b->last_ms = now_ms;
    out->allowed = b->tokens >= 1.0;
    if (out->allowed && take)
        b->tokens -= 1.0;
    out->limit = limit;
    out->window_s = window_s;
    out->remaining = (int)floor(b->tokens);
    out->reset_s = (int)ceil(((double)limit - b->tokens) / rate);
    out->retry_after_s = out->allowed ? 0 : (int)ceil((1.0 - b->tokens) / rate);
    if (!out->allowed && out->retry_after_s < 1)
        out->retry_after_s = 1;
    pthread_mutex_unlock(&sh->lock);
}

void gw_ratelimit_take(gw_ratelimit_t *rl, const char *key, int limit, int window_s, int64_t now_ms,
                       gw_rl_result_t *out)
{
    settle(rl, key, limit, window_s, now_ms, true, out);
}

void gw_ratelimit_peek(gw_ratelimit_t *rl, const char *key, int limit, int window_s, int64_t now_ms,
                       gw_rl_result_t *out)
{
    settle(rl, key, limit, window_s, now_ms, false, out);
}
