/*
 * The processor registry (see registry.h). Adding a processor: its C file
 * under processors/<provider>/ and one line below.
 */
#include "worker/registry.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

extern const proc_def_t proc_setup_initial;
extern const proc_def_t proc_setup_dryrun;
extern const proc_def_t proc_setup_tenants_onboarding;
extern const proc_def_t proc_gcp_bq_etl;
extern const proc_def_t proc_file_data_loader;
extern const proc_def_t proc_dq_checks;
extern const proc_def_t proc_notify_systems_email_notification;
extern const proc_def_t proc_notify_systems_slack_notification;
extern const proc_def_t proc_aws_s3_data_loader;

// clang-format off
static const proc_def_t *const processors[] = {
    &proc_setup_initial,
    &proc_setup_dryrun,
    &proc_setup_tenants_onboarding,
    &proc_gcp_bq_etl,
    &proc_file_data_loader,
    &proc_dq_checks,
    &proc_notify_systems_email_notification,
    &proc_notify_systems_slack_notification,
    &proc_aws_s3_data_loader,
};
// clang-format on

#define NPROC (sizeof(processors) / sizeof(processors[0]))

static pthread_mutex_t schema_lock = PTHREAD_MUTEX_INITIALIZER;
static cvg_psschema_t schemas[NPROC];
static bool loaded[NPROC];

const cvg_psschema_t *wrk_registry_schema(const proc_def_t *def, const char *templates_dir,
                                          cvg_err_t *err)
{
    size_t i = 0;
    while (i < NPROC && processors[i] != def)
        i++;
    if (i == NPROC) {
        cvg_err_set(err, CVG_ENOTFOUND, "ps_type", "not a registered processor");
        return NULL;
    }
    pthread_mutex_lock(&schema_lock);
    if (!loaded[i])
        loaded[i] = cvg_psschema_load(templates_dir, def->ps_type, &schemas[i], err) == 0;
    const cvg_psschema_t *out = loaded[i] ? &schemas[i] : NULL;
    pthread_mutex_unlock(&schema_lock);
    return out;
}

void wrk_registry_unload(void)
{
    pthread_mutex_lock(&schema_lock);
    for (size_t i = 0; i < NPROC; i++) {
        if (loaded[i])
            cvg_psschema_cleanup(&schemas[i]);
        loaded[i] = false;
    }
    pthread_mutex_unlock(&schema_lock);
}

const proc_def_t *wrk_registry_find(const char *ps_type)
{
    for (size_t i = 0; i < NPROC; i++) {
        if (strcmp(processors[i]->ps_type, ps_type) == 0)
            return processors[i];
    }
    return NULL;
}

const proc_def_t *wrk_registry_at(size_t i)
{
    return i < NPROC ? processors[i] : NULL;
}
