/*
 * BigQuery-format schema files: both accepted forms, precise errors, and
 * the central schemas shipped in ps_templates/ match the architecture.
 */
#include "common/central.h"
#include "common/schema.h"
#include "tests/tests.h"

#include <string.h>

static int parse(const char *text, cvg_schema_t *s, cvg_err_t *err)
{
    json_t *doc = json_loads(text, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    int rc = cvg_schema_parse(doc, "t", s, err);
    json_decref(doc);
    return rc;
}

static void test_schema_field_array(void)
{
    cvg_schema_t s;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        parse("[{\"name\":\"id\",\"type\":\"STRING\",\"mode\":\"REQUIRED\",\"description\":\"d\"},"
              "{\"name\":\"n\",\"type\":\"INTEGER\"},{\"name\":\"tags\",\"type\":\"STRING\","
              "\"mode\":\"REPEATED\"},{\"name\":\"r\",\"type\":\"RECORD\",\"fields\":[{\"name\":"
              "\"x\",\"type\":\"FLOAT\"}]},{\"name\":\"ok\",\"type\":\"BOOLEAN\"}]",
              &s, &err),
        0);
    CU_ASSERT_EQUAL(s.ncols, 5);
    CU_ASSERT_EQUAL(s.cols[0].mode, CVG_MODE_REQUIRED);
    CU_ASSERT_STRING_EQUAL(s.cols[0].description, "d");
    CU_ASSERT_EQUAL(s.cols[1].type, CVG_COL_INT64);
    CU_ASSERT(cvg_col_is_json(&s.cols[2]));
    CU_ASSERT(cvg_col_is_json(&s.cols[3]));
    CU_ASSERT_EQUAL(s.cols[4].type, CVG_COL_BOOL);
    CU_ASSERT_EQUAL(cvg_schema_find(&s, "OK"), 4);
    cvg_schema_cleanup(&s);
}

static void test_schema_table_resource(void)
{
    cvg_schema_t s;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        parse("{\"description\":\"runs\",\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":"
              "\"STRING\"},{\"name\":\"b\",\"type\":\"TIMESTAMP\"}]},\"tableConstraints\":{"
              "\"primaryKey\":{\"columns\":[\"a\"]}},\"clustering\":{\"fields\":[\"b\",\"a\"]}}",
              &s, &err),
        0);
    CU_ASSERT_STRING_EQUAL(s.description, "runs");
    CU_ASSERT_EQUAL(s.npk, 1);
    CU_ASSERT_STRING_EQUAL(s.pk[0], "a");
    CU_ASSERT_EQUAL(s.nclust, 2);
    CU_ASSERT_STRING_EQUAL(s.clustering[0], "b");
    CU_ASSERT_EQUAL(s.nidx, 0);
    cvg_schema_cleanup(&s);
    CU_ASSERT_EQUAL_FATAL(
        parse("{\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":\"STRING\"},{\"name\":"
              "\"b\",\"type\":\"STRING\"}]},\"indexes\":[{\"name\":\"by_b\",\"columns\":"
              "[\"b\"]},{\"name\":\"ba\",\"columns\":[\"B\",\"a\"],\"not_null\":\"A\"}]}",
              &s, &err),
        0);
    CU_ASSERT_EQUAL(s.nidx, 2);
    CU_ASSERT_STRING_EQUAL(s.idx[0].name, "by_b");
    CU_ASSERT_EQUAL(s.idx[0].ncols, 1);
    CU_ASSERT_EQUAL(s.idx[1].ncols, 2);
    CU_ASSERT_STRING_EQUAL(s.idx[1].cols[0], "b"); /* the column's own spelling */
    CU_ASSERT_STRING_EQUAL(s.idx[1].cols[1], "a");
    CU_ASSERT_STRING_EQUAL(s.idx[0].not_null, "");
    CU_ASSERT_STRING_EQUAL(s.idx[1].not_null, "a");
    CU_ASSERT_EQUAL(s.nretired, 0);
    cvg_schema_cleanup(&s);
    CU_ASSERT_EQUAL_FATAL(parse("{\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":\"STRING\"}]},"
                                "\"indexes\":[{\"name\":\"a_set\",\"columns\":[\"a\"]}],"
                                "\"retired_indexes\":[\"a_all\",\"old\"]}",
                                &s, &err),
                          0);
    CU_ASSERT_EQUAL(s.nretired, 2);
    CU_ASSERT_STRING_EQUAL(s.retired[0], "a_all");
    CU_ASSERT_STRING_EQUAL(s.retired[1], "old");
    cvg_schema_cleanup(&s);
}

static void test_schema_errors_name_the_field(void)
{
    static const struct {
        const char *doc, *field, *fragment;
    } cases[] = {
        {"[{\"name\":\"a\",\"type\":\"VARCHAR\"}]", "fields[0]", "unknown type 'VARCHAR'"},
        {"[{\"type\":\"STRING\"}]", "fields[0]", "name: field required"},
        {"[{\"name\":\"a b\",\"type\":\"STRING\"}]", "fields[0]", "not a valid column name"},
        {"[{\"name\":\"a\",\"type\":\"STRING\"},{\"name\":\"A\",\"type\":\"INT64\"}]", "fields[1]",
         "duplicate column"},
        {"[{\"name\":\"a\",\"type\":\"STRING\",\"mode\":\"OPTIONAL\"}]", "fields[0]",
         "NULLABLE, REQUIRED or REPEATED"},
        {"[{\"name\":\"a\",\"type\":\"RECORD\"}]", "fields[0]", "RECORD needs fields"},
        {"[{\"name\":\"a\",\"type\":\"STRING\",\"colour\":\"red\"}]", "fields[0]",
         "unknown schema key"},
        {"[]", "fields", "no fields"},
        {"{\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":\"STRING\"}]},"
         "\"tableConstraints\":{\"primaryKey\":{\"columns\":[\"zz\"]}}}",
         "tableConstraints.primaryKey.columns", "'zz' is not a column"},
        {"{\"fields\":[]}", "fields", "unknown table key"},
#define IDX(list) \
    "{\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":\"STRING\"}]},\"indexes\":" list "}"
        {IDX("{}"), "indexes", "indexes: expected an array"},
        {IDX("[{\"name\":\"x\",\"columns\":[\"zz\"]}]"), "indexes[0].columns",
         "'zz' is not a column"},
        {IDX("[{\"name\":\"x\",\"columns\":[]}]"), "indexes[0].columns",
         "expected 1 to 4 column names"},
        {IDX("[{\"name\":\"x\",\"columns\":[\"a\",\"a\",\"a\",\"a\",\"a\"]}]"),
         "indexes[0].columns", "expected 1 to 4 column names"},
        {IDX("[{\"columns\":[\"a\"]}]"), "indexes[0]", "name: expected an identifier"},
        {IDX("[{\"name\":\"x y\",\"columns\":[\"a\"]}]"), "indexes[0]",
         "name: expected an identifier"},
        {IDX("[{\"name\":\"x\",\"columns\":[\"a\"],\"unique\":true}]"), "indexes[0]",
         "indexes[0].unique: unknown field"},
        {IDX("[{\"name\":\"x\",\"columns\":[\"a\"],\"not_null\":\"zz\"}]"), "indexes[0]",
         "indexes[0].not_null: 'zz' is not a column"},
        {IDX("[{\"name\":\"x\",\"columns\":[\"a\"]},{\"name\":\"x\",\"columns\":[\"a\"]}]"),
         "indexes[1]", "duplicate index 'x'"},
        {IDX("[{\"name\":\"partition\",\"columns\":[\"a\"]}]"), "indexes[0]",
         "'partition' is reserved"},
        {IDX("[{\"name\":\"a\",\"columns\":[\"a\"]},{\"name\":\"b\",\"columns\":[\"a\"]},"
             "{\"name\":\"c\",\"columns\":[\"a\"]},{\"name\":\"d\",\"columns\":[\"a\"]},"
             "{\"name\":\"e\",\"columns\":[\"a\"]}]"),
         "indexes", "more than 4"},
#undef IDX
#define RET(list)                                                                             \
    "{\"schema\":{\"fields\":[{\"name\":\"a\",\"type\":\"STRING\"}]},\"indexes\":[{\"name\":" \
    "\"x\",\"columns\":[\"a\"]}],\"retired_indexes\":" list "}"
        {RET("\"x\""), "retired_indexes", "expected an array of index names"},
        {RET("[1]"), "retired_indexes[0]", "expected an identifier"},
        {RET("[\"a;b\"]"), "retired_indexes[0]", "expected an identifier"},
        {RET("[\"x\"]"), "retired_indexes[0]", "'x' is one of the indexes"},
        {RET("[\"y\",\"Y\"]"), "retired_indexes[1]", "'Y' is listed twice"},
        {RET("[\"cluster\"]"), "retired_indexes[0]", "'cluster' is reserved"},
#undef RET
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cvg_schema_t s;
        cvg_err_t err;
        cvg_err_clear(&err);
        CU_ASSERT_EQUAL(parse(cases[i].doc, &s, &err), CVG_EINVAL);
        CU_ASSERT_STRING_EQUAL(err.field, cases[i].field);
        if (strstr(err.message, cases[i].fragment) == NULL)
            printf("\n  case %zu gave: %s\n", i, err.message);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].fragment));
    }
}

static void test_schema_central_files_match_architecture(void)
{
    for (size_t i = 0; i < CVG_CENTRAL_TABLE_COUNT; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/ps_templates/setup/initial/schemas/%s.json", source_dir(),
                 cvg_central_tables[i]);
        cvg_schema_t s;
        cvg_err_t err;
        cvg_err_clear(&err);
        int rc = cvg_schema_load_file(path, &s, &err);
        if (rc != 0)
            printf("\n  %s: %s\n", path, err.message);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_STRING_EQUAL(s.table, cvg_central_tables[i]);
        CU_ASSERT(s.npk >= 1);
        CU_ASSERT(cvg_schema_find(&s, "tenant_id") >= 0); /* every table is per tenant */
        cvg_schema_cleanup(&s);
    }
}

static CU_TestInfo tests[] = {
    {"test_schema_field_array", test_schema_field_array},
    {"test_schema_table_resource", test_schema_table_resource},
    {"test_schema_errors_name_the_field", test_schema_errors_name_the_field},
    {"test_schema_central_files_match_architecture", test_schema_central_files_match_architecture},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_schema = {"unit_schema", NULL, NULL, tests, 30};
