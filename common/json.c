/*
 * Parsing untrusted JSON (see json.h).
 */
#include "common/json.h"

#include <string.h>

#include <stdbool.h>

int cvg_json_depth(const char *data, size_t len)
{
    int depth = 0, max = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return max;
}

int cvg_json_parse(const char *data, size_t len, int max_depth, json_t **out, cvg_err_t *err)
{
    *out = NULL;
    /* JSON text has no NUL byte; the parser would stop at one after a
     * number and take the rest as ended */
    const char *nul = memchr(data, '\0', len);
    if (nul != NULL)
        return cvg_err_set(err, CVG_EINVAL, "", "malformed JSON: a NUL byte at offset %zu",
                           (size_t)(nul - data));
    if (cvg_json_depth(data, len) > max_depth)
        return cvg_err_set(err, CVG_ETOOBIG, "", "JSON nested deeper than %d levels", max_depth);
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return cvg_err_set(err, CVG_EINVAL, "", "malformed JSON at line %d column %d: %s",
                           jerr.line, jerr.column,
                           /* jansson names its own flag there */
                           strstr(jerr.text, "JSON_ALLOW_NUL")
                               ? "\\u0000 (a NUL character) is not allowed in a string"
                               : jerr.text);
    *out = doc;
    return 0;
}
