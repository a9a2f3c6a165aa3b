/*
 * Tenant API keys (see apikey.h).
 */
#include "common/apikey.h"
#include "common/crypto.h"
#include "common/err.h"
#include "common/id.h"

#include <string.h>

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static uint32_t crc32(const char *s, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= (unsigned char)s[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void checksum(const char *body, size_t n, char out[CVG_APIKEY_CHECK_LEN])
{
    uint32_t v = crc32(body, n);
    for (int i = CVG_APIKEY_CHECK_LEN - 1; i >= 0; i--) {
        out[i] = B62[v % 62];
        v /= 62;
    }
}

int cvg_apikey_generate(char out[CVG_APIKEY_LEN + 1])
{
    memcpy(out, CVG_APIKEY_PREFIX, 5);
    size_t filled = 0;
    unsigned char buf[64];
    while (filled < CVG_APIKEY_RANDOM_LEN) {
        if (cvg_random_bytes(buf, sizeof(buf)) != 0)
            return CVG_EIO;
        /* 248 = 4 * 62: rejecting bytes above it keeps every character
         * equally likely. */
        for (size_t i = 0; i < sizeof(buf) && filled < CVG_APIKEY_RANDOM_LEN; i++) {
            if (buf[i] < 248)
                out[5 + filled++] = B62[buf[i] % 62];
        }
    }
    cvg_wipe(buf, sizeof(buf));
    checksum(out, 5 + CVG_APIKEY_RANDOM_LEN, out + 5 + CVG_APIKEY_RANDOM_LEN);
    out[CVG_APIKEY_LEN] = '\0';
    return 0;
}

bool cvg_apikey_well_formed(const char *key)
{
    if (key == NULL || strlen(key) != CVG_APIKEY_LEN || memcmp(key, CVG_APIKEY_PREFIX, 5) != 0)
        return false;
    bool alphabet = true;
    for (size_t i = 5; i < CVG_APIKEY_LEN; i++) {
        char c = key[i];
        alphabet &= (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }
    char want[CVG_APIKEY_CHECK_LEN];
    checksum(key, 5 + CVG_APIKEY_RANDOM_LEN, want);
    return alphabet && memcmp(want, key + 5 + CVG_APIKEY_RANDOM_LEN, CVG_APIKEY_CHECK_LEN) == 0;
}

void cvg_apikey_hash(const unsigned char pepper[32], const char *key, char out[CVG_APIKEY_HASH_HEX])
{
    unsigned char mac[CVG_HMAC_LEN];
    cvg_hmac_sha256(pepper, 32, key, strlen(key), mac);
    cvg_hex(mac, sizeof(mac), out);
}

void cvg_apikey_display(const char *key, char out[CVG_APIKEY_DISPLAY_LEN + 1])
{
    size_t n = strlen(key);
    if (n > CVG_APIKEY_DISPLAY_LEN)
        n = CVG_APIKEY_DISPLAY_LEN;
    memcpy(out, key, n);
    out[n] = '\0';
}

static const char *const scope_names[] = {
    "tenant:read",       "pipelines:run",  "pipelines:read",  "credentials:read",
    "credentials:write", "providers:read", "providers:write",
};

#define NSCOPES (sizeof(scope_names) / sizeof(scope_names[0]))

const char *cvg_scope_name(unsigned bit)
{
    for (size_t i = 0; i < NSCOPES; i++) {
        if (bit == (1u << i))
            return scope_names[i];
    }
    return NULL;
}

int cvg_scopes_parse(const char *const *names, size_t n, unsigned *bits, const char **bad)
{
    *bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "*") == 0) {
            *bits |= CVG_SCOPE_ALL;
            continue;
        }
        size_t s = 0;
        for (; s < NSCOPES; s++) {
            if (strcmp(names[i], scope_names[s]) == 0)
                break;
        }
        if (s == NSCOPES) {
            if (bad)
                *bad = names[i];
            return CVG_EINVAL;
        }
        *bits |= 1u << s;
    }
    return 0;
}
