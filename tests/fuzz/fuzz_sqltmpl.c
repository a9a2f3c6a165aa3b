/*
 * Fuzz target: SQL a tenant writes in a pipeline (sql and query fields),
 * with {variables} (common/sqltmpl.c, common/vars.c). The text is checked
 * as validation checks it (cvg_sql_check_each, cvg_sql_select_only),
 * rendered with a run's variables as the processors render it
 * (cvg_sql_render), and expanded as plain strings are (cvg_vars_expand).
 * Two promises are held to: a variable's value never reaches the SQL text
 * (values are bound, names quoted after a strict check), so a value carrying
 * SQL never shows up in the rendered statement; and a template the check
 * passes renders when every variable it names is "x" (sqltmpl.h: the check
 * reads the text as the render does, whatever the values).
 */
#include "common/sqltmpl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The value no rendered statement may contain. */
#define INJECTED "') OR 1=1; DROP TABLE t; --"

static cvg_vars_t run_vars;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cvg_vars_set(&run_vars, "tenant_id", "acme-corp", CVG_VAR_BUILTIN, false);
    cvg_vars_set_name(&run_vars, "tenant_id", "acme_corp");
    cvg_vars_set(&run_vars, "date", "2026-11-03", CVG_VAR_BUILTIN, false);
    cvg_vars_set(&run_vars, "n", "42", CVG_VAR_PARAM, true);
    cvg_vars_set(&run_vars, "big", "99999999999999999999", CVG_VAR_PARAM, true);
    cvg_vars_set(&run_vars, "tbl", "costs", CVG_VAR_PARAM, false);
    cvg_vars_set(&run_vars, "evil", INJECTED, CVG_VAR_PARAM, false);
    cvg_vars_set(&run_vars, "empty", "", CVG_VAR_PIPELINE, false);
    return 0;
}

/* Every name the check reports, given the value "x". */
static int collect(void *ud, const char *name, size_t offset, size_t length)
{
    (void)offset;
    (void)length;
    if (cvg_vars_set(ud, name, "x", CVG_VAR_PARAM, false) != 0)
        abort();
    return 0;
}

static void mistake(void *ud, const cvg_err_t *m)
{
    (void)m;
    ++*(size_t *)ud;
}

static int walked(void *ud, const char *name, size_t offset, size_t length)
{
    const char *text = ud;
    if (text[offset] != '{' || text[offset + length - 1] != '}' ||
        strncmp(text + offset + 1, name, length - 2) != 0)
        abort(); /* vars.h: offset and length cover the braces */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *tmpl = malloc(size + 1);
    if (tmpl == NULL)
        return 0;
    memcpy(tmpl, data, size);
    tmpl[size] = '\0';
    cvg_err_t err;
    cvg_err_clear(&err);

    size_t mistakes = 0;
    cvg_vars_t named = {0};
    int checked = cvg_sql_check_each(tmpl, collect, &named, mistake, &mistakes, &err);
    if (cvg_sql_check(tmpl, NULL, NULL, &err) != (checked == 0 && mistakes == 0 ? 0 : CVG_EINVAL) &&
        checked != CVG_ETOOBIG && checked != CVG_ENOMEM)
        abort(); /* the two checks must agree */
    cvg_sql_t q;
    if (checked == 0 && mistakes == 0) {
        if (cvg_sql_render(tmpl, &named, '"', &q, &err) != 0) {
            fprintf(stderr, "checked, yet does not render with every variable 'x': %s\n",
                    err.message);
            abort();
        }
        cvg_sql_cleanup(&q);
    }
    cvg_vars_cleanup(&named);

    if (cvg_sql_render(tmpl, &run_vars, '"', &q, &err) == 0) {
        if (q.nparams > CVG_SQL_MAX_PARAMS)
            abort();
        if (strstr(tmpl, INJECTED) == NULL && strstr(cvg_buf_cstr(&q.text), INJECTED) != NULL) {
            fprintf(stderr, "a variable's value reached the SQL text: %s\n", cvg_buf_cstr(&q.text));
            abort();
        }
        cvg_sql_cleanup(&q);
    }
    if (cvg_sql_render(tmpl, NULL, '`', &q, &err) == 0)
        cvg_sql_cleanup(&q);

    size_t len = 0;
    if (cvg_sql_select_only(tmpl, &len, &err) == 0 && len > size)
        abort();

    cvg_vars_walk(tmpl, walked, tmpl);
    cvg_buf_t b;
    cvg_buf_init(&b, 64 * 1024);
    cvg_vars_expand(&run_vars, tmpl, &b, &err);
    cvg_buf_reset(&b);
    cvg_vars_expand_name(&run_vars, tmpl, &b, &err);
    cvg_buf_cleanup(&b);
    free(tmpl);
    return 0;
}
