/* Snapshots: save and load keep every accessor, saving is deterministic, and no damaged input
 * (every truncation, every flipped byte, foreign bytes, a newer version, impossible contents
 * with a valid checksum) loads or crashes. Also the public save and influential traits. */
#include "test_util.h"

#include "personae/model.h"
#include "personae/train.h"
#include "snapshot_builder.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#define T0 1700000000LL

/* Header layout (docs/snapshot-format.md): magic 0-7, version 8-11, header size 12-15, file
 * length 16-23, checksum 24-31, created 32-39, model version 40-43, DEC 44-47, personas 48-51,
 * traits 52-55. */
enum { OFF_VERSION = 8, OFF_HSIZE = 12, OFF_FLEN = 16, OFF_SUM = 24, OFF_PERSONAS = 48, OFF_TRAITS = 52, HEADER = 64 };

static void put_u32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the checksum as snapshot.c does: XXH64, seed 0, with the checksum field zero. */
static void reseal(uint8_t *b, size_t len)
{
    memset(b + OFF_SUM, 0, 8);
    uint64_t sum = XXH64(b, len, 0);
    for (int i = 0; i < 8; i++)
        b[OFF_SUM + i] = (uint8_t)(sum >> (8 * i));
}

static pn_snapshot *hand_built(void)
{
    static const char *const ids[] = {"apple", "google", "hp"};
    static const char *const rules[] = {"1T AND 2T", "3T", "FREQUENCY([4T] <= 7D) >= 2"};
    static const char *const reasons[] = {"persona 'hp' has only 12 training visitors", "another reason"};
    static const double w[] = {1.5, -0.75, -0.75, -0.5, 0.25, 0.25, 0.0, 0.0, 0.0, 2.0, -1.0, -1.0};
    static const uint32_t support[] = {10, 1, 0, 2000000};
    static const char *const traits[] = {"movie:42", "t\xc3\xa9", "x", "99"};
    snap_spec sp = {.personas = 3, .traits = 4, .persona_ids = ids, .persona_rules = rules, .trait_ids = traits,
                    .weights = w, .support = support, .temperature = 2.5, .target = "seg-t", .target_rule = "5T OR 6T",
                    .reasons = reasons, .reason_count = 2};
    return snap_build(&sp);
}

static pn_snapshot *trained(void)
{
    char *text = pn_test_synthetic(240, 3, 30, T0, 7);
    pn_profiles *p = pn_test_profiles(text);
    free(text);
    const char *json = "{\"id\":\"m7\",\"name\":\"Three\",\"baselines\":[\"b0\",\"b1\",\"b2\"],\"target\":\"tgt\"}";
    pn_model_def *m;
    pn_snapshot *s = NULL;
    pn_error err;
    if (pn_model_def_parse(json, strlen(json), NULL, &m, &err) || pn_train(p, m, NULL, NULL, &s, &err))
        fail_msg("%s", err.message);
    pn_model_def_free(m);
    pn_profiles_free(p);
    return s;
}

static uint8_t *save(const pn_snapshot *s, size_t *len)
{
    void *b;
    pn_error err;
    if (pn_snapshot_save(s, &b, len, &err))
        fail_msg("save: %s", err.message);
    uint8_t *copy = malloc(*len); /* a plain heap copy the tests may modify */
    memcpy(copy, b, *len);
    pn_bytes_free(b);
    return copy;
}

static pn_snapshot *load_ok(const uint8_t *b, size_t len)
{
    pn_snapshot *s;
    pn_error err;
    if (pn_snapshot_load(b, len, &s, &err))
        fail_msg("load: %s", err.message);
    return s;
}

static void assert_str_or_null_equal(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_same_snapshot(const pn_snapshot *a, const pn_snapshot *b)
{
    assert_string_equal(pn_snapshot_model_id(a), pn_snapshot_model_id(b));
    assert_string_equal(pn_snapshot_model_name(a), pn_snapshot_model_name(b));
    assert_int_equal(pn_snapshot_model_version(a), pn_snapshot_model_version(b));
    assert_int_equal(pn_snapshot_created_at(a), pn_snapshot_created_at(b));
    assert_int_equal(pn_snapshot_dec_labels(a), pn_snapshot_dec_labels(b));
    assert_int_equal(pn_snapshot_lookback_days(a), pn_snapshot_lookback_days(b));
    assert_int_equal(pn_snapshot_status(a), pn_snapshot_status(b));
    assert_int_equal(pn_snapshot_reason_count(a), pn_snapshot_reason_count(b));
    for (size_t i = 0; i < pn_snapshot_reason_count(a); i++)
        assert_string_equal(pn_snapshot_reason(a, i), pn_snapshot_reason(b, i));
    assert_int_equal(pn_snapshot_persona_count(a), pn_snapshot_persona_count(b));
    for (size_t p = 0; p < pn_snapshot_persona_count(a); p++) {
        assert_string_equal(pn_snapshot_persona_id(a, p), pn_snapshot_persona_id(b, p));
        assert_str_or_null_equal(pn_snapshot_persona_rule(a, p), pn_snapshot_persona_rule(b, p));
        pn_persona_info ia, ib;
        assert_int_equal(pn_snapshot_persona_info(a, p, &ia), PN_OK);
        assert_int_equal(pn_snapshot_persona_info(b, p, &ib), PN_OK);
        assert_int_equal(ia.status, ib.status);
        assert_int_equal(ia.training_visitors, ib.training_visitors);
        assert_int_equal(ia.holdout_visitors, ib.holdout_visitors);
        assert_memory_equal(&ia.precision, &ib.precision, sizeof(double));
        assert_memory_equal(&ia.recall, &ib.recall, sizeof(double));
        assert_memory_equal(&ia.f1, &ib.f1, sizeof(double));
    }
    const char *ra, *rb;
    assert_str_or_null_equal(pn_snapshot_target(a, &ra), pn_snapshot_target(b, &rb));
    assert_str_or_null_equal(ra, rb);
    pn_quality qa, qb;
    pn_snapshot_quality(a, &qa);
    pn_snapshot_quality(b, &qb);
    assert_int_equal(qa.training_visitors, qb.training_visitors);
    assert_int_equal(qa.holdout_visitors, qb.holdout_visitors);
    assert_int_equal(qa.target_visitors, qb.target_visitors);
    const double da[] = {qa.accuracy, qa.macro_f1, qa.temperature, qa.median_traits_training, qa.median_traits_target};
    const double db[] = {qb.accuracy, qb.macro_f1, qb.temperature, qb.median_traits_training, qb.median_traits_target};
    assert_memory_equal(da, db, sizeof da);
    assert_int_equal(pn_snapshot_trait_count(a), pn_snapshot_trait_count(b));
    for (uint32_t t = 0; t < pn_snapshot_trait_count(a); t++) {
        size_t la, lb;
        const char *ta = pn_snapshot_trait_id(a, t, &la), *tb = pn_snapshot_trait_id(b, t, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(ta, tb, la);
        assert_int_equal(pn_snapshot_trait_find(b, ta, la), t);
        assert_int_equal(pn_snapshot_trait_support(a, t), pn_snapshot_trait_support(b, t));
        for (size_t p = 0; p < pn_snapshot_persona_count(a); p++) {
            double wa = pn_snapshot_weight(a, t, p), wb = pn_snapshot_weight(b, t, p);
            assert_memory_equal(&wa, &wb, sizeof(double));
        }
    }
}

static void round_trip_keeps_every_accessor(void **state)
{
    (void)state;
    pn_snapshot *sources[] = {hand_built(), trained()};
    for (size_t k = 0; k < N_ELEMS(sources); k++) {
        size_t len;
        uint8_t *b = save(sources[k], &len);
        pn_snapshot *s = load_ok(b, len);
        assert_same_snapshot(sources[k], s);
        pn_snapshot_free(s);
        free(b);
    }
    /* the hand-built values, spelled out */
    pn_snapshot *h = sources[0];
    size_t len;
    uint8_t *b = save(h, &len);
    pn_snapshot *s = load_ok(b, len);
    assert_string_equal(pn_snapshot_model_id(s), "model-1");
    assert_int_equal(pn_snapshot_model_version(s), 3);
    assert_int_equal(pn_snapshot_created_at(s), 1700000000);
    assert_int_equal(pn_snapshot_dec_labels(s), PN_DEC_PII | PN_DEC_ONSITE_PERSONALIZATION);
    assert_int_equal(pn_snapshot_status(s), PN_STATUS_WARNING);
    assert_string_equal(pn_snapshot_reason(s, 1), "another reason");
    assert_null(pn_snapshot_reason(s, 2));
    assert_string_equal(pn_snapshot_persona_rule(s, 2), "FREQUENCY([4T] <= 7D) >= 2");
    const char *rule;
    assert_string_equal(pn_snapshot_target(s, &rule), "seg-t");
    assert_string_equal(rule, "5T OR 6T");
    assert_int_equal(pn_snapshot_trait_find(s, "t\xc3\xa9", 3), 1);
    assert_int_equal(pn_snapshot_trait_find(s, "movie:4", 7), PN_NO_TRAIT);
    assert_int_equal(pn_snapshot_trait_support(s, 3), 2000000);
    assert_true(pn_snapshot_weight(s, 3, 0) == 2.0);
    assert_true(pn_snapshot_weight(s, 0, 1) == -0.75);
    pn_snapshot_free(s);
    free(b);
    for (size_t k = 0; k < N_ELEMS(sources); k++)
        pn_snapshot_free(sources[k]);
}

static void trait_baselines_and_everyone_target_round_trip(void **state)
{
    (void)state;
    snap_spec sp = {.personas = 2, .traits = 0};
    pn_snapshot *h = snap_build(&sp);
    size_t len;
    uint8_t *b = save(h, &len);
    pn_snapshot *s = load_ok(b, len);
    assert_same_snapshot(h, s);
    const char *rule = "x";
    assert_null(pn_snapshot_target(s, &rule));
    assert_null(rule);
    assert_null(pn_snapshot_persona_rule(s, 0));
    assert_int_equal(pn_snapshot_trait_count(s), 0);
    assert_int_equal(pn_snapshot_status(s), PN_STATUS_ACTIVE);
    pn_snapshot_free(s);
    pn_snapshot_free(h);
    free(b);
}

static void accessors_are_safe_out_of_range(void **state)
{
    (void)state;
    pn_snapshot *s = hand_built();
    size_t len = 99;
    pn_persona_info info;
    assert_int_equal(pn_snapshot_persona_info(s, 3, &info), PN_EINVAL);
    assert_null(pn_snapshot_persona_id(s, 3));
    assert_null(pn_snapshot_persona_rule(s, 3));
    assert_null(pn_snapshot_trait_id(s, 4, &len));
    assert_int_equal(len, 0);
    assert_null(pn_snapshot_trait_id(s, PN_NO_TRAIT, NULL));
    assert_int_equal(pn_snapshot_trait_support(s, 4), 0);
    assert_true(pn_snapshot_weight(s, 4, 0) == 0.0);
    assert_true(pn_snapshot_weight(s, 0, 3) == 0.0);
    assert_null(pn_snapshot_reason(s, 99));
    pn_snapshot_target(s, NULL);
    pn_snapshot_free(s);
    pn_snapshot_free(NULL);
    pn_bytes_free(NULL);
}

static void saving_is_deterministic(void **state)
{
    (void)state;
    pn_snapshot *a = trained(), *b = trained();
    size_t la, lb, lc;
    uint8_t *ba = save(a, &la), *bb = save(b, &lb), *ba2 = save(a, &la);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    assert_memory_equal(ba, ba2, la);
    pn_snapshot *c = load_ok(ba, la);
    uint8_t *bc = save(c, &lc);
    assert_int_equal(la, lc);
    assert_memory_equal(ba, bc, la);
    free(ba);
    free(bb);
    free(ba2);
    free(bc);
    pn_snapshot_free(a);
    pn_snapshot_free(b);
    pn_snapshot_free(c);
}

static void every_truncation_fails(void **state)
{
    (void)state;
    pn_snapshot *sources[] = {hand_built(), trained()};
    for (size_t k = 0; k < N_ELEMS(sources); k++) {
        size_t len;
        uint8_t *full = save(sources[k], &len);
        for (size_t n = 0; n < len; n++) {
            /* a heap block of exactly n bytes, so that ASan sees any read past the end */
            uint8_t *b = malloc(n ? n : 1);
            memcpy(b, full, n);
            pn_snapshot *s = (pn_snapshot *)1;
            pn_error err;
            pn_status st = pn_snapshot_load(b, n, &s, &err);
            int ok = n == 0 ? (st == PN_ETRUNCATED || st == PN_EFOREIGN) : (st == PN_ETRUNCATED || st == PN_ECORRUPT);
            if (!ok)
                fail_msg("snapshot %zu cut to %zu of %zu bytes: %s (%s)", k, n, len, pn_status_name(st), err.message);
            assert_int_equal(err.code, st);
            assert_null(s);
            free(b);
        }
        free(full);
        pn_snapshot_free(sources[k]);
    }
}

static int is_load_error(pn_status st)
{
    return st == PN_ECORRUPT || st == PN_ETRUNCATED || st == PN_EFOREIGN || st == PN_EVERSION;
}

static void every_flipped_byte_fails(void **state)
{
    (void)state;
    pn_snapshot *sources[] = {hand_built(), trained()};
    const uint8_t masks[] = {0x01, 0x80, 0xff};
    for (size_t k = 0; k < N_ELEMS(sources); k++) {
        size_t len;
        uint8_t *b = save(sources[k], &len);
        for (size_t i = 0; i < len; i++) {
            for (size_t m = 0; m < N_ELEMS(masks); m++) {
                b[i] ^= masks[m];
                pn_snapshot *s = (pn_snapshot *)1;
                pn_error err;
                pn_status st = pn_snapshot_load(b, len, &s, &err);
                if (!is_load_error(st))
                    fail_msg("snapshot %zu, byte %zu ^ %#x: %s", k, i, masks[m], pn_status_name(st));
                assert_null(s);
                if (i < 8)
                    assert_int_equal(st, PN_EFOREIGN);
                else if (i < 12)
                    assert_int_equal(st, PN_EVERSION);
                else
                    assert_true(st == PN_ECORRUPT || st == PN_ETRUNCATED);
                b[i] ^= masks[m];
            }
        }
        pn_snapshot *s = load_ok(b, len); /* restored */
        pn_snapshot_free(s);
        free(b);
        pn_snapshot_free(sources[k]);
    }
}

/* With the checksum made valid again, the body's own validation must hold: any outcome but a
 * crash or a leak is acceptable, and what loads must save and load again. */
static void flipped_bytes_with_a_valid_checksum_never_crash(void **state)
{
    (void)state;
    pn_snapshot *sources[] = {hand_built(), trained()};
    const uint8_t masks[] = {0x01, 0x02, 0x10, 0x80, 0xff};
    size_t loaded = 0, refused = 0;
    for (size_t k = 0; k < N_ELEMS(sources); k++) {
        size_t len;
        uint8_t *orig = save(sources[k], &len);
        uint8_t *b = malloc(len);
        for (size_t i = HEADER; i < len || i == HEADER; i++) {
            for (size_t m = 0; m < N_ELEMS(masks); m++) {
                memcpy(b, orig, len);
                if (i < len)
                    b[i] ^= masks[m];
                reseal(b, len);
                pn_snapshot *s = NULL;
                pn_error err;
                pn_status st = pn_snapshot_load(b, len, &s, &err);
                if (st == PN_OK) {
                    loaded++;
                    size_t l2;
                    uint8_t *again = save(s, &l2);
                    pn_snapshot *s2 = load_ok(again, l2);
                    uint32_t all[64];
                    size_t n = pn_snapshot_trait_count(s) < 64 ? pn_snapshot_trait_count(s) : 64;
                    for (size_t t = 0; t < n; t++)
                        all[t] = (uint32_t)t;
                    pn_classification c;
                    assert_int_equal(pn_snapshot_classify(s2, all, n, &c, NULL), PN_OK);
                    pn_snapshot_free(s2);
                    free(again);
                    pn_snapshot_free(s);
                } else {
                    refused++;
                    assert_true(is_load_error(st));
                    assert_null(s);
                }
            }
        }
        free(b);
        free(orig);
        pn_snapshot_free(sources[k]);
    }
    print_message("resealed flips: %zu loaded, %zu refused\n", loaded, refused);
    assert_true(refused > 0);
}

static void foreign_bytes_are_refused(void **state)
{
    (void)state;
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    uint8_t zeros[100] = {0};
    const struct {
        const void *b;
        size_t n;
    } cases[] = {{png, sizeof png}, {zeros, sizeof zeros}, {"{\"model\": 1}", 12}, {"PNS", 3}, {"\x89PNT", 4}};
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        pn_snapshot *s = (pn_snapshot *)1;
        pn_error err;
        assert_status(pn_snapshot_load(cases[i].b, cases[i].n, &s, &err), PN_EFOREIGN, &err, "not a personae snapshot");
        assert_null(s);
    }
    pn_snapshot *s = (pn_snapshot *)1;
    pn_error err;
    assert_status(pn_snapshot_load(NULL, 10, &s, &err), PN_EINVAL, &err, NULL);
    assert_null(s);
}

static void newer_or_older_versions_are_refused(void **state)
{
    (void)state;
    pn_snapshot *h = hand_built();
    size_t len;
    uint8_t *b = save(h, &len);
    const uint32_t versions[] = {0, PN_SNAPSHOT_FORMAT_VERSION + 1, 0xffffffffu};
    for (size_t i = 0; i < N_ELEMS(versions); i++) {
        put_u32(b + OFF_VERSION, versions[i]);
        reseal(b, len);
        pn_snapshot *s = (pn_snapshot *)1;
        pn_error err;
        char needle[64];
        snprintf(needle, sizeof needle, "version %u is not supported", versions[i]);
        assert_status(pn_snapshot_load(b, len, &s, &err), PN_EVERSION, &err, needle);
        assert_null(s);
    }
    put_u32(b + OFF_VERSION, PN_SNAPSHOT_FORMAT_VERSION);
    reseal(b, len);
    pn_snapshot *s = load_ok(b, len);
    pn_snapshot_free(s);
    free(b);
    pn_snapshot_free(h);
}

static void impossible_contents_with_a_valid_checksum_are_corrupt(void **state)
{
    (void)state;
    pn_snapshot *h = hand_built();
    size_t len;
    uint8_t *orig = save(h, &len);
    uint8_t *b = malloc(len + 8);
    pn_snapshot *s;
    pn_error err;

    /* bytes after the end */
    memcpy(b, orig, len);
    memset(b + len, 0, 8);
    assert_status(pn_snapshot_load(b, len + 8, &s, &err), PN_ECORRUPT, &err, "bytes after its end");

    const struct {
        size_t off;
        uint32_t value;
        pn_status code;
        const char *needle;
    } fields[] = {
        {OFF_HSIZE, 32, PN_ECORRUPT, "header size"},
        {OFF_PERSONAS, 1, PN_ECORRUPT, "impossible counts"},
        {OFF_PERSONAS, 51, PN_ECORRUPT, "impossible counts"},
        {OFF_PERSONAS, 2, PN_ECORRUPT, NULL},
        {OFF_TRAITS, 0xffffffffu, PN_ECORRUPT, "impossible counts"},
        {OFF_TRAITS, 3, PN_ECORRUPT, NULL},
        {OFF_TRAITS, 5, PN_ECORRUPT, NULL},
        {44, 16, PN_ECORRUPT, "impossible counts"}, /* a DEC label bit that does not exist */
        {OFF_FLEN, 64, PN_ECORRUPT, "bytes after its end"},
    };
    for (size_t i = 0; i < N_ELEMS(fields); i++) {
        memcpy(b, orig, len);
        put_u32(b + fields[i].off, fields[i].value);
        reseal(b, len);
        s = (pn_snapshot *)1;
        pn_status st = pn_snapshot_load(b, len, &s, &err);
        if (st != fields[i].code || (fields[i].needle && !strstr(err.message, fields[i].needle)))
            fail_msg("field at %zu = %u: %s \"%s\"", fields[i].off, fields[i].value, pn_status_name(st), err.message);
        assert_null(s);
    }

    /* the last weight (the WGHT section ends the file) out of range or not a number */
    const uint32_t bad_weights[] = {0x7fffffffu, 0x80000000u, 0x7fc00000u /* a NaN as float */};
    for (size_t i = 0; i < N_ELEMS(bad_weights); i++) {
        memcpy(b, orig, len);
        put_u32(b + len - 4, bad_weights[i]);
        reseal(b, len);
        assert_status(pn_snapshot_load(b, len, &s, &err), PN_ECORRUPT, &err, "weight");
    }

    free(b);
    free(orig);
    pn_snapshot_free(h);

    /* repeated or NUL-holding ids: patch two-byte ids in place so that lengths stay right */
    static const char *const same_len[] = {"aa", "bb"};
    static const char *const traits[] = {"t1", "t2"};
    snap_spec sp = {.personas = 2, .traits = 2, .persona_ids = same_len, .trait_ids = traits};
    h = snap_build(&sp);
    orig = save(h, &len);
    b = malloc(len);
    const struct {
        const char *from, *to, *needle;
    } dups[] = {{"bb", "aa", "a persona id appears twice"}, {"t2", "t1", "trait 't1' appears twice"},
                {"t2", "t\0", "NUL"}, {"bb", "b\0", "NUL"}};
    for (size_t i = 0; i < N_ELEMS(dups); i++) {
        memcpy(b, orig, len);
        uint8_t entry[6] = {2, 0, 0, 0, (uint8_t)dups[i].from[0], (uint8_t)dups[i].from[1]};
        uint8_t *p = NULL;
        for (size_t j = HEADER; j + 6 <= len && !p; j++)
            if (memcmp(b + j, entry, 6) == 0)
                p = b + j;
        assert_non_null(p);
        p[4] = (uint8_t)dups[i].to[0];
        p[5] = (uint8_t)dups[i].to[1];
        reseal(b, len);
        s = (pn_snapshot *)1;
        assert_status(pn_snapshot_load(b, len, &s, &err), PN_ECORRUPT, &err, dups[i].needle);
        assert_null(s);
    }
    free(b);
    free(orig);
    pn_snapshot_free(h);
}

static void public_save_drops_low_support_traits_only(void **state)
{
    (void)state;
    pn_snapshot *full = trained();
    const uint32_t levels[] = {0, 1, 5, 20, 60, 1000000};
    for (size_t k = 0; k < N_ELEMS(levels); k++) {
        void *raw;
        size_t len;
        assert_int_equal(pn_snapshot_save_public(full, levels[k], &raw, &len, NULL), PN_OK);
        pn_snapshot *pub = load_ok(raw, len);
        size_t kept = 0;
        for (uint32_t t = 0; t < pn_snapshot_trait_count(full); t++) {
            size_t n;
            const char *id = pn_snapshot_trait_id(full, t, &n);
            uint32_t u = pn_snapshot_trait_find(pub, id, n);
            if (pn_snapshot_trait_support(full, t) < levels[k]) {
                assert_int_equal(u, PN_NO_TRAIT);
                continue;
            }
            kept++;
            assert_int_not_equal(u, PN_NO_TRAIT);
            assert_int_equal(pn_snapshot_trait_support(pub, u), pn_snapshot_trait_support(full, t));
            for (size_t p = 0; p < pn_snapshot_persona_count(full); p++) {
                double a = pn_snapshot_weight(full, t, p), b = pn_snapshot_weight(pub, u, p);
                assert_memory_equal(&a, &b, sizeof a);
            }
        }
        assert_int_equal(pn_snapshot_trait_count(pub), kept);
        if (levels[k] <= 1) {
            void *all;
            size_t alen;
            assert_int_equal(pn_snapshot_save(full, &all, &alen, NULL), PN_OK);
            assert_int_equal(alen, len);
            assert_memory_equal(all, raw, len);
            pn_bytes_free(all);
        }
        /* the rest of the snapshot is the same */
        assert_string_equal(pn_snapshot_model_id(pub), pn_snapshot_model_id(full));
        assert_int_equal(pn_snapshot_persona_count(pub), pn_snapshot_persona_count(full));
        pn_snapshot_free(pub);
        pn_bytes_free(raw);
    }
    pn_snapshot_free(full);
}

static void influential_traits_are_ranked_strongest_first(void **state)
{
    (void)state;
    /* persona 0's weights; equal support so that only the weight decides, except t6 and t7 */
    static const double w[] = {0.5, -0.5, 2.0, -2.0, -1.0, 1.0, 0.5, -0.5, 3.0, -3.0, -0.25, 0.25, 9.0, -9.0, 8.0, -8.0, 0.0, 0.0};
    static const uint32_t support[] = {50, 50, 50, 50, 50, 50, 2, 0, 50};
    snap_spec sp = {.personas = 2, .traits = 9, .weights = w, .support = support};
    pn_snapshot *s = snap_build(&sp);
    uint32_t top[10];
    /* positive for persona 0: t4 3.0, t1 2.0, t0 0.5 and t3 0.5 (tie: lower index first);
     * t6 and t7 have too little support */
    size_t n = pn_snapshot_influential(s, 0, 1, top, 10);
    const uint32_t want_pos[] = {4, 1, 0, 3};
    assert_int_equal(n, N_ELEMS(want_pos));
    assert_memory_equal(top, want_pos, sizeof want_pos);
    n = pn_snapshot_influential(s, 0, 0, top, 10);
    const uint32_t want_neg[] = {2, 5};
    assert_int_equal(n, N_ELEMS(want_neg));
    assert_memory_equal(top, want_neg, sizeof want_neg);
    /* k limits the list to the strongest */
    n = pn_snapshot_influential(s, 0, 1, top, 2);
    assert_int_equal(n, 2);
    assert_int_equal(top[0], 4);
    assert_int_equal(top[1], 1);
    /* persona 1 mirrors persona 0 */
    n = pn_snapshot_influential(s, 1, 0, top, 10);
    assert_int_equal(n, N_ELEMS(want_pos));
    assert_memory_equal(top, want_pos, sizeof want_pos);
    assert_int_equal(pn_snapshot_influential(s, 0, 1, top, 0), 0);
    assert_int_equal(pn_snapshot_influential(s, 2, 1, top, 10), 0);
    pn_snapshot_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_keeps_every_accessor),
        cmocka_unit_test(trait_baselines_and_everyone_target_round_trip),
        cmocka_unit_test(accessors_are_safe_out_of_range),
        cmocka_unit_test(saving_is_deterministic),
        cmocka_unit_test(every_truncation_fails),
        cmocka_unit_test(every_flipped_byte_fails),
        cmocka_unit_test(flipped_bytes_with_a_valid_checksum_never_crash),
        cmocka_unit_test(foreign_bytes_are_refused),
        cmocka_unit_test(newer_or_older_versions_are_refused),
        cmocka_unit_test(impossible_contents_with_a_valid_checksum_are_corrupt),
        cmocka_unit_test(public_save_drops_low_support_traits_only),
        cmocka_unit_test(influential_traits_are_ranked_strongest_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
