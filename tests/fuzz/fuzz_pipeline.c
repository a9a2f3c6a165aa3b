/*
 * Fuzz target: a pipeline config as a tenant writes it. The bytes go through
 * the safe YAML loader (common/yaml.c: no anchors or aliases, depth, node and
 * size caps), then the whole check a run request or `cvg-worker validate`
 * makes (wrk_runner_prepare: root fields, parameters, variables, each step's
 * common fields, its processor's schema from ps_templates/ and the
 * processor's own rules); a config that passes has every step resolved for a
 * run with its defaults (wrk_run_vars, cvg_psschema_resolve), as the runner
 * does before a step. Setup processors are allowed, so their checks run too.
 * The schemas and configs/system/providers.yml are read once, from
 * CVG_SOURCE_DIR (default "."), in LLVMFuzzerInitialize.
 */
#include "common/pipeline.h"
#include "common/providers.h"
#include "common/yaml.h"
#include "worker/registry.h"
#include "worker/runner.h"
#include "worker/runvars.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cvg_config_t cfg;
static cvg_providers_t providers;
static cvg_errlist_t *errs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *src = getenv("CVG_SOURCE_DIR");
    if (src == NULL)
        src = ".";
    snprintf(cfg.config_dir, sizeof(cfg.config_dir), "%s/configs", src);
    snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", src);
    snprintf(cfg.shared_import_dirs, sizeof(cfg.shared_import_dirs), "%s/configs/samples", src);
    cvg_err_t err;
    cvg_err_clear(&err);
    errs = cvg_errlist_new();
    if (errs == NULL || cvg_providers_load(cfg.config_dir, &providers, &err) != 0) {
        fprintf(stderr, "fuzz_pipeline: %s (set CVG_SOURCE_DIR to the source tree)\n", err.message);
        exit(1);
    }
    /* every schema now, so no input pays for reading one */
    for (size_t i = 0; wrk_registry_at(i) != NULL; i++) {
        if (wrk_registry_schema(wrk_registry_at(i), cfg.templates_dir, &err) == NULL) {
            fprintf(stderr, "fuzz_pipeline: %s\n", err.message);
            exit(1);
        }
    }
    return 0;
}

/* Each step as its processor would see it in a run with no parameters. */
static void resolve_steps(const wrk_env_t *env, const cvg_pipeline_t *p)
{
    cvg_params_t params = {0};
    wrk_run_t run = {.run_id = "0190a3c4-7b2e-7c1d-9e4f-0a1b2c3d4e5f",
                     .tenant_id = "acme-corp",
                     .trigger_type = "manual",
                     .triggered_by = "fuzz",
                     .attempt = 1,
                     .params = &params};
    cvg_vars_t vars = {0};
    cvg_err_t err;
    cvg_err_clear(&err);
    if (wrk_run_vars(env, &run, p, &vars, &err) == 0) {
        for (size_t i = 0; i < p->nsteps; i++) {
            const proc_def_t *def = wrk_registry_find(p->steps[i].ps_type);
            const cvg_psschema_t *s =
                def ? wrk_registry_schema(def, cfg.templates_dir, &err) : NULL;
            if (s == NULL)
                continue;
            char path[64];
            snprintf(path, sizeof(path), "steps[%zu]", i);
            cvg_errlist_reset(errs);
            json_decref(cvg_psschema_resolve(s, p->steps[i].config, &vars, path, errs));
        }
    }
    cvg_vars_cleanup(&vars);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_yaml_load_string((const char *)data, size, "fuzz.yml", &doc, &err) != 0)
        return 0;
    wrk_env_t env = {.cfg = &cfg, .setup_allowed = true, .providers = &providers};
    cvg_pipeline_t p;
    cvg_strlist_t settings = {0}; /* the provider settings the steps use */
    cvg_errlist_reset(errs);
    if (wrk_runner_prepare(&env, doc, "fuzz/pipeline", &p, errs, &err, &settings) == 0) {
        resolve_steps(&env, &p);
        cvg_pipeline_cleanup(&p);
    }
    cvg_strlist_cleanup(&settings);
    json_decref(doc);
    return 0;
}
