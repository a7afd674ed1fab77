/* Loading an events file into a profile store for the command line. */
#ifndef PN_NATIVE_EVENTS_FILE_H
#define PN_NATIVE_EVENTS_FILE_H

#include "personae/profiles.h"

/* Reads every line of `path` into `p` and seals it. On a bad line prints
 * "personae <cmd>: <path>:<line>: <problem>" and returns -1; 0 on success. */
int pn_cli_load_events(const char *cmd, const char *path, pn_profiles *p);

#endif
