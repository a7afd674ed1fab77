/* Scoring (pn_snapshot_classify and friends) on hand-built snapshots whose answers are known:
 * no traits, duplicates and unknown indices, order independence to the bit, probabilities,
 * the winner, drivers, personas without training data, ids, already distinct indices, and the
 * predictions line. */
#include "test_util.h"

#include "snapshot_builder.h"

/* Persona weights per trait (A, B, C). Multiples of 1/64, so every sum is exact. */
static const double W[] = {
    /* t0 */ 1.0,     -0.5,   -0.5,
    /* t1 */ -0.25,   0.5,    -0.25,
    /* t2 */ 0.125,   0.25,   -0.375,
    /* t3 */ 0.0,     0.0,    0.0,
    /* t4 */ -2.0,    1.0,    1.0,
    /* t5 */ 0.5,     0.5,    -1.0,
    /* t6 */ 0.25,    -0.125, -0.125,
    /* t7 */ 0.25,    -0.125, -0.125,
    /* t8 */ 0.015625, 0.0,   -0.015625,
    /* t9 */ 0.75,    -1.5,   0.75,
};
static const char *const IDS[] = {"apple", "google", "hp"};
static const char *const TRAITS[] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"};

static pn_snapshot *fixture(const int *insufficient, double temperature)
{
    snap_spec sp = {.personas = 3, .traits = 10, .persona_ids = IDS, .trait_ids = TRAITS, .weights = W,
                    .insufficient = insufficient, .temperature = temperature};
    return snap_build(&sp);
}

static pn_classification classify(const pn_snapshot *s, const uint32_t *traits, size_t n)
{
    pn_classification c;
    memset(&c, 0x5a, sizeof c); /* every field must be written */
    pn_error err;
    if (pn_snapshot_classify(s, traits, n, &c, &err))
        fail_msg("classify: %s", err.message);
    return c;
}

static void no_traits_is_unclassified_with_zero_scores(void **state)
{
    (void)state;
    pn_snapshot *s = fixture(NULL, 1.0);
    const uint32_t unknown[] = {PN_NO_TRAIT, 10, 11, 0xffffff, PN_NO_TRAIT};
    const struct {
        const uint32_t *t;
        size_t n;
    } cases[] = {{NULL, 0}, {unknown, 1}, {unknown, N_ELEMS(unknown)}};
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        pn_classification c = classify(s, cases[i].t, cases[i].n);
        assert_int_equal(c.persona, -1);
        assert_true(c.score == 0.0);
        assert_true(c.confidence == 0.0);
        assert_int_equal(c.used_traits, 0);
        assert_int_equal(c.persona_count, 3);
        assert_int_equal(c.driver_count, 0);
        for (size_t p = 0; p < 3; p++) {
            assert_true(c.scores[p] == 0.0);
            assert_false(signbit(c.scores[p]));
            assert_true(c.probabilities[p] == 0.0);
        }
    }
    pn_snapshot_free(s);
}

static void scores_are_sums_of_weights_and_the_argmax_wins(void **state)
{
    (void)state;
    pn_snapshot *s = fixture(NULL, 1.0);
    const struct {
        uint32_t t[4];
        size_t n;
        int winner;
    } cases[] = {
        {{0}, 1, 0}, {{1}, 1, 1}, {{4}, 1, 1} /* B and C tie at 1: the lower index */, {{0, 1}, 2, 0},
        {{1, 2}, 2, 1}, {{4, 9}, 2, 2}, {{3}, 1, 0} /* all zero: a tie, A wins and is classified */,
        {{5, 0, 1, 2}, 4, 0}, {{8}, 1, 0},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        pn_classification c = classify(s, cases[i].t, cases[i].n);
        double want[3] = {0, 0, 0};
        for (size_t j = 0; j < cases[i].n; j++)
            for (size_t p = 0; p < 3; p++)
                want[p] += W[cases[i].t[j] * 3 + p];
        for (size_t p = 0; p < 3; p++)
            if (c.scores[p] != want[p])
                fail_msg("case %zu: score %zu is %.17g, want %.17g", i, p, c.scores[p], want[p]);
        if (c.persona != cases[i].winner)
            fail_msg("case %zu: winner %d, want %d", i, c.persona, cases[i].winner);
        assert_true(c.score == c.scores[c.persona]);
        assert_int_equal(c.used_traits, cases[i].n);
        for (size_t p = 0; p < 3; p++)
            assert_true(c.scores[p] <= c.score);
    }
    pn_snapshot_free(s);
}

static void probabilities_are_a_tempered_softmax_summing_to_one(void **state)
{
    (void)state;
    const double temps[] = {0.01, 0.5, 1.0, 3.7, 250.0};
    const uint32_t sets[][4] = {{0, 0, 0, 0}, {0, 1, 0, 0}, {4, 9, 0, 0}, {5, 0, 1, 2}, {3, 0, 0, 0}};
    const size_t lens[] = {1, 2, 2, 4, 1};
    for (size_t k = 0; k < N_ELEMS(temps); k++) {
        pn_snapshot *s = fixture(NULL, temps[k]);
        for (size_t i = 0; i < N_ELEMS(lens); i++) {
            pn_classification c = classify(s, sets[i], lens[i]);
            double z = 0, e[3];
            for (size_t p = 0; p < 3; p++)
                z += e[p] = exp(temps[k] * (c.scores[p] - c.score) / sqrt((double)c.used_traits));
            double sum = 0;
            for (size_t p = 0; p < 3; p++) {
                assert_true(fabs(c.probabilities[p] - e[p] / z) < 1e-14);
                assert_true(c.probabilities[p] >= 0 && c.probabilities[p] <= 1);
                assert_true(c.probabilities[p] <= c.confidence);
                sum += c.probabilities[p];
            }
            assert_true(fabs(sum - 1.0) < 1e-15);
            assert_true(c.confidence == c.probabilities[c.persona]);
            assert_true(c.confidence >= 1.0 / 3.0 - 1e-15);
        }
        pn_snapshot_free(s);
    }
}

static void duplicates_and_unknown_indices_are_ignored(void **state)
{
    (void)state;
    pn_snapshot *s = fixture(NULL, 1.0);
    const uint32_t clean[] = {0, 2, 5};
    const uint32_t noisy[] = {5, PN_NO_TRAIT, 0, 0, 10, 2, 5, 5, 0x7fffffff, 2, 0, PN_NO_TRAIT};
    pn_classification a = classify(s, clean, N_ELEMS(clean)), b = classify(s, noisy, N_ELEMS(noisy));
    assert_int_equal(b.used_traits, 3);
    assert_int_equal(a.persona, b.persona);
    assert_memory_equal(a.scores, b.scores, 3 * sizeof(double));
    assert_memory_equal(a.probabilities, b.probabilities, 3 * sizeof(double));
    assert_int_equal(a.driver_count, b.driver_count);
    for (uint32_t i = 0; i < a.driver_count; i++) {
        assert_int_equal(a.drivers[i].trait, b.drivers[i].trait);
        assert_true(a.drivers[i].contribution == b.drivers[i].contribution);
    }
    pn_snapshot_free(s);
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Irregular weights (not exact in binary) make any change of summation order visible. */
static void input_order_never_changes_a_bit(void **state)
{
    (void)state;
    enum { T = 700, P = 7 };
    double *w = malloc(sizeof(double) * T * P);
    uint64_t r = 88172645463325252ull;
    for (size_t i = 0; i < (size_t)T * P; i++)
        w[i] = ((double)(rng_next(&r) % 2000001) - 1000000.0) / 333333.3;
    snap_spec sp = {.personas = P, .traits = T, .weights = w, .temperature = 1.7};
    pn_snapshot *s = snap_build(&sp);
    uint32_t traits[1200];
    for (int round = 0; round < 50; round++) {
        size_t n = 1 + rng_next(&r) % 1200; /* below and above the allocation-free size */
        for (size_t i = 0; i < n; i++)
            traits[i] = (uint32_t)(rng_next(&r) % (T + 50)); /* some unknown, many duplicates */
        pn_classification ref = classify(s, traits, n);
        for (int shuffle = 0; shuffle < 5; shuffle++) {
            for (size_t i = n; i > 1; i--) {
                size_t j = rng_next(&r) % i;
                uint32_t t = traits[i - 1];
                traits[i - 1] = traits[j];
                traits[j] = t;
            }
            pn_classification c = classify(s, traits, n);
            assert_int_equal(c.persona, ref.persona);
            assert_int_equal(c.used_traits, ref.used_traits);
            assert_memory_equal(c.scores, ref.scores, P * sizeof(double));
            assert_memory_equal(c.probabilities, ref.probabilities, P * sizeof(double));
            assert_memory_equal(&c.score, &ref.score, sizeof(double));
            assert_memory_equal(&c.confidence, &ref.confidence, sizeof(double));
            assert_int_equal(c.driver_count, ref.driver_count);
            for (uint32_t i = 0; i < c.driver_count; i++) {
                assert_int_equal(c.drivers[i].trait, ref.drivers[i].trait);
                assert_memory_equal(&c.drivers[i].contribution, &ref.drivers[i].contribution, sizeof(double));
            }
        }
    }
    pn_snapshot_free(s);
    free(w);
}

static void drivers_are_the_strongest_positive_contributions_sorted(void **state)
{
    (void)state;
    pn_snapshot *s = fixture(NULL, 1.0);
    /* for A: t0 1.0, t9 0.75, t5 0.5, t6 0.25, t7 0.25 (tie: lower index first), t2 0.125,
     * t8 1/64; t3 0 and t1 -0.25 never drive */
    const uint32_t all[] = {9, 8, 7, 6, 5, 3, 2, 1, 0};
    pn_classification c = classify(s, all, N_ELEMS(all));
    assert_int_equal(c.persona, 0);
    const uint32_t want[] = {0, 9, 5, 6, 7};
    assert_int_equal(c.driver_count, PN_MAX_DRIVERS);
    for (size_t i = 0; i < N_ELEMS(want); i++) {
        assert_int_equal(c.drivers[i].trait, want[i]);
        assert_true(c.drivers[i].contribution == W[want[i] * 3]);
        assert_true(c.drivers[i].contribution > 0);
    }
    /* fewer positive traits than slots */
    const uint32_t few[] = {1, 3, 0};
    c = classify(s, few, N_ELEMS(few));
    assert_int_equal(c.persona, 0);
    assert_int_equal(c.driver_count, 1);
    assert_int_equal(c.drivers[0].trait, 0);
    /* a winner with no positive trait has no driver */
    const uint32_t zero[] = {3};
    c = classify(s, zero, 1);
    assert_int_equal(c.driver_count, 0);
    pn_snapshot_free(s);
}

static void personas_without_training_data_never_win(void **state)
{
    (void)state;
    const int no_a[] = {1, 0, 0}, only_c[] = {1, 1, 0}, none[] = {1, 1, 1};
    pn_snapshot *s = fixture(no_a, 1.0);
    const uint32_t t0[] = {0};
    pn_classification c = classify(s, t0, 1); /* A scores highest but cannot win */
    assert_true(c.scores[0] == 1.0);
    assert_int_equal(c.persona, 1);           /* B and C tie at -0.5: the lower index */
    assert_true(c.probabilities[0] == 0.0);
    assert_true(fabs(c.probabilities[1] + c.probabilities[2] - 1.0) < 1e-15);
    pn_snapshot_free(s);

    s = fixture(only_c, 1.0);
    c = classify(s, t0, 1);
    assert_int_equal(c.persona, 2);
    assert_true(c.confidence == 1.0);
    assert_true(c.probabilities[0] == 0.0 && c.probabilities[1] == 0.0);
    pn_snapshot_free(s);

    s = fixture(none, 1.0);
    c = classify(s, t0, 1);
    assert_int_equal(c.persona, -1);
    assert_true(c.score == 0.0 && c.confidence == 0.0);
    assert_int_equal(c.driver_count, 0);
    assert_true(c.scores[0] == 1.0); /* the scores are still reported */
    pn_snapshot_free(s);
}

static void classify_ids_equals_classify(void **state)
{
    (void)state;
    pn_snapshot *s = fixture(NULL, 2.0);
    const char *const ids[] = {"t5", "nope", "t0", "t9", "t5", "", "t1x"};
    const size_t lens[] = {2, 4, 2, 2, 2, 0, 2}; /* "t1x" cut to "t1" */
    const uint32_t idx[] = {5, 0, 9, 1};
    pn_classification a = classify(s, idx, N_ELEMS(idx)), b, c;
    assert_int_equal(pn_snapshot_classify_ids(s, ids, lens, N_ELEMS(ids), &b, NULL), PN_OK);
    assert_int_equal(a.persona, b.persona);
    assert_int_equal(a.used_traits, b.used_traits);
    assert_memory_equal(a.scores, b.scores, 3 * sizeof(double));
    assert_memory_equal(a.probabilities, b.probabilities, 3 * sizeof(double));
    /* NULL lens: NUL-terminated ids */
    const char *const ids2[] = {"t5", "t0", "t9", "t1", "unknown"};
    assert_int_equal(pn_snapshot_classify_ids(s, ids2, NULL, N_ELEMS(ids2), &c, NULL), PN_OK);
    assert_memory_equal(a.scores, c.scores, 3 * sizeof(double));
    assert_int_equal(c.used_traits, 4);
    /* no ids */
    assert_int_equal(pn_snapshot_classify_ids(s, NULL, NULL, 0, &c, NULL), PN_OK);
    assert_int_equal(c.persona, -1);
    /* many ids (beyond the stack buffer) */
    const char **many = malloc(3000 * sizeof *many);
    for (size_t i = 0; i < 3000; i++)
        many[i] = TRAITS[i % 10];
    assert_int_equal(pn_snapshot_classify_ids(s, many, NULL, 3000, &c, NULL), PN_OK);
    assert_int_equal(c.used_traits, 10);
    uint32_t all[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    a = classify(s, all, 10);
    assert_memory_equal(a.scores, c.scores, 3 * sizeof(double));
    free(many);
    pn_snapshot_free(s);
}

static void classify_distinct_equals_classify(void **state)
{
    (void)state;
    pn_snapshot *s = fixture(NULL, 2.0);
    /* distinct known indices, unknown ones (repeated) among them, in any order */
    const uint32_t idx[] = {9, PN_NO_TRAIT, 5, 0, 77, 1, PN_NO_TRAIT, 6, 7};
    pn_classification a = classify(s, idx, N_ELEMS(idx)), b;
    memset(&b, 0x5a, sizeof b);
    assert_int_equal(pn_snapshot_classify_distinct(s, idx, N_ELEMS(idx), &b, NULL), PN_OK);
    assert_int_equal(a.persona, b.persona);
    assert_int_equal(b.used_traits, 6);
    assert_int_equal(a.used_traits, b.used_traits);
    assert_int_equal(a.persona_count, b.persona_count);
    assert_memory_equal(a.scores, b.scores, 3 * sizeof(double));
    assert_memory_equal(a.probabilities, b.probabilities, 3 * sizeof(double));
    assert_true(a.score == b.score && a.confidence == b.confidence);
    assert_int_equal(a.driver_count, b.driver_count);
    assert_memory_equal(a.drivers, b.drivers, a.driver_count * sizeof *a.drivers);
    /* nothing known: unclassified, like classify */
    const uint32_t none[] = {PN_NO_TRAIT, 10, 11};
    assert_int_equal(pn_snapshot_classify_distinct(s, none, N_ELEMS(none), &b, NULL), PN_OK);
    assert_int_equal(b.persona, -1);
    assert_int_equal(b.used_traits, 0);
    pn_snapshot_free(s);
    /* beyond the stack buffer */
    enum { T = 3000 };
    double *w = calloc((size_t)T * 2, sizeof *w);
    uint32_t *all = malloc(sizeof *all * T);
    for (size_t t = 0; t < T; t++) {
        w[t * 2] = t % 3 ? 0.5 : -0.25;
        w[t * 2 + 1] = -w[t * 2];
        all[t] = (uint32_t)((t * 7919) % T);
    }
    snap_spec sp = {.personas = 2, .traits = T, .weights = w};
    s = snap_build(&sp);
    a = classify(s, all, T);
    assert_int_equal(pn_snapshot_classify_distinct(s, all, T, &b, NULL), PN_OK);
    assert_int_equal(b.used_traits, T);
    assert_memory_equal(a.scores, b.scores, 2 * sizeof(double));
    assert_memory_equal(a.drivers, b.drivers, a.driver_count * sizeof *a.drivers);
    free(all);
    free(w);
    pn_snapshot_free(s);
}

static void many_traits_beyond_the_stack_buffer(void **state)
{
    (void)state;
    enum { T = 6000 };
    double *w = calloc((size_t)T * 2, sizeof *w);
    for (size_t t = 0; t < T; t++) {
        w[t * 2] = t % 2 ? 0.5 : -0.25;
        w[t * 2 + 1] = -w[t * 2];
    }
    snap_spec sp = {.personas = 2, .traits = T, .weights = w};
    pn_snapshot *s = snap_build(&sp);
    uint32_t *idx = malloc(sizeof *idx * T * 2);
    for (size_t i = 0; i < (size_t)T * 2; i++)
        idx[i] = (uint32_t)((i * 7919) % T);
    pn_classification c = classify(s, idx, (size_t)T * 2);
    assert_int_equal(c.used_traits, T);
    /* 3000 traits at +0.5 and 3000 at -0.25 */
    assert_true(c.scores[0] == 750.0);
    assert_true(c.scores[1] == -750.0);
    assert_int_equal(c.persona, 0);
    free(idx);
    free(w);
    pn_snapshot_free(s);
}

static void prediction_lines_are_exact(void **state)
{
    (void)state;
    /* temperature ln(3) / 2: one trait with scores (+0.5, -0.5) gives 3:1 odds, confidence 0.75 */
    static const double W2[] = {0.5, -0.5, -0.5, 0.5, -1.25, 1.25};
    snap_spec sp = {.personas = 2, .traits = 3, .persona_ids = IDS, .weights = W2, .temperature = log(3.0)};
    pn_snapshot *s = snap_build(&sp);
    char buf[256];
    const uint32_t t0 = 0, t1 = 1, t2 = 2;
    pn_classification c = classify(s, &t0, 1);
    assert_int_equal(pn_prediction_format(s, "visitor-1", 9, &c, buf, sizeof buf), strlen("visitor-1\tapple\t0.500000\t0.750000\n"));
    assert_string_equal(buf, "visitor-1\tapple\t0.500000\t0.750000\n");
    c = classify(s, &t1, 1);
    pn_prediction_format(s, "v2", 2, &c, buf, sizeof buf);
    assert_string_equal(buf, "v2\tgoogle\t0.500000\t0.750000\n");
    c = classify(s, &t2, 1);
    pn_prediction_format(s, "v3xyz", 2, &c, buf, sizeof buf); /* only uuid_len bytes */
    assert_string_equal(buf, "v3\tgoogle\t1.250000\t0.939717\n"); /* 1 / (1 + 3^-2.5) */
    c = classify(s, NULL, 0);
    pn_prediction_format(s, "nobody", 6, &c, buf, sizeof buf);
    assert_string_equal(buf, "nobody\t-\t0.000000\t0.000000\n");

    /* never "-0.000000": a negative zero, or a score that rounds to zero */
    const double tiny[] = {-0.0, -1e-9, -4.9e-7, -5e-7, -1e-300};
    for (size_t i = 0; i < N_ELEMS(tiny); i++) {
        pn_classification z = {0};
        z.persona = 1;
        z.persona_count = 2;
        z.score = tiny[i];
        z.confidence = -0.0;
        pn_prediction_format(s, "z", 1, &z, buf, sizeof buf);
        if (strcmp(buf, "z\tgoogle\t0.000000\t0.000000\n") != 0)
            fail_msg("score %g prints as \"%s\"", tiny[i], buf);
    }
    pn_classification edge = {0};
    edge.persona = 0;
    edge.score = nextafter(-5e-7, -1.0); /* the first negative that rounds away from zero */
    pn_prediction_format(s, "e", 1, &edge, buf, sizeof buf);
    assert_string_equal(buf, "e\tapple\t-0.000001\t0.000000\n");
    pn_classification neg = {0};
    neg.persona = 0;
    neg.score = -0.5;
    neg.confidence = 0.5;
    pn_prediction_format(s, "n", 1, &neg, buf, sizeof buf);
    assert_string_equal(buf, "n\tapple\t-0.500000\t0.500000\n");

    /* a short buffer: the full length is returned and the line is cut, NUL-terminated */
    c = classify(s, &t0, 1);
    char small[10];
    size_t need = pn_prediction_format(s, "visitor-1", 9, &c, small, sizeof small);
    assert_int_equal(need, strlen("visitor-1\tapple\t0.500000\t0.750000\n"));
    assert_string_equal(small, "visitor-1");
    assert_int_equal(pn_prediction_format(s, "visitor-1", 9, &c, NULL, 0), need);
    pn_snapshot_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_traits_is_unclassified_with_zero_scores),
        cmocka_unit_test(scores_are_sums_of_weights_and_the_argmax_wins),
        cmocka_unit_test(probabilities_are_a_tempered_softmax_summing_to_one),
        cmocka_unit_test(duplicates_and_unknown_indices_are_ignored),
        cmocka_unit_test(input_order_never_changes_a_bit),
        cmocka_unit_test(drivers_are_the_strongest_positive_contributions_sorted),
        cmocka_unit_test(personas_without_training_data_never_win),
        cmocka_unit_test(classify_ids_equals_classify),
        cmocka_unit_test(classify_distinct_equals_classify),
        cmocka_unit_test(many_traits_beyond_the_stack_buffer),
        cmocka_unit_test(prediction_lines_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
