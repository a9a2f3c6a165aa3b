/*
 * Answers of finished runs, kept in memory for CVG_RUN_CACHE_MS.
 *
 * A run that has ended (SUCCEEDED, FAILED, TIMED_OUT, CANCELLED, DEAD) no
 * longer changes in the normal course, so GET /api/v1/pipelines/runs/{id}
 * can answer it from memory instead of four reads of the warehouse. The
 * rare late change (a run taken back after its lease and run again, at
 * least once) shows within the time to live. Runs still in flight are
 * never kept. Entries remember their tenant: the handler checks it as it
 * does for a read from the warehouse.
 */
#ifndef GW_RUNCACHE_H
#define GW_RUNCACHE_H

#include "common/id.h"
#include "common/tenant.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw_runcache gw_runcache_t;

/* At most `capacity` runs and `max_bytes` of answers; when either fills,
 * the cache starts over (cleared whole) rather than grow. */
gw_runcache_t *gw_runcache_new(size_t capacity, size_t max_bytes);
void gw_runcache_destroy(gw_runcache_t **c);

/* True when a run in `status` has ended and may be kept. */
bool gw_runcache_final(const char *status);

/* A copy (malloc'd, NUL-terminated, *len bytes) of run_id's answer stored
 * within ttl_ms of now_ms, with the run's tenant in tenant; NULL on a miss. */
char *gw_runcache_get(gw_runcache_t *c, const char *run_id, int ttl_ms, int64_t now_ms,
                      char tenant[CVG_TENANT_ID_MAX + 1], size_t *len);

/* Keeps a copy of a finished run's answer (ignored past max_bytes / 8). */
void gw_runcache_put(gw_runcache_t *c, const char *run_id, const char *tenant, const char *body,
                     size_t len, int64_t now_ms);

#endif
