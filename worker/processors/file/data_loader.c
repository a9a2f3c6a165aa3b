/*
 * file.data_loader: a local CSV or JSON Lines file (maybe gzip) into a
 * table of the tenant's dataset. The file must be one the tenant may read
 * (common/importpath.h); the loading itself is worker/loadcore.c.
 */
#include "common/importpath.h"
#include "worker/loadcore.h"

#include <string.h>

static int run(const proc_ctx_t *ctx, const json_t *step, proc_result_t *res)
{
    const json_t *source = json_object_get(step, "source");
    const char *uri = json_string_value(json_object_get(source, "uri"));
    char path[4096];
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_import_path(ctx->cfg, ctx->tenant_id, uri ? uri : "", path, sizeof(path), &err) != 0)
        return proc_fail(res, err.code, "source.uri: %.900s", err.message);
    wrk_dest_t d;
    int rc = wrk_dest_parse(ctx, "file.data_loader", json_object_get(step, "destination"), &d, res);
    if (rc != 0)
        return rc;
    cvg_rows_opts_t opts;
    wrk_rows_opts_from(source, &opts);
    cvg_rows_t *rows = cvg_rows_new_file(path, &opts, &err);
    if (rows == NULL) {
        wrk_dest_cleanup(&d);
        return proc_fail(res, err.code ? err.code : CVG_EIO, "source.uri: %.900s", err.message);
    }
    wrk_load_opts_t lo;
    wrk_load_opts_from(step, &lo);
    res->detail = json_pack("{s:s, s:s}", "source", uri, "table", d.table);
    rc = wrk_load_rows(ctx, rows, &d, &lo, res->detail, res);
    /* known once the first bytes were read */
    json_object_set_new(res->detail, "compressed", json_boolean(cvg_rows_compressed(rows)));
    cvg_rows_destroy(&rows);
    wrk_dest_cleanup(&d);
    return rc;
}

const proc_def_t proc_file_data_loader = {
    .ps_type = "file.data_loader",
    .summary = "load a CSV or JSON Lines file (maybe gzip) into a table",
    .validate = wrk_dest_validate,
    .run = run,
};
