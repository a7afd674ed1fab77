/* Parsing one whole JSON document with cJSON for the catalog and model definitions. */
#ifndef PN_JSON_DOC_H
#define PN_JSON_DOC_H

#include <cjson/cJSON.h>

#include "personae/status.h"

/* Parses `json` as exactly one JSON value (whitespace may follow; anything else is an error:
 * cJSON stops after the first value, and text after it would otherwise be dropped silently).
 * On failure returns NULL and fills err with "<what>: invalid JSON near character N".
 * Uses cJSON_ParseWithLengthOpts and its end pointer, never cJSON's global error state.
 * Caller frees the result with cJSON_Delete. */
cJSON *pn__json_doc(const char *json, size_t len, const char *what, pn_error *err);

#endif
