/*
 * Structured JSON-lines logging (see log.h). Each line is built in one
 * bounded buffer and written with a single write(2) so lines from threads
 * and processes sharing stderr do not interleave.
 */
#include "common/log.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LOG_LINE_MAX 16384
#define LOG_MSG_MAX  4096

/* Set once by cvg_log_init before threads start; read-only afterwards. */
static char log_process[32] = "cvg";
static cvg_log_level_t log_min = CVG_LOG_INFO;

void cvg_log_init(const char *process, cvg_log_level_t level)
{
    snprintf(log_process, sizeof(log_process), "%s", process);
    log_min = level;
}

int cvg_log_level_parse(const char *s, cvg_log_level_t *out)
{
    static const struct {
        const char *name;
        cvg_log_level_t level;
    } names[] = {{"DEBUG", CVG_LOG_DEBUG},  {"INFO", CVG_LOG_INFO},   {"WARNING", CVG_LOG_WARNING},
                 {"WARN", CVG_LOG_WARNING}, {"ERROR", CVG_LOG_ERROR}, {"CRITICAL", CVG_LOG_ERROR}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return CVG_EINVAL;
}

const char *cvg_log_level_name(cvg_log_level_t level)
{
    switch (level) {
    case CVG_LOG_DEBUG:
        return "debug";
    case CVG_LOG_INFO:
        return "info";
    case CVG_LOG_WARNING:
        return "warning";
    default:
        return "error";
    }
}

bool cvg_log_enabled(cvg_log_level_t level)
{
    return level >= log_min;
}

static void field_str(cvg_buf_t *b, const char *key, const char *val)
{
    if (val == NULL || val[0] == '\0')
        return;
    cvg_buf_puts(b, ",");
    cvg_buf_append_json_str(b, key, strlen(key));
    cvg_buf_puts(b, ":");
    cvg_buf_append_json_str(b, val, strlen(val));
}

void cvg_log_write(cvg_log_level_t level, const cvg_log_ctx_t *ctx, const cvg_log_field_t *fields,
                   size_t nfields, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[LOG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char ts[CVG_TIME_ISO_LEN];
    cvg_time_format_iso(cvg_time_now_ms(), ts);

    cvg_buf_t b;
    cvg_buf_init(&b, LOG_LINE_MAX);
    /* Appends stop at the line maximum (the buffer refuses every append
     * after the first refused one); such a line is replaced below rather
     * than written as broken JSON. */
    cvg_buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"process\":", ts,
                   cvg_log_level_name(level));
    cvg_buf_append_json_str(&b, log_process, strlen(log_process));
    cvg_buf_printf(&b, ",\"pid\":%ld,\"msg\":", (long)getpid());
    cvg_buf_append_json_str(&b, msg, strlen(msg));
    if (ctx != NULL) {
        field_str(&b, "tenant_id", ctx->tenant_id);
        field_str(&b, "pipeline_id", ctx->pipeline_id);
        field_str(&b, "run_id", ctx->run_id);
        field_str(&b, "step_id", ctx->step_id);
    }
    for (size_t i = 0; i < nfields; i++) {
        if (fields[i].str != NULL) {
            field_str(&b, fields[i].key, fields[i].str);
        } else {
            cvg_buf_puts(&b, ",");
            cvg_buf_append_json_str(&b, fields[i].key, strlen(fields[i].key));
            cvg_buf_printf(&b, ":%lld", fields[i].num);
        }
    }
    if (b.overflow || cvg_buf_puts(&b, "}\n") != 0) {
        /* Over the line limit: say so rather than emit broken JSON. */
        cvg_buf_reset(&b);
        cvg_buf_printf(&b,
                       "{\"time\":\"%s\",\"level\":\"%s\",\"process\":\"%s\","
                       "\"msg\":\"log line over %d bytes dropped\"}\n",
                       ts, cvg_log_level_name(level), log_process, LOG_LINE_MAX);
    }
    const char *p = cvg_buf_cstr(&b);
    size_t left = b.len;
    while (left > 0) {
        ssize_t n = write(STDERR_FILENO, p, left);
        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
    cvg_buf_cleanup(&b);
}
