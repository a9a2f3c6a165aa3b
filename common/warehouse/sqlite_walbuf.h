/*
 * A VFS over SQLite's default one that gathers the writes of a WAL file.
 * SQLite writes a transaction's WAL frames one by one, two pwrite calls per
 * frame (header, page); this VFS keeps consecutive writes in a buffer and
 * hands them to the file in one write before anything that could observe
 * the file: a sync (the commit), a read, its size, a truncate, a file
 * control, a close, and any lock, barrier or map of its database's shared
 * memory (the WAL index that makes frames visible to other connections is
 * only updated after those). Other files pass straight through. Private to
 * common/warehouse/.
 */
#ifndef CVG_SQLITE_WALBUF_H
#define CVG_SQLITE_WALBUF_H

#include <stdint.h>

/* Registers the VFS (once, not as the default) and returns its name for
 * sqlite3_open_v2; NULL when SQLite has no default VFS to wrap. */
const char *cvg_sqlite_walbuf_vfs(void);

/* Writes SQLite made to WAL files through the VFS in this process, and
 * writes the VFS made to the files for them (tests, diagnostics). */
void cvg_sqlite_walbuf_counts(uint64_t *taken, uint64_t *made);

#endif
