/*
 * SQLite warehouse driver. The connection's main database is in memory;
 * each dataset is a file <dir>/<dataset>.db attached under its own name
 * when a statement first names it (SQLite allows 10 attachments, so the
 * least recently used is detached to make room). Files are in WAL mode with
 * synchronous=FULL, every statement waits up to the busy timeout for locks,
 * and tables are STRICT so a value of the wrong type is refused as it would
 * be by the other warehouses.
 */
#include "common/fs.h"
#include "common/str.h"
#include "common/time.h"
#include "common/buf.h"
#include "common/warehouse/driver.h"
#include "common/warehouse/sqlite_stmts.h"
#include "common/warehouse/sqlite_view.h"
#include "common/warehouse/sqlite_walbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000
#define MAX_ATTACHED    10
#define DDL_MAX         (512 * 1024)
#define MAX_ALLOWED     4
#define PROGRESS_OPS    1000 /* VM steps between deadline checks */

typedef struct attached {
    char name[CVG_DATASET_MAX];
    dev_t dev;
    ino_t ino;
    int64_t used; /* tick of last use, for LRU */
    bool pinned;  /* a connected view reads it: never evicted */
} attached_t;

typedef struct sq {
    sqlite3 *db;
    char dir[1024];
    attached_t att[MAX_ATTACHED];
    size_t natt;
    int64_t tick;
    int txn_depth;    /* > 0 inside begin/commit */
    int allow_attach; /* set while the driver itself attaches */
    /* cvg_wh_restrict: only these datasets, unless a stored view's own
     * SELECT is being prepared (trusted > 0) */
    bool restricted;
    size_t nallowed;
    char allowed[MAX_ALLOWED][CVG_DATASET_MAX];
    int trusted;
    /* cvg_wh_set_interrupt */
    int64_t deadline_ms;
    const volatile sig_atomic_t *cancel;
    int lock_wait_ms; /* cvg_wh_set_lock_wait: -1 until the deadline */
    int interrupted;  /* CVG_ETIMEDOUT or CVG_ECANCELED once a statement was stopped */
    /* statements of unrestricted, untrusted use, kept prepared */
    cvg_stmt_cache_t stmts;
} sq_t;

/* ---- errors -------------------------------------------------------------- */

static int map_error(sq_t *s, int rc, const char *sql, cvg_err_t *err)
{
    const char *msg = sqlite3_errmsg(s->db);
    int code = CVG_EDB;
    int primary = rc & 0xff;
    if (primary == SQLITE_LOCKED)
        s->interrupted = 0; /* a lock within this connection: no wait was stopped */
    if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) && !s->interrupted)
        code = CVG_EBUSY;
    else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
        code = CVG_EEXIST;
    else if (primary == SQLITE_CONSTRAINT || primary == SQLITE_MISMATCH ||
             primary == SQLITE_TOOBIG || primary == SQLITE_RANGE)
        code = CVG_EINVAL;
    else if (primary == SQLITE_INTERRUPT || (primary == SQLITE_BUSY && s->interrupted)) {
        /* stopped while it ran, or while it waited for another writer */
        bool waiting = primary == SQLITE_BUSY;
        code = s->interrupted ? s->interrupted : CVG_ECANCELED;
        s->interrupted = 0;
        return cvg_err_set(err, code, "", "%s%s",
                           code == CVG_ETIMEDOUT ? "the statement ran past the step's time limit"
                                                 : "the statement was cancelled",
                           waiting ? " while it waited for another writer's lock" : "");
    } else if (strstr(msg, "no such table") || strstr(msg, "unknown database") ||
               strstr(msg, "no such view"))
        code = CVG_ENOTFOUND;
    else if (strstr(msg, "already exists"))
        code = CVG_EEXIST;
    else if (primary == SQLITE_ERROR || primary == SQLITE_AUTH)
        code = CVG_EINVAL;
    (void)sql;
    return cvg_err_set(err, code, "", "sqlite: %s", msg);
}

/* ---- attachments --------------------------------------------------------- */

static bool reserved(const char *name)
{
    return strcmp(name, "main") == 0 || strcmp(name, "temp") == 0;
}

static int dataset_path(const sq_t *s, const char *name, const char *suffix, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s.db%s", s->dir, name, suffix);
    return (n < 0 || (size_t)n >= size) ? CVG_ETOOBIG : 0;
}

static attached_t *find_att(sq_t *s, const char *name)
{
    for (size_t i = 0; i < s->natt; i++) {
        if (strcmp(s->att[i].name, name) == 0)
            return &s->att[i];
    }
    return NULL;
}

/* Runs internal SQL without parameters or rows. */
static int run(sq_t *s, const char *sql, cvg_err_t *err)
{
    char *errmsg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &errmsg);
    if (rc != SQLITE_OK) {
        int r = map_error(s, rc, sql, err);
        sqlite3_free(errmsg);
        return r;
    }
    return 0;
}

/* Runs a transaction statement (BEGIN, COMMIT, ROLLBACK), kept prepared:
 * a read of a run costs a BEGIN and a ROLLBACK each time. */
static int run_txn(sq_t *s, const char *sql, cvg_err_t *err)
{
    uint64_t gen = 0;
    sqlite3_stmt *st = cvg_stmt_cache_take(&s->stmts, sql, &gen);
    int rc = st ? SQLITE_OK : sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        cvg_stmt_cache_give(&s->stmts, sql, st, gen, true);
        return 0;
    }
    int r = map_error(s, rc, sql, err);
    cvg_stmt_cache_give(&s->stmts, sql, st, gen, false);
    return r;
}

static int detach(sq_t *s, size_t i, cvg_err_t *err)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DETACH DATABASE \"%s\"", s->att[i].name);
    cvg_stmt_cache_clear(&s->stmts); /* none may name what goes */
    s->allow_attach = 1;
    int rc = run(s, sql, err);
    s->allow_attach = 0;
    if (rc != 0)
        return rc;
    s->att[i] = s->att[--s->natt];
    return 0;
}

/* Detaches datasets whose file was removed or replaced since they were
 * attached (dropped and re-created by another process). Outside
 * transactions only. */
static void drop_stale(sq_t *s)
{
    if (s->txn_depth > 0)
        return;
    for (size_t i = 0; i < s->natt;) {
        char path[1200];
        struct stat st;
        dataset_path(s, s->att[i].name, "", path, sizeof(path));
        if (stat(path, &st) != 0 || st.st_ino != s->att[i].ino || st.st_dev != s->att[i].dev) {
            if (detach(s, i, NULL) == 0)
                continue;
        }
        i++;
    }
}

/* Attaches a dataset file (creating it when create is set). */
static int attach(sq_t *s, const char *name, bool create, cvg_err_t *err)
{
    attached_t *a = find_att(s, name);
    if (a != NULL) {
        a->used = ++s->tick;
        return 0;
    }
    char path[1200];
    if (dataset_path(s, name, "", path, sizeof(path)) != 0)
        return cvg_err_set(err, CVG_ETOOBIG, "dataset", "dataset path too long");
    if (!create && !cvg_fs_exists(path))
        return cvg_err_set(err, CVG_ENOTFOUND, "dataset", "dataset '%s' does not exist", name);
    if (s->txn_depth > 0)
        return cvg_err_set(err, CVG_EINVAL, "dataset",
                           "dataset '%s' must be used before the transaction begins", name);
    if (s->natt == MAX_ATTACHED) {
        size_t lru = MAX_ATTACHED;
        for (size_t i = 0; i < s->natt; i++) {
            if (!s->att[i].pinned && (lru == MAX_ATTACHED || s->att[i].used < s->att[lru].used))
                lru = i;
        }
        if (lru == MAX_ATTACHED)
            return cvg_err_set(err, CVG_EBUSY, "dataset",
                               "too many datasets in use on one connection");
        int rc = detach(s, lru, err);
        if (rc != 0)
            return rc;
    }
    sqlite3_stmt *st = NULL;
    char sql[256];
    snprintf(sql, sizeof(sql), "ATTACH DATABASE ?1 AS \"%s\"", name);
    cvg_stmt_cache_clear(&s->stmts); /* names resolve anew */
    s->allow_attach = 1;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    s->allow_attach = 0;
    if (rc != SQLITE_OK) {
        int r = map_error(s, rc, sql, err);
        sqlite3_finalize(st);
        return r;
    }
    sqlite3_finalize(st);
    /* WAL is a property of the file; synchronous of the connection. A new
     * file attached by two processes at once: turning it to WAL needs an
     * exclusive lock, which SQLite takes without its busy handler, so the
     * wait is here (the other side makes the switch, or lets go). */
    snprintf(sql, sizeof(sql), "PRAGMA \"%s\".journal_mode=WAL; PRAGMA \"%s\".synchronous=FULL",
             name, name);
    s->trusted++; /* the driver's own pragmas, even on a restricted connection */
    int64_t give_up = cvg_time_mono_ms() + BUSY_TIMEOUT_MS;
    for (int64_t nap = 1;; nap = nap < 32 ? nap * 2 : 32) {
        rc = run(s, sql, err);
        if (rc != CVG_EBUSY || cvg_time_mono_ms() >= give_up)
            break;
        cvg_time_sleep_ms(nap);
    }
    if (rc == 0)
        cvg_err_clear(err); /* no trace of the tries that waited */
    s->trusted--;
    struct stat stt;
    if (rc == 0 && stat(path, &stt) != 0)
        rc = cvg_err_set(err, CVG_EIO, "dataset", "dataset file %s missing after attach", path);
    a = &s->att[s->natt++];
    a->pinned = false;
    snprintf(a->name, sizeof(a->name), "%s", name);
    a->dev = rc == 0 ? stt.st_dev : 0;
    a->ino = rc == 0 ? stt.st_ino : 0;
    a->used = ++s->tick;
    if (rc != 0)
        detach(s, s->natt - 1, NULL);
    return rc;
}

/* "no such table: ds.t" or "unknown database ds": the dataset named, if any. */
static bool missing_dataset(const char *msg, char *out, size_t size)
{
    const char *p = NULL;
    bool qualified = false;
    if ((p = strstr(msg, "no such table: ")) != NULL) {
        p += strlen("no such table: ");
        qualified = true;
    } else if ((p = strstr(msg, "unknown database ")) != NULL) {
        p += strlen("unknown database ");
    } else {
        return false;
    }
    size_t n = 0;
    while (p[n] && p[n] != '.' && p[n] != ' ' && n + 1 < size)
        n++;
    if (qualified && p[n] != '.')
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return cvg_ident_valid(out, CVG_DATASET_MAX - 1) && !reserved(out);
}

/* A view reading `dataset` was connected: keep that dataset attached. */
static void pin(void *ud, const char *dataset)
{
    attached_t *a = find_att(ud, dataset);
    if (a != NULL)
        a->pinned = true;
}

/* ---- open/close ---------------------------------------------------------- */

static bool allowed(const sq_t *s, const char *dataset)
{
    if (!s->restricted || strcmp(dataset, "main") == 0 || strcmp(dataset, "temp") == 0)
        return true;
    for (size_t i = 0; i < s->nallowed; i++) {
        if (strcmp(s->allowed[i], dataset) == 0)
            return true;
    }
    return false;
}

/* Only the driver itself may attach or detach files; a restricted
 * connection reaches its datasets only, runs no pragma and makes no
 * virtual table. */
static int authorize(void *ud, int action, const char *a, const char *b, const char *c,
                     const char *d)
{
    (void)b;
    (void)d;
    sq_t *s = ud;
    if (action == SQLITE_ATTACH || action == SQLITE_DETACH)
        return s->allow_attach ? SQLITE_OK : SQLITE_DENY;
    if (!s->restricted || s->trusted > 0 || s->allow_attach)
        return SQLITE_OK;
    if (action == SQLITE_PRAGMA || action == SQLITE_CREATE_VTABLE || action == SQLITE_DROP_VTABLE)
        return SQLITE_DENY;
    const char *db = action == SQLITE_ALTER_TABLE ? a : c;
    return db == NULL || allowed(s, db) ? SQLITE_OK : SQLITE_DENY;
}

static void trust(void *ud, int delta)
{
    ((sq_t *)ud)->trusted += delta;
}

/* True, with the reason kept for map_error, once the connection's run is
 * cancelled or past its deadline (cvg_wh_set_interrupt). */
static bool stop_now(sq_t *s)
{
    if (s->cancel && *s->cancel)
        s->interrupted = CVG_ECANCELED;
    else if (s->deadline_ms > 0 && cvg_time_mono_ms() >= s->deadline_ms)
        s->interrupted = CVG_ETIMEDOUT;
    return s->interrupted != 0;
}

/* Stops a statement past its deadline or once cancelled. */
static int progress(void *ud)
{
    sq_t *s = ud;
    return stop_now(s);
}

/* Waits for a lock in naps as SQLite's busy timeout does (1, 2, 5 ms ...),
 * but never more than 25 ms, so a writer whose rival takes the lock again
 * and again still finds the gaps between its transactions. Gives up after
 * the connection's lock wait (BUSY_TIMEOUT_MS unless set), or, when that
 * is -1 and the connection has a deadline (a worker's step and its time
 * limit), only at that deadline: a step of a tenant waits its turn behind
 * that tenant's other runs' writes, as long as its own limit allows. Gives
 * up at once when the statement's run is cancelled, as the progress
 * handler would. */
static int busy(void *ud, int count)
{
    static const int naps[] = {1, 2, 5, 10, 15, 20, 25};
    enum { NNAPS = sizeof(naps) / sizeof(naps[0]) };
    sq_t *s = ud;
    if (stop_now(s))
        return 0;
    int64_t waited = 0;
    for (int i = 0; i < count && i < NNAPS; i++)
        waited += naps[i];
    if (count > NNAPS)
        waited += (int64_t)(count - NNAPS) * naps[NNAPS - 1];
    int64_t nap = naps[count < NNAPS ? count : NNAPS - 1];
    bool patient = s->lock_wait_ms < 0 && s->deadline_ms > 0;
    int64_t limit = s->lock_wait_ms < 0 ? BUSY_TIMEOUT_MS : s->lock_wait_ms;
    if (!patient && waited + nap > limit)
        nap = limit - waited;
    if (nap <= 0)
        return 0;
    if (s->deadline_ms > 0) {
        int64_t left = s->deadline_ms - cvg_time_mono_ms();
        nap = left < nap ? (left > 0 ? left : 1) : nap;
    }
    cvg_time_sleep_ms(nap);
    return 1;
}

/* Process-wide settings, before SQLite initializes. Memory statistics
 * take a global mutex on every allocation, which the gateway's threads
 * fought over; nothing here reads them. */
static void configure_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const char *rest, void **impl, cvg_err_t *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_once);
    *impl = NULL;
    if (rest[0] == '\0')
        return cvg_err_set(err, CVG_ECONFIG, "WAREHOUSE_URL", "sqlite:// needs a directory");
    sq_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "WAREHOUSE_URL", "out of memory");
    s->lock_wait_ms = BUSY_TIMEOUT_MS;
    if (cvg_str_copy(s->dir, sizeof(s->dir), rest) != 0) {
        free(s);
        return cvg_err_set(err, CVG_ECONFIG, "WAREHOUSE_URL", "directory path too long");
    }
    int rc = cvg_fs_mkdir_p(s->dir, 0700, err);
    if (rc != 0) {
        free(s);
        return rc;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    /* datasets are attached through the connection's VFS: the one that
     * writes a commit's WAL frames at once (NULL: SQLite's own) */
    if (sqlite3_open_v2(":memory:", &s->db, flags, cvg_sqlite_walbuf_vfs()) != SQLITE_OK) {
        rc = cvg_err_set(err, CVG_EDB, "WAREHOUSE_URL", "sqlite: %s",
                         s->db ? sqlite3_errmsg(s->db) : "cannot open");
        sqlite3_close(s->db);
        free(s);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_handler(s->db, busy, s);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    /* A quoted name is a name: "nope" must be an unknown column, not the
     * string 'nope' (SQLite's legacy double-quoted string literals). */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
    sqlite3_limit(s->db, SQLITE_LIMIT_ATTACHED, MAX_ATTACHED);
    sqlite3_set_authorizer(s->db, authorize, s);
    cvg_view_hooks_t hooks = {.pin = pin, .trust = trust, .ud = s};
    if (cvg_sqlite_view_register(s->db, &hooks) != SQLITE_OK) {
        rc = cvg_err_set(err, CVG_EDB, "WAREHOUSE_URL", "sqlite: cannot register views");
        sqlite3_close(s->db);
        free(s);
        return rc;
    }
    *impl = s;
    return 0;
}

static void sq_close(void *impl)
{
    sq_t *s = impl;
    if (s == NULL)
        return;
    if (s->txn_depth > 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    cvg_stmt_cache_clear(&s->stmts);
    sqlite3_close_v2(s->db);
    free(s);
}

/* ---- statements ---------------------------------------------------------- */

/* True when only blanks and comments remain. */
static bool only_trailer(const char *p)
{
    while (*p) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ';') {
            p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            if (end == NULL)
                return true;
            p = end + 2;
        } else {
            return false;
        }
    }
    return true;
}

/*
 * The interface writes parameters $1, $2, ...; SQLite looks "$name" and
 * "?N" parameters up by a linear search per use, which makes a many-row
 * INSERT quadratic. The text is rewritten before it is prepared: when the
 * parameters appear exactly as $1, $2, $3, ... in order, each becomes a
 * plain "?" (no lookup at all); otherwise each becomes "?N". Quotes and
 * comments are left alone. NULL when there is nothing to rewrite.
 */
static char *number_params(const char *sql)
{
    if (strchr(sql, '$') == NULL)
        return NULL;
    size_t len = strlen(sql);
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    for (int pass = 0; pass < 2; pass++) {
        bool sequential = true;
        long expect = 1;
        size_t o = 0;
        for (const char *p = sql; *p;) {
            if (*p == '\'' || *p == '"' || *p == '`') {
                const char *end = strchr(p + 1, *p);
                size_t n = end ? (size_t)(end - p + 1) : strlen(p);
                memcpy(out + o, p, n);
                o += n;
                p += n;
            } else if (p[0] == '-' && p[1] == '-') {
                size_t n = strcspn(p, "\n");
                memcpy(out + o, p, n);
                o += n;
                p += n;
            } else if (p[0] == '/' && p[1] == '*') {
                const char *end = strstr(p + 2, "*/");
                size_t n = end ? (size_t)(end + 2 - p) : strlen(p);
                memcpy(out + o, p, n);
                o += n;
                p += n;
            } else if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
                char *end = NULL;
                long k = strtol(p + 1, &end, 10);
                sequential &= k == expect++;
                out[o++] = '?';
                if (pass == 1) { /* keep the number */
                    memcpy(out + o, p + 1, (size_t)(end - p - 1));
                    o += (size_t)(end - p - 1);
                }
                p = end;
            } else {
                out[o++] = *p++;
            }
        }
        out[o] = '\0';
        if (pass == 0 && sequential)
            return out;
    }
    return out;
}

static int prepare_text(sq_t *s, const char *sql, sqlite3_stmt **out, cvg_err_t *err)
{
    *out = NULL;
    for (int attempt = 0; attempt <= MAX_ATTACHED; attempt++) {
        const char *tail = NULL;
        int rc = sqlite3_prepare_v2(s->db, sql, -1, out, &tail);
        if (rc == SQLITE_OK) {
            if (*out == NULL)
                return cvg_err_set(err, CVG_EINVAL, "", "empty statement");
            if (!only_trailer(tail)) {
                sqlite3_finalize(*out);
                *out = NULL;
                return cvg_err_set(err, CVG_EINVAL, "", "only one statement per call");
            }
            return 0;
        }
        char ds[CVG_DATASET_MAX];
        if (!missing_dataset(sqlite3_errmsg(s->db), ds, sizeof(ds)) || find_att(s, ds))
            return map_error(s, rc, sql, err);
        if (!allowed(s, ds) && s->trusted == 0)
            return cvg_err_set(err, CVG_EINVAL, "dataset", "dataset %s is not available here", ds);
        int arc = attach(s, ds, false, err);
        if (arc != 0)
            return arc;
    }
    return cvg_err_set(err, CVG_EINVAL, "", "statement names too many datasets");
}

static int prepare(sq_t *s, const char *sql, sqlite3_stmt **out, cvg_err_t *err)
{
    char *numbered = number_params(sql);
    int rc = prepare_text(s, numbered ? numbered : sql, out, err);
    free(numbered);
    return rc;
}

static int bind_params(sq_t *s, sqlite3_stmt *st, const cvg_val_t *params, size_t nparams,
                       cvg_err_t *err)
{
    int count = sqlite3_bind_parameter_count(st);
    for (int i = 1; i <= count; i++) {
        /* after number_params, parameter i is $i (or an unnumbered ?);
         * anything else is a name the interface does not have */
        int64_t idx = i;
        if (i <= 64 || i == count) {
            const char *name = sqlite3_bind_parameter_name(st, i);
            if (name != NULL && name[0] != '?')
                return cvg_err_set(err, CVG_EINVAL, "", "parameter %s: use $1, $2, ...", name);
        }
        if ((size_t)idx > nparams)
            return cvg_err_set(err, CVG_EINVAL, "",
                               "statement uses parameter %lld but %zu were given", (long long)idx,
                               nparams);
        const cvg_val_t *v = &params[idx - 1];
        int rc;
        switch (v->type) {
        case CVG_VAL_INT:
            rc = sqlite3_bind_int64(st, i, v->i);
            break;
        case CVG_VAL_REAL:
            rc = sqlite3_bind_double(st, i, v->d);
            break;
        case CVG_VAL_BOOL:
            rc = sqlite3_bind_int(st, i, v->b ? 1 : 0);
            break;
        case CVG_VAL_TEXT:
            rc = sqlite3_bind_text64(st, i, v->s, v->len, SQLITE_STATIC, SQLITE_UTF8);
            break;
        default:
            rc = sqlite3_bind_null(st, i);
        }
        if (rc != SQLITE_OK)
            return map_error(s, rc, NULL, err);
    }
    return 0;
}

static int sq_exec(void *impl, const char *sql, const cvg_val_t *params, size_t nparams,
                   cvg_row_fn fn, void *ud, int64_t *changes, cvg_err_t *err)
{
    sq_t *s = impl;
    sqlite3_stmt *st = NULL;
    cvg_val_t *vals = NULL;
    const char **names = NULL;
    drop_stale(s);
    /* what a restricted or trusted use prepares was authorized for that use */
    bool cacheable = !s->restricted && s->trusted == 0;
    bool sound = true; /* no SQLite error: the statement may be kept */
    uint64_t gen = 0;
    int rc = 0;
    if (cacheable)
        st = cvg_stmt_cache_take(&s->stmts, sql, &gen);
    if (st == NULL && (rc = prepare(s, sql, &st, err)) != 0)
        return rc;
    rc = bind_params(s, st, params, nparams, err);
    if (rc != 0) {
        sound = false;
        goto out;
    }
    int ncols = sqlite3_column_count(st);
    if (fn != NULL && ncols > 0) {
        vals = calloc((size_t)ncols, sizeof(*vals));
        names = calloc((size_t)ncols, sizeof(*names));
        if (vals == NULL || names == NULL) {
            rc = cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
            goto out;
        }
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = map_error(s, step, sql, err);
            sound = false;
            goto out;
        }
        if (fn == NULL)
            continue;
        for (int c = 0; c < ncols; c++) {
            names[c] = sqlite3_column_name(st, c);
            cvg_val_t *v = &vals[c];
            memset(v, 0, sizeof(*v));
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_INTEGER:
                v->type = CVG_VAL_INT;
                v->i = sqlite3_column_int64(st, c);
                break;
            case SQLITE_FLOAT:
                v->type = CVG_VAL_REAL;
                v->d = sqlite3_column_double(st, c);
                break;
            case SQLITE_NULL:
                v->type = CVG_VAL_NULL;
                break;
            default:
                v->type = CVG_VAL_TEXT;
                v->s = (const char *)sqlite3_column_text(st, c);
                v->len = (size_t)sqlite3_column_bytes(st, c);
                if (v->s == NULL)
                    v->s = "";
            }
        }
        cvg_row_t row = {.ncols = (size_t)ncols, .names = names, .vals = vals};
        int stop = fn(ud, &row);
        if (stop != 0) {
            rc = stop;
            goto out;
        }
    }
    if (changes)
        *changes = sqlite3_changes64(s->db);
out:
    free(vals);
    free((void *)names);
    if (cacheable)
        cvg_stmt_cache_give(&s->stmts, sql, st, gen, sound);
    else
        sqlite3_finalize(st);
    return rc;
}

/* ---- transactions -------------------------------------------------------- */

static int sq_begin(void *impl, cvg_err_t *err)
{
    sq_t *s = impl;
    if (s->txn_depth > 0)
        return cvg_err_set(err, CVG_EINVAL, "", "transaction already open");
    drop_stale(s);
    /* IMMEDIATE takes the write lock of every attached file at once. A
     * restricted connection (a tenant's run) writes its own dataset only,
     * while others are attached for reading: its transactions lock only
     * what they write, or a long tenant step would stop every writer of
     * the central dataset. */
    int rc = run_txn(s, s->restricted ? "BEGIN" : "BEGIN IMMEDIATE", err);
    if (rc == 0)
        s->txn_depth = 1;
    return rc;
}

static int reach(sq_t *s, const char *dataset, cvg_err_t *err);
static int sq_rollback(void *impl);

/* BEGIN IMMEDIATE locks every attached file: with another file attached
 * (a tenant's run keeps the central dataset attached for reading; the
 * gateway keeps the datasets of the tenants it set up), that would wait
 * for, and then hold up, every writer of those files, so a long tenant
 * step would stop onboarding. Such a connection begins deferred and writes
 * the dataset's header at once instead (its user_version, which nothing
 * uses, set to the 0 it holds): that takes this file's write lock only,
 * with the busy wait of a first write, before a read gives the transaction
 * a snapshot (after one, a write on a file another writer holds fails at
 * once). A file attached alone is locked by BEGIN IMMEDIATE, as before. */
static int sq_begin_write(void *impl, const char *dataset, cvg_err_t *err)
{
    sq_t *s = impl;
    if (reserved(dataset))
        return cvg_err_set(err, CVG_EINVAL, "dataset", "'%s' is a reserved name", dataset);
    if (s->txn_depth > 0)
        return cvg_err_set(err, CVG_EINVAL, "", "transaction already open");
    int rc = reach(s, dataset, err);
    if (rc != 0)
        return rc;
    /* reach() checked the attached files; alone, this file is all that
     * BEGIN IMMEDIATE locks */
    bool alone = !s->restricted && s->natt == 1;
    rc = run_txn(s, alone ? "BEGIN IMMEDIATE" : "BEGIN", err);
    if (rc != 0)
        return rc;
    s->txn_depth = 1;
    if (alone)
        return 0;
    char sql[128];
    snprintf(sql, sizeof(sql), "PRAGMA \"%s\".user_version = 0", dataset);
    s->trusted++;
    rc = run(s, sql, err);
    s->trusted--;
    if (rc == CVG_EBUSY)
        cvg_err_set(err, rc, "dataset",
                    "dataset %s is locked: other writers held it for more than %d s", dataset,
                    BUSY_TIMEOUT_MS / 1000);
    if (rc != 0)
        sq_rollback(impl);
    return rc;
}

/* A deferred BEGIN: the first read takes the snapshot, no write lock. */
static int sq_begin_read(void *impl, const char *const *datasets, cvg_err_t *err)
{
    sq_t *s = impl;
    if (s->txn_depth > 0)
        return cvg_err_set(err, CVG_EINVAL, "", "transaction already open");
    drop_stale(s);
    for (size_t i = 0; datasets[i] != NULL; i++) {
        if (reserved(datasets[i]))
            return cvg_err_set(err, CVG_EINVAL, "dataset", "'%s' is a reserved name", datasets[i]);
        int rc = attach(s, datasets[i], false, err);
        if (rc != 0)
            return rc;
    }
    int rc = run_txn(s, "BEGIN", err);
    if (rc == 0)
        s->txn_depth = 1;
    return rc;
}

static int sq_commit(void *impl, cvg_err_t *err)
{
    sq_t *s = impl;
    if (s->txn_depth == 0)
        return cvg_err_set(err, CVG_EINVAL, "", "no transaction open");
    int rc = run_txn(s, "COMMIT", err);
    if (rc != 0)
        run_txn(s, "ROLLBACK", NULL);
    s->txn_depth = 0;
    return rc;
}

static int sq_rollback(void *impl)
{
    sq_t *s = impl;
    if (s->txn_depth == 0)
        return 0;
    s->txn_depth = 0;
    return run_txn(s, "ROLLBACK", NULL) == 0 ? 0 : CVG_EDB;
}

/* ---- datasets ------------------------------------------------------------ */

static int sq_use(void *impl, const char *dataset, cvg_err_t *err)
{
    sq_t *s = impl;
    if (reserved(dataset))
        return cvg_err_set(err, CVG_EINVAL, "dataset", "'%s' is a reserved name", dataset);
    drop_stale(s);
    return attach(s, dataset, false, err);
}

static int sq_dataset_exists(void *impl, const char *dataset, bool *out, cvg_err_t *err)
{
    sq_t *s = impl;
    char path[1200];
    if (dataset_path(s, dataset, "", path, sizeof(path)) != 0)
        return cvg_err_set(err, CVG_ETOOBIG, "dataset", "dataset path too long");
    *out = !reserved(dataset) && cvg_fs_exists(path);
    return 0;
}

/* Removes a dataset's files: the database, its WAL and shared memory. */
static int remove_files(const sq_t *s, const char *dataset, cvg_err_t *err)
{
    static const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char path[1200];
        dataset_path(s, dataset, suffixes[i], path, sizeof(path));
        if (unlink(path) != 0 && errno != ENOENT)
            return cvg_err_set(err, CVG_EIO, "dataset", "cannot remove %s: %s", path,
                               strerror(errno));
    }
    return 0;
}

/* The name is taken by creating its file exclusively, so of connections
 * creating one dataset at once exactly one succeeds and the others are told
 * it exists (with a look first, two could both believe they made it, and
 * the one whose later step failed would drop the other's). SQLite takes
 * the empty file for a new database. */
static int sq_dataset_create(void *impl, const char *dataset, cvg_err_t *err)
{
    sq_t *s = impl;
    if (reserved(dataset))
        return cvg_err_set(err, CVG_EINVAL, "dataset", "'%s' is a reserved name", dataset);
    char path[1200];
    if (dataset_path(s, dataset, "", path, sizeof(path)) != 0)
        return cvg_err_set(err, CVG_ETOOBIG, "dataset", "dataset path too long");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST
                   ? cvg_err_set(err, CVG_EEXIST, "dataset", "dataset '%s' already exists", dataset)
                   : cvg_err_set(err, CVG_EIO, "dataset", "cannot create %s: %s", path,
                                 strerror(errno));
    close(fd);
    drop_stale(s);
    int rc = attach(s, dataset, true, err);
    if (rc != 0) {
        /* changes nothing: the file made above goes again */
        attached_t *a = find_att(s, dataset);
        if (a != NULL)
            detach(s, (size_t)(a - s->att), NULL);
        remove_files(s, dataset, NULL);
    }
    return rc;
}

typedef struct names {
    cvg_strlist_t list;
    int rc;
} names_t;

static int collect_pair(void *ud, const cvg_row_t *row)
{
    names_t *n = ud;
    char item[300];
    /* type \t name */
    snprintf(item, sizeof(item), "%.*s\t%.*s", (int)row->vals[0].len, row->vals[0].s,
             (int)row->vals[1].len, row->vals[1].s);
    n->rc = cvg_strlist_add(&n->list, item);
    return n->rc;
}

static int sq_dataset_drop(void *impl, const char *dataset, cvg_err_t *err)
{
    sq_t *s = impl;
    if (reserved(dataset))
        return cvg_err_set(err, CVG_EINVAL, "dataset", "'%s' is a reserved name", dataset);
    drop_stale(s);
    int rc = attach(s, dataset, false, err);
    if (rc != 0)
        return rc;
    /* Empty the file first so a process that still has it attached sees no
     * tables, then remove the files. */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT type, name FROM \"%s\".sqlite_schema WHERE type IN ('view', 'table') "
             "AND name NOT LIKE 'sqlite_%%' ORDER BY type DESC",
             dataset);
    names_t n = {{0}, 0};
    rc = sq_exec(s, sql, NULL, 0, collect_pair, &n, NULL, err);
    for (size_t i = 0; rc == 0 && i < n.list.n; i++) {
        char *tab = strchr(n.list.items[i], '\t');
        *tab = '\0';
        snprintf(sql, sizeof(sql), "DROP %s IF EXISTS \"%s\".\"%s\"",
                 strcmp(n.list.items[i], "view") == 0 ? "VIEW" : "TABLE", dataset, tab + 1);
        rc = run(s, sql, err);
    }
    cvg_strlist_cleanup(&n.list);
    if (rc != 0)
        return rc;
    attached_t *a = find_att(s, dataset);
    if (a != NULL && (rc = detach(s, (size_t)(a - s->att), err)) != 0)
        return rc;
    return remove_files(s, dataset, err);
}

/* ---- tables -------------------------------------------------------------- */

static int first_int(void *ud, const cvg_row_t *row)
{
    *(int64_t *)ud = row->ncols > 0 && row->vals[0].type == CVG_VAL_INT ? row->vals[0].i : 0;
    return 1;
}

/* Whether the attached dataset's catalog has an object matching `where`
 * (the driver's own condition, with $1 bound to name). */
static int in_catalog(sq_t *s, const char *dataset, const char *where, const char *name,
                      bool *found, cvg_err_t *err)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\".sqlite_schema WHERE %s", dataset,
             where);
    cvg_val_t p = cvg_v_text(name);
    int64_t n = 0;
    int rc = sq_exec(s, sql, &p, 1, first_int, &n, NULL, err);
    if (rc == 1)
        rc = 0;
    *found = rc == 0 && n > 0;
    return rc;
}

static int sq_table_exists(void *impl, const char *dataset, const char *table, bool *out,
                           cvg_err_t *err)
{
    sq_t *s = impl;
    *out = false;
    drop_stale(s);
    int rc = attach(s, dataset, false, err);
    if (rc == CVG_ENOTFOUND) {
        cvg_err_clear(err);
        return 0;
    }
    if (rc != 0)
        return rc;
    return in_catalog(s, dataset, "type IN ('table', 'view') AND name = $1", table, out, err);
}

static const char *sqlite_type(const cvg_column_t *c)
{
    if (cvg_col_is_json(c))
        return "TEXT";
    switch (c->type) {
    case CVG_COL_INT64:
    case CVG_COL_BOOL:
        return "INTEGER";
    case CVG_COL_FLOAT64:
    case CVG_COL_NUMERIC: /* no decimal type in SQLite: binary floating point */
        return "REAL";
    default: /* STRING, TIMESTAMP and DATE (ISO 8601 text) */
        return "TEXT";
    }
}

/* A description as a trailing -- comment, with control characters blanked
 * so it cannot end the comment. */
static void comment(cvg_buf_t *b, const char *text)
{
    if (text == NULL || text[0] == '\0')
        return;
    cvg_buf_puts(b, " -- ");
    for (const char *p = text; *p; p++) {
        char c = (unsigned char)*p < 0x20 ? ' ' : *p;
        cvg_buf_append(b, &c, 1);
    }
}

/* One column's definition: name, type, NOT NULL, its CHECK. */
static void column_ddl(cvg_buf_t *b, const cvg_column_t *c)
{
    cvg_buf_printf(b, "\"%s\" %s", c->name, sqlite_type(c));
    if (c->mode == CVG_MODE_REQUIRED)
        cvg_buf_puts(b, " NOT NULL");
    /* json_valid(NULL) is 0 in SQLite 3.40: let NULL through. */
    if (cvg_col_is_json(c))
        cvg_buf_printf(b, " CHECK (\"%s\" IS NULL OR json_valid(\"%s\"))", c->name, c->name);
    else if (c->type == CVG_COL_BOOL)
        cvg_buf_printf(b, " CHECK (\"%s\" IN (0, 1))", c->name);
}

static int table_ddl(const char *dataset, const cvg_schema_t *sc, cvg_buf_t *b)
{
    cvg_buf_printf(b, "CREATE TABLE \"%s\".\"%s\" (", dataset, sc->table);
    comment(b, sc->description);
    for (size_t i = 0; i < sc->ncols; i++) {
        const cvg_column_t *c = &sc->cols[i];
        cvg_buf_puts(b, i ? "\n  , " : "\n  ");
        column_ddl(b, c);
        comment(b, c->description);
    }
    if (sc->npk > 0) {
        cvg_buf_puts(b, "\n  , PRIMARY KEY (");
        for (size_t i = 0; i < sc->npk; i++)
            cvg_buf_printf(b, "%s\"%s\"", i ? ", " : "", sc->pk[i]);
        cvg_buf_puts(b, ")");
    }
    return cvg_buf_puts(b, "\n) STRICT");
}

/* CREATE INDEX [IF NOT EXISTS] "ds"."table__suffix" ON "table" (cols)
 * [WHERE "not_null" IS NOT NULL] */
static void index_ddl(cvg_buf_t *b, const char *dataset, const char *table, const char *suffix,
                      const char *const *columns, size_t n, const char *not_null, bool if_missing)
{
    cvg_buf_printf(b, "CREATE INDEX %s\"%s\".\"%s__%s\" ON \"%s\" (",
                   if_missing ? "IF NOT EXISTS " : "", dataset, table, suffix, table);
    for (size_t i = 0; i < n; i++)
        cvg_buf_printf(b, "%s\"%s\"", i ? ", " : "", columns[i]);
    cvg_buf_puts(b, ")");
    if (not_null != NULL)
        cvg_buf_printf(b, " WHERE \"%s\" IS NOT NULL", not_null);
}

/* The schema's secondary indexes, inside table_create's savepoint. */
static int create_indexes(sq_t *s, const char *dataset, const cvg_schema_t *sc, cvg_buf_t *ddl,
                          cvg_err_t *err)
{
    for (size_t i = 0; i < sc->nidx; i++) {
        const cvg_index_t *ix = &sc->idx[i];
        const char *cols[CVG_SCHEMA_INDEX_COLS];
        for (size_t c = 0; c < ix->ncols; c++)
            cols[c] = ix->cols[c];
        cvg_buf_reset(ddl);
        index_ddl(ddl, dataset, sc->table, ix->name, cols, ix->ncols,
                  ix->not_null[0] ? ix->not_null : NULL, true);
        int rc = run(s, cvg_buf_cstr(ddl), err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int sq_table_create(void *impl, const char *dataset, const cvg_schema_t *sc, cvg_err_t *err)
{
    sq_t *s = impl;
    for (size_t i = 0; i < sc->ncols; i++) {
        if (!cvg_ident_valid(sc->cols[i].name, CVG_SCHEMA_NAME_MAX - 1))
            return cvg_err_set(err, CVG_EINVAL, "column", "'%s' is not a valid column name",
                               sc->cols[i].name);
    }
    drop_stale(s);
    int rc = attach(s, dataset, false, err);
    if (rc != 0)
        return rc;
    cvg_buf_t ddl;
    cvg_buf_init(&ddl, DDL_MAX);
    if (table_ddl(dataset, sc, &ddl) != 0) {
        cvg_buf_cleanup(&ddl);
        return cvg_err_set(err, CVG_ETOOBIG, "schema", "table definition too large");
    }
    rc = run(s, "SAVEPOINT cvg_create_table", err);
    if (rc == 0)
        rc = run(s, cvg_buf_cstr(&ddl), err);
    if (rc == 0 && sc->nclust > 0) {
        cvg_buf_reset(&ddl);
        cvg_buf_printf(&ddl, "CREATE INDEX \"%s\".\"%s__cluster\" ON \"%s\" (", dataset, sc->table,
                       sc->table);
        for (size_t i = 0; i < sc->nclust; i++)
            cvg_buf_printf(&ddl, "%s\"%s\"", i ? ", " : "", sc->clustering[i]);
        cvg_buf_puts(&ddl, ")");
        rc = run(s, cvg_buf_cstr(&ddl), err);
    }
    if (rc == 0)
        rc = create_indexes(s, dataset, sc, &ddl, err);
    if (rc == 0) {
        rc = run(s, "RELEASE cvg_create_table", err);
    } else {
        sqlite3_exec(s->db, "ROLLBACK TO cvg_create_table; RELEASE cvg_create_table", NULL, NULL,
                     NULL);
        if (rc == CVG_EEXIST)
            cvg_err_set(err, CVG_EEXIST, "table", "table %s.%s already exists", dataset, sc->table);
    }
    cvg_buf_cleanup(&ddl);
    return rc;
}

static int sq_table_drop(void *impl, const char *dataset, const char *table, cvg_err_t *err)
{
    sq_t *s = impl;
    drop_stale(s);
    int rc = attach(s, dataset, false, err);
    if (rc != 0)
        return rc;
    char sql[300];
    snprintf(sql, sizeof(sql), "DROP TABLE \"%s\".\"%s\"", dataset, table);
    rc = run(s, sql, err);
    if (rc == CVG_ENOTFOUND)
        cvg_err_set(err, rc, "table", "table %s.%s does not exist", dataset, table);
    return rc;
}

static int collect_name(void *ud, const cvg_row_t *row)
{
    return cvg_strlist_add(ud, row->vals[0].s ? row->vals[0].s : "");
}

static int sq_table_list(void *impl, const char *dataset, cvg_strlist_t *out, cvg_err_t *err)
{
    sq_t *s = impl;
    drop_stale(s);
    int rc = attach(s, dataset, false, err);
    if (rc != 0)
        return rc;
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT name FROM \"%s\".sqlite_schema WHERE type = 'table' "
             "AND name NOT LIKE 'sqlite_%%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%%' "
             "ORDER BY name",
             dataset);
    return sq_exec(s, sql, NULL, 0, collect_name, out, NULL, err);
}

static int sq_view_create(void *impl, const char *dataset, const char *view, const char *select_sql,
                          const char *const *reads, cvg_err_t *err)
{
    sq_t *s = impl;
    drop_stale(s);
    int rc = attach(s, dataset, false, err);
    for (size_t i = 0; rc == 0 && reads && reads[i]; i++)
        rc = attach(s, reads[i], false, err);
    if (rc != 0)
        return rc;
    char *args = cvg_sqlite_view_args(select_sql, reads);
    if (args == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "view", "out of memory");
    cvg_buf_t sql;
    cvg_buf_init(&sql, (size_t)8 * 1024 * 1024);
    cvg_buf_printf(&sql, "CREATE VIRTUAL TABLE \"%s\".\"%s\" USING cvg_view(%s)", dataset, view,
                   args);
    sqlite3_free(args);
    rc = sql.overflow ? cvg_err_set(err, CVG_ETOOBIG, "view", "view definition too large")
                      : run(s, cvg_buf_cstr(&sql), err);
    cvg_buf_cleanup(&sql);
    if (rc == CVG_EEXIST)
        cvg_err_set(err, rc, "view", "%s.%s already exists", dataset, view);
    return rc;
}

static int sq_restrict(void *impl, const char *const *datasets, cvg_err_t *err)
{
    sq_t *s = impl;
    size_t n = 0;
    while (datasets && datasets[n])
        n++;
    if (n > MAX_ALLOWED)
        return cvg_err_set(err, CVG_EINVAL, "dataset", "at most %d datasets", MAX_ALLOWED);
    s->restricted = datasets != NULL;
    s->nallowed = n;
    for (size_t i = 0; i < n; i++)
        snprintf(s->allowed[i], sizeof(s->allowed[i]), "%s", datasets[i]);
    return 0;
}

static void sq_set_lock_wait(void *impl, int max_ms)
{
    ((sq_t *)impl)->lock_wait_ms = max_ms;
}

static void sq_set_interrupt(void *impl, int64_t deadline_ms, const volatile sig_atomic_t *cancel)
{
    sq_t *s = impl;
    s->deadline_ms = deadline_ms;
    s->cancel = cancel;
    s->interrupted = 0;
    if (deadline_ms > 0 || cancel != NULL)
        sqlite3_progress_handler(s->db, PROGRESS_OPS, progress, s);
    else
        sqlite3_progress_handler(s->db, 0, NULL, NULL);
}

static int sq_table_create_as(void *impl, const char *dataset, const char *table,
                              const char *select_sql, const cvg_val_t *params, size_t nparams,
                              cvg_err_t *err)
{
    sq_t *s = impl;
    drop_stale(s);
    int rc = attach(s, dataset, false, err);
    if (rc != 0)
        return rc;
    cvg_buf_t sql;
    cvg_buf_init(&sql, DDL_MAX);
    cvg_buf_printf(&sql, "CREATE TABLE \"%s\".\"%s\" AS SELECT * FROM (%s) LIMIT 0", dataset, table,
                   select_sql);
    rc = sql.overflow ? cvg_err_set(err, CVG_ETOOBIG, "sql", "query too long")
                      : sq_exec(s, cvg_buf_cstr(&sql), params, nparams, NULL, NULL, NULL, err);
    cvg_buf_cleanup(&sql);
    return rc;
}

/* An existing dataset this connection may use, attached. */
static int reach(sq_t *s, const char *dataset, cvg_err_t *err)
{
    drop_stale(s);
    int rc = attach(s, dataset, false, err);
    if (rc == 0 && !allowed(s, dataset))
        rc = cvg_err_set(err, CVG_EINVAL, "dataset", "dataset %s is not available here", dataset);
    return rc;
}

static int sq_table_columns(void *impl, const char *dataset, const char *table, cvg_strlist_t *out,
                            cvg_err_t *err)
{
    sq_t *s = impl;
    int rc = reach(s, dataset, err);
    if (rc != 0)
        return rc;
    /* The driver's own pragma, on names already checked as identifiers. */
    char sql[400];
    snprintf(sql, sizeof(sql), "SELECT name FROM \"%s\".pragma_table_info('%s') ORDER BY cid",
             dataset, table);
    size_t before = out->n;
    s->trusted++;
    rc = sq_exec(s, sql, NULL, 0, collect_name, out, NULL, err);
    s->trusted--;
    if (rc == 0 && out->n == before)
        rc = cvg_err_set(err, CVG_ENOTFOUND, "table", "no table %s.%s", dataset, table);
    return rc;
}

/* The column type a declared SQLite type stands for, by SQLite's rules of
 * column affinity (INT, then REAL, FLOA or DOUB); NUMERIC for the numeric
 * names CREATE TABLE ... AS gives; anything else, ANY among them, STRING. */
static cvg_col_type_t declared_type(const char *decl, size_t len)
{
    char up[64];
    size_t n = len < sizeof(up) - 1 ? len : sizeof(up) - 1;
    for (size_t i = 0; i < n; i++)
        up[i] = (char)(decl[i] >= 'a' && decl[i] <= 'z' ? decl[i] - 32 : decl[i]);
    up[n] = '\0';
    if (strstr(up, "INT"))
        return CVG_COL_INT64;
    if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
        return CVG_COL_FLOAT64;
    if (strcmp(up, "NUM") == 0 || strcmp(up, "NUMERIC") == 0 || strncmp(up, "DECIMAL", 7) == 0)
        return CVG_COL_NUMERIC;
    return CVG_COL_STRING;
}

typedef struct schema_rows {
    cvg_schema_t *s;
    size_t cap;
} schema_rows_t;

static int collect_column(void *ud, const cvg_row_t *row)
{
    schema_rows_t *r = ud;
    cvg_schema_t *s = r->s;
    if (s->ncols == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        cvg_column_t *cols = realloc(s->cols, cap * sizeof(*cols));
        if (cols == NULL)
            return CVG_ENOMEM;
        s->cols = cols;
        r->cap = cap;
    }
    cvg_column_t *c = &s->cols[s->ncols++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%.*s", (int)row->vals[0].len, row->vals[0].s);
    c->type = row->vals[1].type == CVG_VAL_TEXT ? declared_type(row->vals[1].s, row->vals[1].len)
                                                : CVG_COL_STRING;
    c->mode =
        row->vals[2].type == CVG_VAL_INT && row->vals[2].i ? CVG_MODE_REQUIRED : CVG_MODE_NULLABLE;
    return 0;
}

static int sq_table_schema(void *impl, const char *dataset, const char *table, cvg_schema_t *out,
                           cvg_err_t *err)
{
    sq_t *s = impl;
    int rc = reach(s, dataset, err);
    if (rc != 0)
        return rc;
    snprintf(out->table, sizeof(out->table), "%s", table);
    /* The driver's own pragma, on names already checked as identifiers. */
    char sql[400];
    snprintf(sql, sizeof(sql),
             "SELECT name, type, \"notnull\" FROM \"%s\".pragma_table_info('%s') ORDER BY cid",
             dataset, table);
    schema_rows_t r = {.s = out};
    s->trusted++;
    rc = sq_exec(s, sql, NULL, 0, collect_column, &r, NULL, err);
    s->trusted--;
    if (rc == CVG_ENOMEM)
        cvg_err_set(err, rc, "table", "out of memory");
    if (rc == 0 && out->ncols == 0)
        rc = cvg_err_set(err, CVG_ENOTFOUND, "table", "no table %s.%s", dataset, table);
    if (rc != 0)
        cvg_schema_cleanup(out);
    return rc;
}

/* Runs the driver's own DDL (on names already checked), freeing it; what
 * names the object in the error of a definition that did not fit. */
static int run_own_ddl(sq_t *s, cvg_buf_t *ddl, const char *what, cvg_err_t *err)
{
    s->trusted++;
    int rc = ddl->overflow ? cvg_err_set(err, CVG_ETOOBIG, what, "%s definition too long", what)
                           : run(s, cvg_buf_cstr(ddl), err);
    s->trusted--;
    cvg_buf_cleanup(ddl);
    return rc;
}

static int sq_index_create(void *impl, const char *dataset, const char *table, const char *suffix,
                           const char *const *columns, size_t n, const char *not_null,
                           bool *created, cvg_err_t *err)
{
    sq_t *s = impl;
    int rc = reach(s, dataset, err);
    if (rc != 0)
        return rc;
    char name[2 * CVG_SCHEMA_NAME_MAX + 2];
    snprintf(name, sizeof(name), "%s__%s", table, suffix);
    bool found = false;
    rc = in_catalog(s, dataset, "type = 'index' AND name = $1 COLLATE NOCASE", name, &found, err);
    if (rc != 0 || found)
        return rc;
    cvg_buf_t ddl;
    cvg_buf_init(&ddl, 8192);
    /* without IF NOT EXISTS: of two bootstraps at once, the one whose
     * statement made it says so, the other hears it exists */
    index_ddl(&ddl, dataset, table, suffix, columns, n, not_null, false);
    rc = run_own_ddl(s, &ddl, "index", err);
    if (rc == CVG_EEXIST) {
        cvg_err_clear(err);
        return 0;
    }
    *created = rc == 0;
    return rc;
}

static int sq_column_add(void *impl, const char *dataset, const char *table,
                         const cvg_column_t *col, cvg_err_t *err)
{
    sq_t *s = impl;
    int rc = reach(s, dataset, err);
    if (rc != 0)
        return rc;
    cvg_buf_t ddl;
    cvg_buf_init(&ddl, 4096);
    cvg_buf_printf(&ddl, "ALTER TABLE \"%s\".\"%s\" ADD COLUMN ", dataset, table);
    column_ddl(&ddl, col);
    return run_own_ddl(s, &ddl, "column", err);
}

static int sq_index_drop(void *impl, const char *dataset, const char *table, const char *suffix,
                         bool *dropped, cvg_err_t *err)
{
    sq_t *s = impl;
    int rc = reach(s, dataset, err);
    if (rc != 0)
        return rc;
    char name[2 * CVG_SCHEMA_NAME_MAX + 2];
    snprintf(name, sizeof(name), "%s__%s", table, suffix);
    bool found = false;
    rc = in_catalog(s, dataset, "type = 'index' AND name = $1 COLLATE NOCASE", name, &found, err);
    if (rc != 0 || !found)
        return rc;
    char sql[3 * CVG_SCHEMA_NAME_MAX + 128];
    snprintf(sql, sizeof(sql), "DROP INDEX IF EXISTS \"%s\".\"%s\"", dataset, name);
    s->trusted++; /* the driver's own DDL on checked names */
    rc = run(s, sql, err);
    s->trusted--;
    *dropped = rc == 0;
    return rc;
}

static int sq_query_columns(void *impl, const char *sql, cvg_strlist_t *out, cvg_err_t *err)
{
    sq_t *s = impl;
    sqlite3_stmt *st = NULL;
    drop_stale(s);
    int rc = prepare(s, sql, &st, err);
    for (int c = 0; rc == 0 && c < sqlite3_column_count(st); c++)
        rc = cvg_strlist_add(out, sqlite3_column_name(st, c)) == 0
                 ? 0
                 : cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    sqlite3_finalize(st);
    return rc;
}

const cvg_wh_ops_t cvg_wh_sqlite_ops = {
    .name = "sqlite",
    .scheme = "sqlite://",
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .begin_read = sq_begin_read,
    .begin_write = sq_begin_write,
    .use = sq_use,
    .dataset_exists = sq_dataset_exists,
    .dataset_create = sq_dataset_create,
    .dataset_drop = sq_dataset_drop,
    .table_exists = sq_table_exists,
    .table_create = sq_table_create,
    .table_drop = sq_table_drop,
    .table_list = sq_table_list,
    .view_create = sq_view_create,
    .restrict_to = sq_restrict,
    .set_interrupt = sq_set_interrupt,
    .set_lock_wait = sq_set_lock_wait,
    .table_create_as = sq_table_create_as,
    .table_columns = sq_table_columns,
    .table_schema = sq_table_schema,
    .query_columns = sq_query_columns,
    .index_create = sq_index_create,
    .index_drop = sq_index_drop,
    .column_add = sq_column_add,
    .ident_quote = '"',
};
