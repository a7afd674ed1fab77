/* The core's view of an account: its catalog (pn_catalog) and model definitions, with object
 * ids passed as decimal strings. Traits and segments share one id sequence, so their ids never
 * collide inside a catalog. */
#include "srv.h"

#include <stdio.h>
#include <string.h>

static pn_trait_kind kind_of(const char *k)
{
    if (strcmp(k, "rule") == 0)
        return PN_TRAIT_RULE;
    if (strcmp(k, "algorithmic") == 0)
        return PN_TRAIT_ALGORITHMIC;
    if (strcmp(k, "predictive") == 0)
        return PN_TRAIT_PREDICTIVE;
    return PN_TRAIT_ONBOARDED;
}

int catalog_build(sqlite3 *db, int64_t account, pn_catalog **out, cJSON **names, pn_error *err)
{
    *out = NULL;
    if (names)
        *names = cJSON_CreateObject();
    pn_catalog *cat = NULL;
    if (pn_catalog_new(&cat, err) != PN_OK)
        return -1;
    static const char *const TYPES[] = {"data_source", "trait", "segment", "destination"};
    int rc = 0;
    for (size_t t = 0; t < 4 && !rc; t++) {
        cJSON *all = obj_list(db, account, TYPES[t]);
        if (!all) {
            snprintf(err->message, sizeof err->message, "the store's catalog cannot be read: %s", sqlite3_errmsg(db));
            rc = -1;
            break;
        }
        for (const cJSON *o = all->child; o && !rc; o = o->next) {
            char id[32], ds[32];
            snprintf(id, sizeof id, "%lld", (long long)srv_num(o, "id"));
            snprintf(ds, sizeof ds, "%lld", (long long)srv_num(o, "data_source_id"));
            uint32_t labels = labels_from_json(cJSON_GetObjectItemCaseSensitive(o, "dec_labels"));
            int shared = strcmp(srv_str(o, "origin", "account"), "shared") == 0;
            pn_status s = PN_OK;
            if (t == 0)
                s = pn_catalog_add_data_source(cat, id, labels, err);
            else if (t == 1)
                s = pn_catalog_add_trait(cat, id, ds, kind_of(srv_str(o, "kind", "onboarded")),
                                         strcmp(srv_str(o, "party", "first"), "third") == 0, shared, err);
            else if (t == 2)
                s = pn_catalog_add_segment(cat, id, srv_str(o, "rule", ""), srv_num(o, "data_source_id") ? ds : NULL,
                                           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "predictive")), shared, err);
            else
                s = pn_catalog_add_destination(cat, id, labels, err);
            rc = s == PN_OK ? 0 : -1;
            if (names && !rc)
                cJSON_AddStringToObject(*names, id, srv_str(o, "name", ""));
        }
        cJSON_Delete(all);
    }
    if (rc) {
        pn_catalog_free(cat);
        if (names) {
            cJSON_Delete(*names);
            *names = NULL;
        }
        return -1;
    }
    *out = cat;
    return 0;
}

int model_def_build(const cJSON *model, int64_t id, const pn_catalog *cat, pn_model_def **out, pn_error *err)
{
    const cJSON *bl = cJSON_GetObjectItemCaseSensitive(model, "baselines");
    size_t n = (size_t)cJSON_GetArraySize(bl);
    if (n > PN_MAX_BASELINES + 1)
        n = PN_MAX_BASELINES + 1;
    char ids[PN_MAX_BASELINES + 1][32];
    const char *ptr[PN_MAX_BASELINES + 1];
    size_t i = 0;
    for (const cJSON *b = cJSON_IsArray(bl) ? bl->child : NULL; b && i < n; b = b->next, i++) {
        snprintf(ids[i], sizeof ids[i], "%lld", (long long)(cJSON_IsNumber(b) ? b->valuedouble : 0));
        ptr[i] = ids[i];
    }
    char mid[32], target[32], ds[32];
    snprintf(mid, sizeof mid, "%lld", (long long)id);
    snprintf(target, sizeof target, "%lld", (long long)srv_num(model, "target"));
    snprintf(ds, sizeof ds, "%lld", (long long)srv_num(model, "data_source_id"));
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(model, "lookback_days");
    return pn_model_def_new(mid, srv_str(model, "name", ""), ptr, i, srv_num(model, "target") ? target : NULL,
                            srv_num(model, "data_source_id") ? ds : NULL,
                            cJSON_IsNumber(lb) ? (int)lb->valuedouble : PN_DEFAULT_LOOKBACK_DAYS, cat, out, err) == PN_OK
               ? 0
               : -1;
}
