/*
 * The gateway's cache of validated pipeline configs: a config is read and
 * validated once, kept while its file is unchanged, read again after an
 * edit once CVG_CONFIG_RECHECK_MS has passed, and a broken edit is
 * reported, not cached.
 */
#include "common/fs.h"
#include "gateway/pipecache.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char good[] = "pipeline_id: first\ndescription: d\nsteps:\n"
                           "  - step_id: s\n    ps_type: gcp.bq_etl\n"
                           "    source: {query: SELECT 1 AS x}\n"
                           "    destination: {dataset_type: \"{tenant_id}\", table: t}\n";

static void write_config(const char *dir, const char *text)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/configs/test/cache", dir);
    CU_ASSERT_EQUAL_FATAL(cvg_fs_mkdir_p(path, 0700, NULL), 0);
    snprintf(path, sizeof(path), "%s/configs/test/cache/p.yml", dir);
    /* a new file (new inode), as editors write them */
    char tmp[1300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    CU_ASSERT_EQUAL_FATAL(cvg_fs_write_file(tmp, text, strlen(text), 0600, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(rename(tmp, path), 0);
}

static const char *id_of(gw_pipecache_t *pc, cvg_errlist_t *errs, int *rc)
{
    const gw_pipe_t *p = NULL;
    cvg_err_t err;
    *rc = gw_pipecache_get(pc, "test/cache/p", &p, errs, &err);
    static char id[CVG_NAME_MAX];
    snprintf(id, sizeof(id), "%s", p ? p->p.pipeline_id : "");
    gw_pipecache_put(pc, p);
    return id;
}

static void test_pipecache_reads_again_after_an_edit(void)
{
    char *dir = tmpdir_new("pipecache");
    cvg_config_t cfg = {0};
    snprintf(cfg.config_dir, sizeof(cfg.config_dir), "%s/configs", dir);
    snprintf(cfg.templates_dir, sizeof(cfg.templates_dir), "%s/ps_templates", source_dir());
    cvg_errlist_t *errs = cvg_errlist_new();
    int rc = 0;
    write_config(dir, good);

    /* within the recheck time the file is not looked at: the edit waits */
    cfg.config_recheck_ms = 60000;
    gw_pipecache_t *pc = gw_pipecache_new(&cfg, NULL);
    CU_ASSERT_STRING_EQUAL(id_of(pc, errs, &rc), "first");
    CU_ASSERT_EQUAL(rc, 0);
    char edited[sizeof(good)];
    memcpy(edited, good, sizeof(good));
    memcpy(strstr(edited, "first"), "other", 5);
    write_config(dir, edited);
    CU_ASSERT_STRING_EQUAL(id_of(pc, errs, &rc), "first");
    gw_pipecache_destroy(&pc);

    /* looked at on every request: the edit is seen at once */
    cfg.config_recheck_ms = 0;
    pc = gw_pipecache_new(&cfg, NULL);
    CU_ASSERT_STRING_EQUAL(id_of(pc, errs, &rc), "other");
    write_config(dir, good);
    CU_ASSERT_STRING_EQUAL(id_of(pc, errs, &rc), "first");
    /* a broken edit: its errors, and the old config no longer served */
    write_config(dir, "pipeline_id: first\nsteps: []\n");
    CU_ASSERT_STRING_EQUAL(id_of(pc, errs, &rc), "");
    CU_ASSERT_EQUAL(rc, CVG_EINVAL);
    CU_ASSERT(errs->n >= 2);
    /* and a config that goes away is not found */
    char path[1200];
    snprintf(path, sizeof(path), "%s/configs/test/cache/p.yml", dir);
    unlink(path);
    CU_ASSERT_STRING_EQUAL(id_of(pc, errs, &rc), "");
    CU_ASSERT_EQUAL(rc, CVG_ENOTFOUND);
    gw_pipecache_destroy(&pc);
    free(errs);
    tmpdir_remove(&dir);
}

static CU_TestInfo tests[] = {
    {"test_pipecache_reads_again_after_an_edit", test_pipecache_reads_again_after_an_edit},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_pipecache = {"unit_pipecache", NULL, NULL, tests, 30};
