/*
 * Fuzz target for snapshot loading (pn_snapshot_load) and everything a loaded snapshot offers.
 * The checksum would stop almost every mutation at the door, so each input is tried twice: as
 * it is, and with its checksum recomputed (as snapshot.c does: XXH64, seed 0, over the file with
 * the checksum field read as zero), so that the body's own validation is what gets fuzzed.
 * Beyond "no crash, no leak, no undefined behaviour" it checks:
 *   - a failure leaves *out NULL with one of the load codes and a matching record;
 *   - what loads saves to bytes that load again and save to the same bytes;
 *   - accessors stay in range; classifying any traits gives probabilities summing to 1 and a
 *     winner among the succeeded personas; pn_prediction_format never overflows;
 *   - the public save keeps exactly the traits with enough support;
 *   - the snapshot's audience compiles over a small store or fails cleanly.
 * Built with -DPN_FUZZ_STANDALONE it has a main() that runs each file named on the command
 * line once, for regression runs without libFuzzer.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/audience.h"
#include "personae/snapshot.h"

#define XXH_INLINE_ALL
#include "xxhash.h"

#include "fuzz_check.h"

static pn_profiles *store;

static void init(void)
{
    if (store)
        return;
    static const char *const lines[] = {"a\t1\t10", "a\t2\t20", "b\t3\t30", "b\tapple\t40", "c\t1\t50", "c\t1\t60"};
    CHECK(pn_profiles_new(&store, NULL) == PN_OK);
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        CHECK(pn_profiles_add_line(store, lines[i], strlen(lines[i]), NULL) == PN_OK);
    CHECK(pn_profiles_finish(store, NULL) == PN_OK);
}

static void check_classify(const pn_snapshot *s, const uint32_t *traits, size_t n)
{
    pn_classification c;
    CHECK(pn_snapshot_classify(s, traits, n, &c, NULL) == PN_OK);
    size_t P = pn_snapshot_persona_count(s);
    CHECK(c.persona_count == P && c.used_traits <= n && c.driver_count <= PN_MAX_DRIVERS);
    if (c.persona < 0) {
        CHECK(c.persona == -1 && c.score == 0 && c.confidence == 0 && c.driver_count == 0);
    } else {
        CHECK((size_t)c.persona < P);
        pn_persona_info info;
        CHECK(pn_snapshot_persona_info(s, (size_t)c.persona, &info) == PN_OK && info.status == PN_PERSONA_SUCCEEDED);
        double sum = 0;
        for (size_t p = 0; p < P; p++) {
            CHECK(c.probabilities[p] >= 0 && c.probabilities[p] <= 1 && isfinite(c.scores[p]));
            CHECK(c.scores[p] <= c.score || pn_snapshot_persona_info(s, p, &info) != PN_OK ||
                  info.status != PN_PERSONA_SUCCEEDED);
            sum += c.probabilities[p];
        }
        CHECK(fabs(sum - 1.0) < 1e-9);
        CHECK(c.confidence == c.probabilities[c.persona]);
        for (uint32_t i = 0; i < c.driver_count; i++) {
            CHECK(c.drivers[i].trait < pn_snapshot_trait_count(s) && c.drivers[i].contribution > 0);
            CHECK(i == 0 || c.drivers[i - 1].contribution >= c.drivers[i].contribution);
        }
    }
    char line[1024];
    size_t need = pn_prediction_format(s, "visitor", 7, &c, line, sizeof line);
    CHECK(need < sizeof line && strlen(line) == need && line[need - 1] == '\n');
    /* the two numbers after the last two tabs: finite, never a negative zero */
    char *conf = strrchr(line, '\t');
    CHECK(conf && conf > line);
    *conf = '\0';
    char *score = strrchr(line, '\t');
    CHECK(score);
    for (char *f = score + 1; f; f = f == score + 1 ? conf + 1 : NULL)
        CHECK(strncmp(f, "-0.000000", 9) != 0 && !strstr(f, "nan") && !strstr(f, "inf"));
    char tiny[8];
    CHECK(pn_prediction_format(s, "visitor", 7, &c, tiny, sizeof tiny) == need && strlen(tiny) == sizeof tiny - 1);
}

static void check_loaded(pn_snapshot *s)
{
    size_t P = pn_snapshot_persona_count(s), T = pn_snapshot_trait_count(s);
    CHECK(P >= 2 && P <= PN_MAX_PERSONAS);
    CHECK(pn_snapshot_model_id(s) && pn_snapshot_model_name(s));
    for (size_t i = 0; i < pn_snapshot_reason_count(s); i++)
        CHECK(pn_snapshot_reason(s, i));
    for (size_t p = 0; p < P; p++) {
        pn_persona_info info;
        CHECK(pn_snapshot_persona_id(s, p) && pn_snapshot_persona_info(s, p, &info) == PN_OK);
        uint32_t top[8];
        size_t n = pn_snapshot_influential(s, p, 1, top, 8);
        CHECK(n <= 8);
        for (size_t i = 0; i < n; i++)
            CHECK(top[i] < T && pn_snapshot_weight(s, top[i], p) > 0);
        n = pn_snapshot_influential(s, p, 0, top, 8);
        for (size_t i = 0; i < n; i++)
            CHECK(top[i] < T && pn_snapshot_weight(s, top[i], p) < 0);
    }
    pn_quality q;
    pn_snapshot_quality(s, &q);
    CHECK(q.temperature > 0 && isfinite(q.temperature));
    uint32_t *all = malloc((T + 2) * sizeof *all);
    CHECK(all);
    for (uint32_t t = 0; t < T; t++) {
        size_t len;
        const char *id = pn_snapshot_trait_id(s, t, &len);
        CHECK(id && pn_snapshot_trait_find(s, id, len) == t);
        for (size_t p = 0; p < P; p++)
            CHECK(isfinite(pn_snapshot_weight(s, t, p)));
        all[t] = t;
    }
    all[T] = PN_NO_TRAIT;
    all[T + 1] = (uint32_t)T;
    check_classify(s, all, T + 2);
    check_classify(s, all, T < 3 ? T : 3);
    check_classify(s, NULL, 0);
    if (T > 3)
        check_classify(s, all + T / 2, T - T / 2);

    /* save, load, save: a fixed point */
    void *b1, *b2;
    size_t l1, l2;
    pn_snapshot *again;
    pn_error err;
    CHECK(pn_snapshot_save(s, &b1, &l1, NULL) == PN_OK);
    if (pn_snapshot_load(b1, l1, &again, &err) != PN_OK) {
        fprintf(stderr, "a loaded snapshot saves to bytes that do not load: %s\n", err.message);
        abort();
    }
    CHECK(pn_snapshot_save(again, &b2, &l2, NULL) == PN_OK);
    CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
    pn_snapshot_free(again);
    pn_bytes_free(b2);

    /* the public save */
    uint32_t cut = T ? pn_snapshot_trait_support(s, (uint32_t)(T / 2)) : 1;
    CHECK(pn_snapshot_save_public(s, cut, &b2, &l2, NULL) == PN_OK);
    CHECK(pn_snapshot_load(b2, l2, &again, NULL) == PN_OK);
    size_t kept = 0;
    for (uint32_t t = 0; t < T; t++)
        kept += pn_snapshot_trait_support(s, t) >= cut;
    CHECK(pn_snapshot_trait_count(again) == kept);
    pn_snapshot_free(again);
    pn_bytes_free(b2);
    pn_bytes_free(b1);

    pn_audience *a = NULL;
    pn_status st = pn_audience_from_snapshot(s, store, &a, &err);
    CHECK(st == PN_OK ? a != NULL : a == NULL && err.code == st);
    if (a) {
        for (uint32_t v = 0; v < pn_profiles_visitor_count(store); v++) {
            uint64_t set = pn_audience_baselines(a, v, INT64_MIN, INT64_MAX);
            int primary = pn_audience_primary(a, v, set, INT64_MIN, INT64_MAX);
            CHECK(set ? primary >= 0 && (size_t)primary < P : primary == -1);
            (void)pn_audience_in_target(a, v, 0, 100);
        }
        pn_audience_free(a);
    }
    free(all);
}

static void check(const uint8_t *data, size_t size)
{
    pn_snapshot *s = (pn_snapshot *)1;
    pn_error err;
    pn_status st = pn_snapshot_load(data, size, &s, &err);
    if (st != PN_OK) {
        CHECK(s == NULL && err.code == st && err.message[0] != '\0');
        CHECK(st == PN_ETRUNCATED || st == PN_ECORRUPT || st == PN_EFOREIGN || st == PN_EVERSION || st == PN_EINVAL);
        return;
    }
    check_loaded(s);
    pn_snapshot_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    check(size ? data : (const uint8_t *)"", size);
    if (size >= 64) {
        uint8_t *b = malloc(size);
        CHECK(b);
        memcpy(b, data, size);
        memset(b + 24, 0, 8);
        uint64_t sum = XXH64(b, size, 0);
        for (int i = 0; i < 8; i++)
            b[24 + i] = (uint8_t)(sum >> (8 * i));
        check(b, size);
        free(b);
    }
    return 0;
}

#include "standalone_main.h"
