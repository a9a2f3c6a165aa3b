/*
 * Recently committed event ids (see seen.h): two open-addressing hash sets,
 * each cleared wholesale when it becomes the old generation.
 */
#include "logger/seen.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS (LGR_SEEN_GENERATION * 2) /* load factor at most 1/2 */

typedef struct gen {
    size_t n;
    char (*ids)[CVG_ID_LEN]; /* "" marks a free slot */
} gen_t;

struct lgr_seen {
    gen_t gen[2];
    int cur;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

lgr_seen_t *lgr_seen_new(void)
{
    lgr_seen_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    for (int i = 0; i < 2; i++) {
        s->gen[i].ids = calloc(SLOTS, CVG_ID_LEN);
        if (s->gen[i].ids == NULL) {
            lgr_seen_destroy(&s);
            return NULL;
        }
    }
    return s;
}

void lgr_seen_destroy(lgr_seen_t **ps)
{
    if (ps == NULL || *ps == NULL)
        return;
    free((*ps)->gen[0].ids);
    free((*ps)->gen[1].ids);
    free(*ps);
    *ps = NULL;
}

static bool gen_has(const gen_t *g, const char *id, uint64_t h)
{
    for (size_t i = 0; i < SLOTS; i++) {
        const char *slot = g->ids[(h + i) % SLOTS];
        if (slot[0] == '\0')
            return false;
        if (strcmp(slot, id) == 0)
            return true;
    }
    return false;
}

bool lgr_seen_has(const lgr_seen_t *s, const char *id)
{
    uint64_t h = hash(id);
    return gen_has(&s->gen[0], id, h) || gen_has(&s->gen[1], id, h);
}

void lgr_seen_add(lgr_seen_t *s, const char *id)
{
    if (strlen(id) >= CVG_ID_LEN || id[0] == '\0' || lgr_seen_has(s, id))
        return;
    gen_t *g = &s->gen[s->cur];
    if (g->n >= LGR_SEEN_GENERATION) {
        s->cur ^= 1;
        g = &s->gen[s->cur];
        memset(g->ids, 0, (size_t)SLOTS * CVG_ID_LEN);
        g->n = 0;
    }
    uint64_t h = hash(id);
    for (size_t i = 0; i < SLOTS; i++) {
        char *slot = g->ids[(h + i) % SLOTS];
        if (slot[0] == '\0') {
            memcpy(slot, id, strlen(id) + 1);
            g->n++;
            return;
        }
    }
}
