/*
 * Cross-dataset views for the SQLite driver. A view stored in one attached
 * file cannot read tables of another, so a view is a read-only virtual table
 * of module "cvg_view" whose arguments are the SELECT (hex-encoded, so no
 * quoting can break the module arguments) and the datasets it reads:
 *
 *   CREATE VIRTUAL TABLE acme.tenant_comprehensive_view USING cvg_view(x5345..., tenants)
 *
 * Connecting prepares the SELECT (so a missing dataset surfaces as "no such
 * table: tenants.x", which the driver answers by attaching it) and declares
 * its result columns; each scan runs it afresh. Only connections of this
 * driver have the module: the sqlite3 shell can read the other tables but
 * not these views.
 */
#include "common/warehouse/sqlite_view.h"

#include <stdlib.h>
#include <string.h>

#define MAX_READS 8

typedef struct module_aux {
    cvg_view_hooks_t hooks;
} module_aux_t;

typedef struct view {
    sqlite3_vtab base;
    sqlite3 *db;
    char *sql;
    const module_aux_t *aux;
} view_t;

typedef struct cursor {
    sqlite3_vtab_cursor base;
    sqlite3_stmt *stmt;
    int eof;
    sqlite3_int64 row;
} cursor_t;

static int unhex(const char *hex, char **out)
{
    if (hex[0] != 'x')
        return SQLITE_ERROR;
    hex++;
    size_t n = strlen(hex);
    if (n == 0 || n % 2 != 0)
        return SQLITE_ERROR;
    char *s = sqlite3_malloc64(n / 2 + 1);
    if (s == NULL)
        return SQLITE_NOMEM;
    for (size_t i = 0; i < n / 2; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) {
                sqlite3_free(s);
                return SQLITE_ERROR;
            }
            v = v * 16 + d;
        }
        s[i] = (char)v;
    }
    s[n / 2] = '\0';
    *out = s;
    return SQLITE_OK;
}

/* Prepares a view's own SELECT with the driver's trust. */
static int trusted_prepare(const module_aux_t *m, sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (m && m->hooks.trust)
        m->hooks.trust(m->hooks.ud, 1);
    int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    if (m && m->hooks.trust)
        m->hooks.trust(m->hooks.ud, -1);
    return rc;
}

static int connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **pp,
                   char **err)
{
    const module_aux_t *m = aux;
    if (argc < 4 || argc > 4 + MAX_READS) {
        *err = sqlite3_mprintf("cvg_view: expected a SELECT and the datasets it reads");
        return SQLITE_ERROR;
    }
    char *sql = NULL;
    int rc = unhex(argv[3], &sql);
    if (rc != SQLITE_OK) {
        *err = sqlite3_mprintf("cvg_view: the SELECT is not hex-encoded");
        return rc;
    }
    sqlite3_stmt *st = NULL;
    if (trusted_prepare(m, db, sql, &st) != SQLITE_OK) {
        /* Keep SQLite's own message: the driver recognises "no such table:
         * ds.t" and attaches ds before trying again. */
        *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
        sqlite3_free(sql);
        return SQLITE_ERROR;
    }
    sqlite3_str *decl = sqlite3_str_new(db);
    sqlite3_str_appendall(decl, "CREATE TABLE x(");
    int ncols = sqlite3_column_count(st);
    for (int i = 0; i < ncols; i++)
        sqlite3_str_appendf(decl, "%s\"%w\"", i ? ", " : "", sqlite3_column_name(st, i));
    sqlite3_str_appendall(decl, ")");
    sqlite3_finalize(st);
    char *text = sqlite3_str_finish(decl);
    rc = text ? sqlite3_declare_vtab(db, text) : SQLITE_NOMEM;
    sqlite3_free(text);
    if (rc != SQLITE_OK || ncols == 0) {
        *err = sqlite3_mprintf("cvg_view: cannot declare the view's columns");
        sqlite3_free(sql);
        return SQLITE_ERROR;
    }
    view_t *v = sqlite3_malloc(sizeof(*v));
    if (v == NULL) {
        sqlite3_free(sql);
        return SQLITE_NOMEM;
    }
    memset(v, 0, sizeof(*v));
    v->db = db;
    v->sql = sql;
    /* The datasets read must stay attached while the view is in use. */
    v->aux = m;
    for (int i = 4; i < argc && m && m->hooks.pin; i++)
        m->hooks.pin(m->hooks.ud, argv[i]);
    *pp = &v->base;
    return SQLITE_OK;
}

static int best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
    (void)vt;
    info->estimatedCost = 1e6;
    return SQLITE_OK;
}

static int disconnect(sqlite3_vtab *vt)
{
    view_t *v = (view_t *)vt;
    sqlite3_free(v->sql);
    sqlite3_free(v);
    return SQLITE_OK;
}

static int open_cursor(sqlite3_vtab *vt, sqlite3_vtab_cursor **pc)
{
    (void)vt;
    cursor_t *c = sqlite3_malloc(sizeof(*c));
    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof(*c));
    *pc = &c->base;
    return SQLITE_OK;
}

static int close_cursor(sqlite3_vtab_cursor *pc)
{
    cursor_t *c = (cursor_t *)pc;
    sqlite3_finalize(c->stmt);
    sqlite3_free(c);
    return SQLITE_OK;
}

static int step(cursor_t *c)
{
    int rc = sqlite3_step(c->stmt);
    c->eof = rc != SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return SQLITE_OK;
    c->base.pVtab->zErrMsg = sqlite3_mprintf("%s", sqlite3_errmsg(((view_t *)c->base.pVtab)->db));
    return rc;
}

static int filter(sqlite3_vtab_cursor *pc, int idx, const char *idx_str, int argc,
                  sqlite3_value **argv)
{
    (void)idx;
    (void)idx_str;
    (void)argc;
    (void)argv;
    cursor_t *c = (cursor_t *)pc;
    view_t *v = (view_t *)pc->pVtab;
    sqlite3_finalize(c->stmt);
    c->stmt = NULL;
    c->row = 0;
    if (trusted_prepare(v->aux, v->db, v->sql, &c->stmt) != SQLITE_OK) {
        pc->pVtab->zErrMsg = sqlite3_mprintf("%s", sqlite3_errmsg(v->db));
        return SQLITE_ERROR;
    }
    return step(c);
}

static int next(sqlite3_vtab_cursor *pc)
{
    cursor_t *c = (cursor_t *)pc;
    c->row++;
    return step(c);
}

static int eof(sqlite3_vtab_cursor *pc)
{
    return ((cursor_t *)pc)->eof;
}

static int column(sqlite3_vtab_cursor *pc, sqlite3_context *ctx, int i)
{
    sqlite3_result_value(ctx, sqlite3_column_value(((cursor_t *)pc)->stmt, i));
    return SQLITE_OK;
}

static int rowid(sqlite3_vtab_cursor *pc, sqlite3_int64 *out)
{
    *out = ((cursor_t *)pc)->row;
    return SQLITE_OK;
}

static const sqlite3_module view_module = {
    .iVersion = 0,
    .xCreate = connect,
    .xConnect = connect,
    .xBestIndex = best_index,
    .xDisconnect = disconnect,
    .xDestroy = disconnect,
    .xOpen = open_cursor,
    .xClose = close_cursor,
    .xFilter = filter,
    .xNext = next,
    .xEof = eof,
    .xColumn = column,
    .xRowid = rowid,
};

static void free_aux(void *p)
{
    free(p);
}

int cvg_sqlite_view_register(sqlite3 *db, const cvg_view_hooks_t *hooks)
{
    module_aux_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return SQLITE_NOMEM;
    m->hooks = *hooks;
    return sqlite3_create_module_v2(db, "cvg_view", &view_module, m, free_aux);
}

char *cvg_sqlite_view_args(const char *select_sql, const char *const *reads)
{
    sqlite3_str *s = sqlite3_str_new(NULL);
    sqlite3_str_appendall(s, "x");
    for (const unsigned char *p = (const unsigned char *)select_sql; *p; p++)
        sqlite3_str_appendf(s, "%02x", *p);
    for (size_t i = 0; reads && reads[i]; i++)
        sqlite3_str_appendf(s, ", %s", reads[i]);
    return sqlite3_str_finish(s);
}
