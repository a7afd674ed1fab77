/* Event lines (pn_event_parse): TSV and JSON Lines, valid forms and every way a line can be
 * wrong, each with its status code and a message naming the field. Table-driven. */
#include "test_util.h"

typedef struct ok_case {
    const char *line;
    const char *uuid, *trait;
    int64_t ts;
} ok_case;

static const ok_case ok_cases[] = {
    {"u1\tt1\t0", "u1", "t1", 0},
    {"u1\tt1\t1700000000", "u1", "t1", 1700000000},
    {"u1\tt1\t4294967295", "u1", "t1", 4294967295LL},
    {"u1\tt1\t0000000012", "u1", "t1", 12},
    {"u1\tt1\t5\n", "u1", "t1", 5},
    {"u1\tt1\t5\r\n", "u1", "t1", 5},
    {"u1\tt1\t5\r", "u1", "t1", 5},
    {"uuid with spaces\ttrait:42/x\t7", "uuid with spaces", "trait:42/x", 7},
    {"\xc3\xa9t\xc3\xa9\t\xe2\x82\xac\t9", "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac", 9},
    {"{\"uuid\":\"u2\",\"trait\":\"t2\",\"ts\":10}", "u2", "t2", 10},
    {"{\"uuid\":\"u2\",\"trait\":123,\"ts\":10}", "u2", "123", 10},
    {"{\"uuid\":\"u2\",\"trait\":0,\"ts\":0}", "u2", "0", 0},
    {"{\"ts\":4294967295,\"trait\":\"t\",\"uuid\":\"u\",\"extra\":[1,2]}", "u", "t", 4294967295LL},
    {"  {\"uuid\":\"u\",\"trait\":\"t\",\"ts\":1}\r\n", "u", "t", 1},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":1.0}", "u", "t", 1},
    {"{\"uuid\":\"u\",\"trait\":7e2,\"ts\":1}", "u", "700", 1},
    /* an escaped backslash followed by u0000 is six ordinary characters, not a NUL */
    {"{\"uuid\":\"a\\\\u0000\",\"trait\":\"t\",\"ts\":1}", "a\\u0000", "t", 1},
};

static void valid_lines_parse_into_views(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(ok_cases); i++) {
        const ok_case *c = &ok_cases[i];
        size_t len = strlen(c->line);
        char *scratch = malloc(len + 1);
        pn_event ev;
        pn_error err;
        pn_status st = pn_event_parse(c->line, len, &ev, scratch, &err);
        if (st != PN_OK)
            fail_msg("line %zu '%s': %s", i, c->line, err.message);
        assert_int_equal(ev.uuid_len, strlen(c->uuid));
        assert_memory_equal(ev.uuid, c->uuid, ev.uuid_len);
        assert_int_equal(ev.trait_len, strlen(c->trait));
        assert_memory_equal(ev.trait, c->trait, ev.trait_len);
        assert_int_equal(ev.ts, c->ts);
        free(scratch);
    }
}

static void tsv_views_point_into_the_line(void **state)
{
    (void)state;
    const char *line = "abc\tdef\t12";
    pn_event ev;
    assert_int_equal(pn_event_parse(line, strlen(line), &ev, NULL, NULL), PN_OK);
    assert_ptr_equal(ev.uuid, line);
    assert_ptr_equal(ev.trait, line + 4);
}

static void tsv_line_is_read_only_up_to_len(void **state)
{
    (void)state;
    const char *line = "u\tt\t12345";
    pn_event ev;
    assert_int_equal(pn_event_parse(line, 6, &ev, NULL, NULL), PN_OK);
    assert_int_equal(ev.ts, 12);
}

typedef struct bad_case {
    const char *line;
    size_t len; /* 0: strlen */
    pn_status code;
    const char *needle;
} bad_case;

#define ID128 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define ID256 ID128 ID128

static const bad_case bad_cases[] = {
    /* blank lines are PN_EINVAL "blank line" so that callers may skip them */
    {"", 0, PN_EINVAL, "blank line"},
    {"\n", 0, PN_EINVAL, "blank line"},
    {"\r\n", 0, PN_EINVAL, "blank line"},
    {"   \t  ", 0, PN_EINVAL, "blank line"},
    /* field counts */
    {"u1", 0, PN_EPARSE, "found 1"},
    {"u1\tt1", 0, PN_EPARSE, "found 2"},
    {"u1\tt1\t5\textra", 0, PN_EPARSE, "found more"},
    {"u1\tt1\t5\t", 0, PN_EPARSE, "found more"},
    {"u1 t1 5", 0, PN_EPARSE, "found 1"},
    /* empty ids */
    {"\tt1\t5", 0, PN_EPARSE, "uuid is empty"},
    {"u1\t\t5", 0, PN_EPARSE, "trait id is empty"},
    /* control characters would corrupt TSV output */
    {"u\x01\tt1\t5", 0, PN_EPARSE, "uuid contains a control character"},
    {"u1\tt\x7f\t5", 0, PN_EPARSE, "trait id contains a control character"},
    {"u1\tt\r1\t5", 0, PN_EPARSE, "trait id contains a control character"},
    {"u1\tt\n1\t5", 0, PN_EPARSE, "trait id contains a control character"},
    {"u\0x\tt\t5", 7, PN_EPARSE, "uuid contains a control character"},
    /* over-long ids */
    {ID256 "x\tt\t5", 0, PN_EPARSE, "uuid is longer than 256 bytes"},
    {"u\t" ID256 "x\t5", 0, PN_EPARSE, "trait id is longer than 256 bytes"},
    /* timestamps */
    {"u\tt\t", 0, PN_EPARSE, "timestamp '' is not unix seconds"},
    {"u\tt\t-1", 0, PN_EPARSE, "timestamp '-1'"},
    {"u\tt\t+1", 0, PN_EPARSE, "timestamp '+1'"},
    {"u\tt\t1.5", 0, PN_EPARSE, "timestamp '1.5'"},
    {"u\tt\t 1", 0, PN_EPARSE, "timestamp ' 1'"},
    {"u\tt\t1 ", 0, PN_EPARSE, "timestamp '1 '"},
    {"u\tt\t1e9", 0, PN_EPARSE, "timestamp '1e9'"},
    {"u\tt\t0x10", 0, PN_EPARSE, "timestamp '0x10'"},
    {"u\tt\t4294967296", 0, PN_EPARSE, "from 0 to 4294967295"},
    {"u\tt\t9999999999", 0, PN_EPARSE, "timestamp '9999999999'"},
    {"u\tt\t00000000001", 0, PN_EPARSE, "timestamp '00000000001'"},
    {"u\tt\t99999999999999999999999", 0, PN_EPARSE, "timestamp '99999999999999999999999'"},
    /* JSON: invalid documents */
    {"{", 0, PN_EPARSE, "invalid JSON"},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":1", 0, PN_EPARSE, "invalid JSON"},
    {"{'uuid':'u'}", 0, PN_EPARSE, "invalid JSON near character"},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":1}}", 0, PN_EPARSE, "invalid JSON"},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":1} x", 0, PN_EPARSE, "invalid JSON"},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":1}{\"uuid\":\"v\",\"trait\":\"t\",\"ts\":2}", 0, PN_EPARSE, "invalid JSON"},
    /* JSON: missing or mistyped fields */
    {"{}", 0, PN_EPARSE, "\"uuid\" is missing"},
    {"{\"trait\":\"t\",\"ts\":1}", 0, PN_EPARSE, "\"uuid\" is missing"},
    {"{\"uuid\":\"u\",\"ts\":1}", 0, PN_EPARSE, "\"trait\" is missing"},
    {"{\"uuid\":\"u\",\"trait\":\"t\"}", 0, PN_EPARSE, "\"ts\" is missing"},
    {"{\"uuid\":null,\"trait\":\"t\",\"ts\":1}", 0, PN_EPARSE, "\"uuid\""},
    {"{\"uuid\":\"u\",\"trait\":true,\"ts\":1}", 0, PN_EPARSE, "\"trait\""},
    {"{\"uuid\":\"u\",\"trait\":1.5,\"ts\":1}", 0, PN_EPARSE, "\"trait\""},
    {"{\"uuid\":\"u\",\"trait\":-3,\"ts\":1}", 0, PN_EPARSE, "\"trait\""},
    {"{\"uuid\":\"u\",\"trait\":[\"t\"],\"ts\":1}", 0, PN_EPARSE, "\"trait\""},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":\"1\"}", 0, PN_EPARSE, "\"ts\""},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":-1}", 0, PN_EPARSE, "\"ts\""},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":1.5}", 0, PN_EPARSE, "\"ts\""},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":4294967296}", 0, PN_EPARSE, "\"ts\""},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":1e300}", 0, PN_EPARSE, "\"ts\""},
    {"{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":null}", 0, PN_EPARSE, "\"ts\""},
    /* JSON: the ids obey the TSV rules once unescaped */
    {"{\"uuid\":\"\",\"trait\":\"t\",\"ts\":1}", 0, PN_EPARSE, "uuid is empty"},
    {"{\"uuid\":\"u\",\"trait\":\"\",\"ts\":1}", 0, PN_EPARSE, "trait id is empty"},
    {"{\"uuid\":\"a\\tb\",\"trait\":\"t\",\"ts\":1}", 0, PN_EPARSE, "uuid contains a control character"},
    {"{\"uuid\":\"u\",\"trait\":\"x\\ny\",\"ts\":1}", 0, PN_EPARSE, "trait id contains a control character"},
    {"{\"uuid\":\"" ID256 "x\",\"trait\":\"t\",\"ts\":1}", 0, PN_EPARSE, "uuid is longer than 256 bytes"},
    {"{\"uuid\":\"u\",\"trait\":\"" ID256 "x\",\"ts\":1}", 0, PN_EPARSE, "trait id is longer than 256 bytes"},
    {"{\"uuid\":\"a\\u0000b\",\"trait\":\"t\",\"ts\":1}", 0, PN_EPARSE, "\\u0000"},
    {"{\"uuid\":\"u\",\"trait\":\"t\\u0000\",\"ts\":1}", 0, PN_EPARSE, "\\u0000"},
};

static void bad_lines_fail_with_code_and_message(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(bad_cases); i++) {
        const bad_case *c = &bad_cases[i];
        size_t len = c->len ? c->len : strlen(c->line);
        char *scratch = malloc(len + 1);
        pn_event ev;
        pn_error err;
        pn_error_clear(&err);
        pn_status st = pn_event_parse(c->line, len, &ev, scratch, &err);
        if (st != c->code || err.code != c->code || !strstr(err.message, c->needle))
            fail_msg("case %zu '%s': got %s \"%s\", want %s containing \"%s\"", i, c->line, pn_status_name(st),
                     err.message, pn_status_name(c->code), c->needle);
        free(scratch);
    }
}

static void ids_of_exactly_id_max_bytes_are_accepted(void **state)
{
    (void)state;
    char line[2 * PN_ID_MAX + 16];
    memset(line, 'u', PN_ID_MAX);
    line[PN_ID_MAX] = '\t';
    memset(line + PN_ID_MAX + 1, 't', PN_ID_MAX);
    strcpy(line + 2 * PN_ID_MAX + 1, "\t3");
    pn_event ev;
    assert_int_equal(pn_event_parse(line, strlen(line), &ev, NULL, NULL), PN_OK);
    assert_int_equal(ev.uuid_len, PN_ID_MAX);
    assert_int_equal(ev.trait_len, PN_ID_MAX);
    assert_int_equal(ev.ts, 3);
}

static void json_without_scratch_is_refused(void **state)
{
    (void)state;
    const char *line = "{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":1}";
    pn_event ev;
    pn_error err;
    assert_status(pn_event_parse(line, strlen(line), &ev, NULL, &err), PN_EPARSE, &err, "scratch");
}

static void json_views_point_into_scratch(void **state)
{
    (void)state;
    const char *line = "{\"uuid\":\"u\\u00e9\",\"trait\":\"t\\\"q\",\"ts\":1}";
    char scratch[128];
    pn_event ev;
    assert_int_equal(pn_event_parse(line, strlen(line), &ev, scratch, NULL), PN_OK);
    assert_true(ev.uuid >= scratch && ev.uuid < scratch + sizeof scratch);
    assert_int_equal(ev.uuid_len, 3);
    assert_memory_equal(ev.uuid, "u\xc3\xa9", 3);
    assert_int_equal(ev.trait_len, 3);
    assert_memory_equal(ev.trait, "t\"q", 3);
}

static void null_error_record_is_allowed(void **state)
{
    (void)state;
    pn_event ev;
    assert_int_equal(pn_event_parse("bad", 3, &ev, NULL, NULL), PN_EPARSE);
    assert_int_equal(pn_event_parse("", 0, &ev, NULL, NULL), PN_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_lines_parse_into_views),
        cmocka_unit_test(tsv_views_point_into_the_line),
        cmocka_unit_test(tsv_line_is_read_only_up_to_len),
        cmocka_unit_test(bad_lines_fail_with_code_and_message),
        cmocka_unit_test(ids_of_exactly_id_max_bytes_are_accepted),
        cmocka_unit_test(json_without_scratch_is_refused),
        cmocka_unit_test(json_views_point_into_scratch),
        cmocka_unit_test(null_error_record_is_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
