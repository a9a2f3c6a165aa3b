/*
 * Structured logging: one JSON object per line on stderr with time, level,
 * process, pid, message and the context fields known at the call site
 * (tenant_id, pipeline_id, run_id, step_id) plus any extra fields.
 * The process name and level are set once at start-up.
 */
#ifndef CVG_LOG_H
#define CVG_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum cvg_log_level {
    CVG_LOG_DEBUG = 0,
    CVG_LOG_INFO = 1,
    CVG_LOG_WARNING = 2,
    CVG_LOG_ERROR = 3
} cvg_log_level_t;

/* What a line is about; any member may be NULL. Borrowed for the call. */
typedef struct cvg_log_ctx {
    const char *tenant_id;
    const char *pipeline_id;
    const char *run_id;
    const char *step_id;
} cvg_log_ctx_t;

/* An extra field: a string (str != NULL) or a number. */
typedef struct cvg_log_field {
    const char *key;
    const char *str;
    long long num;
} cvg_log_field_t;

/* A NULL string is logged as "" (field_str skips empty values). */
static inline const char *cvg_log_str_or_empty(const char *s)
{
    return s ? s : "";
}
#define CVG_LF_STR(k, v) ((cvg_log_field_t){.key = (k), .str = cvg_log_str_or_empty(v), .num = 0})
#define CVG_LF_NUM(k, v) ((cvg_log_field_t){.key = (k), .str = NULL, .num = (long long)(v)})

/* Sets the process name written on every line and the lowest level shown. */
void cvg_log_init(const char *process, cvg_log_level_t level);

/* Parses DEBUG, INFO, WARNING (or WARN), ERROR (or CRITICAL), any case. */
int cvg_log_level_parse(const char *s, cvg_log_level_t *out);

/* Lower-case name of a level. */
const char *cvg_log_level_name(cvg_log_level_t level);

/* True when lines of this level are written. */
bool cvg_log_enabled(cvg_log_level_t level);

/* Writes one line. ctx and fields may be NULL/0. */
void cvg_log_write(cvg_log_level_t level, const cvg_log_ctx_t *ctx, const cvg_log_field_t *fields,
                   size_t nfields, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define cvg_debug(ctx, ...) cvg_log_write(CVG_LOG_DEBUG, (ctx), NULL, 0, __VA_ARGS__)
#define cvg_info(ctx, ...)  cvg_log_write(CVG_LOG_INFO, (ctx), NULL, 0, __VA_ARGS__)
#define cvg_warn(ctx, ...)  cvg_log_write(CVG_LOG_WARNING, (ctx), NULL, 0, __VA_ARGS__)
#define cvg_error(ctx, ...) cvg_log_write(CVG_LOG_ERROR, (ctx), NULL, 0, __VA_ARGS__)

#endif
