/* Writing a predictions file from a loaded profile store and a snapshot: shared by
 * `personae classify` and `personae train --predictions`, so both write the same bytes. */
#ifndef PN_NATIVE_PREDICTIONS_H
#define PN_NATIVE_PREDICTIONS_H

#include "personae/profiles.h"
#include "personae/snapshot.h"

/* Classifies every visitor of `prof` who is in the snapshot's target audience and qualifies
 * for none of its baselines, over their history up to the store's latest event (the "now" of
 * recency windows), and writes DESIGN §3 prediction lines to `path` in store order. Prints an
 * error naming what failed and returns -1; 0 on success. */
int pn_cli_write_predictions(const char *cmd, const char *path, const pn_snapshot *snap, const pn_profiles *prof);

#endif
