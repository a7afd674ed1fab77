/* The `personae` command: dispatches to one subcommand per file (cmd_*.c). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *name;
    pn_cli_main run;
    const char *summary;
} commands[] = {
    {"train", pn_cmd_train, "learn personas from events and write a snapshot"},
    {"classify", pn_cmd_classify, "classify the target visitors of an events file with a snapshot"},
    {"inspect", pn_cmd_inspect, "print a snapshot as JSON: personas, influential traits, quality, status"},
    {"gen", pn_cmd_gen, "write a realistic synthetic audience as a task folder"},
    {"serve", pn_cmd_serve, "serve the HTTP API and train models from the SQLite store"},
    {"admin", pn_cmd_admin, "create the store and accounts (init, add-account), printing admin keys"},
    {"onboard", pn_cmd_onboard, "store a file of trait realizations in the SQLite store"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: personae <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'personae <command> --help' describes each.\n");
}

/* Training and classification fill arrays of hundreds of megabytes, and on virtual machines a
 * page fault per 4 KiB page costs more than the parsing itself. glibc backs large allocations
 * with transparent huge pages when its malloc.hugetlb tunable is on, but reads tunables only at
 * start-up: so the command re-executes itself once with it set, unless the caller set
 * GLIBC_TUNABLES already. Nothing changes where the tunable is unknown. */
static void prefer_huge_pages(char **argv)
{
    if (getenv("GLIBC_TUNABLES") || getenv("PERSONAE_NO_REEXEC"))
        return;
    if (setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 0) == 0 && setenv("PERSONAE_NO_REEXEC", "1", 0) == 0)
        execv("/proc/self/exe", argv);
    /* execv failed: carry on with ordinary pages */
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "train") == 0 || strcmp(argv[1], "classify") == 0))
        prefer_huge_pages(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "personae: unknown command '%s' (see personae --help)\n", argv[1]);
    return 2;
}
