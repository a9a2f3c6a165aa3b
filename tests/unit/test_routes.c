/*
 * The gateway's route table: exact matches, trailing slashes, HEAD as GET,
 * and the Allow list for a known path with the wrong method.
 */
#include "gateway/gateway.h"
#include "tests/tests.h"

#include <string.h>

static void test_routes_match(void)
{
    gw_req_t req;
    memset(&req, 0, sizeof(req));
    bool known = false;
    char allow[64];
    const gw_route_t *r =
        gw_route_match("GET", "/health/ready", &req, &known, allow, sizeof(allow));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->pattern, "/health/ready");
    CU_ASSERT_EQUAL(r->auth, GW_AUTH_NONE);
    r = gw_route_match("GET", "/health/", &req, &known, allow, sizeof(allow));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->pattern, "/health");
    r = gw_route_match("HEAD", "/health/live", &req, &known, allow, sizeof(allow));
    CU_ASSERT_PTR_NOT_NULL(r);
    r = gw_route_match("POST", "/api/v1/admin/bootstrap", &req, &known, allow, sizeof(allow));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->auth, GW_AUTH_ADMIN);
}

static void test_routes_unknown_and_wrong_method(void)
{
    gw_req_t req;
    memset(&req, 0, sizeof(req));
    bool known = true;
    char allow[64];
    CU_ASSERT_PTR_NULL(gw_route_match("GET", "/nope", &req, &known, allow, sizeof(allow)));
    CU_ASSERT_FALSE(known);
    CU_ASSERT_PTR_NULL(
        gw_route_match("GET", "/health/ready/x", &req, &known, allow, sizeof(allow)));
    CU_ASSERT_FALSE(known);
    CU_ASSERT_PTR_NULL(gw_route_match("DELETE", "/health", &req, &known, allow, sizeof(allow)));
    CU_ASSERT_TRUE(known);
    CU_ASSERT_STRING_EQUAL(allow, "GET");
    CU_ASSERT_PTR_NULL(
        gw_route_match("GET", "/api/v1/admin/bootstrap", &req, &known, allow, sizeof(allow)));
    CU_ASSERT_TRUE(known);
    CU_ASSERT_STRING_EQUAL(allow, "POST");
}

static void test_routes_every_admin_path_needs_the_admin_key(void)
{
    size_t n = 0;
    const gw_route_t *routes = gw_routes(&n);
    CU_ASSERT(n >= 5);
    for (size_t i = 0; i < n; i++) {
        if (strstr(routes[i].pattern, "/admin/") != NULL)
            CU_ASSERT_EQUAL(routes[i].auth, GW_AUTH_ADMIN);
        CU_ASSERT_PTR_NOT_NULL(routes[i].summary);
    }
}

static CU_TestInfo tests[] = {
    {"test_routes_match", test_routes_match},
    {"test_routes_unknown_and_wrong_method", test_routes_unknown_and_wrong_method},
    {"test_routes_every_admin_path_needs_the_admin_key",
     test_routes_every_admin_path_needs_the_admin_key},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_routes = {"unit_routes", NULL, NULL, tests, 30};
