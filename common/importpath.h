/*
 * Which local files a tenant's pipelines may read: below one of
 * CVG_SHARED_IMPORT_DIRS (comma-separated, every tenant), or below
 * CVG_IMPORT_DIR/<tenant_id>/. The path is checked by name first (with .
 * and .. taken out), so a path outside those directories gets the same
 * answer whether or not it exists; then resolved (symbolic links) and
 * checked again, and the resolved path is what gets opened.
 */
#ifndef CVG_IMPORTPATH_H
#define CVG_IMPORTPATH_H

#include "common/config.h"
#include "common/err.h"

#include <stddef.h>

/*
 * Checks a file:// URI or a plain path for tenant_id. On success writes the
 * resolved absolute path to out. CVG_EINVAL for a malformed URI or a path
 * outside the allowed directories, CVG_ENOTFOUND when it does not exist.
 */
int cvg_import_path(const cvg_config_t *cfg, const char *tenant_id, const char *uri, char *out,
                    size_t size, cvg_err_t *err);

#endif
