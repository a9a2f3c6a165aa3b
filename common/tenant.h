/*
 * What makes a tenant's identity valid: the tenant id and the dataset it
 * names, the administrator's e-mail (syntax and the domain policy of
 * configs/system/email_policy.yml) and the company name. Each check fills a
 * message meant for the person who sent the request.
 */
#ifndef CVG_TENANT_H
#define CVG_TENANT_H

#include "common/err.h"
#include "common/warehouse.h"

#include <stdbool.h>
#include <stddef.h>

#define CVG_TENANT_ID_MIN 3
#define CVG_TENANT_ID_MAX 64
#define CVG_COMPANY_MIN   2
#define CVG_COMPANY_MAX   200
#define CVG_EMAIL_MAX     254

typedef struct cvg_email_policy {
    bool corporate;          /* also refuse free-mail domains */
    cvg_strlist_t reserved;  /* exact domains */
    cvg_strlist_t suffixes;  /* ".test", ... */
    cvg_strlist_t free_mail; /* exact domains */
} cvg_email_policy_t;

/* Loads <config_dir>/system/email_policy.yml for mode "reserved" or
 * "corporate". */
int cvg_email_policy_load(const char *config_dir, const char *mode, cvg_email_policy_t *p,
                          cvg_err_t *err);
void cvg_email_policy_cleanup(cvg_email_policy_t *p);

/* Lowercase letters, digits, '_' and '-', 3 to 64 characters, not a
 * reserved name. 0 or CVG_EINVAL with why. */
int cvg_tenant_id_check(const char *id, char *why, size_t size);

/* The dataset a tenant id names: '-' becomes '_'. */
void cvg_tenant_dataset(const char *id, char out[CVG_DATASET_MAX]);

/* local@domain with a dot-separated domain and a letter TLD, at most 254
 * characters, no quoted local parts or address literals. */
int cvg_email_check(const char *email, char *why, size_t size);

/* The domain policy; call after cvg_email_check succeeded. */
int cvg_email_domain_check(const cvg_email_policy_t *p, const char *email, char *why, size_t size);

/* Trims blanks, then requires valid UTF-8 of 2 to 200 characters without
 * control or bidirectional-override characters; the trimmed name goes to
 * out. */
int cvg_company_name_check(const char *name, char *out, size_t out_size, char *why, size_t size);

/* Copies s for an error message: printable ASCII kept, the rest '?', at most
 * 64 characters. */
void cvg_tenant_echo(const char *s, char *out, size_t size);

#endif
