/*
 * Configuration table and loader (see config.h). Variables keep the names of
 * the original service where one existed (ADMIN_API_KEY, API_PORT,
 * LOG_LEVEL); new ones are prefixed CVG_.
 */
#include "common/config.h"
#include "common/cidr.h"
#include "common/log.h"
#include "common/str.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    T_STR,
    T_INT,
    T_BOOL,
    T_LEVEL,
    T_ENDPOINT,
    T_URL,
    T_SECRET,
    T_CHOICE,
    T_ADDRESSES /* addresses and CIDR ranges (common/cidr.h) */
} var_type_t;

typedef struct var {
    const char *name;   /* environment variable */
    var_type_t type;    /* how the value is checked */
    size_t offset;      /* field in cvg_config_t */
    size_t size;        /* field size for strings */
    const char *def;    /* default, may refer to earlier vars as {NAME} */
    long long min, max; /* bounds for integers, min length for secrets */
    int procs;          /* CVG_PROC_* mask */
    const char *help;
    const char *choices; /* T_CHOICE: allowed values, '|'-separated */
} var_t;

/* Table entries, one macro per kind of variable. */
// clang-format off
#define STR(n, f, t, d, p, h) \
    {n, t, offsetof(cvg_config_t, f), sizeof(((cvg_config_t *)0)->f), d, 0, 0, p, h, NULL}
#define INT(n, f, d, lo, hi, p, h) \
    {n, T_INT, offsetof(cvg_config_t, f), sizeof(int), d, lo, hi, p, h, NULL}
#define BOOL(n, f, d, p, h) \
    {n, T_BOOL, offsetof(cvg_config_t, f), sizeof(bool), d, 0, 0, p, h, NULL}
#define SECRET(n, f, min, p, h) \
    {n, T_SECRET, offsetof(cvg_config_t, f), sizeof(((cvg_config_t *)0)->f), "", min, 0, p, h, NULL}
#define CHOICE(n, f, d, c, p, h) \
    {n, T_CHOICE, offsetof(cvg_config_t, f), sizeof(((cvg_config_t *)0)->f), d, 0, 0, p, h, c}
// clang-format on

enum {
    GW = CVG_PROC_GATEWAY,
    SCH = CVG_PROC_SCHEDULER,
    WRK = CVG_PROC_WORKER,
    LGR = CVG_PROC_LOGGER,
    RUN = CVG_PROC_RUN,
    ALL = CVG_PROC_ALL
};

static const var_t vars[] = {
    STR("ENVIRONMENT", environment, T_STR, "development", ALL, "deployment name shown by /health"),
    {"LOG_LEVEL", T_LEVEL, offsetof(cvg_config_t, log_level), sizeof(int), "INFO", 0, 0, ALL,
     "DEBUG, INFO, WARNING or ERROR", NULL},
    SECRET("ADMIN_API_KEY", admin_api_key, 16, GW | RUN,
           "admin key for X-Admin-Key (at least 16 characters)"),
    STR("ADMIN_API_KEY_FILE", admin_api_key_file, T_STR, "", GW | RUN,
        "file holding the admin key, used when ADMIN_API_KEY is unset"),
    STR("API_HOST", api_host, T_STR, "127.0.0.1", GW | RUN, "address the HTTP API listens on"),
    INT("API_PORT", api_port, "8000", 1, 65535, GW | RUN, "port of the HTTP API"),
    INT("API_THREADS", api_threads, "4", 1, 256, GW, "HTTP worker threads"),
    INT("API_MAX_BODY_BYTES", api_max_body_bytes, "1048576", 1024, 64 * 1024 * 1024, GW,
        "largest request body accepted (413 above)"),
    INT("API_REQUEST_TIMEOUT_S", api_request_timeout_s, "30", 1, 3600, GW,
        "idle seconds before a slow client is disconnected"),
    INT("API_MAX_BUFFERED_BYTES", api_max_buffered_bytes, "67108864", 1024 * 1024,
        2047 * 1024 * 1024, GW,
        "request bodies held at once, all connections together (503 above)"),
    INT("API_MAX_CONNECTIONS_PER_IP", api_max_connections_per_ip, "1000", 0, 10000, GW,
        "open connections from one client address (0: no limit)"),
    STR("API_TRUSTED_PROXIES", api_trusted_proxies, T_ADDRESSES, "", GW,
        "comma-separated addresses or CIDR ranges of proxies in front of the gateway; a request "
        "from one is counted for the client its X-Forwarded-For names"),
    INT("API_MAX_INVALID_KEYS_PER_IP", api_max_invalid_keys_per_ip, "100", 0, 1000000, GW,
        "requests with an invalid API key one client address may send a minute; past it, keys "
        "not seen valid lately get 429 without a lookup (0: no limit)"),
    STR("GCP_PROJECT_ID", project_id, T_STR, "local", GW | WRK,
        "value of {project_id} in pipelines"),
    STR("CVG_VAR_DIR", var_dir, T_STR, "./var", ALL, "local state: warehouse, sockets, keys"),
    {"WAREHOUSE_URL", T_URL, offsetof(cvg_config_t, warehouse_url),
     sizeof(((cvg_config_t *)0)->warehouse_url), "sqlite://{CVG_VAR_DIR}/warehouse", 0, 0,
     GW | SCH | WRK | LGR,
     "sqlite://DIR (postgres:// and bigquery:// drivers are not in this build)", NULL},
    STR("CVG_RUN_DIR", run_dir, T_STR, "{CVG_VAR_DIR}/run", ALL, "directory of ipc:// sockets"),
    STR("CVG_CONFIG_DIR", config_dir, T_STR, "./configs", GW | WRK | SCH, "pipeline configs"),
    STR("CVG_TEMPLATES_DIR", templates_dir, T_STR, "./ps_templates", GW | WRK,
        "processor schemas and table schemas"),
    STR("CVG_SHARED_IMPORT_DIRS", shared_import_dirs, T_STR, "{CVG_CONFIG_DIR}/samples", GW | WRK,
        "comma-separated directories whose files every tenant's pipelines may load"),
    STR("CVG_IMPORT_DIR", import_dir, T_STR, "{CVG_VAR_DIR}/imports", GW | WRK,
        "each tenant's pipelines may load files below <this>/<tenant_id>/"),
    STR("CVG_OUTBOUND_ALLOW", outbound_allow, T_STR, "", GW | WRK,
        "comma-separated host or host:port that notifications and loaders may reach over "
        "plain http/smtp and on loopback or private addresses"),
    STR("CVG_CONTROL_ENDPOINT", control_endpoint, T_ENDPOINT, "ipc://{CVG_RUN_DIR}/control.sock",
        GW | SCH, "scheduler control (gateway DEALER -> scheduler ROUTER)"),
    STR("CVG_CONTROL_BIND", control_bind, T_ENDPOINT, "{CVG_CONTROL_ENDPOINT}", SCH,
        "where the scheduler binds its control socket"),
    STR("CVG_JOBS_ENDPOINT", jobs_endpoint, T_ENDPOINT, "ipc://{CVG_RUN_DIR}/jobs.sock", SCH | WRK,
        "jobs (scheduler PUSH -> worker PULL)"),
    STR("CVG_JOBS_BIND", jobs_bind, T_ENDPOINT, "{CVG_JOBS_ENDPOINT}", SCH,
        "where the scheduler binds its jobs socket"),
    STR("CVG_WORKERS_ENDPOINT", workers_endpoint, T_ENDPOINT, "ipc://{CVG_RUN_DIR}/workers.sock",
        SCH | WRK, "worker liveness (worker DEALER -> scheduler ROUTER)"),
    STR("CVG_WORKERS_BIND", workers_bind, T_ENDPOINT, "{CVG_WORKERS_ENDPOINT}", SCH,
        "where the scheduler binds its worker socket"),
    STR("CVG_EVENTS_ENDPOINT", events_endpoint, T_ENDPOINT, "ipc://{CVG_RUN_DIR}/events.sock",
        GW | SCH | WRK | LGR, "run and step events (DEALER -> logger ROUTER)"),
    STR("CVG_EVENTS_BIND", events_bind, T_ENDPOINT, "{CVG_EVENTS_ENDPOINT}", LGR,
        "where the logger binds its event socket"),
    STR("CVG_STREAM_ENDPOINT", stream_endpoint, T_ENDPOINT, "ipc://{CVG_RUN_DIR}/stream.sock",
        SCH | LGR | RUN, "committed events (logger PUB -> SUB)"),
    STR("CVG_STREAM_BIND", stream_bind, T_ENDPOINT, "{CVG_STREAM_ENDPOINT}", LGR,
        "where the logger binds its stream socket"),
    INT("WORKERS", workers, "2", 1, 64, RUN, "worker processes started by make run"),
    INT("CVG_LOGGER_BATCH_SIZE", logger_batch_size, "100", 1, 10000, LGR,
        "events per logger batch, at most"),
    INT("CVG_LOGGER_BATCH_MS", logger_batch_ms, "100", 1, 60000, LGR,
        "a partial batch is written when nothing more is waiting, or at the latest at this age "
        "(ms)"),
    INT("CVG_HEARTBEAT_MS", heartbeat_ms, "1000", 50, 60000, SCH | WRK, "worker heartbeat period"),
    INT("CVG_WORKER_TIMEOUT_MS", worker_timeout_ms, "5000", 200, 600000, SCH,
        "silence after which a worker counts as gone"),
    INT("CVG_DISPATCH_LEASE_MS", dispatch_lease_ms, "5000", 1000, 600000, SCH,
        "time a worker has to take a pushed run before it is pushed again"),
    INT("CVG_QUEUE_RETENTION_HOURS", queue_retention_hours, "168", 1, 876000, SCH,
        "a finished run's queue row (and its Idempotency-Key) is deleted once this old; the run "
        "log keeps the run"),
    INT("CVG_USAGE_RETENTION_DAYS", usage_retention_days, "90", 1, 36500, SCH,
        "the daily usage counters of days older than this are deleted by reset-daily-quotas"),
    INT("CVG_RPC_TIMEOUT_MS", rpc_timeout_ms, "2000", 10, 600000, GW | RUN,
        "deadline of a control request"),
    INT("CVG_EVENT_ACK_TIMEOUT_MS", event_ack_timeout_ms, "1000", 10, 600000, GW | SCH | WRK,
        "wait for the logger's ack before an event is sent again"),
    INT("CVG_SHUTDOWN_GRACE_MS", shutdown_grace_ms, "10000", 0, 600000, ALL,
        "time allowed to drain and flush on SIGTERM"),
    SECRET("CVG_API_KEY_PEPPER", api_key_pepper, 32, GW | RUN,
           "server-side pepper for tenant API key hashes (at least 32 characters)"),
    STR("CVG_API_KEY_PEPPER_FILE", api_key_pepper_file, T_STR, "", GW | RUN,
        "file holding the pepper, used when CVG_API_KEY_PEPPER is unset"),
    SECRET("CVG_MASTER_KEY", master_key, 0, GW | WRK | RUN,
           "credentials master key: base64 of 32 bytes, optionally VERSION: first"),
    STR("CVG_MASTER_KEY_FILE", master_key_file, T_STR, "", GW | WRK | RUN,
        "file of VERSION:base64 master keys, used when CVG_MASTER_KEY is unset"),
    CHOICE("CVG_EMAIL_POLICY", email_policy, "reserved", "reserved|corporate", GW,
           "admin e-mail domains refused: reserved (example, test...) or corporate (also "
           "free-mail)"),
    BOOL("CVG_SELF_SIGNUP", self_signup, "false", GW,
         "let anyone dry-run and onboard without the admin key (rate-limited per address)"),
    INT("CVG_SIGNUP_PER_HOUR", signup_per_hour, "10", 1, 100000, GW,
        "self-service sign-up requests per client address per hour"),
    INT("CVG_AUTH_CACHE_MS", auth_cache_ms, "500", 0, 1000, GW,
        "how long an API key lookup is trusted; bounds how late a revocation bites"),
    INT("CVG_RUN_CACHE_MS", run_cache_ms, "5000", 0, 60000, GW,
        "how long a finished run's answer is served from memory (0: always read the warehouse)"),
    INT("CVG_CONFIG_RECHECK_MS", config_recheck_ms, "1000", 0, 60000, GW,
        "how long a validated pipeline config is used before its file is looked at again "
        "(0: on every run request)"),
    INT("CVG_KEY_ROTATION_OVERLAP_S", key_rotation_overlap_s, "3600", 0, 2592000, GW,
        "how long a rotated key keeps working next to its successor"),
#ifdef CVG_TESTING
    STR("CVG_TEST_FAULT", test_fault, T_STR, "", GW,
        "test builds only: make a named step fail (e.g. onboarding:after_dataset)"),
#endif
};

#define NVARS (sizeof(vars) / sizeof(vars[0]))

size_t cvg_config_count(void)
{
    return NVARS;
}

const char *cvg_config_name(size_t i)
{
    return i < NVARS ? vars[i].name : NULL;
}

const char *cvg_config_default(size_t i)
{
    return i < NVARS ? vars[i].def : NULL;
}

const char *cvg_config_help(size_t i)
{
    return i < NVARS ? vars[i].help : NULL;
}

int cvg_config_procs(size_t i)
{
    return i < NVARS ? vars[i].procs : 0;
}

bool cvg_config_secret(size_t i)
{
    return i < NVARS && vars[i].type == T_SECRET;
}

const char *cvg_config_flag_to_name(const char *flag)
{
    if (strncmp(flag, "--", 2) != 0)
        return NULL;
    flag += 2;
    for (size_t i = 0; i < NVARS; i++) {
        const char *n = vars[i].name;
        if (strncmp(n, "CVG_", 4) == 0)
            n += 4;
        size_t j = 0;
        for (; n[j] && flag[j]; j++) {
            char want = n[j] == '_' ? '-' : (char)tolower((unsigned char)n[j]);
            if (flag[j] != want)
                break;
        }
        if (n[j] == '\0' && flag[j] == '\0')
            return vars[i].name;
    }
    return NULL;
}

static const char *env_lookup(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

/* Expands {NAME} references to variables earlier in the table. */
static int expand(const cvg_config_t *cfg, size_t upto, const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = in; *p;) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            if (end == NULL)
                return CVG_EINVAL;
            size_t n = (size_t)(end - p - 1);
            const char *val = NULL;
            for (size_t i = 0; i < upto; i++) {
                if (strlen(vars[i].name) == n && strncmp(vars[i].name, p + 1, n) == 0 &&
                    vars[i].type != T_INT && vars[i].type != T_LEVEL && vars[i].type != T_BOOL)
                    val = (const char *)cfg + vars[i].offset;
            }
            if (val == NULL)
                return CVG_EINVAL;
            size_t vl = strlen(val);
            if (o + vl >= size)
                return CVG_ETOOBIG;
            memcpy(out + o, val, vl);
            o += vl;
            p = end + 1;
        } else {
            if (o + 1 >= size)
                return CVG_ETOOBIG;
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return 0;
}

static int check_endpoint(const char *v, cvg_err_t *err, const char *name)
{
    if (cvg_str_starts(v, "ipc://")) {
        /* sun_path holds 108 bytes on Linux. */
        if (strlen(v) - 6 >= 100)
            return cvg_err_set(err, CVG_ECONFIG, name, "%s: ipc path longer than 99 characters",
                               name);
        if (v[6] == '\0')
            return cvg_err_set(err, CVG_ECONFIG, name, "%s: empty ipc path", name);
        return 0;
    }
    if (cvg_str_starts(v, "tcp://")) {
        const char *colon = strrchr(v + 6, ':');
        int64_t port;
        if (colon == NULL || colon == v + 6 || cvg_parse_int64(colon + 1, 1, 65535, &port) != 0)
            return cvg_err_set(err, CVG_ECONFIG, name,
                               "%s: '%s' is not tcp://HOST:PORT with a port in 1..65535", name, v);
        return 0;
    }
    if (cvg_str_starts(v, "inproc://") && v[9] != '\0')
        return 0;
    return cvg_err_set(err, CVG_ECONFIG, name,
                       "%s: '%s' is not an ipc://, tcp:// or inproc:// endpoint", name, v);
}

static int check_url(const char *v, cvg_err_t *err, const char *name)
{
    static const char *schemes[] = {"sqlite://", "postgres://", "postgresql://", "bigquery://"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (cvg_str_starts(v, schemes[i]) && v[strlen(schemes[i])] != '\0')
            return 0;
    }
    return cvg_err_set(err, CVG_ECONFIG, name,
                       "%s: '%s' is not a sqlite://DIR, postgres://... or bigquery://PROJECT URL",
                       name, v);
}

static int set_var(cvg_config_t *cfg, size_t i, const char *value, bool from_default,
                   cvg_err_t *err)
{
    const var_t *v = &vars[i];
    char *field = (char *)cfg + v->offset;
    char expanded[CVG_PATH_MAX];
    if (from_default) {
        if (expand(cfg, i, value, expanded, sizeof(expanded)) != 0)
            return cvg_err_set(err, CVG_ECONFIG, v->name, "%s: default does not expand", v->name);
        value = expanded;
    }
    switch (v->type) {
    case T_INT: {
        int64_t n;
        if (cvg_parse_int64(value, v->min, v->max, &n) != 0)
            return cvg_err_set(err, CVG_ECONFIG, v->name,
                               "%s: '%s' is not an integer in %lld..%lld", v->name, value, v->min,
                               v->max);
        *(int *)field = (int)n;
        return 0;
    }
    case T_BOOL: {
        bool b = false;
        if (cvg_parse_bool(value, &b) != 0)
            return cvg_err_set(err, CVG_ECONFIG, v->name,
                               "%s: '%s' is not a boolean (true/false, 1/0, yes/no, on/off)",
                               v->name, value);
        *(bool *)field = b;
        return 0;
    }
    case T_CHOICE: {
        size_t n = strlen(value);
        const char *c = v->choices;
        bool ok = false;
        while (*c && !ok) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            ok = len == n && strncmp(c, value, n) == 0;
            c += len + (bar ? 1 : 0);
        }
        if (!ok)
            return cvg_err_set(err, CVG_ECONFIG, v->name, "%s: '%s' is not one of %s", v->name,
                               value, v->choices);
        break;
    }
    case T_LEVEL: {
        cvg_log_level_t level;
        if (cvg_log_level_parse(value, &level) != 0)
            return cvg_err_set(err, CVG_ECONFIG, v->name,
                               "%s: '%s' is not one of DEBUG, INFO, WARNING, ERROR", v->name,
                               value);
        *(int *)field = (int)level;
        return 0;
    }
    case T_SECRET:
        if (value[0] != '\0' && (long long)strlen(value) < v->min)
            return cvg_err_set(err, CVG_ECONFIG, v->name,
                               "%s: too short (at least %lld characters)", v->name, v->min);
        break;
    default:
        break;
    }
    if (cvg_str_copy(field, v->size, value) != 0)
        return cvg_err_set(err, CVG_ECONFIG, v->name, "%s: longer than %zu characters", v->name,
                           v->size - 1);
    for (const char *p = field; *p; p++) {
        if ((unsigned char)*p < 0x20)
            return cvg_err_set(err, CVG_ECONFIG, v->name, "%s: contains control characters",
                               v->name);
    }
    if (v->type == T_ENDPOINT)
        return check_endpoint(field, err, v->name);
    if (v->type == T_URL)
        return check_url(field, err, v->name);
    if (v->type == T_ADDRESSES) {
        cvg_cidr_list_t l;
        cvg_err_t why;
        cvg_err_clear(&why);
        if (cvg_cidr_list_parse(field, v->name, &l, &why) != 0)
            return cvg_err_set(err, CVG_ECONFIG, v->name, "%s", why.message);
    }
    return 0;
}

int cvg_config_load(cvg_config_t *cfg, cvg_config_lookup_fn lookup, void *ud, cvg_err_t *err)
{
    if (lookup == NULL)
        lookup = env_lookup;
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NVARS; i++) {
        const char *value = lookup(ud, vars[i].name);
        bool from_default = value == NULL || value[0] == '\0';
        int rc = set_var(cfg, i, from_default ? vars[i].def : value, from_default, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Strips matching single or double quotes around a value in place. */
static char *unquote(char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v[n - 1] = '\0';
        return v + 1;
    }
    return v;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int cvg_dotenv_load(const char *path, bool optional, cvg_err_t *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (optional)
            return 0;
        return cvg_err_set(err, CVG_EIO, path, "cannot open %s", path);
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = cvg_err_set(err, CVG_ECONFIG, path, "%s:%d: line too long", path, lineno);
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s = trim(s + 7);
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            rc = cvg_err_set(err, CVG_ECONFIG, path, "%s:%d: expected NAME=VALUE", path, lineno);
            break;
        }
        *eq = '\0';
        char *name = trim(s);
        char *value = unquote(trim(eq + 1));
        if (!cvg_ident_valid(name, 128)) {
            rc = cvg_err_set(err, CVG_ECONFIG, path, "%s:%d: '%s' is not a variable name", path,
                             lineno, name);
            break;
        }
        if (getenv(name) == NULL && setenv(name, value, 0) != 0) {
            rc = cvg_err_set(err, CVG_ENOMEM, path, "%s:%d: setenv failed", path, lineno);
            break;
        }
    }
    fclose(f);
    return rc;
}
