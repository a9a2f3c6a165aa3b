/*
 * UUIDv7 generation (see id.h). Within one millisecond the 12-bit rand_a
 * field is used as a counter seeded at random (RFC 9562 section 6.2,
 * method 1), so ids from one process are strictly increasing.
 */
#include "common/id.h"
#include "common/err.h"
#include "common/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int cvg_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return CVG_EIO;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/*
 * Ids draw their random bits from a per-thread pool filled 512 bytes at a
 * time (32 ids per getrandom call). Ids are not secrets; keys and nonces
 * call cvg_random_bytes directly. A forked child forgets the pool it
 * inherited, so parent and child never share random bits.
 */
#define ID_POOL 512
static _Thread_local unsigned char id_pool[ID_POOL];
static _Thread_local size_t id_pool_left;
static pthread_once_t id_atfork_once = PTHREAD_ONCE_INIT;

static void id_pool_forget(void)
{
    id_pool_left = 0;
}

static void id_atfork(void)
{
    pthread_atfork(NULL, NULL, id_pool_forget);
}

static int id_random(unsigned char *out, size_t n)
{
    pthread_once(&id_atfork_once, id_atfork);
    if (id_pool_left < n) {
        if (cvg_random_bytes(id_pool, sizeof(id_pool)) != 0)
            return CVG_EIO;
        id_pool_left = sizeof(id_pool);
    }
    memcpy(out, id_pool + sizeof(id_pool) - id_pool_left, n);
    id_pool_left -= n;
    return 0;
}

static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t id_last_ms = -1;
static unsigned id_counter;

int cvg_id_new(char out[CVG_ID_LEN])
{
    unsigned char b[16];
    if (id_random(b, sizeof(b)) != 0)
        return CVG_EIO;
    int64_t now = cvg_time_now_ms();
    pthread_mutex_lock(&id_lock);
    if (now <= id_last_ms) {
        /* Same millisecond (or the clock stepped back): count up; on
         * overflow borrow the next millisecond. */
        now = id_last_ms;
        if (++id_counter > 0xfff) {
            now++;
            id_counter = ((unsigned)b[6] << 4 | b[7] >> 4) & 0x7ff;
        }
    } else {
        /* Seed below 0x800 so a burst has room to count up. */
        id_counter = ((unsigned)b[6] << 4 | b[7] >> 4) & 0x7ff;
    }
    id_last_ms = now;
    unsigned counter = id_counter;
    pthread_mutex_unlock(&id_lock);

    uint64_t ts = (uint64_t)now;
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ts >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (counter >> 8));
    b[7] = (unsigned char)(counter & 0xff);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

bool cvg_id_valid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

int64_t cvg_id_time_ms(const char *s)
{
    if (!cvg_id_valid(s) || s[14] != '7')
        return -1;
    int64_t ms = 0;
    for (int i = 0; i < 13; i++) {
        if (s[i] == '-')
            continue;
        char c = s[i];
        ms = ms * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return ms;
}
