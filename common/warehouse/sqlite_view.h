/*
 * Cross-dataset views for the SQLite driver (see sqlite_view.c). Private to
 * common/warehouse/.
 */
#ifndef CVG_SQLITE_VIEW_H
#define CVG_SQLITE_VIEW_H

#include <sqlite3.h>

/* What the driver learns from views: pin is called with each dataset a
 * view reads when it is connected; trust(ud, +1) and trust(ud, -1) bracket
 * the preparing of a view's own SELECT (a restricted connection lets a
 * stored view read what its definition names). */
typedef struct cvg_view_hooks {
    void (*pin)(void *ud, const char *dataset);
    void (*trust)(void *ud, int delta);
    void *ud;
} cvg_view_hooks_t;

/* Registers the "cvg_view" module on db. SQLITE_OK or an error code. */
int cvg_sqlite_view_register(sqlite3 *db, const cvg_view_hooks_t *hooks);

/* The module arguments for a view of select_sql reading the datasets in
 * reads (NULL-terminated, each an identifier). sqlite3_free() the result. */
char *cvg_sqlite_view_args(const char *select_sql, const char *const *reads);

#endif
