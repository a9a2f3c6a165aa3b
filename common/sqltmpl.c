/*
 * Pipeline SQL with variables (see sqltmpl.h). One pass over the text that
 * knows string literals, quoted identifiers and comments.
 */
#include "common/sqltmpl.h"
#include "common/str.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define IDENT_MAX 128

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* Length of a `{name}` placeholder at p, or 0. */
static size_t placeholder(const char *p, char name[CVG_VAR_NAME_MAX + 1])
{
    if (p[0] != '{' || !name_start(p[1]))
        return 0;
    size_t j = 1;
    while (j <= CVG_VAR_NAME_MAX && name_char(p[j]))
        j++;
    if (p[j] != '}')
        return 0;
    memcpy(name, p + 1, j - 1);
    name[j - 1] = '\0';
    return j + 1;
}

/* Where names are looked up: the run's variables (none when NULL), or,
 * when only the structure is checked, any name: told to fn and given the
 * value "x", which passes as a value and as a name. */
typedef struct scope {
    const cvg_vars_t *vars;
    bool check;
    cvg_vars_t seen; /* check: the names met, so they count as in a render */
    cvg_var_ref_fn fn;
    void *ud;
    cvg_sql_mistake_fn each; /* check: every mistake the reading survives */
    void *each_ud;
} scope_t;

static const cvg_var_t *lookup(scope_t *sc, const char *name, cvg_err_t *err)
{
    if (sc->check) {
        if (sc->fn)
            sc->fn(sc->ud, name, 0, 0);
        if (cvg_vars_find(&sc->seen, name) == NULL &&
            cvg_vars_set(&sc->seen, name, "x", CVG_VAR_PARAM, false) != 0) {
            cvg_err_set(err, CVG_ENOMEM, name, "out of memory");
            return NULL;
        }
        return cvg_vars_find(&sc->seen, name);
    }
    const cvg_var_t *v = sc->vars ? cvg_vars_find(sc->vars, name) : NULL;
    if (v == NULL)
        cvg_err_set(err, CVG_EINVAL, name, "unknown variable {%s}", name);
    return v;
}

/* Appends $k for variable name, binding it once. */
static int bind(cvg_sql_t *q, const cvg_var_t *v, cvg_err_t *err)
{
    size_t k = 0;
    while (k < q->nparams && strcmp(q->names[k], v->name) != 0)
        k++;
    if (k == q->nparams) {
        if (q->nparams == CVG_SQL_MAX_PARAMS)
            return cvg_err_set(err, CVG_ETOOBIG, v->name, "more than %d variables in one statement",
                               CVG_SQL_MAX_PARAMS);
        int64_t iv = 0;
        if (v->is_int && cvg_parse_int64(v->value, INT64_MIN, INT64_MAX, &iv) == 0)
            q->params[k] = CVG_V_INT(iv);
        else
            q->params[k] = cvg_v_text(v->value);
        q->names[k] = v->name;
        q->nparams++;
    }
    return cvg_buf_printf(&q->text, "$%zu", k + 1);
}

static int ident(cvg_sql_t *q, const cvg_var_t *v, char quote, cvg_err_t *err)
{
    const char *name = cvg_var_name_value(v);
    if (!cvg_ident_valid(name, IDENT_MAX))
        return cvg_err_set(err, CVG_EINVAL, v->name,
                           "{%s} is used as a name in the SQL, and '%.80s' is not an identifier "
                           "(letters, digits and _)",
                           v->name, name);
    return cvg_buf_printf(&q->text, "%c%s%c", quote, name, quote);
}

/* The last word written before position `at` of the output, upper-cased. */
static void last_word(const cvg_buf_t *b, char *out, size_t size)
{
    const char *s = cvg_buf_cstr(b);
    size_t end = b->len;
    while (end > 0 && isspace((unsigned char)s[end - 1]))
        end--;
    size_t start = end;
    while (start > 0 && name_char(s[start - 1]))
        start--;
    size_t n = end - start < size - 1 ? end - start : size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)toupper((unsigned char)s[start + i]);
    out[n] = '\0';
}

static bool identifier_position(const cvg_buf_t *b, const char *after)
{
    const char *s = cvg_buf_cstr(b);
    if (b->len > 0 && s[b->len - 1] == '.')
        return true;
    if (after[0] == '.')
        return true;
    char w[16];
    last_word(b, w, sizeof(w));
    static const char *const kw[] = {"FROM", "JOIN", "INTO", "UPDATE", "TABLE", NULL};
    for (size_t i = 0; kw[i]; i++) {
        if (strcmp(w, kw[i]) == 0)
            return true;
    }
    return false;
}

/* Copies a quoted run ('...' or "...", doubled quote escapes) starting at
 * p; returns its length or 0 when it does not end. */
static size_t quoted_len(const char *p)
{
    char qc = p[0];
    size_t i = 1;
    for (;;) {
        if (p[i] == '\0')
            return 0;
        if (p[i] == qc) {
            if (p[i + 1] == qc) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
}

/* Renders one quoted run at p (n bytes, quotes included). */
static int quoted(cvg_sql_t *q, const char *p, size_t n, scope_t *sc, char quote, cvg_err_t *err)
{
    char name[CVG_VAR_NAME_MAX + 1];
    size_t ph = placeholder(p + 1, name);
    if (ph > 0 && ph + 2 == n) {
        const cvg_var_t *v = lookup(sc, name, err);
        if (v == NULL)
            return CVG_EINVAL;
        return p[0] == '\'' ? bind(q, v, err) : ident(q, v, quote, err);
    }
    for (size_t i = 1; i + 1 < n; i++) {
        if (placeholder(p + i, name) > 0)
            return cvg_err_set(err, CVG_EINVAL, name,
                               "{%s} inside quotes must be all of the quoted text ('{%s}'), "
                               "not part of it",
                               name, name);
    }
    return cvg_buf_append(&q->text, p, n);
}

/* Whether the placeholder at p (n bytes) of tmpl touches a name or another
 * placeholder: a variable is never part of a word. */
static bool joined(const char *tmpl, const char *p, size_t n)
{
    char before = p > tmpl ? p[-1] : ' ';
    return name_char(before) || before == '}' || name_char(p[n]) || p[n] == '{';
}

/* The word the placeholder at p was joined into, for the message. */
static const char *joined_start(const char *tmpl, const char *p)
{
    while (p > tmpl && (name_char(p[-1]) || p[-1] == '{' || p[-1] == '}'))
        p--;
    return p;
}

static size_t joined_len(const char *tmpl, const char *p, size_t n)
{
    const char *end = p + n;
    while (name_char(*end) || *end == '{' || *end == '}')
        end++;
    size_t len = (size_t)(end - joined_start(tmpl, p));
    return len < 60 ? len : 60;
}

/* Checking only, a mistake that leaves the text readable (a placeholder, a
 * variable in part of a quoted text) is kept, the first one in *first, and
 * the reading goes on, so every variable the SQL uses is still told. */
static int keep_going(scope_t *sc, int rc, const cvg_err_t *err, cvg_err_t *first)
{
    if (!sc->check || rc != CVG_EINVAL)
        return rc;
    if (sc->each)
        sc->each(sc->each_ud, err); /* every one, in order */
    else if (first->code == 0)
        *first = *err;
    return 0;
}

static int render(const char *tmpl, scope_t *sc, char quote, cvg_sql_t *out, cvg_err_t *err)
{
    memset(out, 0, sizeof(*out));
    cvg_buf_init(&out->text, CVG_SQL_MAX_BYTES);
    int rc = 0;
    cvg_err_t first, one;
    cvg_err_clear(&first);
    cvg_err_clear(&one);
    if (err == NULL)
        err = &one;
    const char *p = tmpl;
    while (*p && rc == 0) {
        char name[CVG_VAR_NAME_MAX + 1];
        size_t n = 0;
        if (p[0] == '-' && p[1] == '-') {
            n = strcspn(p, "\n");
            rc = cvg_buf_append(&out->text, p, n);
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            if (end == NULL) {
                rc = cvg_err_set(err, CVG_EINVAL, "sql", "unterminated /* comment");
                break;
            }
            n = (size_t)(end + 2 - p);
            rc = cvg_buf_append(&out->text, p, n);
        } else if (p[0] == '\'' || p[0] == '"') {
            n = quoted_len(p);
            if (n == 0) {
                rc = cvg_err_set(err, CVG_EINVAL, "sql", "unterminated %s",
                                 p[0] == '\'' ? "string literal" : "quoted name");
                break;
            }
            rc = keep_going(sc, quoted(out, p, n, sc, quote, err), err, &first);
        } else if ((p[0] == '$' && isdigit((unsigned char)p[1])) || p[0] == '?') {
            rc = cvg_err_set(err, CVG_EINVAL, "sql",
                             "write variables as {name}; %c placeholders are reserved", p[0]);
            rc = keep_going(sc, rc, err, &first);
            n = 1;
        } else if ((n = placeholder(p, name)) > 0) {
            const cvg_var_t *v = lookup(sc, name, err);
            if (v == NULL) {
                rc = CVG_EINVAL;
                break;
            }
            if (joined(tmpl, p, n)) {
                /* {t}_v2 would quote "t" and leave _v2 as an alias; x{d}
                 * would make a name of x$1 */
                rc = cvg_err_set(err, CVG_EINVAL, name,
                                 "{%s} is joined to the text around it ('%.*s'): a variable "
                                 "stands for a whole value or a whole name, never part of one",
                                 name, (int)joined_len(tmpl, p, n), joined_start(tmpl, p));
                rc = keep_going(sc, rc, err, &first);
            } else {
                rc = identifier_position(&out->text, p + n) ? ident(out, v, quote, err)
                                                            : bind(out, v, err);
            }
        } else {
            n = 1;
            rc = cvg_buf_append(&out->text, p, 1);
        }
        p += n;
    }
    if (first.code != 0) {
        /* the first mistake is the SQL's error, whatever came after it */
        *err = first;
        rc = first.code;
    }
    if (rc == CVG_ETOOBIG && err->code == 0)
        cvg_err_set(err, CVG_ETOOBIG, "sql", "the SQL is longer than %d bytes", CVG_SQL_MAX_BYTES);
    if (rc != 0)
        cvg_sql_cleanup(out);
    return rc;
}

int cvg_sql_render(const char *tmpl, const cvg_vars_t *vars, char quote, cvg_sql_t *out,
                   cvg_err_t *err)
{
    scope_t sc = {.vars = vars};
    return render(tmpl, &sc, quote, out, err);
}

int cvg_sql_check(const char *tmpl, cvg_var_ref_fn fn, void *ud, cvg_err_t *err)
{
    return cvg_sql_check_each(tmpl, fn, ud, NULL, NULL, err);
}

/* Length of the blanks and comments at p (an unterminated comment runs to
 * the end). */
static size_t blank_len(const char *p)
{
    const char *s = p;
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (s[0] == '-' && s[1] == '-') {
            s += strcspn(s, "\n");
        } else if (s[0] == '/' && s[1] == '*') {
            const char *end = strstr(s + 2, "*/");
            s = end ? end + 2 : s + strlen(s);
        } else {
            return (size_t)(s - p);
        }
    }
}

/* Words that begin a statement that changes something; not names a query
 * reads (a column after '.' is a name whatever it is called). */
static bool writes(const char *word, size_t n)
{
    static const char *const words[] = {"INSERT", "UPDATE", "DELETE", "CREATE", "DROP",    "ALTER",
                                        "ATTACH", "DETACH", "PRAGMA", "VACUUM", "REINDEX", NULL};
    for (size_t i = 0; words[i]; i++) {
        if (strlen(words[i]) == n && strncasecmp(word, words[i], n) == 0)
            return true;
    }
    return false;
}

static bool reads_first(const char *word, size_t n)
{
    return (n == 6 && strncasecmp(word, "SELECT", 6) == 0) ||
           (n == 4 && strncasecmp(word, "WITH", 4) == 0) ||
           (n == 6 && strncasecmp(word, "VALUES", 6) == 0);
}

/* Length of a quoted name or literal at p: '...', "...", `...` (each
 * doubling its quote to escape it) or [...]; 0 when it is not closed. */
static size_t any_quoted_len(const char *p)
{
    if (p[0] != '[')
        return quoted_len(p);
    const char *end = strchr(p, ']');
    return end ? (size_t)(end - p) + 1 : 0;
}

int cvg_sql_select_only(const char *tmpl, size_t *len, cvg_err_t *err)
{
    const char *p = tmpl;
    const char *end = tmpl; /* after the statement's last token */
    bool first = true, after_dot = false, after_as = false;
    while (*p) {
        char name[CVG_VAR_NAME_MAX + 1];
        size_t n = blank_len(p);
        if (n > 0) {
            p += n;
            continue;
        }
        bool dot = false, as = false;
        if (first && (p[0] == '\'' || p[0] == '"' || p[0] == '`' || p[0] == '[' || p[0] == '{'))
            return cvg_err_set(err, CVG_EINVAL, "sql", "it starts with '%c'", p[0]);
        if (p[0] == '\'' || p[0] == '"' || p[0] == '`' || p[0] == '[') {
            n = any_quoted_len(p);
            p += n ? n : strlen(p);
        } else if ((n = placeholder(p, name)) > 0) {
            p += n;
        } else if (p[0] == ';') {
            if (p[1 + blank_len(p + 1)] != '\0')
                return cvg_err_set(err, CVG_EINVAL, "sql",
                                   "there is another statement after the ';'");
            break;
        } else if (name_start(p[0])) {
            n = 1;
            while (name_char(p[n]))
                n++;
            if (first && !reads_first(p, n))
                return cvg_err_set(err, CVG_EINVAL, "sql", "it starts with %.*s",
                                   (int)(n < 20 ? n : 20), p);
            /* a name after '.' or an alias after AS is a name, whatever
             * word it is */
            if (!after_dot && !after_as && writes(p, n))
                return cvg_err_set(err, CVG_EINVAL, "sql", "%.*s writes", (int)n, p);
            as = n == 2 && strncasecmp(p, "AS", 2) == 0;
            p += n;
        } else {
            if (first && p[0] != '(')
                return cvg_err_set(err, CVG_EINVAL, "sql", "it starts with '%c'", p[0]);
            dot = p[0] == '.';
            p++;
        }
        first = first && p[-1] == '(';
        after_dot = dot;
        after_as = as;
        end = p;
    }
    if (first)
        return cvg_err_set(err, CVG_EINVAL, "sql", "it has no statement");
    if (len)
        *len = (size_t)(end - tmpl);
    return 0;
}

int cvg_sql_check_each(const char *tmpl, cvg_var_ref_fn fn, void *ud, cvg_sql_mistake_fn each,
                       void *each_ud, cvg_err_t *err)
{
    scope_t sc = {.check = true, .fn = fn, .ud = ud, .each = each, .each_ud = each_ud};
    cvg_sql_t q;
    int rc = render(tmpl, &sc, '"', &q, err);
    if (rc == 0)
        cvg_sql_cleanup(&q);
    cvg_vars_cleanup(&sc.seen);
    return rc;
}

void cvg_sql_cleanup(cvg_sql_t *q)
{
    cvg_buf_cleanup(&q->text);
    q->nparams = 0;
}
