/*
 * Warehouse connection pool (see whpool.h): a stack of free connections
 * under a mutex, with a condition variable to wait for one.
 */
#include "gateway/whpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct gw_whpool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    size_t n, nfree;
    cvg_wh_t **all;
    cvg_wh_t **free_list;
};

gw_whpool_t *gw_whpool_new(const char *url, size_t n, cvg_err_t *err)
{
    gw_whpool_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->all = calloc(n, sizeof(*p->all));
    p->free_list = calloc(n, sizeof(*p->free_list));
    if (p->all == NULL || p->free_list == NULL) {
        cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
        gw_whpool_destroy(&p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    for (size_t i = 0; i < n; i++) {
        if (cvg_wh_open(url, &p->all[i], err) != 0) {
            gw_whpool_destroy(&p);
            return NULL;
        }
        p->n++;
        p->free_list[p->nfree++] = p->all[i];
    }
    return p;
}

void gw_whpool_destroy(gw_whpool_t **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    gw_whpool_t *p = *pp;
    for (size_t i = 0; i < p->n; i++)
        cvg_wh_close(&p->all[i]);
    if (p->all) {
        pthread_cond_destroy(&p->freed);
        pthread_mutex_destroy(&p->lock);
    }
    free(p->all);
    free(p->free_list);
    free(p);
    *pp = NULL;
}

cvg_wh_t *gw_whpool_acquire(gw_whpool_t *p, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    cvg_wh_t *wh = NULL;
    pthread_mutex_lock(&p->lock);
    while (p->nfree == 0) {
        if (pthread_cond_timedwait(&p->freed, &p->lock, &until) == ETIMEDOUT)
            break;
    }
    if (p->nfree > 0)
        wh = p->free_list[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    return wh;
}

void gw_whpool_release(gw_whpool_t *p, cvg_wh_t *wh)
{
    if (wh == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->free_list[p->nfree++] = wh;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}
