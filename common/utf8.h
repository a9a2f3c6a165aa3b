/*
 * UTF-8, well-formed only: shortest forms, no surrogates, nothing past
 * U+10FFFF.
 */
#ifndef CVG_UTF8_H
#define CVG_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the sequence at s (at most n bytes) into *cp; returns its length
 * (1 to 4), or 0 when it is not well-formed or cut short. */
size_t cvg_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* True when the n bytes at s are well-formed UTF-8. */
bool cvg_utf8_valid(const char *s, size_t n);

/* True for the code points that have no place in a name or a one-line
 * value: C0 and C1 controls, DEL, line and paragraph separators, and the
 * marks and overrides that change how text around them is shown (bidi,
 * zero-width no-break space). */
bool cvg_utf8_control(uint32_t cp);

/* True when s is well-formed UTF-8 without any such code point. */
bool cvg_utf8_plain(const char *s);

/* The characters (code points) of s, well-formed UTF-8. */
size_t cvg_utf8_chars(const char *s);

/* Replaces, in place, every byte of s that is not part of a well-formed
 * sequence by '?', so text built from what a client sent (or cut mid
 * character by a bounded print) can go into JSON. */
void cvg_utf8_clean(char *s);

#endif
