/*
 * Loading and transforming through the runner, on a real SQLite
 * warehouse: the shipped cost pipeline on the sample export (the day's
 * totals match configs/samples/README.md; a re-run replaces the day),
 * truncate-and-load keeping the old rows on failure, bad rows and the
 * reject threshold, files outside the tenant's directories, a run
 * confined to its dataset, step timeouts and cancellation.
 */
#include "common/time.h"
#include "common/fs.h"
#include "common/providers.h"
#include "common/yaml.h"
#include "tests/tests.h"
#include "worker/registry.h"
#include "worker/runner.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;
static cvg_config_t cfg;
static cvg_providers_t providers;
static cvg_wh_t *wh;

static int run_setup_pipeline(const char *path)
{
    cvg_pipeline_t p;
    cvg_err_t err;
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    int rc = cvg_pipeline_load(cfg.config_dir, path, &p, errs, &err);
    free(errs);
    if (rc != 0)
        return rc;
    wrk_env_t env = {.wh = wh, .cfg = &cfg, .worker_id = "test", .setup_allowed = true};
    wrk_run_t run = {.run_id = "r0", .tenant_id = "system", .attempt = 1};
    wrk_outcome_t out;
    rc = wrk_runner_run(&env, &run, &p, &out);
    if (rc == 0 && strcmp(out.status, "SUCCEEDED") != 0)
        rc = -1;
    wrk_outcome_cleanup(&out);
    cvg_pipeline_cleanup(&p);
    return rc;
}

static int setup(void)
{
    dir = tmpdir_new("etl");
    if (dir == NULL)
        return 1;
    snprintf(cfg.config_dir, sizeof(cfg.config_dir), "%s/configs", source_dir());
    /* a copy of ps_templates, so a test may add a table schema */
    snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", dir);
    char src[1100];
    snprintf(src, sizeof(src), "%s/ps_templates", source_dir());
    if (tree_copy(src, cfg.templates_dir) != 0)
        return 1;
    snprintf(cfg.shared_import_dirs, sizeof(cfg.shared_import_dirs), "%s/configs/samples",
             source_dir());
    snprintf(cfg.import_dir, sizeof(cfg.import_dir), "%s/imports", dir);
    snprintf(cfg.project_id, sizeof(cfg.project_id), "local");
    char url[700], imports[700];
    snprintf(url, sizeof(url), "sqlite://%s/wh", dir);
    snprintf(imports, sizeof(imports), "%s/imports/acme", dir);
    cvg_err_t err;
    if (cvg_wh_open(url, &wh, &err) != 0 || cvg_providers_load(cfg.config_dir, &providers, &err) ||
        cvg_fs_mkdir_p(imports, 0700, &err) != 0)
        return 1;
    cvg_wh_set_lock_wait(wh, -1); /* as a worker's connection */
    if (run_setup_pipeline("setup/bootstrap_system") != 0)
        return 1;
    if (cvg_wh_dataset_create(wh, "acme", &err) != 0)
        return 1;
    char settings[1200];
    snprintf(settings, sizeof(settings),
             "{\"billing_export_uri\": \"file://%s/configs/samples/gcp_billing_export.csv\"}",
             source_dir());
    cvg_val_t v[2] = {cvg_v_text("acme"), cvg_v_text(settings)};
    return cvg_wh_exec(wh,
                       "INSERT INTO tenants.tenant_provider_configs (tenant_id, provider, "
                       "settings, created_at, updated_at) VALUES ($1, 'gcp', $2, "
                       "'2026-11-25T00:00:00.000Z', '2026-11-25T00:00:00.000Z')",
                       v, 2, NULL, NULL, NULL, &err) != 0;
}

static int teardown(void)
{
    cvg_wh_close(&wh);
    cvg_providers_cleanup(&providers);
    wrk_registry_unload();
    tmpdir_remove(&dir);
    return 0;
}

/* Runs a pipeline (a file under configs/ or YAML text) for tenant acme. */
static void run_pipeline(const char *path, const char *yaml, const char *date,
                         volatile sig_atomic_t *cancel, wrk_outcome_t *out)
{
    cvg_pipeline_t p;
    cvg_err_t err;
    cvg_errlist_t *errs = calloc(1, sizeof(*errs));
    int rc;
    if (yaml) {
        json_t *doc = NULL;
        rc = cvg_yaml_load_string(yaml, strlen(yaml), "test.yml", &doc, &err);
        if (rc == 0)
            rc = cvg_pipeline_from_json(doc, "test/etl/pipeline", &p, errs, &err);
        json_decref(doc);
    } else {
        rc = cvg_pipeline_load(cfg.config_dir, path, &p, errs, &err);
    }
    wrk_env_t env = {
        .wh = wh, .cfg = &cfg, .worker_id = "test", .providers = &providers, .cancel = cancel};
    if (rc == 0 && wrk_runner_validate(&env, &p, errs) > 0)
        rc = CVG_EINVAL;
    if (rc != 0)
        printf("\n  pipeline: %s\n", errs->n ? errs->items[0].message : err.message);
    free(errs);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    cvg_params_t params = {0};
    if (date)
        cvg_params_add(&params, "date", date);
    wrk_run_t run = {.run_id = "01a2-run", .tenant_id = "acme", .attempt = 1, .params = &params};
    CU_ASSERT_EQUAL(wrk_runner_run(&env, &run, &p, out), 0);
    cvg_params_cleanup(&params);
    cvg_pipeline_cleanup(&p);
}

static const char *step_field(const wrk_outcome_t *out, size_t i, const char *field)
{
    const char *s = json_string_value(json_object_get(json_array_get(out->steps, i), field));
    return s ? s : "";
}

static json_t *step_result(const wrk_outcome_t *out, size_t i)
{
    return json_object_get(json_array_get(out->steps, i), "result");
}

static double real_of(const char *sql)
{
    cvg_err_t err;
    char text[64];
    cvg_wh_query_text(wh, sql, NULL, 0, text, sizeof(text), NULL, &err);
    return strtod(text, NULL);
}

static long long int_of(const char *sql)
{
    int64_t n = -1;
    cvg_err_t err;
    if (cvg_wh_query_int(wh, sql, NULL, 0, &n, NULL, &err) != 0)
        printf("\n  %s: %s\n", sql, err.message);
    return n;
}

static void test_etl_cost_pipeline_on_the_sample(void)
{
    wrk_outcome_t out;
    run_pipeline("gcp/cost/cost_billing", NULL, "2026-11-03", NULL, &out);
    if (strcmp(out.status, "SUCCEEDED") != 0)
        printf("\n  %s\n", out.error);
    CU_ASSERT_STRING_EQUAL_FATAL(out.status, "SUCCEEDED");
    /* the export is read whole, the day's rows staged and summed */
    json_t *load = step_result(&out, 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(load, "rows_read")), 3153);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(load, "rows_loaded")), 106);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(load, "rows_skipped")), 3153 - 106);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(load, "bad_rows")), 0);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.gcp_billing_export"), 106);
    CU_ASSERT_EQUAL(int_of("SELECT sum(source_rows) FROM acme.gcp_cost_billing WHERE usage_date = "
                           "'2026-11-03'"),
                    106);
    /* the figures of configs/samples/README.md for 2026-11-03 */
    CU_ASSERT_DOUBLE_EQUAL(real_of("SELECT printf('%.6f', sum(cost)) FROM acme.gcp_cost_billing"),
                           437.636821, 0.000001);
    CU_ASSERT_DOUBLE_EQUAL(
        real_of("SELECT printf('%.6f', sum(net_cost)) FROM acme.gcp_cost_billing"), 415.638497,
        0.000001);
    long long rows = int_of("SELECT count(*) FROM acme.gcp_cost_billing");
    CU_ASSERT(rows > 10);
    /* the table_config became indexes, and says so */
    CU_ASSERT_PTR_NOT_NULL(json_object_get(step_result(&out, 2), "table_config"));
    wrk_outcome_cleanup(&out);

    /* the same day again replaces it; another day adds to it */
    run_pipeline("gcp/cost/cost_billing", NULL, "2026-11-03", NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.gcp_cost_billing"), rows);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 2), "rows_replaced")),
                    rows);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 0), "rows_replaced")),
                    106);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.gcp_billing_export"), 106);
    wrk_outcome_cleanup(&out);
    run_pipeline("gcp/cost/cost_billing", NULL, "2026-11-17", NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(int_of("SELECT count(DISTINCT usage_date) FROM acme.gcp_cost_billing"), 2);
    /* the other day's staged rows stay: runs of two days do not clash */
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.gcp_billing_export WHERE "
                           "substr(usage_start_time, 1, 10) = '2026-11-03'"),
                    106);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 0), "rows_replaced")), 0);
    CU_ASSERT_DOUBLE_EQUAL(real_of("SELECT printf('%.6f', sum(cost)) FROM acme.gcp_cost_billing "
                                   "WHERE usage_date = '2026-11-17'"),
                           579.977790, 0.000001);
    wrk_outcome_cleanup(&out);
}

static int set_billing_export(const char *uri)
{
    char settings[1200];
    snprintf(settings, sizeof(settings), "{\"billing_export_uri\": \"%s\"}", uri);
    cvg_val_t v = cvg_v_text(settings);
    cvg_err_t err;
    return cvg_wh_exec(wh,
                       "UPDATE tenants.tenant_provider_configs SET settings = $1 WHERE tenant_id = "
                       "'acme' AND provider = 'gcp'",
                       &v, 1, NULL, NULL, NULL, &err);
}

/* An export without the day (another month's file): the run stops at the
 * staged-day check and the day's costs stay as they were, not emptied. */
static void test_etl_cost_pipeline_keeps_a_day_missing_from_the_export(void)
{
    long long before = int_of("SELECT count(*) FROM acme.gcp_cost_billing WHERE usage_date = "
                              "'2026-11-03'");
    CU_ASSERT(before > 10);
    char file[1024];
    snprintf(file, sizeof(file), "%s/imports/acme/december.csv", dir);
    char *sample = NULL;
    char path[1100];
    snprintf(path, sizeof(path), "%s/configs/samples/gcp_billing_export.csv", source_dir());
    CU_ASSERT_EQUAL_FATAL(cvg_fs_read_file(path, 1 << 24, &sample, NULL, NULL), 0);
    sample[strcspn(sample, "\n") + 1] = '\0'; /* the header line only */
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_fs_write_file(file, sample, strlen(sample), 0600, &err), 0);
    free(sample);
    char uri[1100];
    snprintf(uri, sizeof(uri), "file://%s", file);
    CU_ASSERT_EQUAL_FATAL(set_billing_export(uri), 0);
    wrk_outcome_t out;
    run_pipeline("gcp/cost/cost_billing", NULL, "2026-11-03", NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 1, "step_id"), "check_staged_day");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 1, "status"), "FAILED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 2, "status"), "SKIPPED");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.gcp_cost_billing WHERE usage_date = "
                           "'2026-11-03'"),
                    before);
    wrk_outcome_cleanup(&out);
    snprintf(uri, sizeof(uri), "file://%s/configs/samples/gcp_billing_export.csv", source_dir());
    CU_ASSERT_EQUAL(set_billing_export(uri), 0);
}

static void test_etl_truncate_keeps_old_rows_on_failure(void)
{
    long long before = int_of("SELECT count(*) FROM acme.gcp_cost_billing");
    CU_ASSERT(before > 0);
    /* cost is REQUIRED: the insert fails after the delete ran */
    const char *yaml = "pipeline_id: broken\ndescription: d\nsteps:\n"
                       "  - step_id: s\n    ps_type: gcp.bq_etl\n"
                       "    source:\n      query: SELECT substr(usage_start_time, 1, 10) AS "
                       "usage_date, billing_account_id, service_id, service_description, "
                       "sku_id, sku_description, currency, NULL AS cost, 0 AS credits, 0 AS "
                       "net_cost, 1 AS source_rows, 'x' AS pipeline_logging_id FROM "
                       "{tenant_id}.gcp_billing_export\n"
                       "    destination:\n      dataset_type: \"{tenant_id}\"\n"
                       "      table: gcp_cost_billing\n      write_mode: truncate\n";
    wrk_outcome_t out;
    run_pipeline(NULL, yaml, NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_PTR_NOT_NULL(strstr(step_field(&out, 0, "error"), "NOT NULL"));
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.gcp_cost_billing"), before);
    wrk_outcome_cleanup(&out);
}

/* The step failed with this error before acme.<table> was made. */
static void assert_refused_before_table(const wrk_outcome_t *out, const char *table,
                                        const char *error)
{
    CU_ASSERT_STRING_EQUAL(out->status, "FAILED");
    CU_ASSERT_STRING_EQUAL(step_field(out, 0, "error"), error);
    bool exists = true;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_wh_table_exists(wh, "acme", table, &exists, &err), 0);
    CU_ASSERT_FALSE(exists);
}

/* A query step that replaces partition 2026-11-02 of acme.<table>. */
static void run_partition_query(const char *table, const char *query, wrk_outcome_t *out)
{
    char y[2048];
    snprintf(y, sizeof(y),
             "pipeline_id: q\ndescription: d\nsteps:\n"
             "  - step_id: q\n    ps_type: gcp.bq_etl\n"
             "    source:\n      query: \"%s\"\n"
             "    destination:\n      dataset_type: \"{tenant_id}\"\n      table: %s\n"
             "      write_mode: truncate\n      partition: \"2026-11-02\"\n"
             "      table_config: {time_partitioning: {field: day, type: DAY}}\n",
             query, table);
    run_pipeline(NULL, y, NULL, NULL, out);
}

/* A query that replaces a partition must return that partition's rows
 * only, as BigQuery requires: rows of another day would be written again
 * by every re-run. Refused, and nothing changes. */
static void test_etl_partition_query_keeps_to_its_partition(void)
{
    wrk_outcome_t out;
    run_partition_query("part_days", "SELECT '2026-11-02' AS day, 2.0 AS cost", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.part_days"), 1);
    wrk_outcome_cleanup(&out);
    run_partition_query("part_days",
                        "SELECT '2026-11-01' AS day, 1.0 AS cost UNION ALL SELECT "
                        "'2026-11-02T10:00:00Z', 3.0 UNION ALL SELECT NULL, 4.0",
                        &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "error"),
                           "the query returned 2 of its 3 rows outside partition 2026-11-02 (by "
                           "day, compared as text: a time as ISO 8601 UTC, e.g. "
                           "strftime('%Y-%m-%dT%H:%M:%fZ', ...)): a partition replace writes that "
                           "partition's rows only; nothing was changed");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.part_days"), 1);
    CU_ASSERT_DOUBLE_EQUAL(real_of("SELECT printf('%.1f', cost) FROM acme.part_days"), 2.0, 1e-9);
    wrk_outcome_cleanup(&out);
    run_partition_query("part_days", "SELECT 5.0 AS cost", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "error"),
                           "the query has no column day, by which its rows go to partition "
                           "2026-11-02");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.part_days"), 1);
    wrk_outcome_cleanup(&out);
    /* nor is a table made from such a query's columns */
    run_partition_query("part_new", "SELECT 5.0 AS cost", &out);
    assert_refused_before_table(&out, "part_new",
                                "the query has no column day, by which its rows go to partition "
                                "2026-11-02");
    wrk_outcome_cleanup(&out);
    /* appended (no partition) to the existing table, which has the column:
     * the row takes NULL there */
    run_pipeline(NULL,
                 "pipeline_id: q\ndescription: d\nsteps:\n"
                 "  - step_id: q\n    ps_type: gcp.bq_etl\n"
                 "    source: {query: \"SELECT 7.0 AS cost\"}\n"
                 "    destination: {dataset_type: \"{tenant_id}\", table: part_days, table_config: "
                 "{time_partitioning: {field: day}}}\n",
                 NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.part_days WHERE day IS NULL"), 1);
    wrk_outcome_cleanup(&out);
}

static void write_file(const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/imports/acme/%s", dir, name);
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_fs_write_file(path, text, strlen(text), 0600, &err), 0);
}

static char *loader_yaml(const char *file, int max_bad)
{
    char *y = malloc(2048);
    snprintf(y, 2048,
             "pipeline_id: load\ndescription: d\nsteps:\n"
             "  - step_id: load\n    ps_type: file.data_loader\n"
             "    max_bad_rows: %d\n"
             "    source:\n      uri: file://%s/imports/acme/%s\n"
             "    destination:\n      dataset_type: \"{tenant_id}\"\n      table: spend\n"
             "      write_mode: truncate\n      schema_template: spend\n",
             max_bad, dir, file);
    return y;
}

/* A file.data_loader step of file into acme.<table>, with more step
 * fields (one line, e.g. "max_bad_rows: 2") and destination lines (each
 * indented 6 spaces and ended by a newline). */
static void run_load(const char *file, const char *table, const char *step_more,
                     const char *dest_more, wrk_outcome_t *out)
{
    char y[2048];
    snprintf(y, sizeof(y),
             "pipeline_id: load\ndescription: d\nsteps:\n"
             "  - step_id: load\n    ps_type: file.data_loader\n    %s\n"
             "    source:\n      uri: file://%s/imports/acme/%s\n"
             "    destination:\n      dataset_type: \"{tenant_id}\"\n      table: %s\n%s",
             step_more, dir, file, table, dest_more);
    run_pipeline(NULL, y, NULL, NULL, out);
}

/* JSON Lines objects may each leave out columns (NULL), into a typed
 * table or one that exists; an empty file truncates as a header-only CSV
 * does, and into no table makes none. */
static void test_etl_sparse_jsonl_and_empty_files(void)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/file/data_loader/schemas/sparse.json", cfg.templates_dir);
    const char *schema = "[{\"name\":\"day\",\"type\":\"DATE\",\"mode\":\"REQUIRED\"},"
                         "{\"name\":\"service\",\"type\":\"STRING\"},"
                         "{\"name\":\"cost\",\"type\":\"FLOAT64\"}]";
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_fs_write_file(path, schema, strlen(schema), 0644, &err), 0);
    write_file("sparse.jsonl", "{\"day\": \"2026-11-01\", \"cost\": 2.5}\n"
                               "{\"day\": \"2026-11-02\", \"service\": \"vm\", \"cost\": 1}\n"
                               "{\"service\": \"db\"}\n");
    wrk_outcome_t out;
    const char *typed = "      write_mode: truncate\n      schema_template: sparse\n";
    run_load("sparse.jsonl", "sparse", "max_bad_rows: 1", typed, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 0), "rows_loaded")), 2);
    /* the object without the required day is the bad row */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 0), "bad_rows")), 1);
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.sparse WHERE service IS NULL"), 1);
    /* a JSON number into a STRING column is written as it reads, in its
     * fewest digits (0.1, not 0.10000000000000001) */
    write_file("numbers.jsonl", "{\"day\": \"2026-11-03\", \"service\": 0.1, \"cost\": 0.1}\n"
                                "{\"day\": \"2026-11-04\", \"service\": 123456789.25}\n");
    run_load("numbers.jsonl", "sparse", "max_bad_rows: 0", typed, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.sparse WHERE service IN ('0.1', "
                           "'123456789.25') AND (cost = 0.1 OR cost IS NULL)"),
                    2);
    /* an object where a number belongs is quoted as it was written */
    write_file("object.jsonl", "{\"day\": \"2026-11-05\", \"cost\": {\"a\": 1}}\n");
    run_load("object.jsonl", "sparse", "max_bad_rows: 1", "      schema_template: sparse\n", &out);
    json_t *samples = json_object_get(step_result(&out, 0), "bad_row_samples");
    const char *sample = json_string_value(json_array_get(samples, 0));
    CU_ASSERT_STRING_EQUAL(sample ? sample : "",
                           "line 1: column cost: '{\"a\":1}' is not a number");
    wrk_outcome_cleanup(&out);
    /* a table the first object made takes later objects' subsets */
    write_file("first.jsonl", "{\"a\": 1, \"b\": \"x\"}\n");
    write_file("later.jsonl", "{\"b\": \"y\"}\n{\"a\": 3}\n");
    run_load("first.jsonl", "sparse_free", "max_bad_rows: 0", "", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    run_load("later.jsonl", "sparse_free", "max_bad_rows: 0", "", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.sparse_free"), 3);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.sparse_free WHERE a IS NULL"), 1);
    /* a member that is no column is a bad row, not dropped */
    write_file("typo.jsonl", "{\"a\": 4, \"typo\": \"y\"}\n");
    run_load("typo.jsonl", "sparse_free", "max_bad_rows: 0", "", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_PTR_NOT_NULL(strstr(step_field(&out, 0, "error"), "'typo' is not a column"));
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.sparse_free"), 3);
    /* empty files replace a table's rows under truncate: typed, untyped */
    write_file("empty.jsonl", "");
    write_file("empty.csv", "");
    run_load("empty.jsonl", "sparse", "max_bad_rows: 0", typed, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 0), "rows_replaced")), 2);
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.sparse"), 0);
    run_load("empty.csv", "sparse_free", "max_bad_rows: 0", "      write_mode: truncate\n", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.sparse_free"), 0);
    /* into no table, without a template: nothing to make */
    run_load("empty.jsonl", "sparse_none", "max_bad_rows: 0", "      write_mode: truncate\n", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    bool exists = true;
    CU_ASSERT_EQUAL(cvg_wh_table_exists(wh, "acme", "sparse_none", &exists, &err), 0);
    CU_ASSERT_FALSE(exists);
}

static void test_etl_bad_rows_and_threshold(void)
{
    /* a schema template for the test, beside the processor's own */
    char path[2048];
    snprintf(path, sizeof(path), "%s/file/data_loader/schemas/spend.json", cfg.templates_dir);
    const char *schema = "[{\"name\":\"day\",\"type\":\"DATE\",\"mode\":\"REQUIRED\"},"
                         "{\"name\":\"service\",\"type\":\"STRING\"},"
                         "{\"name\":\"cost\",\"type\":\"FLOAT64\"},"
                         "{\"name\":\"billable\",\"type\":\"BOOL\"}]";
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_fs_write_file(path, schema, strlen(schema), 0644, &err), 0);
    write_file("good.csv", "day,service,cost,billable\n2026-11-01,vm,1.5,true\n"
                           "2026-11-02,\"disk, ssd\",2,false\n2026-11-03,vm,,1\n");
    write_file("bad.csv", "day,service,cost,billable\n2026-11-01,vm,1.5,true\n"
                          "2026-11-02,vm,twelve,true\n,vm,1,true\n2026-11-04,vm,3,maybe\n"
                          "2026-11-05,vm,4\n2026-11-06,vm,5,false\n");
    char *y = loader_yaml("good.csv", 0);
    wrk_outcome_t out;
    run_pipeline(NULL, y, NULL, NULL, &out);
    free(y);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spend"), 3);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spend WHERE cost IS NULL"), 1);
    CU_ASSERT_EQUAL(int_of("SELECT sum(billable) FROM acme.spend"), 2);
    wrk_outcome_cleanup(&out);
    /* four bad rows over a limit of 0: nothing kept, the old rows stay */
    y = loader_yaml("bad.csv", 0);
    run_pipeline(NULL, y, NULL, NULL, &out);
    free(y);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(step_field(&out, 0, "error"), "4 of 6 rows are bad (over max_bad_rows 0)"));
    /* the old rows are back: none was replaced */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 0), "rows_replaced")), 0);
    json_t *samples = json_object_get(step_result(&out, 0), "bad_row_samples");
    CU_ASSERT_EQUAL(json_array_size(samples), 4);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(samples, 0)),
                           "line 3: column cost: 'twelve' is not a number");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(samples, 1)),
                           "line 4: column day is required but empty");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(samples, 3)),
                           "line 6: 3 fields, header has 4");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spend"), 3);
    wrk_outcome_cleanup(&out);
    /* within a limit of 4: the good rows load */
    y = loader_yaml("bad.csv", 4);
    run_pipeline(NULL, y, NULL, NULL, &out);
    free(y);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spend"), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 0), "bad_rows")), 4);
    wrk_outcome_cleanup(&out);
}

/* A loader step that replaces one day of acme.spend_days (schema spend,
 * written by the test before) from file, with a bad-row limit. */
static void run_partition_load(const char *file, const char *day, const char *limit,
                               wrk_outcome_t *out)
{
    char dest[300];
    snprintf(dest, sizeof(dest),
             "      write_mode: truncate\n      partition: \"%s\"\n      schema_template: spend\n"
             "      table_config: {time_partitioning: {field: day, type: DAY}}\n",
             day);
    run_load(file, "spend_days", limit, dest, out);
}

/* Loading into one partition takes that partition's rows: the others are
 * skipped, not bad (even when they would not convert), and do not count
 * toward the bad-row share; a row without a partition value is bad. */
static void test_etl_partition_load(void)
{
    write_file("days.csv", "day,service,cost,billable\n2026-11-01,vm,1,true\n"
                           "2026-11-02,vm,2,true\n2026-11-02,disk,3,false\n,vm,4,true\n"
                           "2026-11-03,vm,x,true\n2026-11-02,gpu,zz,true\n");
    wrk_outcome_t out;
    run_partition_load("days.csv", "2026-11-02", "max_bad_rows: 2", &out);
    if (strcmp(out.status, "SUCCEEDED") != 0)
        printf("\n  %s\n", out.error);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    json_t *r = step_result(&out, 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "rows_read")), 6);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "rows_loaded")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "rows_skipped")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "bad_rows")), 2);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_array_get(json_object_get(r, "bad_row_samples"), 0)),
        "line 5: column day is required but empty");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spend_days"), 2);
    wrk_outcome_cleanup(&out);
    /* another day of the same file adds to the table; the same day again
     * replaces its rows */
    run_partition_load("days.csv", "2026-11-01", "max_bad_rows: 2", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 0), "rows_loaded")), 1);
    wrk_outcome_cleanup(&out);
    run_partition_load("days.csv", "2026-11-02", "max_bad_rows: 2", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(step_result(&out, 0), "rows_replaced")), 2);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spend_days"), 3);
    wrk_outcome_cleanup(&out);
    /* the share is of the partition's rows: 2 bad of 4 is over 40 % (of
     * all 6 rows read it would not be); nothing changes */
    run_partition_load("days.csv", "2026-11-02", "max_bad_percent: 40", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(step_field(&out, 0, "error"), "2 of 4 rows of partition 2026-11-02 are bad"));
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spend_days"), 3);
    wrk_outcome_cleanup(&out);
    /* a file without the partitioning column cannot be placed */
    write_file("nodays.csv", "service,cost\nvm,1\n");
    run_partition_load("nodays.csv", "2026-11-02", "max_bad_rows: 0", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_STRING_EQUAL(
        step_field(&out, 0, "error"),
        "the file has no column day, by which its rows go to partition 2026-11-02");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spend_days"), 3);
    wrk_outcome_cleanup(&out);
    /* JSON Lines: a partitioning value that is not a date is bad */
    write_file("days.jsonl", "{\"day\": \"2026-11-02\", \"service\": \"vm\", \"cost\": 5}\n"
                             "{\"day\": 20261102, \"service\": \"vm\", \"cost\": 6}\n");
    run_partition_load("days.jsonl", "2026-11-02", "max_bad_rows: 1", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
                               json_object_get(step_result(&out, 0), "bad_row_samples"), 0)),
                           "line 2: column day: '20261102' is not a date YYYY-MM-DD");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spend_days WHERE day = '2026-11-02'"), 1);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spend_days"), 2);
    wrk_outcome_cleanup(&out);
}

/* An hour's partition of a TIMESTAMP column: the time decides, whatever
 * the text (a space for T, an offset), and the rows are stored as UTC
 * text, so the replace of the next run finds them. */
static void test_etl_partition_load_by_utc_time(void)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/file/data_loader/schemas/events.json", cfg.templates_dir);
    const char *schema = "[{\"name\":\"at\",\"type\":\"TIMESTAMP\"},"
                         "{\"name\":\"n\",\"type\":\"INT64\"}]";
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_fs_write_file(path, schema, strlen(schema), 0644, &err), 0);
    write_file("events.csv", "at,n\n2026-11-02 10:15:00,1\n2026-11-02T10:59:59.999Z,2\n"
                             "2026-11-02T11:30:00+01:00,3\n2026-11-02T10:30:00-01:00,4\n,5\n"
                             "11/02/2026,6\n9999-12-31T23:30:00-05:00,7\n");
    for (int round = 0; round < 2; round++) {
        wrk_outcome_t out;
        run_load("events.csv", "events", "max_bad_rows: 3",
                 "      write_mode: truncate\n      partition: \"2026-11-02T10\"\n"
                 "      schema_template: events\n"
                 "      table_config: {time_partitioning: {field: at, type: HOUR}}\n",
                 &out);
        CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
        json_t *r = step_result(&out, 0);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "rows_loaded")), 3);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "rows_skipped")), 1);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "rows_replaced")), round ? 3 : 0);
        json_t *samples = json_object_get(r, "bad_row_samples");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(samples, 0)),
                               "line 6: no value in at, the partitioning field");
        CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(samples, 1)),
                               "line 7: column at: '11/02/2026' is not a timestamp");
        /* past year 9999 in UTC: not stored as some other year */
        CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(samples, 2)),
                               "line 8: column at: '9999-12-31T23:30:00-05:00' is outside the "
                               "years 0001 to 9999");
        wrk_outcome_cleanup(&out);
    }
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.events"), 3);
    char text[128] = "";
    cvg_wh_query_text(wh,
                      "SELECT group_concat(at, ' ') FROM (SELECT at FROM acme.events ORDER BY n)",
                      NULL, 0, text, sizeof(text), NULL, &err);
    CU_ASSERT_STRING_EQUAL(text, "2026-11-02T10:15:00.000Z 2026-11-02T10:59:59.999Z "
                                 "2026-11-02T10:30:00.000Z");
}

/* file appended to acme.<table>, partitioned by field, which the file
 * does not have. */
static void load_without_partition_column(const char *file, const char *table, const char *field,
                                          wrk_outcome_t *out)
{
    char dest[200];
    snprintf(dest, sizeof(dest),
             "      table_config: {time_partitioning: {field: %s, type: DAY}}\n", field);
    run_load(file, table, "", dest, out);
}

/* What a partitioning setting needs, checked before anything is made: an
 * HOUR partition needs a TIMESTAMP; a table made from a file's columns
 * needs the partitioning one; an existing table that has it takes a file
 * without it (NULL there). Runs after the events test, which makes the
 * table. */
static void test_etl_partitioning_needs(void)
{
    wrk_outcome_t out;
    run_load("days.csv", "spend_hours", "",
             "      write_mode: truncate\n      partition: \"2026-11-02T10\"\n"
             "      schema_template: spend\n"
             "      table_config: {time_partitioning: {field: day, type: HOUR}}\n",
             &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "error"),
                           "table_config.time_partitioning: HOUR partitions need a TIMESTAMP "
                           "column; day is a DATE");
    wrk_outcome_cleanup(&out);

    write_file("nodays.csv", "service,cost\nvm,1\n");
    load_without_partition_column("nodays.csv", "made_from_file", "day", &out);
    assert_refused_before_table(
        &out, "made_from_file",
        "the file has no column day, which table_config.time_partitioning names");
    wrk_outcome_cleanup(&out);
    /* a file without at appended to events, which has the (nullable) column */
    write_file("noat.csv", "n\n8\n");
    long long before = int_of("SELECT count(*) FROM acme.events");
    load_without_partition_column("noat.csv", "events", "at", &out);
    if (strcmp(out.status, "SUCCEEDED") != 0)
        printf("\n  %s\n", out.error);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.events"), before + 1);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.events WHERE at IS NULL"), 1);
    wrk_outcome_cleanup(&out);
}

static void test_etl_files_outside_the_tenant_dirs(void)
{
    static const char *const uris[] = {"/etc/passwd", "/imports/other/x.csv",
                                       "/imports/acme/../other/x.csv", "/imports/acme/link.csv"};
    static const char *const why[] = {
        "is outside the directories this tenant may read",
        "is outside the directories this tenant may read", "may not contain '..'",
        "leads through a symbolic link outside the directories this tenant may read"};
    char other[1024], target[1024], link_path[1024];
    snprintf(other, sizeof(other), "%s/imports/other", dir);
    cvg_err_t err;
    cvg_fs_mkdir_p(other, 0700, &err);
    snprintf(target, sizeof(target), "%s/imports/other/x.csv", dir);
    cvg_fs_write_file(target, "a\n1\n", 4, 0600, &err);
    snprintf(link_path, sizeof(link_path), "%s/imports/acme/link.csv", dir);
    CU_ASSERT_EQUAL(symlink(target, link_path), 0);
    for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        char uri[1200], y[2048];
        /* all but the first are below the test's directory */
        snprintf(uri, sizeof(uri), "file://%s%s", i ? dir : "", uris[i]);
        snprintf(y, sizeof(y),
                 "pipeline_id: load\ndescription: d\nsteps:\n"
                 "  - step_id: load\n    ps_type: file.data_loader\n"
                 "    source: {uri: \"%s\"}\n"
                 "    destination: {dataset_type: \"{tenant_id}\", table: stolen}\n",
                 uri);
        wrk_outcome_t out;
        run_pipeline(NULL, y, NULL, NULL, &out);
        CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
        if (strstr(step_field(&out, 0, "error"), why[i]) == NULL)
            printf("\n  %s: %s\n", uris[i], step_field(&out, 0, "error"));
        CU_ASSERT_PTR_NOT_NULL(strstr(step_field(&out, 0, "error"), why[i]));
        wrk_outcome_cleanup(&out);
    }
    bool exists = true;
    cvg_wh_table_exists(wh, "acme", "stolen", &exists, &err);
    CU_ASSERT_FALSE(exists);
}

static void test_etl_run_confined_to_its_dataset(void)
{
    static const char *const queries[] = {
        "SELECT * FROM tenants.tenant_api_keys",
        "SELECT * FROM acme.spend JOIN tenants.tenant_profiles ON 1 = 1",
        "SELECT * FROM other.x",
    };
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        char y[1024];
        snprintf(y, sizeof(y),
                 "pipeline_id: spy\ndescription: d\nsteps:\n"
                 "  - step_id: s\n    ps_type: gcp.bq_etl\n"
                 "    source: {query: \"%s\"}\n"
                 "    destination: {dataset_type: \"{tenant_id}\", table: loot}\n",
                 queries[i]);
        wrk_outcome_t out;
        run_pipeline(NULL, y, NULL, NULL, &out);
        CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
        wrk_outcome_cleanup(&out);
    }
    /* nor write another dataset (validation refuses a fixed name; a
     * variable that names one is caught by the run) */
    wrk_outcome_t out;
    run_pipeline(NULL,
                 "pipeline_id: w\ndescription: d\nvariables: {ds: tenants}\nsteps:\n"
                 "  - step_id: s\n    ps_type: gcp.bq_etl\n"
                 "    source: {query: SELECT 1 AS x}\n"
                 "    destination: {dataset_type: \"{ds}\", table: tenant_profiles}\n",
                 NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_PTR_NOT_NULL(strstr(step_field(&out, 0, "error"), "writes only its own dataset"));
    wrk_outcome_cleanup(&out);
    /* and the connection is whole again afterwards */
    CU_ASSERT(int_of("SELECT count(*) FROM tenants.tenant_provider_configs") >= 1);
}

static void test_etl_timeout_and_cancel(void)
{
    const char *endless = "pipeline_id: slow\ndescription: d\nsteps:\n"
                          "  - step_id: spin\n    ps_type: gcp.bq_etl\n"
                          "    timeout_minutes: 0.01\n"
                          "    source:\n      query: WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                          "SELECT i + 1 FROM n) SELECT count(*) AS c FROM n\n"
                          "    destination: {dataset_type: \"{tenant_id}\", table: spin}\n"
                          "  - step_id: after\n    ps_type: gcp.bq_etl\n    trigger: always\n"
                          "    source: {query: \"SELECT '{run_status}' AS c\"}\n"
                          "    destination: {dataset_type: \"{tenant_id}\", table: spin_after}\n";
    wrk_outcome_t out;
    run_pipeline(NULL, endless, NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "TIMED_OUT");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "status"), "TIMED_OUT");
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "step spin timed out"));
    /* the message says the limit it ran past */
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "(timeout_minutes: 0.01)"));
    /* an always step still runs */
    CU_ASSERT_STRING_EQUAL(step_field(&out, 1, "status"), "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    /* so it does after a cancel, which does not stop it, knowing why */
    volatile sig_atomic_t cancel = WRK_CANCEL_REQUESTED;
    run_pipeline(NULL, endless, NULL, &cancel, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "CANCELLED");
    CU_ASSERT_STRING_EQUAL(out.error, "cancelled while it ran"); /* as the run log says it */
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "status"), "SKIPPED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 1, "status"), "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spin_after WHERE c = 'CANCELLED'"), 1);
    /* but not when the worker is stopping: the run is handed back, to run
     * again, and is not over */
    cancel = WRK_CANCEL_STOPPING;
    run_pipeline(NULL, endless, NULL, &cancel, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "RETRYING");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 1, "status"), "SKIPPED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.spin_after"), 2);
    /* a stop that keeps back only steps the run would not run anyway (an
     * on_failure step of a run that did not fail) hands nothing back: the
     * run ends as it went, not to be run again */
    const char *notice_only = "pipeline_id: notice\ndescription: d\nsteps:\n"
                              "  - step_id: on_fail\n    ps_type: gcp.bq_etl\n"
                              "    trigger: on_failure\n    source: {query: SELECT 1 AS c}\n"
                              "    destination: {dataset_type: \"{tenant_id}\", table: notice}\n";
    run_pipeline(NULL, notice_only, NULL, &cancel, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
}

static void test_etl_unknown_setting_and_parameters(void)
{
    wrk_outcome_t out;
    run_pipeline("gcp/cost/cost_billing", NULL, "2026-13-01", NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_PTR_NOT_NULL(strstr(out.error, "parameter date: must be a date YYYY-MM-DD"));
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "status"), "SKIPPED");
    wrk_outcome_cleanup(&out);
}

/* {run_status} and {run_error}: SUCCEEDED and "" until a step fails the
 * run, then FAILED and the first failure on one line, for the on_failure
 * and always steps (checked here by bound sql_assertion queries). */
static void test_etl_run_status_variables(void)
{
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh, "CREATE TABLE acme.ctx_probe (x INTEGER)", NULL, 0, NULL, NULL, NULL, &err),
        0);
    const char *yaml =
        "pipeline_id: ctx\ndescription: d\nsteps:\n"
        "  - step_id: before\n    ps_type: dq.checks\n    target: {table: ctx_probe}\n"
        "    checks:\n      - name: ok_so_far\n        type: sql_assertion\n"
        "        sql: \"SELECT CASE WHEN {run_status} = 'SUCCEEDED' AND {run_error} = '' THEN 0 "
        "ELSE 1 END\"\n"
        "  - step_id: load\n    ps_type: file.data_loader\n"
        "    source: {uri: \"file:///etc/passwd\"}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: stolen}\n"
        "  - step_id: skipped\n    ps_type: dq.checks\n    target: {table: ctx_probe}\n"
        "    checks: [{name: n, type: row_count, min: 0}]\n"
        "  - step_id: after\n    ps_type: dq.checks\n    trigger: on_failure\n"
        "    target: {table: ctx_probe}\n"
        "    checks:\n      - name: failed_now\n        type: sql_assertion\n"
        "        sql: \"SELECT CASE WHEN {run_status} = 'FAILED' AND {run_error} LIKE "
        "'step load failed: source.uri: %outside the directories%' THEN 0 ELSE 1 END\"\n";
    wrk_outcome_t out;
    run_pipeline(NULL, yaml, NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "status"), "SUCCEEDED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 1, "status"), "FAILED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 2, "status"), "SKIPPED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 3, "status"), "SUCCEEDED");
    if (strcmp(step_field(&out, 3, "status"), "SUCCEEDED") != 0)
        printf("\n  after: %s (run error: %s)\n", step_field(&out, 3, "error"), out.error);
    wrk_outcome_cleanup(&out);
}

/* append adds, write_empty refuses a table with rows; a step that may
 * fail (continue_on_failure) fails alone and the run goes on. */
static void test_etl_write_modes_and_continue_on_failure(void)
{
    const char *yaml =
        "pipeline_id: modes\ndescription: d\nsteps:\n"
        "  - step_id: first\n    ps_type: gcp.bq_etl\n    source: {query: SELECT 1 AS x}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: modes, write_mode: append}\n"
        "  - step_id: second\n    ps_type: gcp.bq_etl\n    source: {query: SELECT 2 AS x}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: modes, write_mode: append}\n"
        "  - step_id: not_empty\n    ps_type: gcp.bq_etl\n    continue_on_failure: true\n"
        "    source: {query: SELECT 3 AS x}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: modes, write_mode: write_empty}\n"
        "  - step_id: empty\n    ps_type: gcp.bq_etl\n    source: {query: SELECT 4 AS x}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: modes_fresh, write_mode: "
        "write_empty}\n";
    wrk_outcome_t out;
    run_pipeline(NULL, yaml, NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "status"), "SUCCEEDED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 1, "status"), "SUCCEEDED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 2, "status"), "FAILED");
    CU_ASSERT_PTR_NOT_NULL(strstr(step_field(&out, 2, "error"), "write_empty"));
    if (strstr(step_field(&out, 2, "error"), "write_empty") == NULL)
        printf("\n  not_empty: %s\n", step_field(&out, 2, "error"));
    CU_ASSERT_STRING_EQUAL(step_field(&out, 3, "status"), "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.modes"), 2);
    CU_ASSERT_EQUAL(int_of("SELECT sum(x) FROM acme.modes"), 3); /* 1 + 2; the 3 was refused */
    CU_ASSERT_EQUAL(int_of("SELECT x FROM acme.modes_fresh"), 4);
    /* the same write_empty step on a run of its own fails the run */
    const char *alone = "pipeline_id: modes\ndescription: d\nsteps:\n"
                        "  - step_id: not_empty\n    ps_type: gcp.bq_etl\n"
                        "    source: {query: SELECT 3 AS x}\n"
                        "    destination: {dataset_type: \"{tenant_id}\", table: modes, "
                        "write_mode: write_empty}\n";
    run_pipeline(NULL, alone, NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "error"),
                           "acme.modes already has 2 rows (write_mode write_empty)");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.modes"), 2);
    const char *one = "pipeline_id: modes\ndescription: d\nsteps:\n"
                      "  - step_id: not_empty\n    ps_type: gcp.bq_etl\n"
                      "    source: {query: SELECT 3 AS x}\n"
                      "    destination: {dataset_type: \"{tenant_id}\", table: modes_fresh, "
                      "write_mode: write_empty}\n";
    run_pipeline(NULL, one, NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "error"),
                           "acme.modes_fresh already has 1 row (write_mode write_empty)");
    wrk_outcome_cleanup(&out);
}

/* A query may end with ';', as people write them. */
static void test_etl_query_with_closing_semicolon(void)
{
    wrk_outcome_t out;
    run_pipeline(NULL,
                 "pipeline_id: semi\ndescription: d\nsteps:\n  - step_id: s\n"
                 "    ps_type: gcp.bq_etl\n    source: {query: \"SELECT 41 + 1 AS x; -- done\"}\n"
                 "    destination: {dataset_type: \"{tenant_id}\", table: semi}\n",
                 NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT x FROM acme.semi"), 42);
    /* nor does a closing comment swallow the statement's wrapping */
    run_pipeline(NULL,
                 "pipeline_id: semi\ndescription: d\nsteps:\n  - step_id: s\n"
                 "    ps_type: gcp.bq_etl\n    source: {query: \"SELECT 43 AS x -- done\"}\n"
                 "    destination: {dataset_type: \"{tenant_id}\", table: semi}\n",
                 NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT max(x) FROM acme.semi"), 43);
}

/* Another process writing the tenant's dataset while a step appends, and
 * while one writes to an empty table: each step waits for the lock and
 * succeeds (an append used to fail at once with "database is locked"). */
static void test_etl_writes_wait_for_another_writer(void)
{
    const char *yaml =
        "pipeline_id: busy\ndescription: d\nsteps:\n"
        "  - step_id: append\n    ps_type: gcp.bq_etl\n    source: {query: SELECT 5 AS x}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: modes, write_mode: append}\n"
        "  - step_id: empty\n    ps_type: gcp.bq_etl\n    source: {query: SELECT 6 AS x}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: busy_fresh, write_mode: "
        "write_empty}\n";
    char path[1024];
    snprintf(path, sizeof(path), "%s/wh/acme.db", dir);
    long long before = int_of("SELECT count(*) FROM acme.modes");
    lock_holder_t h;
    CU_ASSERT_EQUAL_FATAL(lock_hold(&h, path, NULL, 300), 0);
    wrk_outcome_t out;
    run_pipeline(NULL, yaml, NULL, NULL, &out);
    lock_join(&h);
    if (strcmp(out.status, "SUCCEEDED") != 0)
        printf("\n  %s\n", out.error);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.modes"), before + 1);
    CU_ASSERT_EQUAL(int_of("SELECT x FROM acme.busy_fresh"), 6);
}

/* Another run of the tenant writing longer than the warehouse's own lock
 * wait (10 s): the step waits its turn within its time limit (here 1
 * minute), and does not fail on the lock. */
static void test_etl_step_waits_for_the_lock_within_its_limit(void)
{
    const char *yaml =
        "pipeline_id: patient\ndescription: d\nsteps:\n"
        "  - step_id: append\n    ps_type: gcp.bq_etl\n    timeout_minutes: 1\n"
        "    source: {query: SELECT 8 AS x}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: modes, write_mode: append}\n";
    char path[1024];
    snprintf(path, sizeof(path), "%s/wh/acme.db", dir);
    long long before = int_of("SELECT count(*) FROM acme.modes");
    lock_holder_t h;
    CU_ASSERT_EQUAL_FATAL(lock_hold(&h, path, NULL, 11000), 0);
    wrk_outcome_t out;
    run_pipeline(NULL, yaml, NULL, NULL, &out);
    lock_join(&h);
    if (strcmp(out.status, "SUCCEEDED") != 0)
        printf("\n  %s\n", out.error);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.modes"), before + 1);
}

/* A connection not set to wait until its deadline (the gateway's, whose
 * setup steps hold a client and the setup lock meanwhile) keeps its
 * bound, deadline or not: here 300 ms against a 2 s hold. */
static void test_etl_lock_wait_bound_kept_with_a_deadline(void)
{
    char url[700], path[1024];
    snprintf(url, sizeof(url), "sqlite://%s/wh", dir);
    snprintf(path, sizeof(path), "%s/wh/acme.db", dir);
    cvg_wh_t *other = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_open(url, &other, &err), 0);
    cvg_wh_set_lock_wait(other, 300);
    cvg_wh_set_interrupt(other, cvg_time_mono_ms() + 60000, NULL);
    lock_holder_t h;
    CU_ASSERT_EQUAL_FATAL(lock_hold(&h, path, NULL, 2000), 0);
    /* busy, not the lock taken once the hold ends (as a wait until the
     * deadline would) */
    int rc = cvg_wh_begin_write(other, "acme", &err);
    lock_join(&h);
    CU_ASSERT_EQUAL(rc, CVG_EBUSY);
    if (strstr(err.message, "is locked") == NULL)
        printf("\n  %s\n", err.message);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "is locked"));
    if (rc == 0)
        cvg_wh_rollback(other);
    cvg_wh_set_interrupt(other, 0, NULL);
    cvg_wh_close(&other);
}

static void *cancel_soon(void *arg)
{
    usleep(200 * 1000);
    *(volatile sig_atomic_t *)arg = WRK_CANCEL_REQUESTED;
    return NULL;
}

/* A step waiting for another writer's lock (another run of the tenant
 * writing its dataset) stops there when its time limit passes or its run
 * is cancelled, as a running statement does; it writes nothing. */
static void test_etl_lock_wait_stops_for_timeout_and_cancel(void)
{
#define WAITS_YAML(limit)                                                       \
    "pipeline_id: waits\ndescription: d\nsteps:\n"                              \
    "  - step_id: w\n    ps_type: gcp.bq_etl\n    timeout_minutes: " limit "\n" \
    "    source: {query: SELECT 7 AS x}\n"                                      \
    "    destination: {dataset_type: \"{tenant_id}\", table: waited}\n"
    char y[1024], path[1024];
    snprintf(path, sizeof(path), "%s/wh/acme.db", dir);
    lock_holder_t h;
    wrk_outcome_t out;
    /* the time limit (0.01 minutes: 0.6 s) passes while the lock is held */
    snprintf(y, sizeof(y), "%s", WAITS_YAML("0.01"));
    CU_ASSERT_EQUAL_FATAL(lock_hold(&h, path, NULL, 2000), 0);
    run_pipeline(NULL, y, NULL, NULL, &out);
    lock_join(&h);
    CU_ASSERT_STRING_EQUAL(out.status, "TIMED_OUT");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "status"), "TIMED_OUT");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(step_field(&out, 0, "error"), "while it waited for another writer's lock"));
    wrk_outcome_cleanup(&out);
    /* a cancel 0.2 s into the wait */
    snprintf(y, sizeof(y), "%s", WAITS_YAML("5"));
    volatile sig_atomic_t cancel = 0;
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(lock_hold(&h, path, NULL, 2000), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, cancel_soon, (void *)&cancel), 0);
    run_pipeline(NULL, y, NULL, &cancel, &out);
    pthread_join(t, NULL);
    lock_join(&h);
    CU_ASSERT_STRING_EQUAL(out.status, "CANCELLED");
    CU_ASSERT_STRING_EQUAL(step_field(&out, 0, "status"), "CANCELLED");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(step_field(&out, 0, "error"), "while it waited for another writer's lock"));
    wrk_outcome_cleanup(&out);
    bool exists = true;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_wh_table_exists(wh, "acme", "waited", &exists, &err), 0);
    CU_ASSERT_FALSE(exists);
}

/* A step that fails after it made its table (here a partition replace
 * whose query strays outside the partition) leaves no table behind and
 * does not say it made one. */
static void test_etl_failed_step_leaves_no_new_table(void)
{
    wrk_outcome_t out;
    run_partition_query("stray", "SELECT '2026-11-03' AS day, 1 AS n", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "FAILED");
    CU_ASSERT_PTR_NOT_NULL(strstr(step_field(&out, 0, "error"), "outside partition"));
    CU_ASSERT_PTR_NULL(json_object_get(step_result(&out, 0), "table_created"));
    CU_ASSERT_PTR_NULL(json_object_get(step_result(&out, 0), "table_config")); /* went with it */
    bool exists = true;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_wh_table_exists(wh, "acme", "stray", &exists, &err), 0);
    CU_ASSERT_FALSE(exists);
    wrk_outcome_cleanup(&out);
}

/* A load into a table a query step made (no schema_template) checks each
 * value against the table's column types: a text where the query made a
 * number is a bad row, not a text stored in a number's column. */
static void test_etl_load_checks_types_of_a_query_made_table(void)
{
    const char *yaml =
        "pipeline_id: typed\ndescription: d\nsteps:\n"
        "  - step_id: seed\n    ps_type: gcp.bq_etl\n"
        "    source: {query: \"SELECT '2026-11-01' AS day, 'seed' AS service, CAST(1.5 AS REAL) "
        "AS cost, CAST(1 AS INTEGER) AS qty\"}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: typed_costs, write_mode: "
        "append}\n";
    wrk_outcome_t out;
    run_pipeline(NULL, yaml, NULL, NULL, &out);
    CU_ASSERT_STRING_EQUAL_FATAL(out.status, "SUCCEEDED");
    wrk_outcome_cleanup(&out);
    write_file("typed.csv", "day,service,cost,qty\n2026-11-02,storage,twelve,1\n"
                            "2026-11-03,db,7.75,x\n2026-11-04,vm,2.25,3\n");
    run_load("typed.csv", "typed_costs", "max_bad_rows: 2", "      write_mode: append\n", &out);
    CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
    json_t *r = step_result(&out, 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "rows_loaded")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "bad_rows")), 2);
    json_t *samples = json_object_get(r, "bad_row_samples");
    const char *first = json_string_value(json_array_get(samples, 0));
    const char *second = json_string_value(json_array_get(samples, 1));
    CU_ASSERT_STRING_EQUAL(first ? first : "", "line 2: column cost: 'twelve' is not a number");
    CU_ASSERT_STRING_EQUAL(second ? second : "", "line 3: column qty: 'x' is not an integer");
    wrk_outcome_cleanup(&out);
    CU_ASSERT_DOUBLE_EQUAL(real_of("SELECT printf('%.2f', sum(cost)) FROM acme.typed_costs"), 3.75,
                           1e-9);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.typed_costs WHERE typeof(cost) <> 'real'"),
                    0);
}

/* A gzip JSON Lines file loads like a plain one, and the step says which
 * it was. */
static void test_etl_gzip_load_says_compressed(void)
{
    const char *jsonl = "{\"day\": \"2026-11-01\", \"cost\": 1.5}\n"
                        "{\"day\": \"2026-11-02\", \"cost\": 2}\n";
    unsigned char *gz = NULL;
    size_t len = 0;
    gzip_append(jsonl, strlen(jsonl), &gz, &len);
    char path[1024];
    snprintf(path, sizeof(path), "%s/imports/acme/costs.jsonl.gz", dir);
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_fs_write_file(path, (const char *)gz, len, 0600, &err), 0);
    free(gz);
    write_file("costs.jsonl", jsonl);
    static const struct {
        const char *file;
        bool compressed;
    } cases[] = {{"costs.jsonl.gz", true}, {"costs.jsonl", false}};
    for (size_t i = 0; i < 2; i++) {
        wrk_outcome_t out;
        run_load(cases[i].file, "gz_costs", "max_bad_rows: 0", "      write_mode: truncate\n",
                 &out);
        CU_ASSERT_STRING_EQUAL(out.status, "SUCCEEDED");
        json_t *r = step_result(&out, 0);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "rows_loaded")), 2);
        CU_ASSERT_EQUAL(json_is_true(json_object_get(r, "compressed")), cases[i].compressed);
        wrk_outcome_cleanup(&out);
    }
}

/* Sets acme's gcp settings as the API would store them: checked by the
 * providers' rules first; false when they refuse the value. */
static bool store_gcp_settings(json_t *settings)
{
    cvg_errlist_t *errs = cvg_errlist_new();
    bool ok = cvg_providers_check(&providers, &cfg, "acme", "gcp", settings, errs) == 0;
    free(errs);
    if (!ok)
        return false;
    char *text = json_dumps(settings, JSON_COMPACT | JSON_SORT_KEYS);
    cvg_val_t v[2] = {cvg_v_text("acme"), cvg_v_text(text)};
    cvg_err_t err;
    int rc = cvg_wh_exec(wh,
                         "UPDATE tenants.tenant_provider_configs SET settings = $2 WHERE "
                         "tenant_id = $1 AND provider = 'gcp'",
                         v, 2, NULL, NULL, NULL, &err);
    free(text);
    CU_ASSERT_EQUAL(rc, 0);
    return rc == 0;
}

/* A query writing into a table made from a schema template gets its
 * TIMESTAMP and DATE values held to what the loader stores: times in UTC
 * with milliseconds (converted from another form), real days; anything
 * else fails the step and writes nothing. */
static void test_etl_query_times_into_a_typed_table(void)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/gcp/bq_etl/schemas/times.json", cfg.templates_dir);
    const char *schema = "[{\"name\":\"id\",\"type\":\"INT64\",\"mode\":\"REQUIRED\"},"
                         "{\"name\":\"ts\",\"type\":\"TIMESTAMP\"},"
                         "{\"name\":\"day\",\"type\":\"DATE\"}]";
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_fs_write_file(path, schema, strlen(schema), 0644, &err), 0);
    static const struct {
        const char *select, *status, *error;
    } cases[] = {
        {"SELECT 1 AS id, '2026-11-03 10:00:00' AS ts, '2026-11-03' AS day", "SUCCEEDED", NULL},
        {"SELECT 2 AS id, '2026-11-03T10:00:00+01:00' AS ts, NULL AS day", "SUCCEEDED", NULL},
        {"SELECT 3 AS id, 'notatime' AS ts, '2026-11-03' AS day", "FAILED",
         "column ts: 'notatime' is not a timestamp"},
        {"SELECT 4 AS id, '2026-02-30T10:00:00Z' AS ts, NULL AS day", "FAILED",
         "column ts: '2026-02-30T10:00:00Z' is not a timestamp"},
        {"SELECT 5 AS id, NULL AS ts, '2026-02-30' AS day", "FAILED",
         "column day: '2026-02-30' is not a date YYYY-MM-DD"},
        {"SELECT 6 AS id, NULL AS ts, '2026-11-03T00:00:00Z' AS day", "FAILED",
         "column day: '2026-11-03T00:00:00Z' is not a date"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char y[1024];
        snprintf(y, sizeof(y),
                 "pipeline_id: times\ndescription: d\nsteps:\n"
                 "  - step_id: write\n    ps_type: gcp.bq_etl\n"
                 "    source: {query: \"%s\"}\n"
                 "    destination: {dataset_type: \"{tenant_id}\", table: times, "
                 "schema_template: times}\n",
                 cases[i].select);
        wrk_outcome_t out;
        run_pipeline(NULL, y, NULL, NULL, &out);
        CU_ASSERT_STRING_EQUAL(out.status, cases[i].status);
        if (cases[i].error) {
            const char *e = step_field(&out, 0, "error");
            if (strstr(e, cases[i].error) == NULL)
                printf("\n  case %zu: %s\n", i, e);
            CU_ASSERT_PTR_NOT_NULL(strstr(e, cases[i].error));
        }
        wrk_outcome_cleanup(&out);
    }
    /* the two good rows, as the loader would have stored them; none else */
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.times"), 2);
    CU_ASSERT_EQUAL(int_of("SELECT count(*) FROM acme.times WHERE id = 1 AND ts = "
                           "'2026-11-03T10:00:00.000Z' AND day = '2026-11-03'"),
                    1);
    CU_ASSERT_EQUAL(
        int_of("SELECT count(*) FROM acme.times WHERE id = 2 AND ts = '2026-11-03T09:00:00.000Z'"),
        1);
}

/* Settings refused when stored, each naming the setting: a scheme the
 * shipped pipeline cannot load, a URI with no host or bucket, an endpoint
 * the outbound policy would never let a worker reach. */
static void test_etl_provider_settings_refused(void)
{
    static const struct {
        const char *provider, *settings, *field, *says;
    } cases[] = {
        {"gcp", "{\"billing_export_uri\": \"s3://acme-billing/export.csv\"}",
         "settings.billing_export_uri", "must be a URI starting with file://"},
        {"aws", "{\"cur_uri\": \"s3:///exports/cur.csv\"}", "settings.cur_uri", "no bucket"},
        {"azure", "{\"cost_export_uri\": \"https:///x.csv\"}", "settings.cost_export_uri",
         "names no host"},
        {"aws", "{\"s3_endpoint\": \"https://169.254.169.254/\"}", "settings.s3_endpoint",
         "169.254.169.254"},
        {"aws", "{\"s3_endpoint\": \"http://minio.internal:9000\"}", "settings.s3_endpoint",
         "http"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *settings = json_loads(cases[i].settings, 0, NULL);
        cvg_errlist_t *errs = cvg_errlist_new();
        CU_ASSERT_EQUAL(
            cvg_providers_check(&providers, &cfg, "acme", cases[i].provider, settings, errs), 1);
        bool named = errs->n == 1 && strcmp(errs->items[0].field, cases[i].field) == 0 &&
                     strstr(errs->items[0].message, cases[i].says) != NULL;
        if (!named)
            printf("\n  case %zu: %s\n", i, errs->n ? errs->items[0].message : "(no error)");
        CU_ASSERT_TRUE(named);
        free(errs);
        json_decref(settings);
    }
    /* a public https endpoint and an s3:// object are fine */
    json_t *good = json_pack("{s:s, s:s}", "s3_endpoint", "https://s3.eu-west-1.amazonaws.com",
                             "cur_uri", "s3://acme-cur/2026/11/cur.csv.gz");
    cvg_errlist_t *errs = cvg_errlist_new();
    CU_ASSERT_EQUAL(cvg_providers_check(&providers, &cfg, "acme", "aws", good, errs), 0);
    free(errs);
    json_decref(good);
}

/* The injection payloads stored as a provider setting: where the setting
 * is a value it is bound (the row holds the payload, verbatim), where it
 * is a name the run is refused; no statement changes, no table goes. */
static void test_etl_injection_payloads_as_settings(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/configs/security/injection_payloads.json", source_dir());
    json_t *doc = json_load_file(path, 0, NULL);
    json_t *payloads = json_object_get(doc, "payloads");
    CU_ASSERT_FATAL(json_array_size(payloads) >= 100);
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh, "CREATE TABLE acme.sentinel (x INTEGER)", NULL, 0, NULL, NULL, NULL, &err),
        0);
    CU_ASSERT_EQUAL_FATAL(
        cvg_wh_exec(wh, "INSERT INTO acme.sentinel VALUES (42)", NULL, 0, NULL, NULL, NULL, &err),
        0);
    char uri[1200];
    snprintf(uri, sizeof(uri), "file://%s/configs/samples/gcp_billing_export.csv", source_dir());
    const char *as_value =
        "pipeline_id: p\ndescription: d\nsteps:\n"
        "  - step_id: s\n    ps_type: gcp.bq_etl\n"
        "    source: {query: \"SELECT {billing_account_id} AS account, "
        "'{billing_account_id}' AS quoted\"}\n"
        "    destination: {dataset_type: \"{tenant_id}\", table: injected, write_mode: "
        "truncate}\n";
    const char *as_name = "pipeline_id: p\ndescription: d\nsteps:\n"
                          "  - step_id: s\n    ps_type: gcp.bq_etl\n"
                          "    source: {query: SELECT 1 AS x}\n"
                          "    destination: {dataset_type: \"{tenant_id}\", table: "
                          "\"{billing_account_id}\"}\n";
    /* the tables there are, once the value pipeline has made its own */
    json_t *benign = json_pack("{s:s, s:s}", "billing_export_uri", uri, "billing_account_id",
                               "0A1B2C-3D4E5F-6A7B8C");
    CU_ASSERT_TRUE_FATAL(store_gcp_settings(benign));
    json_decref(benign);
    wrk_outcome_t first;
    run_pipeline(NULL, as_value, NULL, NULL, &first);
    CU_ASSERT_STRING_EQUAL(first.status, "SUCCEEDED");
    wrk_outcome_cleanup(&first);
    static const char tables_sql[] = "SELECT group_concat(name, ',') FROM (SELECT name FROM "
                                     "acme.sqlite_master WHERE type = 'table' ORDER BY name)";
    char tables_before[2000] = "", tables_after[2000] = "";
    cvg_wh_query_text(wh, tables_sql, NULL, 0, tables_before, sizeof(tables_before), NULL, &err);
    size_t stored = 0, refused = 0, bound = 0, refused_as_name = 0;
    for (size_t i = 0; i < json_array_size(payloads); i++) {
        const char *payload = json_string_value(json_array_get(payloads, i));
        json_t *settings =
            json_pack("{s:s, s:s}", "billing_export_uri", uri, "billing_account_id", payload);
        bool ok = store_gcp_settings(settings);
        json_decref(settings);
        if (!ok) {
            refused++; /* refused when stored (over 64 characters, control characters) */
            continue;
        }
        stored++;
        wrk_outcome_t out;
        run_pipeline(NULL, as_value, NULL, NULL, &out);
        char got[4200] = "", quoted[4200] = "";
        cvg_wh_query_text(wh, "SELECT account FROM acme.injected", NULL, 0, got, sizeof(got), NULL,
                          &err);
        cvg_wh_query_text(wh, "SELECT quoted FROM acme.injected", NULL, 0, quoted, sizeof(quoted),
                          NULL, &err);
        bool same = strcmp(out.status, "SUCCEEDED") == 0 && strcmp(got, payload) == 0 &&
                    strcmp(quoted, payload) == 0 &&
                    int_of("SELECT count(*) FROM acme.injected") == 1;
        if (!same)
            printf("\n  payload %zu (%s): %s, got '%s' / '%s'", i, payload, out.status, got,
                   quoted);
        bound += same;
        wrk_outcome_cleanup(&out);
        run_pipeline(NULL, as_name, NULL, NULL, &out);
        refused_as_name += strcmp(out.status, "FAILED") == 0;
        wrk_outcome_cleanup(&out);
    }
    CU_ASSERT_EQUAL(stored + refused, json_array_size(payloads));
    CU_ASSERT(stored >= 95); /* 95 of the 103 fit the setting's rules (one plain line, 64 bytes) */
    CU_ASSERT_EQUAL(bound, stored);
    CU_ASSERT_EQUAL(refused_as_name, stored);
    /* nothing else changed: the sentinel's row, the same tables */
    CU_ASSERT_EQUAL(int_of("SELECT x FROM acme.sentinel"), 42);
    cvg_wh_query_text(wh, tables_sql, NULL, 0, tables_after, sizeof(tables_after), NULL, &err);
    CU_ASSERT_STRING_EQUAL(tables_after, tables_before);
    CU_ASSERT_PTR_NOT_NULL(strstr(tables_before, "injected"));
    /* the setting as it was */
    json_t *settings = json_pack("{s:s}", "billing_export_uri", uri);
    CU_ASSERT_TRUE(store_gcp_settings(settings));
    json_decref(settings);
    json_decref(doc);
}

static CU_TestInfo tests[] = {
    {"test_etl_cost_pipeline_on_the_sample", test_etl_cost_pipeline_on_the_sample},
    {"test_etl_cost_pipeline_keeps_a_day_missing_from_the_export",
     test_etl_cost_pipeline_keeps_a_day_missing_from_the_export},
    {"test_etl_truncate_keeps_old_rows_on_failure", test_etl_truncate_keeps_old_rows_on_failure},
    {"test_etl_bad_rows_and_threshold", test_etl_bad_rows_and_threshold},
    {"test_etl_partition_load", test_etl_partition_load},
    {"test_etl_partition_load_by_utc_time", test_etl_partition_load_by_utc_time},
    {"test_etl_partitioning_needs", test_etl_partitioning_needs},
    {"test_etl_partition_query_keeps_to_its_partition",
     test_etl_partition_query_keeps_to_its_partition},
    {"test_etl_files_outside_the_tenant_dirs", test_etl_files_outside_the_tenant_dirs},
    {"test_etl_run_confined_to_its_dataset", test_etl_run_confined_to_its_dataset},
    {"test_etl_timeout_and_cancel", test_etl_timeout_and_cancel},
    {"test_etl_unknown_setting_and_parameters", test_etl_unknown_setting_and_parameters},
    {"test_etl_run_status_variables", test_etl_run_status_variables},
    {"test_etl_write_modes_and_continue_on_failure", test_etl_write_modes_and_continue_on_failure},
    {"test_etl_query_with_closing_semicolon", test_etl_query_with_closing_semicolon},
    {"test_etl_writes_wait_for_another_writer", test_etl_writes_wait_for_another_writer},
    {"test_etl_step_waits_for_the_lock_within_its_limit",
     test_etl_step_waits_for_the_lock_within_its_limit},
    {"test_etl_lock_wait_bound_kept_with_a_deadline",
     test_etl_lock_wait_bound_kept_with_a_deadline},
    {"test_etl_sparse_jsonl_and_empty_files", test_etl_sparse_jsonl_and_empty_files},
    {"test_etl_lock_wait_stops_for_timeout_and_cancel",
     test_etl_lock_wait_stops_for_timeout_and_cancel},
    {"test_etl_failed_step_leaves_no_new_table", test_etl_failed_step_leaves_no_new_table},
    {"test_etl_load_checks_types_of_a_query_made_table",
     test_etl_load_checks_types_of_a_query_made_table},
    {"test_etl_gzip_load_says_compressed", test_etl_gzip_load_says_compressed},
    {"test_etl_provider_settings_refused", test_etl_provider_settings_refused},
    {"test_etl_query_times_into_a_typed_table", test_etl_query_times_into_a_typed_table},
    {"test_etl_injection_payloads_as_settings", test_etl_injection_payloads_as_settings},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_etl = {"unit_etl", setup, teardown, tests, 120};
