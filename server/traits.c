/* /api/v1/traits: facts about visitors. Rule-based traits carry a signal rule (personae/rule.h). */
#include "srv.h"

#include <string.h>

#include "personae/rule.h"

static const char *const FIELDS[] = {"name", "data_source_id", "kind", "party", "origin", "rule", NULL};
static const char *const READONLY[] = {"id", "folder", "model_id", NULL};
static const char *const KINDS[] = {"rule", "onboarded", "algorithmic", "predictive", NULL};
static const char *const PARTIES[] = {"first", "third", NULL};
static const char *const ORIGINS[] = {"account", "shared", NULL};

static int validate(srv_ctx *c, const cJSON *in, int64_t id, cJSON **out, srv_refs *refs, srv_resp *r)
{
    *out = cJSON_CreateObject();
    if (v_name(in, "trait", r))
        return r->status;
    cJSON_AddStringToObject(*out, "name", cJSON_GetObjectItemCaseSensitive(in, "name")->valuestring);
    int64_t ds;
    if (v_ref(c, in, "data_source_id", "trait", "data_source", "data source", 1, &ds, r))
        return r->status;
    cJSON_AddNumberToObject(*out, "data_source_id", (double)ds);
    if (refs_add(refs, ds))
        return srv_fail(r, 500, "out of memory");
    if (v_enum(in, "kind", "trait", KINDS, "onboarded", *out, r) || v_enum(in, "party", "trait", PARTIES, "first", *out, r) ||
        v_enum(in, "origin", "trait", ORIGINS, "account", *out, r))
        return r->status;
    const char *kind = cJSON_GetObjectItemCaseSensitive(*out, "kind")->valuestring;
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(in, "rule");
    if (strcmp(kind, "rule") != 0) {
        if (rule && !cJSON_IsNull(rule))
            return srv_fail(r, 400, "field 'rule' is only for rule-based traits (kind \"rule\"), not kind \"%s\"", kind);
        return 0;
    }
    if (!cJSON_IsString(rule))
        return srv_fail(r, 400, "field 'rule' is required for a rule-based trait: a signal rule such as "
                                "c_page == \"mortgage\"");
    pn_signal_rule *parsed = NULL;
    pn_error err;
    size_t at = 0;
    if (pn_signal_rule_parse(rule->valuestring, strlen(rule->valuestring), &parsed, &at, &err) != PN_OK)
        return srv_fail(r, 400, "field 'rule' of the trait: %s", err.message);
    pn_signal_rule_free(parsed);
    cJSON_AddStringToObject(*out, "rule", rule->valuestring);
    return 0;
}

const srv_resource srv_traits = {"traits", "trait", "trait", FIELDS, READONLY, validate, NULL, NULL, NULL};
