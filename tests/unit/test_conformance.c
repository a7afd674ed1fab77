/* The shared conformance cases (the JSON files of tests/conformance), run against the native
 * core. The wasm tests (wasm/test/conformance.test.mjs) run the same files against the
 * WebAssembly build, so the two scorers cannot drift apart: every persona, score, probability and
 * driver must be the same double, every prediction line the same bytes, every damaged snapshot
 * the same error. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/snapshot.h"

#define CONFORMANCE_DIR PN_TESTS_DIR "/conformance"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = (size_t)n;
    return b;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        fail_msg("conformance case: missing \"%s\"", key);
    return v;
}

/* Exact: the JSON holds each double's shortest round-trip text, which strtod reads back exactly. */
static void expect_double(const char *where, const char *what, double got, const cJSON *want)
{
    if (!cJSON_IsNumber(want) || got != want->valuedouble)
        fail_msg("%s: %s is %.17g, the case says %.17g", where, what, got, cJSON_IsNumber(want) ? want->valuedouble : 0.0);
}

static void check_visitor(const char *file, const pn_snapshot *s, const cJSON *v)
{
    char where[512];
    const char *uuid = get(v, "uuid")->valuestring;
    snprintf(where, sizeof where, "%s: visitor %s", file, uuid);
    const cJSON *traits = get(v, "traits"), *e = get(v, "expect");
    size_t n = (size_t)cJSON_GetArraySize(traits), i = 0;
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    const cJSON *t;
    cJSON_ArrayForEach(t, traits) ids[i++] = t->valuestring;
    pn_classification c;
    pn_error err;
    if (pn_snapshot_classify_ids(s, ids, NULL, n, &c, &err))
        fail_msg("%s: classify failed: %s", where, err.message);
    free(ids);

    const cJSON *persona = get(e, "persona");
    const char *got = c.persona >= 0 ? pn_snapshot_persona_id(s, (size_t)c.persona) : NULL;
    if (cJSON_IsNull(persona) ? got != NULL : !got || strcmp(got, persona->valuestring) != 0)
        fail_msg("%s: persona is %s", where, got ? got : "none");
    assert_int_equal(c.persona, get(e, "index")->valueint);
    assert_int_equal(c.used_traits, (uint32_t)get(e, "used_traits")->valueint);
    expect_double(where, "score", c.score, get(e, "score"));
    expect_double(where, "confidence", c.confidence, get(e, "confidence"));
    const cJSON *scores = get(e, "scores"), *probs = get(e, "probabilities"), *drivers = get(e, "drivers");
    assert_int_equal(cJSON_GetArraySize(scores), (int)c.persona_count);
    for (uint32_t p = 0; p < c.persona_count; p++) {
        expect_double(where, "a persona's score", c.scores[p], cJSON_GetArrayItem(scores, (int)p));
        expect_double(where, "a persona's probability", c.probabilities[p], cJSON_GetArrayItem(probs, (int)p));
    }
    if (cJSON_GetArraySize(drivers) != (int)c.driver_count)
        fail_msg("%s: %u drivers, the case says %d", where, c.driver_count, cJSON_GetArraySize(drivers));
    for (uint32_t d = 0; d < c.driver_count; d++) {
        const cJSON *want = cJSON_GetArrayItem(drivers, (int)d);
        const char *id = pn_snapshot_trait_id(s, c.drivers[d].trait, NULL);
        if (strcmp(id, get(want, "trait")->valuestring) != 0)
            fail_msg("%s: driver %u is %s, the case says %s", where, d, id, get(want, "trait")->valuestring);
        expect_double(where, "a driver's contribution", c.drivers[d].contribution, get(want, "contribution"));
    }
    char line[1024];
    pn_prediction_format(s, uuid, strlen(uuid), &c, line, sizeof line);
    if (strcmp(line, get(e, "prediction")->valuestring) != 0)
        fail_msg("%s: prediction line '%s' differs from the case's", where, line);
}

/* The mutations of generate.mjs's mutate(): truncate, xor, set_u32, append. */
static unsigned char *mutate(const unsigned char *b, size_t len, const cJSON *m, size_t *out_len)
{
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(m, "truncate"), *x = cJSON_GetObjectItemCaseSensitive(m, "xor");
    const cJSON *su = cJSON_GetObjectItemCaseSensitive(m, "set_u32"), *ap = cJSON_GetObjectItemCaseSensitive(m, "append");
    size_t n = tr ? (size_t)tr->valuedouble : len, extra = ap ? (size_t)cJSON_GetArraySize(ap) : 0;
    unsigned char *c = malloc(n + extra + 1);
    memcpy(c, b, n);
    if (x)
        c[(size_t)get(x, "offset")->valuedouble] ^= (unsigned char)get(x, "value")->valueint;
    if (su) {
        size_t at = (size_t)get(su, "offset")->valuedouble;
        uint32_t v = (uint32_t)get(su, "value")->valuedouble;
        for (int i = 0; i < 4; i++)
            c[at + i] = (unsigned char)(v >> (8 * i));
    }
    for (size_t i = 0; i < extra; i++)
        c[n + i] = (unsigned char)cJSON_GetArrayItem(ap, (int)i)->valueint;
    *out_len = n + extra;
    return c;
}

static void run_case(const char *file, int *visitors, int *mutations)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", CONFORMANCE_DIR, file);
    char *text = slurp(path, NULL);
    cJSON *doc = cJSON_Parse(text);
    if (!doc)
        fail_msg("%s: not valid JSON", file);
    snprintf(path, sizeof path, "%s/%s", CONFORMANCE_DIR, get(doc, "snapshot")->valuestring);
    size_t len;
    unsigned char *bytes = (unsigned char *)slurp(path, &len);
    pn_error err;
    const cJSON *item, *ms = cJSON_GetObjectItemCaseSensitive(doc, "mutations");
    cJSON_ArrayForEach(item, ms) {
        size_t mlen;
        unsigned char *m = mutate(bytes, len, item, &mlen);
        pn_snapshot *s = NULL;
        pn_status st = pn_snapshot_load(m, mlen, &s, &err);
        const char *name = get(item, "name")->valuestring;
        if (st == PN_OK || strcmp(pn_status_name(st), get(item, "error")->valuestring) != 0)
            fail_msg("%s: %s: got %s, the case says %s", file, name, pn_status_name(st), get(item, "error")->valuestring);
        if (strcmp(err.message, get(item, "message")->valuestring) != 0)
            fail_msg("%s: %s: message '%s' differs from the case's", file, name, err.message);
        free(m);
        ++*mutations;
    }
    const cJSON *vs = cJSON_GetObjectItemCaseSensitive(doc, "visitors");
    if (vs) {
        pn_snapshot *s = NULL;
        if (pn_snapshot_load(bytes, len, &s, &err))
            fail_msg("%s: %s", path, err.message);
        cJSON_ArrayForEach(item, vs) {
            check_visitor(file, s, item);
            ++*visitors;
        }
        pn_snapshot_free(s);
    }
    free(bytes);
    cJSON_Delete(doc);
    free(text);
}

static void test_every_case(void **state)
{
    (void)state;
    DIR *d = opendir(CONFORMANCE_DIR);
    assert_non_null(d);
    int files = 0, visitors = 0, mutations = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0) {
            run_case(e->d_name, &visitors, &mutations);
            files++;
        }
    }
    closedir(d);
    /* An emptied or moved folder must not pass silently. */
    assert_true(files >= 4);
    assert_true(visitors >= 50);
    assert_true(mutations >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_case)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
