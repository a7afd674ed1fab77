/*
 * Fuzz target for model definitions (pn_model_def_parse), against a fixed catalog and with
 * none, followed by what a valid definition feeds: its audience over a fixed profile store,
 * and training. Beyond "no crash, no leak, no undefined behaviour" it checks:
 *   - a failure leaves *out NULL with a matching error record;
 *   - a valid definition keeps DESIGN §1: 2 to 50 distinct baselines, all of one kind, a
 *     target that is not a baseline, a lookback of 0 to 3650 days, labels within PN_DEC_ALL;
 *   - its audience answers in range, and the primary persona is one of the visitor's;
 *   - a trained snapshot saves and loads to the same bytes and holds no defining trait.
 * Built with -DPN_FUZZ_STANDALONE it has a main() that runs each file named on the command
 * line once, for regression runs without libFuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/audience.h"
#include "personae/model.h"
#include "personae/train.h"

#include "fuzz_check.h"

static const char CATALOG[] =
    "{\"data_sources\":[{\"id\":\"web\"},{\"id\":\"crm\",\"dec_labels\":[\"pii\"]},"
    "  {\"id\":\"ads\",\"dec_labels\":[\"onsite_advertising\"]},{\"id\":5,\"dec_labels\":[\"onsite_personalization\"]}],"
    " \"traits\":[{\"id\":1,\"data_source\":\"web\"},{\"id\":2,\"data_source\":\"web\"},{\"id\":3,\"data_source\":\"crm\"},"
    "  {\"id\":4,\"data_source\":\"ads\"},{\"id\":5,\"data_source\":\"web\",\"kind\":\"onboarded\"},"
    "  {\"id\":6,\"data_source\":\"web\"},{\"id\":7,\"data_source\":\"crm\"},{\"id\":8,\"data_source\":\"web\"},"
    "  {\"id\":30,\"data_source\":\"web\",\"kind\":\"predictive\"},{\"id\":31,\"data_source\":\"web\",\"kind\":\"algorithmic\"},"
    "  {\"id\":32,\"data_source\":\"web\",\"party\":\"third\"},{\"id\":33,\"data_source\":\"web\",\"origin\":\"shared\"}],"
    " \"segments\":[{\"id\":\"s1\",\"rule\":\"1T AND NOT 2T\"},{\"id\":\"s2\",\"rule\":\"FREQUENCY([2T,3T] <= 2D) >= 2\"},"
    "  {\"id\":\"s3\",\"rule\":\"4T OR (5T AND 6T)\",\"data_source\":\"ads\"},{\"id\":\"s4\",\"rule\":\"NOT 7T\"},"
    "  {\"id\":\"sp\",\"rule\":\"1T\",\"predictive\":true},{\"id\":\"ssh\",\"rule\":\"2T\",\"origin\":\"shared\"}]}";

/* Twelve visitors over the catalog's traits and a few it does not list. */
static const char EVENTS[] =
    "a\t1\t1000\na\t6\t1000\na\t8\t1001\na\tx\t1002\n"
    "b\t2\t1000\nb\t2\t1100\nb\t3\t1200\nb\t8\t1200\nb\ty\t1200\n"
    "c\t4\t500\nc\t5\t600\nc\t6\t700\nc\tx\t700\n"
    "d\t1\t100\nd\t2\t200\nd\t7\t300\nd\t8\t300\n"
    "e\t3\t90000\ne\t3\t90001\ne\t6\t90002\ne\ty\t90003\n"
    "f\t7\t10\nf\t30\t10\nf\t31\t10\nf\t32\t10\nf\t33\t10\n"
    "g\t1\t259200\ng\t4\t259200\ng\tx\t259200\n"
    "h\t5\t1\nh\t6\t2\nh\t8\t3\n"
    "i\t2\t86400\ni\t6\t86400\ni\ty\t86400\n"
    "j\t1\t172800\nj\t3\t172800\nj\t8\t172800\n"
    "k\tz\t5\n"
    "l\t4\t7\nl\t8\t7\nl\tx\t7\n";

static pn_catalog *catalog;
static pn_profiles *store;

static void init(void)
{
    if (store)
        return;
    CHECK(pn_catalog_parse(CATALOG, strlen(CATALOG), &catalog, NULL) == PN_OK);
    CHECK(pn_profiles_new(&store, NULL) == PN_OK);
    const char *s = EVENTS;
    while (*s) {
        const char *e = strchr(s, '\n');
        CHECK(pn_profiles_add_line(store, s, (size_t)(e - s), NULL) == PN_OK);
        s = e + 1;
    }
    CHECK(pn_profiles_finish(store, NULL) == PN_OK);
}

static void check_audience(const pn_model_def *m)
{
    pn_audience *a;
    pn_error err;
    pn_status st = pn_audience_from_model(m, store, &a, &err);
    CHECK(st == PN_OK); /* the definition was validated: its segments parse */
    size_t P = pn_model_def_baseline_count(m);
    static const int64_t windows[][2] = {{INT64_MIN, INT64_MAX}, {0, 1000}, {1000, 259200}, {86400, 86400}, {5, 4}};
    for (uint32_t v = 0; v < pn_profiles_visitor_count(store); v++)
        for (size_t w = 0; w < sizeof windows / sizeof *windows; w++) {
            uint64_t set = pn_audience_baselines(a, v, windows[w][0], windows[w][1]);
            CHECK(P == 64 || (set >> P) == 0);
            int primary = pn_audience_primary(a, v, set, windows[w][0], windows[w][1]);
            CHECK(set ? primary >= 0 && (set >> primary & 1) : primary == -1);
            (void)pn_audience_in_target(a, v, windows[w][0], windows[w][1]);
        }
    pn_audience_free(a);
}

static void check_training(const pn_model_def *m, const pn_catalog *c)
{
    pn_snapshot *s = NULL;
    pn_error err;
    pn_train_options o;
    pn_train_options_init(&o);
    pn_status st = pn_train(store, m, c, &o, &s, &err);
    if (st != PN_OK) {
        CHECK(!s && err.code == st && (st == PN_ETRAIN));
        return;
    }
    void *b1, *b2;
    size_t l1, l2;
    pn_snapshot *again;
    CHECK(pn_snapshot_save(s, &b1, &l1, NULL) == PN_OK);
    CHECK(pn_snapshot_load(b1, l1, &again, &err) == PN_OK);
    CHECK(pn_snapshot_save(again, &b2, &l2, NULL) == PN_OK);
    CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
    pn_audience *a;
    CHECK(pn_audience_from_model(m, store, &a, NULL) == PN_OK);
    for (uint32_t t = 0; t < pn_snapshot_trait_count(s); t++) {
        size_t len;
        const char *id = pn_snapshot_trait_id(s, t, &len);
        uint32_t k = pn_profiles_trait_find(store, id, len);
        CHECK(k != PN_NONE && !pn_audience_defines(a, k));
    }
    pn_audience_free(a);
    for (uint32_t v = 0; v < pn_profiles_visitor_count(store); v++) {
        size_t n;
        const pn_realization *r = pn_profiles_visitor_traits(store, v, &n);
        uint32_t idx[64];
        for (size_t i = 0; i < n && i < 64; i++) {
            size_t len;
            const char *id = pn_profiles_trait_id(store, r[i].trait, &len);
            idx[i] = pn_snapshot_trait_find(again, id, len);
        }
        pn_classification cl;
        CHECK(pn_snapshot_classify(again, idx, n < 64 ? n : 64, &cl, NULL) == PN_OK);
        CHECK(cl.persona < (int32_t)pn_snapshot_persona_count(again));
    }
    pn_bytes_free(b1);
    pn_bytes_free(b2);
    pn_snapshot_free(again);
    pn_snapshot_free(s);
}

static void check(const uint8_t *data, size_t size, const pn_catalog *c)
{
    pn_model_def *m = (pn_model_def *)1;
    pn_error err;
    pn_status st = pn_model_def_parse((const char *)data, size, c, &m, &err);
    if (st != PN_OK) {
        CHECK(m == NULL && err.code == st && err.message[0] != '\0');
        CHECK(st == PN_EPARSE || st == PN_EINVAL || st == PN_ERULE || st == PN_EUNKNOWN);
        return;
    }
    size_t n = pn_model_def_baseline_count(m);
    CHECK(n >= PN_MIN_BASELINES && n <= PN_MAX_BASELINES);
    CHECK(pn_model_def_lookback_days(m) >= 0 && pn_model_def_lookback_days(m) <= PN_MAX_LOOKBACK_DAYS);
    CHECK((pn_model_def_dec_union(m) & ~PN_DEC_ALL) == 0);
    CHECK(c || pn_model_def_dec_union(m) == 0);
    const char *target = pn_model_def_target(m);
    int seg = pn_model_def_baselines_are_segments(m);
    for (size_t i = 0; i < n; i++) {
        const char *b = pn_model_def_baseline(m, i);
        CHECK(b && *b && (!target || strcmp(b, target) != 0));
        CHECK(!seg == !pn_model_def_segment_rule(m, b));
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(b, pn_model_def_baseline(m, j)) != 0);
    }
    CHECK(!target || !pn_model_def_target_is_segment(m) == !pn_model_def_segment_rule(m, target));
    CHECK(pn_model_def_name(m)[0] && pn_model_def_id(m)[0]);
    check_audience(m);
    check_training(m, c);
    pn_model_def_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    check(data, size, catalog);
    check(data, size, NULL);
    return 0;
}

#include "standalone_main.h"
