/*
 * The processor registry (see registry.h). Adding a processor: its C file
 * under processors/<provider>/ and one line below.
 */
#include "worker/registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

extern const proc_def_t proc_setup_initial;
extern const proc_def_t proc_setup_dryrun;
extern const proc_def_t proc_setup_tenants_onboarding;

static const proc_def_t *const processors[] = {
    &proc_setup_initial,
    &proc_setup_dryrun,
    &proc_setup_tenants_onboarding,
};

#define NPROC (sizeof(processors) / sizeof(processors[0]))

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

int proc_fail(proc_result_t *res, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
    return code;
}
