/*
 * The processor registry: ps_type name -> processor.
 */
#ifndef WRK_REGISTRY_H
#define WRK_REGISTRY_H

#include "common/psschema.h"
#include "worker/processor.h"

#include <stddef.h>

/* The processor for ps_type, or NULL. */
const proc_def_t *wrk_registry_find(const char *ps_type);

/* The i-th registered processor, or NULL past the end. */
const proc_def_t *wrk_registry_at(size_t i);

/* The schema of a registered processor (ps_templates/<ps_type with / for
 * .>/config.yml), loaded on first use and kept. NULL with err set when the
 * schema file is missing or broken. */
const cvg_psschema_t *wrk_registry_schema(const proc_def_t *def, const char *templates_dir,
                                          cvg_err_t *err);

/* Drops the loaded schemas (at exit, for leak checkers). */
void wrk_registry_unload(void);

#endif
