/*
 * Token buckets for the gateway: one per API key (the plan's requests per
 * minute, burst up to the same number), one per client address for
 * self-service sign-up, one for the admin key. The result carries what the
 * RateLimit-Policy / RateLimit header fields and Retry-After need.
 */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct gw_ratelimit gw_ratelimit_t;

typedef struct gw_rl_result {
    bool allowed;
    int limit;         /* quota of the policy (q) */
    int window_s;      /* its window (w) */
    int remaining;     /* requests left now (r) */
    int reset_s;       /* seconds until the bucket is full again (t) */
    int retry_after_s; /* when refused: seconds until one request is allowed */
} gw_rl_result_t;

gw_ratelimit_t *gw_ratelimit_new(void);
void gw_ratelimit_destroy(gw_ratelimit_t **rl);

/* Takes one token from the bucket named key (at most 63 characters) of
 * `limit` requests per `window_s` seconds, at time now_ms. */
void gw_ratelimit_take(gw_ratelimit_t *rl, const char *key, int limit, int window_s, int64_t now_ms,
                       gw_rl_result_t *out);

/* The same answer as gw_ratelimit_take would give, taking nothing. */
void gw_ratelimit_peek(gw_ratelimit_t *rl, const char *key, int limit, int window_s, int64_t now_ms,
                       gw_rl_result_t *out);

#endif
