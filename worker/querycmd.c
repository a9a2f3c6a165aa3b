/*
 * The query command (see querycmd.h).
 */
#include "worker/querycmd.h"
#include "common/warehouse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sysexits.h>

static int print_row(void *ud, const cvg_row_t *row)
{
    (void)ud;
    json_t *o = cvg_row_json(row);
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(o);
    return 0;
}

int wrk_query_command(const cvg_config_t *cfg, const char *sql)
{
    const char *p = sql;
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "SELECT", 6) != 0 && strncasecmp(p, "WITH", 4) != 0) {
        fprintf(stderr, "cvg-worker query: only a SELECT (or WITH ... SELECT) is run\n");
        return EX_USAGE;
    }
    cvg_wh_t *wh = NULL;
    cvg_err_t err;
    cvg_err_clear(&err);
    if (cvg_wh_open(cfg->warehouse_url, &wh, &err) != 0) {
        fprintf(stderr, "cvg-worker query: %s\n", err.message);
        return EX_UNAVAILABLE;
    }
    int rc = cvg_wh_exec(wh, sql, NULL, 0, print_row, NULL, NULL, &err);
    cvg_wh_close(&wh);
    if (rc != 0) {
        fprintf(stderr, "cvg-worker query: %s\n", err.message);
        return EX_DATAERR;
    }
    return 0;
}
