/*
 * Command line, start-up and signals (see proc.h). Signal handlers only set
 * a flag; every main loop polls with a timeout and checks it.
 */
#include "common/proc.h"
#include "common/err.h"
#include "common/log.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_signals;

static void on_stop(int sig)
{
    (void)sig;
    if (stop_signals < 100)
        stop_signals++;
}

void cvg_signals_install(void)
{
    /* czmq installs a SIGINT/SIGTERM handler on first use unless told not
     * to; ours must be the only one. */
    zsys_handler_set(NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool cvg_stop_requested(void)
{
    return stop_signals > 0;
}

int cvg_stop_count(void)
{
    return (int)stop_signals;
}

static void print_help(const cvg_cli_t *cli)
{
    bool commands = cli->usage && strncmp(cli->usage, "Commands:", 9) == 0;
    printf("%s - %s\n\nUsage: %s [options]%s\n", cli->prog, cli->summary, cli->prog,
           commands ? " [command]" : "");
    if (cli->usage)
        printf("\n%s\n", cli->usage);
    printf("\nOptions:\n"
           "  --help               show this help and exit\n"
           "  --version            show the version and exit\n"
           "  --check-config       validate the configuration and exit\n"
           "  --env-file FILE      read variables from FILE (default: ./.env if present)\n"
           "\nConfiguration (flag, or environment variable; flags win):\n");
    for (size_t i = 0; i < cvg_config_count(); i++) {
        if (!(cvg_config_procs(i) & cli->procs))
            continue;
        const char *name = cvg_config_name(i);
        char flag[64] = "--";
        size_t o = 2;
        for (const char *p = strncmp(name, "CVG_", 4) == 0 ? name + 4 : name;
             *p && o < sizeof(flag) - 1; p++)
            flag[o++] = *p == '_' ? '-' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        flag[o] = '\0';
        const char *def = cvg_config_default(i);
        printf("  %-26s %-24s %s%s%s%s\n", flag, name, cvg_config_help(i),
               def[0] && !cvg_config_secret(i) ? " [" : "",
               def[0] && !cvg_config_secret(i) ? def : "",
               def[0] && !cvg_config_secret(i) ? "]" : "");
    }
}

int cvg_cli_parse(cvg_cli_t *cli, int argc, char **argv)
{
    cli->check_config = false;
    cli->env_file = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strncmp(a, "--", 2) != 0)
            break;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(cli);
            return 1;
        }
        if (strcmp(a, "--version") == 0) {
            printf("%s %s\n", cli->prog, CVG_VERSION);
            return 1;
        }
        if (strcmp(a, "--check-config") == 0) {
            cli->check_config = true;
            continue;
        }
        char flag[128];
        const char *value = NULL;
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        if (n >= sizeof(flag)) {
            fprintf(stderr, "%s: unknown option %s (see --help)\n", cli->prog, a);
            return EX_USAGE;
        }
        memcpy(flag, a, n);
        flag[n] = '\0';
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        if (value == NULL) {
            fprintf(stderr, "%s: option %s needs a value\n", cli->prog, flag);
            return EX_USAGE;
        }
        if (strcmp(flag, "--env-file") == 0) {
            cli->env_file = value;
            continue;
        }
        const char *name = cvg_config_flag_to_name(flag);
        if (name == NULL) {
            fprintf(stderr, "%s: unknown option %s (see --help)\n", cli->prog, flag);
            return EX_USAGE;
        }
        setenv(name, value, 1);
    }
    cli->argc = argc - i;
    cli->argv = argv + i;
    if (cli->argc > 0 && strcmp(cli->argv[0], "help") == 0) {
        print_help(cli);
        return 1;
    }
    return 0;
}

int cvg_startup(const cvg_cli_t *cli, const char *process, cvg_config_t *cfg)
{
    cvg_err_t err;
    cvg_err_clear(&err);
    cvg_log_init(process, CVG_LOG_INFO);
    int rc = cvg_dotenv_load(cli->env_file ? cli->env_file : ".env", cli->env_file == NULL, &err);
    if (rc == 0)
        rc = cvg_config_load(cfg, NULL, NULL, &err);
    if (rc != 0) {
        cvg_log_field_t f = CVG_LF_STR("variable", err.field);
        cvg_log_write(CVG_LOG_ERROR, NULL, &f, 1, "configuration error: %s", err.message);
        return EX_CONFIG;
    }
    cvg_log_init(process, (cvg_log_level_t)cfg->log_level);
    return 0;
}
