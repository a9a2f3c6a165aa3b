/*
 * The processor registry: ps_type name -> processor.
 */
#ifndef WRK_REGISTRY_H
#define WRK_REGISTRY_H

#include "worker/processor.h"

#include <stddef.h>

/* The processor for ps_type, or NULL. */
const proc_def_t *wrk_registry_find(const char *ps_type);

/* The i-th registered processor, or NULL past the end. */
const proc_def_t *wrk_registry_at(size_t i);

#endif
