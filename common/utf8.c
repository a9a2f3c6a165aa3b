/* UTF-8 checks (see utf8.h). */
#include "common/utf8.h"

#include <string.h>

size_t cvg_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t min;
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2;
        *cp = s[0] & 0x1f;
        min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3;
        *cp = s[0] & 0x0f;
        min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4;
        *cp = s[0] & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

bool cvg_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t len = cvg_utf8_next(u + i, n - i, &cp);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

bool cvg_utf8_control(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
           cp == 0x200f || cp == 0xfeff;
}

bool cvg_utf8_plain(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t len = cvg_utf8_next(u + i, n - i, &cp);
        if (len == 0 || cvg_utf8_control(cp))
            return false;
        i += len;
    }
    return true;
}

void cvg_utf8_clean(char *s)
{
    unsigned char *u = (unsigned char *)s;
    size_t n = strlen(s);
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t len = cvg_utf8_next(u + i, n - i, &cp);
        if (len == 0) {
            u[i++] = '?';
            continue;
        }
        i += len;
    }
}

size_t cvg_utf8_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80; /* every byte but continuation bytes */
    return n;
}
