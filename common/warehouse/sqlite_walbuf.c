/*
 * The WAL write-gathering VFS (see sqlite_walbuf.h). Each open WAL file has
 * a buffer (allocated on its first write) holding the bytes [off, off + len)
 * not yet written; a write that continues the buffer is appended, any other
 * write first empties it. A WAL file is linked to the database file it
 * belongs to (sqlite3_database_file_object), and a lock, barrier or map of
 * that database's shared memory empties it first: that is where SQLite
 * makes frames visible to other connections (the WAL index), whatever the
 * synchronous mode; and the write of a commit's last frame writes the
 * buffer out, so a refused write fails the commit. A failed write keeps
 * the bytes: the next attempt writes them again, so an error is never lost
 * between a buffered write and the commit.
 */
#include "common/warehouse/sqlite_walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_VFS  "cvg-walbuf"
#define WALBUF_SIZE (256 * 1024)
#define WRITE_MAX   (124 * 1024) /* bytes handed to the default VFS at once */

typedef struct wb_file {
    sqlite3_file base; /* pMethods: &io */
    sqlite3_file *real;
    bool is_wal;
    char *buf; /* WAL files: NULL until the first write */
    size_t len;
    sqlite3_int64 off;
    sqlite3_int64 commit_page_at; /* where the page of a commit frame goes, 0 */
    struct wb_file *wal;          /* a database file: its open WAL file, if any */
    struct wb_file *db;           /* a WAL file: its database file */
} wb_file_t;

static sqlite3_vfs *base_vfs;
static sqlite3_vfs wb_vfs;
static uint64_t writes_taken, writes_made; /* of WAL files, process-wide */

/* Hands n bytes to the default VFS in pieces it takes whole (its write of
 * one call is cut to 17 bits of length: a multiple of 128 KiB would write
 * nothing and read as a full disk). */
static int write_through(wb_file_t *f, const char *data, size_t n, sqlite3_int64 off)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; rc == SQLITE_OK && done < n;) {
        size_t piece = n - done < WRITE_MAX ? n - done : WRITE_MAX;
        if (f->is_wal)
            __atomic_add_fetch(&writes_made, 1, __ATOMIC_RELAXED);
        rc = f->real->pMethods->xWrite(f->real, data + done, (int)piece, off + (sqlite3_int64)done);
        done += piece;
    }
    return rc;
}

/* Writes the buffered bytes; on failure they stay buffered. */
static int flush(wb_file_t *f)
{
    if (f->len == 0)
        return SQLITE_OK;
    int rc = write_through(f, f->buf, f->len, f->off);
    if (rc == SQLITE_OK)
        f->len = 0;
    return rc;
}

/* A database file's WAL, written before its shared memory is touched. An
 * error here shows again at the write or sync that retries it. */
static void flush_wal_of(wb_file_t *db)
{
    if (db->wal != NULL)
        flush(db->wal);
}

/* ---- what a WAL file's buffer changes (other files have none) ----------- */

static int wal_close(sqlite3_file *file)
{
    wb_file_t *f = (wb_file_t *)file;
    int rc = flush(f);
    int rc2 = f->real->pMethods->xClose(f->real);
    if (f->db != NULL && f->db->wal == f)
        f->db->wal = NULL;
    if (f->wal != NULL && f->wal->db == f) /* a database closed before its WAL */
        f->wal->db = NULL;
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wal_read(sqlite3_file *file, void *out, int n, sqlite3_int64 off)
{
    wb_file_t *f = (wb_file_t *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, n, off);
}

/* Takes a write into the buffer (emptying it first unless the write
 * continues it). */
static int take(wb_file_t *f, const void *data, size_t n, sqlite3_int64 off)
{
    if (f->len > 0 && off == f->off + (sqlite3_int64)f->len && f->len + n <= WALBUF_SIZE) {
        memcpy(f->buf + f->len, data, n);
        f->len += n;
        return SQLITE_OK;
    }
    int rc = flush(f);
    if (rc != SQLITE_OK)
        return rc;
    if (n > WRITE_MAX) /* SQLite's own writes are a page or less */
        return write_through(f, data, n, off);
    if (f->buf == NULL && (f->buf = malloc(WALBUF_SIZE)) == NULL)
        return write_through(f, data, n, off);
    memcpy(f->buf, data, n);
    f->len = n;
    f->off = off;
    return SQLITE_OK;
}

/*
 * A frame's 24-byte header names, for the last frame of a transaction, the
 * database size after it (bytes 4-7, zero otherwise). The page that
 * follows such a header completes the commit: the buffer is written then,
 * in that write, so a refused write fails the commit as it would without
 * the buffer, whatever the synchronous mode and before SQLite updates the
 * WAL index.
 */
static bool commit_header(const unsigned char *h, size_t n, sqlite3_int64 off)
{
    return n == 24 && off >= 32 && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int wal_write(sqlite3_file *file, const void *data, int n, sqlite3_int64 off)
{
    wb_file_t *f = (wb_file_t *)file;
    if (!f->is_wal)
        return write_through(f, data, (size_t)n, off);
    __atomic_add_fetch(&writes_taken, 1, __ATOMIC_RELAXED);
    bool completes = f->commit_page_at != 0 && off == f->commit_page_at;
    f->commit_page_at = commit_header(data, (size_t)n, off) ? off + 24 : 0;
    int rc = take(f, data, (size_t)n, off);
    return rc == SQLITE_OK && completes ? flush(f) : rc;
}

static int wal_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    wb_file_t *f = (wb_file_t *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wal_sync(sqlite3_file *file, int flags)
{
    wb_file_t *f = (wb_file_t *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wal_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    wb_file_t *f = (wb_file_t *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wal_file_control(sqlite3_file *file, int op, void *arg)
{
    wb_file_t *f = (wb_file_t *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

/* ---- the rest: straight through ---------------------------------------- */

static int f_lock(sqlite3_file *file, int level)
{
    wb_file_t *f = (wb_file_t *)file;
    return f->real->pMethods->xLock(f->real, level);
}

static int f_unlock(sqlite3_file *file, int level)
{
    wb_file_t *f = (wb_file_t *)file;
    return f->real->pMethods->xUnlock(f->real, level);
}

static int f_check_reserved(sqlite3_file *file, int *out)
{
    wb_file_t *f = (wb_file_t *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int f_sector_size(sqlite3_file *file)
{
    wb_file_t *f = (wb_file_t *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int f_device_characteristics(sqlite3_file *file)
{
    wb_file_t *f = (wb_file_t *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int f_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
    wb_file_t *f = (wb_file_t *)file;
    flush_wal_of(f);
    return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}

static int f_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    wb_file_t *f = (wb_file_t *)file;
    flush_wal_of(f);
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *file)
{
    wb_file_t *f = (wb_file_t *)file;
    flush_wal_of(f);
    f->real->pMethods->xShmBarrier(f->real);
}

static int f_shm_unmap(sqlite3_file *file, int delete_flag)
{
    wb_file_t *f = (wb_file_t *)file;
    return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int f_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **out)
{
    wb_file_t *f = (wb_file_t *)file;
    return f->real->pMethods->xFetch(f->real, off, n, out);
}

static int f_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    wb_file_t *f = (wb_file_t *)file;
    return f->real->pMethods->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods io = {
    .iVersion = 3,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = f_lock,
    .xUnlock = f_unlock,
    .xCheckReservedLock = f_check_reserved,
    .xFileControl = wal_file_control,
    .xSectorSize = f_sector_size,
    .xDeviceCharacteristics = f_device_characteristics,
    .xShmMap = f_shm_map,
    .xShmLock = f_shm_lock,
    .xShmBarrier = f_shm_barrier,
    .xShmUnmap = f_shm_unmap,
    .xFetch = f_fetch,
    .xUnfetch = f_unfetch,
};

/* The same without shared memory or memory maps (filled in at
 * registration). */
static sqlite3_io_methods io_v1;

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
                   int *out_flags)
{
    (void)vfs;
    wb_file_t *f = (wb_file_t *)file;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (f->real->pMethods != NULL)
            f->real->pMethods->xClose(f->real);
        return rc; /* pMethods left NULL: SQLite will not call our xClose */
    }
    /* A database file of the default VFS here has shared memory and
     * memory maps (method table version 3); a file without them (a WAL or
     * journal, or another system's database) gets a version 1 table, so
     * SQLite never calls what it lacks. */
    const sqlite3_io_methods *m = f->real->pMethods;
    bool full = m->iVersion >= 3 && m->xShmMap != NULL && m->xFetch != NULL;
    if ((flags & SQLITE_OPEN_WAL) && name != NULL) {
        /* a WAL file has no shared memory of its own: its database's */
        wb_file_t *db = (wb_file_t *)sqlite3_database_file_object(name);
        if (db != NULL && db->base.pMethods == &io) {
            f->is_wal = true;
            f->db = db;
            db->wal = f;
        }
    }
    f->base.pMethods = full ? &io : &io_v1;
    return SQLITE_OK;
}

static int wb_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    (void)v;
    return base_vfs->xDelete(base_vfs, name, sync_dir);
}

static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return base_vfs->xAccess(base_vfs, name, flags, out);
}

static int wb_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return base_vfs->xFullPathname(base_vfs, name, n, out);
}

static void *wb_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return base_vfs->xDlOpen(base_vfs, name);
}

static void wb_dlerror(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    base_vfs->xDlError(base_vfs, n, out);
}

static void (*wb_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return base_vfs->xDlSym(base_vfs, h, sym);
}

static void wb_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    base_vfs->xDlClose(base_vfs, h);
}

static int wb_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return base_vfs->xRandomness(base_vfs, n, out);
}

static int wb_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return base_vfs->xSleep(base_vfs, us);
}

static int wb_current_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return base_vfs->xCurrentTime(base_vfs, out);
}

static int wb_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return base_vfs->xGetLastError ? base_vfs->xGetLastError(base_vfs, n, out) : 0;
}

static int wb_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

static void register_once(void)
{
    io_v1 = io;
    io_v1.iVersion = 1;
    io_v1.xShmMap = NULL;
    io_v1.xShmLock = NULL;
    io_v1.xShmBarrier = NULL;
    io_v1.xShmUnmap = NULL;
    io_v1.xFetch = NULL;
    io_v1.xUnfetch = NULL;
    base_vfs = sqlite3_vfs_find(NULL);
    if (base_vfs == NULL || base_vfs->iVersion < 2 || base_vfs->xCurrentTimeInt64 == NULL)
        return;
    wb_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(wb_file_t) + base_vfs->szOsFile,
        .mxPathname = base_vfs->mxPathname,
        .zName = WALBUF_VFS,
        .xOpen = wb_open,
        .xDelete = wb_delete,
        .xAccess = wb_access,
        .xFullPathname = wb_full_pathname,
        .xDlOpen = wb_dlopen,
        .xDlError = wb_dlerror,
        .xDlSym = wb_dlsym,
        .xDlClose = wb_dlclose,
        .xRandomness = wb_randomness,
        .xSleep = wb_sleep,
        .xCurrentTime = wb_current_time,
        .xGetLastError = wb_last_error,
        .xCurrentTimeInt64 = wb_current_time_int64,
    };
    if (sqlite3_vfs_register(&wb_vfs, 0) != SQLITE_OK)
        base_vfs = NULL;
}

const char *cvg_sqlite_walbuf_vfs(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    return base_vfs ? WALBUF_VFS : NULL;
}

void cvg_sqlite_walbuf_counts(uint64_t *taken, uint64_t *made)
{
    *taken = __atomic_load_n(&writes_taken, __ATOMIC_RELAXED);
    *made = __atomic_load_n(&writes_made, __ATOMIC_RELAXED);
}
