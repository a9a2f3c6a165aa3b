/*
 * Fuzz target: a file a tenant loads, all the way into a table
 * (worker/loadcore.c, worker/destination.c), as file.data_loader and
 * aws.s3_data_loader load it once the bytes are open: the row reader, the
 * table made or checked, each value converted to its column's type (INT64,
 * NUMERIC, FLOAT64, BOOL, DATE, TIMESTAMP, JSON, RECORD, STRING, required
 * columns), partition filtering and the bad-row threshold, written to a
 * SQLite warehouse in a temporary directory. The first byte picks the
 * destination (the shipped billing export template replacing one day, a
 * template of every type, or a table made from the file's own columns),
 * the format and the delimiter; the rest is the file. Every load truncates,
 * so the warehouse does not grow from one input to the next.
 */
#include "common/rows.h"
#include "worker/destination.h"
#include "worker/loadcore.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TYPED[] =
    "{\"schema\": {\"fields\": ["
    "{\"name\": \"id\", \"type\": \"INT64\", \"mode\": \"REQUIRED\"},"
    "{\"name\": \"amount\", \"type\": \"NUMERIC\"},"
    "{\"name\": \"ratio\", \"type\": \"FLOAT64\"},"
    "{\"name\": \"ok\", \"type\": \"BOOL\"},"
    "{\"name\": \"day\", \"type\": \"DATE\", \"mode\": \"REQUIRED\"},"
    "{\"name\": \"at\", \"type\": \"TIMESTAMP\"},"
    "{\"name\": \"meta\", \"type\": \"JSON\"},"
    "{\"name\": \"rec\", \"type\": \"RECORD\", \"fields\": [{\"name\": \"a\", \"type\": "
    "\"STRING\"}]},"
    "{\"name\": \"tags\", \"type\": \"STRING\", \"mode\": \"REPEATED\"},"
    "{\"name\": \"name\", \"type\": \"STRING\"}]},"
    "\"clustering\": {\"fields\": [\"name\"]}}";

static char root[] = "/tmp/cvg-fuzz-loader-XXXXXX";
static cvg_config_t cfg;
static cvg_wh_t *wh;

static void write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(text, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "fuzz_loader: cannot write %s\n", path);
        exit(1);
    }
}

/* <root>/ps_templates/file/data_loader/schemas/{gcp_billing_export,typed}.json */
static void make_templates(void)
{
    const char *src = getenv("CVG_SOURCE_DIR");
    char path[1200], dir[1100];
    snprintf(path, sizeof(path), "%s/ps_templates/file/data_loader/schemas/gcp_billing_export.json",
             src ? src : ".");
    FILE *f = fopen(path, "r");
    static char billing[64 * 1024];
    size_t n = f ? fread(billing, 1, sizeof(billing), f) : 0;
    if (f == NULL || n == 0 || n == sizeof(billing)) {
        fprintf(stderr, "fuzz_loader: cannot read %s (set CVG_SOURCE_DIR)\n", path);
        exit(1);
    }
    fclose(f);
    snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", root);
    static const char *const parts[] = {"", "/file", "/file/data_loader",
                                        "/file/data_loader/schemas"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(dir, sizeof(dir), "%s%s", cfg.templates_dir, parts[i]);
        if (mkdir(dir, 0700) != 0)
            exit(1);
    }
    snprintf(path, sizeof(path), "%s/gcp_billing_export.json", dir);
    write_file(path, billing, n);
    snprintf(path, sizeof(path), "%s/typed.json", dir);
    write_file(path, TYPED, strlen(TYPED));
}

/* Removes path and, for a directory, everything below it. */
static void remove_path(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    DIR *dir = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
    for (struct dirent *e = dir ? readdir(dir) : NULL; e != NULL; e = readdir(dir)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[1200];
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        remove_path(sub);
    }
    if (dir != NULL)
        closedir(dir);
    remove(path);
}

static void remove_tree(void)
{
    cvg_wh_close(&wh);
    remove_path(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (mkdtemp(root) == NULL)
        exit(1);
    atexit(remove_tree);
    make_templates();
    char url[200];
    snprintf(url, sizeof(url), "sqlite://%s/wh", root);
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_wh_open(url, &wh, &err) != 0 || cvg_wh_dataset_create(wh, "acme", &err) != 0) {
        fprintf(stderr, "fuzz_loader: %s\n", err.message);
        exit(1);
    }
    cvg_wh_set_lock_wait(wh, -1); /* as a worker's connection */
    return 0;
}

/* The step's destination for variant v. */
static json_t *destination(unsigned v)
{
    switch (v) {
    case 0:
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}", "dataset_type", "acme",
                         "table", "billing", "write_mode", "truncate", "partition", "2026-11-01",
                         "schema_template", "gcp_billing_export", "table_config",
                         "time_partitioning", "field", "usage_start_time", "type", "DAY");
    case 1:
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}, s:[s]}}", "dataset_type",
                         "acme", "table", "typed", "write_mode", "truncate", "partition", "2026-11",
                         "schema_template", "typed", "table_config", "time_partitioning", "field",
                         "day", "type", "MONTH", "clustering_fields", "name");
    case 2:
        return json_pack("{s:s, s:s, s:s, s:s}", "dataset_type", "acme", "table", "typed_all",
                         "write_mode", "truncate", "schema_template", "typed");
    default:
        return json_pack("{s:s, s:s, s:s}", "dataset_type", "acme", "table", "free", "write_mode",
                         "truncate");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"file.csv", "file.jsonl", "file.csv.gz", "file.ndjson"};
    static const char delims[] = {',', ';', '\t', '|'};
    if (size < 1)
        return 0;
    uint8_t pick = data[0];
    cvg_rows_opts_t opts = {.delimiter = delims[(pick >> 4) & 3]};
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_rows_t *rows = cvg_rows_new_mem(data + 1, size - 1, names[(pick >> 2) & 3], &opts, &err);
    if (rows == NULL)
        return 0;
    proc_ctx_t ctx = {.wh = wh,
                      .cfg = &cfg,
                      .tenant_id = "acme",
                      .run_id = "0190a3c4-7b2e-7c1d-9e4f-0a1b2c3d4e5f",
                      .pipeline_id = "fuzz_loader",
                      .step_id = "load",
                      .triggered_by = "fuzz"};
    proc_result_t res = {.rows = -1};
    json_t *dest = destination(pick & 3);
    wrk_dest_t d;
    if (wrk_dest_parse(&ctx, "file.data_loader", dest, &d, &res) == 0) {
        wrk_load_opts_t lo = {.max_bad_rows = pick & 0x40 ? 0 : 1000,
                              .max_bad_percent = pick & 0x80 ? 50.0 : -1};
        json_t *detail = json_object();
        wrk_load_rows(&ctx, rows, &d, &lo, detail, &res);
        json_decref(detail);
        wrk_dest_cleanup(&d);
    }
    if ((pick & 3) == 3) {
        /* the next file makes its own table */
        cvg_wh_exec(wh, "DROP TABLE IF EXISTS \"acme\".\"free\"", NULL, 0, NULL, NULL, NULL, &err);
    }
    json_decref(res.detail);
    json_decref(dest);
    cvg_rows_destroy(&rows);
    return 0;
}
