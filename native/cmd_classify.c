/* personae classify: snapshot + events -> predictions for the target visitors outside every
 * baseline. */
#include "cli.h"
#include "events_file.h"
#include "snapshot_file.h"
#include "predictions.h"

#include <stdio.h>

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
    pn_snapshot *snap = pn_cli_read_snapshot("classify", v[SNAPSHOT]);
    if (!snap)
        return 1;
    if (pn_profiles_new(&prof, &err) == PN_OK && pn_cli_load_events("classify", v[EVENTS], prof) == 0 &&
        pn_cli_write_predictions("classify", v[OUT], snap, prof) == 0)
        rc = 0;
    pn_profiles_free(prof);
    pn_snapshot_free(snap);
    return rc;
}
