/*
 * Checks shared by the endpoints that name a pipeline (the run endpoint,
 * the schedules): see handlers/pipeline_checks.c.
 */
#ifndef GW_PIPELINE_CHECKS_H
#define GW_PIPELINE_CHECKS_H

#include "common/errlist.h"
#include "gateway/gateway.h"
#include "gateway/pipecache.h"

/* A 4xx with every error of errs listed ("errors") and the first as
 * "error". */
void gw_errors_reply(gw_resp_t *resp, int status, const char *code, const cvg_errlist_t *errs);

/* The pipeline at path (provider/domain/template), loaded and valid: 0
 * and *pipe (release with gw_pipecache_put), or the answer given (404 no
 * such pipeline or a setup one, 400 with its validation errors, 500) and
 * non-zero. */
int gw_pipeline_get(gw_req_t *req, gw_resp_t *resp, const char *path, cvg_errlist_t *errs,
                    const gw_pipe_t **pipe);

/* The admin key may name any tenant; one that does not exist is answered
 * 404 (as is a warehouse that cannot be reached, 503) and false. */
bool gw_pipeline_tenant_exists(gw_req_t *req, gw_resp_t *resp, const char *tenant);

/* Every provider setting the pipeline's steps use must be stored for the
 * tenant: each missing one goes to errs, naming the PUT that sets it.
 * Non-zero only when the settings could not be read. */
int gw_pipeline_settings_check(gw_req_t *req, const char *tenant, const gw_pipe_t *pipe,
                               cvg_errlist_t *errs, cvg_err_t *err);

#endif
