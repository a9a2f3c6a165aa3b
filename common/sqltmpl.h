/*
 * Pipeline SQL with variables. `{name}` in a value position becomes a bound
 * parameter ($1, $2, ...); written as a whole string literal ('{date}') it
 * is bound too. In an identifier position (after FROM, JOIN, INTO, UPDATE
 * or TABLE, or next to a '.') its value must be a strict identifier and is
 * written quoted. No value can change the statement's structure.
 */
#ifndef CVG_SQLTMPL_H
#define CVG_SQLTMPL_H

#include "common/buf.h"
#include "common/vars.h"
#include "common/warehouse.h"

#define CVG_SQL_MAX_PARAMS 64
#define CVG_SQL_MAX_BYTES  (256 * 1024)

typedef struct cvg_sql {
    cvg_buf_t text;
    size_t nparams;
    cvg_val_t params[CVG_SQL_MAX_PARAMS]; /* text borrowed from the vars */
    const char *names[CVG_SQL_MAX_PARAMS];
} cvg_sql_t;

/* Renders tmpl with vars (NULL: none); quote is the driver's identifier
 * quote ('"'). Errors name the variable or the construct at fault. */
int cvg_sql_render(const char *tmpl, const cvg_vars_t *vars, char quote, cvg_sql_t *out,
                   cvg_err_t *err);

/* Checks tmpl as cvg_sql_render reads it, whatever the variables' values:
 * unterminated literals and comments, reserved placeholders, a variable
 * inside a longer quoted text, more distinct variables than a statement
 * binds. For validation before a run: each use of a variable the render
 * would look up (not those in comments) is told to fn, if given (offset
 * and length 0; its return is not looked at); whether a value fits, as a
 * name or in the size limit, is the render's to judge. */
int cvg_sql_check(const char *tmpl, cvg_var_ref_fn fn, void *ud, cvg_err_t *err);

/* The same, telling each mistake the reading survives (a placeholder, a
 * variable in part of a quoted text) to each, in order, instead of
 * returning the first (each NULL: as cvg_sql_check); one that ends the
 * reading (an unterminated literal or comment) is returned as by
 * cvg_sql_check. */
typedef void (*cvg_sql_mistake_fn)(void *ud, const cvg_err_t *mistake);
int cvg_sql_check_each(const char *tmpl, cvg_var_ref_fn fn, void *ud, cvg_sql_mistake_fn each,
                       void *each_ud, cvg_err_t *err);

/* Checks that tmpl is one statement that reads: it starts with SELECT or
 * WITH (after blanks, comments and opening parentheses), has no word that
 * writes (INSERT, UPDATE, DELETE, CREATE, DROP, ...) outside literals,
 * quoted names and comments, and no second statement. A ';' at the end
 * (blanks and comments after it) is allowed: *len (may be NULL) gets the
 * length of the statement before it. CVG_EINVAL with the reason ("it
 * starts with INSERT", "DELETE writes"), for the caller to say what it
 * wanted. */
int cvg_sql_select_only(const char *tmpl, size_t *len, cvg_err_t *err);

void cvg_sql_cleanup(cvg_sql_t *q);

#endif
