/* Audiences: who qualifies for which baseline and for the target, for trait and segment
 * baselines, inside time windows (FREQUENCY with a recency window included), which persona a
 * multi-baseline visitor counts for, and which traits define the audience. */
#include "test_util.h"

#include "personae/audience.h"
#include "personae/train.h"

#define NOW 1700000000LL
#define DAY 86400LL
#define ALL INT64_MIN, INT64_MAX

static const char CATALOG[] =
    "{\"data_sources\":[{\"id\":\"web\"}],"
    " \"traits\":[{\"id\":\"1\",\"data_source\":\"web\"},{\"id\":\"2\",\"data_source\":\"web\"},"
    "  {\"id\":\"3\",\"data_source\":\"web\"},{\"id\":\"4\",\"data_source\":\"web\"},{\"id\":\"5\",\"data_source\":\"web\"},"
    "  {\"id\":\"6\",\"data_source\":\"web\"},{\"id\":\"7\",\"data_source\":\"web\"},{\"id\":\"8\",\"data_source\":\"web\"},"
    "  {\"id\":\"9\",\"data_source\":\"web\"},{\"id\":\"absent\",\"data_source\":\"web\"}],"
    " \"segments\":[{\"id\":\"sA\",\"rule\":\"1T AND NOT 2T\"},"
    "  {\"id\":\"sB\",\"rule\":\"FREQUENCY([3T] <= 7D) >= 2\"},"
    "  {\"id\":\"sC\",\"rule\":\"FREQUENCY([4T,5T]) >= 3\"},"
    "  {\"id\":\"sN\",\"rule\":\"NOT \\\"absent\\\"\"},"
    "  {\"id\":\"tgt\",\"rule\":\"6T OR 7T\"}]}";

static char *events(void)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "v1\t1\t%lld\n"                                  /* sA (until 5 days ago: no longer in a 5-day window) */
             "v2\t1\t%lld\nv2\t2\t%lld\n"                     /* 1 and 2: not sA, unless 2 is outside the window */
             "v3\t3\t%lld\nv3\t3\t%lld\nv3\t3\t%lld\n"        /* 3 one, six and eight days ago */
             "v4\t4\t1\nv4\t4\t2\nv4\t5\t3\n"                 /* three of 4 or 5, long ago */
             "v5\t6\t%lld\n"                                  /* target only */
             "v6\t9\t%lld\n"                                  /* nothing */
             "v7\t1\t100\nv7\t3\t200\nv7\t1\t300\nv7\t7\t%lld\n", /* two trait baselines and the target */
             NOW - 10 * DAY, NOW, NOW - DAY, NOW - DAY, NOW - 6 * DAY, NOW - 8 * DAY, NOW, NOW, NOW);
    return buf;
}

typedef struct fixture {
    pn_catalog *cat;
    pn_profiles *p;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    pn_error err;
    if (pn_catalog_parse(CATALOG, strlen(CATALOG), &f->cat, &err))
        fail_msg("catalog: %s", err.message);
    f->p = pn_test_profiles(events());
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pn_profiles_free(f->p);
    pn_catalog_free(f->cat);
    free(f);
    return 0;
}

static pn_audience *audience(fixture *f, const char *model_json, pn_model_def **model)
{
    pn_model_def *m;
    pn_audience *a;
    pn_error err;
    if (pn_model_def_parse(model_json, strlen(model_json), f->cat, &m, &err))
        fail_msg("model: %s", err.message);
    if (pn_audience_from_model(m, f->p, &a, &err))
        fail_msg("audience: %s", err.message);
    if (model)
        *model = m;
    else
        pn_model_def_free(m);
    return a;
}

static uint32_t V(fixture *f, const char *uuid)
{
    uint32_t v = pn_profiles_visitor_find(f->p, uuid, strlen(uuid));
    assert_int_not_equal(v, PN_NONE);
    return v;
}

static uint32_t T(fixture *f, const char *id)
{
    return pn_profiles_trait_find(f->p, id, strlen(id));
}

typedef struct window_case {
    const char *uuid;
    int64_t since, until;
    uint64_t baselines;
    int in_target;
} window_case;

static void check_cases(fixture *f, const pn_audience *a, const window_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v = V(f, c[i].uuid);
        uint64_t got = pn_audience_baselines(a, v, c[i].since, c[i].until);
        int tgt = !!pn_audience_in_target(a, v, c[i].since, c[i].until);
        if (got != c[i].baselines || tgt != c[i].in_target)
            fail_msg("case %zu (%s in [%lld, %lld]): baselines %#llx target %d, want %#llx and %d", i, c[i].uuid,
                     (long long)c[i].since, (long long)c[i].until, (unsigned long long)got, tgt,
                     (unsigned long long)c[i].baselines, c[i].in_target);
    }
}

static void trait_baselines_and_target_by_window(void **state)
{
    fixture *f = *state;
    /* baseline 8 is catalogued but never realized: nobody qualifies for it */
    pn_audience *a = audience(f, "{\"name\":\"m\",\"baselines\":[\"1\",\"3\",\"8\"],\"target\":\"7\",\"lookback_days\":0}", NULL);
    const window_case cases[] = {
        {"v1", ALL, 1, 0},
        {"v1", NOW - 10 * DAY, NOW, 1, 0},
        {"v1", NOW - 10 * DAY + 1, NOW, 0, 0},   /* one second too late */
        {"v1", NOW - 20 * DAY, NOW - 10 * DAY, 1, 0},
        {"v1", NOW - 20 * DAY, NOW - 10 * DAY - 1, 0, 0},
        {"v2", ALL, 1, 0},
        {"v3", ALL, 2, 0},
        {"v3", NOW - 2 * DAY, NOW, 2, 0},
        {"v3", NOW, NOW, 0, 0},
        {"v4", ALL, 0, 0},
        {"v5", ALL, 0, 0},
        {"v7", ALL, 3, 1},
        {"v7", 0, 250, 3, 0},
        {"v7", 150, 250, 2, 0},
        {"v7", 250, 299, 0, 0},
        {"v7", 250, NOW, 1, 1},
    };
    check_cases(f, a, cases, N_ELEMS(cases));
    pn_audience_free(a);
}

static void segment_baselines_and_target_by_window(void **state)
{
    fixture *f = *state;
    pn_audience *a = audience(f, "{\"name\":\"m\",\"baselines\":[\"sA\",\"sB\",\"sC\",\"sN\"],\"target\":\"tgt\"}", NULL);
    const uint64_t N = 8; /* sN: NOT a trait nobody has, so everyone */
    const window_case cases[] = {
        {"v1", ALL, 1 | N, 0},
        {"v1", NOW - 5 * DAY, NOW, N, 0},
        /* v2 has 1 and 2; with 2 (a day ago) outside the window, it is "1 AND NOT 2" */
        {"v2", ALL, N, 0},
        {"v2", NOW - DAY, NOW, N, 0},
        {"v2", NOW - DAY + 1, NOW, 1 | N, 0},
        /* v3: 3 one, six and eight days ago; FREQUENCY within 7 days of `until` */
        {"v3", INT64_MIN, NOW, 2 | N, 0},
        {"v3", ALL, N, 0},                                 /* "now" is the window's end: nothing is that recent */
        {"v3", NOW - 30 * DAY, NOW, 2 | N, 0},
        {"v3", NOW - 30 * DAY, NOW - 2 * DAY, 2 | N, 0},   /* six and eight days ago: both within 7D of until */
        {"v3", NOW - 30 * DAY, NOW - 7 * DAY, N, 0},       /* only eight days ago */
        {"v3", NOW - 2 * DAY, NOW, N, 0},                  /* the window cuts the six-day one */
        {"v3", NOW - 6 * DAY, NOW, 2 | N, 0},              /* inclusive at since */
        {"v3", NOW - 6 * DAY + 1, NOW, N, 0},
        {"v3", NOW - 30 * DAY, NOW + DAY, 2 | N, 0},       /* 7D of NOW + 1 day: NOW - 6 days, still two */
        {"v3", NOW - 30 * DAY, NOW + DAY + 1, N, 0},       /* the six-day one falls out of the recency window */
        /* v4: three realizations of 4 or 5, summed */
        {"v4", ALL, 4 | N, 0},                             /* no recency window: all history counts */
        {"v4", 2, INT64_MAX, N, 0},
        {"v4", 0, 2, N, 0},
        {"v5", ALL, N, 1},
        {"v5", 0, NOW - 1, N, 0},
        {"v6", ALL, N, 0},
        {"v7", ALL, 1 | N, 1},
    };
    check_cases(f, a, cases, N_ELEMS(cases));
    pn_audience_free(a);
}

static void everyone_is_in_a_missing_target(void **state)
{
    fixture *f = *state;
    pn_audience *a = audience(f, "{\"name\":\"m\",\"baselines\":[\"1\",\"3\"]}", NULL);
    for (uint32_t v = 0; v < pn_profiles_visitor_count(f->p); v++) {
        assert_true(pn_audience_in_target(a, v, ALL));
        assert_true(pn_audience_in_target(a, v, 5, 4)); /* even in an empty window */
    }
    pn_audience_free(a);
}

static void primary_is_the_baseline_realized_last_in_the_window(void **state)
{
    fixture *f = *state;
    pn_audience *a = audience(f, "{\"name\":\"m\",\"baselines\":[\"3\",\"1\"]}", NULL);
    uint32_t v7 = V(f, "v7");
    /* v7: 1 at 100 and 300, 3 at 200 */
    const struct {
        int64_t since, until;
        int want;
    } cases[] = {
        {ALL, 1},
        {0, NOW, 1},
        {0, 300, 1},
        {0, 299, 0},  /* the 1 at 300 is outside: the latest is 3 at 200 */
        {0, 250, 0},
        {0, 200, 0},
        {0, 199, 1},  /* only the 1 at 100 is left */
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        uint64_t set = pn_audience_baselines(a, v7, cases[i].since, cases[i].until);
        int got = pn_audience_primary(a, v7, set, cases[i].since, cases[i].until);
        if (got != cases[i].want)
            fail_msg("case %zu [%lld, %lld]: set %#llx primary %d, want %d", i, (long long)cases[i].since,
                     (long long)cases[i].until, (unsigned long long)set, got, cases[i].want);
    }
    /* a set with one baseline: that one; an empty set: none */
    assert_int_equal(pn_audience_primary(a, v7, 1, ALL), 0);
    assert_int_equal(pn_audience_primary(a, v7, 2, ALL), 1);
    assert_int_equal(pn_audience_primary(a, v7, 0, ALL), -1);
    pn_audience_free(a);
}

static void primary_of_segment_baselines_is_the_lowest_index(void **state)
{
    fixture *f = *state;
    pn_audience *a = audience(f, "{\"name\":\"m\",\"baselines\":[\"sC\",\"sA\",\"sN\"]}", NULL);
    uint32_t v1 = V(f, "v1");
    uint64_t set = pn_audience_baselines(a, v1, ALL);
    assert_int_equal(set, 2 | 4);
    assert_int_equal(pn_audience_primary(a, v1, set, ALL), 1);
    pn_audience_free(a);
}

static void defines_names_baseline_target_and_segment_traits(void **state)
{
    fixture *f = *state;
    const struct {
        const char *model;
        const char *defining; /* space-separated store trait ids */
    } cases[] = {
        {"{\"name\":\"m\",\"baselines\":[\"1\",\"3\"]}", "1 3"},
        {"{\"name\":\"m\",\"baselines\":[\"1\",\"3\"],\"target\":\"6\"}", "1 3 6"},
        {"{\"name\":\"m\",\"baselines\":[\"1\",\"8\"],\"target\":\"tgt\"}", "1 6 7"},
        {"{\"name\":\"m\",\"baselines\":[\"sA\",\"sB\"]}", "1 2 3"},
        {"{\"name\":\"m\",\"baselines\":[\"sC\",\"sN\"],\"target\":\"tgt\"}", "4 5 6 7"},
        {"{\"name\":\"m\",\"baselines\":[\"sA\",\"sC\"],\"target\":\"9\"}", "1 2 4 5 9"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        pn_audience *a = audience(f, cases[i].model, NULL);
        for (uint32_t t = 0; t < pn_profiles_trait_count(f->p); t++) {
            size_t len;
            const char *id = pn_profiles_trait_id(f->p, t, &len);
            char key[8];
            snprintf(key, sizeof key, " %s ", id);
            char hay[64];
            snprintf(hay, sizeof hay, " %s ", cases[i].defining);
            int want = strstr(hay, key) != NULL;
            if (!!pn_audience_defines(a, t) != want)
                fail_msg("case %zu: trait %s defines %d, want %d", i, id, pn_audience_defines(a, t), want);
        }
        assert_false(pn_audience_defines(a, (uint32_t)pn_profiles_trait_count(f->p)));
        assert_false(pn_audience_defines(a, PN_NONE));
        pn_audience_free(a);
    }
    assert_int_equal(T(f, "8"), PN_NONE);
}

static void unsealed_store_is_refused(void **state)
{
    fixture *f = *state;
    pn_model_def *m;
    pn_profiles *p;
    pn_audience *a = (pn_audience *)1;
    pn_error err;
    const char *json = "{\"name\":\"m\",\"baselines\":[\"1\",\"3\"]}";
    assert_int_equal(pn_model_def_parse(json, strlen(json), f->cat, &m, &err), PN_OK);
    assert_int_equal(pn_profiles_new(&p, &err), PN_OK);
    assert_status(pn_audience_from_model(m, p, &a, &err), PN_EINVAL, &err, "sealed");
    assert_null(a);
    pn_profiles_free(p);
    pn_model_def_free(m);
    pn_audience_free(NULL);
}

/* A snapshot's audience is the model's: same baselines and target for every visitor. */
static void snapshot_audience_matches_the_model(void **state)
{
    (void)state;
    char *text = malloc(1 << 16);
    size_t at = 0;
    for (int i = 0; i < 60; i++)
        at += (size_t)sprintf(text + at, "u%d\t%d\t%d\nu%d\t1%d\t%d\nu%d\t20\t%d\n", i, i % 3 + 1, 1000 + i, i, i % 5,
                              1000 + i, i, 900);
    fixture f2 = {0};
    /* 1 and 2 are the baselines, 3 the target, 10-14 features, 20 everyone's */
    const char *cat = "{\"data_sources\":[{\"id\":\"w\"}],\"traits\":[{\"id\":1,\"data_source\":\"w\"},"
                      "{\"id\":2,\"data_source\":\"w\"},{\"id\":3,\"data_source\":\"w\"},"
                      "{\"id\":10,\"data_source\":\"w\"},{\"id\":11,\"data_source\":\"w\"},"
                      "{\"id\":12,\"data_source\":\"w\"},{\"id\":13,\"data_source\":\"w\"},"
                      "{\"id\":14,\"data_source\":\"w\"},{\"id\":20,\"data_source\":\"w\"}],"
                      "\"segments\":[{\"id\":\"sa\",\"rule\":\"1T\"},{\"id\":\"sb\",\"rule\":\"2T AND NOT 3T\"},"
                      "{\"id\":\"st\",\"rule\":\"FREQUENCY([3T] <= 1D) >= 1\"}]}";
    pn_error err;
    if (pn_catalog_parse(cat, strlen(cat), &f2.cat, &err))
        fail_msg("catalog: %s", err.message);
    f2.p = pn_test_profiles(text);
    const char *models[] = {"{\"name\":\"m\",\"baselines\":[1,2],\"target\":3,\"lookback_days\":0}",
                            "{\"name\":\"m\",\"baselines\":[\"sa\",\"sb\"],\"target\":\"st\",\"lookback_days\":0}"};
    for (size_t k = 0; k < N_ELEMS(models); k++) {
        pn_model_def *m;
        pn_audience *am = audience(&f2, models[k], &m);
        pn_snapshot *s;
        if (pn_train(f2.p, m, f2.cat, NULL, &s, &err))
            fail_msg("train: %s", err.message);
        pn_audience *as;
        assert_int_equal(pn_audience_from_snapshot(s, f2.p, &as, &err), PN_OK);
        for (uint32_t v = 0; v < pn_profiles_visitor_count(f2.p); v++) {
            int64_t windows[][2] = {{ALL}, {1000, 1030}, {1040, 1059}};
            for (size_t w = 0; w < 3; w++) {
                assert_int_equal(pn_audience_baselines(am, v, windows[w][0], windows[w][1]),
                                 pn_audience_baselines(as, v, windows[w][0], windows[w][1]));
                assert_int_equal(pn_audience_in_target(am, v, windows[w][0], windows[w][1]),
                                 pn_audience_in_target(as, v, windows[w][0], windows[w][1]));
            }
        }
        for (uint32_t t = 0; t < pn_profiles_trait_count(f2.p); t++)
            assert_int_equal(pn_audience_defines(am, t), pn_audience_defines(as, t));
        pn_audience_free(as);
        pn_audience_free(am);
        pn_snapshot_free(s);
        pn_model_def_free(m);
    }
    pn_profiles_free(f2.p);
    pn_catalog_free(f2.cat);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(trait_baselines_and_target_by_window, setup, teardown),
        cmocka_unit_test_setup_teardown(segment_baselines_and_target_by_window, setup, teardown),
        cmocka_unit_test_setup_teardown(everyone_is_in_a_missing_target, setup, teardown),
        cmocka_unit_test_setup_teardown(primary_is_the_baseline_realized_last_in_the_window, setup, teardown),
        cmocka_unit_test_setup_teardown(primary_of_segment_baselines_is_the_lowest_index, setup, teardown),
        cmocka_unit_test_setup_teardown(defines_names_baseline_target_and_segment_traits, setup, teardown),
        cmocka_unit_test_setup_teardown(unsealed_store_is_refused, setup, teardown),
        cmocka_unit_test(snapshot_audience_matches_the_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
