/* personae classify: snapshot + events -> predictions for the target visitors outside every
 * baseline. */
#include "cli.h"
#include "events_file.h"
#include "snapshot_file.h"
#include "personae/audience.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: personae classify --snapshot SNAPSHOT --events EVENTS.tsv --out PREDICTIONS.tsv\n\n"
    "Classifies every visitor of EVENTS who is in the snapshot's target audience and qualifies for\n"
    "none of its baselines, over all of their history up to the file's latest event (the \"now\" of\n"
    "recency windows in segment rules), and writes one line per visitor:\n"
    "uuid<TAB>persona baseline id or -<TAB>score<TAB>confidence. A visitor with no trait the model\n"
    "knows scores 0 and stays unclassified (-).\n";

int pn_cmd_classify(int argc, char **argv)
{
    enum { SNAPSHOT, EVENTS, OUT, N };
    static const pn_cli_option spec[N] = {{"snapshot", 0}, {"events", 0}, {"out", 0}};
    const char *v[N];
    int help;
    if (pn_cli_parse("classify", argc, argv, spec, N, v, &help, NULL, 0, NULL))
        return 2;
    if (help) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!v[SNAPSHOT] || !v[EVENTS] || !v[OUT]) {
        pn_cli_error("classify", "--snapshot, --events and --out are required (see personae classify --help)");
        return 2;
    }
    int rc = 1;
    pn_error err;
    pn_profiles *prof = NULL;
    pn_audience *aud = NULL;
    uint32_t *map = NULL, *idx = NULL;
    FILE *out = NULL;
    size_t idx_cap = 0;
    pn_snapshot *snap = pn_cli_read_snapshot("classify", v[SNAPSHOT]);
    if (!snap)
        return 1;
    if (pn_profiles_new(&prof, &err) || pn_cli_load_events("classify", v[EVENTS], prof))
        goto done;
    if (pn_audience_from_snapshot(snap, prof, &aud, &err)) {
        pn_cli_error("classify", "%s: %s", v[SNAPSHOT], err.message);
        goto done;
    }
    /* Store trait index -> snapshot trait index, resolved once instead of per visitor. */
    size_t T = pn_profiles_trait_count(prof);
    if (!(map = malloc((T ? T : 1) * sizeof *map))) {
        pn_cli_error("classify", "out of memory");
        goto done;
    }
    for (uint32_t t = 0; t < T; t++) {
        size_t len;
        const char *id = pn_profiles_trait_id(prof, t, &len);
        map[t] = pn_snapshot_trait_find(snap, id, len);
    }
    if (!(out = fopen(v[OUT], "wb"))) {
        pn_cli_error("classify", "%s: cannot write: %s", v[OUT], strerror(errno));
        goto done;
    }
    static char obuf[1 << 20];
    setvbuf(out, obuf, _IOFBF, sizeof obuf);
    char line[1024];
    size_t V = pn_profiles_visitor_count(prof);
    /* "Now" for a file of events is its latest event: recency windows in segment rules
     * (FREQUENCY([…] <= 7D)) count back from there. */
    const int64_t now = pn_profiles_max_ts(prof);
    for (uint32_t vi = 0; vi < V; vi++) {
        if (!pn_audience_in_target(aud, vi, 0, now) || pn_audience_baselines(aud, vi, 0, now))
            continue;
        size_t n;
        const pn_realization *r = pn_profiles_visitor_traits(prof, vi, &n);
        if (n > idx_cap) {
            free(idx);
            idx_cap = n * 2;
            if (!(idx = malloc(idx_cap * sizeof *idx))) {
                pn_cli_error("classify", "out of memory");
                goto done;
            }
        }
        for (size_t j = 0; j < n; j++)
            idx[j] = map[r[j].trait];
        pn_classification c;
        if (pn_snapshot_classify(snap, idx, n, &c, &err)) {
            pn_cli_error("classify", "%s", err.message);
            goto done;
        }
        size_t ulen;
        const char *uuid = pn_profiles_visitor_uuid(prof, vi, &ulen);
        size_t len = pn_prediction_format(snap, uuid, ulen, &c, line, sizeof line);
        fwrite(line, 1, len < sizeof line ? len : sizeof line - 1, out);
    }
    if (fflush(out) != 0 || ferror(out)) {
        pn_cli_error("classify", "%s: write failed: %s", v[OUT], strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (out && fclose(out) != 0 && rc == 0) {
        pn_cli_error("classify", "%s: write failed: %s", v[OUT], strerror(errno));
        rc = 1;
    }
    free(map);
    free(idx);
    pn_audience_free(aud);
    pn_profiles_free(prof);
    pn_snapshot_free(snap);
    return rc;
}
