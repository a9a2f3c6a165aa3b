/*
 * Declared runtime parameters: each type accepts what it documents and
 * refuses the rest with its reason; declarations are checked when the
 * pipeline is read.
 */
#include "common/paramdecl.h"
#include "tests/tests.h"

#include <stdlib.h>
#include <string.h>

/* The declarations of a `parameters:` mapping given as JSON text. */
static cvg_paramdecl_t *decls(const char *json, size_t *n, cvg_errlist_t *errs, json_t **doc)
{
    *doc = json_loads(json, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*doc);
    cvg_paramdecl_t *d = NULL;
    cvg_errlist_reset(errs);
    CU_ASSERT_EQUAL_FATAL(cvg_paramdecls_parse(*doc, &d, n, errs), 0);
    return d;
}

static void test_paramdecl_values_by_type(void)
{
    static const struct {
        const char *name, *value;
        bool ok;
        const char *why;
    } cases[] = {
        {"day", "2026-11-03", true, NULL},
        {"day", "2026-02-29", false, "must be a date YYYY-MM-DD"},
        {"day", "2024-02-29", true, NULL},
        {"day", "2026-11-3", false, "must be a date YYYY-MM-DD"},
        {"day", "2026-11-03T00:00:00Z", false, "must be a date YYYY-MM-DD"},
        {"day", "'; DROP TABLE x; --", false, "must be a date YYYY-MM-DD"},
        {"since", "2026-11-03T10:00:00Z", true, NULL},
        {"since", "2026-11-03T10:00:00.123+02:00", true, NULL},
        {"since", "2026-11-03", false, "must be a timestamp"},
        {"since", "2026-11-03T25:00:00Z", false, "must be a timestamp"},
        {"limit", "1", true, NULL},
        {"limit", "1000", true, NULL},
        {"limit", "0", false, "must be an integer from 1 to 1000"},
        {"limit", "1001", false, "must be an integer from 1 to 1000"},
        {"limit", "12abc", false, "must be an integer from 1 to 1000"},
        {"limit", "", false, "must be an integer from 1 to 1000"},
        {"limit", "99999999999999999999", false, "must be an integer from 1 to 1000"},
        {"limit", " 5", false, "must be an integer from 1 to 1000"}, /* blanks are a mistake */
        {"table", "daily_cost", true, NULL},
        {"table", "_x9", true, NULL},
        {"table", "9lives", false, "must be an identifier"},
        {"table", "a-b", false, "must be an identifier"},
        {"table", "t; DROP TABLE x", false, "must be an identifier"},
        {"table", "", false, "must be an identifier"},
        {"region", "eu", true, NULL},
        {"region", "us", true, NULL},
        {"region", "EU", false, "must be one of eu, us"},
        {"region", "eu ", false, "must be one of eu, us"},
        {"account", "o'brien", true, NULL},
        {"account", "12345678", true, NULL},
        {"account", "123456789", false, "longer than 8 characters"},
        /* characters, not bytes: eight with an accent, four and five of two bytes */
        {"account", "aaaaaaa\xc3\xa9", true, NULL},
        {"account", "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc", true, NULL},
        {"account",
         "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2"
         "\x82\xac",
         true, NULL},
        {"account",
         "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2"
         "\x82\xac\xe2\x82\xac",
         false, "longer than 8 characters"},
        {"account", "a\nb", false, "contains a control or bidi character"},
        {"account",
         "ab\xe2\x80\xae"
         "cd",
         false, "contains a control or bidi character"}, /* U+202E */
        {"account", "a\x7f", false, "contains a control or bidi character"},
    };
    size_t n = 0;
    json_t *doc = NULL;
    cvg_errlist_t *errs = cvg_errlist_new();
    cvg_paramdecl_t *d = decls(
        "{\"day\": {\"type\": \"date\", \"required\": true},"
        " \"since\": {\"type\": \"timestamp\", \"required\": true},"
        " \"limit\": {\"type\": \"int\", \"min\": 1, \"max\": 1000, \"default\": 100},"
        " \"table\": {\"type\": \"identifier\", \"default\": \"daily_cost\"},"
        " \"region\": {\"type\": \"enum\", \"values\": [\"eu\", \"us\"], \"default\": \"eu\"},"
        " \"account\": {\"type\": \"string\", \"max_length\": 8, \"required\": true}}",
        &n, errs, &doc);
    CU_ASSERT_EQUAL(errs->n, 0);
    CU_ASSERT_EQUAL(n, 7); /* date added */
    CU_ASSERT_PTR_NOT_NULL(cvg_paramdecl_find(d, n, "date"));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const cvg_paramdecl_t *p = cvg_paramdecl_find(d, n, cases[i].name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        char why[200] = "";
        int rc = cvg_paramdecl_check(p, cases[i].value, why, sizeof(why));
        if ((rc == 0) != cases[i].ok || (cases[i].why && strstr(why, cases[i].why) == NULL))
            printf("\n  case %zu (%s = '%s'): rc %d, why '%s'", i, cases[i].name, cases[i].value,
                   rc, why);
        CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
        if (cases[i].why)
            CU_ASSERT_PTR_NOT_NULL(strstr(why, cases[i].why));
    }
    const cvg_paramdecl_t *limit = cvg_paramdecl_find(d, n, "limit");
    CU_ASSERT_TRUE(limit->has_default);
    CU_ASSERT_STRING_EQUAL(limit->default_value, "100");
    CU_ASSERT_TRUE(cvg_paramdecl_find(d, n, "account")->required);
    free(d);
    json_decref(doc);
    free(errs);
}

static void test_paramdecl_bad_declarations(void)
{
    static const struct {
        const char *json, *error;
    } cases[] = {
        {"{\"x\": {\"type\": \"colour\", \"default\": 1}}",
         "parameters.x.type: unknown type; one of date, timestamp, string, int, identifier, enum"},
        {"{\"x\": {\"default\": 1}}",
         "parameters.x.type: field required; one of date, timestamp, string, int, identifier, "
         "enum"},
        {"{\"x\": \"int\"}", "parameters.x: expected a mapping with a type"},
        {"{\"x\": {\"type\": \"int\"}}",
         "parameters.x: give it a default or make it required (required: true); a run without "
         "it could not resolve {x}"},
        {"{\"x\": {\"type\": \"int\", \"required\": true, \"default\": 3}}",
         "parameters.x: required and default exclude each other (a required parameter is "
         "always given)"},
        {"{\"date\": {\"type\": \"date\", \"default\": \"2026-11-01\"}}",
         "parameters.date.default: date takes no default: a run's date is the day it is run for "
         "(today in UTC, or a schedule's slot) unless the request gives one"},
        {"{\"x\": {\"type\": \"int\", \"min\": 1, \"max\": 5, \"default\": 9}}",
         "parameters.x.default: must be an integer from 1 to 5"},
        /* bounds the wrong way round are named as such, not only by the default */
        {"{\"x\": {\"type\": \"int\", \"min\": 5, \"max\": 1, \"default\": 3}}",
         "parameters.x.min: 5 is greater than max 1"},
        {"{\"x\": {\"type\": \"enum\", \"required\": true}}",
         "parameters.x.values: a list of strings is required"},
        /* values that are not strings, and a default checked against them */
        {"{\"x\": {\"type\": \"enum\", \"values\": [1, null, [], {}], \"default\": \"x\"}}",
         "parameters.x.default: must be one of the declared values"},
        {"{\"x\": {\"type\": \"string\", \"values\": [\"a\"], \"default\": \"a\"}}",
         "parameters.x.values: only for type enum"},
        {"{\"x\": {\"type\": \"string\", \"min\": 1, \"default\": \"a\"}}",
         "parameters.x: min and max are only for type int"},
        {"{\"x\": {\"type\": \"int\", \"required\": \"yes\"}}",
         "parameters.x.required: must be true or false"},
        {"{\"x\": {\"type\": \"int\", \"default\": 1, \"mandatory\": true}}",
         "parameters.x.mandatory: unknown field"},
        {"{\"date\": {\"type\": \"string\", \"default\": \"x\"}}",
         "parameters.date.type: date is always of type date"},
        {"{\"run_id\": {\"type\": \"string\", \"default\": \"x\"}}",
         "parameters.run_id: run_id is a built-in variable and cannot be a parameter"},
        {"{\"bad-name\": {\"type\": \"string\", \"default\": \"x\"}}",
         "parameters.bad-name: not a valid parameter name"},
    };
    cvg_errlist_t *errs = cvg_errlist_new();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        json_t *doc = NULL;
        cvg_paramdecl_t *d = decls(cases[i].json, &n, errs, &doc);
        bool found = false;
        for (size_t e = 0; e < errs->n; e++)
            found |= strcmp(errs->items[e].message, cases[i].error) == 0;
        if (!found) {
            printf("\n  case %zu: no error '%s'; got:", i, cases[i].error);
            for (size_t e = 0; e < errs->n; e++)
                printf("\n    %s", errs->items[e].message);
        }
        CU_ASSERT_TRUE(found);
        free(d);
        json_decref(doc);
    }
    /* date alone needs neither: it defaults to the run's day */
    size_t n = 0;
    json_t *doc = NULL;
    cvg_paramdecl_t *d = decls("{\"date\": {\"type\": \"date\"}}", &n, errs, &doc);
    CU_ASSERT_EQUAL(errs->n, 0);
    CU_ASSERT_EQUAL(n, 1);
    free(d);
    json_decref(doc);
    free(errs);
}

static CU_TestInfo tests[] = {
    {"test_paramdecl_values_by_type", test_paramdecl_values_by_type},
    {"test_paramdecl_bad_declarations", test_paramdecl_bad_declarations},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_paramdecl = {"unit_paramdecl", NULL, NULL, tests, 30};
