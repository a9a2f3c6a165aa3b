/*
 * Pipeline configs as the gateway needs them on every run request: loaded,
 * validated against the processor schemas, with the provider settings they
 * use. Kept per path and read again when the file changes (size, mtime or
 * inode); the file is looked at no more than once per
 * CVG_CONFIG_RECHECK_MS (1 s), so a request costs neither a YAML parse nor
 * a stat().
 */
#ifndef GW_PIPECACHE_H
#define GW_PIPECACHE_H

#include "common/pipeline.h"
#include "common/providers.h"
#include "common/warehouse.h"

typedef struct gw_pipe {
    cvg_pipeline_t p;
    cvg_strlist_t settings; /* provider settings the steps use */
} gw_pipe_t;

typedef struct gw_pipecache gw_pipecache_t;

gw_pipecache_t *gw_pipecache_new(const cvg_config_t *cfg, const cvg_providers_t *providers);
void gw_pipecache_destroy(gw_pipecache_t **c);

/*
 * The pipeline at path (provider/domain/template). 0 and a borrowed
 * reference (release with gw_pipecache_put); CVG_ENOTFOUND when there is no
 * such config; CVG_EINVAL with every problem in errs.
 */
int gw_pipecache_get(gw_pipecache_t *c, const char *path, const gw_pipe_t **out,
                     cvg_errlist_t *errs, cvg_err_t *err);

void gw_pipecache_put(gw_pipecache_t *c, const gw_pipe_t *pipe);

#endif
