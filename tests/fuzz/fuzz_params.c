/*
 * Fuzz target: the runtime parameters of a run request (common/paramdecl.c).
 * The input is the JSON body of POST /api/v1/pipelines/run/..., checked
 * against the pipeline's declarations as the gateway does
 * (cvg_paramdecl_check_body),
 * then carried as the scheduler carries them (JSON text, then one string a
 * parameter, scheduler/queue.c) to the worker, which checks them again and
 * makes the run's variables (wrk_run_vars) and renders a SQL template and a
 * string with them. A run the gateway accepted must not be refused by the
 * worker. When the input holds a NUL byte, the text before it is the
 * pipeline's `parameters:` mapping in JSON (cvg_paramdecls_parse); else a
 * fixed set of every type is used.
 */
#include "common/json.h"
#include "common/pipeline.h"
#include "common/sqltmpl.h"
#include "common/str.h"
#include "common/yaml.h"
#include "worker/runner.h"
#include "worker/runvars.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char PIPELINE[] = "pipeline_id: fuzz_params\n"
                               "description: every parameter type\n"
                               "parameters:\n"
                               "  date: {type: date}\n"
                               "  since: {type: timestamp, default: '2026-01-01T00:00:00Z'}\n"
                               "  label: {type: string, max_length: 12, default: x}\n"
                               "  note: {type: string, default: ''}\n"
                               "  n: {type: int, min: -5, max: 1000, required: true}\n"
                               "  big: {type: int, default: 9223372036854775807}\n"
                               "  tbl: {type: identifier, default: costs}\n"
                               "  region: {type: enum, values: [eu, us, 'a b'], default: eu}\n"
                               "steps:\n"
                               "  - {step_id: s, ps_type: gcp.bq_etl}\n";

static cvg_config_t cfg;
static json_t *fixed_doc;
static cvg_errlist_t *errs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cvg_err_t err;
    cvg_err_clear(&err);
    errs = cvg_errlist_new();
    if (errs == NULL ||
        cvg_yaml_load_string(PIPELINE, strlen(PIPELINE), "params.yml", &fixed_doc, &err) != 0) {
        fprintf(stderr, "fuzz_params: %s\n", err.message);
        exit(1);
    }
    return 0;
}

/* The gateway's check (cvg_paramdecl_check_body): the accepted parameters
 * as JSON, NULL when any is refused. */
static json_t *gateway_check(const cvg_pipeline_t *p, const json_t *body)
{
    cvg_errlist_reset(errs);
    json_t *out =
        cvg_paramdecl_check_body(p->params, p->nparams, p->pipeline_id, body, "2026-11-03", errs);
    if (errs->n > 0) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

/* The worker's side of an accepted run: the parameters as the scheduler
 * hands them over, the run's variables, a template rendered with them. */
static void worker_side(const cvg_pipeline_t *p, const json_t *accepted)
{
    char *stored = json_dumps(accepted, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *back = stored ? json_loads(stored, 0, NULL) : NULL;
    free(stored);
    cvg_params_t params = {0};
    const char *key;
    json_t *val;
    json_object_foreach(back, key, val)
    {
        char *text = json_is_string(val) ? NULL : json_dumps(val, JSON_ENCODE_ANY);
        cvg_params_add(&params, key, text ? text : json_string_value(val));
        free(text);
    }
    json_decref(back);
    cvg_config_t run_cfg = cfg;
    wrk_env_t env = {.cfg = &run_cfg};
    wrk_run_t run = {.run_id = "0190a3c4-7b2e-7c1d-9e4f-0a1b2c3d4e5f",
                     .tenant_id = "acme-corp",
                     .attempt = 1,
                     .params = &params};
    cvg_vars_t vars = {0};
    cvg_err_t err;
    cvg_err_clear(&err);
    if (wrk_run_vars(&env, &run, p, &vars, &err) != 0) {
        fprintf(stderr, "the gateway accepted a run the worker refuses: %s\n", err.message);
        abort();
    }
    /* every variable, as a value and as a name */
    cvg_buf_t text;
    cvg_buf_init(&text, 64 * 1024);
    cvg_buf_puts(&text, "SELECT * FROM {tenant_id}.t WHERE 1 = 1");
    for (size_t i = 0; i < vars.n; i++)
        cvg_buf_printf(&text, " AND c_%zu = {%s} AND '{%s}' <> \"{%s}\"", i, vars.items[i].name,
                       vars.items[i].name, vars.items[i].name);
    cvg_sql_t q;
    if (cvg_sql_render(cvg_buf_cstr(&text), &vars, '"', &q, &err) == 0)
        cvg_sql_cleanup(&q);
    cvg_buf_t out;
    cvg_buf_init(&out, 4096);
    cvg_vars_expand(&vars, cvg_buf_cstr(&text), &out, &err);
    cvg_buf_reset(&out);
    cvg_vars_expand_name(&vars, cvg_buf_cstr(&text), &out, &err);
    cvg_buf_cleanup(&out);
    cvg_buf_cleanup(&text);
    cvg_vars_cleanup(&vars);
    cvg_params_cleanup(&params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    json_t *doc = json_incref(fixed_doc);
    cvg_err_t err;
    cvg_err_clear(&err);
    if (nul != NULL) {
        /* the declarations, in a pipeline that is otherwise valid */
        json_t *decls = NULL;
        if (cvg_json_parse(text, (size_t)(nul - text), CVG_JSON_MAX_DEPTH, &decls, &err) != 0) {
            json_decref(doc);
            return 0;
        }
        json_decref(doc);
        doc = json_pack("{s:s, s:s, s:o, s:[{s:s, s:s}]}", "pipeline_id", "fuzz_params",
                        "description", "declared by the input", "parameters", decls, "steps",
                        "step_id", "s", "ps_type", "gcp.bq_etl");
        size -= (size_t)(nul - text) + 1;
        text = nul + 1;
    }
    if (doc == NULL)
        return 0;
    cvg_pipeline_t p;
    cvg_errlist_reset(errs);
    if (cvg_pipeline_parse(doc, "fuzz/params", &p, errs, &err) == 0) {
        json_t *body = NULL;
        if (cvg_json_parse(text, size, CVG_JSON_MAX_DEPTH, &body, &err) == 0 &&
            json_is_object(body)) {
            json_t *accepted = gateway_check(&p, body);
            if (accepted != NULL)
                worker_side(&p, accepted);
            json_decref(accepted);
        }
        json_decref(body);
    }
    cvg_pipeline_cleanup(&p);
    json_decref(doc);
    return 0;
}
