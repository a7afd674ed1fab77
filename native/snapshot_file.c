/* Reading and atomically writing snapshot files. */
#include "snapshot_file.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pn_cli_write_snapshot(const char *cmd, const char *path, const pn_snapshot *s)
{
    void *bytes;
    size_t len;
    pn_error err;
    if (pn_snapshot_save(s, &bytes, &len, &err)) {
        pn_cli_error(cmd, "%s: %s", path, err.message);
        return -1;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp) {
        pn_bytes_free(bytes);
        pn_cli_error(cmd, "%s: out of memory", path);
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    int rc = -1;
    if (!f) {
        pn_cli_error(cmd, "%s: cannot write: %s", tmp, strerror(errno));
    } else if (fwrite(bytes, 1, len, f) != len || fflush(f) != 0) {
        pn_cli_error(cmd, "%s: write failed: %s", tmp, strerror(errno));
        fclose(f);
        remove(tmp);
    } else if (fclose(f) != 0 || rename(tmp, path) != 0) {
        pn_cli_error(cmd, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
    } else {
        rc = 0;
    }
    free(tmp);
    pn_bytes_free(bytes);
    return rc;
}

pn_snapshot *pn_cli_read_snapshot(const char *cmd, const char *path)
{
    size_t len;
    char *bytes = pn_cli_read_file(cmd, path, &len);
    if (!bytes)
        return NULL;
    pn_snapshot *s = NULL;
    pn_error err;
    if (pn_snapshot_load(bytes, len, &s, &err))
        pn_cli_error(cmd, "%s: %s", path, err.message);
    free(bytes);
    return s;
}
