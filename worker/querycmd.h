/*
 * `cvg-worker query SQL`: an operator's read of the warehouse through its
 * driver, so cross-dataset views (tenant_comprehensive_view) answer as
 * they do for pipelines. One SELECT; rows printed as JSON lines.
 */
#ifndef WRK_QUERYCMD_H
#define WRK_QUERYCMD_H

#include "common/config.h"

/* Runs sql, prints each row to stdout; returns a process exit code. */
int wrk_query_command(const cvg_config_t *cfg, const char *sql);

#endif
