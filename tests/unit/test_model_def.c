/* Model definitions: every rule of DESIGN §1 with its code and message (baseline counts,
 * duplicates, mixed kinds, unknown ids, forbidden baselines and targets, lookback range), the
 * DEC union, numeric ids, and the accessors. Table-driven. */
#include "test_util.h"

#include "personae/model.h"

/* Data sources: web (no labels), crm (pii), ads (onsite_advertising), partner
 * (offsite_advertising), pa (onsite_personalization: the model's own). */
static const char CATALOG[] =
    "{\"data_sources\":[{\"id\":\"web\"},{\"id\":\"crm\",\"dec_labels\":[\"pii\"]},"
    "  {\"id\":\"ads\",\"dec_labels\":[\"onsite_advertising\"]},{\"id\":\"partner\",\"dec_labels\":[\"offsite_advertising\"]},"
    "  {\"id\":\"pa\",\"dec_labels\":[\"onsite_personalization\"]},{\"id\":5}],"
    " \"traits\":["
    "  {\"id\":\"1\",\"data_source\":\"web\"},{\"id\":\"2\",\"data_source\":\"web\"},{\"id\":\"3\",\"data_source\":\"web\"},"
    "  {\"id\":\"4\",\"data_source\":\"web\",\"kind\":\"onboarded\"},"
    "  {\"id\":\"10\",\"data_source\":\"crm\"},{\"id\":\"20\",\"data_source\":\"ads\"},{\"id\":\"21\",\"data_source\":\"partner\"},"
    "  {\"id\":\"30\",\"data_source\":\"web\",\"kind\":\"predictive\"},{\"id\":\"31\",\"data_source\":\"web\",\"kind\":\"algorithmic\"},"
    "  {\"id\":\"32\",\"data_source\":\"web\",\"party\":\"third\"},{\"id\":\"33\",\"data_source\":\"web\",\"origin\":\"shared\"}],"
    " \"segments\":["
    "  {\"id\":\"s1\",\"rule\":\"1T AND 2T\"},{\"id\":\"s2\",\"rule\":\"10T OR 3T\"},"
    "  {\"id\":\"s3\",\"rule\":\"FREQUENCY([20T] <= 7D) >= 2\",\"data_source\":\"partner\"},"
    "  {\"id\":\"s4\",\"rule\":\"4T\",\"data_source\":\"web\"},"
    "  {\"id\":\"sp\",\"rule\":\"1T\",\"predictive\":true},{\"id\":\"ssh\",\"rule\":\"2T\",\"origin\":\"shared\"}]}";

static pn_catalog *catalog(void)
{
    pn_catalog *c = NULL;
    pn_error err;
    if (pn_catalog_parse(CATALOG, strlen(CATALOG), &c, &err))
        fail_msg("catalog: %s", err.message);
    return c;
}

static pn_model_def *parse_ok(const char *json, const pn_catalog *c)
{
    pn_model_def *m = NULL;
    pn_error err;
    if (pn_model_def_parse(json, strlen(json), c, &m, &err))
        fail_msg("model %s: %s", json, err.message);
    assert_non_null(m);
    return m;
}

typedef struct bad_case {
    const char *json;
    pn_status code;
    const char *needle;
} bad_case;

static const bad_case bad_cases[] = {
    /* the document */
    {"", PN_EPARSE, "model: invalid JSON"},
    {"{\"name\":\"m\",", PN_EPARSE, "model: invalid JSON near character"},
    {"[]", PN_EPARSE, "model: the document must be a JSON object"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"]} x", PN_EPARSE, "model: invalid JSON"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"targets\":\"3\"}", PN_EPARSE, "unknown field \"targets\""},
    {"{\"baselines\":[\"1\",\"2\"]}", PN_EPARSE, "\"name\" must be a string"},
    {"{\"name\":7,\"baselines\":[\"1\",\"2\"]}", PN_EPARSE, "\"name\" must be a string"},
    {"{\"name\":\"\",\"baselines\":[\"1\",\"2\"]}", PN_EINVAL, "model name must be 1 to 255 characters"},
    {"{\"name\":\"m\"}", PN_EPARSE, "\"baselines\" must be an array"},
    {"{\"name\":\"m\",\"baselines\":\"1,2\"}", PN_EPARSE, "\"baselines\" must be an array"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",{}]}", PN_EPARSE, "baselines[1] must be a trait or segment id"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",2.5]}", PN_EPARSE, "baselines[1]"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",-2]}", PN_EPARSE, "baselines[1]"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"\"]}", PN_EINVAL, "baseline 2 is empty"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":true}", PN_EPARSE, "\"target\" must be a trait or segment id"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":\"\"}", PN_EINVAL, "target is empty"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"data_source\":[]}", PN_EPARSE, "\"data_source\" must be a data source id"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"id\":5}", PN_EPARSE, "\"id\" must be a string"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"id\":\"\"}", PN_EINVAL, "model id must be 1 to 255"},
    /* 2 to 50 baselines */
    {"{\"name\":\"m\",\"baselines\":[]}", PN_ERULE, "a model needs 2 to 50 baselines; this one has 0"},
    {"{\"name\":\"m\",\"baselines\":[\"1\"]}", PN_ERULE, "this one has 1"},
    /* distinct */
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"1\"]}", PN_ERULE, "baseline '1' is listed twice"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\",1]}", PN_ERULE, "baseline '1' is listed twice"},
    /* all traits or all segments */
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"s1\"]}", PN_ERULE, "baselines must be all traits or all segments"},
    {"{\"name\":\"m\",\"baselines\":[\"s1\",\"s2\",\"3\"]}", PN_ERULE, "'3' is a trait but 's1' is a segment"},
    /* unknown ids */
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"999\"]}", PN_EUNKNOWN, "baseline '999' is neither a trait nor a segment"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":\"nope\"}", PN_EUNKNOWN, "target 'nope'"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":999}", PN_EUNKNOWN, "target '999'"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"data_source\":\"nope\"}", PN_EUNKNOWN, "data_source 'nope' is not in the catalog"},
    /* forbidden baselines */
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"30\"]}", PN_ERULE, "baseline '30' is a predictive trait"},
    {"{\"name\":\"m\",\"baselines\":[\"31\",\"1\"]}", PN_ERULE, "baseline '31' is an algorithmic trait"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"32\"]}", PN_ERULE, "baseline '32' is a third-party trait"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"33\"]}", PN_ERULE, "baseline '33' is shared into the account"},
    {"{\"name\":\"m\",\"baselines\":[\"s1\",\"sp\"]}", PN_ERULE, "baseline 'sp' is a predictive segment"},
    {"{\"name\":\"m\",\"baselines\":[\"s1\",\"ssh\"]}", PN_ERULE, "baseline 'ssh' is shared into the account"},
    /* forbidden targets */
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":\"30\"}", PN_ERULE, "target '30' is a predictive trait"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":\"31\"}", PN_ERULE, "target '31' is an algorithmic trait"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":32}", PN_ERULE, "target '32' is a third-party trait"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":\"33\"}", PN_ERULE, "target '33' is shared"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":\"sp\"}", PN_ERULE, "target 'sp' is a predictive segment"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":\"ssh\"}", PN_ERULE, "target 'ssh' is shared"},
    /* the target may not be a baseline */
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":\"2\"}", PN_ERULE, "target '2' is also a baseline"},
    {"{\"name\":\"m\",\"baselines\":[\"s1\",\"s2\"],\"target\":\"s1\"}", PN_ERULE, "target 's1' is also a baseline"},
    /* lookback */
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"lookback_days\":-1}", PN_EINVAL, "lookback_days must be from 0 (all history) to 3650"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"lookback_days\":3651}", PN_EINVAL, "lookback_days must be from 0"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"lookback_days\":1e10}", PN_EINVAL, "lookback_days must be from 0"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"lookback_days\":-1e300}", PN_EINVAL, "lookback_days must be from 0"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"lookback_days\":1e999}", PN_EINVAL, "lookback_days must be from 0"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"lookback_days\":1.5}", PN_EPARSE, "whole number of days"},
    {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"lookback_days\":\"30\"}", PN_EPARSE, "whole number of days"},
};

static void bad_definitions_fail_with_code_and_message(void **state)
{
    (void)state;
    pn_catalog *c = catalog();
    for (size_t i = 0; i < N_ELEMS(bad_cases); i++) {
        const bad_case *b = &bad_cases[i];
        pn_model_def *m = (pn_model_def *)1;
        pn_error err;
        pn_error_clear(&err);
        pn_status st = pn_model_def_parse(b->json, strlen(b->json), c, &m, &err);
        if (st != b->code || err.code != b->code || !strstr(err.message, b->needle))
            fail_msg("case %zu %s: got %s \"%s\", want %s containing \"%s\"", i, b->json, pn_status_name(st), err.message,
                     pn_status_name(b->code), b->needle);
        assert_null(m);
    }
    pn_catalog_free(c);
}

static char *baselines_json(int n)
{
    char *s = malloc(64 + (size_t)n * 16);
    size_t at = (size_t)sprintf(s, "{\"name\":\"many\",\"baselines\":[");
    for (int i = 0; i < n; i++)
        at += (size_t)sprintf(s + at, "%s\"b%d\"", i ? "," : "", i);
    strcpy(s + at, "]}");
    return s;
}

static void fifty_baselines_pass_and_fifty_one_fail(void **state)
{
    (void)state;
    char *ok = baselines_json(PN_MAX_BASELINES), *bad = baselines_json(PN_MAX_BASELINES + 1);
    pn_model_def *m = parse_ok(ok, NULL);
    assert_int_equal(pn_model_def_baseline_count(m), 50);
    assert_string_equal(pn_model_def_baseline(m, 49), "b49");
    pn_model_def_free(m);
    pn_error err;
    assert_status(pn_model_def_parse(bad, strlen(bad), NULL, &m, &err), PN_ERULE, &err, "this one has 51");
    assert_null(m);
    free(ok);
    free(bad);
    char *huge = baselines_json(1000);
    assert_status(pn_model_def_parse(huge, strlen(huge), NULL, &m, &err), PN_ERULE, &err, "this one has 1000");
    free(huge);
}

static void dec_union_is_model_source_baselines_and_target(void **state)
{
    (void)state;
    pn_catalog *c = catalog();
    const struct {
        const char *json;
        uint32_t want;
    } cases[] = {
        {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"]}", 0},
        {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"data_source\":\"pa\"}", PN_DEC_ONSITE_PERSONALIZATION},
        {"{\"name\":\"m\",\"baselines\":[\"1\",\"10\"]}", PN_DEC_PII},
        {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":\"20\"}", PN_DEC_ONSITE_ADVERTISING},
        {"{\"name\":\"m\",\"baselines\":[\"1\",\"10\"],\"target\":\"20\",\"data_source\":\"pa\"}",
         PN_DEC_PII | PN_DEC_ONSITE_ADVERTISING | PN_DEC_ONSITE_PERSONALIZATION},
        /* segments carry their traits' sources (s2 names 10: crm) and their own (s3: partner) */
        {"{\"name\":\"m\",\"baselines\":[\"s1\",\"s2\"]}", PN_DEC_PII},
        {"{\"name\":\"m\",\"baselines\":[\"s1\",\"s4\"],\"target\":\"s3\"}", PN_DEC_ONSITE_ADVERTISING | PN_DEC_OFFSITE_ADVERTISING},
        {"{\"name\":\"m\",\"baselines\":[\"s2\",\"s3\"],\"data_source\":\"pa\"}", PN_DEC_ALL},
        /* a trait target with a segment baseline and the other way round */
        {"{\"name\":\"m\",\"baselines\":[\"s1\",\"s4\"],\"target\":\"21\"}", PN_DEC_OFFSITE_ADVERTISING},
        {"{\"name\":\"m\",\"baselines\":[\"1\",\"2\"],\"target\":\"s2\"}", PN_DEC_PII},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        pn_model_def *m = parse_ok(cases[i].json, c);
        if (pn_model_def_dec_union(m) != cases[i].want)
            fail_msg("case %zu %s: union %u, want %u", i, cases[i].json, pn_model_def_dec_union(m), cases[i].want);
        pn_model_def_free(m);
    }
    pn_catalog_free(c);
}

static void accessors_describe_a_trait_model(void **state)
{
    (void)state;
    pn_catalog *c = catalog();
    pn_model_def *m = parse_ok("{\"id\":\"m-1\",\"name\":\"Laptops\",\"baselines\":[\"1\",2,\"3\"],\"target\":4,"
                               "\"data_source\":\"pa\",\"lookback_days\":0}",
                               c);
    assert_string_equal(pn_model_def_id(m), "m-1");
    assert_string_equal(pn_model_def_name(m), "Laptops");
    assert_int_equal(pn_model_def_baseline_count(m), 3);
    assert_string_equal(pn_model_def_baseline(m, 0), "1");
    assert_string_equal(pn_model_def_baseline(m, 1), "2");
    assert_string_equal(pn_model_def_baseline(m, 2), "3");
    assert_null(pn_model_def_baseline(m, 3));
    assert_false(pn_model_def_baselines_are_segments(m));
    assert_string_equal(pn_model_def_target(m), "4");
    assert_false(pn_model_def_target_is_segment(m));
    assert_string_equal(pn_model_def_data_source(m), "pa");
    assert_int_equal(pn_model_def_lookback_days(m), 0);
    assert_null(pn_model_def_segment_rule(m, "1"));
    assert_null(pn_model_def_segment_rule(m, "4"));
    pn_model_def_free(m);
    pn_catalog_free(c);
}

static void accessors_describe_a_segment_model(void **state)
{
    (void)state;
    pn_catalog *c = catalog();
    pn_model_def *m = parse_ok("{\"name\":\"Segs\",\"baselines\":[\"s1\",\"s2\"],\"target\":\"s3\",\"lookback_days\":3650,"
                               "\"data_source\":5}",
                               c);
    assert_string_equal(pn_model_def_id(m), "Segs"); /* no id: the name */
    assert_true(pn_model_def_baselines_are_segments(m));
    assert_true(pn_model_def_target_is_segment(m));
    assert_string_equal(pn_model_def_data_source(m), "5");
    assert_int_equal(pn_model_def_lookback_days(m), 3650);
    assert_string_equal(pn_model_def_segment_rule(m, "s1"), "1T AND 2T");
    assert_string_equal(pn_model_def_segment_rule(m, "s2"), "10T OR 3T");
    assert_string_equal(pn_model_def_segment_rule(m, "s3"), "FREQUENCY([20T] <= 7D) >= 2");
    assert_null(pn_model_def_segment_rule(m, "s4"));
    assert_null(pn_model_def_segment_rule(m, "1"));
    pn_model_def_free(m);

    /* a trait-baseline model with a segment target */
    m = parse_ok("{\"name\":\"x\",\"baselines\":[\"1\",\"2\"],\"target\":\"s4\"}", c);
    assert_false(pn_model_def_baselines_are_segments(m));
    assert_true(pn_model_def_target_is_segment(m));
    assert_string_equal(pn_model_def_segment_rule(m, "s4"), "4T");
    assert_int_equal(pn_model_def_lookback_days(m), PN_DEFAULT_LOOKBACK_DAYS);
    assert_null(pn_model_def_data_source(m));
    pn_model_def_free(m);
    pn_catalog_free(c);
}

static void without_a_catalog_everything_is_an_allowed_trait(void **state)
{
    (void)state;
    pn_model_def *m = parse_ok("{\"name\":\"free\",\"baselines\":[\"30\",\"s1\",\"anything\"],\"target\":\"sp\","
                               "\"data_source\":\"whatever\",\"lookback_days\":null}",
                               NULL);
    assert_int_equal(pn_model_def_baseline_count(m), 3);
    assert_false(pn_model_def_baselines_are_segments(m));
    assert_false(pn_model_def_target_is_segment(m));
    assert_string_equal(pn_model_def_target(m), "sp");
    assert_int_equal(pn_model_def_dec_union(m), 0);
    assert_int_equal(pn_model_def_lookback_days(m), PN_DEFAULT_LOOKBACK_DAYS);
    assert_null(pn_model_def_segment_rule(m, "s1"));
    pn_model_def_free(m);
    /* the structural rules still hold */
    pn_error err;
    const char *dup = "{\"name\":\"m\",\"baselines\":[\"a\",\"a\"]}";
    assert_status(pn_model_def_parse(dup, strlen(dup), NULL, &m, &err), PN_ERULE, &err, "listed twice");
    const char *tb = "{\"name\":\"m\",\"baselines\":[\"a\",\"b\"],\"target\":\"b\"}";
    assert_status(pn_model_def_parse(tb, strlen(tb), NULL, &m, &err), PN_ERULE, &err, "also a baseline");
}

static void numeric_ids_are_written_in_decimal(void **state)
{
    (void)state;
    pn_model_def *m = parse_ok("{\"name\":\"n\",\"baselines\":[1,22,333,8999999999999999],\"target\":0,"
                               "\"data_source\":12}",
                               NULL);
    assert_string_equal(pn_model_def_baseline(m, 0), "1");
    assert_string_equal(pn_model_def_baseline(m, 1), "22");
    assert_string_equal(pn_model_def_baseline(m, 2), "333");
    assert_string_equal(pn_model_def_baseline(m, 3), "8999999999999999");
    assert_string_equal(pn_model_def_target(m), "0");
    assert_string_equal(pn_model_def_data_source(m), "12");
    pn_model_def_free(m);
    /* null target: everyone */
    m = parse_ok("{\"name\":\"n\",\"baselines\":[1,2],\"target\":null}", NULL);
    assert_null(pn_model_def_target(m));
    pn_model_def_free(m);
}

static void builder_applies_the_same_rules(void **state)
{
    (void)state;
    pn_catalog *c = catalog();
    pn_model_def *m = NULL;
    pn_error err;
    const char *two[] = {"1", "2"}, *one[] = {"1"}, *mixed[] = {"1", "s1"}, *null_entry[] = {"1", NULL},
               *pred[] = {"1", "30"};
    assert_int_equal(pn_model_def_new(NULL, "m", two, 2, NULL, NULL, 30, c, &m, &err), PN_OK);
    assert_string_equal(pn_model_def_id(m), "m");
    assert_null(pn_model_def_target(m));
    pn_model_def_free(m);
    assert_status(pn_model_def_new(NULL, "m", one, 1, NULL, NULL, 30, c, &m, &err), PN_ERULE, &err, "has 1");
    assert_status(pn_model_def_new(NULL, "m", mixed, 2, NULL, NULL, 30, c, &m, &err), PN_ERULE, &err, "all traits");
    assert_status(pn_model_def_new(NULL, "m", null_entry, 2, NULL, NULL, 30, c, &m, &err), PN_EINVAL, &err, "baseline 2");
    assert_status(pn_model_def_new(NULL, "m", pred, 2, NULL, NULL, 30, c, &m, &err), PN_ERULE, &err, "predictive");
    assert_status(pn_model_def_new(NULL, NULL, two, 2, NULL, NULL, 30, c, &m, &err), PN_EINVAL, &err, "model name");
    assert_status(pn_model_def_new(NULL, "m", two, 2, NULL, NULL, -5, c, &m, &err), PN_EINVAL, &err, "got -5");
    assert_status(pn_model_def_new(NULL, "m", two, 2, "s9", NULL, 30, c, &m, &err), PN_EUNKNOWN, &err, "target 's9'");
    char name[300];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_status(pn_model_def_new(NULL, name, two, 2, NULL, NULL, 30, c, &m, &err), PN_EINVAL, &err, "model name");
    name[255] = '\0';
    assert_int_equal(pn_model_def_new(NULL, name, two, 2, NULL, NULL, 30, c, &m, &err), PN_OK);
    pn_model_def_free(m);
    assert_null(NULL);
    pn_model_def_free(NULL);
    pn_catalog_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_definitions_fail_with_code_and_message),
        cmocka_unit_test(fifty_baselines_pass_and_fifty_one_fail),
        cmocka_unit_test(dec_union_is_model_source_baselines_and_target),
        cmocka_unit_test(accessors_describe_a_trait_model),
        cmocka_unit_test(accessors_describe_a_segment_model),
        cmocka_unit_test(without_a_catalog_everything_is_an_allowed_trait),
        cmocka_unit_test(numeric_ids_are_written_in_decimal),
        cmocka_unit_test(builder_applies_the_same_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
