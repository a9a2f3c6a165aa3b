/*
 * Recent API key lookups, shared by the gateway's HTTP threads, so a key is
 * checked from memory on almost every request. An entry is trusted for
 * CVG_AUTH_CACHE_MS (at most one second); revoking a key or changing a
 * subscription through this gateway forgets the affected entries at once,
 * and other gateways see the change within that bound.
 */
#ifndef GW_KEYCACHE_H
#define GW_KEYCACHE_H

#include "common/apikey.h"
#include "common/keystore.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw_keycache gw_keycache_t;

/* A cache of at most `capacity` keys (cleared whole when it fills). */
gw_keycache_t *gw_keycache_new(size_t capacity);
void gw_keycache_destroy(gw_keycache_t **c);

/* A lookup of `hash` made within ttl_ms of now: true, with *found and
 * *info as the warehouse answered; false when there is none or it is older. */
bool gw_keycache_get(gw_keycache_t *c, const char *hash, int ttl_ms, int64_t now_ms, bool *found,
                     cvg_keyinfo_t *info);

/* Remembers what the warehouse answered for hash at now_ms. */
void gw_keycache_put(gw_keycache_t *c, const char *hash, bool found, const cvg_keyinfo_t *info,
                     int64_t now_ms);

/* Forgets every entry of a key, or of a tenant. */
void gw_keycache_forget_key(gw_keycache_t *c, const char *key_id);
void gw_keycache_forget_tenant(gw_keycache_t *c, const char *tenant_id);

/* True at most once per interval_ms per key: time to record last use. */
bool gw_keycache_should_touch(gw_keycache_t *c, const char *hash, int64_t now_ms, int interval_ms);

#endif
