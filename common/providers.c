/*
 * Provider settings (see providers.h).
 */
#include "common/providers.h"
#include "common/str.h"
#include "common/importpath.h"
#include "common/outbound.h"
#include "common/yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cvg_providers_load(const char *config_dir, cvg_providers_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    char path[2048];
    snprintf(path, sizeof(path), "%s/system/providers.yml", config_dir);
    int rc = cvg_yaml_load_file(path, &out->doc, err);
    if (rc != 0)
        return rc;
    json_t *providers = json_object_get(out->doc, "providers");
    if (!json_is_object(providers) || json_object_size(providers) == 0) {
        cvg_providers_cleanup(out);
        return cvg_err_set(err, CVG_ECONFIG, path, "%s: a providers: mapping is required", path);
    }
    size_t n = json_object_size(providers);
    out->names = calloc(n, sizeof(*out->names));
    out->settings = calloc(n, sizeof(*out->settings));
    if (out->names == NULL || out->settings == NULL) {
        cvg_providers_cleanup(out);
        return CVG_ENOMEM;
    }
    const char *name;
    json_t *val;
    json_object_foreach(providers, name, val)
    {
        char where[2200];
        snprintf(where, sizeof(where), "%s: providers.%s.settings", path, name);
        json_t *doc = json_pack("{s:O?}", "fields", json_object_get(val, "settings"));
        rc = strlen(name) < sizeof(out->names[0]) && json_is_object(val)
                 ? cvg_psschema_from_json(doc, where, &out->settings[out->n], err)
                 : cvg_err_set(err, CVG_ECONFIG, path, "%s: providers.%s: bad entry", path, name);
        json_decref(doc);
        if (rc != 0) {
            cvg_providers_cleanup(out);
            return rc;
        }
        snprintf(out->names[out->n], sizeof(out->names[0]), "%s", name);
        out->n++;
        /* A setting is a variable: its name may belong to one provider only. */
        const char *key;
        json_t *spec;
        json_object_foreach((json_t *)out->settings[out->n - 1].fields, key, spec)
        {
            const char *owner = NULL;
            for (size_t i = 0; i + 1 < out->n && owner == NULL; i++) {
                if (json_object_get(out->settings[i].fields, key))
                    owner = out->names[i];
            }
            if (owner || cvg_vars_is_builtin(key) || !cvg_var_name_ok(key)) {
                rc = cvg_err_set(
                    err, CVG_ECONFIG, path, "%s: setting %s of %s: %s", path, key, name,
                    owner ? "also a setting of another provider" : "not usable as a variable name");
                cvg_providers_cleanup(out);
                return rc;
            }
        }
    }
    return 0;
}

void cvg_providers_cleanup(cvg_providers_t *p)
{
    for (size_t i = 0; p->settings && i < p->n; i++)
        cvg_psschema_cleanup(&p->settings[i]);
    free(p->settings);
    free(p->names);
    json_decref(p->doc);
    memset(p, 0, sizeof(*p));
}

const cvg_psschema_t *cvg_providers_find(const cvg_providers_t *p, const char *provider)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->names[i], provider) == 0)
            return &p->settings[i];
    }
    return NULL;
}

const char *cvg_providers_owner(const cvg_providers_t *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (json_object_get(p->settings[i].fields, name))
            return p->names[i];
    }
    return NULL;
}

typedef struct no_refs {
    cvg_errlist_t *errs;
} no_refs_t;

static void refuse_ref(void *ud, const char *name, const char *path)
{
    no_refs_t *r = ud;
    cvg_errlist_add(r->errs, CVG_EINVAL, path,
                    "%s: {%s}: settings are values, they cannot use variables", path, name);
}

int cvg_providers_check(const cvg_providers_t *p, const cvg_config_t *cfg, const char *tenant_id,
                        const char *provider, const json_t *settings, cvg_errlist_t *errs)
{
    size_t before = errs->n + errs->dropped, first = errs->n;
    const cvg_psschema_t *s = cvg_providers_find(p, provider);
    if (s == NULL) {
        cvg_errlist_add(errs, CVG_ENOTFOUND, "provider", "provider: no provider called '%.64s'",
                        provider);
        return 1;
    }
    if (!json_is_object(settings)) {
        cvg_errlist_add(errs, CVG_EINVAL, "", "the settings must be a JSON object");
        return 1;
    }
    no_refs_t r = {errs};
    /* the common step fields mean nothing here: refuse them as unknown */
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)settings, key, val)
    {
        if (cvg_psschema_common_field(key) && json_object_get(s->fields, key) == NULL) {
            char f[CVG_PATH_KEY_MAX + 16];
            cvg_path_join(f, sizeof(f), "settings", key);
            cvg_errlist_add(errs, CVG_EINVAL, f, "%s: unknown field", f);
        }
    }
    cvg_psschema_check(s, settings, "settings", refuse_ref, &r, errs);
    size_t checked = errs->n;
    cvg_outbound_t *policy = NULL;
    /* a file:// value is looked for where the tenant may read, unless the
     * setting is already wrong (every setting's problem is told, not only
     * the first setting's) */
    json_object_foreach((json_t *)settings, key, val)
    {
        const char *v = json_string_value(val);
        char f[CVG_PATH_KEY_MAX + 16];
        cvg_path_join(f, sizeof(f), "settings", key);
        bool told = json_object_get(s->fields, key) == NULL;
        for (size_t i = first; i < checked && !told; i++)
            told = strcmp(errs->items[i].field, f) == 0;
        cvg_err_t err;
        cvg_err_clear(&err);
        if (!told && v && strncmp(v, "file://", 7) == 0) {
            char resolved[4096];
            if (cvg_import_path(cfg, tenant_id, v, resolved, sizeof(resolved), &err) != 0)
                cvg_errlist_add(errs, CVG_EINVAL, f, "%s: %s", f, err.message);
        } else if (!told && v &&
                   (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)) {
            /* an endpoint the workers will call: the outbound policy's
             * checks now (plain http, link-local, metadata, private) */
            if (policy == NULL && (policy = malloc(sizeof(*policy))) != NULL &&
                cvg_outbound_from_config(cfg, policy, &err) != 0) {
                free(policy);
                policy = NULL;
            }
            if (policy == NULL)
                cvg_errlist_add(errs, CVG_EINVAL, f, "%s: the outbound policy cannot be read", f);
            else if (cvg_outbound_check_url(policy, v, &err) != 0)
                cvg_errlist_add(errs, CVG_EINVAL, f, "%s: %s", f, err.message);
        }
    }
    free(policy);
    return (int)(errs->n + errs->dropped - before);
}
