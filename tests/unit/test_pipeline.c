/*
 * Pipeline configs: the shipped bootstrap config is valid; structural
 * mistakes, including the originals' classic ones, are all reported at
 * once with exact field paths and hints.
 */
#include "common/buf.h"
#include "common/fs.h"
#include "common/pipeline.h"
#include "common/providers.h"
#include "common/str.h"
#include "common/utf8.h"
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
    /* the path a config takes everywhere: root, steps and processors */
    cvg_pipeline_t p;
    cvg_config_t cfg = {0};
    snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", source_dir());
    snprintf(cfg.config_dir, sizeof(cfg.config_dir), "%s/configs", source_dir());
    cvg_providers_t providers;
    CU_ASSERT_EQUAL_FATAL(cvg_providers_load(cfg.config_dir, &providers, &err), 0);
    wrk_env_t env = {.cfg = &cfg, .setup_allowed = false, .providers = &providers};
    if (wrk_runner_prepare(&env, doc, "test/p", &p, errs, &err, NULL) == 0)
        cvg_pipeline_cleanup(&p);
    json_decref(doc);
    cvg_providers_cleanup(&providers);
    return (int)errs->n;
}

static size_t count(const cvg_errlist_t *errs, const char *fragment)
{
    size_t n = 0;
    for (size_t i = 0; i < errs->n; i++)
        n += strstr(errs->items[i].message, fragment) != NULL;
    return n;
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
    CU_ASSERT(has(errs, "steps[1].step_id: duplicate step_id 'a' (steps[0] has it)"));
    CU_ASSERT(has(errs, "steps[1].retry_policy.max_retries: must be an integer from 0 to 10"));
    /* three steps of one id: one error for each step after the first */
    cvg_errlist_t *dup = calloc(1, sizeof(*dup));
    check("pipeline_id: p\ndescription: d\nsteps:\n"
          "  - {step_id: a, ps_type: setup.initial}\n  - {step_id: a, ps_type: setup.initial}\n"
          "  - {step_id: a, ps_type: setup.initial}\n",
          dup);
    CU_ASSERT_EQUAL(count(dup, "duplicate step_id"), 2);
    CU_ASSERT(has(dup, "steps[2].step_id: duplicate step_id 'a' (steps[0] has it)"));
    free(dup);
    /* the fields kept for scheduling, and a step's description, have a shape */
    cvg_errlist_t *shape = calloc(1, sizeof(*shape));
    check("pipeline_id: p\ndescription: d\nschedule: [[1]]\ntags: [a, [b]]\nversion: {}\n"
          "steps:\n  - {step_id: a, ps_type: setup.initial, description: [x]}\n",
          shape);
    CU_ASSERT(has(shape, "schedule: expected a cron text or a mapping"));
    CU_ASSERT(has(shape, "tags: expected a list of at most 50 strings"));
    CU_ASSERT(has(shape, "version: expected a string or an integer"));
    CU_ASSERT(has(shape, "steps[0].description: expected a string"));
    free(shape);
    check("pipeline_id: p\ndescription: d\nsteps: []\n", errs);
    CU_ASSERT(has(errs, "steps: expected a non-empty list"));
    check("pipeline_id: p\ndescription: d\nsteps:\n  - step_id: a\n    ps_type: no.such\n", errs);
    CU_ASSERT(has(errs, "steps[0].ps_type: unknown processor 'no.such'"));
    check("pipeline_id: bad id\ndescription: d\nsteps:\n  - step_id: a\n    ps_type: x\n", errs);
    CU_ASSERT(has(errs, "pipeline_id: 'bad id' must be letters, digits and _"));
    free(errs);
}

/* The four classic mistakes at once, in a copy of the shipped cost
 * pipeline: the root's and the processors' errors come together, each
 * once, with its path and hint. */
static void test_pipeline_root_and_step_errors_together(void)
{
    char file[1024];
    snprintf(file, sizeof(file), "%s/configs/gcp/cost/cost_billing.yml", source_dir());
    char *yaml = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(cvg_fs_read_file(file, 1 << 20, &yaml, &len, NULL), 0);
    cvg_buf_t b;
    cvg_buf_init(&b, 1 << 20);
    /* a nested pipeline: block, then the file with id, dataset_id and
     * WRITE_APPEND in place of step_id, dataset_type and append */
    cvg_buf_puts(&b, "pipeline:\n  pipeline_id: x\n");
    const char *text = yaml;
    static const struct {
        const char *from, *to;
    } edits[] = {{"pipeline_id: gcp_cost_billing\n", ""},
                 {"  - step_id: load_billing_export", "  - id: load_billing_export"},
                 {"write_mode: truncate\n      partition: \"{date}\"\n      schema_template: "
                  "gcp_billing_export",
                  "write_mode: WRITE_APPEND\n      partition: \"{date}\"\n      schema_template: "
                  "gcp_billing_export"},
                 {"dataset_type: \"{tenant_id}\"\n      table: gcp_cost_billing",
                  "dataset_id: \"{tenant_id}\"\n      table: gcp_cost_billing"}};
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        const char *at = strstr(text, edits[i].from);
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
        cvg_buf_append(&b, text, (size_t)(at - text));
        cvg_buf_puts(&b, edits[i].to);
        text = at + strlen(edits[i].from);
    }
    cvg_buf_puts(&b, text);
    cvg_errlist_t *errs = cvg_errlist_new();
    int n = check(cvg_buf_cstr(&b), errs);
    CU_ASSERT_EQUAL(n, 7);
    CU_ASSERT(has(errs, "pipeline: unknown field; pipeline_id and description go at the root"));
    CU_ASSERT(has(errs, "pipeline_id: field required"));
    CU_ASSERT(has(errs, "steps[0].step_id: field required"));
    CU_ASSERT_EQUAL(count(errs, "steps[0].id: unknown field"), 1);
    CU_ASSERT(has(errs, "steps[0].id: unknown field; did you mean step_id?"));
    CU_ASSERT(has(errs, "steps[0].destination.write_mode: 'WRITE_APPEND' is not one of append, "
                        "truncate, write_empty; did you mean append?"));
    CU_ASSERT(has(errs, "steps[2].destination.dataset_id: unknown field; did you mean "
                        "dataset_type?"));
    CU_ASSERT(has(errs, "steps[2].destination.dataset_type: field required"));
    free(errs);
    cvg_buf_cleanup(&b);
    free(yaml);
}

/* An over-long name is shown cut and marked, never as if whole, and an
 * over-long value is reported once (not again under a cut copy of it). */
static void test_pipeline_long_names_marked_cut(void)
{
    char key[301], type[305];
    memset(key, 'k', 300);
    key[300] = '\0';
    snprintf(type, sizeof(type), "gcp.%0300d", 0);
    cvg_buf_t b;
    cvg_buf_init(&b, 1 << 16);
    cvg_buf_printf(&b,
                   "pipeline_id: long_names\ndescription: d\n%s: 1\nsteps:\n"
                   "  - step_id: a\n    ps_type: %s\n"
                   "  - step_id: b\n    ps_type: gcp.bq_etl\n    %s: 1\n"
                   "    source: {query: SELECT 1}\n"
                   "    destination: {bq_project_id: p, dataset_type: \"{tenant_id}\", table: t, "
                   "write_mode: append, %s: 1}\n",
                   key, type, key, key);
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    CU_ASSERT(check(b.data, errs) > 0);
    char shown[160];
    snprintf(shown, sizeof(shown), "%.64s...: unknown field", key);
    CU_ASSERT(has(errs, shown));
    snprintf(shown, sizeof(shown), "steps[1].%.64s...: unknown field", key);
    CU_ASSERT(has(errs, shown));
    snprintf(shown, sizeof(shown), "steps[1].destination.%.64s...: unknown field", key);
    CU_ASSERT(has(errs, shown));
    CU_ASSERT(has(errs, "steps[0].ps_type: longer than"));
    CU_ASSERT_EQUAL(count(errs, "steps[0].ps_type"), 1);
    free(errs);
    cvg_buf_cleanup(&b);
    /* the cut never splits a character */
    char out[128], wide[82] = "x"; /* then e acute, two bytes: byte 64 is inside one */
    for (int i = 0; i < 40; i++)
        memcpy(wide + 1 + 2 * i, "\xc3\xa9", 2);
    wide[81] = '\0';
    cvg_path_join(out, sizeof(out), "p", wide);
    CU_ASSERT_EQUAL(strlen(out), 2 + 63 + 3);
    CU_ASSERT_TRUE(cvg_utf8_valid(out, strlen(out)));
    cvg_path_join(out, sizeof(out), "", "short");
    CU_ASSERT_STRING_EQUAL(out, "short");
    /* little room left after a long base: cut to fit, still marked */
    char small[16];
    cvg_path_join(small, sizeof(small), "steps[0].a", "abcdefgh");
    CU_ASSERT_STRING_EQUAL(small, "steps[0].a.a...");
    /* no room for the key at all: the base is cut and marked instead */
    cvg_path_join(small, sizeof(small), "steps[0].abcdef", "xyzxyz");
    CU_ASSERT_STRING_EQUAL(small, "steps[0].abc...");
    cvg_path_join(small, sizeof(small), "steps[0].abcd", "xyzxyz");
    CU_ASSERT_STRING_EQUAL(small, "steps[0].abc...");
    /* a base that fits but leaves no room for the key: kept whole, marked,
     * and never read past its end (found by fuzzing; on the heap so the
     * sanitizer sees an overread) */
    char *base = strdup("steps[0].ab");
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    cvg_path_join(small, sizeof(small), base, "xyzxyz");
    CU_ASSERT_STRING_EQUAL(small, "steps[0].ab...");
    free(base);
}

/* SQL is read as the run will render it: a variable in part of a quoted
 * text fails validation (not the run), with the other steps' errors; a
 * variable in a comment is not a reference. */
static void test_pipeline_sql_checked_before_run(void)
{
    const char *yaml =
        "pipeline_id: sql_check\ndescription: d\nsteps:\n"
        "  - step_id: q\n    ps_type: gcp.bq_etl\n"
        "    source: {query: \"SELECT 'cost_{date}' AS a -- {nope}\"}\n"
        "    destination: {bq_project_id: p, dataset_type: \"{tenant_id}\", table: t, "
        "write_mode: append}\n"
        "  - step_id: dq\n    ps_type: dq.checks\n"
        "    target: {table: t, where: \"d = '{date}' -- {gone}\"}\n"
        "    checks:\n"
        "      - {name: s, type: sql_assertion, sql: \"SELECT count(*) FROM t WHERE "
        "a = 'x_{date}\"}\n";
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    CU_ASSERT_EQUAL(check(yaml, errs), 2);
    CU_ASSERT(has(errs, "steps[0].source.query: {date} inside quotes must be all of the quoted"));
    CU_ASSERT(has(errs, "steps[1].checks[0].sql: unterminated string literal"));
    CU_ASSERT_EQUAL(count(errs, "unknown variable"), 0);
    free(errs);
}

/* The setup steps' unknown fields are refused through the real path (their
 * processor schemas): every one, with its path, a long name cut and
 * marked. */
static void test_pipeline_setup_steps_unknown_fields(void)
{
    static const char *const types[] = {"setup.initial", "setup.dryrun",
                                        "setup.tenants.onboarding"};
    char key[101];
    memset(key, 'z', 100);
    key[100] = '\0';
    cvg_config_t cfg = {0};
    snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", source_dir());
    wrk_env_t env = {.cfg = &cfg, .setup_allowed = true};
    for (size_t i = 0; i < 3; i++) {
        json_t *doc = json_pack("{s:s, s:s, s:[{s:s, s:s, s:i, s:i}]}", "pipeline_id", "setup_t",
                                "description", "d", "steps", "step_id", "s", "ps_type", types[i],
                                "bogus", 1, key, 1);
        if (i == 0)
            json_object_set_new(json_array_get(json_object_get(doc, "steps"), 0), "dataset",
                                json_string("tenants"));
        cvg_pipeline_t p;
        cvg_errlist_t *errs = calloc(1, sizeof(*errs));
        cvg_err_t err;
        if (wrk_runner_prepare(&env, doc, "setup/t", &p, errs, &err, NULL) == 0)
            cvg_pipeline_cleanup(&p);
        CU_ASSERT(has(errs, "steps[0].bogus: unknown field"));
        char shown[120];
        snprintf(shown, sizeof(shown), "steps[0].%.64s...: unknown field", key);
        CU_ASSERT(has(errs, shown));
        CU_ASSERT_EQUAL(count(errs, "unknown field"), 2);
        free(errs);
        json_decref(doc);
    }
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
    {"test_pipeline_root_and_step_errors_together", test_pipeline_root_and_step_errors_together},
    {"test_pipeline_long_names_marked_cut", test_pipeline_long_names_marked_cut},
    {"test_pipeline_sql_checked_before_run", test_pipeline_sql_checked_before_run},
    {"test_pipeline_setup_steps_unknown_fields", test_pipeline_setup_steps_unknown_fields},
    {"test_pipeline_paths", test_pipeline_paths},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_pipeline = {"unit_pipeline", NULL, NULL, tests, 30};
