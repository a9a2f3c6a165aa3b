/*
 * Safe YAML loader (see yaml.h), driven by libyaml's event parser: a stack
 * of open containers, each event adds a node to the top one.
 */
#include "common/yaml.h"
#include "common/utf8.h"
#include "common/fs.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct frame {
    json_t *node; /* object or array being filled (borrowed from parent) */
    char *key;    /* pending key of an object, owned, or NULL */
} frame_t;

typedef struct loader {
    const char *name;
    frame_t stack[CVG_YAML_MAX_DEPTH + 1];
    int depth;
    size_t nodes;
    json_t *root;
    cvg_err_t *err;
} loader_t;

static int fail(loader_t *l, const yaml_event_t *ev, int code, const char *what)
{
    return cvg_err_set(l->err, code, "", "%s:%zu: %s", l->name, ev ? ev->start_mark.line + 1 : 0,
                       what);
}

static bool match_all(const char *s, bool (*ok)(char))
{
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (!ok(*s))
            return false;
    }
    return true;
}

static bool is_dec(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_oct(char c)
{
    return c >= '0' && c <= '7';
}

static bool is_hex(char c)
{
    return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    bool digits = false;
    while (is_dec(*s)) {
        s++;
        digits = true;
    }
    if (*s == '.') {
        s++;
        while (is_dec(*s)) {
            s++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!is_dec(*s))
            return false;
        while (is_dec(*s))
            s++;
    }
    return *s == '\0';
}

/* Resolves a plain scalar per the YAML 1.2 core schema. */
static json_t *plain_scalar(const char *s, loader_t *l, const yaml_event_t *ev)
{
    static const char *nulls[] = {"", "~", "null", "Null", "NULL"};
    static const char *trues[] = {"true", "True", "TRUE"};
    static const char *falses[] = {"false", "False", "FALSE"};
    for (size_t i = 0; i < 5; i++) {
        if (strcmp(s, nulls[i]) == 0)
            return json_null();
    }
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(s, trues[i]) == 0)
            return json_true();
        if (strcmp(s, falses[i]) == 0)
            return json_false();
    }
    const char *digits = (*s == '-' || *s == '+') ? s + 1 : s;
    int base = 0;
    if (match_all(digits, is_dec))
        base = 10;
    else if (strncmp(s, "0o", 2) == 0 && match_all(s + 2, is_oct))
        base = 8;
    else if (strncmp(s, "0x", 2) == 0 && match_all(s + 2, is_hex))
        base = 16;
    if (base != 0) {
        errno = 0;
        long long v = strtoll(base == 10 ? s : s + 2, NULL, base);
        if (errno == ERANGE) {
            fail(l, ev, CVG_EINVAL, "integer out of range");
            return NULL;
        }
        return json_integer(v);
    }
    if (is_float(s)) {
        double d = strtod(s, NULL);
        if (!isfinite(d)) {
            fail(l, ev, CVG_EINVAL, "number out of range");
            return NULL;
        }
        return json_real(d);
    }
    return json_string(s);
}

/* Adds a finished node to the container on top of the stack (or as root).
 * Steals the reference to node. */
static int add_node(loader_t *l, json_t *node, const yaml_event_t *ev)
{
    if (node == NULL)
        return l->err && l->err->code ? l->err->code : fail(l, ev, CVG_ENOMEM, "out of memory");
    if (++l->nodes > CVG_YAML_MAX_NODES) {
        json_decref(node);
        return fail(l, ev, CVG_ETOOBIG, "more than 200000 nodes");
    }
    if (l->depth == 0) {
        l->root = node;
        return 0;
    }
    frame_t *top = &l->stack[l->depth - 1];
    if (json_is_array(top->node)) {
        json_array_append_new(top->node, node);
        return 0;
    }
    if (top->key == NULL) {
        /* This node is a key: only scalars that are strings may be keys. */
        if (!json_is_string(node)) {
            json_decref(node);
            return fail(l, ev, CVG_EINVAL, "mapping keys must be plain strings");
        }
        top->key = strdup(json_string_value(node));
        json_decref(node);
        if (top->key == NULL)
            return fail(l, ev, CVG_ENOMEM, "out of memory");
        if (json_object_get(top->node, top->key) != NULL) {
            char msg[320];
            snprintf(msg, sizeof(msg), "duplicate key '%.256s'", top->key);
            return fail(l, ev, CVG_EINVAL, msg);
        }
        return 0;
    }
    json_object_set_new(top->node, top->key, node);
    free(top->key);
    top->key = NULL;
    return 0;
}

static int on_scalar(loader_t *l, yaml_event_t *ev)
{
    const char *value = (const char *)ev->data.scalar.value;
    if (memchr(value, '\0', ev->data.scalar.length) != NULL)
        return fail(l, ev, CVG_EINVAL, "NUL character in a scalar");
    bool is_key = l->depth > 0 && json_is_object(l->stack[l->depth - 1].node) &&
                  l->stack[l->depth - 1].key == NULL;
    json_t *node;
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !is_key)
        node = plain_scalar(value, l, ev);
    else
        node = json_string(value);
    return add_node(l, node, ev);
}

static int open_container(loader_t *l, yaml_event_t *ev, json_t *node)
{
    if (node == NULL)
        return fail(l, ev, CVG_ENOMEM, "out of memory");
    if (l->depth >= CVG_YAML_MAX_DEPTH) {
        json_decref(node);
        return fail(l, ev, CVG_ETOOBIG, "nesting deeper than 64 levels");
    }
    /* Keep a borrowed pointer on the stack; the parent owns the node. */
    json_incref(node);
    int rc = add_node(l, node, ev);
    if (rc != 0) {
        json_decref(node);
        return rc;
    }
    l->stack[l->depth].node = node;
    l->stack[l->depth].key = NULL;
    l->depth++;
    json_decref(node);
    return 0;
}

static int on_event(loader_t *l, yaml_event_t *ev, bool *done, int *docs)
{
    switch (ev->type) {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
        return 0;
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1)
            return fail(l, ev, CVG_EINVAL, "more than one YAML document");
        return 0;
    case YAML_STREAM_END_EVENT:
        *done = true;
        return 0;
    case YAML_ALIAS_EVENT:
        return fail(l, ev, CVG_EINVAL, "aliases (*name) are not allowed");
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor)
            return fail(l, ev, CVG_EINVAL, "anchors (&name) are not allowed");
        if (ev->data.scalar.tag && !ev->data.scalar.plain_implicit &&
            !ev->data.scalar.quoted_implicit)
            return fail(l, ev, CVG_EINVAL, "explicit tags are not allowed");
        return on_scalar(l, ev);
    case YAML_SEQUENCE_START_EVENT:
        if (ev->data.sequence_start.anchor)
            return fail(l, ev, CVG_EINVAL, "anchors (&name) are not allowed");
        if (ev->data.sequence_start.tag && !ev->data.sequence_start.implicit)
            return fail(l, ev, CVG_EINVAL, "explicit tags are not allowed");
        return open_container(l, ev, json_array());
    case YAML_MAPPING_START_EVENT:
        if (ev->data.mapping_start.anchor)
            return fail(l, ev, CVG_EINVAL, "anchors (&name) are not allowed");
        if (ev->data.mapping_start.tag && !ev->data.mapping_start.implicit)
            return fail(l, ev, CVG_EINVAL, "explicit tags are not allowed");
        return open_container(l, ev, json_object());
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (l->depth == 0)
            return fail(l, ev, CVG_EINVAL, "unbalanced document");
        l->depth--;
        free(l->stack[l->depth].key);
        l->stack[l->depth].key = NULL;
        return 0;
    default:
        return fail(l, ev, CVG_EINVAL, "unexpected YAML event");
    }
}

/* Line and column (from 0) of a byte offset: libyaml gives only the
 * offset for an encoding error (a byte that is not UTF-8, a control
 * character), with its mark left at the start. */
/* The length of the line break at s (of n bytes) as libyaml counts them:
 * CR LF, CR, LF, NEL, LS or PS; 0 when there is none. */
static size_t line_break(const char *s, size_t n)
{
    if (s[0] == '\r')
        return n > 1 && s[1] == '\n' ? 2 : 1;
    if (s[0] == '\n')
        return 1;
    uint32_t cp = 0;
    size_t k = cvg_utf8_next((const unsigned char *)s, n, &cp);
    return k > 1 && (cp == 0x85 || cp == 0x2028 || cp == 0x2029) ? k : 0;
}

/* Line and column (0-based, the column in characters) of byte offset, with
 * lines counted as libyaml counts them. */
static void position_of(const char *data, size_t len, size_t offset, size_t *line, size_t *col)
{
    *line = 0;
    *col = 0;
    for (size_t i = 0; i < offset && i < len;) {
        size_t br = line_break(data + i, len - i);
        if (br > 0) {
            (*line)++;
            *col = 0;
            i += br;
            continue;
        }
        uint32_t cp;
        size_t n = cvg_utf8_next((const unsigned char *)data + i, len - i, &cp);
        i += n ? n : 1;
        (*col)++;
    }
}

/* True when the character at 0-based line and column (in characters, as
 * libyaml marks a problem) is a tab. */
static bool tab_at(const char *data, size_t len, size_t line, size_t col)
{
    size_t i = 0;
    for (size_t l = 0; l < line && i < len;) {
        size_t br = line_break(data + i, len - i);
        l += br > 0;
        i += br > 0 ? br : 1;
    }
    for (size_t c = 0; c < col && i < len && line_break(data + i, len - i) == 0; c++) {
        uint32_t cp;
        size_t n = cvg_utf8_next((const unsigned char *)data + i, len - i, &cp);
        i += n ? n : 1;
    }
    return i < len && data[i] == '\t';
}

int cvg_yaml_load_string(const char *data, size_t len, const char *name, json_t **out,
                         cvg_err_t *err)
{
    *out = NULL;
    if (len > CVG_YAML_MAX_BYTES)
        return cvg_err_set(err, CVG_ETOOBIG, "", "%s: %zu bytes, over the %d byte limit", name, len,
                           CVG_YAML_MAX_BYTES);
    loader_t l = {.name = name, .err = err};
    cvg_err_clear(err);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return cvg_err_set(err, CVG_ENOMEM, "", "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    int rc = 0, docs = 0;
    bool done = false;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            size_t line = parser.problem_mark.line, col = parser.problem_mark.column;
            if (parser.error == YAML_READER_ERROR)
                position_of(data, len, parser.problem_offset, &line, &col);
            const char *problem = parser.problem ? parser.problem : "invalid YAML";
            bool tab = strstr(problem, "tab") == NULL && tab_at(data, len, line, col);
            rc = cvg_err_set(err, CVG_EINVAL, "", "%s:%zu:%zu: %s%s", name, line + 1, col + 1,
                             problem, tab ? " (a tab: YAML indents with spaces only)" : "");
            break;
        }
        rc = on_event(&l, &ev, &done, &docs);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    for (int i = 0; i < l.depth; i++)
        free(l.stack[i].key);
    if (rc != 0) {
        json_decref(l.root);
        return rc;
    }
    if (l.root == NULL)
        return cvg_err_set(err, CVG_EINVAL, "", "%s: empty document", name);
    *out = l.root;
    return 0;
}

int cvg_yaml_load_file(const char *path, json_t **out, cvg_err_t *err)
{
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = cvg_fs_read_file(path, CVG_YAML_MAX_BYTES, &data, &len, err);
    if (rc != 0)
        return rc;
    rc = cvg_yaml_load_string(data, len, path, out, err);
    free(data);
    return rc;
}
