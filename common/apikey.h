/*
 * Tenant API keys. A key is "cvgk_", 32 base62 characters from the CSPRNG
 * (190 bits) and a 6-character base62 CRC-32 of the rest, so a mistyped or
 * scanned key is refused before any lookup. Only HMAC-SHA256(pepper, key)
 * is stored, with a short display prefix. Scopes are a bitmask.
 */
#ifndef CVG_APIKEY_H
#define CVG_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVG_APIKEY_PREFIX      "cvgk_"
#define CVG_APIKEY_RANDOM_LEN  32
#define CVG_APIKEY_CHECK_LEN   6
#define CVG_APIKEY_LEN         (5 + CVG_APIKEY_RANDOM_LEN + CVG_APIKEY_CHECK_LEN)
#define CVG_APIKEY_DISPLAY_LEN 12 /* "cvgk_" and 7 characters */
#define CVG_APIKEY_HASH_HEX    65

enum {
    CVG_SCOPE_TENANT_READ = 1 << 0,
    CVG_SCOPE_PIPELINES_RUN = 1 << 1,
    CVG_SCOPE_PIPELINES_READ = 1 << 2,
    CVG_SCOPE_CREDENTIALS_READ = 1 << 3,
    CVG_SCOPE_CREDENTIALS_WRITE = 1 << 4,
    CVG_SCOPE_PROVIDERS_READ = 1 << 5,
    CVG_SCOPE_PROVIDERS_WRITE = 1 << 6,
    CVG_SCOPE_ALL = (1 << 7) - 1
};

/* Writes a new key (CVG_APIKEY_LEN characters + NUL). 0 or CVG_EIO. */
int cvg_apikey_generate(char out[CVG_APIKEY_LEN + 1]);

/* True when key has the prefix, the length, the alphabet and a matching
 * checksum. Constant work for keys of the right length. */
bool cvg_apikey_well_formed(const char *key);

/* Lowercase hex HMAC-SHA256 of key under pepper. */
void cvg_apikey_hash(const unsigned char pepper[32], const char *key,
                     char out[CVG_APIKEY_HASH_HEX]);

/* The first CVG_APIKEY_DISPLAY_LEN characters, for listings. */
void cvg_apikey_display(const char *key, char out[CVG_APIKEY_DISPLAY_LEN + 1]);

/* Scope names ("pipelines:run", ...) <-> bits. parse returns 0 and sets
 * *bits, or CVG_EINVAL naming the unknown scope in *bad. "*" is all. */
int cvg_scopes_parse(const char *const *names, size_t n, unsigned *bits, const char **bad);
const char *cvg_scope_name(unsigned bit);

#endif
