/*
 * Bounded growable byte buffer. Every buffer has a maximum size fixed at
 * init; appends past it fail with CVG_ETOOBIG instead of growing, so no input
 * can make a buffer run away. The content is always NUL-terminated.
 */
#ifndef CVG_BUF_H
#define CVG_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct cvg_buf {
    char *data;    /* owned; NULL until the first append */
    size_t len;    /* bytes used, not counting the terminating NUL */
    size_t cap;    /* bytes allocated */
    size_t max;    /* largest len allowed */
    bool overflow; /* an append was refused; later ones are refused too */
} cvg_buf_t;

/* Prepares an empty buffer that may hold up to max bytes. */
void cvg_buf_init(cvg_buf_t *b, size_t max);

/* Frees the content; the buffer may be reused after cvg_buf_init. */
void cvg_buf_cleanup(cvg_buf_t *b);

/* Empties the buffer, keeping its allocation. */
void cvg_buf_reset(cvg_buf_t *b);

/* Appends n bytes. 0, CVG_ETOOBIG past max, CVG_ENOMEM. After a refused
 * append every later one is refused too, so the content never has a hole;
 * cvg_buf_reset clears that. */
int cvg_buf_append(cvg_buf_t *b, const void *p, size_t n);

/* Appends a C string. */
int cvg_buf_puts(cvg_buf_t *b, const char *s);

/* Appends printf-style formatted text. */
int cvg_buf_printf(cvg_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cvg_buf_vprintf(cvg_buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Appends s (n bytes) as a quoted, escaped JSON string. */
int cvg_buf_append_json_str(cvg_buf_t *b, const char *s, size_t n);

/* The content as a C string; "" when empty. Borrowed. */
const char *cvg_buf_cstr(const cvg_buf_t *b);

/* Hands the content to the caller (free() it) and empties the buffer.
 * Returns NULL only when allocation fails. */
char *cvg_buf_detach(cvg_buf_t *b);

#endif
