/*
 * A tenant's standing (see standing.h).
 */
#include "common/standing.h"

#include <stdio.h>
#include <string.h>

static int refuse(int status, const char *c, const char **code, char *why, size_t size,
                  const char *message)
{
    *code = c;
    snprintf(why, size, "%s", message);
    return status;
}

int cvg_standing_check(const char *tenant_id, const cvg_standing_t *st, const char *today,
                       const char **code, char *why, size_t size)
{
    char msg[200];
    *code = NULL;
    if (why != NULL && size > 0)
        why[0] = '\0';
    if (strcmp(st->tenant_status, "ACTIVE") != 0) {
        snprintf(msg, sizeof(msg), "tenant %s is %s", tenant_id,
                 st->tenant_status[0] ? st->tenant_status : "unknown");
        return refuse(403, "tenant_suspended", code, why, size, msg);
    }
    if (strcmp(st->sub_status, "SUSPENDED") == 0)
        return refuse(403, "subscription_suspended", code, why, size,
                      "the subscription is suspended; contact support");
    if (strcmp(st->sub_status, "CANCELLED") == 0)
        return refuse(403, "subscription_cancelled", code, why, size,
                      "the subscription is cancelled");
    if (strcmp(st->sub_status, "TRIAL") == 0 && st->trial_end[0] &&
        strcmp(st->trial_end, today) < 0) {
        snprintf(msg, sizeof(msg), "the trial ended on %s; choose a plan to continue",
                 st->trial_end);
        return refuse(402, "trial_expired", code, why, size, msg);
    }
    if (st->sub_end[0] && strcmp(st->sub_end, today) < 0) {
        snprintf(msg, sizeof(msg), "the subscription ended on %s", st->sub_end);
        return refuse(402, "subscription_ended", code, why, size, msg);
    }
    if (strcmp(st->sub_status, "ACTIVE") != 0 && strcmp(st->sub_status, "TRIAL") != 0)
        return refuse(403, "no_subscription", code, why, size, "the tenant has no subscription");
    return 0;
}
