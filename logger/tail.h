/*
 * `cvg-logger tail`: follows the logger's stream and prints each committed
 * event as it happens, filtered by tenant, pipeline or run; readable lines
 * (in colour on a terminal) or one JSON object per line with --json.
 */
#ifndef LGR_TAIL_H
#define LGR_TAIL_H

#include "common/config.h"
#include "common/proto.h"

#include <stdbool.h>
#include <stddef.h>

/* Runs the tail command; argv[0] is "tail". Returns an exit code. */
int lgr_tail_main(const cvg_config_t *cfg, int argc, char **argv);

/* Formats one event as a readable line (colour when colour is true). */
void lgr_tail_format(const cvg_event_t *ev, bool colour, char *out, size_t size);

/* Formats one event as a JSON object on one line. */
void lgr_tail_format_json(const cvg_event_t *ev, char *out, size_t size);

#endif
