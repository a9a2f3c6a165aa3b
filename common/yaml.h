/*
 * Safe YAML loader: one YAML document into a jansson tree. Anchors, aliases
 * and explicit tags are refused (an alias bomb cannot expand), nesting depth
 * and node count are counted here because libyaml 0.2.5 has no limit, and
 * files over a size cap are refused before parsing. Plain scalars follow the
 * YAML 1.2 core schema (null, true/false, integers, floats); quoted and
 * block scalars are always strings. Duplicate keys are errors.
 */
#ifndef CVG_YAML_H
#define CVG_YAML_H

#include "common/err.h"

#include <jansson.h>
#include <stddef.h>

#define CVG_YAML_MAX_BYTES (1024 * 1024) /* largest config file */
#define CVG_YAML_MAX_DEPTH 64            /* deepest nesting of maps and lists */
#define CVG_YAML_MAX_NODES 200000        /* scalars, maps and lists in one file */

/* Parses a file into *out (a new reference). Errors name the file and line. */
int cvg_yaml_load_file(const char *path, json_t **out, cvg_err_t *err);

/* Parses len bytes; name is used in error messages. */
int cvg_yaml_load_string(const char *data, size_t len, const char *name, json_t **out,
                         cvg_err_t *err);

#endif
