/*
 * Tenant identity rules, table-driven: tenant ids and their datasets,
 * e-mail syntax and domain policy, company names; plans; quota limits.
 */
#include "common/plans.h"
#include "common/tenant.h"
#include "common/quota.h"
#include "common/time.h"
#include "tests/tests.h"

#include <string.h>

static void test_tenant_ids(void)
{
    static const struct {
        const char *id;
        bool ok;
    } cases[] = {
        {"acme", true},
        {"acme_corp", true},
        {"acme-corp", true},
        {"a1b", true},
        {"123abc", false}, /* its dataset could not be named: onboarding failed */
        {"sqlite_master", false},
        {"pg_toast", false},
        {"pgx", true},
        {"customer_id_123", true},
        {"ab", false},
        {"Acme", false},
        {"acme corp", false},
        {"acme.corp", false},
        {"acme'; --", false},
        {"ünïcode", false},
        {"", false},
        {"tenants", false},
        {"system", false},
        {"main", false},
        {"acme\ncorp", false},
        {"a234567890123456789012345678901234567890123456789012345678901234", true},
        {"a2345678901234567890123456789012345678901234567890123456789012345", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[256] = "";
        int rc = cvg_tenant_id_check(cases[i].id, why, sizeof(why));
        if ((rc == 0) != cases[i].ok)
            printf("\n  tenant id '%s': expected %s (%s)\n", cases[i].id,
                   cases[i].ok ? "ok" : "refused", why);
        CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
        if (!cases[i].ok)
            CU_ASSERT(why[0] != '\0');
    }
    char ds[CVG_DATASET_MAX];
    cvg_tenant_dataset("acme-corp-eu", ds);
    CU_ASSERT_STRING_EQUAL(ds, "acme_corp_eu");
    /* Only the exact reserved names are refused, after - becomes _. */
    char why[256];
    CU_ASSERT_EQUAL(cvg_tenant_id_check("my-tenants", why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(cvg_tenant_id_check("sys-tem", why, sizeof(why)), 0);
    CU_ASSERT_NOT_EQUAL(cvg_tenant_id_check("pg-catalog", why, sizeof(why)), 0);
}

static void test_tenant_emails(void)
{
    static const struct {
        const char *email;
        bool ok;
    } cases[] = {
        {"admin@customer.com", true}, {"first.last+finops@sub.example-corp.co.uk", true},
        {"o'brien@acme.io", true},    {"plain", false},
        {"@acme.io", false},          {"ops@", false},
        {"ops@acme", false},          {"ops@acme.c", false},
        {"ops@acme.123", false},      {"ops@@acme.io", false},
        {"a@b@acme.io", false},       {".ops@acme.io", false},
        {"ops.@acme.io", false},      {"o..ps@acme.io", false},
        {"ops@-acme.io", false},      {"ops@acme-.io", false},
        {"ops@acme..io", false},      {"\"quoted\"@acme.io", false},
        {"ops@[127.0.0.1]", false},   {"ops name@acme.io", false},
        {"ops@acme.io\n", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[256] = "";
        int rc = cvg_email_check(cases[i].email, why, sizeof(why));
        if ((rc == 0) != cases[i].ok)
            printf("\n  email '%s': expected %s (%s)\n", cases[i].email,
                   cases[i].ok ? "ok" : "refused", why);
        CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
    }
}

static void test_tenant_email_domain_policy(void)
{
    char dir[1024], why[256];
    snprintf(dir, sizeof(dir), "%s/configs", source_dir());
    cvg_email_policy_t reserved, corporate;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_email_policy_load(dir, "reserved", &reserved, &err), 0);
    CU_ASSERT_EQUAL_FATAL(cvg_email_policy_load(dir, "corporate", &corporate, &err), 0);
    CU_ASSERT_NOT_EQUAL(cvg_email_domain_check(&reserved, "a@example.com", why, sizeof(why)), 0);
    CU_ASSERT_NOT_EQUAL(cvg_email_domain_check(&reserved, "a@EXAMPLE.org", why, sizeof(why)), 0);
    CU_ASSERT_NOT_EQUAL(cvg_email_domain_check(&reserved, "a@corp.test", why, sizeof(why)), 0);
    CU_ASSERT_NOT_EQUAL(cvg_email_domain_check(&reserved, "a@x.invalid", why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(cvg_email_domain_check(&reserved, "a@gmail.com", why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(cvg_email_domain_check(&reserved, "a@acme.io", why, sizeof(why)), 0);
    CU_ASSERT_NOT_EQUAL(cvg_email_domain_check(&corporate, "a@gmail.com", why, sizeof(why)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "must be corporate domain"));
    CU_ASSERT_EQUAL(cvg_email_domain_check(&corporate, "a@acme.io", why, sizeof(why)), 0);
    /* "notexample.com" merely ends in letters of a reserved name. */
    CU_ASSERT_EQUAL(cvg_email_domain_check(&reserved, "a@notexample.com", why, sizeof(why)), 0);
    cvg_email_policy_cleanup(&reserved);
    cvg_email_policy_cleanup(&corporate);
}

static void test_tenant_company_names(void)
{
    static const struct {
        const char *name, *stored;
        bool ok;
    } cases[] = {
        {"Acme Corp", "Acme Corp", true},
        {"  Acme Corp \t", "Acme Corp", true},
        {"Zürich Rückversicherung AG", "Zürich Rückversicherung AG", true},
        {"株式会社", "株式会社", true},
        {"Robert'); DROP TABLE tenant_profiles;--", "Robert'); DROP TABLE tenant_profiles;--",
         true},
        {"A", NULL, false},
        {"  ", NULL, false},
        {"Acme\x01Corp", NULL, false},
        {"Acme\nCorp", NULL, false},
        {"Acme\xe2\x80\xae"
         "Corp",
         NULL, false},                 /* right-to-left override */
        {"Acme\xff", NULL, false},     /* not UTF-8 */
        {"Acme\xc0\xaf", NULL, false}, /* overlong encoding */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[1024], why[256];
        int rc = cvg_company_name_check(cases[i].name, out, sizeof(out), why, sizeof(why));
        CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
        if (cases[i].ok)
            CU_ASSERT_STRING_EQUAL(out, cases[i].stored);
    }
    char long_name[400], out[1024], why[256];
    memset(long_name, 'x', 201);
    long_name[201] = '\0';
    CU_ASSERT_NOT_EQUAL(cvg_company_name_check(long_name, out, sizeof(out), why, sizeof(why)), 0);
    long_name[200] = '\0';
    CU_ASSERT_EQUAL(cvg_company_name_check(long_name, out, sizeof(out), why, sizeof(why)), 0);
}

static void test_tenant_plans(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/configs", source_dir());
    cvg_plans_t plans;
    cvg_err_t err;
    CU_ASSERT_EQUAL_FATAL(cvg_plans_load(dir, &plans, &err), 0);
    static const char *names[] = {"FREE", "BASIC", "PROFESSIONAL", "ENTERPRISE"};
    for (size_t i = 0; i < 4; i++) {
        const cvg_plan_t *p = cvg_plans_find(&plans, names[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT(p->daily_limit > 0 && p->monthly_limit >= p->daily_limit);
        CU_ASSERT(p->concurrent_limit > 0 && p->rate_limit_per_minute > 0);
    }
    CU_ASSERT_PTR_NULL(cvg_plans_find(&plans, "professional"));
    CU_ASSERT_PTR_NULL(cvg_plans_find(&plans, "GOLD"));
}

static void test_quota_limits(void)
{
    cvg_limits_t l = {.daily = 5, .monthly = 50, .concurrent = 1};
    cvg_usage_t u = {.run_today = 4, .run_month = 20, .running = 3};
    char why[200];
    int64_t after = -1;
    int64_t now = 0;
    CU_ASSERT_EQUAL_FATAL(cvg_time_parse_iso("2026-11-30T23:00:00Z", &now), 0);
    /* runs in flight wait for dispatch: they refuse nothing */
    CU_ASSERT_PTR_NULL(cvg_quota_exhausted(&u, &l, now, &after, why, sizeof(why)));
    u.run_today = 5;
    CU_ASSERT_PTR_NOT_NULL(cvg_quota_exhausted(&u, &l, now, &after, why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "daily limit of 5"));
    CU_ASSERT_EQUAL(after, 3600); /* to midnight UTC */
    u.run_today = 0;
    u.run_month = 50;
    CU_ASSERT_PTR_NOT_NULL(cvg_quota_exhausted(&u, &l, now, &after, why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "monthly"));
    CU_ASSERT_EQUAL(after, 3600); /* 2026-12-01 is an hour away */
    CU_ASSERT_EQUAL_FATAL(cvg_time_parse_iso("2026-11-15T12:00:00Z", &now), 0);
    cvg_quota_exhausted(&u, &l, now, &after, why, sizeof(why));
    CU_ASSERT_EQUAL(after, (15 * 24 + 12) * 3600);
}

static CU_TestInfo tests[] = {
    {"test_tenant_ids", test_tenant_ids},
    {"test_tenant_emails", test_tenant_emails},
    {"test_tenant_email_domain_policy", test_tenant_email_domain_policy},
    {"test_tenant_company_names", test_tenant_company_names},
    {"test_tenant_plans", test_tenant_plans},
    {"test_quota_limits", test_quota_limits},
    CU_TEST_INFO_NULL,
};

const cvg_suite_t suite_tenant = {"unit_tenant", NULL, NULL, tests, 30};
