/*
 * Configuration: defaults, expansion of {NAME} in defaults, a clear error
 * naming the variable for each kind of bad value, flags, and .env files.
 */
#include "common/config.h"
#include "common/fs.h"
#include "common/log.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct kv {
    const char *names[8];
    const char *values[8];
} kv_t;

static const char *lookup(void *ud, const char *name)
{
    kv_t *kv = ud;
    for (int i = 0; i < 8 && kv->names[i]; i++) {
        if (strcmp(kv->names[i], name) == 0)
            return kv->values[i];
    }
    return NULL;
}

static void test_config_defaults(void)
{
    kv_t kv = {{NULL}, {NULL}};
    cvg_config_t cfg;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_config_load(&cfg, lookup, &kv, &err), 0);
    CU_ASSERT_EQUAL(cfg.api_port, 8000);
    CU_ASSERT_EQUAL(cfg.log_level, CVG_LOG_INFO);
    CU_ASSERT_EQUAL(cfg.workers, 2);
    CU_ASSERT_EQUAL(cfg.logger_batch_size, 100);
    CU_ASSERT_EQUAL(cfg.logger_batch_ms, 100);
    CU_ASSERT_STRING_EQUAL(cfg.warehouse_url, "sqlite://./var/warehouse");
    CU_ASSERT_STRING_EQUAL(cfg.control_endpoint, "ipc://./var/run/control.sock");
    CU_ASSERT_STRING_EQUAL(cfg.control_bind, cfg.control_endpoint);
    CU_ASSERT_STRING_EQUAL(cfg.admin_api_key, "");
}

static void test_config_expands_defaults(void)
{
    kv_t kv = {{"CVG_VAR_DIR", "CVG_EVENTS_ENDPOINT", "LOG_LEVEL", "API_PORT"},
               {"/srv/cvg", "tcp://logger:7004", "debug", "9090"}};
    cvg_config_t cfg;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_config_load(&cfg, lookup, &kv, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.run_dir, "/srv/cvg/run");
    CU_ASSERT_STRING_EQUAL(cfg.warehouse_url, "sqlite:///srv/cvg/warehouse");
    CU_ASSERT_STRING_EQUAL(cfg.jobs_endpoint, "ipc:///srv/cvg/run/jobs.sock");
    CU_ASSERT_STRING_EQUAL(cfg.events_endpoint, "tcp://logger:7004");
    CU_ASSERT_STRING_EQUAL(cfg.events_bind, "tcp://logger:7004");
    CU_ASSERT_EQUAL(cfg.log_level, CVG_LOG_DEBUG);
    CU_ASSERT_EQUAL(cfg.api_port, 9090);
}

static void test_config_errors_name_the_variable(void)
{
    static const struct {
        const char *name, *value, *fragment;
    } cases[] = {
        {"API_PORT", "abc", "not an integer in 1..65535"},
        {"API_PORT", "0", "not an integer"},
        {"API_PORT", "65536", "not an integer"},
        {"API_PORT", "80 ", "not an integer"},
        {"LOG_LEVEL", "LOUD", "DEBUG, INFO, WARNING, ERROR"},
        {"WAREHOUSE_URL", "mysql://x", "sqlite://"},
        {"WAREHOUSE_URL", "sqlite://", "sqlite://"},
        {"CVG_CONTROL_ENDPOINT", "http://x", "ipc://, tcp://"},
        {"CVG_JOBS_ENDPOINT", "tcp://host", "tcp://HOST:PORT"},
        {"CVG_JOBS_ENDPOINT", "tcp://host:99999", "tcp://HOST:PORT"},
        {"ADMIN_API_KEY", "short", "too short"},
        {"WORKERS", "-1", "1..64"},
        {"CVG_LOGGER_BATCH_SIZE", "100000", "1..10000"},
        {"ENVIRONMENT", "prod\nx", "control characters"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kv_t kv = {{cases[i].name}, {cases[i].value}};
        cvg_config_t cfg;
        cvg_err_t err;
        cvg_err_clear(&err);
        CU_ASSERT_EQUAL(cvg_config_load(&cfg, lookup, &kv, &err), CVG_ECONFIG);
        CU_ASSERT_STRING_EQUAL(err.field, cases[i].name);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].name));
        if (strstr(err.message, cases[i].fragment) == NULL)
            printf("\n  %s=%s gave: %s\n", cases[i].name, cases[i].value, err.message);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].fragment));
    }
    /* A long ipc path would not fit in sun_path. */
    char path[200] = "ipc:///";
    memset(path + 7, 'a', 150);
    path[157] = '\0';
    kv_t kv = {{"CVG_STREAM_ENDPOINT"}, {path}};
    cvg_config_t cfg;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_config_load(&cfg, lookup, &kv, &err), CVG_ECONFIG);
    CU_ASSERT_STRING_EQUAL(err.field, "CVG_STREAM_ENDPOINT");
}

static void test_config_flags_map_to_variables(void)
{
    CU_ASSERT_STRING_EQUAL(cvg_config_flag_to_name("--api-port"), "API_PORT");
    CU_ASSERT_STRING_EQUAL(cvg_config_flag_to_name("--log-level"), "LOG_LEVEL");
    CU_ASSERT_STRING_EQUAL(cvg_config_flag_to_name("--warehouse-url"), "WAREHOUSE_URL");
    CU_ASSERT_STRING_EQUAL(cvg_config_flag_to_name("--run-dir"), "CVG_RUN_DIR");
    CU_ASSERT_STRING_EQUAL(cvg_config_flag_to_name("--logger-batch-ms"), "CVG_LOGGER_BATCH_MS");
    CU_ASSERT_PTR_NULL(cvg_config_flag_to_name("--api"));
    CU_ASSERT_PTR_NULL(cvg_config_flag_to_name("--api-port-x"));
    CU_ASSERT_PTR_NULL(cvg_config_flag_to_name("api-port"));
}

static void test_config_dotenv(void)
{
    char *dir = tmpdir_new("env");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[512];
    snprintf(path, sizeof(path), "%s/.env", dir);
    FILE *f = fopen(path, "w");
    fputs("# a comment\n\nCVGT_PLAIN=one\nexport CVGT_EXPORTED=two\nCVGT_QUOTED=\"three "
          "words\"\nCVGT_SINGLE='x=y'\nCVGT_KEPT=from_file\n",
          f);
    fclose(f);
    setenv("CVGT_KEPT", "from_env", 1);
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_dotenv_load(path, false, &err), 0);
    CU_ASSERT_STRING_EQUAL(getenv("CVGT_PLAIN"), "one");
    CU_ASSERT_STRING_EQUAL(getenv("CVGT_EXPORTED"), "two");
    CU_ASSERT_STRING_EQUAL(getenv("CVGT_QUOTED"), "three words");
    CU_ASSERT_STRING_EQUAL(getenv("CVGT_SINGLE"), "x=y");
    CU_ASSERT_STRING_EQUAL(getenv("CVGT_KEPT"), "from_env");

    f = fopen(path, "w");
    fputs("CVGT_OK=1\nthis line is wrong\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(cvg_dotenv_load(path, false, &err), CVG_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, ":2:"));
    f = fopen(path, "w");
    fputs("1BAD=1\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(cvg_dotenv_load(path, false, &err), CVG_ECONFIG);
    unlink(path);
    CU_ASSERT_EQUAL(cvg_dotenv_load(path, true, &err), 0);
    CU_ASSERT_EQUAL(cvg_dotenv_load(path, false, &err), CVG_EIO);
    tmpdir_remove(&dir);
}

/* Every variable is explained to operators: in .env.example and in the
 * configuration table of docs/operations.md. A new variable cannot be
 * forgotten there. */
static void test_config_every_variable_documented(void)
{
    static const char *const files[] = {".env.example", "docs/operations.md"};
    for (size_t f = 0; f < 2; f++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", source_dir(), files[f]);
        char *text = NULL;
        size_t len = 0;
        cvg_err_t err;
        CU_ASSERT_EQUAL_FATAL(cvg_fs_read_file(path, 1 << 20, &text, &len, &err), 0);
        for (size_t i = 0; i < cvg_config_count(); i++) {
            const char *name = cvg_config_name(i);
            if (strcmp(name, "CVG_TEST_FAULT") == 0) /* test builds only */
                continue;
            char quoted[128];
            snprintf(quoted, sizeof(quoted), f == 0 ? "%s=" : "`%s`", name);
            if (strstr(text, quoted) == NULL) {
                printf("\n  %s does not mention %s", files[f], quoted);
                CU_FAIL("undocumented configuration variable");
            }
        }
        free(text);
    }
}

static CU_TestInfo tests[] = {
    {"test_config_every_variable_documented", test_config_every_variable_documented},
    {"test_config_defaults", test_config_defaults},
    {"test_config_expands_defaults", test_config_expands_defaults},
    {"test_config_errors_name_the_variable", test_config_errors_name_the_variable},
    {"test_config_flags_map_to_variables", test_config_flags_map_to_variables},
    {"test_config_dotenv", test_config_dotenv},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_config = {"unit_config", NULL, NULL, tests, 30};
