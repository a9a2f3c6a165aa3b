/*
 * Provider settings: configs/system/providers.yml says which settings a
 * tenant may store per provider (tenant_provider_configs) and how each is
 * checked. A setting is a pipeline variable of the same name, so names are
 * unique across providers.
 */
#ifndef CVG_PROVIDERS_H
#define CVG_PROVIDERS_H

#include "common/config.h"
#include "common/errlist.h"
#include "common/psschema.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct cvg_providers {
    json_t *doc; /* owned */
    size_t n;
    char (*names)[64];        /* provider names */
    cvg_psschema_t *settings; /* one schema per provider */
} cvg_providers_t;

/* Loads <config_dir>/system/providers.yml. */
int cvg_providers_load(const char *config_dir, cvg_providers_t *out, cvg_err_t *err);

void cvg_providers_cleanup(cvg_providers_t *p);

/* The settings schema of a provider, or NULL when there is no such one. */
const cvg_psschema_t *cvg_providers_find(const cvg_providers_t *p, const char *provider);

/* Which provider has a setting called name (NULL: none). */
const char *cvg_providers_owner(const cvg_providers_t *p, const char *name);

/*
 * Checks a tenant's settings for one provider: known names, types, URI
 * schemes, no {variables}, and file:// paths inside the directories the
 * tenant may read. Every problem goes to errs. Returns how many.
 */
int cvg_providers_check(const cvg_providers_t *p, const cvg_config_t *cfg, const char *tenant_id,
                        const char *provider, const json_t *settings, cvg_errlist_t *errs);

#endif
