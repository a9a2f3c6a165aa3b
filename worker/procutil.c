/*
 * What processors call back into (see processor.h): failing with a reason,
 * reporting data-quality results, reading the tenant's credentials.
 */
#include "common/credentials.h"
#include "common/crypto.h"
#include "worker/processor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void proc_emit_dq(const proc_ctx_t *ctx, json_t *detail)
{
    if (ctx->emit_dq != NULL && detail != NULL)
        ctx->emit_dq(ctx->emit_ud, ctx, detail);
    json_decref(detail);
}

int proc_fail(proc_result_t *res, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
    return code;
}

int proc_credential(const proc_ctx_t *ctx, const char *provider, json_t **secret, cvg_err_t *err)
{
    *secret = NULL;
    if (ctx->meta_wh == NULL || ctx->keys == NULL || ctx->keys->current == 0)
        return cvg_err_set(err, CVG_ECONFIG, "credentials",
                           "this worker has no credentials master key (CVG_MASTER_KEY_FILE)");
    char *text = NULL;
    int rc = cvg_cred_load(ctx->meta_wh, ctx->keys, ctx->tenant_id, provider, &text, err);
    if (rc == CVG_ENOTFOUND)
        return cvg_err_set(
            err, rc, "credentials",
            "tenant %s has no %s credentials (PUT /api/v1/tenants/%s/credentials/%s)",
            ctx->tenant_id, provider, ctx->tenant_id, provider);
    if (rc != 0)
        return rc;
    *secret = json_loads(text, 0, NULL);
    cvg_wipe(text, strlen(text));
    free(text);
    return *secret ? 0
                   : cvg_err_set(err, CVG_EINVAL, "credentials",
                                 "stored %s credentials are "
                                 "not JSON",
                                 provider);
}
