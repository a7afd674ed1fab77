/* The `personae` command: dispatches to one subcommand per file (cmd_*.c). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    pn_cli_main run;
    const char *summary;
} commands[] = {
    {"train", pn_cmd_train, "learn personas from events and write a snapshot"},
    {"classify", pn_cmd_classify, "classify the target visitors of an events file with a snapshot"},
    {"inspect", pn_cmd_inspect, "print a snapshot as JSON: personas, influential traits, quality, status"},
    {"gen", pn_cmd_gen, "write a realistic synthetic audience as a task folder"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: personae <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'personae <command> --help' describes each.\n");
}

int main(int argc, char **argv)
{
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
    fprintf(stderr, "personae: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
