/*
 * cvg-run, the supervisor behind `make run`: with no admin key configured
 * it makes one (mode 0600), starts the cluster, bootstraps it, onboards
 * the demo tenant (its key kept with mode 0600) and prints where things are; it restarts a process
 * that dies and says so; SIGINT (Ctrl-C) stops everything with exit code 0 and leaves no process
 * behind; started again on the same warehouse, it brings it up to date.
 */
#include "common/fs.h"
#include "common/time.h"
#include "tests/integration/harness.h"
#include "tests/tests.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>

static cluster_t c;
static proc_t *run;
static pid_t children[16];
static int nchildren;

static int setup(void)
{
    if (cluster_prepare(&c, true) != 0)
        return 1;
    const char *args[] = {"--bin-dir", bin_dir(), "--no-tail", NULL};
    const char *env[] = {"WORKERS=2", NULL};
    run = cluster_spawn(&c, "cvg-run", "cvg-run", args, env);
    return run ? 0 : 1;
}

static int teardown(void)
{
    int bad = cluster_destroy(&c);
    return bad != 0;
}

/* Children of pid whose command is comm, from /proc. */
static int find_children(pid_t parent, const char *comm, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && n < max) {
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* pid (comm) state ppid ... */
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        if (!open || !close)
            continue;
        *close = '\0';
        long ppid = strtol(close + 4, NULL, 10);
        if (ppid == parent && strcmp(open + 1, comm) == 0)
            out[n++] = (pid_t)strtol(buf, NULL, 10);
    }
    if (d)
        closedir(d);
    return n;
}

static void test_supervisor_starts_and_bootstraps(void)
{
    CU_ASSERT_TRUE_FATAL(cluster_wait_log(&c, "cvg-run", "Convergence is running", 30000));
    char key_path[700];
    snprintf(key_path, sizeof(key_path), "%s/var/admin_api_key", c.dir);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(key_path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run", key_path, 100));
    CU_ASSERT_TRUE(
        cluster_wait_log(&c, "cvg-run", "Bootstrap    done: 12 central tables created", 100));
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run", "logger and 2 workers.", 100));
    json_t *body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/ready", NULL, NULL, &body), 200);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(
                        json_object_get(json_object_get(body, "checks"), "workers"), "alive")),
                    2);
    json_decref(body);
    /* The printed bootstrap command works with the generated key. */
    char *key = NULL;
    CU_ASSERT_EQUAL_FATAL(cvg_fs_read_file(key_path, 4096, &key, NULL, NULL), 0);
    key[strcspn(key, "\n")] = '\0';
    char header[200];
    snprintf(header, sizeof(header), "X-Admin-Key: %s", key);
    free(key);
    const char *headers[] = {header, NULL};
    CU_ASSERT_EQUAL(http_request(&c, "POST", "/api/v1/admin/bootstrap", headers, NULL, &body), 200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(body, "tables_existing")), 12);
    json_decref(body);
}

/* A second cvg-run on the address the first one serves: it says the port
 * is taken and stops before writing or starting anything, instead of
 * taking the other cluster's answers for its own. */
static void test_supervisor_refuses_a_taken_port(void)
{
    char var[700], env_var[760], admin[800];
    snprintf(var, sizeof(var), "%s/var-second", c.dir);
    snprintf(env_var, sizeof(env_var), "CVG_VAR_DIR=%s", var);
    snprintf(admin, sizeof(admin), "%s/admin_api_key", var);
    const char *args[] = {"--bin-dir", bin_dir(), "--no-tail", NULL};
    const char *env[] = {"WORKERS=1", env_var, NULL};
    proc_t *second = cluster_spawn(&c, "cvg-run-second", "cvg-run", args, env);
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, second, 30000), EX_UNAVAILABLE);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run-second", "is in use by another program", 100));
    CU_ASSERT_FALSE(cvg_fs_exists(admin));
    /* the first cluster is untouched */
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/ready", NULL, NULL, NULL), 200);
}

static void test_supervisor_onboards_the_demo_tenant(void)
{
    char key_path[700];
    snprintf(key_path, sizeof(key_path), "%s/var/demo_api_key", c.dir);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run", "Demo tenant  demo (its key is in", 100));
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(key_path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    /* The printed curl works: the demo tenant reads itself with its key. */
    char *key = NULL;
    CU_ASSERT_EQUAL_FATAL(cvg_fs_read_file(key_path, 4096, &key, NULL, NULL), 0);
    key[strcspn(key, "\n")] = '\0';
    char header[200];
    snprintf(header, sizeof(header), "X-API-Key: %s", key);
    free(key);
    const char *headers[] = {header, NULL};
    json_t *body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/api/v1/tenants/demo", headers, NULL, &body), 200);
    json_t *sub = json_object_get(body, "subscription");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(sub, "status")), "ACTIVE");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(body, "dataset_id")), "demo");
    json_decref(body);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", "SELECT count(*) FROM tenant_profiles", NULL), 1);
    /* with the sample billing export as its gcp setting, so the cost
     * pipeline runs as the banner shows */
    CU_ASSERT_EQUAL(
        http_request(&c, "GET", "/api/v1/tenants/demo/providers/gcp", headers, NULL, &body), 200);
    const char *uri =
        json_string_value(json_object_get(json_object_get(body, "settings"), "billing_export_uri"));
    CU_ASSERT(uri && strstr(uri, "/samples/gcp_billing_export.csv") != NULL);
    json_decref(body);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run", "/gcp/cost/cost_billing", 100));
}

static void test_supervisor_restarts_a_dead_worker(void)
{
    pid_t workers[4];
    int n = find_children(run->pid, "cvg-worker", workers, 4);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    kill(workers[0], SIGKILL);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run", "exited (signal 9); restart 1 in", 5000));
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run", "restarted (pid", 5000));
    int64_t deadline = cvg_time_mono_ms() + 5000;
    while (find_children(run->pid, "cvg-worker", workers, 4) != 2 && cvg_time_mono_ms() < deadline)
        cvg_time_sleep_ms(50);
    CU_ASSERT_EQUAL(find_children(run->pid, "cvg-worker", workers, 4), 2);
}

static void test_supervisor_ctrl_c_stops_everything(void)
{
    static const char *kinds[] = {"cvg-gateway", "cvg-scheduler", "cvg-worker", "cvg-logger"};
    for (size_t k = 0; k < 4; k++)
        nchildren += find_children(run->pid, kinds[k], children + nchildren, 16 - nchildren);
    CU_ASSERT_EQUAL(nchildren, 5);
    kill(run->pid, SIGINT);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, run, 30000), 0);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run", "cvg-run: stopped", 100));
    for (int i = 0; i < nchildren; i++)
        CU_ASSERT(kill(children[i], 0) != 0 && errno == ESRCH);
    /* Each stopped by itself, not by a kill. */
    char *log = cluster_log(&c, "cvg-run");
    CU_ASSERT_PTR_NULL(strstr(log, "did not stop in time"));
    CU_ASSERT_PTR_NULL(strstr(log, "stopped with exit code"));
    free(log);
}

/* A second start on the same warehouse, as after an upgrade: the index an
 * older build made (the queue's full idempotency index, since retired) is
 * dropped without a manual bootstrap, and the rest is left as it was. */
static void test_supervisor_restart_brings_the_warehouse_up_to_date(void)
{
    static const char old_index[] = "tenant_pipeline_execution_queue__idempotency";
    char sql[300];
    snprintf(sql, sizeof(sql),
             "CREATE INDEX \"%s\" ON tenant_pipeline_execution_queue (tenant_id, "
             "idempotency_key)",
             old_index);
    CU_ASSERT_EQUAL_FATAL(wh_exec(&c, "tenants", sql, NULL), 0);
    const char *index_count =
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = $1";
    CU_ASSERT_EQUAL_FATAL(wh_int(&c, "tenants", index_count, old_index), 1);
    /* and an index this build added lacking */
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants", "DROP INDEX tenant_pipeline_configs__tenant", NULL), 0);
    long long tenants = wh_int(&c, "tenants", "SELECT count(*) FROM tenant_profiles", NULL);
    CU_ASSERT_EQUAL(tenants, 1);

    const char *args[] = {"--bin-dir", bin_dir(), "--no-tail", NULL};
    const char *env[] = {"WORKERS=1", NULL};
    proc_t *again = cluster_spawn(&c, "cvg-run-again", "cvg-run", args, env);
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    CU_ASSERT_TRUE_FATAL(cluster_wait_log(&c, "cvg-run-again", "Convergence is running", 30000));
    char expected[200];
    snprintf(expected, sizeof(expected),
             "Bootstrap    up to date: 12 central tables present, 0 created; indexes added: "
             "tenant_pipeline_configs__tenant; indexes retired: %s",
             old_index);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run-again", expected, 100));
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", index_count, old_index), 0);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", index_count, "tenant_pipeline_configs__tenant"), 1);
    /* the partial index that replaced it is there, and the demo tenant is
     * the one of the first start */
    CU_ASSERT_EQUAL(
        wh_int(&c, "tenants", index_count, "tenant_pipeline_execution_queue__idempotency_set"), 1);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", "SELECT count(*) FROM tenant_profiles", NULL), tenants);
    kill(again->pid, SIGINT);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, again, 30000), 0);
}

/* An upgrade that fails on a warehouse that already has its tables (here
 * the name of an index the schema wants is taken by a table) is a warning:
 * the cluster runs on the tables it has, the demo tenant is checked, and
 * Ctrl-C ends it with exit code 0. */
static void test_supervisor_failed_upgrade_is_a_warning(void)
{
    static const char index[] = "tenant_pipeline_execution_queue__idempotency_set";
    char sql[200];
    snprintf(sql, sizeof(sql), "DROP INDEX \"%s\"", index);
    CU_ASSERT_EQUAL_FATAL(wh_exec(&c, "tenants", sql, NULL), 0);
    snprintf(sql, sizeof(sql), "CREATE TABLE \"%s\" (x TEXT)", index);
    CU_ASSERT_EQUAL_FATAL(wh_exec(&c, "tenants", sql, NULL), 0);

    const char *args[] = {"--bin-dir", bin_dir(), "--no-tail", NULL};
    const char *env[] = {"WORKERS=1", NULL};
    proc_t *third = cluster_spawn(&c, "cvg-run-third", "cvg-run", args, env);
    CU_ASSERT_PTR_NOT_NULL_FATAL(third);
    CU_ASSERT_TRUE_FATAL(cluster_wait_log(&c, "cvg-run-third", "Convergence is running", 30000));
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run-third",
                                    "warning: bringing the warehouse up to date failed", 100));
    CU_ASSERT_TRUE(cluster_wait_log(
        &c, "cvg-run-third", "Bootstrap    central dataset present; bringing it up to date FAILED",
        100));
    CU_ASSERT_TRUE(cluster_wait_log(&c, "cvg-run-third", "Demo tenant  demo (its key is in", 100));
    json_t *body = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health/ready", NULL, NULL, &body), 200);
    json_decref(body);
    kill(third->pid, SIGINT);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, third, 30000), 0);
}

static CU_TestInfo tests[] = {
    {"test_supervisor_starts_and_bootstraps", test_supervisor_starts_and_bootstraps},
    {"test_supervisor_refuses_a_taken_port", test_supervisor_refuses_a_taken_port},
    {"test_supervisor_onboards_the_demo_tenant", test_supervisor_onboards_the_demo_tenant},
    {"test_supervisor_restarts_a_dead_worker", test_supervisor_restarts_a_dead_worker},
    {"test_supervisor_ctrl_c_stops_everything", test_supervisor_ctrl_c_stops_everything},
    {"test_supervisor_restart_brings_the_warehouse_up_to_date",
     test_supervisor_restart_brings_the_warehouse_up_to_date},
    {"test_supervisor_failed_upgrade_is_a_warning", test_supervisor_failed_upgrade_is_a_warning},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_supervisor = {"integration_supervisor", setup, teardown, tests, 120};
