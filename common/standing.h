/*
 * A tenant's standing: whether its profile and subscription let it run
 * pipelines on a given day. The gateway asks it of every tenant-key
 * request, the scheduler of every scheduled run it fires, so both refuse
 * the same tenants for the same reasons.
 */
#ifndef CVG_STANDING_H
#define CVG_STANDING_H

#include <stddef.h>

typedef struct cvg_standing {
    const char *tenant_status; /* profile: ACTIVE, SUSPENDED, DELETED, "" */
    const char *sub_status;    /* ACTIVE, TRIAL, SUSPENDED, CANCELLED, "" if none */
    const char *trial_end;     /* YYYY-MM-DD or "" */
    const char *sub_end;       /* YYYY-MM-DD or "" */
} cvg_standing_t;

/* 0 when the tenant may run pipelines on `today` (YYYY-MM-DD); else the
 * HTTP status that says why not (403, or 402 for a lapsed trial or
 * subscription), *code its error code and why the message. */
int cvg_standing_check(const char *tenant_id, const cvg_standing_t *st, const char *today,
                       const char **code, char *why, size_t size);

#endif
