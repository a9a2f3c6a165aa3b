/*
 * Tenants through the real cluster, with the data of
 * tests/configs/tenants/tenant_test_config.json: the original service's
 * local test suite (its ten cases), dry-run and onboarding (shapes, every
 * kind of bad input changing nothing, conflicts, a check the warehouse
 * cannot answer, rollback at each fault point), the comprehensive view,
 * the isolation matrix over the router's table, API keys (never stored,
 * checksum before lookup, revocation bound, rotation), subscription
 * states, rate limits, credentials and master key rotation, self-service
 * sign-up.
 */
#include "common/apikey.h"
#include "common/central.h"
#include "common/credentials.h"
#include "common/fs.h"
#include "common/keyring.h"
#include "common/time.h"
#include "common/warehouse.h"
#include "gateway/gateway.h"
#include "tests/integration/harness.h"
#include "tests/tests.h"

#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static cluster_t c;

/* A run of tenant B's for the isolation matrix. */
#define RUN_B "01a20000-0000-7000-8000-00000000b0b0"
static json_t *cfg; /* the test data file */
static char admin_header[128];
static const char *const json_ct = "Content-Type: application/json";
static char key_a[CVG_APIKEY_LEN + 1]; /* tenants[0]'s first key */

static const char *tenant_field(size_t i, const char *field)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(cfg, "tenants"), i), field));
}

static char *tenant_body(size_t i)
{
    return json_dumps(json_array_get(json_object_get(cfg, "tenants"), i), JSON_COMPACT);
}

static int setup(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/configs/tenants/tenant_test_config.json", source_dir());
    cfg = json_load_file(path, 0, NULL);
    if (cfg == NULL || cluster_start(&c, 1, true) != 0)
        return 1;
    snprintf(admin_header, sizeof(admin_header), "X-Admin-Key: %s", c.admin_key);
    return cluster_wait_ready(&c, 20000) ? 0 : 1;
}

static int teardown(void)
{
    int bad = cluster_destroy(&c);
    json_decref(cfg);
    return bad != 0;
}

static long admin_post(const char *path, const char *body, json_t **out)
{
    const char *h[] = {admin_header, json_ct, NULL};
    return http_request(&c, "POST", path, h, body, out);
}

static long with_key(const char *method, const char *path, const char *key, const char *body,
                     json_t **out)
{
    char kh[128];
    snprintf(kh, sizeof(kh), "X-API-Key: %s", key);
    const char *h[] = {kh, json_ct, NULL};
    return http_request(&c, method, path, h, body, out);
}

static const char *code_of(json_t *body)
{
    const char *s = json_string_value(json_object_get(json_object_get(body, "error"), "code"));
    return s ? s : "";
}

/* The error's message, or "" when there is none. */
static const char *message_of(json_t *body)
{
    const char *s = json_string_value(json_object_get(json_object_get(body, "error"), "message"));
    return s ? s : "";
}

/* The error's field, or "" when it names none. */
static const char *field_of(json_t *body)
{
    const char *s = json_string_value(json_object_get(json_object_get(body, "error"), "field"));
    return s ? s : "";
}

static bool errors_contain(json_t *body, const char *text)
{
    json_t *errs = json_object_get(body, "errors");
    for (size_t i = 0; i < json_array_size(errs); i++) {
        if (strstr(json_string_value(json_array_get(errs, i)), text))
            return true;
    }
    char *dump = json_dumps(body, JSON_COMPACT);
    printf("\n  no error with '%s' in %s\n", text, dump ? dump : "(none)");
    free(dump);
    return false;
}

/* ---- the original service's local test suite (DEVELOPMENT.md 4.2) ------- */

static void test_originals_01_health_check(void)
{
    json_t *b = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/health", NULL, NULL, &b), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "status")), "healthy");
    json_decref(b);
}

static void test_originals_02_bootstrap_system(void)
{
    json_t *b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/admin/bootstrap",
                                     "{\"force_recreate_dataset\": false, "
                                     "\"force_recreate_tables\": false}",
                                     &b),
                          200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(b, "tables_created")), CVG_CENTRAL_TABLE_COUNT);
    json_decref(b);
}

static void test_originals_03_create_tenant(void)
{
    char *body = tenant_body(0);
    json_t *b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/admin/tenants", body, &b), 201);
    free(body);
    CU_ASSERT(json_is_true(json_object_get(b, "dataset_created")));
    const char *key = json_string_value(json_object_get(b, "api_key"));
    CU_ASSERT_TRUE_FATAL(cvg_apikey_well_formed(key));
    snprintf(key_a, sizeof(key_a), "%s", key);
    json_decref(b);
    char ds[700];
    snprintf(ds, sizeof(ds), "%s/%s.db", c.warehouse_dir, tenant_field(0, "tenant_id"));
    CU_ASSERT_TRUE(cvg_fs_exists(ds));
}

static void test_originals_04_get_tenant_info(void)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    const char *h[] = {admin_header, NULL};
    json_t *b = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", path, h, NULL, &b), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "company_name")),
                           tenant_field(0, "company_name"));
    json_t *sub = json_object_get(b, "subscription");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(sub, "plan_name")),
                           tenant_field(0, "plan_name"));
    CU_ASSERT_EQUAL(
        json_integer_value(json_object_get(json_object_get(b, "usage"), "pipelines_run_today")), 0);
    CU_ASSERT(json_integer_value(
                  json_object_get(json_object_get(sub, "limits"), "daily_pipeline_runs")) > 0);
    json_decref(b);
}

static void test_originals_05_generate_tenant_api_key(void)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"tenant_id\": \"%s\", \"scopes\": [\"tenant:read\"]}",
             tenant_field(0, "tenant_id"));
    json_t *b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/admin/api-keys", body, &b), 201);
    const char *key = json_string_value(json_object_get(b, "api_key"));
    CU_ASSERT_TRUE(cvg_apikey_well_formed(key));
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    CU_ASSERT_EQUAL(with_key("GET", path, key, NULL, NULL), 200);
    json_decref(b);
    /* a description with a line break is refused, and makes no key */
    snprintf(body, sizeof(body), "{\"tenant_id\": \"%s\", \"description\": \"ci\\nX: y\"}",
             tenant_field(0, "tenant_id"));
    b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/admin/api-keys", body, &b), 422);
    CU_ASSERT_PTR_NULL(json_object_get(b, "api_key"));
    json_decref(b);
}

static void test_originals_06_invalid_admin_key_rejected(void)
{
    const char *h[] = {"X-Admin-Key: wrong-admin-key-000000", json_ct, NULL};
    json_t *b = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "POST", "/api/v1/admin/api-keys", h, "{}", &b), 403);
    CU_ASSERT_STRING_EQUAL(code_of(b), "forbidden");
    json_decref(b);
}

static void test_originals_07_missing_admin_key_rejected(void)
{
    const char *h[] = {json_ct, NULL};
    json_t *b = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "POST", "/api/v1/admin/api-keys", h, "{}", &b), 401);
    CU_ASSERT_STRING_EQUAL(code_of(b), "unauthorized");
    json_decref(b);
}

static void test_originals_08_api_versioning(void)
{
    CU_ASSERT_EQUAL(http_request(&c, "GET", "/api/v1/health", NULL, NULL, NULL), 200);
}

static void test_originals_09_rate_limiting_headers(void)
{
    /* Every authenticated answer carries the key's bucket: the plan's
     * limit (PROFESSIONAL, 1200 a minute) and what is left of it. */
    char path[256], kh[128], v[128];
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    snprintf(kh, sizeof(kh), "X-API-Key: %s", key_a);
    const char *h[] = {kh, NULL};
    http_reply_t r;
    CU_ASSERT_EQUAL(http_call(c.api_port, "GET", path, h, NULL, &r), 200);
    CU_ASSERT(http_reply_header(&r, "RateLimit-Policy", v, sizeof(v)) &&
              strcmp(v, "\"tenant\";q=1200;w=60") == 0);
    CU_ASSERT(http_reply_header(&r, "RateLimit", v, sizeof(v)) && strstr(v, "\"tenant\";r=") == v);
    long left = strtol(v + strlen("\"tenant\";r="), NULL, 10);
    CU_ASSERT(left > 0 && left < 1200);
    http_reply_free(&r);
}

static void test_originals_10_schema_consistency(void)
{
    json_t *b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/admin/bootstrap", NULL, &b), 200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(b, "tables_created")), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(b, "tables_existing")),
                    CVG_CENTRAL_TABLE_COUNT);
    json_decref(b);
}

/* ---- dry-run and onboarding ---------------------------------------------- */

static void test_tenants_dryrun_shape_and_log(void)
{
    char *body = tenant_body(1);
    json_t *b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/tenants/dryrun", body, &b), 200);
    free(body);
    static const char *keys[] = {"status",        "validation_id", "tenant_id", "checks_passed",
                                 "checks_failed", "errors",        "message",   "next_step"};
    CU_ASSERT_EQUAL(json_object_size(b), 8);
    for (size_t i = 0; i < 8; i++)
        CU_ASSERT_PTR_NOT_NULL(json_object_get(b, keys[i]));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "status")), "success");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(b, "checks_passed")), 12);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(b, "checks_failed")), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "next_step")),
                           "POST /api/v1/tenants/onboard");
    const char *vid = json_string_value(json_object_get(b, "validation_id"));
    CU_ASSERT_EQUAL(strncmp(vid, "dryrun_globex-eu_", 17), 0);
    CU_ASSERT_EQUAL(strlen(vid), 17 + 15 + 7);
    /* A second dry-run straight after (the same second, usually) has its
     * own id. */
    char first[64];
    snprintf(first, sizeof(first), "%s", vid);
    json_decref(b);
    b = NULL;
    body = tenant_body(1);
    CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/tenants/dryrun", body, &b), 200);
    free(body);
    vid = json_string_value(json_object_get(b, "validation_id"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(vid);
    CU_ASSERT_EQUAL(strncmp(vid, "dryrun_globex-eu_", 17), 0);
    CU_ASSERT_STRING_NOT_EQUAL(vid, first);
    json_decref(b);
    /* Logged like every run, under the tenant, and nothing was created. */
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_runs WHERE tenant_id = ? AND "
                               "pipeline_id = 'dryrun_validation' AND status = 'SUCCEEDED'",
                               "globex-eu", 2, 10000));
    char ds[700];
    snprintf(ds, sizeof(ds), "%s/globex_eu.db", c.warehouse_dir);
    CU_ASSERT_FALSE(cvg_fs_exists(ds));
    CU_ASSERT_EQUAL(wh_int(&c, "tenants",
                           "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'cvg_dryrun%'",
                           NULL),
                    0);
}

static void test_tenants_invalid_requests_change_nothing(void)
{
    json_t *cases = json_object_get(cfg, "invalid_requests");
    char before[2048], after[2048];
    central_snapshot(&c, before, sizeof(before));
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *one = json_array_get(cases, i);
        char *body = json_dumps(json_object_get(one, "body"), JSON_COMPACT);
        const char *want = json_string_value(json_object_get(one, "error"));
        const char *field = json_string_value(json_object_get(one, "field"));
        json_t *b = NULL;
        CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/dryrun", body, &b), 200);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "status")), "failed");
        CU_ASSERT_TRUE(errors_contain(b, want));
        /* each failed check says why; the validation id is usable as a name */
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(b, "checks_failed")),
                        (json_int_t)json_array_size(json_object_get(b, "errors")));
        CU_ASSERT(json_integer_value(json_object_get(b, "checks_failed")) >= 1);
        /* the run log counts as the answer does (a check not run is not failed) */
        char sql[256], logged[1024];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM tenant_pipeline_runs WHERE pipeline_id = "
                 "'dryrun_validation' AND json_extract(parameters, '$.tenant_id') = ? AND "
                 "error_message LIKE '%%: %lld of 12 checks failed%%'",
                 (long long)json_integer_value(json_object_get(b, "checks_failed")));
        const char *tid =
            json_string_value(json_object_get(json_object_get(one, "body"), "tenant_id"));
        if (!wait_wh_int(&c, "tenants", sql, tid, 1, 10000)) {
            wh_text(&c, "tenants",
                    "SELECT group_concat(error_message, ' | ') FROM tenant_pipeline_runs WHERE "
                    "pipeline_id = 'dryrun_validation' AND json_extract(parameters, '$.tenant_id') "
                    "= ?",
                    tid, logged, sizeof(logged));
            printf("\n  %s: logged %s\n", tid, logged);
            CU_FAIL("the run log's count differs from the answer's");
        }
        const char *vid = json_string_value(json_object_get(b, "validation_id"));
        CU_ASSERT(vid && strncmp(vid, "dryrun_", 7) == 0 &&
                  strspn(vid, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(vid));
        json_decref(b);
        b = NULL;
        long st = admin_post("/api/v1/tenants/onboard", body, &b);
        if (st != 422)
            printf("\n  %s: onboard gave %ld\n", json_string_value(json_object_get(one, "name")),
                   st);
        CU_ASSERT_EQUAL(st, 422);
        CU_ASSERT_STRING_EQUAL(code_of(b), "invalid_request");
        /* the error names the request field of the first failed check, and
         * says what is wrong with it */
        CU_ASSERT_STRING_EQUAL(field_of(b), field);
        const char *why = message_of(b);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, want));
        CU_ASSERT_TRUE(errors_contain(b, want));
        json_decref(b);
        free(body);
    }
    /* the plan under the originals' other name is checked as plan_name, the
     * field its error names; a value of the wrong type names the field sent */
    json_t *b = NULL;
    CU_ASSERT_EQUAL(
        admin_post("/api/v1/tenants/onboard",
                   "{\"tenant_id\": \"alias_co\", \"company_name\": \"Alias Co\", "
                   "\"admin_email\": \"ops@alias.io\", \"subscription_plan\": \"GOLD\"}",
                   &b),
        422);
    CU_ASSERT_STRING_EQUAL(field_of(b), "plan_name");
    json_decref(b);
    b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/onboard",
                               "{\"tenant_id\": \"alias_co\", \"company_name\": \"Alias Co\", "
                               "\"admin_email\": \"ops@alias.io\", \"subscription_plan\": 7}",
                               &b),
                    422);
    CU_ASSERT_STRING_EQUAL(field_of(b), "subscription_plan");
    json_decref(b);
    central_snapshot(&c, after, sizeof(after));
    CU_ASSERT_STRING_EQUAL(before, after);
}

static void test_tenants_malformed_bodies_change_nothing(void)
{
    json_t *cases = json_object_get(cfg, "malformed_bodies");
    char before[2048], after[2048];
    central_snapshot(&c, before, sizeof(before));
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *one = json_array_get(cases, i);
        const char *body = json_string_value(json_object_get(one, "body"));
        const char *field = json_string_value(json_object_get(one, "field"));
        json_t *b = NULL;
        long st = admin_post("/api/v1/tenants/onboard", body, &b);
        CU_ASSERT_EQUAL(st, json_integer_value(json_object_get(one, "status")));
        CU_ASSERT(code_of(b)[0] != '\0');
        if (field)
            CU_ASSERT_STRING_EQUAL(field_of(b), field);
        json_decref(b);
    }
    /* Too big, too deep, wrong content type. */
    size_t n = 2 * 1024 * 1024;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/onboard", big, NULL), 413);
    free(big);
    char deep[4100];
    memset(deep, '[', 2048);
    memset(deep + 2048, ']', 2048);
    deep[4096] = '\0';
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/onboard", deep, NULL), 400);
    const char *text[] = {admin_header, "Content-Type: text/plain", NULL};
    char *ok = tenant_body(2);
    CU_ASSERT_EQUAL(http_request(&c, "POST", "/api/v1/tenants/onboard", text, ok, NULL), 415);
    free(ok);
    central_snapshot(&c, after, sizeof(after));
    CU_ASSERT_STRING_EQUAL(before, after);
}

static void test_tenants_conflicts(void)
{
    char *body = tenant_body(1);
    json_t *b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/tenants/onboard", body, &b), 201);
    /* Answered once the run log has the onboarding: no wait needed to
     * read it back. */
    const char *rid = json_string_value(json_object_get(b, "pipeline_logging_id"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rid);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants",
                           "SELECT count(*) FROM tenant_pipeline_runs WHERE pipeline_logging_id = "
                           "? AND status = 'SUCCEEDED'",
                           rid),
                    1);
    json_decref(b);
    char before[2048], after[2048];
    central_snapshot(&c, before, sizeof(before));
    b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/onboard", body, &b), 409);
    CU_ASSERT_STRING_EQUAL(code_of(b), "conflict");
    CU_ASSERT_STRING_EQUAL(field_of(b), "tenant_id");
    const char *why = message_of(b);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "already exists"));
    CU_ASSERT_TRUE(errors_contain(b, "already exists"));
    json_decref(b);
    /* Neither that refused onboarding nor a dry-run of the taken id shows
     * in the tenant's own runs (they were not its doing, and carry the
     * caller's company name and e-mail): both are logged under the system
     * tenant. */
    const char *tid = tenant_field(1, "tenant_id");
    static const char own_sql[] =
        "SELECT count(*) FROM tenant_pipeline_runs WHERE tenant_id = ? AND pipeline_id IN "
        "('dryrun_validation', 'tenant_onboarding')";
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_runs WHERE tenant_id = ? AND "
                               "pipeline_id = 'tenant_onboarding' AND status = 'SUCCEEDED'",
                               tid, 1, 10000));
    long long own_before = wh_int(&c, "tenants", own_sql, tid);
    b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/dryrun", body, &b), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "status")), "failed");
    json_decref(b);
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_runs WHERE tenant_id = "
                               "'system' AND pipeline_id IN ('dryrun_validation', "
                               "'tenant_onboarding') AND json_extract(parameters, '$.tenant_id') "
                               "= ?",
                               tid, 2, 10000));
    CU_ASSERT_EQUAL(wh_int(&c, "tenants", own_sql, tid), own_before);
    free(body);
    /* The same dataset under another spelling. */
    json_t *coll = json_object_get(cfg, "collision");
    char req[512];
    snprintf(req, sizeof(req),
             "{\"tenant_id\": \"%s\", \"company_name\": \"Acme\", \"admin_email\": "
             "\"ops@acme-corp.io\", \"plan_name\": \"BASIC\"}",
             json_string_value(json_object_get(coll, "first")));
    b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/tenants/onboard", req, &b), 201);
    json_decref(b);
    central_snapshot(&c, before, sizeof(before));
    snprintf(req, sizeof(req),
             "{\"tenant_id\": \"%s\", \"company_name\": \"Acme\", \"admin_email\": "
             "\"ops@acme-corp.io\", \"plan_name\": \"BASIC\"}",
             json_string_value(json_object_get(coll, "second")));
    b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/dryrun", req, &b), 200);
    CU_ASSERT_TRUE(errors_contain(b, "is already taken"));
    json_decref(b);
    b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/onboard", req, &b), 409);
    CU_ASSERT_TRUE(errors_contain(b, "is already taken"));
    json_decref(b);
    central_snapshot(&c, after, sizeof(after));
    CU_ASSERT_STRING_EQUAL(before, after);
}

typedef struct racer {
    int port;
    const char *body;
    long status;
    json_t *reply;
} racer_t;

static void *onboard_racer(void *arg)
{
    racer_t *r = arg;
    const char *h[] = {admin_header, json_ct, NULL};
    r->status = http_request_at(r->port, "POST", "/api/v1/tenants/onboard", h, r->body, &r->reply);
    return NULL;
}

/* Onboardings of one new tenant at once through two gateways (a gateway
 * runs its own one at a time): one is created, every other gets a 409
 * naming tenant_id, from the checks or, when two passed them together,
 * from the create step; the winner keeps its records and its dataset. */
static void test_tenants_racing_onboardings(void)
{
    int port2 = 0;
    proc_t *gw2 = cluster_spawn_gateway(&c, "gateway-race", NULL, "/health/ready", &port2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw2);
    CU_ASSERT_EQUAL_FATAL(http_request_at(port2, "GET", "/health/ready", NULL, NULL, NULL), 200);
    enum { N = 4, ROUNDS = 3 };
    for (int round = 0; round < ROUNDS; round++) {
        char tenant[32], body[256];
        snprintf(tenant, sizeof(tenant), "racer_%d", round);
        snprintf(body, sizeof(body),
                 "{\"tenant_id\": \"%s\", \"company_name\": \"Racer\", \"admin_email\": "
                 "\"ops@racer.io\", \"plan_name\": \"BASIC\"}",
                 tenant);
        racer_t r[N];
        pthread_t t[N];
        for (int i = 0; i < N; i++) {
            r[i] = (racer_t){.port = i % 2 ? port2 : c.api_port, .body = body};
            CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, onboard_racer, &r[i]), 0);
        }
        int created = 0;
        for (int i = 0; i < N; i++) {
            pthread_join(t[i], NULL);
            if (r[i].status == 201) {
                created++;
            } else {
                CU_ASSERT_EQUAL(r[i].status, 409);
                CU_ASSERT_STRING_EQUAL(code_of(r[i].reply), "conflict");
                CU_ASSERT_STRING_EQUAL(field_of(r[i].reply), "tenant_id");
                CU_ASSERT_PTR_NOT_NULL(strstr(message_of(r[i].reply), tenant));
            }
            json_decref(r[i].reply);
        }
        CU_ASSERT_EQUAL(created, 1);
        static const char *tables[] = {"tenant_profiles", "tenant_subscriptions",
                                       "tenant_api_keys"};
        for (size_t i = 0; i < 3; i++) {
            char sql[128];
            snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE tenant_id = ?", tables[i]);
            CU_ASSERT_EQUAL(wh_int(&c, "tenants", sql, tenant), 1);
        }
        CU_ASSERT_EQUAL(wh_int(&c, tenant, "SELECT count(*) FROM onboarding_validation_test", NULL),
                        1);
    }
    CU_ASSERT_EQUAL(cluster_stop_proc(&c, gw2, 10000), 0);
}

static void test_tenants_metacharacters_stored_verbatim(void)
{
    json_t *v = json_object_get(cfg, "stored_verbatim");
    char *body = json_dumps(v, JSON_COMPACT);
    json_t *b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/onboard", body, &b), 201);
    free(body);
    json_decref(b);
    char text[512];
    wh_text(&c, "tenants", "SELECT company_name FROM tenant_profiles WHERE tenant_id = ?",
            "quote_co", text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, json_string_value(json_object_get(v, "company_name")));
    wh_text(&c, "tenants", "SELECT admin_email FROM tenant_profiles WHERE tenant_id = ?",
            "quote_co", text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, json_string_value(json_object_get(v, "admin_email")));
    CU_ASSERT(wh_int(&c, "tenants", "SELECT count(*) FROM tenant_profiles", NULL) >= 3);
}

static void test_tenants_comprehensive_view(void)
{
    CU_ASSERT_TRUE(wait_wh_int(&c, "tenants",
                               "SELECT count(*) FROM tenant_pipeline_runs WHERE tenant_id = ? "
                               "AND pipeline_id = 'tenant_onboarding' AND status = 'SUCCEEDED'",
                               "globex-eu", 1, 10000));
    char url[700];
    snprintf(url, sizeof(url), "sqlite://%s", c.warehouse_dir);
    cvg_wh_t *wh = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_open(url, &wh, &err), 0);
    int64_t rows = 0, others = 0, dryruns = 0;
    CU_ASSERT_EQUAL(cvg_wh_query_int(wh, "SELECT count(*) FROM globex_eu.tenant_comprehensive_view",
                                     NULL, 0, &rows, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(cvg_wh_query_int(wh,
                                     "SELECT count(*) FROM globex_eu.tenant_comprehensive_view "
                                     "WHERE tenant_id <> 'globex-eu'",
                                     NULL, 0, &others, NULL, &err),
                    0);
    CU_ASSERT_EQUAL(cvg_wh_query_int(wh,
                                     "SELECT count(*) FROM globex_eu.tenant_comprehensive_view "
                                     "WHERE pipeline_id = 'dryrun_validation'",
                                     NULL, 0, &dryruns, NULL, &err),
                    0);
    CU_ASSERT(rows >= 3); /* the dry-run's step, the onboarding's two steps */
    CU_ASSERT_EQUAL(others, 0);
    CU_ASSERT(dryruns >= 1);
    cvg_wh_close(&wh);
    CU_ASSERT_EQUAL(
        wh_int(&c, "globex_eu", "SELECT count(*) FROM onboarding_validation_test", NULL), 1);
}

/* Restarts the gateway with env (NULL-terminated) and waits for it. */
static void restart_gateway(const char *const *env)
{
    CU_ASSERT_EQUAL(cluster_stop_proc(&c, cluster_proc(&c, "gateway"), 10000), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cluster_spawn(&c, "gateway", "cvg-gateway", NULL, env));
    CU_ASSERT_TRUE(cluster_wait_ready(&c, 15000));
}

/* A check the warehouse cannot answer is the system's failure: 503 naming
 * no request field, never a 409 that blames the tenant id. The central
 * file is made unable to answer the dataset check (its column renamed
 * under the running cluster), then repaired. */
static void test_tenants_unanswered_check_is_503(void)
{
    const char *body = "{\"tenant_id\": \"unanswered\", \"company_name\": \"Unanswered\", "
                       "\"admin_email\": \"ops@unanswered.io\", \"plan_name\": \"BASIC\"}";
    CU_ASSERT_EQUAL_FATAL(wh_exec(&c, "tenants",
                                  "ALTER TABLE tenant_profiles RENAME COLUMN dataset_id TO "
                                  "dataset_id_gone",
                                  NULL),
                          0);
    char before[2048], after[2048];
    central_snapshot(&c, before, sizeof(before));
    json_t *b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/onboard", body, &b), 503);
    CU_ASSERT_STRING_EQUAL(code_of(b), "system_not_ready");
    CU_ASSERT_STRING_EQUAL(field_of(b), "");
    CU_ASSERT_PTR_NOT_NULL(strstr(message_of(b), "Cannot check the dataset"));
    json_decref(b);
    central_snapshot(&c, after, sizeof(after));
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL_FATAL(wh_exec(&c, "tenants",
                                  "ALTER TABLE tenant_profiles RENAME COLUMN dataset_id_gone TO "
                                  "dataset_id",
                                  NULL),
                          0);
    b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/onboard", body, &b), 201);
    json_decref(b);
}

static void test_tenants_onboarding_rolls_back_at_every_fault(void)
{
    static const char *points[] = {"after_dataset", "after_table", "after_view", "before_commit"};
    for (size_t i = 0; i < 4; i++) {
        char fault[80], tenant[32], body[512];
        snprintf(fault, sizeof(fault), "CVG_TEST_FAULT=onboarding:%s", points[i]);
        const char *env[] = {fault, NULL};
        restart_gateway(env);
        snprintf(tenant, sizeof(tenant), "rollback_%zu", i);
        snprintf(body, sizeof(body),
                 "{\"tenant_id\": \"%s\", \"company_name\": \"Rollback %zu\", \"admin_email\": "
                 "\"ops@rollback.io\", \"plan_name\": \"BASIC\"}",
                 tenant, i);
        char before[2048], after[2048];
        central_snapshot(&c, before, sizeof(before));
        json_t *b = NULL;
        CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/onboard", body, &b), 500);
        CU_ASSERT_STRING_EQUAL(code_of(b), "onboarding_failed");
        json_decref(b);
        central_snapshot(&c, after, sizeof(after));
        if (strcmp(before, after) != 0)
            printf("\n  fault %s left:\n  %s\n  %s\n", points[i], before, after);
        CU_ASSERT_STRING_EQUAL(before, after);
        static const char *tables[] = {"tenant_profiles", "tenant_subscriptions",
                                       "tenant_usage_quotas", "tenant_api_keys"};
        for (size_t t = 0; t < 4; t++) {
            char sql[128];
            snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE tenant_id = ?", tables[t]);
            CU_ASSERT_EQUAL(wh_int(&c, "tenants", sql, tenant), 0);
        }
        char ds[700];
        snprintf(ds, sizeof(ds), "%s/%s.db", c.warehouse_dir, tenant);
        CU_ASSERT_FALSE(cvg_fs_exists(ds));
    }
    restart_gateway(NULL);
    /* And without the fault the same tenant onboards. */
    json_t *b = NULL;
    CU_ASSERT_EQUAL(admin_post("/api/v1/tenants/onboard",
                               "{\"tenant_id\": \"rollback_0\", \"company_name\": \"Rollback\", "
                               "\"admin_email\": \"ops@rollback.io\", \"plan_name\": \"BASIC\"}",
                               &b),
                    201);
    json_decref(b);
}

/* ---- isolation ------------------------------------------------------------ */

/* Fills a route pattern's parameters. */
static void fill(const char *pattern, const char *tenant, const char *key_id, char *out,
                 size_t size)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 1 < size;) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            const char *v = strncmp(p, "{tenant_id}", 11) == 0  ? tenant
                            : strncmp(p, "{key_id}", 8) == 0    ? key_id
                            : strncmp(p, "{run_id}", 8) == 0    ? RUN_B
                            : strncmp(p, "{domain}", 8) == 0    ? "cost"
                            : strncmp(p, "{template}", 10) == 0 ? "cost_billing"
                            : strncmp(p, "{provider}", 10) == 0 ? "gcp"
                                                                : "aws";
            int n = snprintf(out + o, size - o, "%s", v);
            o += n > 0 ? (size_t)n : 0;
            p = end + 1;
        } else {
            out[o++] = *p++;
        }
    }
    out[o < size ? o : size - 1] = '\0';
}

/* A queued run whose stored text is not UTF-8 (written by an older build,
 * or by hand) is still answered: the field that cannot be shown is null,
 * the run is not reported missing. */
static void test_tenants_queued_run_with_bad_text_answered(void)
{
    const char *id = "01a20000-0000-7000-8000-0000000bad01";
    const char *args[] = {id, NULL};
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants",
                "INSERT INTO tenant_pipeline_execution_queue (queue_id, pipeline_logging_id, "
                "tenant_id, pipeline, pipeline_id, parameters, trigger_type, triggered_by, "
                "priority, state, attempt, max_attempts, enqueued_at, not_before, updated_at) "
                "VALUES (?1, ?1, 'globex-eu', 'gcp/cost/cost_billing', 'gcp_cost_billing', '{}', "
                "'manual', CAST(X'FF62' AS TEXT), 1, 'QUEUED', 1, 1, '2030-01-01T00:00:00.000Z', "
                "'2030-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z')",
                args),
        0);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s", id);
    const char *h[] = {admin_header, NULL};
    json_t *b = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", path, h, NULL, &b), 200);
    const char *status = json_string_value(json_object_get(b, "status"));
    CU_ASSERT_STRING_EQUAL(status ? status : "", "QUEUED");
    CU_ASSERT_TRUE(json_is_null(json_object_get(b, "triggered_by")));
    json_decref(b);
    CU_ASSERT_EQUAL(
        wh_exec(&c, "tenants",
                "DELETE FROM tenant_pipeline_execution_queue WHERE pipeline_logging_id = ?", args),
        0);
}

static void test_tenants_isolation_matrix(void)
{
    /* Tenant B (globex-eu) gets a key of its own; A is tenants[0]. */
    json_t *b = NULL;
    CU_ASSERT_EQUAL_FATAL(
        admin_post("/api/v1/admin/api-keys", "{\"tenant_id\": \"globex-eu\"}", &b), 201);
    char key_b_id[64];
    snprintf(key_b_id, sizeof(key_b_id), "%s", json_string_value(json_object_get(b, "api_key_id")));
    json_decref(b);
    /* and a run of B's, queued */
    const char *run_args[] = {RUN_B, NULL};
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants",
                "INSERT INTO tenant_pipeline_execution_queue (queue_id, pipeline_logging_id, "
                "tenant_id, pipeline, pipeline_id, parameters, trigger_type, priority, state, "
                "attempt, max_attempts, enqueued_at, updated_at) VALUES (?1, ?1, 'globex-eu', "
                "'gcp/cost/cost_billing', 'gcp_cost_billing', '{}', 'manual', 1, 'QUEUED', 1, 1, "
                "'2030-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z')",
                run_args),
        0);
    CU_ASSERT_EQUAL_FATAL(
        wh_exec(&c, "tenants",
                "INSERT INTO tenant_pipeline_runs (pipeline_logging_id, tenant_id, pipeline_id, "
                "pipeline, status, state_seq, trigger_type, attempt, created_at, updated_at) "
                "VALUES (?1, 'globex-eu', 'gcp_cost_billing', 'gcp/cost/cost_billing', 'QUEUED', "
                "17, 'manual', 1, '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z')",
                run_args),
        0);
    char before[2048], after[2048];
    central_snapshot(&c, before, sizeof(before));
    size_t n = 0, checked = 0;
    const gw_route_t *routes = gw_routes(&n);
    for (size_t i = 0; i < n; i++) {
        const gw_route_t *r = &routes[i];
        char path[512];
        fill(r->pattern, "globex-eu", key_b_id, path, sizeof(path));
        const char *body = strcmp(r->method, "GET") && strcmp(r->method, "DELETE") ? "{}" : NULL;
        char ka[128];
        snprintf(ka, sizeof(ka), "X-API-Key: %s", key_a);
        const char *tenant_a[] = {ka, json_ct, NULL};
        const char *none[] = {json_ct, NULL};
        const char *wrong[] = {"X-Admin-Key: not-the-admin-key-0000", json_ct, NULL};
        json_t *seen_a = NULL;
        long st_a = http_request(&c, r->method, path, tenant_a, body, &seen_a);
        char *dump_a = seen_a ? json_dumps(seen_a, JSON_COMPACT) : NULL;
        json_decref(seen_a);
        bool leaks_b = st_a == 200 && dump_a && strstr(dump_a, RUN_B);
        free(dump_a);
        long st_none = http_request(&c, r->method, path, none, body, NULL);
        long st_wrong = http_request(&c, r->method, path, wrong, body, NULL);
        bool ok = true;
        switch (r->auth) {
        case GW_AUTH_NONE:
            continue;
        case GW_AUTH_TENANT:
        case GW_AUTH_TENANT_OR_ADMIN:
            if (strstr(r->pattern, "{tenant_id}"))
                ok = (st_a == 403 || st_a == 404) && st_none == 401 && st_wrong == 403;
            else /* scoped by the key: B's run is invisible to A, or absent */
                ok = (st_a == 404 || st_a == 200) && !leaks_b && st_none == 401 && st_wrong == 403;
            break;
        case GW_AUTH_ADMIN:
        case GW_AUTH_SIGNUP: /* self sign-up is off: the admin key is needed */
            ok = st_a == 403 && st_none == 401 && st_wrong == 403;
            break;
        }
        if (!ok)
            printf("\n  %s %s: tenant A %ld, no key %ld, wrong admin key %ld\n", r->method, path,
                   st_a, st_none, st_wrong);
        CU_ASSERT_TRUE(ok);
        checked++;
    }
    CU_ASSERT(checked >= 13);
    /* a tenant key cannot widen its list to another tenant */
    char ka[128];
    snprintf(ka, sizeof(ka), "X-API-Key: %s", key_a);
    const char *ha[] = {ka, NULL};
    json_t *list = NULL;
    CU_ASSERT_EQUAL(
        http_request(&c, "GET", "/api/v1/pipelines/runs?tenant_id=globex-eu", ha, NULL, &list),
        200);
    json_t *runs = json_object_get(list, "runs");
    CU_ASSERT(json_array_size(runs) >= 1); /* its own onboarding */
    for (size_t i = 0; i < json_array_size(runs); i++)
        CU_ASSERT_STRING_EQUAL(
            json_string_value(json_object_get(json_array_get(runs, i), "tenant_id")),
            tenant_field(0, "tenant_id"));
    json_decref(list);
    /* the administrator sees it */
    const char *adm[] = {admin_header, NULL};
    CU_ASSERT_EQUAL(
        http_request(&c, "GET", "/api/v1/pipelines/runs?tenant_id=globex-eu", adm, NULL, &list),
        200);
    runs = json_object_get(list, "runs");
    bool found_b = false;
    for (size_t i = 0; i < json_array_size(runs); i++)
        found_b |= strcmp(json_string_value(
                              json_object_get(json_array_get(runs, i), "pipeline_logging_id")),
                          RUN_B) == 0;
    CU_ASSERT_TRUE(found_b);
    json_decref(list);
    central_snapshot(&c, after, sizeof(after));
    CU_ASSERT_STRING_EQUAL(before, after);
}

/* ---- API keys ------------------------------------------------------------- */

static bool file_contains(const char *path, const char *needle)
{
    char *data = NULL;
    size_t len = 0;
    if (cvg_fs_read_file(path, 512 * 1024 * 1024, &data, &len, NULL) != 0)
        return false;
    size_t m = strlen(needle);
    bool found = false;
    for (size_t i = 0; !found && i + m <= len; i++)
        found = memcmp(data + i, needle, m) == 0;
    free(data);
    return found;
}

/* Every file under dir (one level) that contains needle, counted. */
static int count_files_with(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int hits = 0;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && file_contains(path, needle))
            hits++;
    }
    if (d)
        closedir(d);
    return hits;
}

static void test_tenants_keys_never_stored_or_logged(void)
{
    enum { N = 100 };
    char(*keys)[CVG_APIKEY_LEN + 1] = calloc(N, CVG_APIKEY_LEN + 1);
    char body[256];
    snprintf(body, sizeof(body), "{\"tenant_id\": \"%s\"}", tenant_field(0, "tenant_id"));
    for (int i = 0; i < N; i++) {
        json_t *b = NULL;
        CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/admin/api-keys", body, &b), 201);
        snprintf(keys[i], CVG_APIKEY_LEN + 1, "%s",
                 json_string_value(json_object_get(b, "api_key")));
        json_decref(b);
    }
    /* They work ... */
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    CU_ASSERT_EQUAL(with_key("GET", path, keys[N - 1], NULL, NULL), 200);
    /* ... and appear in no warehouse file (WAL included) and no log. */
    int hits = 0;
    for (int i = 0; i < N; i++) {
        hits += count_files_with(c.warehouse_dir, keys[i] + 5);
        hits += count_files_with(c.dir, keys[i] + 5);
    }
    CU_ASSERT_EQUAL(hits, 0);
    /* Nor the first key, issued at onboarding. */
    CU_ASSERT_EQUAL(
        count_files_with(c.warehouse_dir, key_a + 5) + count_files_with(c.dir, key_a + 5), 0);
    free(keys);
}

static void test_tenants_bad_checksum_refused_without_lookup(void)
{
    char bad[CVG_APIKEY_LEN + 1];
    snprintf(bad, sizeof(bad), "%s", key_a);
    bad[20] = bad[20] == 'A' ? 'B' : 'A'; /* a typo: the checksum no longer matches */
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    long long before = gateway_metric(&c, "cvg_gateway_auth_lookups_total");
    CU_ASSERT(before >= 0);
    json_t *b = NULL;
    CU_ASSERT_EQUAL(with_key("GET", path, bad, NULL, &b), 401);
    CU_ASSERT_STRING_EQUAL(code_of(b), "invalid_api_key");
    json_decref(b);
    CU_ASSERT_EQUAL(gateway_metric(&c, "cvg_gateway_auth_lookups_total"), before);
    /* A well-formed key nobody issued does go to the warehouse. */
    char unknown[CVG_APIKEY_LEN + 1];
    cvg_apikey_generate(unknown);
    CU_ASSERT_EQUAL(with_key("GET", path, unknown, NULL, NULL), 401);
    CU_ASSERT_EQUAL(gateway_metric(&c, "cvg_gateway_auth_lookups_total"), before + 1);
}

/* A GET with an API key on the gateway at port. */
static long with_key_at(int port, const char *path, const char *key, http_reply_t *r)
{
    char kh[128];
    snprintf(kh, sizeof(kh), "X-API-Key: %s", key);
    const char *h[] = {kh, NULL};
    return http_call(port, "GET", path, h, NULL, r);
}

/* An address sending made-up keys is refused before the lookup once it
 * spent API_MAX_INVALID_KEYS_PER_IP; a key this gateway found valid still
 * passes. */
static void test_tenants_invalid_keys_throttled(void)
{
    int port = 0;
    const char *env[] = {"API_MAX_INVALID_KEYS_PER_IP=3", NULL};
    proc_t *gw = cluster_spawn_gateway(&c, "gateway-keyscan", env, "/health/live", &port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    http_reply_t r;
    CU_ASSERT_EQUAL(with_key_at(port, path, key_a, &r), 200);
    http_reply_free(&r);
    long long lookups = gateway_metric_at(port, "cvg_gateway_auth_lookups_total");
    char made_up[CVG_APIKEY_LEN + 1];
    for (int i = 0; i < 3; i++) {
        cvg_apikey_generate(made_up);
        CU_ASSERT_EQUAL(with_key_at(port, path, made_up, &r), 401);
        CU_ASSERT_PTR_NOT_NULL(strstr(cvg_buf_cstr(&r.body), "invalid_api_key"));
        http_reply_free(&r);
    }
    CU_ASSERT_EQUAL(gateway_metric_at(port, "cvg_gateway_auth_lookups_total"), lookups + 3);
    /* the fourth is refused without a lookup, saying why and until when */
    cvg_apikey_generate(made_up);
    CU_ASSERT_EQUAL(with_key_at(port, path, made_up, &r), 429);
    CU_ASSERT_PTR_NOT_NULL(strstr(cvg_buf_cstr(&r.body), "too_many_invalid_keys"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cvg_buf_cstr(&r.body), "more than 3 requests with an invalid"));
    char retry[16] = "";
    CU_ASSERT_TRUE(http_reply_header(&r, "Retry-After", retry, sizeof(retry)));
    long wait_s = strtol(retry, NULL, 10);
    CU_ASSERT(wait_s >= 1 && wait_s <= 20);
    http_reply_free(&r);
    CU_ASSERT_EQUAL(gateway_metric_at(port, "cvg_gateway_auth_lookups_total"), lookups + 3);
    /* the tenant's own key, found valid here a moment ago, still works,
     * looked up again once its cache entry is stale */
    cvg_time_sleep_ms(1100); /* past CVG_AUTH_CACHE_MS's largest value */
    CU_ASSERT_EQUAL(with_key_at(port, path, key_a, &r), 200);
    http_reply_free(&r);
    CU_ASSERT_EQUAL(gateway_metric_at(port, "cvg_gateway_auth_lookups_total"), lookups + 4);
    /* another gateway (its own count) lets the same address look keys up */
    long long main_lookups = gateway_metric(&c, "cvg_gateway_auth_lookups_total");
    cvg_apikey_generate(made_up);
    CU_ASSERT_EQUAL(with_key("GET", path, made_up, NULL, NULL), 401);
    CU_ASSERT_EQUAL(gateway_metric(&c, "cvg_gateway_auth_lookups_total"), main_lookups + 1);
    CU_ASSERT_EQUAL(cluster_stop_proc(&c, gw, 10000), 0);
}

/* A made-up key from the client an X-Forwarded-For names (after a first
 * header line `before` the client wrote, when given): 401 or 429. */
static long bad_key_after(int port, const char *path, const char *before, const char *xff)
{
    static char bh[12000];
    char made_up[CVG_APIKEY_LEN + 1], kh[128], fh[256];
    cvg_apikey_generate(made_up);
    snprintf(kh, sizeof(kh), "X-API-Key: %s", made_up);
    snprintf(fh, sizeof(fh), "X-Forwarded-For: %s", xff);
    snprintf(bh, sizeof(bh), "X-Forwarded-For: %s", before ? before : "");
    const char *h[] = {kh, before ? bh : fh, before ? fh : NULL, NULL};
    http_reply_t r;
    long st = http_call(port, "GET", path, h, NULL, &r);
    http_reply_free(&r);
    return st;
}

/* Behind a trusted proxy the invalid-key count is the client's, the one
 * the proxy's X-Forwarded-For entry names, not the proxy's: one client
 * scanning keys does not lock out the others, and what a client writes
 * in the header itself is not read. From a peer that is not a trusted
 * proxy the header is ignored. */
static long bad_key_from(int port, const char *path, const char *xff)
{
    return bad_key_after(port, path, NULL, xff);
}

static void test_tenants_invalid_keys_throttled_behind_proxy(void)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    int port = 0;
    const char *env[] = {"API_MAX_INVALID_KEYS_PER_IP=2",
                         "API_TRUSTED_PROXIES=10.0.0.0/8, 127.0.0.1", NULL};
    proc_t *gw = cluster_spawn_gateway(&c, "gateway-proxied", env, "/health/live", &port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    CU_ASSERT_EQUAL(bad_key_from(port, path, "198.51.100.7"), 401);
    CU_ASSERT_EQUAL(bad_key_from(port, path, "198.51.100.7"), 401);
    CU_ASSERT_EQUAL(bad_key_from(port, path, "198.51.100.7"), 429);
    /* the client's own forged entry is left of the one the proxy added */
    CU_ASSERT_EQUAL(bad_key_from(port, path, "192.0.2.1, 198.51.100.7"), 429);
    /* a chain of trusted proxies: the first untrusted address from the right */
    CU_ASSERT_EQUAL(bad_key_from(port, path, "198.51.100.7, 10.1.2.3"), 429);
    /* a long line of the client's own before the proxy's, with a port */
    static char junk[9000];
    memset(junk, '9', sizeof(junk) - 1);
    junk[sizeof(junk) - 1] = '\0';
    CU_ASSERT_EQUAL(bad_key_after(port, path, junk, "198.51.100.7:51234"), 429);
    /* another client behind the same proxy has its own count */
    CU_ASSERT_EQUAL(bad_key_from(port, path, "198.51.100.8"), 401);
    CU_ASSERT_EQUAL(cluster_stop_proc(&c, gw, 10000), 0);

    const char *untrusted[] = {"API_MAX_INVALID_KEYS_PER_IP=2", "API_TRUSTED_PROXIES=10.0.0.0/8",
                               NULL};
    gw = cluster_spawn_gateway(&c, "gateway-unproxied", untrusted, "/health/live", &port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    CU_ASSERT_EQUAL(bad_key_from(port, path, "198.51.100.7"), 401);
    CU_ASSERT_EQUAL(bad_key_from(port, path, "198.51.100.8"), 401);
    CU_ASSERT_EQUAL(bad_key_from(port, path, "198.51.100.9"), 429);
    CU_ASSERT_EQUAL(cluster_stop_proc(&c, gw, 10000), 0);

    /* a list that does not read stops the gateway at start, naming it */
    const char *bad[] = {"API_TRUSTED_PROXIES=10.0.0.1/8", NULL};
    proc_t *p = cluster_spawn(&c, "gateway-badproxies", "cvg-gateway", NULL, bad);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, p, 10000), 78);
    char *log = cluster_log(&c, "gateway-badproxies");
    CU_ASSERT_PTR_NOT_NULL(log && strstr(log, "API_TRUSTED_PROXIES: '10.0.0.1/8' has bits set"));
    free(log);
}

static void test_tenants_revocation_bound(void)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"tenant_id\": \"%s\"}", tenant_field(0, "tenant_id"));
    json_t *b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/admin/api-keys", body, &b), 201);
    char key[64], id[64], path[256], del[256];
    snprintf(key, sizeof(key), "%s", json_string_value(json_object_get(b, "api_key")));
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(b, "api_key_id")));
    json_decref(b);
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    snprintf(del, sizeof(del), "/api/v1/admin/api-keys/%s", id);
    /* A second gateway on the same warehouse, with the key in its cache. */
    int port2 = 0;
    proc_t *gw2 = cluster_spawn_gateway(&c, "gateway-2", NULL, "/health/live", &port2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw2);
    char kh[128];
    snprintf(kh, sizeof(kh), "X-API-Key: %s", key);
    const char *h[] = {kh, NULL};
    CU_ASSERT_EQUAL(with_key("GET", path, key, NULL, NULL), 200);
    CU_ASSERT_EQUAL(http_request_at(port2, "GET", path, h, NULL, NULL), 200);
    const char *ah[] = {admin_header, NULL};
    /* A DELETE takes no body: one it cannot take is refused, the key stands */
    const char *plain[] = {admin_header, "Content-Type: text/plain", NULL};
    const char *json[] = {admin_header, json_ct, NULL};
    CU_ASSERT_EQUAL(http_request(&c, "DELETE", del, plain, "revoke it", NULL), 415);
    CU_ASSERT_EQUAL(http_request(&c, "DELETE", del, json, "{\"reason\": \"x\"}", NULL), 422);
    CU_ASSERT_EQUAL(with_key("GET", path, key, NULL, NULL), 200);
    CU_ASSERT_EQUAL(http_request(&c, "DELETE", del, json, "{}", NULL), 200);
    /* The gateway that revoked it refuses it at once ... */
    b = NULL;
    CU_ASSERT_EQUAL(with_key("GET", path, key, NULL, &b), 401);
    CU_ASSERT_STRING_EQUAL(code_of(b), "key_revoked");
    json_decref(b);
    /* ... and every other gateway within one second. */
    cvg_time_sleep_ms(1000);
    b = NULL;
    CU_ASSERT_EQUAL(http_request_at(port2, "GET", path, h, NULL, &b), 401);
    CU_ASSERT_STRING_EQUAL(code_of(b), "key_revoked");
    json_decref(b);
    /* Revoking twice is harmless, and tells the time it was revoked; an
     * unknown id is 404. */
    b = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "DELETE", del, ah, NULL, &b), 200);
    CU_ASSERT_TRUE(json_is_false(json_object_get(b, "was_active")));
    char first_revoked[64];
    snprintf(first_revoked, sizeof(first_revoked), "%s",
             json_string_value(json_object_get(b, "revoked_at")));
    json_decref(b);
    b = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "DELETE", del, ah, NULL, &b), 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "revoked_at")), first_revoked);
    json_decref(b);
    CU_ASSERT_EQUAL(
        http_request(&c, "DELETE", "/api/v1/admin/api-keys/not-a-key-id", ah, NULL, NULL), 404);
    CU_ASSERT_EQUAL(cluster_stop_proc(&c, gw2, 10000), 0);
}

/* The description of key_id in its tenant's list of keys ("" when none). */
static void listed_description(const char *tenant, const char *key_id, char *out, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/admin/tenants/%s/api-keys", tenant);
    const char *ah[] = {admin_header, NULL};
    json_t *b = NULL;
    out[0] = '\0';
    http_request(&c, "GET", path, ah, NULL, &b);
    json_t *keys = json_object_get(b, "api_keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        const char *d = json_string_value(json_object_get(k, "description"));
        if (strcmp(json_string_value(json_object_get(k, "api_key_id")), key_id) == 0)
            snprintf(out, size, "%s", d ? d : "");
    }
    json_decref(b);
}

static void test_tenants_key_rotation_overlap(void)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"tenant_id\": \"%s\", \"description\": \"the dashboard\"}",
             tenant_field(0, "tenant_id"));
    json_t *b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/admin/api-keys", body, &b), 201);
    char old[64], old_id[64], path[256], rot[256];
    snprintf(old, sizeof(old), "%s", json_string_value(json_object_get(b, "api_key")));
    snprintf(old_id, sizeof(old_id), "%s", json_string_value(json_object_get(b, "api_key_id")));
    json_decref(b);
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    snprintf(rot, sizeof(rot), "/api/v1/admin/api-keys/%s/rotate", old_id);
    b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post(rot, "{\"overlap_seconds\": 3600}", &b), 201);
    char fresh[64], fresh_id[64];
    snprintf(fresh, sizeof(fresh), "%s", json_string_value(json_object_get(b, "api_key")));
    snprintf(fresh_id, sizeof(fresh_id), "%s", json_string_value(json_object_get(b, "api_key_id")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "replaces")), old_id);
    json_decref(b);
    /* the successor is the same key to its owner: same description */
    char described[64];
    listed_description(tenant_field(0, "tenant_id"), fresh_id, described, sizeof(described));
    CU_ASSERT_STRING_EQUAL(described, "the dashboard");
    CU_ASSERT_EQUAL(with_key("GET", path, fresh, NULL, NULL), 200);
    CU_ASSERT_EQUAL(with_key("GET", path, old, NULL, NULL), 200); /* overlap */
    /* A field it does not know is named */
    b = NULL;
    CU_ASSERT_EQUAL(admin_post(rot, "{\"overlap\": 60}", &b), 422);
    const char *fld = json_string_value(json_object_get(json_object_get(b, "error"), "field"));
    CU_ASSERT_STRING_EQUAL(fld ? fld : "", "overlap");
    json_decref(b);
    /* A retried rotate names the successor and issues no other (one that
     * would inherit the old key's hour of overlap as its whole life). */
    snprintf(rot, sizeof(rot), "/api/v1/admin/api-keys/%s/rotate", old_id);
    b = NULL;
    CU_ASSERT_EQUAL(admin_post(rot, "{}", &b), 409);
    const char *m = json_string_value(json_object_get(json_object_get(b, "error"), "message"));
    CU_ASSERT_PTR_NOT_NULL(m ? strstr(m, fresh_id) : NULL);
    json_decref(b);
    /* An overlap longer than the key has left does not lengthen its life:
     * a key of one day, rotated with 30 days of overlap, ends in a day. */
    snprintf(body, sizeof(body), "{\"tenant_id\": \"%s\", \"expires_in_days\": 1}",
             tenant_field(0, "tenant_id"));
    b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/admin/api-keys", body, &b), 201);
    char day_id[64], day_expires[64];
    snprintf(day_id, sizeof(day_id), "%s", json_string_value(json_object_get(b, "api_key_id")));
    snprintf(day_expires, sizeof(day_expires), "%s",
             json_string_value(json_object_get(b, "expires_at")));
    json_decref(b);
    snprintf(rot, sizeof(rot), "/api/v1/admin/api-keys/%s/rotate", day_id);
    b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post(rot, "{\"overlap_seconds\": 2592000}", &b), 201);
    const char *until = json_string_value(json_object_get(b, "old_key_expires_at"));
    CU_ASSERT_STRING_EQUAL(until ? until : "", day_expires);
    json_decref(b);
    /* Rotating without overlap ends the old key at once. */
    snprintf(rot, sizeof(rot), "/api/v1/admin/api-keys/%s/rotate", fresh_id);
    snprintf(rot, sizeof(rot), "/api/v1/admin/api-keys/%s/rotate", fresh_id);
    b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post(rot, "{\"overlap_seconds\": 0}", &b), 201);
    json_decref(b);
    b = NULL;
    CU_ASSERT_EQUAL(with_key("GET", path, fresh, NULL, &b), 401);
    CU_ASSERT_STRING_EQUAL(code_of(b), "key_expired");
    json_decref(b);
    CU_ASSERT_EQUAL(admin_post(rot, "{}", NULL), 409); /* not active any more */
    /* revoked once it has expired: it was not active */
    char del[256];
    snprintf(del, sizeof(del), "/api/v1/admin/api-keys/%s", fresh_id);
    const char *ah[] = {admin_header, NULL};
    b = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "DELETE", del, ah, NULL, &b), 200);
    CU_ASSERT_TRUE(json_is_false(json_object_get(b, "was_active")));
    json_decref(b);
}

/* ---- plans, subscriptions, rate limits ------------------------------------ */

static void test_tenants_subscription_states(void)
{
    const char *t = tenant_field(0, "tenant_id");
    char sub[256], creds[256], read[256];
    snprintf(sub, sizeof(sub), "/api/v1/admin/tenants/%s/subscription", t);
    snprintf(creds, sizeof(creds), "/api/v1/tenants/%s/credentials", t);
    snprintf(read, sizeof(read), "/api/v1/tenants/%s", t);
    const char *h[] = {admin_header, json_ct, NULL};
    CU_ASSERT_EQUAL(http_request(&c, "PATCH", sub, h, "{\"status\": \"SUSPENDED\"}", NULL), 200);
    json_t *b = NULL;
    CU_ASSERT_EQUAL(with_key("GET", creds, key_a, NULL, &b), 403);
    CU_ASSERT_STRING_EQUAL(code_of(b), "subscription_suspended");
    json_decref(b);
    CU_ASSERT_EQUAL(with_key("GET", read, key_a, NULL, NULL), 200); /* may still see why */
    char yesterday[CVG_TIME_DATE_LEN], patch[200];
    cvg_time_format_date(cvg_time_now_ms() - 86400000, yesterday);
    snprintf(patch, sizeof(patch), "{\"status\": \"TRIAL\", \"trial_end_date\": \"%s\"}",
             yesterday);
    CU_ASSERT_EQUAL(http_request(&c, "PATCH", sub, h, patch, NULL), 200);
    b = NULL;
    CU_ASSERT_EQUAL(with_key("GET", creds, key_a, NULL, &b), 402);
    CU_ASSERT_STRING_EQUAL(code_of(b), "trial_expired");
    json_decref(b);
    CU_ASSERT_EQUAL(http_request(&c, "PATCH", sub, h, "{\"status\": \"CANCELLED\"}", NULL), 200);
    b = NULL;
    CU_ASSERT_EQUAL(with_key("GET", creds, key_a, NULL, &b), 403);
    CU_ASSERT_STRING_EQUAL(code_of(b), "subscription_cancelled");
    json_decref(b);
    CU_ASSERT_EQUAL(http_request(&c, "PATCH", sub, h,
                                 "{\"status\": \"ACTIVE\", \"trial_end_date\": null}", NULL),
                    200);
    CU_ASSERT_EQUAL(with_key("GET", creds, key_a, NULL, NULL), 200);
    /* Bad changes are refused and change nothing. */
    CU_ASSERT_EQUAL(http_request(&c, "PATCH", sub, h, "{\"status\": \"PAUSED\"}", NULL), 422);
    CU_ASSERT_EQUAL(http_request(&c, "PATCH", sub, h, "{\"plan_name\": \"GOLD\"}", NULL), 422);
    CU_ASSERT_EQUAL(http_request(&c, "PATCH", sub, h, "{\"trial_end_date\": \"tomorrow\"}", NULL),
                    422);
    CU_ASSERT_EQUAL(http_request(&c, "PATCH", "/api/v1/admin/tenants/nobody_here/subscription", h,
                                 "{\"status\": \"ACTIVE\"}", NULL),
                    404);
}

static void test_tenants_rate_limit(void)
{
    char *body = tenant_body(2); /* FREE: 60 requests a minute */
    json_t *b = NULL;
    CU_ASSERT_EQUAL_FATAL(admin_post("/api/v1/tenants/onboard", body, &b), 201);
    free(body);
    char key[64], path[256];
    snprintf(key, sizeof(key), "%s", json_string_value(json_object_get(b, "api_key")));
    json_decref(b);
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(2, "tenant_id"));
    int ok = 0;
    long st = 0;
    for (int i = 0; i < 61 && (st = with_key("GET", path, key, NULL, NULL)) == 200; i++)
        ok++;
    CU_ASSERT(ok >= 59 && ok <= 60); /* a token may have come back meanwhile */
    char kh[128];
    snprintf(kh, sizeof(kh), "X-API-Key: %s", key);
    const char *h[] = {kh, NULL};
    http_reply_t r = {0};
    for (int i = 0; i < 5; i++) {
        if (i)
            http_reply_free(&r);
        if (http_call(c.api_port, "GET", path, h, NULL, &r) != 200)
            break;
    }
    CU_ASSERT_EQUAL(r.status, 429);
    char v[128];
    CU_ASSERT(http_reply_header(&r, "Retry-After", v, sizeof(v)) && strtol(v, NULL, 10) >= 1 &&
              strtol(v, NULL, 10) <= 60);
    CU_ASSERT(http_reply_header(&r, "RateLimit-Policy", v, sizeof(v)) &&
              strstr(v, "q=60") != NULL && strstr(v, "w=60") != NULL);
    CU_ASSERT(http_reply_header(&r, "RateLimit", v, sizeof(v)) && strstr(v, "r=0") != NULL);
    json_t *err = json_loads(cvg_buf_cstr(&r.body), 0, NULL);
    CU_ASSERT_STRING_EQUAL(code_of(err), "rate_limited");
    json_decref(err);
    http_reply_free(&r);
    /* Another tenant's budget is untouched. */
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    CU_ASSERT_EQUAL(with_key("GET", path, key_a, NULL, NULL), 200);
}

/* ---- credentials ------------------------------------------------------------ */

static void test_tenants_credentials(void)
{
    const char *t = tenant_field(0, "tenant_id");
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/tenants/%s/credentials/aws", t);
    const char *secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY1";
    char good[256], bad[256];
    snprintf(good, sizeof(good),
             "{\"access_key_id\": \"AKIAIOSFODNN7EXAMPLE\", \"secret_access_key\": \"%s\", "
             "\"region\": \"eu-west-1\"}",
             secret);
    snprintf(bad, sizeof(bad), "{\"access_key_id\": \"AKIAIOSFODNN7EXAMPLE\", \"secret\": \"%s\"}",
             secret);
    json_t *b = NULL;
    CU_ASSERT_EQUAL(with_key("PUT", path, key_a, bad, &b), 422);
    char *dump = json_dumps(b, JSON_COMPACT);
    CU_ASSERT_PTR_NULL(strstr(dump, secret));
    free(dump);
    CU_ASSERT_STRING_EQUAL(field_of(b), "secret");
    const char *why = message_of(b);
    CU_ASSERT_STRING_EQUAL(why, "secret: unknown field in aws credentials");
    json_decref(b);
    b = NULL;
    /* a value of the wrong type says what it must be */
    CU_ASSERT_EQUAL(with_key("PUT", path, key_a,
                             "{\"access_key_id\": \"AKIAIOSFODNN7EXAMPLE\", "
                             "\"secret_access_key\": \"x\", \"region\": 1}",
                             &b),
                    422);
    why = message_of(b);
    CU_ASSERT_STRING_EQUAL(why, "region: must be a string");
    json_decref(b);
    b = NULL;
    CU_ASSERT_EQUAL(with_key("PUT", path, key_a, "{\"secret_access_key\": \"wJalrXUtnF", &b), 400);
    dump = json_dumps(b, JSON_COMPACT);
    CU_ASSERT_PTR_NULL(strstr(dump, "wJalr"));
    free(dump);
    json_decref(b);
    b = NULL;
    /* a secret over the size a credential may have: 413, nothing stored */
    size_t big_len = 100 * 1024;
    char *big = malloc(big_len + 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    int at = snprintf(big, 200,
                      "{\"access_key_id\": \"AKIAIOSFODNN7EXAMPLE\", "
                      "\"secret_access_key\": \"");
    memset(big + at, 'a', big_len);
    snprintf(big + at + big_len, 200 - (size_t)at, "\"}");
    CU_ASSERT_EQUAL(with_key("PUT", path, key_a, big, &b), 413);
    CU_ASSERT_STRING_EQUAL(code_of(b), "payload_too_large");
    free(big);
    json_decref(b);
    b = NULL;
    /* a region with a line break (or any control or bidi character) is
     * refused: it is shown back and goes into request headers */
    CU_ASSERT_EQUAL(with_key("PUT", path, key_a,
                             "{\"access_key_id\": \"AKIAIOSFODNN7EXAMPLE\", "
                             "\"secret_access_key\": \"x\", \"region\": \"eu-west-1\\r\\nX: y\"}",
                             &b),
                    422);
    CU_ASSERT_STRING_EQUAL(field_of(b), "region");
    json_decref(b);
    b = NULL;
    CU_ASSERT_EQUAL(with_key("PUT", path, key_a,
                             "{\"access_key_id\": \"AKIA\u202eELPMAXE\", "
                             "\"secret_access_key\": \"x\"}",
                             &b),
                    422);
    json_decref(b);
    b = NULL;
    CU_ASSERT_EQUAL_FATAL(with_key("PUT", path, key_a, good, &b), 200);
    dump = json_dumps(b, JSON_COMPACT);
    CU_ASSERT_PTR_NULL(strstr(dump, secret));
    CU_ASSERT_PTR_NULL(strstr(dump, "AKIAIOSFODNN7EXAMPLE"));
    free(dump);
    json_decref(b);
    b = NULL;
    CU_ASSERT_EQUAL(with_key("GET", path, key_a, NULL, &b), 200);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_object_get(b, "metadata"), "region")), "eu-west-1");
    dump = json_dumps(b, JSON_COMPACT);
    CU_ASSERT_PTR_NULL(strstr(dump, secret));
    free(dump);
    json_decref(b);
    CU_ASSERT_EQUAL(count_files_with(c.warehouse_dir, secret) + count_files_with(c.dir, secret), 0);
    /* replaced: a new secret, and the credential still as old as its first
     * store, updated now */
    b = NULL;
    CU_ASSERT_EQUAL(with_key("GET", path, key_a, NULL, &b), 200);
    char first_created[64];
    snprintf(first_created, sizeof(first_created), "%s",
             json_string_value(json_object_get(b, "created_at")));
    json_decref(b);
    cvg_time_sleep_ms(5);
    CU_ASSERT_EQUAL(with_key("PUT", path, key_a, good, NULL), 200);
    b = NULL;
    CU_ASSERT_EQUAL(with_key("GET", path, key_a, NULL, &b), 200);
    const char *created = json_string_value(json_object_get(b, "created_at"));
    const char *updated = json_string_value(json_object_get(b, "updated_at"));
    CU_ASSERT_STRING_EQUAL(created ? created : "", first_created);
    CU_ASSERT(updated && strcmp(updated, first_created) > 0);
    json_decref(b);
    /* removed, secret and all; a second removal finds none */
    b = NULL;
    CU_ASSERT_EQUAL(with_key("DELETE", path, key_a, NULL, &b), 200);
    CU_ASSERT_TRUE(json_is_true(json_object_get(b, "deleted")));
    json_decref(b);
    CU_ASSERT_EQUAL(with_key("GET", path, key_a, NULL, NULL), 404);
    CU_ASSERT_EQUAL(with_key("DELETE", path, key_a, NULL, NULL), 404);
    CU_ASSERT_EQUAL(wh_int(&c, "tenants",
                           "SELECT count(*) FROM tenant_cloud_credentials WHERE tenant_id = ?", t),
                    0);
    /* stored again, for the tests that follow */
    CU_ASSERT_EQUAL(with_key("PUT", path, key_a, good, NULL), 200);
    /* Unknown provider. */
    char other[256];
    snprintf(other, sizeof(other), "/api/v1/tenants/%s/credentials/oracle", t);
    CU_ASSERT_EQUAL(with_key("PUT", other, key_a, good, NULL), 404);
}

static void test_tenants_master_key_rotation(void)
{
    /* A second master key version; the command re-seals every data key. */
    char path[700];
    snprintf(path, sizeof(path), "%s/master_keys", c.dir);
    unsigned char raw[32];
    cvg_random_bytes(raw, sizeof(raw));
    char *v2 = cvg_base64_encode(raw, sizeof(raw));
    char text[256];
    snprintf(text, sizeof(text), "1:%s\n2:%s\n", c.master_b64, v2);
    CU_ASSERT_EQUAL_FATAL(cvg_fs_write_file(path, text, strlen(text), 0600, NULL), 0);
    char file_env[800];
    snprintf(file_env, sizeof(file_env), "CVG_MASTER_KEY_FILE=%s", path);
    const char *env[] = {"CVG_MASTER_KEY=", file_env, NULL};
    const char *args[] = {"rotate-master-key", NULL};
    proc_t *p = cluster_spawn(&c, "rotate", "cvg-gateway", args, env);
    CU_ASSERT_EQUAL(cluster_wait_exit(&c, p, 20000), 0);
    CU_ASSERT_TRUE(cluster_wait_log(&c, "rotate",
                                    "re-sealed 1 credential(s) under master key version 2", 100));
    CU_ASSERT_EQUAL(wh_int(&c, "tenants",
                           "SELECT count(*) FROM tenant_cloud_credentials WHERE key_version <> 2",
                           NULL),
                    0);
    /* Version 2 alone now opens it. */
    cvg_keyring_t k;
    memset(&k, 0, sizeof(k));
    snprintf(text, sizeof(text), "2:%s", v2);
    CU_ASSERT_EQUAL_FATAL(cvg_keyring_parse_master(&k, text, "test", NULL), 0);
    char url[700];
    snprintf(url, sizeof(url), "sqlite://%s", c.warehouse_dir);
    cvg_wh_t *wh = NULL;
    CU_ASSERT_EQUAL_FATAL(cvg_wh_open(url, &wh, NULL), 0);
    char *secret = NULL;
    cvg_err_t err;
    CU_ASSERT_EQUAL(cvg_cred_load(wh, &k, tenant_field(0, "tenant_id"), "aws", &secret, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(secret ? strstr(secret, "wJalrXUtnFEMI") : NULL);
    free(secret);
    cvg_wh_close(&wh);
    free(v2);
}

static void test_tenants_keys_in_url_refused(void)
{
    char path[300];
    snprintf(path, sizeof(path), "/api/v1/tenants/%s?api_key=%s", tenant_field(0, "tenant_id"),
             key_a);
    json_t *b = NULL;
    CU_ASSERT_EQUAL(http_request(&c, "GET", path, NULL, NULL, &b), 400);
    CU_ASSERT_STRING_EQUAL(code_of(b), "credentials_in_url");
    json_decref(b);
}

/* Bytes that are not UTF-8 in a path (%FF%FE) are answered like any
 * unknown name, with a JSON error that quotes them as '?', never a 500
 * without a body; a %00 in a path names nothing (it does not end the path
 * there). */
static void test_tenants_odd_bytes_in_requests(void)
{
    char own[300], creds[300];
    snprintf(own, sizeof(own), "/api/v1/tenants/%s%%00xyz", tenant_field(0, "tenant_id"));
    snprintf(creds, sizeof(creds), "/api/v1/tenants/%s/credentials/%%00",
             tenant_field(0, "tenant_id"));
    const struct {
        const char *method, *path;
        long status;
    } cases[] = {
        {"GET", "/api/v1/tenants/%FF%FE", 404},
        {"GET", "/api/v1/tenants/%FF%FE/providers/gcp", 404},
        {"GET", "/api/v1/pipelines/runs/%FF%FE", 404},
        {"GET", own, 404},
        {"GET", creds, 404},
        {"POST", "/api/v1/pipelines/runs/%FF%FE/cancel", 404},
    };
    const char *h[] = {admin_header, NULL};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *b = NULL;
        long st = http_request(&c, cases[i].method, cases[i].path, h, NULL, &b);
        if (st != cases[i].status)
            printf("\n  %s %s: %ld\n", cases[i].method, cases[i].path, st);
        CU_ASSERT_EQUAL(st, cases[i].status);
        CU_ASSERT(code_of(b)[0] != '\0'); /* a JSON error, with its code */
        json_decref(b);
    }
}

/* Blanks after a key (HTTP's optional whitespace) are not part of it; an
 * X-User-ID that cannot be recorded as it is refuses the request. */
static void test_tenants_header_values(void)
{
    char path[256], kh[160], ah[160];
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    snprintf(kh, sizeof(kh), "X-API-Key: %s \t ", key_a);
    snprintf(ah, sizeof(ah), "%s  ", admin_header);
    const char *tenant[] = {kh, NULL};
    const char *admin[] = {ah, NULL};
    CU_ASSERT_EQUAL(http_request(&c, "GET", path, tenant, NULL, NULL), 200);
    CU_ASSERT_EQUAL(http_request(&c, "GET", path, admin, NULL, NULL), 200);
    char before[2048], after[2048];
    central_snapshot(&c, before, sizeof(before));
    char long_user[400];
    memset(long_user, 'u', sizeof(long_user) - 1);
    long_user[sizeof(long_user) - 1] = '\0';
    char uh[460];
    snprintf(uh, sizeof(uh), "X-User-ID: %s", long_user);
    const char *users[] = {"X-User-ID: bob\x1b[31m", uh, "X-User-ID: bob\xff"};
    for (size_t i = 0; i < 3; i++) {
        const char *h[] = {admin_header, json_ct, users[i], NULL};
        json_t *b = NULL;
        CU_ASSERT_EQUAL(http_request(&c, "POST", "/api/v1/admin/api-keys", h,
                                     "{\"tenant_id\": \"nosuch\"}", &b),
                        400);
        CU_ASSERT_STRING_EQUAL(field_of(b), "X-User-ID");
        json_decref(b);
    }
    /* A tenant may not pass for the admin (or the system): those names are
     * what the run logs record for the system's own callers. */
    static const char *const reserved[] = {"X-User-ID: admin", "X-User-ID: System"};
    for (size_t i = 0; i < 2; i++) {
        const char *h[] = {kh, json_ct, reserved[i], NULL};
        json_t *b = NULL;
        snprintf(path, sizeof(path), "/api/v1/tenants/%s/providers/gcp",
                 tenant_field(0, "tenant_id"));
        CU_ASSERT_EQUAL(http_request(&c, "PUT", path, h, "{}", &b), 400);
        CU_ASSERT_STRING_EQUAL(field_of(b), "X-User-ID");
        CU_ASSERT_PTR_NOT_NULL(strstr(message_of(b), "records for itself"));
        json_decref(b);
    }
    central_snapshot(&c, after, sizeof(after));
    CU_ASSERT_STRING_EQUAL(before, after);
    /* The admin naming itself is what would be recorded anyway. */
    const char *self[] = {admin_header, "X-User-ID: admin", NULL};
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", tenant_field(0, "tenant_id"));
    CU_ASSERT_EQUAL(http_request(&c, "GET", path, self, NULL, NULL), 200);
}

static void test_tenants_self_signup(void)
{
    /* Off by default: onboarding without the admin key is refused. */
    const char *h[] = {json_ct, NULL};
    char *body = tenant_body(1);
    CU_ASSERT_EQUAL(http_request(&c, "POST", "/api/v1/tenants/dryrun", h, body, NULL), 401);
    /* A gateway with self sign-up on, 3 per address per hour. */
    int port = 0;
    const char *env[] = {"CVG_SELF_SIGNUP=true", "CVG_SIGNUP_PER_HOUR=3", NULL};
    proc_t *gw = cluster_spawn_gateway(&c, "gateway-signup", env, "/health/live", &port);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(http_request_at(port, "POST", "/api/v1/tenants/dryrun", h, body, NULL),
                        200);
    json_t *b = NULL;
    CU_ASSERT_EQUAL(http_request_at(port, "POST", "/api/v1/tenants/dryrun", h, body, &b), 429);
    CU_ASSERT_STRING_EQUAL(code_of(b), "rate_limited");
    json_decref(b);
    free(body);
    /* a stop may take two grace periods (5 s here): open connections, then
     * the events the logger has not acknowledged */
    CU_ASSERT_EQUAL(cluster_stop_proc(&c, gw, 15000), 0);
}

static CU_TestInfo tests[] = {
    {"test_originals_01_health_check", test_originals_01_health_check},
    {"test_originals_02_bootstrap_system", test_originals_02_bootstrap_system},
    {"test_originals_03_create_tenant", test_originals_03_create_tenant},
    {"test_originals_04_get_tenant_info", test_originals_04_get_tenant_info},
    {"test_originals_05_generate_tenant_api_key", test_originals_05_generate_tenant_api_key},
    {"test_originals_06_invalid_admin_key_rejected", test_originals_06_invalid_admin_key_rejected},
    {"test_originals_07_missing_admin_key_rejected", test_originals_07_missing_admin_key_rejected},
    {"test_originals_08_api_versioning", test_originals_08_api_versioning},
    {"test_originals_09_rate_limiting_headers", test_originals_09_rate_limiting_headers},
    {"test_originals_10_schema_consistency", test_originals_10_schema_consistency},
    {"test_tenants_dryrun_shape_and_log", test_tenants_dryrun_shape_and_log},
    {"test_tenants_invalid_requests_change_nothing", test_tenants_invalid_requests_change_nothing},
    {"test_tenants_malformed_bodies_change_nothing", test_tenants_malformed_bodies_change_nothing},
    {"test_tenants_conflicts", test_tenants_conflicts},
    {"test_tenants_metacharacters_stored_verbatim", test_tenants_metacharacters_stored_verbatim},
    {"test_tenants_comprehensive_view", test_tenants_comprehensive_view},
    {"test_tenants_unanswered_check_is_503", test_tenants_unanswered_check_is_503},
    {"test_tenants_racing_onboardings", test_tenants_racing_onboardings},
    {"test_tenants_onboarding_rolls_back_at_every_fault",
     test_tenants_onboarding_rolls_back_at_every_fault},
    {"test_tenants_isolation_matrix", test_tenants_isolation_matrix},
    {"test_tenants_queued_run_with_bad_text_answered",
     test_tenants_queued_run_with_bad_text_answered},
    {"test_tenants_keys_never_stored_or_logged", test_tenants_keys_never_stored_or_logged},
    {"test_tenants_bad_checksum_refused_without_lookup",
     test_tenants_bad_checksum_refused_without_lookup},
    {"test_tenants_invalid_keys_throttled", test_tenants_invalid_keys_throttled},
    {"test_tenants_invalid_keys_throttled_behind_proxy",
     test_tenants_invalid_keys_throttled_behind_proxy},
    {"test_tenants_revocation_bound", test_tenants_revocation_bound},
    {"test_tenants_key_rotation_overlap", test_tenants_key_rotation_overlap},
    {"test_tenants_subscription_states", test_tenants_subscription_states},
    {"test_tenants_rate_limit", test_tenants_rate_limit},
    {"test_tenants_credentials", test_tenants_credentials},
    {"test_tenants_master_key_rotation", test_tenants_master_key_rotation},
    {"test_tenants_keys_in_url_refused", test_tenants_keys_in_url_refused},
    {"test_tenants_odd_bytes_in_requests", test_tenants_odd_bytes_in_requests},
    {"test_tenants_header_values", test_tenants_header_values},
    {"test_tenants_self_signup", test_tenants_self_signup},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_tenants = {"integration_tenants", setup, teardown, tests, 400};
