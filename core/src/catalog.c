/* The catalog: data sources with their DEC labels, traits, segments and destinations. */
#include "catalog_internal.h"
#include "alloc.h"
#include "error_internal.h"
#include "json_doc.h"
#include "personae/rule.h"

#include <cjson/cJSON.h>
#include <stdio.h>

static const char *const dec_names[4] = {"pii", "onsite_advertising", "offsite_advertising", "onsite_personalization"};

const char *pn_dec_label_name(uint32_t bit)
{
    for (int i = 0; i < 4; i++)
        if (bit == 1u << i)
            return dec_names[i];
    return NULL;
}

uint32_t pn_dec_label_bit(const char *name, size_t len)
{
    for (int i = 0; i < 4; i++)
        if (strlen(dec_names[i]) == len && memcmp(dec_names[i], name, len) == 0)
            return 1u << i;
    return 0;
}

pn_status pn_catalog_new(pn_catalog **out, pn_error *err)
{
    *out = pn__calloc(1, sizeof **out);
    if (!*out)
        return pn__oom(err);
    pn__dict_init(&(*out)->sources);
    pn__dict_init(&(*out)->traits);
    pn__dict_init(&(*out)->segments);
    pn__dict_init(&(*out)->destinations);
    return PN_OK;
}

void pn_catalog_free(pn_catalog *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < pn__dict_count(&c->segments); i++)
        pn__free(c->segment_info[i].rule);
    pn__dict_fini(&c->sources);
    pn__dict_fini(&c->traits);
    pn__dict_fini(&c->segments);
    pn__dict_fini(&c->destinations);
    pn__free(c->source_labels);
    pn__free(c->trait_info);
    pn__free(c->segment_info);
    pn__free(c->destination_labels);
    pn__free(c);
}

static int id_taken(const pn_catalog *c, const char *id, size_t n)
{
    return pn__dict_find(&c->traits, id, n) != PN_DICT_NONE || pn__dict_find(&c->segments, id, n) != PN_DICT_NONE;
}

static pn_status check_id(const char *what, const char *id, pn_error *err)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 256)
        return pn__fail(err, PN_EINVAL, "%s id must be 1 to 256 characters", what);
    return PN_OK;
}

pn_status pn_catalog_add_data_source(pn_catalog *c, const char *id, uint32_t dec_labels, pn_error *err)
{
    pn_status st = check_id("data source", id, err);
    if (st)
        return st;
    size_t n = strlen(id);
    if (pn__dict_find(&c->sources, id, n) != PN_DICT_NONE)
        return pn__fail(err, PN_EINVAL, "data source '%s' is listed twice", id);
    if (dec_labels & ~PN_DEC_ALL)
        return pn__fail(err, PN_EINVAL, "data source '%s' has unknown DEC label bits", id);
    uint32_t k;
    if (pn__grow((void **)&c->source_labels, &c->source_labels_cap, pn__dict_count(&c->sources) + 1, sizeof(uint32_t)) ||
        pn__dict_intern(&c->sources, id, n, &k))
        return pn__oom(err);
    c->source_labels[k] = dec_labels;
    return PN_OK;
}

pn_status pn_catalog_add_trait(pn_catalog *c, const char *id, const char *data_source, pn_trait_kind kind,
                               int third_party, int shared, pn_error *err)
{
    pn_status st = check_id("trait", id, err);
    if (st)
        return st;
    size_t n = strlen(id);
    if (id_taken(c, id, n))
        return pn__fail(err, PN_EINVAL, "trait '%s': the id is already used by another trait or segment", id);
    uint32_t ds = data_source ? pn__dict_find(&c->sources, data_source, strlen(data_source)) : PN_DICT_NONE;
    if (ds == PN_DICT_NONE)
        return pn__fail(err, PN_EUNKNOWN, "trait '%s': data source '%s' is not in the catalog", id,
                        data_source ? data_source : "(none)");
    if ((unsigned)kind > PN_TRAIT_PREDICTIVE)
        return pn__fail(err, PN_EINVAL, "trait '%s': unknown kind", id);
    uint32_t k;
    if (pn__grow((void **)&c->trait_info, &c->trait_info_cap, pn__dict_count(&c->traits) + 1, sizeof *c->trait_info) ||
        pn__dict_intern(&c->traits, id, n, &k))
        return pn__oom(err);
    c->trait_info[k] = (pn_cat_trait){.data_source = ds, .kind = kind, .third_party = !!third_party, .shared = !!shared};
    return PN_OK;
}

pn_status pn_catalog_add_segment(pn_catalog *c, const char *id, const char *rule, const char *data_source,
                                 int predictive, int shared, pn_error *err)
{
    pn_status st = check_id("segment", id, err);
    if (st)
        return st;
    size_t n = strlen(id);
    if (id_taken(c, id, n))
        return pn__fail(err, PN_EINVAL, "segment '%s': the id is already used by another trait or segment", id);
    uint32_t ds = PN_DICT_NONE;
    if (data_source && (ds = pn__dict_find(&c->sources, data_source, strlen(data_source))) == PN_DICT_NONE)
        return pn__fail(err, PN_EUNKNOWN, "segment '%s': data source '%s' is not in the catalog", id, data_source);
    if (!rule)
        return pn__fail(err, PN_EINVAL, "segment '%s' has no rule", id);
    pn_segment_rule *r = NULL;
    size_t off = 0;
    pn_error e;
    if (pn_segment_rule_parse(rule, strlen(rule), &r, &off, &e))
        return pn__fail(err, e.code, "segment '%s': %s", id, e.message);
    uint32_t labels = ds == PN_DICT_NONE ? 0 : c->source_labels[ds];
    for (size_t i = 0; i < pn_segment_rule_trait_count(r); i++) {
        size_t tl;
        const char *t = pn_segment_rule_trait(r, i, &tl);
        uint32_t ti = pn__dict_find(&c->traits, t, tl);
        if (ti == PN_DICT_NONE) {
            /* t is borrowed from r: write the message before freeing it */
            pn__fail(err, PN_EUNKNOWN, "segment '%s': its rule names trait '%.*s', which is not in the catalog", id,
                     (int)tl, t);
            pn_segment_rule_free(r);
            return PN_EUNKNOWN;
        }
        labels |= c->source_labels[c->trait_info[ti].data_source];
    }
    pn_segment_rule_free(r);
    char *copy = pn__malloc(strlen(rule) + 1);
    uint32_t k;
    if (!copy || pn__grow((void **)&c->segment_info, &c->segment_info_cap, pn__dict_count(&c->segments) + 1,
                          sizeof *c->segment_info) ||
        pn__dict_intern(&c->segments, id, n, &k)) {
        pn__free(copy);
        return pn__oom(err);
    }
    memcpy(copy, rule, strlen(rule) + 1);
    c->segment_info[k] = (pn_cat_segment){
        .rule = copy, .data_source = ds, .dec_labels = labels, .predictive = !!predictive, .shared = !!shared};
    return PN_OK;
}

pn_status pn_catalog_add_destination(pn_catalog *c, const char *id, uint32_t dec_labels, pn_error *err)
{
    pn_status st = check_id("destination", id, err);
    if (st)
        return st;
    size_t n = strlen(id);
    if (pn__dict_find(&c->destinations, id, n) != PN_DICT_NONE)
        return pn__fail(err, PN_EINVAL, "destination '%s' is listed twice", id);
    uint32_t k;
    if (pn__grow((void **)&c->destination_labels, &c->destination_labels_cap, pn__dict_count(&c->destinations) + 1,
                 sizeof(uint32_t)) ||
        pn__dict_intern(&c->destinations, id, n, &k))
        return pn__oom(err);
    c->destination_labels[k] = dec_labels & PN_DEC_ALL;
    return PN_OK;
}

pn_status pn_catalog_destination_labels(const pn_catalog *c, const char *id, uint32_t *labels, pn_error *err)
{
    uint32_t k = pn__dict_find(&c->destinations, id, strlen(id));
    if (k == PN_DICT_NONE)
        return pn__fail(err, PN_EUNKNOWN, "destination '%s' is not in the catalog", id);
    *labels = c->destination_labels[k];
    return PN_OK;
}

int pn__catalog_trait_exclusion(const pn_catalog *c, const char *id, size_t len, uint32_t dec_union)
{
    if (!c)
        return PN_EXCLUDE_NONE;
    uint32_t k = pn__dict_find(&c->traits, id, len);
    if (k == PN_DICT_NONE)
        return PN_EXCLUDE_UNCATALOGUED;
    const pn_cat_trait *t = &c->trait_info[k];
    if (t->kind == PN_TRAIT_PREDICTIVE)
        return PN_EXCLUDE_PREDICTIVE;
    if (t->third_party)
        return PN_EXCLUDE_THIRD_PARTY;
    if (c->source_labels[t->data_source] & ~dec_union)
        return PN_EXCLUDE_DEC;
    return PN_EXCLUDE_NONE;
}

/* ---- JSON ---------------------------------------------------------------------------- */

/* An id field: a string, or an integer written in decimal into buf. NULL when neither. */
static const char *json_id(const cJSON *item, char *buf, size_t cap)
{
    if (cJSON_IsString(item))
        return item->valuestring;
    if (cJSON_IsNumber(item) && item->valuedouble >= 0 && item->valuedouble < 9.0e15 &&
        item->valuedouble == (double)(long long)item->valuedouble) {
        snprintf(buf, cap, "%lld", (long long)item->valuedouble);
        return buf;
    }
    return NULL;
}

static pn_status only_keys(const cJSON *o, const char *const *keys, const char *where, int index, pn_error *err)
{
    for (const cJSON *it = o->child; it; it = it->next) {
        int ok = 0;
        for (const char *const *k = keys; *k; k++)
            ok |= it->string && strcmp(it->string, *k) == 0;
        if (!ok)
            return pn__fail(err, PN_EPARSE, "%s[%d]: unknown field \"%s\"", where, index, it->string ? it->string : "");
    }
    return PN_OK;
}

static pn_status parse_labels(const cJSON *arr, const char *where, int index, uint32_t *out, pn_error *err)
{
    *out = 0;
    if (!arr)
        return PN_OK;
    if (!cJSON_IsArray(arr))
        return pn__fail(err, PN_EPARSE, "%s[%d].dec_labels must be an array of label names", where, index);
    for (const cJSON *it = arr->child; it; it = it->next) {
        uint32_t bit = cJSON_IsString(it) ? pn_dec_label_bit(it->valuestring, strlen(it->valuestring)) : 0;
        if (!bit)
            return pn__fail(err, PN_EPARSE,
                            "%s[%d].dec_labels: '%s' is not one of pii, onsite_advertising, offsite_advertising, "
                            "onsite_personalization",
                            where, index, cJSON_IsString(it) ? it->valuestring : "(not a string)");
        *out |= bit;
    }
    return PN_OK;
}

static int one_of(const cJSON *item, const char *const *names, int dflt)
{
    if (!item)
        return dflt;
    if (!cJSON_IsString(item))
        return -1;
    for (int i = 0; names[i]; i++)
        if (strcmp(item->valuestring, names[i]) == 0)
            return i;
    return -1;
}

static pn_status parse_array(const cJSON *root, const char *name, const cJSON **out, pn_error *err)
{
    *out = cJSON_GetObjectItemCaseSensitive(root, name);
    if (*out && !cJSON_IsArray(*out))
        return pn__fail(err, PN_EPARSE, "catalog: \"%s\" must be an array", name);
    return PN_OK;
}

static pn_status load(pn_catalog *c, const cJSON *root, pn_error *err)
{
    static const char *const top[] = {"data_sources", "traits", "segments", "destinations", NULL};
    static const char *const ds_keys[] = {"id", "name", "id_type", "dec_labels", NULL};
    static const char *const tr_keys[] = {"id", "name", "data_source", "kind", "party", "origin", "rule", NULL};
    static const char *const sg_keys[] = {"id", "name", "rule", "data_source", "predictive", "origin", NULL};
    static const char *const de_keys[] = {"id", "name", "type", "dec_labels", NULL};
    static const char *const kinds[] = {"rule", "onboarded", "algorithmic", "predictive", NULL};
    static const char *const parties[] = {"first", "third", NULL};
    static const char *const origins[] = {"account", "shared", NULL};
    static const char *const id_types[] = {"device", "cross_device", NULL};
    static const char *const dest_types[] = {"edge", "server", "export", NULL};
    char b1[32], b2[32];
    const cJSON *ds, *tr, *sg, *de;
    pn_status st;
    if (!cJSON_IsObject(root))
        return pn__fail(err, PN_EPARSE, "catalog: the document must be a JSON object");
    if ((st = only_keys(root, top, "catalog", 0, err)) || (st = parse_array(root, "data_sources", &ds, err)) ||
        (st = parse_array(root, "traits", &tr, err)) || (st = parse_array(root, "segments", &sg, err)) ||
        (st = parse_array(root, "destinations", &de, err)))
        return st;
    int i = 0;
    for (const cJSON *o = ds ? ds->child : NULL; o; o = o->next, i++) {
        uint32_t labels;
        const char *id = json_id(cJSON_GetObjectItemCaseSensitive(o, "id"), b1, sizeof b1);
        if (!cJSON_IsObject(o) || !id)
            return pn__fail(err, PN_EPARSE, "data_sources[%d] must be an object with an \"id\"", i);
        if ((st = only_keys(o, ds_keys, "data_sources", i, err)) ||
            (st = parse_labels(cJSON_GetObjectItemCaseSensitive(o, "dec_labels"), "data_sources", i, &labels, err)))
            return st;
        if (one_of(cJSON_GetObjectItemCaseSensitive(o, "id_type"), id_types, 0) < 0)
            return pn__fail(err, PN_EPARSE, "data_sources[%d].id_type must be \"device\" or \"cross_device\"", i);
        if ((st = pn_catalog_add_data_source(c, id, labels, err)))
            return st;
    }
    i = 0;
    for (const cJSON *o = tr ? tr->child : NULL; o; o = o->next, i++) {
        const char *id = json_id(cJSON_GetObjectItemCaseSensitive(o, "id"), b1, sizeof b1);
        const char *src = json_id(cJSON_GetObjectItemCaseSensitive(o, "data_source"), b2, sizeof b2);
        if (!cJSON_IsObject(o) || !id || !src)
            return pn__fail(err, PN_EPARSE, "traits[%d] must be an object with \"id\" and \"data_source\"", i);
        if ((st = only_keys(o, tr_keys, "traits", i, err)))
            return st;
        int kind = one_of(cJSON_GetObjectItemCaseSensitive(o, "kind"), kinds, PN_TRAIT_RULE);
        int party = one_of(cJSON_GetObjectItemCaseSensitive(o, "party"), parties, 0);
        int origin = one_of(cJSON_GetObjectItemCaseSensitive(o, "origin"), origins, 0);
        if (kind < 0)
            return pn__fail(err, PN_EPARSE, "traits[%d].kind must be rule, onboarded, algorithmic or predictive", i);
        if (party < 0)
            return pn__fail(err, PN_EPARSE, "traits[%d].party must be first or third", i);
        if (origin < 0)
            return pn__fail(err, PN_EPARSE, "traits[%d].origin must be account or shared", i);
        if ((st = pn_catalog_add_trait(c, id, src, (pn_trait_kind)kind, party, origin, err)))
            return st;
    }
    i = 0;
    for (const cJSON *o = sg ? sg->child : NULL; o; o = o->next, i++) {
        const char *id = json_id(cJSON_GetObjectItemCaseSensitive(o, "id"), b1, sizeof b1);
        const cJSON *rule = cJSON_GetObjectItemCaseSensitive(o, "rule");
        const cJSON *pred = cJSON_GetObjectItemCaseSensitive(o, "predictive");
        const cJSON *srcj = cJSON_GetObjectItemCaseSensitive(o, "data_source");
        const char *src = srcj ? json_id(srcj, b2, sizeof b2) : NULL;
        if (!cJSON_IsObject(o) || !id || !cJSON_IsString(rule))
            return pn__fail(err, PN_EPARSE, "segments[%d] must be an object with \"id\" and a string \"rule\"", i);
        if ((st = only_keys(o, sg_keys, "segments", i, err)))
            return st;
        if (srcj && !src)
            return pn__fail(err, PN_EPARSE, "segments[%d].data_source must be an id", i);
        if (pred && !cJSON_IsBool(pred))
            return pn__fail(err, PN_EPARSE, "segments[%d].predictive must be true or false", i);
        int origin = one_of(cJSON_GetObjectItemCaseSensitive(o, "origin"), origins, 0);
        if (origin < 0)
            return pn__fail(err, PN_EPARSE, "segments[%d].origin must be account or shared", i);
        if ((st = pn_catalog_add_segment(c, id, rule->valuestring, src, cJSON_IsTrue(pred), origin, err)))
            return st;
    }
    i = 0;
    for (const cJSON *o = de ? de->child : NULL; o; o = o->next, i++) {
        uint32_t labels;
        const char *id = json_id(cJSON_GetObjectItemCaseSensitive(o, "id"), b1, sizeof b1);
        if (!cJSON_IsObject(o) || !id)
            return pn__fail(err, PN_EPARSE, "destinations[%d] must be an object with an \"id\"", i);
        if ((st = only_keys(o, de_keys, "destinations", i, err)) ||
            (st = parse_labels(cJSON_GetObjectItemCaseSensitive(o, "dec_labels"), "destinations", i, &labels, err)))
            return st;
        if (one_of(cJSON_GetObjectItemCaseSensitive(o, "type"), dest_types, 0) < 0)
            return pn__fail(err, PN_EPARSE, "destinations[%d].type must be edge, server or export", i);
        if ((st = pn_catalog_add_destination(c, id, labels, err)))
            return st;
    }
    return PN_OK;
}

pn_status pn_catalog_parse(const char *json, size_t len, pn_catalog **out, pn_error *err)
{
    *out = NULL;
    cJSON *root = pn__json_doc(json, len, "catalog", err);
    if (!root)
        return PN_EPARSE;
    pn_catalog *c;
    pn_status st = pn_catalog_new(&c, err);
    if (st == PN_OK && (st = load(c, root, err)) != PN_OK) {
        pn_catalog_free(c);
        c = NULL;
    }
    cJSON_Delete(root);
    *out = c;
    return st;
}
