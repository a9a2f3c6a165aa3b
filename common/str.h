/*
 * Small string helpers: bounded copies, identifier checks, number parsing.
 */
#ifndef CVG_STR_H
#define CVG_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies src into dst (size bytes, always NUL-terminated).
 * 0, or CVG_ETOOBIG when src did not fit (dst then holds a prefix). */
int cvg_str_copy(char *dst, size_t size, const char *src);

/* True when s is a SQL-safe identifier: [A-Za-z_][A-Za-z0-9_]*, 1..max chars. */
bool cvg_ident_valid(const char *s, size_t max);

/* Parses a whole decimal integer in [min, max]. 0 or CVG_EINVAL. */
int cvg_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parses a boolean: true/false, 1/0, yes/no, on/off (any case). */
int cvg_parse_bool(const char *s, bool *out);

/* True when s starts with prefix. */
bool cvg_str_starts(const char *s, const char *prefix);

/* True when s ends with suffix. */
bool cvg_str_ends(const char *s, const char *suffix);

/* Writes the field path base.key into out (size bytes; key alone when base
 * is ""). A key longer than CVG_PATH_KEY_MAX bytes is cut there, and one
 * longer than the room left in out where its "..." still fits, at a
 * character boundary and marked "...", so a message never shows a cut
 * name as if it were whole. */
#define CVG_PATH_KEY_MAX 64
void cvg_path_join(char *out, size_t size, const char *base, const char *key);

/* The value of a hex digit (either case), or -1. */
int cvg_hex_digit(char c);

/* Writes x in the fewest significant digits that read back as x (0.1 as
 * "0.1", not "0.10000000000000001"), as %g writes numbers. */
#define CVG_DOUBLE_TEXT_MAX 32
void cvg_format_double(double x, char out[CVG_DOUBLE_TEXT_MAX]);

#endif
