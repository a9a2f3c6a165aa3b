/*
 * Local files a tenant may read: the shared import directories and its
 * own; never another tenant's, never out through .. or a symbolic link, and
 * a path outside gets the same answer whether or not the file exists.
 */
#include "common/fs.h"
#include "common/importpath.h"
#include "tests/tests.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static cvg_config_t cfg;

static void put(const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("a,b\n1,2\n", f);
    fclose(f);
}

static int setup(void)
{
    dir = tmpdir_new("importpath");
    static const char *const dirs[] = {"shared", "imports", "imports/acme", "imports/acme/sub",
                                       "imports/other"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, dirs[i]);
        if (mkdir(path, 0755) != 0)
            return 1;
    }
    snprintf(cfg.shared_import_dirs, sizeof(cfg.shared_import_dirs), "%s/shared", dir);
    snprintf(cfg.import_dir, sizeof(cfg.import_dir), "%s/imports", dir);
    return 0;
}

static int teardown(void)
{
    tmpdir_remove(&dir);
    return 0;
}

/* The answer for acme: its code, and the message in why. */
static int check(const char *prefix, const char *rel, char *why, size_t size)
{
    char uri[PATH_MAX], out[PATH_MAX];
    snprintf(uri, sizeof(uri), "%s%s/%s", prefix, dir, rel);
    cvg_err_t err;
    cvg_err_clear(&err);
    int rc = cvg_import_path(&cfg, "acme", uri, out, sizeof(out), &err);
    snprintf(why, size, "%.1100s", rc == 0 ? out : err.message);
    return rc;
}

static void test_importpath_allowed_and_refused(void)
{
    put("shared/export.csv");
    put("imports/acme/mine.csv");
    put("imports/acme/sub/deep.csv");
    put("imports/other/theirs.csv");
    char link[PATH_MAX];
    snprintf(link, sizeof(link), "%s/imports/acme/passwd", dir);
    CU_ASSERT_EQUAL_FATAL(symlink("/etc/passwd", link), 0);
    snprintf(link, sizeof(link), "%s/imports/acme/theirs", dir);
    char target[PATH_MAX];
    snprintf(target, sizeof(target), "%s/imports/other/theirs.csv", dir);
    CU_ASSERT_EQUAL_FATAL(symlink(target, link), 0);

    static const struct {
        const char *prefix, *rel;
        int rc;
        const char *why;
    } cases[] = {
        {"file://", "shared/export.csv", 0, "/shared/export.csv"},
        {"file://", "imports/acme/mine.csv", 0, "/imports/acme/mine.csv"},
        {"file://", "imports/acme/sub/./deep.csv", 0, "/imports/acme/sub/deep.csv"},
        /* ".." is refused whether it stays inside or not */
        {"file://", "imports/acme/sub/../sub/deep.csv", CVG_EINVAL, "may not contain '..'"},
        {"", "imports/acme/mine.csv", 0, "/imports/acme/mine.csv"},
        {"file://", "imports/acme/missing.csv", CVG_ENOTFOUND, "no such file"},
        {"file://", "imports/other/theirs.csv", CVG_EINVAL, "is outside the directories"},
        /* another tenant's missing file: the same answer as an existing one */
        {"file://", "imports/other/nothing.csv", CVG_EINVAL, "is outside the directories"},
        {"file://", "imports/acme/../other/theirs.csv", CVG_EINVAL, "may not contain '..'"},
        {"file://", "imports/acme/%2e%2e/other/theirs.csv", CVG_EINVAL, "may not contain '..'"},
        {"file://", "imports/acme/passwd", CVG_EINVAL,
         "leads through a symbolic link outside the directories"},
        {"file://", "imports/acme/theirs", CVG_EINVAL,
         "leads through a symbolic link outside the directories"},
        {"file://", "imports/acme/sub", CVG_EINVAL, "is a directory, not a file"},
        {"file://", "imports/acme", CVG_EINVAL, "is a directory, not a file"},
        {"file://", "../../../../../../etc/passwd", CVG_EINVAL, "may not contain '..'"},
        {"file://", "../../../../../../etc/no-such-file", CVG_EINVAL, "may not contain '..'"},
        {"https://example.com", "x.csv", CVG_EINVAL, "not a file:// URI"},
        {"file:", "x.csv", CVG_EINVAL, "is outside the directories"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[1200];
        int rc = check(cases[i].prefix, cases[i].rel, why, sizeof(why));
        if (rc != cases[i].rc || strstr(why, cases[i].why) == NULL)
            printf("\n  case %zu (%s): rc %d, '%s'", i, cases[i].rel, rc, why);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, cases[i].why));
    }
    /* a shared root written through a symbolic link and "..": the root is
     * where it resolves to, not where its spelling points */
    static const char *const more[] = {"a", "x", "x/y", "x/b", "a/b"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, more[i]);
        CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
    }
    put("x/b/ok.csv");
    put("a/b/secret.csv");
    snprintf(link, sizeof(link), "%s/a/link", dir);
    snprintf(target, sizeof(target), "%s/x/y", dir);
    CU_ASSERT_EQUAL_FATAL(symlink(target, link), 0);
    cvg_config_t tricky = cfg;
    snprintf(tricky.shared_import_dirs, sizeof(tricky.shared_import_dirs), "%s/a/link/../b", dir);
    char got[PATH_MAX], uri2[PATH_MAX];
    cvg_err_t e2;
    snprintf(uri2, sizeof(uri2), "file://%s/x/b/ok.csv", dir);
    CU_ASSERT_EQUAL(cvg_import_path(&tricky, "acme", uri2, got, sizeof(got), &e2), 0);
    snprintf(uri2, sizeof(uri2), "file://%s/a/b/secret.csv", dir);
    CU_ASSERT_EQUAL(cvg_import_path(&tricky, "acme", uri2, got, sizeof(got), &e2), CVG_EINVAL);

    /* the refusal names the directories as a file:// URI must: absolute */
    char why[1200], want[PATH_MAX + 40];
    CU_ASSERT_EQUAL(check("file://", "imports/other/theirs.csv", why, sizeof(why)), CVG_EINVAL);
    snprintf(want, sizeof(want), "%s/imports/acme)", dir);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, want));

    /* another tenant reads its own, not acme's */
    char out[PATH_MAX], uri[PATH_MAX];
    cvg_err_t err;
    snprintf(uri, sizeof(uri), "file://%s/imports/other/theirs.csv", dir);
    CU_ASSERT_EQUAL(cvg_import_path(&cfg, "other", uri, out, sizeof(out), &err), 0);
    snprintf(uri, sizeof(uri), "file://%s/imports/acme/mine.csv", dir);
    CU_ASSERT_EQUAL(cvg_import_path(&cfg, "other", uri, out, sizeof(out), &err), CVG_EINVAL);
}

static CU_TestInfo tests[] = {
    {"test_importpath_allowed_and_refused", test_importpath_allowed_and_refused},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_importpath = {"unit_importpath", setup, teardown, tests, 30};
