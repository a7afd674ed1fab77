/* Torture (curl's mode): every operation is run again and again, failing its 1st, 2nd, 3rd …
 * allocation in turn, until it runs with no failure. Each failed run must return PN_ENOMEM
 * ("out of memory"), or a clean error when the failure was inside cJSON (which reports any
 * failure as unparsable input), and must leave nothing allocated; each run that succeeds
 * despite a failure must give exactly the fault-free result. Linked with the core built with
 * PN_ALLOC_HOOKS, so these hooks see every core allocation; cJSON's go through them too. */
#include "test_util.h"

#include <cjson/cJSON.h>

#include "personae/audience.h"
#include "personae/model.h"
#include "personae/rule.h"
#include "personae/train.h"

/* Section - The allocator hooks */

static long fail_at;       /* fail the allocation with this number (1-based); 0: never */
static long allocations;   /* allocation attempts since the last reset */
static long live;          /* blocks allocated and not yet freed since the last reset */
static int injected;       /* a failure was injected in this run */
static int injected_cjson; /* … inside cJSON */

static int should_fail(int cjson)
{
    if (fail_at && ++allocations == fail_at) {
        injected = 1;
        injected_cjson = cjson;
        return 1;
    }
    return 0;
}

void *pn_hook_malloc(size_t size)
{
    if (should_fail(0))
        return NULL;
    void *p = malloc(size);
    live += p != NULL;
    return p;
}

void *pn_hook_realloc(void *ptr, size_t size)
{
    if (should_fail(0))
        return NULL;
    void *p = realloc(ptr, size);
    live += p != NULL && ptr == NULL;
    return p;
}

void pn_hook_free(void *ptr)
{
    live -= ptr != NULL;
    free(ptr);
}

static void *cjson_malloc(size_t size)
{
    if (should_fail(1))
        return NULL;
    void *p = malloc(size);
    live += p != NULL;
    return p;
}

static void cjson_free(void *ptr)
{
    live -= ptr != NULL;
    free(ptr);
}

/* Runs outside the torture loop: no failures, no accounting that matters. */
static void quiet(void)
{
    fail_at = 0;
}

/* Section - The loop */

typedef pn_status (*op_fn)(void *ctx, pn_error *err);

static void torture(const char *name, op_fn op, void *ctx)
{
    long n;
    long failures = 0;
    for (n = 1;; n++) {
        fail_at = n;
        allocations = 0;
        live = 0;
        injected = injected_cjson = 0;
        pn_error err;
        pn_error_clear(&err);
        pn_status st = op(ctx, &err);
        long leaked = live;
        int was_injected = injected, in_cjson = injected_cjson;
        fail_at = 0;
        if (leaked != 0)
            fail_msg("%s: failing allocation %ld leaves %ld blocks allocated (status %s)", name, n, leaked,
                     pn_status_name(st));
        if (!was_injected) {
            if (st != PN_OK)
                fail_msg("%s: fails with no injected failure: %s %s", name, pn_status_name(st), err.message);
            break;
        }
        if (st == PN_OK)
            continue; /* the operation did without that block (and checked its result) */
        failures++;
        if (st == PN_ENOMEM) {
            if (err.code != PN_ENOMEM || !strstr(err.message, "out of memory"))
                fail_msg("%s: allocation %ld: PN_ENOMEM with error record %s \"%s\"", name, n, pn_status_name(err.code),
                         err.message);
        } else if (!(in_cjson && st == PN_EPARSE && err.code == PN_EPARSE)) {
            fail_msg("%s: failing allocation %ld%s gives %s \"%s\", not PN_ENOMEM", name, n, in_cjson ? " (in cJSON)" : "",
                     pn_status_name(st), err.message);
        }
    }
    print_message("%-28s %5ld allocations, %5ld failed runs, no leak\n", name, n - 1, failures);
    assert_true(n > 1);
}

/* Section - Operations */

#define NOW 1700000000LL

/* About 50 event lines, TSV and JSON, one JSON line longer than add_line's stack scratch. */
static char *fifty_lines(void)
{
    char *text = malloc(8192);
    size_t at = 0;
    for (int i = 0; i < 48; i++) {
        if (i % 5 == 0)
            at += (size_t)sprintf(text + at, "{\"uuid\":\"v%d\",\"trait\":%d,\"ts\":%lld}\n", i % 7, 100 + i % 11, NOW - i);
        else
            at += (size_t)sprintf(text + at, "v%d\tt%d\t%lld\r\n", i % 9, i % 13, NOW - i * 100);
    }
    at += (size_t)sprintf(text + at, "\n{\"uuid\":\"long\",\"trait\":\"t1\",\"ts\":5,\"pad\":\"");
    memset(text + at, 'p', 1500);
    at += 1500;
    at += (size_t)sprintf(text + at, "\"}\nlast\tt2\t7\n");
    return text;
}

typedef struct profiles_ctx {
    const char *text;
    size_t visitors, traits;
    uint64_t events;
} profiles_ctx;

static pn_status build_profiles(void *vctx, pn_error *err)
{
    profiles_ctx *c = vctx;
    pn_profiles *p;
    pn_status st = pn_profiles_new(&p, err);
    if (st)
        return st;
    const char *s = c->text;
    size_t half = strlen(c->text) / 2;
    int reopened = 0;
    while (*s && !st) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        uint64_t before = pn_profiles_event_count(p);
        st = pn_profiles_add_line(p, s, n, err);
        if (st == PN_ENOMEM || (st == PN_EPARSE && injected_cjson)) {
            /* nothing was added, and the store stays usable: the same line again succeeds */
            assert_int_equal(pn_profiles_event_count(p), before);
            st = pn_profiles_add_line(p, s, n, err);
        }
        s += n + (e ? 1 : 0);
        if (!st && !reopened && (size_t)(s - c->text) >= half) {
            /* halfway: seal and reopen (a failed reopen leaves the store sealed and whole) */
            reopened = 1;
            uint64_t so_far = pn_profiles_event_count(p);
            st = pn_profiles_finish(p, err);
            if (!st) {
                st = pn_profiles_reopen(p, err);
                assert_int_equal(pn_profiles_event_count(p), so_far); /* reopened, or sealed as it was */
            }
        }
    }
    if (!st)
        st = pn_profiles_finish(p, err);
    if (!st) {
        assert_int_equal(pn_profiles_visitor_count(p), c->visitors);
        assert_int_equal(pn_profiles_trait_count(p), c->traits);
        assert_int_equal(pn_profiles_event_count(p), c->events);
    }
    pn_profiles_free(p);
    return st;
}

static void profiles_survive_every_failure(void **state)
{
    (void)state;
    char *text = fifty_lines();
    quiet();
    pn_profiles *ref = pn_test_profiles(text);
    profiles_ctx c = {text, pn_profiles_visitor_count(ref), pn_profiles_trait_count(ref), pn_profiles_event_count(ref)};
    assert_int_equal(c.events, 50);
    pn_profiles_free(ref);
    torture("profiles from 50 lines", build_profiles, &c);
    free(text);
}

static const char CATALOG[] =
    "{\"data_sources\":[{\"id\":\"web\",\"name\":\"Web\",\"id_type\":\"device\"},"
    "  {\"id\":\"crm\",\"dec_labels\":[\"pii\",\"offsite_advertising\"]},{\"id\":7}],"
    " \"traits\":[{\"id\":\"b0\",\"data_source\":\"web\"},{\"id\":\"b1\",\"data_source\":\"web\"},"
    "  {\"id\":\"b2\",\"data_source\":\"crm\"},{\"id\":\"tgt\",\"data_source\":\"web\"},"
    "  {\"id\":1,\"data_source\":7},{\"id\":2,\"data_source\":7,\"kind\":\"onboarded\"},{\"id\":3,\"data_source\":\"web\"},"
    "  {\"id\":\"p0_0\",\"data_source\":\"web\"},{\"id\":\"p1_1\",\"data_source\":\"web\"},{\"id\":\"n0\",\"data_source\":\"crm\"},"
    "  {\"id\":\"pred\",\"data_source\":\"web\",\"kind\":\"predictive\"},{\"id\":\"x\",\"data_source\":\"web\",\"party\":\"third\"}],"
    " \"segments\":[{\"id\":\"s1\",\"rule\":\"1T AND NOT 2T\"},{\"id\":\"s2\",\"rule\":\"FREQUENCY([2T,3T] <= 7D) >= 2\"},"
    "  {\"id\":\"s3\",\"rule\":\"(1T OR \\\"tgt\\\") AND NOT 3T\",\"data_source\":\"crm\"}],"
    " \"destinations\":[{\"id\":\"edge\",\"type\":\"edge\",\"dec_labels\":[\"onsite_personalization\"]}]}";

static pn_status parse_catalog(void *ctx, pn_error *err)
{
    (void)ctx;
    pn_catalog *c;
    pn_status st = pn_catalog_parse(CATALOG, strlen(CATALOG), &c, err);
    if (st)
        return st;
    uint32_t labels = 0;
    assert_int_equal(pn_catalog_destination_labels(c, "edge", &labels, NULL), PN_OK);
    assert_int_equal(labels, PN_DEC_ONSITE_PERSONALIZATION);
    pn_catalog_free(c);
    return PN_OK;
}

static pn_status build_catalog(void *ctx, pn_error *err)
{
    (void)ctx;
    pn_catalog *c;
    pn_status st = pn_catalog_new(&c, err);
    if (st)
        return st;
    if (!(st = pn_catalog_add_data_source(c, "web", 0, err)) && !(st = pn_catalog_add_data_source(c, "crm", 1, err)) &&
        !(st = pn_catalog_add_trait(c, "1", "web", PN_TRAIT_RULE, 0, 0, err)) &&
        !(st = pn_catalog_add_trait(c, "2", "crm", PN_TRAIT_ONBOARDED, 0, 0, err)) &&
        !(st = pn_catalog_add_segment(c, "s", "1T AND (2T OR NOT FREQUENCY([1T] <= 3D) > 4)", "crm", 0, 0, err)))
        st = pn_catalog_add_destination(c, "d", 8, err);
    pn_catalog_free(c);
    return st;
}

static void catalogs_survive_every_failure(void **state)
{
    (void)state;
    torture("catalog parse", parse_catalog, NULL);
    torture("catalog builder", build_catalog, NULL);
}

typedef struct model_ctx {
    const pn_catalog *catalog;
    const char *json;
    uint32_t dec_union;
} model_ctx;

static pn_status parse_model(void *vctx, pn_error *err)
{
    model_ctx *c = vctx;
    pn_model_def *m;
    pn_status st = pn_model_def_parse(c->json, strlen(c->json), c->catalog, &m, err);
    if (st)
        return st;
    assert_int_equal(pn_model_def_dec_union(m), c->dec_union);
    pn_model_def_free(m);
    return PN_OK;
}

static pn_catalog *catalog(void)
{
    quiet();
    pn_catalog *c;
    pn_error err;
    if (pn_catalog_parse(CATALOG, strlen(CATALOG), &c, &err))
        fail_msg("catalog: %s", err.message);
    return c;
}

static void model_definitions_survive_every_failure(void **state)
{
    (void)state;
    pn_catalog *cat = catalog();
    model_ctx traits = {cat, "{\"id\":\"m\",\"name\":\"M\",\"baselines\":[\"b0\",\"b1\",\"b2\"],\"target\":\"tgt\","
                             "\"data_source\":7,\"lookback_days\":0}",
                        PN_DEC_PII | PN_DEC_OFFSITE_ADVERTISING};
    model_ctx segments = {cat, "{\"name\":\"S\",\"baselines\":[\"s1\",\"s2\"],\"target\":\"s3\"}",
                          PN_DEC_PII | PN_DEC_OFFSITE_ADVERTISING};
    model_ctx bare = {NULL, "{\"name\":\"N\",\"baselines\":[1,2,3,4,5,6,7,8]}", 0};
    torture("model (trait baselines)", parse_model, &traits);
    torture("model (segment baselines)", parse_model, &segments);
    torture("model (no catalog)", parse_model, &bare);
    pn_catalog_free(cat);
}

typedef struct train_ctx {
    const pn_profiles *p;
    const pn_model_def *m;
    const pn_catalog *c;
    const uint8_t *want;
    size_t want_len;
} train_ctx;

static pn_status train(void *vctx, pn_error *err)
{
    train_ctx *c = vctx;
    pn_snapshot *s;
    pn_status st = pn_train(c->p, c->m, c->c, NULL, &s, err);
    if (st)
        return st;
    void *b;
    size_t len;
    if ((st = pn_snapshot_save(s, &b, &len, err)) == PN_OK) {
        assert_int_equal(len, c->want_len);
        assert_memory_equal(b, c->want, len);
        pn_bytes_free(b);
    }
    pn_snapshot_free(s);
    return st;
}

static void training_survives_every_failure(void **state)
{
    (void)state;
    pn_catalog *cat = catalog();
    char *text = pn_test_synthetic(60, 3, 10, NOW - 86400 * 20, 5);
    pn_profiles *p = pn_test_profiles(text);
    free(text);
    static const char *const models[] = {
        "{\"name\":\"m\",\"baselines\":[\"b0\",\"b1\",\"b2\"],\"target\":\"tgt\",\"data_source\":\"crm\"}",
        "{\"name\":\"s\",\"baselines\":[\"s1\",\"s3\"],\"target\":\"s2\"}",
    };
    static const char *const names[] = {"train (trait baselines)", "train (segment baselines)"};
    for (size_t k = 0; k < N_ELEMS(models); k++) {
        pn_model_def *m;
        pn_snapshot *ref;
        pn_error err;
        void *want = NULL;
        size_t len = 0;
        if (pn_model_def_parse(models[k], strlen(models[k]), cat, &m, &err))
            fail_msg("model: %s", err.message);
        if (k == 1) {
            /* the segment model needs visitors in its segments: trait 1 without 2, and 3 */
            pn_profiles_free(p);
            p = pn_test_profiles("a\t1\t100\na\t3\t100\na\tp0_0\t100\nb\t1\t100\nb\ttgt\t100\nb\tp1_1\t100\n"
                                 "c\t2\t99\nc\t3\t100\nc\tp0_0\t100\nd\t1\t100\nd\tp1_1\t100\n");
        }
        if (pn_train(p, m, cat, NULL, &ref, &err) || pn_snapshot_save(ref, &want, &len, &err))
            fail_msg("reference training: %s", err.message);
        train_ctx c = {p, m, cat, want, len};
        torture(names[k], train, &c);
        pn_bytes_free(want);
        pn_snapshot_free(ref);
        pn_model_def_free(m);
    }
    pn_profiles_free(p);
    pn_catalog_free(cat);
}

typedef struct snap_ctx {
    const pn_snapshot *s;
    const uint8_t *bytes;
    size_t len;
    const uint8_t *pub;
    size_t pub_len;
    uint32_t min_support;
} snap_ctx;

static pn_status save(void *vctx, pn_error *err)
{
    snap_ctx *c = vctx;
    void *b;
    size_t len;
    pn_status st = pn_snapshot_save(c->s, &b, &len, err);
    if (st)
        return st;
    assert_int_equal(len, c->len);
    assert_memory_equal(b, c->bytes, len);
    pn_bytes_free(b);
    if ((st = pn_snapshot_save_public(c->s, c->min_support, &b, &len, err)))
        return st;
    assert_int_equal(len, c->pub_len);
    assert_memory_equal(b, c->pub, len);
    pn_bytes_free(b);
    return PN_OK;
}

static pn_status load(void *vctx, pn_error *err)
{
    snap_ctx *c = vctx;
    pn_snapshot *s;
    pn_status st = pn_snapshot_load(c->bytes, c->len, &s, err);
    if (st)
        return st;
    assert_int_equal(pn_snapshot_trait_count(s), pn_snapshot_trait_count(c->s));
    assert_string_equal(pn_snapshot_model_id(s), pn_snapshot_model_id(c->s));
    pn_snapshot_free(s);
    return PN_OK;
}

static pn_snapshot *trained_snapshot(int visitors, int personas)
{
    quiet();
    char *text = pn_test_synthetic(visitors, personas, 10, NOW, 9);
    pn_profiles *p = pn_test_profiles(text);
    free(text);
    char json[512];
    size_t at = (size_t)sprintf(json, "{\"name\":\"m\",\"target\":\"tgt\",\"baselines\":[");
    for (int k = 0; k < personas; k++)
        at += (size_t)sprintf(json + at, "%s\"b%d\"", k ? "," : "", k);
    strcpy(json + at, "]}");
    pn_model_def *m;
    pn_snapshot *s = NULL;
    pn_error err;
    if (pn_model_def_parse(json, strlen(json), NULL, &m, &err) || pn_train(p, m, NULL, NULL, &s, &err))
        fail_msg("%s", err.message);
    pn_model_def_free(m);
    pn_profiles_free(p);
    return s;
}

static void snapshots_survive_every_failure(void **state)
{
    (void)state;
    pn_snapshot *s = trained_snapshot(90, 3);
    void *bytes, *pub;
    size_t len, pub_len;
    assert_int_equal(pn_snapshot_save(s, &bytes, &len, NULL), PN_OK);
    assert_int_equal(pn_snapshot_save_public(s, 20, &pub, &pub_len, NULL), PN_OK);
    assert_true(pub_len < len);
    snap_ctx c = {s, bytes, len, pub, pub_len, 20};
    torture("snapshot save", save, &c);
    torture("snapshot load", load, &c);
    pn_bytes_free(bytes);
    pn_bytes_free(pub);
    pn_snapshot_free(s);
}

typedef struct classify_ctx {
    const pn_snapshot *s;
    const uint32_t *traits;
    const char *const *ids;
    size_t n;
    pn_classification want;
} classify_ctx;

static pn_status classify(void *vctx, pn_error *err)
{
    classify_ctx *c = vctx;
    pn_classification got;
    pn_status st = c->ids ? pn_snapshot_classify_ids(c->s, c->ids, NULL, c->n, &got, err)
                          : pn_snapshot_classify(c->s, c->traits, c->n, &got, err);
    if (st)
        return st;
    assert_int_equal(got.persona, c->want.persona);
    assert_int_equal(got.used_traits, c->want.used_traits);
    assert_memory_equal(got.scores, c->want.scores, got.persona_count * sizeof(double));
    return PN_OK;
}

static void classifying_many_traits_survives_every_failure(void **state)
{
    (void)state;
    pn_snapshot *s = trained_snapshot(60, 2);
    size_t T = pn_snapshot_trait_count(s);
    enum { N = 5000 };
    uint32_t *traits = malloc(N * sizeof *traits);
    const char **ids = malloc(N * sizeof *ids);
    for (size_t i = 0; i < N; i++) {
        traits[i] = i % 3 ? (uint32_t)(i % (T + 5)) : PN_NO_TRAIT;
        ids[i] = i % 4 ? pn_snapshot_trait_id(s, (uint32_t)(i % T), NULL) : "unknown";
    }
    classify_ctx c = {s, traits, NULL, N, {0}};
    assert_int_equal(pn_snapshot_classify(s, traits, N, &c.want, NULL), PN_OK);
    assert_int_equal(c.want.used_traits, T);
    torture("classify 5000 indices", classify, &c);
    classify_ctx ci = {s, NULL, ids, N, {0}};
    assert_int_equal(pn_snapshot_classify_ids(s, ids, NULL, N, &ci.want, NULL), PN_OK);
    torture("classify 5000 ids", classify, &ci);
    free(traits);
    free(ids);
    pn_snapshot_free(s);
}

typedef struct audience_ctx {
    const pn_model_def *m;
    const pn_profiles *p;
} audience_ctx;

static pn_status audience(void *vctx, pn_error *err)
{
    audience_ctx *c = vctx;
    pn_audience *a;
    pn_status st = pn_audience_from_model(c->m, c->p, &a, err);
    if (st)
        return st;
    pn_audience_free(a);
    return PN_OK;
}

static pn_status rules(void *ctx, pn_error *err)
{
    (void)ctx;
    static const char seg[] = "(1T OR \"movie:42\") AND NOT FREQUENCY([2T, 3T] <= 7D) >= 3";
    static const char sig[] = "c_page == \"home\" AND (c_price >= 100 OR c_url CONTAINS \"loan\")";
    pn_segment_rule *r;
    pn_signal_rule *q;
    pn_status st = pn_segment_rule_parse(seg, strlen(seg), &r, NULL, err);
    if (st)
        return st;
    pn_segment_rule_free(r);
    if ((st = pn_signal_rule_parse(sig, strlen(sig), &q, NULL, err)))
        return st;
    pn_signal_rule_free(q);
    return PN_OK;
}

static void audiences_and_rules_survive_every_failure(void **state)
{
    (void)state;
    pn_catalog *cat = catalog();
    pn_profiles *p = pn_test_profiles("a\t1\t1\nb\t2\t2\nc\t3\t3\nd\ttgt\t4\n");
    const char *json = "{\"name\":\"S\",\"baselines\":[\"s1\",\"s2\"],\"target\":\"s3\"}";
    pn_model_def *m;
    assert_int_equal(pn_model_def_parse(json, strlen(json), cat, &m, NULL), PN_OK);
    audience_ctx c = {m, p};
    torture("audience (segments)", audience, &c);
    torture("segment and signal rules", rules, NULL);
    pn_model_def_free(m);
    pn_profiles_free(p);
    pn_catalog_free(cat);
}

int main(void)
{
    cJSON_Hooks hooks = {cjson_malloc, cjson_free};
    cJSON_InitHooks(&hooks);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(profiles_survive_every_failure),
        cmocka_unit_test(catalogs_survive_every_failure),
        cmocka_unit_test(model_definitions_survive_every_failure),
        cmocka_unit_test(training_survives_every_failure),
        cmocka_unit_test(snapshots_survive_every_failure),
        cmocka_unit_test(classifying_many_traits_survives_every_failure),
        cmocka_unit_test(audiences_and_rules_survive_every_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
