/*
 * Fuzz target: what a tenant stores about its providers. The first byte
 * picks the endpoint and the provider; the rest is the JSON body, parsed as
 * the gateway parses bodies (cvg_json_parse). Provider settings
 * (PUT .../providers/{provider}) go through cvg_providers_check: the
 * provider's schema from configs/system/providers.yml, file:// paths through
 * cvg_import_path (common/importpath.c) against import directories made
 * here (a file, a directory, a symbolic link out), http(s) endpoints through
 * the outbound policy. Credentials (PUT .../credentials/{provider}, first
 * byte >= 0x80) go through cvg_cred_check, a Slack webhook's URL through the
 * outbound policy. CVG_SOURCE_DIR (default ".") locates configs/.
 */
#include "common/credentials.h"
#include "common/json.h"
#include "common/providers.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cvg_config_t cfg;
static cvg_providers_t providers;
static cvg_outbound_t policy;
static cvg_errlist_t *errs;

static void make_file(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs("a,b\n1,2\n", f) < 0 || fclose(f) != 0)
        exit(1);
}

static char root[] = "/tmp/cvg-fuzz-XXXXXX";

/* Removes what make_dirs made. */
static void remove_dirs(void)
{
    static const char *const made[] = {"shared/billing.csv",
                                       "import/acme-corp/data.csv.gz",
                                       "import/acme-corp/a b%.csv",
                                       "import/acme-corp/out.csv",
                                       "import/acme-corp",
                                       "import",
                                       "shared",
                                       ""};
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
        char path[400];
        snprintf(path, sizeof(path), "%s/%s", root, made[i]);
        remove(path);
    }
}

/* /tmp/cvg-fuzz-XXXXXX/{shared,import/acme-corp}, with files to find. */
static void make_dirs(void)
{
    if (mkdtemp(root) == NULL)
        exit(1);
    atexit(remove_dirs);
    char shared[256], tenants[256], own[300], link[400];
    snprintf(shared, sizeof(shared), "%s/shared", root);
    snprintf(tenants, sizeof(tenants), "%s/import", root);
    snprintf(own, sizeof(own), "%s/acme-corp", tenants);
    if (mkdir(shared, 0700) != 0 || mkdir(tenants, 0700) != 0 || mkdir(own, 0700) != 0)
        exit(1);
    make_file(shared, "billing.csv");
    make_file(own, "data.csv.gz");
    make_file(own, "a b%.csv");
    snprintf(link, sizeof(link), "%s/out.csv", own);
    if (symlink("/etc/hostname", link) != 0)
        exit(1);
    snprintf(cfg.shared_import_dirs, sizeof(cfg.shared_import_dirs), "%s,%s/../shared/", shared,
             tenants);
    snprintf(cfg.import_dir, sizeof(cfg.import_dir), "%s", tenants);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *src = getenv("CVG_SOURCE_DIR");
    snprintf(cfg.config_dir, sizeof(cfg.config_dir), "%s/configs", src ? src : ".");
    snprintf(cfg.outbound_allow, sizeof(cfg.outbound_allow), "%s",
             "minio.internal:9000, 10.0.0.5, [fd00::1]:8443, Smtp.Example.COM.");
    make_dirs();
    cvg_err_t err;
    cvg_err_clear(&err);
    errs = cvg_errlist_new();
    if (errs == NULL || cvg_providers_load(cfg.config_dir, &providers, &err) != 0 ||
        cvg_outbound_from_config(&cfg, &policy, &err) != 0) {
        fprintf(stderr, "fuzz_providers: %s (set CVG_SOURCE_DIR to the source tree)\n",
                err.message);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const creds[] = {"gcp", "aws", "azure", "smtp", "slack"};
    if (size < 1)
        return 0;
    uint8_t pick = data[0];
    json_t *body = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (pick & 0x80) {
        /* credentials: the gateway parses them 8 deep */
        if (cvg_json_parse((const char *)data + 1, size - 1, 8, &body, &err) != 0)
            return 0;
        json_t *meta = NULL;
        const char *provider = creds[(pick & 0x7f) % 5];
        if (cvg_cred_check(provider, body, pick & 0x40 ? NULL : &policy, &meta, &err) == 0 &&
            meta == NULL)
            abort();
        json_decref(meta);
    } else {
        if (cvg_json_parse((const char *)data + 1, size - 1, CVG_JSON_MAX_DEPTH, &body, &err) !=
                0 ||
            !json_is_object(body)) {
            json_decref(body);
            return 0;
        }
        const char *provider = providers.names[pick % providers.n];
        const char *tenant = pick & 0x40 ? "other-tenant" : "acme-corp";
        cvg_errlist_reset(errs);
        cvg_providers_check(&providers, &cfg, tenant, provider, body, errs);
    }
    json_decref(body);
    return 0;
}
