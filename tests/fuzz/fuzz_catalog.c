/*
 * Fuzz target for catalogs (pn_catalog_parse). Beyond "no crash, no leak, no undefined
 * behaviour" it checks:
 *   - a failure leaves *out NULL and a matching error record with a message;
 *   - a parsed catalog is consistent: ids unique across traits and segments, labels within
 *     PN_DEC_ALL, every segment's rule parses and names only catalogued traits, its labels
 *     cover its traits' data sources;
 *   - model definitions over its traits and segments validate without crashing, and those
 *     that pass keep the rules of DESIGN §1.
 * Built with -DPN_FUZZ_STANDALONE it has a main() that runs each file named on the command
 * line once, for regression runs without libFuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_internal.h"
#include "personae/model.h"
#include "personae/rule.h"

#include "fuzz_check.h"

static void check_model(const pn_catalog *c, const char *const *ids, size_t n, const char *target)
{
    pn_model_def *m = NULL;
    pn_error err;
    pn_status st = pn_model_def_new(NULL, "fuzz", ids, n, target, NULL, 30, c, &m, &err);
    if (st != PN_OK) {
        CHECK(!m && err.code == st && err.message[0]);
        CHECK(st == PN_ERULE || st == PN_EUNKNOWN || st == PN_EINVAL);
        return;
    }
    CHECK(pn_model_def_baseline_count(m) == n && (pn_model_def_dec_union(m) & ~PN_DEC_ALL) == 0);
    int seg = pn_model_def_baselines_are_segments(m);
    for (size_t i = 0; i < n; i++) {
        const char *b = pn_model_def_baseline(m, i);
        CHECK(strcmp(b, ids[i]) == 0);
        CHECK(!seg == !pn_model_def_segment_rule(m, b));
        uint32_t k = pn__dict_find(seg ? &c->segments : &c->traits, b, strlen(b));
        CHECK(k != PN_DICT_NONE);
        if (seg) {
            CHECK(!c->segment_info[k].predictive && !c->segment_info[k].shared);
        } else {
            const pn_cat_trait *t = &c->trait_info[k];
            CHECK(t->kind != PN_TRAIT_PREDICTIVE && t->kind != PN_TRAIT_ALGORITHMIC && !t->third_party && !t->shared);
        }
    }
    pn_model_def_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pn_catalog *c = (pn_catalog *)1;
    pn_error err;
    pn_status st = pn_catalog_parse((const char *)data, size, &c, &err);
    if (st != PN_OK) {
        CHECK(c == NULL && err.code == st && err.message[0] != '\0');
        CHECK(st == PN_EPARSE || st == PN_EINVAL || st == PN_EUNKNOWN || st == PN_ELIMIT);
        return 0;
    }
    uint32_t NT = pn__dict_count(&c->traits), NS = pn__dict_count(&c->segments), ND = pn__dict_count(&c->sources);
    for (uint32_t d = 0; d < ND; d++)
        CHECK((c->source_labels[d] & ~PN_DEC_ALL) == 0);
    for (uint32_t t = 0; t < NT; t++) {
        size_t len;
        const char *id = pn__dict_str(&c->traits, t, &len);
        CHECK(len >= 1 && len <= 256);
        CHECK(pn__dict_find(&c->segments, id, len) == PN_DICT_NONE);
        CHECK(c->trait_info[t].data_source < ND && (unsigned)c->trait_info[t].kind <= PN_TRAIT_PREDICTIVE);
        int why = pn__catalog_trait_exclusion(c, id, len, PN_DEC_ALL);
        CHECK(why == PN_EXCLUDE_NONE || why == PN_EXCLUDE_PREDICTIVE || why == PN_EXCLUDE_THIRD_PARTY);
        CHECK(pn__catalog_trait_exclusion(c, id, len, c->source_labels[c->trait_info[t].data_source]) != PN_EXCLUDE_DEC);
    }
    for (uint32_t s = 0; s < NS; s++) {
        const pn_cat_segment *g = &c->segment_info[s];
        CHECK((g->dec_labels & ~PN_DEC_ALL) == 0);
        CHECK(g->data_source == PN_DICT_NONE || g->data_source < ND);
        pn_segment_rule *r;
        CHECK(pn_segment_rule_parse(g->rule, strlen(g->rule), &r, NULL, NULL) == PN_OK);
        for (size_t i = 0; i < pn_segment_rule_trait_count(r); i++) {
            size_t len;
            const char *id = pn_segment_rule_trait(r, i, &len);
            uint32_t t = pn__dict_find(&c->traits, id, len);
            CHECK(t != PN_DICT_NONE);
            CHECK((c->source_labels[c->trait_info[t].data_source] & ~g->dec_labels) == 0);
        }
        pn_segment_rule_free(r);
    }
    for (uint32_t d = 0; d < pn__dict_count(&c->destinations); d++) {
        uint32_t labels = 99;
        CHECK(pn_catalog_destination_labels(c, pn__dict_str(&c->destinations, d, NULL), &labels, NULL) == PN_OK);
        CHECK((labels & ~PN_DEC_ALL) == 0);
    }
    /* models over the first few traits, then the first few segments, with each other id as a
     * target */
    const char *ids[4];
    for (int kind = 0; kind < 2; kind++) {
        const pn_dict *d = kind ? &c->segments : &c->traits;
        size_t n = pn__dict_count(d) < 4 ? pn__dict_count(d) : 4;
        for (size_t i = 0; i < n; i++)
            ids[i] = pn__dict_str(d, (uint32_t)i, NULL);
        check_model(c, ids, n, NULL);
        for (uint32_t t = 0; t < NT && t < 8; t++)
            check_model(c, ids, n, pn__dict_str(&c->traits, t, NULL));
        for (uint32_t s = 0; s < NS && s < 8; s++)
            check_model(c, ids, n, pn__dict_str(&c->segments, s, NULL));
    }
    pn_catalog_free(c);
    return 0;
}

#include "standalone_main.h"
