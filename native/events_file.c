/* Streaming an events file (TSV or JSON Lines) into a profile store, line by line, so that a
 * 1.5 GB file never sits in memory whole. */
#include "events_file.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pn_cli_load_events(const char *cmd, const char *path, pn_profiles *p)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        pn_cli_error(cmd, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 22, have = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        pn_cli_error(cmd, "%s: out of memory", path);
        return -1;
    }
    uint64_t lineno = 0;
    int rc = 0, eof = 0;
    pn_error err;
    while (!rc && !eof) {
        size_t got = fread(buf + have, 1, cap - have, f);
        if (got == 0) {
            if (ferror(f)) {
                pn_cli_error(cmd, "%s: read error: %s", path, strerror(errno));
                rc = -1;
                break;
            }
            eof = 1;
        }
        have += got;
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', have - start);
            size_t end = nl ? (size_t)(nl - buf) : have;
            if (!nl && !eof)
                break;
            if (!nl && start == have)
                break;
            lineno++;
            if (pn_profiles_add_line(p, buf + start, end - start, &err)) {
                pn_cli_error(cmd, "%s:%llu: %s", path, (unsigned long long)lineno, err.message);
                rc = -1;
                break;
            }
            start = nl ? end + 1 : have;
        }
        if (rc)
            break;
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == cap) { /* one line longer than the buffer: no event is that long */
            pn_cli_error(cmd, "%s:%llu: line is longer than %zu bytes", path, (unsigned long long)lineno + 1, cap);
            rc = -1;
        }
    }
    free(buf);
    fclose(f);
    if (!rc && pn_profiles_finish(p, &err)) {
        pn_cli_error(cmd, "%s: %s", path, err.message);
        rc = -1;
    }
    return rc;
}
