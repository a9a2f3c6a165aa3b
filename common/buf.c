/*
 * Bounded growable byte buffer (see buf.h).
 */
#include "common/buf.h"
#include "common/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cvg_buf_init(cvg_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->overflow = false;
}

void cvg_buf_cleanup(cvg_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void cvg_buf_reset(cvg_buf_t *b)
{
    b->len = 0;
    b->overflow = false;
    if (b->data)
        b->data[0] = '\0';
}

/* Makes room for `extra` more bytes plus the NUL. */
static int reserve(cvg_buf_t *b, size_t extra)
{
    if (b->overflow || extra > b->max || b->len > b->max - extra) {
        b->overflow = true;
        return CVG_ETOOBIG;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return CVG_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int cvg_buf_append(cvg_buf_t *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int cvg_buf_puts(cvg_buf_t *b, const char *s)
{
    return cvg_buf_append(b, s, strlen(s));
}

int cvg_buf_vprintf(cvg_buf_t *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return CVG_EINVAL;
    int rc = reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int cvg_buf_printf(cvg_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cvg_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int cvg_buf_append_json_str(cvg_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = cvg_buf_append(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = cvg_buf_append(b, s + start, i - start);
        start = i + 1;
        if (rc != 0)
            break;
        switch (c) {
        case '"':
            rc = cvg_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            rc = cvg_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            rc = cvg_buf_append(b, "\\n", 2);
            break;
        case '\r':
            rc = cvg_buf_append(b, "\\r", 2);
            break;
        case '\t':
            rc = cvg_buf_append(b, "\\t", 2);
            break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rc = cvg_buf_append(b, esc, sizeof(esc));
        }
        }
    }
    if (rc == 0)
        rc = cvg_buf_append(b, s + start, n - start);
    if (rc == 0)
        rc = cvg_buf_append(b, "\"", 1);
    return rc;
}

const char *cvg_buf_cstr(const cvg_buf_t *b)
{
    return b->data ? b->data : "";
}

char *cvg_buf_detach(cvg_buf_t *b)
{
    char *p = b->data;
    if (p == NULL)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
