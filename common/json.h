/*
 * Parsing untrusted JSON: the nesting depth is checked on the raw bytes
 * before jansson builds anything, duplicate keys are refused, and errors
 * say where the input is wrong.
 */
#ifndef CVG_JSON_H
#define CVG_JSON_H

#include "common/err.h"

#include <jansson.h>
#include <stddef.h>

#define CVG_JSON_MAX_DEPTH 32

/* Parses len bytes into *out (a new reference). CVG_EINVAL for malformed
 * input, CVG_ETOOBIG when nested deeper than max_depth. */
int cvg_json_parse(const char *data, size_t len, int max_depth, json_t **out, cvg_err_t *err);

/* Nesting depth of the arrays and objects in data (strings skipped). */
int cvg_json_depth(const char *data, size_t len);

#endif
