/*
 * Shared plumbing of the `personae` command: each subcommand lives in its own file
 * (cmd_train.c, cmd_classify.c, cmd_inspect.c, cmd_gen.c, …) and exports one entry point with
 * the signature below. Entry points return the process exit status (0 ok, 1 bad input or failed
 * work, 2 usage error) and never call exit() themselves.
 *
 * Error output is one line on stderr: "personae <cmd>: <file>:<line>: <problem>" (file and line
 * when known), so scripts and people can find the offending input.
 */
#ifndef PN_NATIVE_CLI_H
#define PN_NATIVE_CLI_H

#include <stddef.h>
#include <stdint.h>

typedef int (*pn_cli_main)(int argc, char **argv);

int pn_cmd_train(int argc, char **argv);
int pn_cmd_classify(int argc, char **argv);
int pn_cmd_inspect(int argc, char **argv);
int pn_cmd_gen(int argc, char **argv);
int pn_cmd_serve(int argc, char **argv);
int pn_cmd_admin(int argc, char **argv);
int pn_cmd_onboard(int argc, char **argv);

/* Prints "personae <cmd>: <formatted message>\n" to stderr. */
void pn_cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Reads a whole file into a NUL-terminated heap buffer (caller frees with free()).
 * On failure prints an error naming the file for `cmd` and returns NULL. */
char *pn_cli_read_file(const char *cmd, const char *path, size_t *len);

/* Parses a decimal integer option value in [min, max]; on failure prints an error naming the
 * option and returns -1, else 0. */
int pn_cli_parse_i64(const char *cmd, const char *option, const char *text, int64_t min, int64_t max, int64_t *out);

#endif

/* Option parsing shared by the subcommands: `--name value` or `--name=value`.
 * `spec` lists the options; values land in `values` at the same index (NULL when absent).
 * Returns 0; on an unknown option, a missing value, a repeated option or a stray argument prints
 * an error naming it and returns -1. `--help` sets *help. Positional arguments (when
 * `positional` is not NULL) are collected up to `max_positional`. */
typedef struct pn_cli_option {
    const char *name; /* without the dashes */
    int is_flag;      /* takes no value */
} pn_cli_option;

int pn_cli_parse(const char *cmd, int argc, char **argv, const pn_cli_option *spec, size_t nspec, const char **values,
                 int *help, const char **positional, size_t max_positional, size_t *npositional);
