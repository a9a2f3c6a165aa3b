/*
 * Small string helpers (see str.h).
 */
#include "common/str.h"
#include "common/err.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int cvg_str_copy(char *dst, size_t size, const char *src)
{
    if (size == 0)
        return CVG_ETOOBIG;
    size_t n = strlen(src);
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return CVG_ETOOBIG;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

/* n, moved back to the start of the UTF-8 character it falls inside. */
static size_t char_start(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

void cvg_path_join(char *out, size_t size, const char *base, const char *key)
{
    if (size == 0)
        return;
    size_t used = strlen(base) + (base[0] ? 1 : 0);
    size_t room = used < size ? size - 1 - used : 0; /* for the key, marks included */
    size_t n = strlen(key);
    if (n > 0 && room < 4 && n > room) {
        /* not even one character and its "..." after base: cut base */
        size_t keep = size > 4 ? size - 4 : 0, blen = strlen(base);
        keep = char_start(base, keep < blen ? keep : blen);
        snprintf(out, size, "%.*s%s", (int)keep, base, size > 3 ? "..." : "");
        return;
    }
    bool cut = n > CVG_PATH_KEY_MAX || n > room;
    if (cut) {
        size_t fits = room - 3; /* with its "..." (room >= 4 here) */
        n = char_start(key, fits < CVG_PATH_KEY_MAX ? fits : CVG_PATH_KEY_MAX);
    }
    snprintf(out, size, "%s%s%.*s%s", base, base[0] ? "." : "", (int)n, key, cut ? "..." : "");
}

bool cvg_ident_valid(const char *s, size_t max)
{
    if (s == NULL || s[0] == '\0')
        return false;
    size_t i = 0;
    for (; s[i] != '\0'; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        if (!(alpha || (i > 0 && digit)))
            return false;
        if (i >= max)
            return false;
    }
    return true;
}

int cvg_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return CVG_EINVAL;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return CVG_EINVAL;
    if (v < min || v > max)
        return CVG_EINVAL;
    *out = (int64_t)v;
    return 0;
}

int cvg_parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"true", "1", "yes", "on"};
    static const char *no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return CVG_EINVAL;
}

bool cvg_str_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool cvg_str_ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int cvg_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void cvg_format_double(double x, char out[CVG_DOUBLE_TEXT_MAX])
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(out, CVG_DOUBLE_TEXT_MAX, "%.*g", digits, x);
        if (strtod(out, NULL) == x)
            return;
    }
}
