/*
 * Pipeline config model and structural checks (see pipeline.h). The
 * originals' common mistakes get a hint naming the right field.
 */
#include "common/pipeline.h"
#include "common/fs.h"
#include "common/psschema.h"
#include "common/str.h"
#include "common/vars.h"
#include "common/yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cvg_trigger_name(cvg_trigger_t t)
{
    switch (t) {
    case CVG_TRIGGER_ON_FAILURE:
        return "on_failure";
    case CVG_TRIGGER_ALWAYS:
        return "always";
    default:
        return "on_success";
    }
}

bool cvg_pipeline_path_valid(const char *path)
{
    int segments = 0;
    size_t seglen = 0;
    for (const char *p = path;; p++) {
        if (*p == '/' || *p == '\0') {
            if (seglen == 0)
                return false;
            segments++;
            seglen = 0;
            if (*p == '\0')
                break;
            continue;
        }
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
        if (++seglen > 64)
            return false;
    }
    return segments >= 1 && segments <= 4;
}

static const char *const root_fields[] = {"pipeline_id", "description", "variables",
                                          "parameters",  "steps",       "schedule",
                                          "tags",        "version",     NULL};
static bool listed(const char *const *list, const char *key)
{
    for (size_t i = 0; list[i]; i++) {
        if (strcmp(list[i], key) == 0)
            return true;
    }
    return false;
}

/* The hint for a field name the originals' users often got wrong. */
static const char *root_hint(const char *key)
{
    if (strcmp(key, "pipeline") == 0)
        return "; pipeline_id and description go at the root, not under a nested pipeline: block";
    if (strcmp(key, "id") == 0 || strcmp(key, "pipeline_name") == 0)
        return "; did you mean pipeline_id?";
    return "";
}

static void check_string(const json_t *v, const char *path, bool required, char *dst, size_t size,
                         cvg_errlist_t *errs)
{
    if (v == NULL) {
        if (required)
            cvg_errlist_add(errs, CVG_EINVAL, path, "%s: field required", path);
        return;
    }
    if (!json_is_string(v)) {
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s: expected a string", path);
        return;
    }
    if (cvg_str_copy(dst, size, json_string_value(v)) != 0) {
        /* said once: no later check reads a cut value as the whole */
        dst[0] = '\0';
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s: longer than %zu characters", path, size - 1);
    }
}

/* The fields kept for scheduling have no meaning yet, but a shape: a
 * schedule is a cron text or a mapping, tags a list of short strings, a
 * version a string or an integer. */
static void check_reserved(const json_t *doc, cvg_errlist_t *errs)
{
    const json_t *v = json_object_get(doc, "schedule");
    if (v && !json_is_string(v) && !json_is_object(v))
        cvg_errlist_add(errs, CVG_EINVAL, "schedule",
                        "schedule: expected a cron text or a mapping");
    v = json_object_get(doc, "tags");
    bool tags_ok = v == NULL || (json_is_array(v) && json_array_size(v) <= 50);
    for (size_t i = 0; tags_ok && v && i < json_array_size(v); i++) {
        const char *t = json_string_value(json_array_get(v, i));
        tags_ok = t != NULL && t[0] != '\0' && strlen(t) <= 64;
    }
    if (!tags_ok)
        cvg_errlist_add(errs, CVG_EINVAL, "tags",
                        "tags: expected a list of at most 50 strings of 1 to 64 characters");
    v = json_object_get(doc, "version");
    if (v && !json_is_string(v) && !json_is_integer(v))
        cvg_errlist_add(errs, CVG_EINVAL, "version", "version: expected a string or an integer");
}

static void check_step(const json_t *s, size_t i, cvg_step_t *step, cvg_errlist_t *errs)
{
    char path[64], f[128];
    snprintf(path, sizeof(path), "steps[%zu]", i);
    if (!json_is_object(s)) {
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s: expected a mapping", path);
        return;
    }
    step->config = s;
    snprintf(f, sizeof(f), "%s.step_id", path);
    check_string(json_object_get(s, "step_id"), f, true, step->step_id, sizeof(step->step_id),
                 errs);
    if (step->step_id[0] && !cvg_ident_valid(step->step_id, CVG_NAME_MAX - 1))
        cvg_errlist_add(errs, CVG_EINVAL, f, "%s: '%s' must be letters, digits and _", f,
                        step->step_id);
    snprintf(f, sizeof(f), "%s.name", path);
    check_string(json_object_get(s, "name"), f, false, step->name, sizeof(step->name), errs);
    const json_t *desc = json_object_get(s, "description");
    if (desc != NULL && !json_is_string(desc))
        cvg_errlist_add(errs, CVG_EINVAL, path, "%s.description: expected a string", path);
    snprintf(f, sizeof(f), "%s.ps_type", path);
    check_string(json_object_get(s, "ps_type"), f, true, step->ps_type, sizeof(step->ps_type),
                 errs);

    json_t *t = json_object_get(s, "trigger");
    snprintf(f, sizeof(f), "%s.trigger", path);
    if (t != NULL) {
        const char *tv = json_string_value(t);
        if (tv && strcmp(tv, "on_success") == 0)
            step->trigger = CVG_TRIGGER_ON_SUCCESS;
        else if (tv && strcmp(tv, "on_failure") == 0)
            step->trigger = CVG_TRIGGER_ON_FAILURE;
        else if (tv && strcmp(tv, "always") == 0)
            step->trigger = CVG_TRIGGER_ALWAYS;
        else
            cvg_errlist_add(errs, CVG_EINVAL, f,
                            "%s: must be one of on_success, on_failure, always", f);
    }
    json_t *tm = json_object_get(s, "timeout_minutes");
    snprintf(f, sizeof(f), "%s.timeout_minutes", path);
    if (tm != NULL) {
        /* minutes, fractions allowed (0.5 is 30 s), at most a day */
        double m = json_number_value(tm);
        if (!json_is_number(tm) || m < 0.01 || m > 24 * 60)
            cvg_errlist_add(errs, CVG_EINVAL, f,
                            "%s: must be a number of minutes from 0.01 to 1440", f);
        else
            step->timeout_ms = (int64_t)(m * 60000.0);
    }
    json_t *cof = json_object_get(s, "continue_on_failure");
    snprintf(f, sizeof(f), "%s.continue_on_failure", path);
    if (cof != NULL && !json_is_boolean(cof))
        cvg_errlist_add(errs, CVG_EINVAL, f, "%s: must be true or false", f);
    step->continue_on_failure = json_is_true(cof);

    json_t *rp = json_object_get(s, "retry_policy");
    snprintf(f, sizeof(f), "%s.retry_policy", path);
    if (rp != NULL) {
        if (!json_is_object(rp)) {
            cvg_errlist_add(errs, CVG_EINVAL, f, "%s: expected a mapping", f);
        } else {
            const char *key;
            json_t *val;
            json_object_foreach(rp, key, val)
            {
                char rf[160];
                cvg_path_join(rf, sizeof(rf), f, key);
                if (strcmp(key, "max_retries") == 0 && json_is_integer(val) &&
                    json_integer_value(val) >= 0 && json_integer_value(val) <= 10)
                    step->max_retries = (int)json_integer_value(val);
                else if (strcmp(key, "retry_delay_seconds") == 0 && json_is_integer(val) &&
                         json_integer_value(val) >= 0 && json_integer_value(val) <= 3600)
                    step->retry_delay_seconds = (int)json_integer_value(val);
                else if (strcmp(key, "max_retries") == 0)
                    cvg_errlist_add(errs, CVG_EINVAL, rf, "%s: must be an integer from 0 to 10",
                                    rf);
                else if (strcmp(key, "retry_delay_seconds") == 0)
                    cvg_errlist_add(errs, CVG_EINVAL, rf, "%s: must be an integer from 0 to 3600",
                                    rf);
                else
                    cvg_errlist_add(errs, CVG_EINVAL, rf, "%s: unknown field", rf);
            }
        }
    }
    /* Unknown common fields are left to the processor's own schema, which
     * knows its fields; only the originals' classic slips are caught here. */
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)s, key, val)
    {
        if (cvg_psschema_common_field(key))
            continue;
        const char *hint = cvg_psschema_step_hint(key);
        if (hint[0] != '\0') {
            cvg_path_join(f, sizeof(f), path, key);
            cvg_errlist_add(errs, CVG_EINVAL, f, "%s: unknown field%s", f, hint);
        }
    }
}

typedef struct var_refs {
    const cvg_pipeline_t *p;
    const char *path;
    cvg_errlist_t *errs;
} var_refs_t;

/* A pipeline variable may use built-ins and parameters, not other
 * variables or settings (no chains to follow). */
static int variable_ref(void *ud, const char *name, size_t offset, size_t length)
{
    (void)offset;
    (void)length;
    var_refs_t *r = ud;
    if (!cvg_vars_is_builtin(name) && !cvg_paramdecl_find(r->p->params, r->p->nparams, name))
        cvg_errlist_add(r->errs, CVG_EINVAL, r->path,
                        "%s: unknown variable {%s}; a variable may use built-ins and "
                        "parameters only",
                        r->path, name);
    return 0;
}

static void check_variables(cvg_pipeline_t *out, const json_t *vars, cvg_errlist_t *errs)
{
    if (vars == NULL)
        return;
    if (!json_is_object(vars)) {
        cvg_errlist_add(errs, CVG_EINVAL, "variables", "variables: expected a mapping");
        return;
    }
    out->variables = vars;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)vars, key, val)
    {
        char f[160];
        cvg_path_join(f, sizeof(f), "variables", key);
        if (!cvg_var_name_ok(key))
            cvg_errlist_add(errs, CVG_EINVAL, f, "%s: not a valid variable name", f);
        else if (cvg_vars_is_builtin(key))
            cvg_errlist_add(errs, CVG_EINVAL, f, "%s: %s is a built-in variable", f, key);
        else if (cvg_paramdecl_find(out->params, out->nparams, key))
            cvg_errlist_add(errs, CVG_EINVAL, f, "%s: also declared as a parameter", f);
        if (json_is_string(val)) {
            var_refs_t r = {out, f, errs};
            cvg_vars_walk(json_string_value(val), variable_ref, &r);
        } else if (!json_is_integer(val)) {
            cvg_errlist_add(errs, CVG_EINVAL, f, "%s: expected a string or an integer", f);
        }
    }
}

const char *cvg_pipeline_variable(const cvg_pipeline_t *p, const char *name, char *buf, size_t size)
{
    json_t *v = json_object_get(p->variables, name);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    return "";
}

int cvg_pipeline_parse(json_t *doc, const char *path, cvg_pipeline_t *out, cvg_errlist_t *errs,
                       cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    cvg_errlist_reset(errs);
    snprintf(out->path, sizeof(out->path), "%s", path);
    out->doc = json_incref(doc);
    if (!json_is_object(doc)) {
        cvg_errlist_add(errs, CVG_EINVAL, "", "the pipeline must be a mapping");
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(doc, key, val)
    {
        if (!listed(root_fields, key)) {
            char f[CVG_PATH_KEY_MAX + 4];
            cvg_path_join(f, sizeof(f), "", key);
            cvg_errlist_add(errs, CVG_EINVAL, f, "%s: unknown field%s", f, root_hint(key));
        }
    }
    check_string(json_object_get(doc, "pipeline_id"), "pipeline_id", true, out->pipeline_id,
                 sizeof(out->pipeline_id), errs);
    if (out->pipeline_id[0] && !cvg_ident_valid(out->pipeline_id, CVG_NAME_MAX - 1))
        cvg_errlist_add(errs, CVG_EINVAL, "pipeline_id",
                        "pipeline_id: '%s' must be letters, digits and _", out->pipeline_id);
    check_string(json_object_get(doc, "description"), "description", true, out->description,
                 sizeof(out->description), errs);
    check_reserved(doc, errs);
    snprintf(out->provider, sizeof(out->provider), "%.*s", (int)strcspn(path, "/"), path);
    if (cvg_paramdecls_parse(json_object_get(doc, "parameters"), &out->params, &out->nparams,
                             errs) == CVG_ENOMEM) {
        cvg_pipeline_cleanup(out);
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    }
    check_variables(out, json_object_get(doc, "variables"), errs);
    json_t *steps = json_object_get(doc, "steps");
    if (steps == NULL) {
        cvg_errlist_add(errs, CVG_EINVAL, "steps", "steps: field required");
    } else if (!json_is_array(steps) || json_array_size(steps) == 0) {
        cvg_errlist_add(errs, CVG_EINVAL, "steps", "steps: expected a non-empty list");
    } else if (json_array_size(steps) > CVG_PIPELINE_MAX_STEPS) {
        cvg_errlist_add(errs, CVG_EINVAL, "steps", "steps: more than %d steps",
                        CVG_PIPELINE_MAX_STEPS);
    } else {
        out->nsteps = json_array_size(steps);
        out->steps = calloc(out->nsteps, sizeof(*out->steps));
        if (out->steps == NULL) {
            cvg_pipeline_cleanup(out);
            return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
        }
        for (size_t i = 0; i < out->nsteps; i++) {
            check_step(json_array_get(steps, i), i, &out->steps[i], errs);
            for (size_t j = 0; j < i; j++) {
                if (out->steps[i].step_id[0] &&
                    strcmp(out->steps[i].step_id, out->steps[j].step_id) == 0) {
                    char f[64];
                    snprintf(f, sizeof(f), "steps[%zu].step_id", i);
                    cvg_errlist_add(errs, CVG_EINVAL, f,
                                    "%s: duplicate step_id '%s' (steps[%zu] has it)", f,
                                    out->steps[i].step_id, j);
                    break; /* once per step, naming the first that has it */
                }
            }
        }
    }
done:
    if (errs->n > 0) {
        if (err) {
            *err = errs->items[0];
            err->code = CVG_EINVAL;
        }
        return CVG_EINVAL;
    }
    return 0;
}

int cvg_pipeline_from_json(json_t *doc, const char *path, cvg_pipeline_t *out, cvg_errlist_t *errs,
                           cvg_err_t *err)
{
    cvg_errlist_t *local = NULL;
    if (errs == NULL && (errs = local = cvg_errlist_new()) == NULL) {
        memset(out, 0, sizeof(*out));
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    }
    int rc = cvg_pipeline_parse(doc, path, out, errs, err);
    if (rc != 0)
        cvg_pipeline_cleanup(out);
    free(local);
    return rc;
}

int cvg_pipeline_read(const char *config_dir, const char *path, json_t **doc, cvg_errlist_t *errs,
                      cvg_err_t *err)
{
    *doc = NULL;
    if (!cvg_pipeline_path_valid(path))
        return cvg_err_set(err, CVG_EINVAL, "pipeline",
                           "'%s' is not a pipeline path (provider/domain/template)", path);
    char file[2048];
    if (snprintf(file, sizeof(file), "%s/%s.yml", config_dir, path) >= (int)sizeof(file))
        return cvg_err_set(err, CVG_ETOOBIG, "pipeline", "path too long");
    if (!cvg_fs_exists(file))
        return cvg_err_set(err, CVG_ENOTFOUND, "pipeline", "no pipeline config %s.yml", path);
    int rc = cvg_yaml_load_file(file, doc, err);
    if (rc != 0) {
        if (errs) {
            cvg_errlist_reset(errs);
            cvg_errlist_add(errs, rc, "", "%s", err ? err->message : "invalid YAML");
        }
        return rc == CVG_ENOTFOUND ? CVG_EIO : rc;
    }
    return 0;
}

int cvg_pipeline_load(const char *config_dir, const char *path, cvg_pipeline_t *out,
                      cvg_errlist_t *errs, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    json_t *doc = NULL;
    int rc = cvg_pipeline_read(config_dir, path, &doc, errs, err);
    if (rc != 0)
        return rc;
    rc = cvg_pipeline_from_json(doc, path, out, errs, err);
    json_decref(doc);
    return rc;
}

void cvg_pipeline_cleanup(cvg_pipeline_t *p)
{
    free(p->params);
    p->params = NULL;
    p->nparams = 0;
    p->variables = NULL;
    free(p->steps);
    json_decref(p->doc);
    p->steps = NULL;
    p->doc = NULL;
    p->nsteps = 0;
}
