/*
 * Cross-dataset views for the SQLite driver (see sqlite_view.c). Private to
 * common/warehouse/.
 */
#ifndef CVG_SQLITE_VIEW_H
#define CVG_SQLITE_VIEW_H

#include <sqlite3.h>

/* Registers the "cvg_view" module on db; pin is called with each dataset a
 * view reads when the view is connected. SQLITE_OK or an error code. */
int cvg_sqlite_view_register(sqlite3 *db, void (*pin)(void *ud, const char *dataset), void *ud);

/* The module arguments for a view of select_sql reading the datasets in
 * reads (NULL-terminated, each an identifier). sqlite3_free() the result. */
char *cvg_sqlite_view_args(const char *select_sql, const char *const *reads);

#endif
