/* Helpers shared by the subcommands: error lines, whole-file reads, option parsing. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pn_cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "personae %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

char *pn_cli_read_file(const char *cmd, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        pn_cli_error(cmd, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f)) {
                pn_cli_error(cmd, "%s: read error: %s", path, strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    if (!buf) {
        pn_cli_error(cmd, "%s: out of memory while reading", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int pn_cli_parse_i64(const char *cmd, const char *option, const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = text ? strtoll(text, &end, 10) : 0;
    if (!text || !*text || *end || errno || v < min || v > max) {
        pn_cli_error(cmd, "%s expects an integer from %lld to %lld, got '%s'", option, (long long)min,
                     (long long)max, text ? text : "");
        return -1;
    }
    *out = v;
    return 0;
}

int pn_cli_parse(const char *cmd, int argc, char **argv, const pn_cli_option *spec, size_t nspec, const char **values,
                 int *help, const char **positional, size_t max_positional, size_t *npositional)
{
    *help = 0;
    if (npositional)
        *npositional = 0;
    for (size_t i = 0; i < nspec; i++)
        values[i] = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = 1;
            return 0;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (positional && npositional && *npositional < max_positional) {
                positional[(*npositional)++] = a;
                continue;
            }
            pn_cli_error(cmd, "unexpected argument '%s' (see personae %s --help)", a, cmd);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        size_t k = 0;
        while (k < nspec && !(strlen(spec[k].name) == nlen && strncmp(spec[k].name, name, nlen) == 0))
            k++;
        if (k == nspec) {
            pn_cli_error(cmd, "unknown option '--%.*s' (see personae %s --help)", (int)nlen, name, cmd);
            return -1;
        }
        if (values[k]) {
            pn_cli_error(cmd, "option '--%s' is given twice", spec[k].name);
            return -1;
        }
        if (spec[k].is_flag) {
            if (eq) {
                pn_cli_error(cmd, "option '--%s' takes no value", spec[k].name);
                return -1;
            }
            values[k] = "1";
        } else if (eq) {
            values[k] = eq + 1;
        } else if (i + 1 < argc) {
            values[k] = argv[++i];
        } else {
            pn_cli_error(cmd, "option '--%s' needs a value", spec[k].name);
            return -1;
        }
    }
    return 0;
}
