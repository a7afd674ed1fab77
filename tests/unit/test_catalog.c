/* The catalog: JSON with every field, what each entry becomes, every way an entry can be
 * wrong (code and message), the programmatic builder, DEC label names, and which traits a
 * model may use as features. Table-driven. */
#include "test_util.h"

#include "catalog_internal.h"
#include "personae/model.h"

static pn_catalog *parse_ok(const char *json)
{
    pn_catalog *c = NULL;
    pn_error err;
    if (pn_catalog_parse(json, strlen(json), &c, &err) != PN_OK)
        fail_msg("catalog %s: %s", json, err.message);
    assert_non_null(c);
    return c;
}

static const char FULL[] =
    "{\"data_sources\": ["
    "   {\"id\": \"web\", \"name\": \"Web site\", \"id_type\": \"device\", \"dec_labels\": []},"
    "   {\"id\": \"crm\", \"name\": \"CRM\", \"id_type\": \"cross_device\", \"dec_labels\": [\"pii\", \"offsite_advertising\"]},"
    "   {\"id\": 77, \"dec_labels\": [\"onsite_advertising\", \"onsite_personalization\", \"pii\", \"offsite_advertising\"]}],"
    " \"traits\": ["
    "   {\"id\": \"1\", \"name\": \"Visited\", \"data_source\": \"web\", \"kind\": \"rule\", \"party\": \"first\","
    "    \"origin\": \"account\", \"rule\": \"c_page == \\\"home\\\"\"},"
    "   {\"id\": 2, \"data_source\": \"crm\", \"kind\": \"onboarded\"},"
    "   {\"id\": \"3\", \"data_source\": 77, \"kind\": \"algorithmic\", \"party\": \"third\"},"
    "   {\"id\": \"4\", \"data_source\": \"web\", \"kind\": \"predictive\", \"origin\": \"shared\"},"
    "   {\"id\": \"movie:42\", \"data_source\": \"web\"}],"
    " \"segments\": ["
    "   {\"id\": \"s1\", \"name\": \"Both\", \"rule\": \"1T AND 2T\", \"data_source\": \"web\", \"predictive\": false,"
    "    \"origin\": \"account\"},"
    "   {\"id\": 9, \"rule\": \"FREQUENCY([3T] <= 7D) >= 2\", \"predictive\": true, \"origin\": \"shared\"},"
    "   {\"id\": \"s3\", \"rule\": \"\\\"movie:42\\\" OR 1T\"}],"
    " \"destinations\": ["
    "   {\"id\": \"edge\", \"name\": \"Edge\", \"type\": \"edge\", \"dec_labels\": [\"onsite_personalization\"]},"
    "   {\"id\": \"srv\", \"type\": \"server\"},"
    "   {\"id\": 5, \"type\": \"export\", \"dec_labels\": [\"pii\"]}]}";

static void every_field_is_read(void **state)
{
    (void)state;
    pn_catalog *c = parse_ok(FULL);
    /* data sources and their labels */
    assert_int_equal(pn__dict_count(&c->sources), 3);
    assert_int_equal(c->source_labels[pn__dict_find(&c->sources, "web", 3)], 0);
    assert_int_equal(c->source_labels[pn__dict_find(&c->sources, "crm", 3)], PN_DEC_PII | PN_DEC_OFFSITE_ADVERTISING);
    assert_int_equal(c->source_labels[pn__dict_find(&c->sources, "77", 2)], PN_DEC_ALL);
    /* traits: kind, party, origin, data source (integer ids written in decimal) */
    const struct {
        const char *id;
        const char *ds;
        pn_trait_kind kind;
        int third, shared;
    } traits[] = {
        {"1", "web", PN_TRAIT_RULE, 0, 0},         {"2", "crm", PN_TRAIT_ONBOARDED, 0, 0},
        {"3", "77", PN_TRAIT_ALGORITHMIC, 1, 0},   {"4", "web", PN_TRAIT_PREDICTIVE, 0, 1},
        {"movie:42", "web", PN_TRAIT_RULE, 0, 0},
    };
    assert_int_equal(pn__dict_count(&c->traits), N_ELEMS(traits));
    for (size_t i = 0; i < N_ELEMS(traits); i++) {
        uint32_t k = pn__dict_find(&c->traits, traits[i].id, strlen(traits[i].id));
        assert_int_equal(k, i);
        assert_int_equal(c->trait_info[k].data_source, pn__dict_find(&c->sources, traits[i].ds, strlen(traits[i].ds)));
        assert_int_equal(c->trait_info[k].kind, traits[i].kind);
        assert_int_equal(c->trait_info[k].third_party, traits[i].third);
        assert_int_equal(c->trait_info[k].shared, traits[i].shared);
    }
    /* segments: rule text kept, labels = own data source's | every named trait's */
    assert_int_equal(pn__dict_count(&c->segments), 3);
    const pn_cat_segment *s1 = &c->segment_info[pn__dict_find(&c->segments, "s1", 2)];
    assert_string_equal(s1->rule, "1T AND 2T");
    assert_int_equal(s1->dec_labels, PN_DEC_PII | PN_DEC_OFFSITE_ADVERTISING);
    assert_int_equal(s1->predictive, 0);
    assert_int_equal(s1->shared, 0);
    assert_int_equal(s1->data_source, pn__dict_find(&c->sources, "web", 3));
    const pn_cat_segment *s9 = &c->segment_info[pn__dict_find(&c->segments, "9", 1)];
    assert_int_equal(s9->dec_labels, PN_DEC_ALL);
    assert_int_equal(s9->predictive, 1);
    assert_int_equal(s9->shared, 1);
    assert_int_equal(s9->data_source, PN_DICT_NONE);
    const pn_cat_segment *s3 = &c->segment_info[pn__dict_find(&c->segments, "s3", 2)];
    assert_int_equal(s3->dec_labels, 0);
    /* destinations */
    const struct {
        const char *id;
        uint32_t labels;
    } dests[] = {{"edge", PN_DEC_ONSITE_PERSONALIZATION}, {"srv", 0}, {"5", PN_DEC_PII}};
    for (size_t i = 0; i < N_ELEMS(dests); i++) {
        uint32_t labels = 99;
        assert_int_equal(pn_catalog_destination_labels(c, dests[i].id, &labels, NULL), PN_OK);
        assert_int_equal(labels, dests[i].labels);
    }
    pn_error err;
    uint32_t labels = 42;
    assert_status(pn_catalog_destination_labels(c, "nowhere", &labels, &err), PN_EUNKNOWN, &err, "'nowhere'");
    assert_int_equal(labels, 42);
    pn_catalog_free(c);
}

#define DS "\"data_sources\":[{\"id\":\"web\"}]"
#define TR "\"traits\":[{\"id\":\"1\",\"data_source\":\"web\"},{\"id\":\"2\",\"data_source\":\"web\"}]"

static void empty_catalogs_are_valid(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}", " { } ", "{\"data_sources\":[],\"traits\":[],\"segments\":[],\"destinations\":[]}",
        "{\"traits\":[]}\n",
        /* sections are read in dependency order whatever their order in the document */
        "{\"segments\":[{\"id\":\"s\",\"rule\":\"1T\"}],\"traits\":[{\"id\":\"1\",\"data_source\":\"web\"}]," DS "}",
    };
    for (size_t i = 0; i < N_ELEMS(docs); i++) {
        pn_catalog *c = parse_ok(docs[i]);
        assert_int_equal(pn__dict_count(&c->traits), i + 1 == N_ELEMS(docs) ? 1 : 0);
        pn_catalog_free(c);
    }
    pn_catalog_free(NULL);
}

typedef struct bad_case {
    const char *json;
    pn_status code;
    const char *needle;
} bad_case;

#define LONG_ID                                                                                                         \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "x"

static const bad_case bad_cases[] = {
    /* the document */
    {"", PN_EPARSE, "catalog: invalid JSON"},
    {"{\"traits\":[}", PN_EPARSE, "catalog: invalid JSON near character"},
    {"[]", PN_EPARSE, "must be a JSON object"},
    {"\"catalog\"", PN_EPARSE, "must be a JSON object"},
    {"{} {}", PN_EPARSE, "catalog: invalid JSON"},
    {"{\"traits\":[]} trailing", PN_EPARSE, "catalog: invalid JSON"},
    {"{\"trait\":[]}", PN_EPARSE, "unknown field \"trait\""},
    {"{\"data_sources\":{}}", PN_EPARSE, "\"data_sources\" must be an array"},
    {"{\"traits\":null}", PN_EPARSE, "\"traits\" must be an array"},
    {"{\"segments\":\"1T\"}", PN_EPARSE, "\"segments\" must be an array"},
    {"{\"destinations\":1}", PN_EPARSE, "\"destinations\" must be an array"},
    /* data sources */
    {"{\"data_sources\":[{\"name\":\"x\"}]}", PN_EPARSE, "data_sources[0] must be an object with an \"id\""},
    {"{\"data_sources\":[\"web\"]}", PN_EPARSE, "data_sources[0] must be an object"},
    {"{\"data_sources\":[{\"id\":\"a\"},{\"id\":true}]}", PN_EPARSE, "data_sources[1]"},
    {"{\"data_sources\":[{\"id\":\"a\",\"dec_label\":[]}]}", PN_EPARSE, "data_sources[0]: unknown field \"dec_label\""},
    {"{\"data_sources\":[{\"id\":\"a\",\"dec_labels\":[\"PII\"]}]}", PN_EPARSE, "'PII' is not one of"},
    {"{\"data_sources\":[{\"id\":\"a\",\"dec_labels\":[\"pii\",\"email\"]}]}", PN_EPARSE, "data_sources[0].dec_labels: 'email'"},
    {"{\"data_sources\":[{\"id\":\"a\",\"dec_labels\":[1]}]}", PN_EPARSE, "(not a string)"},
    {"{\"data_sources\":[{\"id\":\"a\",\"dec_labels\":\"pii\"}]}", PN_EPARSE, "dec_labels must be an array"},
    {"{\"data_sources\":[{\"id\":\"a\",\"id_type\":\"phone\"}]}", PN_EPARSE, "id_type must be"},
    {"{\"data_sources\":[{\"id\":\"a\",\"id_type\":1}]}", PN_EPARSE, "id_type must be"},
    {"{\"data_sources\":[{\"id\":\"a\"},{\"id\":\"a\"}]}", PN_EINVAL, "data source 'a' is listed twice"},
    {"{\"data_sources\":[{\"id\":\"\"}]}", PN_EINVAL, "data source id must be 1 to 256"},
    {"{\"data_sources\":[{\"id\":\"" LONG_ID "\"}]}", PN_EINVAL, "data source id must be 1 to 256"},
    {"{\"data_sources\":[{\"id\":1.5}]}", PN_EPARSE, "data_sources[0]"},
    {"{\"data_sources\":[{\"id\":-1}]}", PN_EPARSE, "data_sources[0]"},
    {"{\"data_sources\":[{\"id\":1e300}]}", PN_EPARSE, "data_sources[0]"},
    /* traits */
    {"{" DS ",\"traits\":[{\"id\":\"1\"}]}", PN_EPARSE, "traits[0] must be an object with \"id\" and \"data_source\""},
    {"{" DS ",\"traits\":[{\"data_source\":\"web\"}]}", PN_EPARSE, "traits[0] must be an object"},
    {"{" DS ",\"traits\":[1]}", PN_EPARSE, "traits[0] must be an object"},
    {"{" DS ",\"traits\":[{\"id\":\"1\",\"data_source\":\"crm\"}]}", PN_EUNKNOWN, "data source 'crm' is not in the catalog"},
    {"{" DS ",\"traits\":[{\"id\":\"1\",\"data_source\":\"web\",\"kind\":\"magic\"}]}", PN_EPARSE, "traits[0].kind"},
    {"{" DS ",\"traits\":[{\"id\":\"1\",\"data_source\":\"web\",\"kind\":\"Rule\"}]}", PN_EPARSE, "traits[0].kind"},
    {"{" DS ",\"traits\":[{\"id\":\"1\",\"data_source\":\"web\",\"party\":\"second\"}]}", PN_EPARSE, "traits[0].party"},
    {"{" DS ",\"traits\":[{\"id\":\"1\",\"data_source\":\"web\",\"origin\":\"aep\"}]}", PN_EPARSE, "traits[0].origin"},
    {"{" DS ",\"traits\":[{\"id\":\"1\",\"data_source\":\"web\",\"labels\":[]}]}", PN_EPARSE, "traits[0]: unknown field \"labels\""},
    {"{" DS ",\"traits\":[{\"id\":\"1\",\"data_source\":\"web\"},{\"id\":1,\"data_source\":\"web\"}]}", PN_EINVAL,
     "trait '1': the id is already used"},
    {"{" DS ",\"traits\":[{\"id\":\"" LONG_ID "\",\"data_source\":\"web\"}]}", PN_EINVAL, "trait id must be 1 to 256"},
    /* segments */
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\"}]}", PN_EPARSE, "segments[0] must be an object with \"id\" and a string \"rule\""},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":1}]}", PN_EPARSE, "segments[0]"},
    {"{" DS "," TR ",\"segments\":[{\"rule\":\"1T\"}]}", PN_EPARSE, "segments[0]"},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":\"1T\",\"kind\":\"x\"}]}", PN_EPARSE, "segments[0]: unknown field \"kind\""},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":\"1T AND 99T\"}]}", PN_EUNKNOWN,
     "segment 's': its rule names trait '99', which is not in the catalog"},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":\"1T AND\"}]}", PN_EPARSE, "segment 's': "},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":\"\"}]}", PN_EPARSE, "segment 's': "},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":\"1T; DROP TABLE\"}]}", PN_EPARSE, "segment 's': "},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":\"1T\",\"predictive\":\"yes\"}]}", PN_EPARSE,
     "segments[0].predictive must be true or false"},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":\"1T\",\"origin\":\"x\"}]}", PN_EPARSE, "segments[0].origin"},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":\"1T\",\"data_source\":\"crm\"}]}", PN_EUNKNOWN,
     "segment 's': data source 'crm' is not in the catalog"},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":\"1T\",\"data_source\":{}}]}", PN_EPARSE,
     "segments[0].data_source must be an id"},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"1\",\"rule\":\"2T\"}]}", PN_EINVAL, "segment '1': the id is already used"},
    {"{" DS "," TR ",\"segments\":[{\"id\":\"s\",\"rule\":\"1T\"},{\"id\":\"s\",\"rule\":\"2T\"}]}", PN_EINVAL,
     "segment 's': the id is already used"},
    /* destinations */
    {"{\"destinations\":[{\"type\":\"edge\"}]}", PN_EPARSE, "destinations[0] must be an object with an \"id\""},
    {"{\"destinations\":[{\"id\":\"d\",\"type\":\"tv\"}]}", PN_EPARSE, "destinations[0].type"},
    {"{\"destinations\":[{\"id\":\"d\",\"dec_labels\":[\"ads\"]}]}", PN_EPARSE, "destinations[0].dec_labels: 'ads'"},
    {"{\"destinations\":[{\"id\":\"d\",\"url\":\"x\"}]}", PN_EPARSE, "destinations[0]: unknown field \"url\""},
    {"{\"destinations\":[{\"id\":\"d\"},{\"id\":\"d\"}]}", PN_EINVAL, "destination 'd' is listed twice"},
};

static void bad_catalogs_fail_with_code_and_message(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(bad_cases); i++) {
        const bad_case *c = &bad_cases[i];
        pn_catalog *cat = (pn_catalog *)1;
        pn_error err;
        pn_error_clear(&err);
        pn_status st = pn_catalog_parse(c->json, strlen(c->json), &cat, &err);
        if (st != c->code || err.code != c->code || !strstr(err.message, c->needle))
            fail_msg("case %zu %s: got %s \"%s\", want %s containing \"%s\"", i, c->json, pn_status_name(st), err.message,
                     pn_status_name(c->code), c->needle);
        assert_null(cat);
    }
}

static void parse_reads_only_len_bytes(void **state)
{
    (void)state;
    const char *doc = "{\"traits\":[]}garbage";
    pn_catalog *c;
    assert_int_equal(pn_catalog_parse(doc, 13, &c, NULL), PN_OK);
    pn_catalog_free(c);
}

static void dec_label_names_and_bits_round_trip(void **state)
{
    (void)state;
    const struct {
        uint32_t bit;
        const char *name;
    } labels[] = {{PN_DEC_PII, "pii"},
                  {PN_DEC_ONSITE_ADVERTISING, "onsite_advertising"},
                  {PN_DEC_OFFSITE_ADVERTISING, "offsite_advertising"},
                  {PN_DEC_ONSITE_PERSONALIZATION, "onsite_personalization"}};
    uint32_t all = 0;
    for (size_t i = 0; i < N_ELEMS(labels); i++) {
        assert_string_equal(pn_dec_label_name(labels[i].bit), labels[i].name);
        assert_int_equal(pn_dec_label_bit(labels[i].name, strlen(labels[i].name)), labels[i].bit);
        all |= labels[i].bit;
    }
    assert_int_equal(all, PN_DEC_ALL);
    assert_null(pn_dec_label_name(0));
    assert_null(pn_dec_label_name(3));
    assert_null(pn_dec_label_name(16));
    assert_int_equal(pn_dec_label_bit("pi", 2), 0);
    assert_int_equal(pn_dec_label_bit("piii", 4), 0);
    assert_int_equal(pn_dec_label_bit("PII", 3), 0);
    assert_int_equal(pn_dec_label_bit("", 0), 0);
    assert_int_equal(pn_dec_label_bit("pii_extra", 3), PN_DEC_PII); /* only len bytes count */
}

static void builder_enforces_the_same_rules(void **state)
{
    (void)state;
    pn_catalog *c;
    pn_error err;
    assert_int_equal(pn_catalog_new(&c, &err), PN_OK);
    assert_int_equal(pn_catalog_add_data_source(c, "web", 0, &err), PN_OK);
    assert_int_equal(pn_catalog_add_data_source(c, "crm", PN_DEC_PII, &err), PN_OK);
    assert_status(pn_catalog_add_data_source(c, "web", 0, &err), PN_EINVAL, &err, "listed twice");
    assert_status(pn_catalog_add_data_source(c, "x", 16, &err), PN_EINVAL, &err, "unknown DEC label bits");
    assert_status(pn_catalog_add_data_source(c, NULL, 0, &err), PN_EINVAL, &err, "data source id");
    assert_status(pn_catalog_add_data_source(c, "", 0, &err), PN_EINVAL, &err, "data source id");

    assert_int_equal(pn_catalog_add_trait(c, "1", "web", PN_TRAIT_RULE, 0, 0, &err), PN_OK);
    assert_int_equal(pn_catalog_add_trait(c, "2", "crm", PN_TRAIT_ONBOARDED, 0, 0, &err), PN_OK);
    assert_status(pn_catalog_add_trait(c, "1", "web", PN_TRAIT_RULE, 0, 0, &err), PN_EINVAL, &err, "already used");
    assert_status(pn_catalog_add_trait(c, "3", "nowhere", PN_TRAIT_RULE, 0, 0, &err), PN_EUNKNOWN, &err, "'nowhere'");
    assert_status(pn_catalog_add_trait(c, "3", NULL, PN_TRAIT_RULE, 0, 0, &err), PN_EUNKNOWN, &err, "(none)");
    assert_status(pn_catalog_add_trait(c, "3", "web", (pn_trait_kind)7, 0, 0, &err), PN_EINVAL, &err, "unknown kind");
    assert_status(pn_catalog_add_trait(c, NULL, "web", PN_TRAIT_RULE, 0, 0, &err), PN_EINVAL, &err, "trait id");

    assert_int_equal(pn_catalog_add_segment(c, "s", "1T OR 2T", NULL, 0, 0, &err), PN_OK);
    assert_status(pn_catalog_add_segment(c, "1", "2T", NULL, 0, 0, &err), PN_EINVAL, &err, "already used");
    assert_status(pn_catalog_add_segment(c, "s", "2T", NULL, 0, 0, &err), PN_EINVAL, &err, "already used");
    assert_status(pn_catalog_add_trait(c, "s", "web", PN_TRAIT_RULE, 0, 0, &err), PN_EINVAL, &err, "already used");
    assert_status(pn_catalog_add_segment(c, "t", NULL, NULL, 0, 0, &err), PN_EINVAL, &err, "has no rule");
    assert_status(pn_catalog_add_segment(c, "t", "3T", NULL, 0, 0, &err), PN_EUNKNOWN, &err, "names trait '3'");
    assert_status(pn_catalog_add_segment(c, "t", "(1T", NULL, 0, 0, &err), PN_EPARSE, &err, "segment 't': ");
    assert_status(pn_catalog_add_segment(c, "t", "1T", "nowhere", 0, 0, &err), PN_EUNKNOWN, &err, "'nowhere'");

    assert_int_equal(pn_catalog_add_destination(c, "edge", PN_DEC_ONSITE_PERSONALIZATION | 0x100u, &err), PN_OK);
    assert_status(pn_catalog_add_destination(c, "edge", 0, &err), PN_EINVAL, &err, "listed twice");
    uint32_t labels;
    assert_int_equal(pn_catalog_destination_labels(c, "edge", &labels, &err), PN_OK);
    assert_int_equal(labels, PN_DEC_ONSITE_PERSONALIZATION); /* unknown bits are dropped */

    /* a failed add leaves the catalog as it was */
    assert_int_equal(pn__dict_count(&c->traits), 2);
    assert_int_equal(pn__dict_count(&c->segments), 1);
    assert_int_equal(c->segment_info[0].dec_labels, PN_DEC_PII);
    pn_catalog_free(c);
}

static void feature_exclusions_name_their_cause(void **state)
{
    (void)state;
    pn_catalog *c = parse_ok("{\"data_sources\":[{\"id\":\"web\"},{\"id\":\"crm\",\"dec_labels\":[\"pii\"]},"
                             "{\"id\":\"ads\",\"dec_labels\":[\"pii\",\"onsite_advertising\"]}],"
                             "\"traits\":[{\"id\":\"ok\",\"data_source\":\"web\"},"
                             "{\"id\":\"pred\",\"data_source\":\"web\",\"kind\":\"predictive\"},"
                             "{\"id\":\"third\",\"data_source\":\"web\",\"party\":\"third\"},"
                             "{\"id\":\"algo\",\"data_source\":\"web\",\"kind\":\"algorithmic\"},"
                             "{\"id\":\"shared\",\"data_source\":\"web\",\"origin\":\"shared\"},"
                             "{\"id\":\"pii\",\"data_source\":\"crm\"},"
                             "{\"id\":\"ads\",\"data_source\":\"ads\"}]}");
    const struct {
        const char *id;
        uint32_t dec_union;
        int want;
    } cases[] = {
        {"ok", 0, PN_EXCLUDE_NONE},
        {"missing", PN_DEC_ALL, PN_EXCLUDE_UNCATALOGUED},
        {"pred", PN_DEC_ALL, PN_EXCLUDE_PREDICTIVE},
        {"third", PN_DEC_ALL, PN_EXCLUDE_THIRD_PARTY},
        {"algo", 0, PN_EXCLUDE_NONE},   /* algorithmic traits may be features, not baselines */
        {"shared", 0, PN_EXCLUDE_NONE}, /* likewise shared ones */
        {"pii", 0, PN_EXCLUDE_DEC},
        {"pii", PN_DEC_PII, PN_EXCLUDE_NONE},
        {"ads", PN_DEC_PII, PN_EXCLUDE_DEC},
        {"ads", PN_DEC_ONSITE_ADVERTISING, PN_EXCLUDE_DEC},
        {"ads", PN_DEC_PII | PN_DEC_ONSITE_ADVERTISING, PN_EXCLUDE_NONE},
        {"ads", PN_DEC_ALL, PN_EXCLUDE_NONE},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++)
        if (pn__catalog_trait_exclusion(c, cases[i].id, strlen(cases[i].id), cases[i].dec_union) != cases[i].want)
            fail_msg("case %zu (%s, union %u): got %d, want %d", i, cases[i].id, cases[i].dec_union,
                     pn__catalog_trait_exclusion(c, cases[i].id, strlen(cases[i].id), cases[i].dec_union), cases[i].want);
    /* no catalog: every trait may be a feature */
    assert_int_equal(pn__catalog_trait_exclusion(NULL, "anything", 8, 0), PN_EXCLUDE_NONE);
    pn_catalog_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_is_read),
        cmocka_unit_test(empty_catalogs_are_valid),
        cmocka_unit_test(bad_catalogs_fail_with_code_and_message),
        cmocka_unit_test(parse_reads_only_len_bytes),
        cmocka_unit_test(dec_label_names_and_bits_round_trip),
        cmocka_unit_test(builder_enforces_the_same_rules),
        cmocka_unit_test(feature_exclusions_name_their_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
