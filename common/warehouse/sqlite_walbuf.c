/*
 * The WAL write-gathering VFS (see sqlite_walbuf.h). Each open WAL file has
 * a buffer holding the bytes [off, off + len) not yet written; a write that
 * continues the buffer is appended, any other write first empties it. A
 * write failing when the buffer is emptied is reported by the call that
 * emptied it (a sync, a read, ...), which SQLite treats as the I/O error it
 * is. Files with unwritten bytes are on a process-wide list, so that a
 * barrier or lock on the shared memory of any database first empties those
 * the calling thread wrote.
 */
#include "common/warehouse/sqlite_walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_VFS  "cvg-walbuf"
#define WALBUF_SIZE (256 * 1024)
#define WRITE_MAX   (124 * 1024) /* bytes handed to the default VFS at once */

typedef struct wb_file {
    sqlite3_file base; /* pMethods: &io */
    sqlite3_file *real;
    char *buf; /* WAL files only; NULL: every call passes straight through */
    size_t len;
    sqlite3_int64 off;
    /* while len > 0: on the dirty list, with the thread that wrote last */
    struct wb_file *next_dirty;
    bool dirty;
    pthread_t owner;
} wb_file_t;

static sqlite3_vfs *base_vfs;
static sqlite3_vfs wb_vfs;
static pthread_mutex_t dirty_lock = PTHREAD_MUTEX_INITIALIZER;
static wb_file_t *dirty_files;
static int ndirty; /* read without the lock first: 0 means nothing to do */

static void mark_dirty(wb_file_t *f)
{
    pthread_t self = pthread_self();
    if (f->dirty && pthread_equal(f->owner, self))
        return;
    pthread_mutex_lock(&dirty_lock);
    f->owner = self;
    if (!f->dirty) {
        f->dirty = true;
        f->next_dirty = dirty_files;
        dirty_files = f;
        __atomic_add_fetch(&ndirty, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&dirty_lock);
}

static void mark_clean(wb_file_t *f)
{
    if (!f->dirty)
        return;
    pthread_mutex_lock(&dirty_lock);
    for (wb_file_t **p = &dirty_files; *p; p = &(*p)->next_dirty) {
        if (*p == f) {
            *p = f->next_dirty;
            break;
        }
    }
    f->dirty = false;
    f->next_dirty = NULL;
    __atomic_sub_fetch(&ndirty, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&dirty_lock);
}

/* Writes the buffered bytes, in pieces the default VFS takes whole (its
 * write of one call is cut to 17 bits of length: a multiple of 128 KiB
 * would write nothing and read as a full disk). The buffer is emptied even
 * on failure: SQLite rewrites what it needs after an I/O error (the
 * transaction fails). */
static int flush(wb_file_t *f)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; rc == SQLITE_OK && done < f->len;) {
        size_t n = f->len - done < WRITE_MAX ? f->len - done : WRITE_MAX;
        rc =
            f->real->pMethods->xWrite(f->real, f->buf + done, (int)n, f->off + (sqlite3_int64)done);
        done += n;
    }
    f->len = 0;
    mark_clean(f);
    return rc;
}

/*
 * Before the shared memory of any database is locked or fenced: the WAL
 * files this thread has unwritten bytes in are written. That is where
 * SQLite makes frames visible to other connections (the WAL index), and it
 * does so in the same call, on the same thread, as it wrote them; with
 * synchronous=FULL the commit's sync has written them already, this covers
 * any other mode. Files of other threads are theirs to write (a connection
 * is used by one thread at a time).
 */
static void flush_own(void)
{
    if (__atomic_load_n(&ndirty, __ATOMIC_ACQUIRE) == 0)
        return;
    pthread_t self = pthread_self();
    for (;;) {
        wb_file_t *mine = NULL;
        pthread_mutex_lock(&dirty_lock);
        for (wb_file_t *f = dirty_files; f; f = f->next_dirty) {
            if (pthread_equal(f->owner, self)) {
                mine = f;
                break;
            }
        }
        pthread_mutex_unlock(&dirty_lock);
        if (mine == NULL)
            return;
        flush(mine); /* an error shows again at the commit's own sync */
    }
}

/* ---- what a WAL file's buffer changes (other files have none) ----------- */

static int wal_close(sqlite3_file *file)
{
    wb_file_t *f = (wb_file_t *)file;
    int rc = flush(f);
    int rc2 = f->real->pMethods->xClose(f->real);
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

static int wal_write(sqlite3_file *file, const void *data, int n, sqlite3_int64 off)
{
    wb_file_t *f = (wb_file_t *)file;
    if (f->buf == NULL)
        return f->real->pMethods->xWrite(f->real, data, n, off);
    if (f->len > 0 && off == f->off + (sqlite3_int64)f->len && f->len + (size_t)n <= WALBUF_SIZE) {
        memcpy(f->buf + f->len, data, (size_t)n);
        f->len += (size_t)n;
        mark_dirty(f); /* a no-op unless another thread wrote the rest */
        return SQLITE_OK;
    }
    int rc = flush(f);
    if (rc != SQLITE_OK)
        return rc;
    if ((size_t)n > WRITE_MAX) /* SQLite's own writes are a page or less */
        return f->real->pMethods->xWrite(f->real, data, n, off);
    memcpy(f->buf, data, (size_t)n);
    f->len = (size_t)n;
    f->off = off;
    mark_dirty(f);
    return SQLITE_OK;
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
    flush_own();
    return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}

static int f_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    wb_file_t *f = (wb_file_t *)file;
    flush_own();
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *file)
{
    wb_file_t *f = (wb_file_t *)file;
    flush_own();
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

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
                   int *out_flags)
{
    (void)vfs;
    wb_file_t *f = (wb_file_t *)file;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    bool wal = (flags & SQLITE_OPEN_WAL) != 0;
    if (wal && (f->buf = malloc(WALBUF_SIZE)) == NULL)
        return SQLITE_NOMEM;
    int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (f->real->pMethods != NULL)
            f->real->pMethods->xClose(f->real);
        free(f->buf);
        f->buf = NULL;
        return rc; /* pMethods left NULL: SQLite will not call our xClose */
    }
    f->base.pMethods = &io;
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
