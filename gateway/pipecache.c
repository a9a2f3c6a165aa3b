/*
 * Validated pipeline configs, cached per path (see pipecache.h).
 */
#include "gateway/pipecache.h"
#include "common/time.h"
#include "worker/runner.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CACHE_MAX 128

typedef struct entry {
    gw_pipe_t pipe; /* first: the handle given out */
    char path[CVG_PIPELINE_PATH_MAX];
    struct stat st;
    int64_t checked_ms; /* monotonic time the file was last looked at */
    int refs;           /* handles out + 1 while cached */
    uint64_t used;      /* for eviction */
} entry_t;

struct gw_pipecache {
    const cvg_config_t *cfg;
    const cvg_providers_t *providers;
    pthread_mutex_t lock;
    entry_t *items[CACHE_MAX];
    size_t n;
    uint64_t tick;
};

gw_pipecache_t *gw_pipecache_new(const cvg_config_t *cfg, const cvg_providers_t *providers)
{
    gw_pipecache_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cfg = cfg;
    c->providers = providers;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void entry_free(entry_t *e)
{
    cvg_pipeline_cleanup(&e->pipe.p);
    cvg_strlist_cleanup(&e->pipe.settings);
    free(e);
}

static void unref(entry_t *e)
{
    if (--e->refs == 0)
        entry_free(e);
}

void gw_pipecache_destroy(gw_pipecache_t **c)
{
    if (c == NULL || *c == NULL)
        return;
    for (size_t i = 0; i < (*c)->n; i++)
        unref((*c)->items[i]);
    pthread_mutex_destroy(&(*c)->lock);
    free(*c);
    *c = NULL;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Loads and validates a config outside the lock. */
static int load(gw_pipecache_t *c, const char *path, const struct stat *st, entry_t **out,
                cvg_errlist_t *errs, cvg_err_t *err)
{
    entry_t *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    wrk_env_t env = {.cfg = c->cfg, .providers = c->providers};
    int rc = wrk_runner_load(&env, path, &e->pipe.p, errs, err, &e->pipe.settings);
    if (rc != 0) {
        entry_free(e);
        return rc;
    }
    snprintf(e->path, sizeof(e->path), "%s", path);
    e->st = *st;
    e->checked_ms = cvg_time_mono_ms();
    e->refs = 1;
    *out = e;
    return 0;
}

/* The entry for path (the lock held), or NULL. */
static entry_t *find(const gw_pipecache_t *c, const char *path, size_t *at)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->items[i]->path, path) == 0) {
            *at = i;
            return c->items[i];
        }
    }
    return NULL;
}

/* Drops the entry at i (the lock held); handles out keep it alive. */
static void drop(gw_pipecache_t *c, size_t i)
{
    entry_t *gone = c->items[i];
    c->items[i] = c->items[--c->n];
    unref(gone);
}

/* A handle on e for the caller (the lock held). */
static const gw_pipe_t *hand_out(gw_pipecache_t *c, entry_t *e)
{
    e->refs++;
    e->used = ++c->tick;
    return &e->pipe;
}

int gw_pipecache_get(gw_pipecache_t *c, const char *path, const gw_pipe_t **out,
                     cvg_errlist_t *errs, cvg_err_t *err)
{
    *out = NULL;
    if (!cvg_pipeline_path_valid(path))
        return cvg_err_set(err, CVG_ENOTFOUND, "pipeline", "no pipeline %.100s", path);
    /* A config looked at within CVG_CONFIG_RECHECK_MS is used as it is: a
     * stat() per request was a tenth of a run request's time. */
    int64_t now = cvg_time_mono_ms();
    size_t at = 0;
    pthread_mutex_lock(&c->lock);
    entry_t *e = find(c, path, &at);
    if (e != NULL && now - e->checked_ms < c->cfg->config_recheck_ms)
        *out = hand_out(c, e);
    pthread_mutex_unlock(&c->lock);
    if (*out != NULL)
        return 0;
    char file[4096];
    snprintf(file, sizeof(file), "%s/%s.yml", c->cfg->config_dir, path);
    struct stat st;
    if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
        return cvg_err_set(err, CVG_ENOTFOUND, "pipeline", "no pipeline %.100s", path);
    pthread_mutex_lock(&c->lock);
    if ((e = find(c, path, &at)) != NULL && same_file(&e->st, &st)) {
        e->checked_ms = now;
        *out = hand_out(c, e);
    } else if (e != NULL) {
        drop(c, at); /* the file changed */
    }
    pthread_mutex_unlock(&c->lock);
    if (*out != NULL)
        return 0;
    entry_t *fresh = NULL;
    int rc = load(c, path, &st, &fresh, errs, err);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&c->lock);
    if ((e = find(c, path, &at)) != NULL && same_file(&e->st, &st)) {
        /* another request loaded it meanwhile */
        *out = hand_out(c, e);
        pthread_mutex_unlock(&c->lock);
        unref(fresh);
        return 0;
    }
    if (e != NULL)
        drop(c, at); /* loaded meanwhile from another version of the file */
    if (c->n == CACHE_MAX) {
        size_t old = 0;
        for (size_t i = 1; i < c->n; i++) {
            if (c->items[i]->used < c->items[old]->used)
                old = i;
        }
        drop(c, old);
    }
    c->items[c->n++] = fresh;
    *out = hand_out(c, fresh);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void gw_pipecache_put(gw_pipecache_t *c, const gw_pipe_t *pipe)
{
    if (pipe == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    unref((entry_t *)pipe);
    pthread_mutex_unlock(&c->lock);
}
