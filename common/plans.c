/*
 * Subscription plans (see plans.h).
 */
#include "common/plans.h"
#include "common/yaml.h"

#include <stdio.h>
#include <string.h>

static int get_int(json_t *plan, const char *plan_name, const char *key, int min, int max, int *out,
                   cvg_err_t *err)
{
    json_t *v = json_object_get(plan, key);
    if (v == NULL)
        return cvg_err_set(err, CVG_EINVAL, key, "plans.%s.%s: field required", plan_name, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return cvg_err_set(err, CVG_EINVAL, key, "plans.%s.%s: must be an integer from %d to %d",
                           plan_name, key, min, max);
    *out = (int)json_integer_value(v);
    return 0;
}

int cvg_plans_load(const char *config_dir, cvg_plans_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    char path[2048];
    snprintf(path, sizeof(path), "%s/system/plans.yml", config_dir);
    json_t *doc = NULL;
    int rc = cvg_yaml_load_file(path, &doc, err);
    if (rc != 0)
        return rc;
    json_t *plans = json_object_get(doc, "plans");
    if (!json_is_object(plans) || json_object_size(plans) == 0) {
        json_decref(doc);
        return cvg_err_set(err, CVG_EINVAL, "plans", "%s: plans: expected a mapping of plans",
                           path);
    }
    const char *name;
    json_t *plan;
    json_object_foreach(plans, name, plan)
    {
        if (out->n >= CVG_PLANS_MAX || strlen(name) >= CVG_PLAN_NAME_MAX) {
            rc = cvg_err_set(err, CVG_EINVAL, "plans", "%s: too many plans or name too long", path);
            break;
        }
        for (const char *p = name; *p && rc == 0; p++) {
            if (!((*p >= 'A' && *p <= 'Z') || *p == '_' || (*p >= '0' && *p <= '9')))
                rc = cvg_err_set(err, CVG_EINVAL, "plans",
                                 "plans.%s: plan names are upper-case letters, digits and _", name);
        }
        if (rc != 0)
            break;
        if (!json_is_object(plan)) {
            rc = cvg_err_set(err, CVG_EINVAL, "plans", "plans.%s: expected a mapping", name);
            break;
        }
        const char *key;
        json_t *val;
        json_object_foreach(plan, key, val)
        {
            if (strcmp(key, "description") && strcmp(key, "daily_limit") &&
                strcmp(key, "monthly_limit") && strcmp(key, "concurrent_limit") &&
                strcmp(key, "rate_limit_per_minute") && strcmp(key, "trial_days")) {
                rc = cvg_err_set(err, CVG_EINVAL, key, "plans.%s.%s: unknown field", name, key);
                break;
            }
        }
        cvg_plan_t *p = &out->items[out->n];
        snprintf(p->name, sizeof(p->name), "%s", name);
        if (rc == 0)
            rc = get_int(plan, name, "daily_limit", 1, 10000000, &p->daily_limit, err);
        if (rc == 0)
            rc = get_int(plan, name, "monthly_limit", 1, 100000000, &p->monthly_limit, err);
        if (rc == 0)
            rc = get_int(plan, name, "concurrent_limit", 1, 10000, &p->concurrent_limit, err);
        if (rc == 0)
            rc = get_int(plan, name, "rate_limit_per_minute", 1, 1000000, &p->rate_limit_per_minute,
                         err);
        if (rc == 0)
            rc = get_int(plan, name, "trial_days", 0, 3650, &p->trial_days, err);
        if (rc != 0)
            break;
        out->n++;
    }
    json_decref(doc);
    return rc;
}

const cvg_plan_t *cvg_plans_find(const cvg_plans_t *p, const char *name)
{
    for (size_t i = 0; name && i < p->n; i++) {
        if (strcmp(p->items[i].name, name) == 0)
            return &p->items[i];
    }
    return NULL;
}

void cvg_plans_names(const cvg_plans_t *p, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < p->n && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s%s", i ? ", " : "", p->items[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}
