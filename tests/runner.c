/*
 * The test runner: every suite in its own forked child with a timeout, so
 * a crash or a hang fails that suite and not the run. Arguments filter
 * suites by substring ("unit", "codec"). Ends with one line
 * "N passed, N failed" and exits non-zero when anything failed.
 */
/* nftw() is an XSI interface. */
#define _XOPEN_SOURCE 700
#include "tests/tests.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/schema.h"
#include "common/warehouse.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <time.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* Every suite, one per line: unit suites first, then the real cluster. */
// clang-format off
extern const cvg_suite_t suite_buf;
extern const cvg_suite_t suite_utf8;
extern const cvg_suite_t suite_codec;
extern const cvg_suite_t suite_config;
extern const cvg_suite_t suite_id_time;
extern const cvg_suite_t suite_cron;
extern const cvg_suite_t suite_cidr;
extern const cvg_suite_t suite_json;
extern const cvg_suite_t suite_yaml;
extern const cvg_suite_t suite_schema;
extern const cvg_suite_t suite_sqlite;
extern const cvg_suite_t suite_sqlite_stmts;
extern const cvg_suite_t suite_sqlite_walbuf;
extern const cvg_suite_t suite_pipeline;
extern const cvg_suite_t suite_paramdecl;
extern const cvg_suite_t suite_importpath;
extern const cvg_suite_t suite_pipecache;
extern const cvg_suite_t suite_sink;
extern const cvg_suite_t suite_routes;
extern const cvg_suite_t suite_bus;
extern const cvg_suite_t suite_queue;
extern const cvg_suite_t suite_log;
extern const cvg_suite_t suite_apikey;
extern const cvg_suite_t suite_crypto;
extern const cvg_suite_t suite_tenant;
extern const cvg_suite_t suite_emitter;
extern const cvg_suite_t suite_ratelimit;
extern const cvg_suite_t suite_runcache;
extern const cvg_suite_t suite_sqltmpl;
extern const cvg_suite_t suite_rows;
extern const cvg_suite_t suite_etl;
extern const cvg_suite_t suite_psschema;
extern const cvg_suite_t suite_tail;
extern const cvg_suite_t suite_dq;
extern const cvg_suite_t suite_outbound;
extern const cvg_suite_t suite_mail;
extern const cvg_suite_t suite_cluster;
extern const cvg_suite_t suite_cluster_partial;
extern const cvg_suite_t suite_supervisor;
extern const cvg_suite_t suite_tenants;
extern const cvg_suite_t suite_pipelines;
extern const cvg_suite_t suite_testsrv;
extern const cvg_suite_t suite_outbound_it;
extern const cvg_suite_t suite_notify;
extern const cvg_suite_t suite_schedules;

static const cvg_suite_t *const suites[] = {
    &suite_buf,
    &suite_utf8,
    &suite_codec,
    &suite_config,
    &suite_id_time,
    &suite_cron,
    &suite_cidr,
    &suite_json,
    &suite_yaml,
    &suite_schema,
    &suite_sqlite,
    &suite_sqlite_stmts,
    &suite_sqlite_walbuf,
    &suite_pipeline,
    &suite_paramdecl,
    &suite_importpath,
    &suite_pipecache,
    &suite_sink,
    &suite_routes,
    &suite_bus,
    &suite_queue,
    &suite_log,
    &suite_apikey,
    &suite_crypto,
    &suite_tenant,
    &suite_emitter,
    &suite_ratelimit,
    &suite_runcache,
    &suite_sqltmpl,
    &suite_rows,
    &suite_etl,
    &suite_psschema,
    &suite_tail,
    &suite_dq,
    &suite_outbound,
    &suite_mail,
    &suite_cluster,
    &suite_cluster_partial,
    &suite_supervisor,
    &suite_tenants,
    &suite_pipelines,
    &suite_testsrv,
    &suite_outbound_it,
    &suite_notify,
    &suite_schedules,
};
// clang-format on

static char bin_path[PATH_MAX];

const char *bin_dir(void)
{
    return bin_path;
}

const char *source_dir(void)
{
    const char *s = getenv("CVG_SOURCE_DIR");
    return s && s[0] ? s : ".";
}

int central_table_create(struct cvg_wh *wh, const char *dataset, const char *table)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/ps_templates/setup/initial/schemas/%s.json", source_dir(),
             table);
    cvg_schema_t s;
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = cvg_schema_load_file(path, &s, &err);
    if (rc == 0) {
        rc = cvg_wh_table_create(wh, dataset, &s, &err);
        cvg_schema_cleanup(&s);
    }
    if (rc != 0)
        printf("\n  cannot create %s.%s: %s\n", dataset, table, err.message);
    return rc;
}

static void *commit_later(void *arg)
{
    lock_holder_t *h = arg;
    struct timespec ts = {h->hold_ms / 1000, (long)(h->hold_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    return NULL;
}

int lock_hold(lock_holder_t *h, const char *path, const char *first_sql, int hold_ms)
{
    sqlite3 *db = NULL;
    h->db = NULL;
    h->hold_ms = hold_ms;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        (first_sql && sqlite3_exec(db, first_sql, NULL, NULL, NULL) != SQLITE_OK) ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        printf("\n  lock_hold %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    h->db = db;
    if (pthread_create(&h->thread, NULL, commit_later, h) != 0) {
        sqlite3_close(db);
        h->db = NULL;
        return -1;
    }
    return 0;
}

void lock_join(lock_holder_t *h)
{
    if (h->db == NULL)
        return;
    pthread_join(h->thread, NULL);
    sqlite3_close(h->db);
    h->db = NULL;
}

/* in gzip-compressed, appended to *out (*len bytes, free() it). */
void gzip_append(const char *in, size_t n, unsigned char **out, size_t *len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    CU_ASSERT_EQUAL_FATAL(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                          Z_OK);
    size_t bound = deflateBound(&zs, (uLong)n) + 64;
    unsigned char *p = realloc(*out, *len + bound);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = p + *len;
    zs.avail_out = (uInt)bound;
    CU_ASSERT_EQUAL(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *len += zs.total_out;
    *out = p;
    deflateEnd(&zs);
}

char *tmpdir_new(const char *prefix)
{
    char tmpl[256];
    snprintf(tmpl, sizeof(tmpl), "/tmp/cvg-%s-XXXXXX", prefix);
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tmpdir_remove(char **dir)
{
    if (dir == NULL || *dir == NULL)
        return;
    nftw(*dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(*dir);
    *dir = NULL;
}

static const char *copy_src, *copy_dst;

static int copy_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    char to[PATH_MAX];
    if (snprintf(to, sizeof(to), "%s%s", copy_dst, path + strlen(copy_src)) >= (int)sizeof(to))
        return -1;
    if (flag == FTW_D)
        return mkdir(to, 0700) == 0 || errno == EEXIST ? 0 : -1;
    if (flag != FTW_F)
        return 0;
    cvg_err_t err;
    char *data = NULL;
    size_t len = 0;
    if (cvg_fs_read_file(path, (size_t)st->st_size + 1, &data, &len, &err) != 0)
        return -1;
    int rc = cvg_fs_write_file(to, data, len, 0600, &err);
    free(data);
    return rc;
}

int tree_copy(const char *src, const char *dst)
{
    copy_src = src;
    copy_dst = dst;
    return nftw(src, copy_one, 16, FTW_PHYS);
}

/* Stops whatever a finished suite left running: TERM, then KILL after 10 s. */
static void reap_group(pid_t pgid)
{
    if (kill(-pgid, SIGTERM) != 0)
        return; /* nothing left */
    for (int i = 0; i < 200 && kill(-pgid, 0) == 0; i++) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (kill(-pgid, 0) == 0) {
        printf("\n(leftover processes of the suite killed)\n");
        kill(-pgid, SIGKILL);
    }
}

static size_t count_tests(const cvg_suite_t *s)
{
    size_t n = 0;
    while (s->tests[n].pName)
        n++;
    return n;
}

/* Runs one suite in this process; returns failures, writes counts to fd. */
static void run_suite_child(const cvg_suite_t *s, int fd)
{
    alarm((unsigned)s->timeout_s);
    CU_initialize_registry();
    CU_pSuite suite = CU_add_suite(s->name, s->init, s->cleanup);
    for (size_t i = 0; s->tests[i].pName; i++)
        CU_add_test(suite, s->tests[i].pName, s->tests[i].pTestFunc);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_suite(suite);
    unsigned run = CU_get_number_of_tests_run();
    unsigned failed = CU_get_number_of_tests_failed();
    /* A failing suite init counts every test as failed. */
    if (CU_get_number_of_suites_failed() > 0) {
        failed = (unsigned)count_tests(s);
        run = failed;
    }
    char line[64];
    int n = snprintf(line, sizeof(line), "%u %u\n", run, failed);
    if (write(fd, line, (size_t)n) != n)
        perror("write");
    CU_cleanup_registry();
}

static bool selected(const char *name, int argc, char **argv)
{
    if (argc <= 1)
        return true;
    for (int i = 1; i < argc; i++) {
        if (strstr(name, argv[i]) != NULL)
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    ssize_t len = readlink("/proc/self/exe", bin_path, sizeof(bin_path) - 1);
    if (len <= 0)
        return 2;
    bin_path[len] = '\0';
    char *slash = strrchr(bin_path, '/');
    if (slash)
        *slash = '\0';
    setvbuf(stdout, NULL, _IONBF, 0);
    /* Suites that run pipelines in-process log what the runs do; only
     * errors are worth showing among the test results (CVG_TEST_LOG=INFO
     * shows all). */
    cvg_log_level_t level = CVG_LOG_ERROR;
    const char *want = getenv("CVG_TEST_LOG");
    if (want)
        cvg_log_level_parse(want, &level);
    cvg_log_init("test", level);
    unsigned passed = 0, failed = 0;
    char failed_suites[4096] = "";
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        const cvg_suite_t *s = suites[i];
        if (!selected(s->name, argc, argv))
            continue;
        int fds[2];
        if (pipe(fds) != 0)
            return 2;
        /* The cluster processes a suite starts must not hold the result
         * pipe open, or reading it would wait for them. */
        fcntl(fds[0], F_SETFD, FD_CLOEXEC);
        fcntl(fds[1], F_SETFD, FD_CLOEXEC);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            /* Its own process group, so everything it starts can be
             * stopped with it, even when it crashed or timed out. */
            setpgid(0, 0);
            close(fds[0]);
            run_suite_child(s, fds[1]);
            close(fds[1]);
            exit(0);
        }
        close(fds[1]);
        char buf[64] = "";
        ssize_t got = 0, r;
        while ((r = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
            got += r;
        buf[got > 0 ? got : 0] = '\0';
        close(fds[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        reap_group(pid);
        unsigned run = 0, bad = 0;
        bool ok =
            sscanf(buf, "%u %u", &run, &bad) == 2 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok) {
            unsigned n = (unsigned)count_tests(s);
            printf("\nSUITE %s did not finish (%s %d): its %u tests count as failed\n", s->name,
                   WIFSIGNALED(status) ? "signal" : "exit code",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), n);
            run = n;
            bad = n;
        }
        passed += run - bad;
        failed += bad;
        if (bad > 0) {
            size_t used = strlen(failed_suites);
            snprintf(failed_suites + used, sizeof(failed_suites) - used, " %s", s->name);
        }
    }
    if (failed > 0)
        printf("\nfailed suites:%s\n", failed_suites);
    printf("\n%u passed, %u failed\n", passed, failed);
    return failed > 0 ? 1 : 0;
}
