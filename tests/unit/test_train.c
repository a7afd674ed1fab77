/* Training on small hand-built stores whose answers are known: what is learned, which traits
 * may never be features, the time window, visitors in several personas, warnings and refusals,
 * determinism and minimum support. */
#include "test_util.h"

#include <math.h>

#include "personae/model.h"
#include "personae/train.h"

#define NOW 1700000000LL
#define DAY 86400LL

/* Section - Building inputs */

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void add(text *t, const char *uuid, const char *trait, long long ts)
{
    if (t->len + 600 > t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1 << 16;
        t->s = realloc(t->s, t->cap);
    }
    t->len += (size_t)snprintf(t->s + t->len, t->cap - t->len, "%s\t%s\t%lld\n", uuid, trait, ts);
}

static pn_profiles *store(text *t)
{
    pn_profiles *p = pn_test_profiles(t->s ? t->s : "");
    free(t->s);
    *t = (text){0};
    return p;
}

/* Two personas, A and B, of n visitors each, perfectly symmetric: visitor i of A has A and two
 * of a0, a1, a2 and the common trait c; B likewise with b0-b2. `targets` visitors with T and
 * one telltale of each side alternately. */
static pn_profiles *two_personas(int n, int targets)
{
    text t = {0};
    char u[32], tr[8];
    for (int i = 0; i < n; i++)
        for (int side = 0; side < 2; side++) {
            snprintf(u, sizeof u, "%c%d", side ? 'b' : 'a', i);
            add(&t, u, side ? "B" : "A", NOW - i);
            snprintf(tr, sizeof tr, "%c%d", side ? 'b' : 'a', i % 3);
            add(&t, u, tr, NOW - i);
            snprintf(tr, sizeof tr, "%c%d", side ? 'b' : 'a', (i + 1) % 3);
            add(&t, u, tr, NOW - i);
            add(&t, u, "c", NOW - i);
        }
    for (int i = 0; i < targets; i++) {
        snprintf(u, sizeof u, "x%d", i);
        add(&t, u, "T", NOW - i);
        snprintf(tr, sizeof tr, "%c%d", i % 2 ? 'b' : 'a', i % 3);
        add(&t, u, tr, NOW - i);
    }
    return store(&t);
}

static pn_model_def *model(const char *json, const pn_catalog *c)
{
    pn_model_def *m;
    pn_error err;
    if (pn_model_def_parse(json, strlen(json), c, &m, &err))
        fail_msg("model %s: %s", json, err.message);
    return m;
}

static pn_catalog *catalog(const char *json)
{
    pn_catalog *c;
    pn_error err;
    if (pn_catalog_parse(json, strlen(json), &c, &err))
        fail_msg("catalog: %s", err.message);
    return c;
}

static pn_snapshot *train_ok(const pn_profiles *p, const char *model_json, const pn_catalog *c,
                             const pn_train_options *o)
{
    pn_model_def *m = model(model_json, c);
    pn_snapshot *s;
    pn_error err;
    if (pn_train(p, m, c, o, &s, &err))
        fail_msg("train %s: %s", model_json, err.message);
    pn_model_def_free(m);
    return s;
}

static uint32_t trait(const pn_snapshot *s, const char *id)
{
    return pn_snapshot_trait_find(s, id, strlen(id));
}

static int classify_ids(const pn_snapshot *s, const char *const *ids, size_t n)
{
    pn_classification c;
    assert_int_equal(pn_snapshot_classify_ids(s, ids, NULL, n, &c, NULL), PN_OK);
    return c.persona;
}

/* The snapshot's trait table as a sorted, space-separated list. */
static void trait_set(const pn_snapshot *s, char *out, size_t cap)
{
    size_t n = pn_snapshot_trait_count(s);
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    for (uint32_t t = 0; t < n; t++)
        ids[t] = pn_snapshot_trait_id(s, t, NULL);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(ids[j - 1], ids[j]) > 0; j--) {
            const char *x = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = x;
        }
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%s", i ? " " : "", ids[i]);
    free(ids);
}

static int has_reason(const pn_snapshot *s, const char *needle)
{
    for (size_t i = 0; i < pn_snapshot_reason_count(s); i++)
        if (strstr(pn_snapshot_reason(s, i), needle))
            return 1;
    return 0;
}

static pn_train_options quiet(void)
{
    pn_train_options o;
    pn_train_options_init(&o);
    o.advised_persona_visitors = 1;
    o.advised_traits_per_visitor = 0;
    return o;
}

/* Section - What is learned */

static void defaults_are_documented(void **state)
{
    (void)state;
    pn_train_options o;
    memset(&o, 0x55, sizeof o);
    pn_train_options_init(&o);
    assert_int_equal(o.as_of, 0);
    assert_true(o.holdout_fraction == 0.2);
    assert_int_equal(o.seed, 1);
    assert_int_equal(o.model_version, 1);
    assert_int_equal(o.created_at, 0);
    assert_int_equal(o.min_support, 1);
    assert_int_equal(o.advised_persona_visitors, 200);
    assert_true(o.advised_traits_per_visitor == 3.0);
    assert_null(o.progress);
}

static void disjoint_telltales_are_learned_with_signed_centered_weights(void **state)
{
    (void)state;
    pn_profiles *p = two_personas(30, 10);
    pn_train_options o = quiet();
    pn_snapshot *s = train_ok(p, "{\"name\":\"ab\",\"baselines\":[\"A\",\"B\"],\"target\":\"T\"}", NULL, &o);
    assert_int_equal(pn_snapshot_persona_count(s), 2);
    assert_string_equal(pn_snapshot_persona_id(s, 0), "A");
    assert_string_equal(pn_snapshot_persona_id(s, 1), "B");
    char set[256];
    trait_set(s, set, sizeof set);
    assert_string_equal(set, "a0 a1 a2 b0 b1 b2 c");
    for (int k = 0; k < 3; k++) {
        char a[4], b[4];
        snprintf(a, sizeof a, "a%d", k);
        snprintf(b, sizeof b, "b%d", k);
        uint32_t ta = trait(s, a), tb = trait(s, b);
        /* a telltale of A raises A and lowers B; centered, the two weights cancel */
        assert_true(pn_snapshot_weight(s, ta, 0) > 0.1);
        assert_true(pn_snapshot_weight(s, ta, 1) < -0.1);
        assert_true(fabs(pn_snapshot_weight(s, ta, 0) + pn_snapshot_weight(s, ta, 1)) < 1e-5);
        /* and symmetric data gives mirrored weights */
        assert_true(fabs(pn_snapshot_weight(s, ta, 0) - pn_snapshot_weight(s, tb, 1)) < 1e-5);
        assert_int_equal(pn_snapshot_trait_support(s, ta), 20);
    }
    /* the common trait says nothing */
    assert_true(fabs(pn_snapshot_weight(s, trait(s, "c"), 0)) < 1e-5);
    assert_int_equal(pn_snapshot_trait_support(s, trait(s, "c")), 60);
    /* visitors like the held-out ones are classified right */
    const char *const xa[] = {"a0"}, *const xb[] = {"b2", "c"}, *const xab[] = {"a1", "a2", "b0"};
    assert_int_equal(classify_ids(s, xa, 1), 0);
    assert_int_equal(classify_ids(s, xb, 2), 1);
    assert_int_equal(classify_ids(s, xab, 3), 0);
    /* bookkeeping */
    pn_quality q;
    pn_snapshot_quality(s, &q);
    assert_int_equal(q.training_visitors, 60);
    assert_int_equal(q.target_visitors, 10);
    assert_true(q.median_traits_training == 3.0);
    assert_true(q.median_traits_target == 1.0);
    assert_true(q.holdout_visitors > 0 && q.holdout_visitors < 30);
    assert_true(q.accuracy == 1.0);
    assert_true(q.temperature > 0);
    for (size_t k = 0; k < 2; k++) {
        pn_persona_info info;
        assert_int_equal(pn_snapshot_persona_info(s, k, &info), PN_OK);
        assert_int_equal(info.status, PN_PERSONA_SUCCEEDED);
        assert_int_equal(info.training_visitors, 30);
    }
    assert_int_equal(pn_snapshot_status(s), PN_STATUS_ACTIVE);
    assert_int_equal(pn_snapshot_reason_count(s), 0);
    assert_string_equal(pn_snapshot_model_id(s), "ab");
    assert_string_equal(pn_snapshot_target(s, NULL), "T");
    pn_snapshot_free(s);
    pn_profiles_free(p);
}

static void three_personas_are_centered_per_trait(void **state)
{
    (void)state;
    char *t = pn_test_synthetic(300, 3, 30, NOW - 20 * DAY, 3);
    pn_profiles *p = pn_test_profiles(t);
    free(t);
    pn_train_options o = quiet();
    pn_snapshot *s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"b0\",\"b1\",\"b2\"],\"target\":\"tgt\"}", NULL, &o);
    for (uint32_t f = 0; f < pn_snapshot_trait_count(s); f++) {
        double sum = 0;
        for (size_t k = 0; k < 3; k++)
            sum += pn_snapshot_weight(s, f, k);
        assert_true(fabs(sum) < 3e-6); /* centered, up to the weights' rounding */
    }
    /* each persona's telltales raise it most */
    for (size_t k = 0; k < 3; k++)
        for (int j = 0; j < 4; j++) {
            char id[8];
            snprintf(id, sizeof id, "p%zu_%d", k, j);
            uint32_t f = trait(s, id);
            assert_int_not_equal(f, PN_NO_TRAIT);
            for (size_t q = 0; q < 3; q++)
                if (q != k)
                    assert_true(pn_snapshot_weight(s, f, k) > pn_snapshot_weight(s, f, q));
        }
    pn_quality q;
    pn_snapshot_quality(s, &q);
    assert_true(q.accuracy > 0.9);
    assert_true(q.macro_f1 > 0.9);
    pn_snapshot_free(s);
    pn_profiles_free(p);
}

/* Section - What may never be a feature */

static void excluded_traits_never_reach_the_snapshot(void **state)
{
    (void)state;
    static const char CAT[] =
        "{\"data_sources\":[{\"id\":\"web\"},{\"id\":\"crm\",\"dec_labels\":[\"pii\"]},"
        "  {\"id\":\"ads\",\"dec_labels\":[\"onsite_advertising\"]},{\"id\":\"pa\",\"dec_labels\":[\"onsite_advertising\"]}],"
        " \"traits\":[{\"id\":\"A\",\"data_source\":\"web\"},{\"id\":\"B\",\"data_source\":\"web\"},"
        "  {\"id\":\"Bcrm\",\"data_source\":\"crm\"},{\"id\":\"T\",\"data_source\":\"web\"},"
        "  {\"id\":\"ok\",\"data_source\":\"web\"},{\"id\":\"algo\",\"data_source\":\"web\",\"kind\":\"algorithmic\"},"
        "  {\"id\":\"onb\",\"data_source\":\"web\",\"kind\":\"onboarded\"},"
        "  {\"id\":\"pred\",\"data_source\":\"web\",\"kind\":\"predictive\"},"
        "  {\"id\":\"third\",\"data_source\":\"web\",\"party\":\"third\"},"
        "  {\"id\":\"pii\",\"data_source\":\"crm\"},{\"id\":\"ads\",\"data_source\":\"ads\"}]}";
    pn_catalog *c = catalog(CAT);
    text t = {0};
    static const char *const features[] = {"ok", "algo", "onb", "pred", "third", "pii", "ads", "mystery"};
    char u[16];
    for (int i = 0; i < 20; i++) {
        snprintf(u, sizeof u, "u%d", i);
        add(&t, u, i % 2 ? "A" : "B", NOW);
        if (i % 4 == 0)
            add(&t, u, "Bcrm", NOW);
        add(&t, u, "T", NOW);
        for (size_t k = 0; k < N_ELEMS(features); k++)
            add(&t, u, features[k], NOW);
    }
    add(&t, "x", "T", NOW);
    add(&t, "x", "ok", NOW);
    pn_profiles *p = store(&t);
    pn_train_options o = quiet();
    const struct {
        const char *model;
        const char *want;
    } cases[] = {
        /* union {}: pii and ads are restricted; predictive, third-party, uncatalogued never */
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"target\":\"T\"}", "algo ok onb"},
        /* a pii baseline brings pii into the union */
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"Bcrm\"],\"target\":\"T\"}", "B algo ok onb pii"},
        /* the model's data source brings onsite_advertising */
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"data_source\":\"pa\"}", "T algo ads ok onb"},
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"Bcrm\"],\"target\":\"T\",\"data_source\":\"ads\"}", "B ads algo ok onb pii"},
    };
    for (size_t k = 0; k < N_ELEMS(cases); k++) {
        pn_snapshot *s = train_ok(p, cases[k].model, c, &o);
        char set[256], want[256];
        trait_set(s, set, sizeof set);
        /* compare as sorted sets */
        snprintf(want, sizeof want, "%s", cases[k].want);
        const char *w[16];
        size_t nw = 0;
        for (char *tok = strtok(want, " "); tok; tok = strtok(NULL, " "))
            w[nw++] = tok;
        for (size_t i = 1; i < nw; i++)
            for (size_t j = i; j > 0 && strcmp(w[j - 1], w[j]) > 0; j--) {
                const char *x = w[j];
                w[j] = w[j - 1];
                w[j - 1] = x;
            }
        char sorted[256];
        size_t at = 0;
        sorted[0] = '\0';
        for (size_t i = 0; i < nw; i++)
            at += (size_t)snprintf(sorted + at, sizeof sorted - at, "%s%s", i ? " " : "", w[i]);
        if (strcmp(set, sorted) != 0)
            fail_msg("case %zu %s: traits \"%s\", want \"%s\"", k, cases[k].model, set, sorted);
        pn_snapshot_free(s);
    }
    /* without a catalog only the model's own traits are left out */
    pn_snapshot *s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"target\":\"T\"}", NULL, &o);
    char set[256];
    trait_set(s, set, sizeof set);
    assert_string_equal(set, "Bcrm ads algo mystery ok onb pii pred third");
    pn_snapshot_free(s);
    pn_profiles_free(p);
    pn_catalog_free(c);
}

static void segment_baselines_leave_out_the_traits_they_name(void **state)
{
    (void)state;
    static const char CAT[] =
        "{\"data_sources\":[{\"id\":\"web\"}],"
        " \"traits\":[{\"id\":1,\"data_source\":\"web\"},{\"id\":2,\"data_source\":\"web\"},{\"id\":3,\"data_source\":\"web\"},"
        "  {\"id\":4,\"data_source\":\"web\"},{\"id\":5,\"data_source\":\"web\"},{\"id\":10,\"data_source\":\"web\"},"
        "  {\"id\":11,\"data_source\":\"web\"},{\"id\":12,\"data_source\":\"web\"}],"
        " \"segments\":[{\"id\":\"sa\",\"rule\":\"1T AND NOT 3T\"},{\"id\":\"sb\",\"rule\":\"FREQUENCY([2T] <= 30D) >= 2\"},"
        "  {\"id\":\"st\",\"rule\":\"4T OR 5T\"}]}";
    pn_catalog *c = catalog(CAT);
    text t = {0};
    char u[16];
    for (int i = 0; i < 24; i++) {
        snprintf(u, sizeof u, "u%d", i);
        if (i % 2) {
            add(&t, u, "1", NOW);
            add(&t, u, "10", NOW);
        } else {
            add(&t, u, "2", NOW - 1);
            add(&t, u, "2", NOW);
            add(&t, u, "11", NOW);
        }
        add(&t, u, "12", NOW);
    }
    add(&t, "blocked", "1", NOW); /* 1 AND NOT 3: not in sa */
    add(&t, "blocked", "3", NOW);
    add(&t, "blocked", "4", NOW);
    add(&t, "blocked", "10", NOW);
    add(&t, "once", "2", NOW); /* FREQUENCY 1: not in sb */
    add(&t, "once", "5", NOW);
    pn_profiles *p = store(&t);
    pn_train_options o = quiet();
    pn_snapshot *s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"sa\",\"sb\"],\"target\":\"st\"}", c, &o);
    char set[256];
    trait_set(s, set, sizeof set);
    assert_string_equal(set, "10 11 12");
    assert_string_equal(pn_snapshot_persona_rule(s, 0), "1T AND NOT 3T");
    assert_string_equal(pn_snapshot_persona_rule(s, 1), "FREQUENCY([2T] <= 30D) >= 2");
    const char *rule;
    assert_string_equal(pn_snapshot_target(s, &rule), "st");
    assert_string_equal(rule, "4T OR 5T");
    pn_quality q;
    pn_snapshot_quality(s, &q);
    assert_int_equal(q.training_visitors, 24);
    assert_int_equal(q.target_visitors, 2);
    pn_snapshot_free(s);
    pn_profiles_free(p);
    pn_catalog_free(c);
}

/* Section - The time window */

static void lookback_and_as_of_choose_the_visitors_and_features(void **state)
{
    (void)state;
    text t = {0};
    char u[16];
    /* recent: 10 A and 10 B visitors a day before NOW, with telltales; their trait "old" was
     * realized 40 days before NOW */
    for (int i = 0; i < 20; i++) {
        snprintf(u, sizeof u, "r%d", i);
        add(&t, u, i % 2 ? "A" : "B", NOW - DAY);
        add(&t, u, i % 2 ? "fa" : "fb", NOW - DAY);
        add(&t, u, "old", NOW - 40 * DAY);
    }
    /* old: 6 A visitors active only 40 days before NOW */
    for (int i = 0; i < 6; i++) {
        snprintf(u, sizeof u, "o%d", i);
        add(&t, u, "A", NOW - 40 * DAY);
        add(&t, u, "fo", NOW - 40 * DAY);
    }
    /* future: realized after an as_of of NOW - 2 days */
    add(&t, "late", "B", NOW);
    add(&t, "late", "fl", NOW);
    pn_profiles *p = store(&t);
    pn_train_options o = quiet();
    const struct {
        const char *model;
        int64_t as_of;
        uint32_t a, b;
        const char *traits;
    } cases[] = {
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"B\"]}", 0, 10, 11, "fa fb fl"},
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"lookback_days\":30}", NOW, 10, 11, "fa fb fl"},
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"lookback_days\":40}", NOW, 16, 11, "fa fb fl fo old"},
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"lookback_days\":0}", 0, 16, 11, "fa fb fl fo old"},
        /* as_of two days ago: the recent visitors are out too (a day ago is after it) */
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"lookback_days\":0}", NOW - 2 * DAY, 6, 0, NULL},
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"lookback_days\":0}", NOW - DAY, 16, 10, "fa fb fo old"},
        {"{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"lookback_days\":1}", NOW - DAY, 10, 10, "fa fb"},
    };
    for (size_t k = 0; k < N_ELEMS(cases); k++) {
        o.as_of = cases[k].as_of;
        pn_model_def *m = model(cases[k].model, NULL);
        pn_snapshot *s = NULL;
        pn_error err;
        pn_status st = pn_train(p, m, NULL, &o, &s, &err);
        pn_model_def_free(m);
        if (!cases[k].traits) {
            assert_status(st, PN_ETRAIN, &err, "only 1 of the 2 baselines");
            assert_null(s);
            continue;
        }
        if (st)
            fail_msg("case %zu: %s", k, err.message);
        pn_persona_info a, b;
        pn_snapshot_persona_info(s, 0, &a);
        pn_snapshot_persona_info(s, 1, &b);
        char set[256];
        trait_set(s, set, sizeof set);
        if (a.training_visitors != cases[k].a || b.training_visitors != cases[k].b || strcmp(set, cases[k].traits))
            fail_msg("case %zu: A %u B %u traits \"%s\", want %u %u \"%s\"", k, a.training_visitors, b.training_visitors,
                     set, cases[k].a, cases[k].b, cases[k].traits);
        assert_int_equal(pn_snapshot_created_at(s), cases[k].as_of ? cases[k].as_of : NOW);
        pn_snapshot_free(s);
    }
    pn_profiles_free(p);
}

static void visitors_in_several_personas_train_each(void **state)
{
    (void)state;
    text t = {0};
    char u[16];
    for (int i = 0; i < 10; i++) {
        snprintf(u, sizeof u, "a%d", i);
        add(&t, u, "A", NOW);
        add(&t, u, "fa", NOW);
        snprintf(u, sizeof u, "b%d", i);
        add(&t, u, "B", NOW);
        add(&t, u, "fb", NOW);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(u, sizeof u, "ab%d", i);
        add(&t, u, "A", NOW - 10);
        add(&t, u, "B", NOW);
        add(&t, u, "fab", NOW);
    }
    pn_profiles *p = store(&t);
    pn_train_options o = quiet();
    pn_snapshot *s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"A\",\"B\",\"C\"]}", NULL, &o);
    pn_persona_info a, b, c;
    pn_snapshot_persona_info(s, 0, &a);
    pn_snapshot_persona_info(s, 1, &b);
    pn_snapshot_persona_info(s, 2, &c);
    assert_int_equal(a.training_visitors, 14);
    assert_int_equal(b.training_visitors, 14);
    assert_int_equal(c.training_visitors, 0);
    assert_int_equal(c.status, PN_PERSONA_INSUFFICIENT_DATA);
    pn_quality q;
    pn_snapshot_quality(s, &q);
    assert_int_equal(q.training_visitors, 24);
    /* shared between A and B equally: fab leans to neither */
    uint32_t f = trait(s, "fab");
    assert_true(fabs(pn_snapshot_weight(s, f, 0) - pn_snapshot_weight(s, f, 1)) < 1e-5);
    assert_true(pn_snapshot_weight(s, f, 2) == 0.0); /* C has no data */
    /* a persona with no visitor warns and never wins */
    assert_int_equal(pn_snapshot_status(s), PN_STATUS_WARNING);
    assert_true(has_reason(s, "persona 'C' has no visitor with usable traits in the training window"));
    const char *const ids[] = {"fa", "fab"};
    assert_int_not_equal(classify_ids(s, ids, 2), 2);
    pn_snapshot_free(s);
    pn_profiles_free(p);
}

/* A persona whose visitors have no usable trait learns nothing: it must not be able to win. */
static void persona_without_usable_traits_never_wins(void **state)
{
    (void)state;
    text t = {0};
    char u[16];
    for (int i = 0; i < 10; i++) {
        snprintf(u, sizeof u, "e%d", i); /* persona E: nothing but its baseline */
        add(&t, u, "E", NOW);
        snprintf(u, sizeof u, "a%d", i);
        add(&t, u, "A", NOW);
        add(&t, u, "fa", NOW);
        add(&t, u, "c", NOW);
        snprintf(u, sizeof u, "b%d", i);
        add(&t, u, "B", NOW);
        add(&t, u, "fb", NOW);
        add(&t, u, "c", NOW);
    }
    pn_profiles *p = store(&t);
    pn_train_options o = quiet();
    pn_snapshot *s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"E\",\"A\",\"B\"]}", NULL, &o);
    /* c is shared equally by A and B: all three scores are 0 for a visitor with only c */
    const char *const ids[] = {"c"};
    pn_classification c;
    assert_int_equal(pn_snapshot_classify_ids(s, ids, NULL, 1, &c, NULL), PN_OK);
    pn_persona_info e;
    pn_snapshot_persona_info(s, 0, &e);
    assert_int_equal(e.status, PN_PERSONA_INSUFFICIENT_DATA);
    assert_int_not_equal(c.persona, 0);
    pn_snapshot_free(s);
    pn_profiles_free(p);
}

/* Section - Warnings and refusals */

static void warnings_name_their_cause(void **state)
{
    (void)state;
    pn_profiles *p = two_personas(12, 0);
    pn_train_options o;
    pn_train_options_init(&o); /* advice: 200 visitors, 3 traits */
    pn_snapshot *s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"target\":\"T\"}", NULL, &o);
    assert_int_equal(pn_snapshot_status(s), PN_STATUS_WARNING);
    assert_true(has_reason(s, "persona 'A' has only 12 training visitors; a few hundred are advised"));
    assert_true(has_reason(s, "persona 'B' has only 12 training visitors"));
    assert_true(has_reason(s, "no active visitor of the target audience"));
    assert_false(has_reason(s, "usable traits")); /* a median of 3 is enough */
    pn_snapshot_free(s);

    o.advised_persona_visitors = 12;
    o.advised_traits_per_visitor = 3.5;
    s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"A\",\"B\"]}", NULL, &o);
    assert_false(has_reason(s, "training visitors;"));
    assert_true(has_reason(s, "training visitors have a median of 3.0 usable traits; at least 4 are advised"));
    /* the target is everyone, and everyone is in a persona */
    assert_true(has_reason(s, "nobody to classify"));
    pn_snapshot_free(s);
    pn_profiles_free(p);

    p = two_personas(12, 6);
    o.advised_traits_per_visitor = 2;
    s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"target\":\"T\"}", NULL, &o);
    assert_true(has_reason(s, "target visitors have a median of 1.0 usable traits; at least 2 are advised"));
    assert_int_equal(pn_snapshot_reason_count(s), 1);
    pn_snapshot_free(s);
    o.advised_traits_per_visitor = 1;
    s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"target\":\"T\"}", NULL, &o);
    assert_int_equal(pn_snapshot_status(s), PN_STATUS_ACTIVE);
    assert_int_equal(pn_snapshot_reason_count(s), 0);
    pn_snapshot_free(s);
    pn_profiles_free(p);
}

static void training_refuses_with_an_actionable_sentence(void **state)
{
    (void)state;
    pn_profiles *p = two_personas(5, 3);
    text t = {0};
    add(&t, "u1", "A", NOW);
    add(&t, "u2", "B", NOW);
    pn_profiles *bare = store(&t);
    const struct {
        const pn_profiles *p;
        const char *model;
        pn_status code;
        const char *needle;
    } cases[] = {
        {p, "{\"name\":\"m\",\"baselines\":[\"X\",\"Y\"]}", PN_ETRAIN,
         "no visitor active in the 30 days before 1700000000 qualifies for any baseline"},
        {p, "{\"name\":\"m\",\"baselines\":[\"X\",\"Y\"],\"lookback_days\":0}", PN_ETRAIN,
         "no visitor qualifies for any baseline"},
        {p, "{\"name\":\"m\",\"baselines\":[\"A\",\"Y\"]}", PN_ETRAIN, "only 1 of the 2 baselines has visitors"},
        {p, "{\"name\":\"m\",\"baselines\":[\"A\",\"Y\",\"Z\"]}", PN_ETRAIN, "only 1 of the 3 baselines"},
        {bare, "{\"name\":\"m\",\"baselines\":[\"A\",\"B\"]}", PN_ETRAIN, "no usable trait"},
        /* a trait everyone has as a third baseline: it trains (c is no longer a feature) */
        {p, "{\"name\":\"m\",\"baselines\":[\"A\",\"B\",\"c\"]}", PN_OK, NULL},
    };
    for (size_t k = 0; k < N_ELEMS(cases); k++) {
        pn_model_def *m = model(cases[k].model, NULL);
        pn_snapshot *s = (pn_snapshot *)1;
        pn_error err;
        pn_status st = pn_train(cases[k].p, m, NULL, NULL, &s, &err);
        if (cases[k].code == PN_OK) {
            assert_int_equal(st, PN_OK);
            pn_snapshot_free(s);
        } else {
            assert_status(st, cases[k].code, &err, cases[k].needle);
            assert_null(s);
        }
        pn_model_def_free(m);
    }
    /* options out of range */
    pn_model_def *m = model("{\"name\":\"m\",\"baselines\":[\"A\",\"B\"]}", NULL);
    const double bad_fractions[] = {-0.1, 1.0, 2.0, NAN};
    for (size_t k = 0; k < N_ELEMS(bad_fractions); k++) {
        pn_train_options o;
        pn_train_options_init(&o);
        o.holdout_fraction = bad_fractions[k];
        pn_snapshot *s = (pn_snapshot *)1;
        pn_error err;
        assert_status(pn_train(p, m, NULL, &o, &s, &err), PN_EINVAL, &err, "holdout_fraction");
        assert_null(s);
    }
    /* an unsealed store */
    pn_profiles *open;
    assert_int_equal(pn_profiles_new(&open, NULL), PN_OK);
    pn_snapshot *s = (pn_snapshot *)1;
    pn_error err;
    assert_status(pn_train(open, m, NULL, NULL, &s, &err), PN_EINVAL, &err, "sealed");
    assert_null(s);
    pn_profiles_free(open);
    pn_model_def_free(m);
    pn_profiles_free(bare);
    pn_profiles_free(p);
}

/* Section - Determinism, support, options */

static uint8_t *saved(const pn_snapshot *s, size_t *len)
{
    void *b;
    assert_int_equal(pn_snapshot_save(s, &b, len, NULL), PN_OK);
    return b;
}

static void training_twice_gives_identical_bytes(void **state)
{
    (void)state;
    char *t = pn_test_synthetic(400, 4, 40, NOW - 20 * DAY, 11);
    pn_profiles *p1 = pn_test_profiles(t), *p2 = pn_test_profiles(t);
    free(t);
    const char *json = "{\"name\":\"m\",\"baselines\":[\"b0\",\"b1\",\"b2\",\"b3\"],\"target\":\"tgt\"}";
    pn_snapshot *a = train_ok(p1, json, NULL, NULL), *b = train_ok(p2, json, NULL, NULL), *c = train_ok(p1, json, NULL, NULL);
    size_t la, lb, lc;
    uint8_t *ba = saved(a, &la), *bb = saved(b, &lb), *bc = saved(c, &lc);
    assert_int_equal(la, lb);
    assert_int_equal(la, lc);
    assert_memory_equal(ba, bb, la);
    assert_memory_equal(ba, bc, la);
    /* another holdout seed changes the quality figures, never the weights (fit on everyone) */
    pn_train_options o;
    pn_train_options_init(&o);
    o.seed = 99;
    pn_snapshot *d = train_ok(p1, json, NULL, &o);
    assert_int_equal(pn_snapshot_trait_count(d), pn_snapshot_trait_count(a));
    for (uint32_t f = 0; f < pn_snapshot_trait_count(a); f++)
        for (size_t k = 0; k < 4; k++)
            assert_true(pn_snapshot_weight(a, f, k) == pn_snapshot_weight(d, f, k));
    pn_bytes_free(ba);
    pn_bytes_free(bb);
    pn_bytes_free(bc);
    pn_snapshot_free(a);
    pn_snapshot_free(b);
    pn_snapshot_free(c);
    pn_snapshot_free(d);
    pn_profiles_free(p1);
    pn_profiles_free(p2);
}

static void min_support_leaves_out_rare_traits(void **state)
{
    (void)state;
    text t = {0};
    char u[16], f[16];
    /* trait s<k> is realized by k + 1 training visitors (and by many target visitors, which
     * do not count as support) */
    for (int i = 0; i < 10; i++) {
        snprintf(u, sizeof u, "u%d", i);
        add(&t, u, i % 2 ? "A" : "B", NOW);
        for (int k = i; k < 10; k++) {
            snprintf(f, sizeof f, "s%d", k);
            add(&t, u, f, NOW);
        }
        snprintf(u, sizeof u, "x%d", i);
        add(&t, u, "s0", NOW);
    }
    pn_profiles *p = store(&t);
    const uint32_t levels[] = {0, 1, 2, 5, 10};
    for (size_t k = 0; k < N_ELEMS(levels); k++) {
        pn_train_options o = quiet();
        o.min_support = levels[k];
        pn_snapshot *s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"A\",\"B\"]}", NULL, &o);
        uint32_t floor_support = levels[k] ? levels[k] : 1;
        assert_int_equal(pn_snapshot_trait_count(s), 10 - (floor_support - 1));
        for (int j = 0; j < 10; j++) {
            snprintf(f, sizeof f, "s%d", j);
            uint32_t x = trait(s, f);
            if ((uint32_t)j + 1 < floor_support) {
                assert_int_equal(x, PN_NO_TRAIT);
            } else {
                assert_int_not_equal(x, PN_NO_TRAIT);
                assert_int_equal(pn_snapshot_trait_support(s, x), j + 1);
            }
        }
        pn_snapshot_free(s);
    }
    pn_train_options o = quiet();
    o.min_support = 11;
    pn_model_def *m = model("{\"name\":\"m\",\"baselines\":[\"A\",\"B\"]}", NULL);
    pn_snapshot *s;
    pn_error err;
    assert_status(pn_train(p, m, NULL, &o, &s, &err), PN_ETRAIN, &err, "no usable trait");
    pn_model_def_free(m);
    pn_profiles_free(p);
}

typedef struct progress_log {
    int calls;
    double last;
    int out_of_range;
    int saw_training;
} progress_log;

static void on_progress(void *ctx, const char *stage, double f)
{
    progress_log *l = ctx;
    l->calls++;
    l->last = f;
    l->out_of_range |= !(f >= 0 && f <= 1);
    l->saw_training |= strcmp(stage, "training") == 0;
}

static void options_reach_the_snapshot(void **state)
{
    (void)state;
    pn_profiles *p = two_personas(15, 2);
    pn_train_options o = quiet();
    progress_log log = {0};
    o.model_version = 42;
    o.created_at = 1234567;
    o.progress = on_progress;
    o.progress_ctx = &log;
    o.holdout_fraction = 0;
    pn_snapshot *s = train_ok(p, "{\"name\":\"m\",\"baselines\":[\"A\",\"B\"],\"lookback_days\":7}", NULL, &o);
    assert_int_equal(pn_snapshot_model_version(s), 42);
    assert_int_equal(pn_snapshot_created_at(s), 1234567);
    assert_int_equal(pn_snapshot_lookback_days(s), 7);
    pn_quality q;
    pn_snapshot_quality(s, &q);
    assert_int_equal(q.holdout_visitors, 0);
    assert_true(log.calls > 2);
    assert_false(log.out_of_range);
    assert_true(log.saw_training);
    assert_true(log.last == 1.0);
    pn_snapshot_free(s);
    pn_profiles_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_documented),
        cmocka_unit_test(disjoint_telltales_are_learned_with_signed_centered_weights),
        cmocka_unit_test(three_personas_are_centered_per_trait),
        cmocka_unit_test(excluded_traits_never_reach_the_snapshot),
        cmocka_unit_test(segment_baselines_leave_out_the_traits_they_name),
        cmocka_unit_test(lookback_and_as_of_choose_the_visitors_and_features),
        cmocka_unit_test(visitors_in_several_personas_train_each),
        cmocka_unit_test(persona_without_usable_traits_never_wins),
        cmocka_unit_test(warnings_name_their_cause),
        cmocka_unit_test(training_refuses_with_an_actionable_sentence),
        cmocka_unit_test(training_twice_gives_identical_bytes),
        cmocka_unit_test(min_support_leaves_out_rare_traits),
        cmocka_unit_test(options_reach_the_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
