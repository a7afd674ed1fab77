/* See json_doc.h. */
#include "json_doc.h"
#include "error_internal.h"

cJSON *pn__json_doc(const char *json, size_t len, const char *what, pn_error *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    while (root && end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (root && end != json + len) {
        cJSON_Delete(root);
        root = NULL;
    }
    if (!root) {
        size_t at = end && end >= json ? (size_t)(end - json) + 1 : 1;
        pn__fail(err, PN_EPARSE, "%s: invalid JSON near character %zu", what, at);
    }
    return root;
}
