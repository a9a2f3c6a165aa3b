/*
 * The safe YAML loader: core-schema scalars, and refusal of anchors,
 * aliases, tags, duplicate keys, deep nesting and oversized input.
 */
#include "common/fs.h"
#include "common/yaml.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static json_t *load(const char *text, int *rc, cvg_err_t *err)
{
    json_t *doc = NULL;
    *rc = cvg_yaml_load_string(text, strlen(text), "test.yml", &doc, err);
    return doc;
}

static void test_yaml_scalars(void)
{
    int rc;
    cvg_err_t err;
    json_t *doc = load("s: hello\nq: \"42\"\ni: 42\nneg: -7\nhex: 0x1f\nf: 2.5\ne: 1e3\n"
                       "t: true\nT: True\nn: null\ntilde: ~\nempty:\nyes_is_text: yes\n"
                       "date: 2026-11-25\nlist: [a, 1, false]\nblock: |\n  line one\n  line two\n",
                       &rc, &err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "s")), "hello");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "q")), "42");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "i")), 42);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "neg")), -7);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "hex")), 31);
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(doc, "f")), 2.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(doc, "e")), 1000.0, 1e-9);
    CU_ASSERT(json_is_true(json_object_get(doc, "t")));
    CU_ASSERT(json_is_true(json_object_get(doc, "T")));
    CU_ASSERT(json_is_null(json_object_get(doc, "n")));
    CU_ASSERT(json_is_null(json_object_get(doc, "tilde")));
    CU_ASSERT(json_is_null(json_object_get(doc, "empty")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "yes_is_text")), "yes");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "date")), "2026-11-25");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "list")), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "block")),
                           "line one\nline two\n");
    json_decref(doc);
}

static void test_yaml_refuses_anchors_aliases_tags(void)
{
    static const char *bad[] = {
        "a: &x 1\nb: *x\n",
        "base: &b {k: v}\nother: *b\n",
        "a: !!python/object:os.system echo\n",
        "a: !custom 1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        cvg_err_t err;
        json_t *doc = load(bad[i], &rc, &err);
        CU_ASSERT_EQUAL(rc, CVG_EINVAL);
        CU_ASSERT_PTR_NULL(doc);
        CU_ASSERT(strstr(err.message, "not allowed") != NULL);
    }
}

static void test_yaml_refuses_alias_bomb(void)
{
    const char *bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                       "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                       "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n";
    int rc;
    cvg_err_t err;
    json_t *doc = load(bomb, &rc, &err);
    CU_ASSERT_EQUAL(rc, CVG_EINVAL);
    CU_ASSERT_PTR_NULL(doc);
}

static void test_yaml_refuses_deep_nesting(void)
{
    enum { DEPTH = 10000 };
    char *deep = malloc(2 * DEPTH + 2);
    memset(deep, '[', DEPTH);
    memset(deep + DEPTH, ']', DEPTH);
    deep[2 * DEPTH] = '\n';
    deep[2 * DEPTH + 1] = '\0';
    int rc;
    cvg_err_t err;
    json_t *doc = load(deep, &rc, &err);
    CU_ASSERT_EQUAL(rc, CVG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "deeper than 64"));
    CU_ASSERT_PTR_NULL(doc);
    free(deep);
    /* 64 levels are fine. */
    char ok[200];
    memset(ok, '[', 64);
    memset(ok + 64, ']', 64);
    ok[128] = '\0';
    doc = load(ok, &rc, &err);
    CU_ASSERT_EQUAL(rc, 0);
    json_decref(doc);
}

static void test_yaml_refuses_duplicates_documents_and_size(void)
{
    int rc;
    cvg_err_t err;
    json_t *doc = load("a: 1\nb: 2\na: 3\n", &rc, &err);
    CU_ASSERT_EQUAL(rc, CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "duplicate key 'a'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "test.yml:3"));
    doc = load("a: 1\n---\nb: 2\n", &rc, &err);
    CU_ASSERT_EQUAL(rc, CVG_EINVAL);
    doc = load("a: [1, 2\n", &rc, &err);
    CU_ASSERT_EQUAL(rc, CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "test.yml:"));
    doc = load("", &rc, &err);
    CU_ASSERT_EQUAL(rc, CVG_EINVAL);
    doc = load("? [a, b]\n: c\n", &rc, &err);
    CU_ASSERT_EQUAL(rc, CVG_EINVAL);
    size_t big = CVG_YAML_MAX_BYTES + 1;
    char *huge = malloc(big + 1);
    memset(huge, '#', big);
    huge[big] = '\0';
    rc = cvg_yaml_load_string(huge, big, "huge.yml", &doc, &err);
    CU_ASSERT_EQUAL(rc, CVG_ETOOBIG);
    free(huge);
    CU_ASSERT_PTR_NULL(doc);
}

static void test_yaml_refuses_big_file_before_reading(void)
{
    char *dir = tmpdir_new("yaml");
    char path[512];
    snprintf(path, sizeof(path), "%s/big.yml", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 60000; i++)
        fputs("key_with_some_length: value with some length too\n", f);
    fclose(f);
    json_t *doc = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_yaml_load_file(path, &doc, &err), CVG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "byte limit"));
    tmpdir_remove(&dir);
}

/* A byte that is not UTF-8 is reported where it is, not at 1:1. */
static void test_yaml_encoding_error_position(void)
{
    static const char text[] = "a: 1\nb:\n  c: \"x\xff\"\n";
    json_t *doc = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_yaml_load_string(text, sizeof(text) - 1, "t.yml", &doc, &err), CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "t.yml:3:8: "));
    CU_ASSERT_PTR_NULL(doc);
    /* the same with CR line ends, and a two-byte character before it */
    static const char cr[] = "a: 1\rb:\r  c: \"\xc3\xa9\xff\"\r";
    CU_ASSERT_EQUAL(cvg_yaml_load_string(cr, sizeof(cr) - 1, "t.yml", &doc, &err), CVG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "t.yml:3:8: "));
    CU_ASSERT_PTR_NULL(doc);
}

/* A tab where a token should start is named as the likely cause, where
 * libyaml's message does not say so itself. */
static void test_yaml_tab_named(void)
{
    static const struct {
        const char *text, *at;
        bool tab;
    } cases[] = {
        {"a: 1\nb:\n\t- x\n", "t.yml:3:1: ", true},
        {"\xc3\xa9:\n  -\t\t- x\n", "t.yml:2:4: ", true},
        {"a: 1\r\nb:\r\n\t- x\r\n", "t.yml:3:1: ", true}, /* CR LF lines */
        {"a: 1\rb:\r\t- x\r", "t.yml:3:1: ", true},       /* CR alone */
        {"a: [1\n", "t.yml:", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = NULL;
        cvg_err_t err;
        CU_ASSERT_EQUAL(
            cvg_yaml_load_string(cases[i].text, strlen(cases[i].text), "t.yml", &doc, &err),
            CVG_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].at));
        CU_ASSERT_EQUAL(strstr(err.message, "tab") != NULL, cases[i].tab);
        CU_ASSERT_PTR_NULL(doc);
    }
}

/* A FIFO (or anything but a regular file) is refused at once, not waited
 * on for a writer. */
static void test_yaml_refuses_a_fifo_without_waiting(void)
{
    char *dir = tmpdir_new("yaml");
    char path[512];
    snprintf(path, sizeof(path), "%s/pipe.yml", dir);
    CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
    json_t *doc = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_yaml_load_file(path, &doc, &err), CVG_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "is not a regular file"));
    CU_ASSERT_PTR_NULL(doc);
    tmpdir_remove(&dir);
}

static void test_fs_reads_a_file_of_exactly_the_limit(void)
{
    char *dir = tmpdir_new("fs");
    char path[512];
    snprintf(path, sizeof(path), "%s/f", dir);
    char data[100];
    memset(data, 'a', sizeof(data));
    CU_ASSERT_EQUAL(cvg_fs_write_file(path, data, sizeof(data), 0600, NULL), 0);
    char *out = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(cvg_fs_read_file(path, 100, &out, &len, NULL), 0);
    CU_ASSERT_EQUAL(len, 100);
    free(out);
    CU_ASSERT_EQUAL(cvg_fs_read_file(path, 99, &out, &len, NULL), CVG_ETOOBIG);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(cvg_fs_write_file(path, "", 0, 0600, NULL), 0);
    CU_ASSERT_EQUAL(cvg_fs_read_file(path, 0, &out, &len, NULL), 0);
    CU_ASSERT_EQUAL(len, 0);
    free(out);
    tmpdir_remove(&dir);
}

static CU_TestInfo tests[] = {
    {"test_yaml_scalars", test_yaml_scalars},
    {"test_yaml_refuses_anchors_aliases_tags", test_yaml_refuses_anchors_aliases_tags},
    {"test_yaml_refuses_alias_bomb", test_yaml_refuses_alias_bomb},
    {"test_yaml_refuses_deep_nesting", test_yaml_refuses_deep_nesting},
    {"test_yaml_refuses_duplicates_documents_and_size",
     test_yaml_refuses_duplicates_documents_and_size},
    {"test_yaml_refuses_big_file_before_reading", test_yaml_refuses_big_file_before_reading},
    {"test_yaml_refuses_a_fifo_without_waiting", test_yaml_refuses_a_fifo_without_waiting},
    {"test_yaml_encoding_error_position", test_yaml_encoding_error_position},
    {"test_yaml_tab_named", test_yaml_tab_named},
    {"test_fs_reads_a_file_of_exactly_the_limit", test_fs_reads_a_file_of_exactly_the_limit},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_yaml = {"unit_yaml", NULL, NULL, tests, 30};
