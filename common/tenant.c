/*
 * Tenant identity checks (see tenant.h).
 */
#include "common/tenant.h"
#include "common/utf8.h"
#include "common/yaml.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const reserved_ids[] = {
    "tenants", "system",     "main",  "temp",   "information_schema",
    "public",  "pg_catalog", "admin", "default"};
static const char *const reserved_prefixes[] = {"sqlite_", "pg_"};

void cvg_tenant_echo(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = s; *p && o + 4 < size && o < 64; p++)
        out[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    if (strlen(s) > 64 && o + 4 < size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

int cvg_tenant_id_check(const char *id, char *why, size_t size)
{
    char echo[80];
    cvg_tenant_echo(id, echo, sizeof(echo));
    size_t n = strlen(id);
    if (n < CVG_TENANT_ID_MIN || n > CVG_TENANT_ID_MAX) {
        snprintf(why, size, "Tenant ID '%s' must be %d to %d characters long", echo,
                 CVG_TENANT_ID_MIN, CVG_TENANT_ID_MAX);
        return CVG_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            snprintf(why, size,
                     "Tenant ID '%s' may contain only lowercase letters, digits, _ and -", echo);
            return CVG_EINVAL;
        }
    }
    /* it names the tenant's dataset, which is a warehouse identifier */
    if (id[0] >= '0' && id[0] <= '9') {
        snprintf(why, size, "Tenant ID '%s' must not start with a digit", echo);
        return CVG_EINVAL;
    }
    char ds[CVG_DATASET_MAX];
    cvg_tenant_dataset(id, ds);
    for (size_t i = 0; i < sizeof(reserved_ids) / sizeof(reserved_ids[0]); i++) {
        if (strcmp(ds, reserved_ids[i]) == 0) {
            snprintf(why, size, "Tenant ID '%s' is reserved", echo);
            return CVG_EINVAL;
        }
    }
    /* the warehouses' own names: SQLite's objects, PostgreSQL's schemas */
    for (size_t i = 0; i < sizeof(reserved_prefixes) / sizeof(reserved_prefixes[0]); i++) {
        if (strncmp(ds, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0) {
            snprintf(why, size, "Tenant ID '%s' is reserved (no tenant ID starts with %s)", echo,
                     reserved_prefixes[i]);
            return CVG_EINVAL;
        }
    }
    return 0;
}

void cvg_tenant_dataset(const char *id, char out[CVG_DATASET_MAX])
{
    size_t i = 0;
    for (; i < CVG_DATASET_MAX - 1 && id[i]; i++)
        out[i] = id[i] == '-' ? '_' : id[i];
    out[i] = '\0';
}

static bool atext(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

int cvg_email_check(const char *email, char *why, size_t size)
{
    size_t n = strlen(email);
    const char *at = strrchr(email, '@');
    if (n == 0 || n > CVG_EMAIL_MAX || at == NULL || at == email || strchr(email, '@') != at) {
        snprintf(why, size, "Invalid email format: expected name@domain (at most %d characters)",
                 CVG_EMAIL_MAX);
        return CVG_EINVAL;
    }
    size_t local = (size_t)(at - email);
    if (local > 64 || email[0] == '.' || email[local - 1] == '.') {
        snprintf(why, size, "Invalid email format: bad local part");
        return CVG_EINVAL;
    }
    for (size_t i = 0; i < local; i++) {
        if (!(atext(email[i]) || (email[i] == '.' && email[i + 1] != '.'))) {
            snprintf(why, size, "Invalid email format: bad character in the local part");
            return CVG_EINVAL;
        }
    }
    const char *domain = at + 1;
    size_t dlen = strlen(domain), label = 0, labels = 0, last_start = 0;
    if (dlen == 0 || dlen > 253) {
        snprintf(why, size, "Invalid email format: bad domain");
        return CVG_EINVAL;
    }
    for (size_t i = 0; i <= dlen; i++) {
        char c = domain[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || domain[i - 1] == '-') {
                snprintf(why, size, "Invalid email format: bad domain");
                return CVG_EINVAL;
            }
            labels++;
            label = 0;
            last_start = i + 1;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c == '-' && label > 0);
        if (!ok) {
            snprintf(why, size, "Invalid email format: bad character in the domain");
            return CVG_EINVAL;
        }
        label++;
    }
    /* The last label (the TLD) is letters only, two or more. */
    size_t tld_start = 0;
    for (size_t i = 0; i < dlen; i++) {
        if (domain[i] == '.')
            tld_start = i + 1;
    }
    (void)last_start;
    bool tld_ok = labels >= 2 && dlen - tld_start >= 2;
    for (size_t i = tld_start; i < dlen && tld_ok; i++)
        tld_ok = (domain[i] >= 'a' && domain[i] <= 'z') || (domain[i] >= 'A' && domain[i] <= 'Z');
    if (!tld_ok) {
        snprintf(why, size, "Invalid email format: the domain needs a top-level domain");
        return CVG_EINVAL;
    }
    return 0;
}

static bool listed(const cvg_strlist_t *l, const char *domain)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcasecmp(l->items[i], domain) == 0)
            return true;
    }
    return false;
}

int cvg_email_domain_check(const cvg_email_policy_t *p, const char *email, char *why, size_t size)
{
    const char *at = strrchr(email, '@');
    const char *domain = at ? at + 1 : email;
    size_t dlen = strlen(domain);
    bool reserved = listed(&p->reserved, domain);
    for (size_t i = 0; i < p->suffixes.n && !reserved; i++) {
        size_t sl = strlen(p->suffixes.items[i]);
        reserved = dlen > sl && strcasecmp(domain + dlen - sl, p->suffixes.items[i]) == 0;
    }
    if (reserved) {
        snprintf(why, size, "Invalid email domain: %.*s is a reserved or example domain",
                 (int)(dlen > 100 ? 100 : dlen), domain);
        return CVG_EINVAL;
    }
    if (p->corporate && listed(&p->free_mail, domain)) {
        snprintf(why, size, "Invalid email domain: must be corporate domain (%.*s is free mail)",
                 (int)(dlen > 100 ? 100 : dlen), domain);
        return CVG_EINVAL;
    }
    return 0;
}

int cvg_company_name_check(const char *name, char *out, size_t out_size, char *why, size_t size)
{
    out[0] = '\0';
    while (*name == ' ' || *name == '\t')
        name++;
    size_t n = strlen(name);
    while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
        n--;
    size_t chars = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = cvg_utf8_next((const unsigned char *)name + i, n - i, &cp);
        if (len == 0) {
            snprintf(why, size, "Company name is not valid UTF-8");
            return CVG_EINVAL;
        }
        if (cvg_utf8_control(cp)) {
            snprintf(why, size, "Company name contains control characters");
            return CVG_EINVAL;
        }
        i += len;
        chars++;
    }
    if (chars < CVG_COMPANY_MIN || chars > CVG_COMPANY_MAX) {
        snprintf(why, size, "Company name must be %d to %d characters (got %zu)", CVG_COMPANY_MIN,
                 CVG_COMPANY_MAX, chars);
        return CVG_EINVAL;
    }
    if (n >= out_size) {
        snprintf(why, size, "Company name too long");
        return CVG_EINVAL;
    }
    memcpy(out, name, n);
    out[n] = '\0';
    return 0;
}

static int load_list(json_t *doc, const char *key, cvg_strlist_t *out, const char *path,
                     cvg_err_t *err)
{
    json_t *list = json_object_get(doc, key);
    if (!json_is_array(list))
        return cvg_err_set(err, CVG_EINVAL, key, "%s: %s: expected a list of domains", path, key);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *d = json_string_value(json_array_get(list, i));
        if (d == NULL || d[0] == '\0')
            return cvg_err_set(err, CVG_EINVAL, key, "%s: %s[%zu]: expected a domain", path, key,
                               i);
        if (cvg_strlist_add(out, d) != 0)
            return cvg_err_set(err, CVG_ENOMEM, key, "out of memory");
    }
    return 0;
}

int cvg_email_policy_load(const char *config_dir, const char *mode, cvg_email_policy_t *p,
                          cvg_err_t *err)
{
    memset(p, 0, sizeof(*p));
    p->corporate = strcmp(mode, "corporate") == 0;
    char path[2048];
    snprintf(path, sizeof(path), "%s/system/email_policy.yml", config_dir);
    json_t *doc = NULL;
    int rc = cvg_yaml_load_file(path, &doc, err);
    if (rc == 0)
        rc = load_list(doc, "reserved_domains", &p->reserved, path, err);
    if (rc == 0)
        rc = load_list(doc, "reserved_suffixes", &p->suffixes, path, err);
    if (rc == 0)
        rc = load_list(doc, "free_mail_domains", &p->free_mail, path, err);
    json_decref(doc);
    if (rc != 0)
        cvg_email_policy_cleanup(p);
    return rc;
}

void cvg_email_policy_cleanup(cvg_email_policy_t *p)
{
    cvg_strlist_cleanup(&p->reserved);
    cvg_strlist_cleanup(&p->suffixes);
    cvg_strlist_cleanup(&p->free_mail);
}
