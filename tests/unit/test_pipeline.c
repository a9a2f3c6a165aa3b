/*
 * Pipeline configs: the shipped bootstrap config is valid; structural
 * mistakes, including the originals' classic ones, are all reported at
 * once with exact field paths and hints.
 */
#include "common/pipeline.h"
#include "common/yaml.h"
#include "tests/tests.h"
#include "worker/runner.h"

#include <stdlib.h>
#include <string.h>

static int check(const char *yaml, cvg_errlist_t *errs)
{
    json_t *doc = NULL;
    cvg_err_t err;
    memset(errs, 0, sizeof(*errs));
    if (cvg_yaml_load_string(yaml, strlen(yaml), "t.yml", &doc, &err) != 0)
        return -1;
    cvg_pipeline_t p;
    int rc = cvg_pipeline_from_json(doc, "test/p", &p, errs, &err);
    json_decref(doc);
    if (rc == 0) {
        cvg_config_t cfg = {0};
        snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", source_dir());
        wrk_env_t env = {.cfg = &cfg, .setup_allowed = false};
        wrk_runner_validate(&env, &p, errs);
        cvg_pipeline_cleanup(&p);
    }
    return (int)errs->n;
}

static bool has(const cvg_errlist_t *errs, const char *fragment)
{
    for (size_t i = 0; i < errs->n; i++) {
        if (strstr(errs->items[i].message, fragment))
            return true;
    }
    printf("\n  no error containing '%s'; got:", fragment);
    for (size_t i = 0; i < errs->n; i++)
        printf("\n    %s", errs->items[i].message);
    return false;
}

static void test_pipeline_bootstrap_config_is_valid(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/configs", source_dir());
    cvg_pipeline_t p;
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_pipeline_load(dir, "setup/bootstrap_system", &p, errs, &err), 0);
    CU_ASSERT_STRING_EQUAL(p.pipeline_id, "bootstrap_system");
    CU_ASSERT_EQUAL(p.nsteps, 1);
    CU_ASSERT_STRING_EQUAL(p.steps[0].ps_type, "setup.initial");
    cvg_config_t cfg = {0};
    snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", source_dir());
    wrk_env_t env = {.cfg = &cfg, .setup_allowed = true};
    CU_ASSERT_EQUAL(wrk_runner_validate(&env, &p, errs), 0);
    /* A worker may not run it: setup processors run in the gateway. */
    env.setup_allowed = false;
    CU_ASSERT_EQUAL(wrk_runner_validate(&env, &p, errs), 1);
    CU_ASSERT(has(errs, "runs only in setup pipelines"));
    cvg_pipeline_cleanup(&p);
    CU_ASSERT_EQUAL(cvg_pipeline_load(dir, "setup/nope", &p, errs, &err), CVG_ENOTFOUND);
    CU_ASSERT_EQUAL(cvg_pipeline_load(dir, "../etc/passwd", &p, errs, &err), CVG_EINVAL);
    free(errs);
}

static void test_pipeline_classic_mistakes_get_hints(void)
{
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    check("pipeline:\n  id: x\n  name: y\nsteps:\n  - id: s1\n    type: gcp.bq_etl\n", errs);
    CU_ASSERT(has(errs, "pipeline: unknown field; pipeline_id and description go at the root"));
    CU_ASSERT(has(errs, "pipeline_id: field required"));
    CU_ASSERT(has(errs, "description: field required"));
    CU_ASSERT(has(errs, "steps[0].id: unknown field; did you mean step_id?"));
    CU_ASSERT(has(errs, "steps[0].type: unknown field; did you mean ps_type?"));
    CU_ASSERT(has(errs, "steps[0].step_id: field required"));
    CU_ASSERT(has(errs, "steps[0].ps_type: field required"));
    free(errs);
}

static void test_pipeline_reports_every_error(void)
{
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    int n =
        check("pipeline_id: p\ndescription: d\nsteps:\n"
              "  - step_id: a\n    ps_type: no.such\n    trigger: sometimes\n"
              "    timeout_minutes: 0\n"
              "  - step_id: a\n    ps_type: setup.initial\n    retry_policy: {max_retries: 99}\n",
              errs);
    CU_ASSERT(n >= 4);
    CU_ASSERT(has(errs, "steps[0].trigger: must be one of on_success, on_failure, always"));
    CU_ASSERT(has(errs, "steps[0].timeout_minutes: must be a number of minutes from 0.01 to 1440"));
    CU_ASSERT(has(errs, "steps[1].step_id: duplicate step_id 'a'"));
    CU_ASSERT(has(errs, "steps[1].retry_policy.max_retries: must be an integer from 0 to 10"));
    check("pipeline_id: p\ndescription: d\nsteps: []\n", errs);
    CU_ASSERT(has(errs, "steps: expected a non-empty list"));
    check("pipeline_id: p\ndescription: d\nsteps:\n  - step_id: a\n    ps_type: no.such\n", errs);
    CU_ASSERT(has(errs, "steps[0].ps_type: unknown processor 'no.such'"));
    check("pipeline_id: bad id\ndescription: d\nsteps:\n  - step_id: a\n    ps_type: x\n", errs);
    CU_ASSERT(has(errs, "pipeline_id: 'bad id' must be letters, digits and _"));
    free(errs);
}

static void test_pipeline_paths(void)
{
    CU_ASSERT_TRUE(cvg_pipeline_path_valid("gcp/cost/cost_billing"));
    CU_ASSERT_TRUE(cvg_pipeline_path_valid("setup/bootstrap_system"));
    CU_ASSERT_FALSE(cvg_pipeline_path_valid("gcp/../cost"));
    CU_ASSERT_FALSE(cvg_pipeline_path_valid("/gcp/cost"));
    CU_ASSERT_FALSE(cvg_pipeline_path_valid("gcp//cost"));
    CU_ASSERT_FALSE(cvg_pipeline_path_valid("GCP/cost"));
    CU_ASSERT_FALSE(cvg_pipeline_path_valid("a/b/c/d/e"));
    CU_ASSERT_FALSE(cvg_pipeline_path_valid(""));
}

static CU_TestInfo tests[] = {
    {"test_pipeline_bootstrap_config_is_valid", test_pipeline_bootstrap_config_is_valid},
    {"test_pipeline_classic_mistakes_get_hints", test_pipeline_classic_mistakes_get_hints},
    {"test_pipeline_reports_every_error", test_pipeline_reports_every_error},
    {"test_pipeline_paths", test_pipeline_paths},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_pipeline = {"unit_pipeline", NULL, NULL, tests, 30};
