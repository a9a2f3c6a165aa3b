/*
 * Process plumbing shared by every binary: the command line (--help,
 * --version, --check-config, --env-file, one flag per configuration
 * variable), start-up (.env, configuration, logging), signal flags and exit
 * codes.
 */
#ifndef CVG_PROC_H
#define CVG_PROC_H

#include "common/config.h"

#include <signal.h>
#include <stdbool.h>
#include <sysexits.h>

/* Exit codes (sysexits.h): 0 ok, EX_USAGE bad flags, EX_CONFIG bad
 * configuration, EX_UNAVAILABLE a dependency could not be reached,
 * EX_SOFTWARE an internal failure, EX_CANTCREAT a socket could not bind. */

typedef struct cvg_cli {
    const char *prog;     /* program name for usage lines */
    const char *summary;  /* one-line description */
    const char *usage;    /* extra usage text (subcommands), or NULL */
    int procs;            /* CVG_PROC_* of variables listed by --help */
    bool check_config;    /* --check-config was given */
    const char *env_file; /* --env-file value, or NULL for ./.env if present */
    int argc;             /* arguments left after the common flags */
    char **argv;          /* the first is a subcommand or positional argument */
} cvg_cli_t;

/*
 * Parses the common flags. Configuration flags (--api-port 8001 or
 * --api-port=8001) are exported to the environment so they win over it.
 * Returns 0 to go on, 1 when --help or --version was printed (exit 0), or
 * EX_USAGE after printing the problem to stderr.
 */
int cvg_cli_parse(cvg_cli_t *cli, int argc, char **argv);

/*
 * Loads .env, the configuration and sets up logging for `process`. On error
 * writes one log line naming the variable and returns EX_CONFIG; else 0.
 */
int cvg_startup(const cvg_cli_t *cli, const char *process, cvg_config_t *cfg);

/* Installs SIGTERM/SIGINT handlers that only set the stop flag, ignores
 * SIGPIPE, and keeps czmq from installing its own handler. */
void cvg_signals_install(void);

/* True once SIGTERM or SIGINT arrived. */
bool cvg_stop_requested(void);

/* Number of SIGTERM/SIGINT received so far (a second one hurries up). */
int cvg_stop_count(void);

#endif
