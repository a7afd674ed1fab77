/* The predictions file: see predictions.h. */
#include "predictions.h"
#include "cli.h"
#include "personae/audience.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pn_cli_write_predictions(const char *cmd, const char *path, const pn_snapshot *snap, const pn_profiles *prof)
{
    int rc = -1;
    pn_error err;
    pn_audience *aud = NULL;
    uint32_t *map = NULL, *idx = NULL;
    size_t idx_cap = 0;
    FILE *out = NULL;
    if (pn_audience_from_snapshot(snap, prof, &aud, &err)) {
        pn_cli_error(cmd, "%s", err.message);
        return -1;
    }
    /* Store trait index -> snapshot trait index, resolved once instead of per visitor. */
    size_t T = pn_profiles_trait_count(prof);
    if (!(map = malloc((T ? T : 1) * sizeof *map))) {
        pn_cli_error(cmd, "out of memory");
        goto done;
    }
    for (uint32_t t = 0; t < T; t++) {
        size_t len;
        const char *id = pn_profiles_trait_id(prof, t, &len);
        map[t] = pn_snapshot_trait_find(snap, id, len);
    }
    if (!(out = fopen(path, "wb"))) {
        pn_cli_error(cmd, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    static char obuf[1 << 20];
    setvbuf(out, obuf, _IOFBF, sizeof obuf);
    char line[1024];
    size_t V = pn_profiles_visitor_count(prof);
    /* "Now" for a file of events is its latest event: recency windows in segment rules
     * (FREQUENCY([…] <= 7D)) count back from there. */
    const int64_t now = pn_profiles_max_ts(prof);
    for (uint32_t v = 0; v < V; v++) {
        if (!pn_audience_in_target(aud, v, 0, now) || pn_audience_baselines(aud, v, 0, now))
            continue;
        size_t n;
        const pn_realization *r = pn_profiles_visitor_traits(prof, v, &n);
        if (n > idx_cap) {
            free(idx);
            idx_cap = n * 2;
            if (!(idx = malloc(idx_cap * sizeof *idx))) {
                pn_cli_error(cmd, "out of memory");
                goto done;
            }
        }
        for (size_t j = 0; j < n; j++)
            idx[j] = map[r[j].trait];
        pn_classification c;
        if (pn_snapshot_classify(snap, idx, n, &c, &err)) {
            pn_cli_error(cmd, "%s", err.message);
            goto done;
        }
        size_t ulen;
        const char *uuid = pn_profiles_visitor_uuid(prof, v, &ulen);
        size_t len = pn_prediction_format(snap, uuid, ulen, &c, line, sizeof line);
        fwrite(line, 1, len < sizeof line ? len : sizeof line - 1, out);
    }
    if (fflush(out) != 0 || ferror(out)) {
        pn_cli_error(cmd, "%s: write failed: %s", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (out && fclose(out) != 0 && rc == 0) {
        pn_cli_error(cmd, "%s: write failed: %s", path, strerror(errno));
        rc = -1;
    }
    free(map);
    free(idx);
    pn_audience_free(aud);
    return rc;
}
