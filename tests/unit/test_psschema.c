/*
 * Pipeline validation against the processor schemas: every shipped config
 * and every registered processor's schema are valid; each kind of mistake
 * gets its exact message and path, with the originals' hints; resolving a
 * step fills defaults and expands variables, and checks names again.
 */
#include "common/providers.h"
#include "common/yaml.h"
#include "tests/tests.h"
#include "worker/registry.h"
#include "worker/runner.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static cvg_config_t cfg;
static cvg_providers_t providers;

static int setup(void)
{
    snprintf(cfg.config_dir, sizeof(cfg.config_dir), "%s/configs", source_dir());
    snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", source_dir());
    cvg_err_t err;
    return cvg_providers_load(cfg.config_dir, &providers, &err) == 0 ? 0 : 1;
}

static int teardown(void)
{
    cvg_providers_cleanup(&providers);
    wrk_registry_unload();
    return 0;
}

/* Validates YAML text as a pipeline of provider "test"; fills errs. */
static int check(const char *yaml, cvg_errlist_t *errs)
{
    memset(errs, 0, sizeof(*errs));
    json_t *doc = NULL;
    cvg_err_t err;
    if (cvg_yaml_load_string(yaml, strlen(yaml), "t.yml", &doc, &err) != 0)
        return -1;
    cvg_pipeline_t p;
    int rc = cvg_pipeline_from_json(doc, "test/x/y", &p, errs, &err);
    json_decref(doc);
    if (rc == 0) {
        wrk_env_t env = {.cfg = &cfg, .providers = &providers};
        wrk_runner_validate(&env, &p, errs);
        cvg_pipeline_cleanup(&p);
    }
    return (int)errs->n;
}

static bool has(const cvg_errlist_t *errs, const char *text)
{
    for (size_t i = 0; i < errs->n; i++) {
        if (strcmp(errs->items[i].message, text) == 0)
            return true;
    }
    printf("\n  no error '%s'; got:", text);
    for (size_t i = 0; i < errs->n; i++)
        printf("\n    %s", errs->items[i].message);
    return false;
}

static int shipped(const char *dir, const char *rel, cvg_errlist_t *errs, int *files)
{
    DIR *d = opendir(dir);
    int bad = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048], sub[512];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (e->d_type == DT_DIR) {
            /* plans, providers, e-mail policy and sample data are no pipelines */
            if (strcmp(sub, "system") != 0 && strcmp(sub, "samples") != 0)
                bad += shipped(path, sub, errs, files);
            continue;
        }
        size_t n = strlen(sub);
        if (n < 5 || strcmp(sub + n - 4, ".yml") != 0)
            continue;
        sub[n - 4] = '\0';
        (*files)++;
        cvg_pipeline_t p;
        cvg_err_t err;
        memset(errs, 0, sizeof(*errs));
        int rc = cvg_pipeline_load(cfg.config_dir, sub, &p, errs, &err);
        if (rc == 0) {
            wrk_env_t env = {.cfg = &cfg,
                             .providers = &providers,
                             .setup_allowed = strncmp(sub, "setup/", 6) == 0};
            wrk_runner_validate(&env, &p, errs);
            cvg_pipeline_cleanup(&p);
        }
        if (errs->n > 0) {
            printf("\n  %s: %s", sub, errs->items[0].message);
            bad++;
        }
    }
    if (d)
        closedir(d);
    return bad;
}

static void test_psschema_every_shipped_config_is_valid(void)
{
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    int files = 0;
    CU_ASSERT_EQUAL(shipped(cfg.config_dir, "", errs, &files), 0);
    CU_ASSERT(files >= 4); /* bootstrap, dry-run, onboarding, cost */
    free(errs);
}

static void test_psschema_every_processor_has_a_schema(void)
{
    size_t n = 0;
    for (const proc_def_t *def; (def = wrk_registry_at(n)) != NULL; n++) {
        cvg_err_t err;
        cvg_err_clear(&err);
        const cvg_psschema_t *s = wrk_registry_schema(def, cfg.templates_dir, &err);
        if (s == NULL)
            printf("\n  %s: %s", def->ps_type, err.message);
        CU_ASSERT_PTR_NOT_NULL(s);
    }
    CU_ASSERT(n >= 9);
}

static void test_psschema_mistakes_and_their_messages(void)
{
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    const char *head = "pipeline_id: p\ndescription: d\nsteps:\n  - step_id: s\n";
    char y[2048];
    /* the originals' destination mistakes, with their hints, and a query's
     * own mistake beside them (all at once) */
    snprintf(y, sizeof(y),
             "%s    ps_type: gcp.bq_etl\n    source: {query: \"SELECT 1 AS x; DROP TABLE t\"}\n"
             "    destination: {dataset_id: acme, table_id: t, write_disposition: WRITE_APPEND}\n",
             head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].source.query: must be one SELECT (or WITH ... SELECT) "
                        "statement; there is another statement after the ';'"));
    CU_ASSERT(
        has(errs, "steps[0].destination.dataset_id: unknown field; did you mean dataset_type?"));
    CU_ASSERT(has(errs, "steps[0].destination.table_id: unknown field; did you mean table?"));
    CU_ASSERT(has(
        errs, "steps[0].destination.write_disposition: unknown field; did you mean write_mode?"));
    CU_ASSERT(has(errs, "steps[0].destination.dataset_type: field required"));
    CU_ASSERT(has(errs, "steps[0].destination.table: field required"));
    /* enum values: explicit hints and case slips */
    snprintf(y, sizeof(y),
             "%s    ps_type: gcp.bq_etl\n    source: {query: SELECT 1 AS x}\n"
             "    destination: {dataset_type: a, table: t, write_mode: Truncate}\n",
             head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].destination.write_mode: 'Truncate' is not one of append, "
                        "truncate, write_empty; did you mean truncate?"));
    /* a config serves every tenant: a fixed dataset would fail every run
     * but one tenant's, so it is refused before any */
    CU_ASSERT(has(errs, "steps[0].destination.dataset_type: 'a' names one dataset, but a run "
                        "reaches only its tenant's: write \"{tenant_id}\""));
    snprintf(y, sizeof(y),
             "%s    ps_type: dq.checks\n    target: {dataset_type: acme, table: t}\n"
             "    checks: [{name: n, type: row_count, min: 1}]\n",
             head);
    check(y, errs);
    CU_ASSERT_EQUAL(errs->n, 1);
    CU_ASSERT(has(errs, "steps[0].target.dataset_type: 'acme' names one dataset, but a run "
                        "reaches only its tenant's: write \"{tenant_id}\""));
    /* a tab among the values is shown as \t, not as white space */
    snprintf(y, sizeof(y),
             "%s    ps_type: file.data_loader\n    source: {uri: 'file:///x.csv', delimiter: ':'}\n"
             "    destination: {dataset_type: a, table: t}\n",
             head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].source.delimiter: ':' is not one of ,, ;, \\t, |"));
    /* a close misspelling, types, names, missing blocks */
    snprintf(y, sizeof(y),
             "%s    ps_type: gcp.bq_etl\n    source: {query: 42}\n"
             "    destinaton: {dataset_type: a, table: t}\n",
             head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].source.query: expected a string"));
    CU_ASSERT(has(errs, "steps[0].destinaton: unknown field; did you mean destination?"));
    CU_ASSERT(has(errs, "steps[0].destination: field required"));
    snprintf(y, sizeof(y),
             "%s    ps_type: gcp.bq_etl\n    source: {query: SELECT 1 AS x}\n"
             "    destination: {dataset_type: a, table: \"bad name\", table_config: "
             "{clustering_fields: [a, 7]}}\n",
             head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].destination.table: 'bad name' is not an identifier (letters, "
                        "digits and _, not starting with a digit)"));
    CU_ASSERT(has(errs, "steps[0].destination.table_config.clustering_fields[1]: expected a "
                        "string"));
    /* variables: unknown ones are named, settings and parameters are known */
    snprintf(
        y, sizeof(y),
        "pipeline_id: p\ndescription: d\nparameters:\n  region: {type: string, required: true}\n"
        "steps:\n  - step_id: s\n    ps_type: file.data_loader\n"
        "    source: {uri: \"{billing_export_uri}\"}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: \"t_{region}_{nope}\"}\n");
    check(y, errs);
    CU_ASSERT_EQUAL(errs->n, 1);
    CU_ASSERT(has(errs, "steps[0].destination.table: unknown variable {nope} (not a built-in, a "
                        "declared parameter, a variable of the pipeline or a provider setting)"));
    /* a placeholder does not hide a variable used after it */
    snprintf(y, sizeof(y),
             "%s    ps_type: gcp.bq_etl\n    source: {query: \"SELECT ? AS a, {nope} AS b\"}\n"
             "    destination: {dataset_type: \"{tenant_id}\", table: t}\n",
             head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].source.query: write variables as {name}; ? placeholders are "
                        "reserved"));
    CU_ASSERT(has(errs, "steps[0].source.query: unknown variable {nope} (not a built-in, a "
                        "declared parameter, a variable of the pipeline or a provider setting)"));
    /* every mistake of the SQL, each its own error */
    snprintf(y, sizeof(y),
             "%s    ps_type: gcp.bq_etl\n"
             "    source: {query: \"SELECT $1 AS a, '{date}x' AS b, {nope} AS c\"}\n"
             "    destination: {dataset_type: \"{tenant_id}\", table: t}\n",
             head);
    check(y, errs);
    CU_ASSERT_EQUAL(errs->n, 3);
    CU_ASSERT(has(errs, "steps[0].source.query: write variables as {name}; $ placeholders are "
                        "reserved"));
    CU_ASSERT(has(errs, "steps[0].source.query: {date} inside quotes must be all of the quoted "
                        "text ('{date}'), not part of it"));
    CU_ASSERT(has(errs, "steps[0].source.query: unknown variable {nope} (not a built-in, a "
                        "declared parameter, a variable of the pipeline or a provider setting)"));
    /* schemes of URIs, cross-field rules of a processor */
    snprintf(
        y, sizeof(y),
        "%s    ps_type: file.data_loader\n    source: {uri: \"https://x/y.csv\"}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: t, partition: \"2026-11-03\"}\n",
        head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].source.uri: must be a URI starting with file://"));
    snprintf(y, sizeof(y),
             "%s    ps_type: gcp.bq_etl\n    source: {query: SELECT 1 AS x}\n"
             "    destination: {dataset_type: \"{tenant_id}\", table: t, partition: \"{date}\"}\n",
             head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].destination.partition: needs write_mode: truncate"));
    CU_ASSERT(has(errs, "steps[0].destination.partition: needs table_config.time_partitioning."
                        "field to match it against"));
    /* bounds are shown as numbers are written */
    snprintf(y, sizeof(y),
             "%s    ps_type: file.data_loader\n    max_bad_rows: 2000000000\n"
             "    source: {uri: \"file:///x.csv\"}\n"
             "    destination: {dataset_type: \"{tenant_id}\", table: t}\n",
             head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].max_bad_rows: must be from 0 to 1000000000"));
    /* a query step's SQL is one SELECT */
    snprintf(y, sizeof(y),
             "%s    ps_type: gcp.bq_etl\n    source: {query: \"SELECT 1 AS a; DROP TABLE t\"}\n"
             "    destination: {dataset_type: \"{tenant_id}\", table: t}\n",
             head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].source.query: must be one SELECT (or WITH ... SELECT) "
                        "statement; there is another statement after the ';'"));
    snprintf(y, sizeof(y),
             "%s    ps_type: gcp.bq_etl\n    source: {query: \"DELETE FROM {tenant_id}.t\"}\n"
             "    destination: {dataset_type: \"{tenant_id}\", table: t}\n",
             head);
    check(y, errs);
    CU_ASSERT(has(errs, "steps[0].source.query: must be one SELECT (or WITH ... SELECT) "
                        "statement; it starts with DELETE"));
    /* parameters and pipeline variables */
    check("pipeline_id: p\ndescription: d\nparameters:\n  tenant_id: {type: string}\n"
          "  n: {type: int, min: 1, max: 9, default: 12}\n  k: {type: colour}\n"
          "  since: {type: timestamp}\n"
          "variables:\n  v: \"{undeclared}\"\n"
          "steps:\n  - step_id: s\n    ps_type: gcp.bq_etl\n"
          "    source: {query: SELECT 1 AS x}\n    destination: {dataset_type: a, table: t}\n",
          errs);
    CU_ASSERT(has(errs, "parameters.tenant_id: tenant_id is a built-in variable and cannot be a "
                        "parameter"));
    CU_ASSERT(has(errs, "parameters.n.default: must be an integer from 1 to 9"));
    CU_ASSERT(has(errs, "parameters.since: give it a default or make it required (required: "
                        "true); a run without it could not resolve {since}"));
    CU_ASSERT(has(errs, "parameters.k.type: unknown type; one of date, timestamp, string, int, "
                        "identifier, enum"));
    CU_ASSERT(has(errs, "variables.v: unknown variable {undeclared}; a variable may use built-ins "
                        "and parameters only"));
    free(errs);
}

static void test_psschema_resolve_fills_and_expands(void)
{
    const proc_def_t *def = wrk_registry_find("gcp.bq_etl");
    cvg_err_t err;
    const cvg_psschema_t *s = wrk_registry_schema(def, cfg.templates_dir, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    json_t *step = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s}}", "step_id", "x", "ps_type",
                             "gcp.bq_etl", "source", "query", "SELECT {date} AS d", "destination",
                             "dataset_type", "{tenant_id}", "table", "daily_{suffix}");
    cvg_vars_t v = {0};
    cvg_vars_set(&v, "tenant_id", "acme", CVG_VAR_BUILTIN, false);
    cvg_vars_set(&v, "project_id", "local", CVG_VAR_BUILTIN, false);
    cvg_vars_set(&v, "date", "2026-11-03", CVG_VAR_BUILTIN, false);
    cvg_vars_set(&v, "suffix", "eu", CVG_VAR_PARAM, false);
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    json_t *r = cvg_psschema_resolve(s, step, &v, "steps[0]", errs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    json_t *dest = json_object_get(r, "destination");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(dest, "dataset_type")), "acme");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(dest, "table")), "daily_eu");
    /* defaults from the schema (through its include of common/destination) */
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(dest, "write_mode")), "append");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(dest, "bq_project_id")), "local");
    /* SQL is left for the processor to bind */
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(r, "source"), "query")),
        "SELECT {date} AS d");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "step_id")), "x");
    json_decref(r);
    /* a value that makes a name no name is refused after expansion */
    cvg_vars_set(&v, "suffix", "eu; DROP TABLE t", CVG_VAR_PARAM, false);
    memset(errs, 0, sizeof(*errs));
    CU_ASSERT_PTR_NULL(cvg_psschema_resolve(s, step, &v, "steps[0]", errs));
    CU_ASSERT_STRING_EQUAL(errs->items[0].message,
                           "steps[0].destination.table: 'daily_eu; DROP TABLE t' (after "
                           "variables) is not an identifier");
    free(errs);
    cvg_vars_cleanup(&v);
    json_decref(step);
}

static CU_TestInfo tests[] = {
    {"test_psschema_every_shipped_config_is_valid", test_psschema_every_shipped_config_is_valid},
    {"test_psschema_every_processor_has_a_schema", test_psschema_every_processor_has_a_schema},
    {"test_psschema_mistakes_and_their_messages", test_psschema_mistakes_and_their_messages},
    {"test_psschema_resolve_fills_and_expands", test_psschema_resolve_fills_and_expands},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_psschema = {"unit_psschema", setup, teardown, tests, 60};
