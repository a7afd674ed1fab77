/* /api/v1/segments: Boolean rules over traits (DESIGN §1), parsed, never evaluated as code. */
#include "srv.h"

#include <stdlib.h>
#include <string.h>

#include "personae/rule.h"

static const char *const FIELDS[] = {"name", "rule", "data_source_id", "origin", NULL};
static const char *const READONLY[] = {"id", "folder", "model_id", "predictive", "baseline_id", NULL};
static const char *const ORIGINS[] = {"account", "shared", NULL};

static int all_digits(const char *s, size_t len)
{
    if (len == 0 || len > 15)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int validate(srv_ctx *c, const cJSON *in, int64_t id, cJSON **out, srv_refs *refs, srv_resp *r)
{
    *out = cJSON_CreateObject();
    if (v_name(in, "segment", r))
        return r->status;
    cJSON_AddStringToObject(*out, "name", cJSON_GetObjectItemCaseSensitive(in, "name")->valuestring);
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(in, "rule");
    if (!cJSON_IsString(rule))
        return srv_fail(r, 400, "field 'rule' is required for a segment: segment code such as "
                                "123T AND FREQUENCY([456T] <= 7D) >= 2");
    pn_segment_rule *parsed = NULL;
    pn_error err;
    size_t at = 0;
    if (pn_segment_rule_parse(rule->valuestring, strlen(rule->valuestring), &parsed, &at, &err) != PN_OK)
        return srv_fail(r, 400, "field 'rule' of the segment: %s", err.message);
    for (size_t i = 0; i < pn_segment_rule_trait_count(parsed); i++) {
        size_t len;
        const char *t = pn_segment_rule_trait(parsed, i, &len);
        cJSON *trait = all_digits(t, len) ? obj_get(c->db, c->account, "trait", strtoll(t, NULL, 10), NULL, NULL) : NULL;
        if (!trait) {
            srv_fail(r, 422, "field 'rule' of the segment names trait '%.60s', which is not a trait of this account", t);
            pn_segment_rule_free(parsed);
            return r->status;
        }
        cJSON_Delete(trait);
        if (refs_add(refs, strtoll(t, NULL, 10))) {
            pn_segment_rule_free(parsed);
            return srv_fail(r, 500, "out of memory");
        }
    }
    pn_segment_rule_free(parsed);
    cJSON_AddStringToObject(*out, "rule", rule->valuestring);
    int64_t ds;
    if (v_ref(c, in, "data_source_id", "segment", "data_source", "data source", 0, &ds, r))
        return r->status;
    if (ds) {
        cJSON_AddNumberToObject(*out, "data_source_id", (double)ds);
        if (refs_add(refs, ds))
            return srv_fail(r, 500, "out of memory");
    } else {
        cJSON_AddNullToObject(*out, "data_source_id");
    }
    return v_enum(in, "origin", "segment", ORIGINS, "account", *out, r);
}

const srv_resource srv_segments = {"segments", "segment", "segment", FIELDS, READONLY, validate, NULL, NULL, NULL};
