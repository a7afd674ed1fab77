/* Signal rules: evaluation against a fake /event call, errors with their offsets and messages,
 * limits, and canonical-form round trips. Table-driven: add a row, not a function. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/rule.h"

/* Section - A fake /event call */
#define SIG(k, v) {k, sizeof k - 1, v, sizeof v - 1}
static const pn_signal signals[] = {
    SIG("c_page", "mortgage"),
    SIG("c_price", "150.50"),
    SIG("c_url", "https://Example.com/LOANS/apply?X=1"),
    SIG("c_neg", "-3"),
    SIG("c_zero", "-0.000"),
    SIG("c_cat", "a"),
    SIG("c_cat", "b"), /* a key may come more than once */
    SIG("p_income", "1e5"), /* not a number in the rule grammar */
    SIG("d_country", "US"),
    SIG("c_empty", ""),
    SIG("c.dot", "x"),
    SIG("c_quote", "say \"hi\""),
    SIG("c_big", "123456789012345678901234567890.5"),
    SIG("c_utf", "\xc3\xa9t\xc3\xa9"),
    SIG("c_space", " 5"),
};
#define N_SIGNALS (sizeof signals / sizeof *signals)

static pn_signal_rule *parse_ok(const char *text)
{
    pn_signal_rule *r = NULL;
    pn_error err;
    size_t off = 99;
    if (pn_signal_rule_parse(text, strlen(text), &r, &off, &err) != PN_OK)
        fail_msg("rule \"%s\": %s", text, err.message);
    assert_int_equal(off, 0);
    return r;
}

static char *format_alloc(const pn_signal_rule *r)
{
    size_t needed = 0;
    assert_int_equal(pn_signal_rule_format(r, NULL, 0, &needed, NULL), PN_ELIMIT);
    char *buf = malloc(needed);
    assert_int_equal(pn_signal_rule_format(r, buf, needed, NULL, NULL), PN_OK);
    assert_int_equal(strlen(buf) + 1, needed);
    return buf;
}

/* Section - Valid rules */
static const struct {
    const char *rule;
    int expect;
} valid[] = {
    /* strings: exact and case-sensitive */
    {"c_page == \"mortgage\"", 1}, {"c_page == \"Mortgage\"", 0}, {"c_page != \"Mortgage\"", 1},
    {"c_page != \"mortgage\"", 0}, {"c_page == \"mortgag\"", 0}, {"c_quote == \"say \\\"hi\\\"\"", 1},
    {"c_utf == \"\\u00e9t\\u00e9\"", 1}, {"c_empty == \"\"", 1}, {"c_empty != \"\"", 0},
    /* a missing key makes every comparison false, != too */
    {"c_missing == \"x\"", 0}, {"c_missing != \"x\"", 0}, {"NOT c_missing == \"x\"", 1},
    {"c_missing < 1", 0}, {"c_missing >= 1", 0}, {"c_missing contains \"\"", 0},
    /* numbers: exact decimal comparison */
    {"c_price >= 100", 1}, {"c_price > 150.5", 0}, {"c_price >= 150.5", 1}, {"c_price == 150.5", 1},
    {"c_price == 150.500", 1}, {"c_price == 0150.5", 1}, {"c_price < 151", 1}, {"c_price <= 150.49", 0},
    {"c_price <= 150.51", 1}, {"c_price > -1000", 1}, {"c_price != 150.5", 0}, {"c_price != 150", 1},
    {"c_price == \"150.5\"", 0}, {"c_price == \"150.50\"", 1},
    {"c_neg < 0", 1}, {"c_neg < -2.5", 1}, {"c_neg > -3.0001", 1}, {"c_neg >= -3", 1}, {"c_neg <= -4", 0},
    {"c_neg > +0", 0}, {"c_neg == -3.0", 1},
    {"c_zero == 0", 1}, {"c_zero >= 0", 1}, {"c_zero < 0", 0}, {"c_zero == -0", 1}, {"c_zero == +0.0", 1},
    {"c_big > 123456789012345678901234567890", 1}, {"c_big < 123456789012345678901234567891", 1},
    {"c_big == 123456789012345678901234567890.50", 1}, {"c_big > 123456789012345678901234567890.51", 0},
    /* a value that is not a number makes numeric comparisons false, != too */
    {"p_income > 0", 0}, {"p_income < 0", 0}, {"p_income != 0", 0}, {"NOT p_income > 0", 1},
    {"p_income == \"1e5\"", 1}, {"c_page > 0", 0}, {"c_space == 5", 0}, {"c_empty == 0", 0},
    /* substring tests ignore ASCII case */
    {"c_url contains \"loan\"", 1}, {"c_url contains \"LOANS/APPLY\"", 1}, {"c_url contains \"mortgage\"", 0},
    {"c_url starts_with \"HTTPS://\"", 1}, {"c_url starts_with \"example\"", 0}, {"c_url ends_with \"x=1\"", 1},
    {"c_url ends_with \"apply\"", 0}, {"c_url CONTAINS \"\"", 1}, {"c_empty contains \"\"", 1},
    {"c_empty starts_with \"a\"", 0}, {"c_empty ends_with \"a\"", 0}, {"c_page starts_with \"mortgage\"", 1},
    {"c_page ends_with \"mortgage\"", 1}, {"c_page contains \"mortgagee\"", 0}, {"c_page contains \"GAG\"", 1},
    {"c_utf contains \"\xc3\xa9t\"", 1}, {"c_utf contains \"\xc3\x89t\"", 0},
    /* several values of one key: any of them may satisfy a comparison */
    {"c_cat == \"b\"", 1}, {"c_cat == \"a\" AND c_cat == \"b\"", 1}, {"c_cat != \"a\"", 1}, {"NOT c_cat == \"a\"", 0},
    /* EXISTS */
    {"exists c_page", 1}, {"EXISTS c_missing", 0}, {"NOT EXISTS c_missing", 1}, {"exists c_empty", 1},
    /* keys: exact, with dots */
    {"c.dot == \"x\"", 1}, {"d_country == \"US\"", 1}, {"C_PAGE == \"mortgage\"", 0},
    /* precedence and parentheses */
    {"c_page == \"x\" OR c_price > 100 AND d_country == \"US\"", 1},
    {"c_page == \"x\" OR c_price > 100 AND d_country == \"FR\"", 0},
    {"(c_page == \"x\" OR c_price > 100) AND d_country == \"FR\"", 0},
    {"c_price > 100 AND d_country == \"FR\" OR c_page == \"mortgage\"", 1},
    {"NOT c_page == \"x\" AND NOT c_missing == \"y\"", 1},
    {"c_page == \"mortgage\" AND NOT (c_price < 100 OR d_country != \"US\")", 1},
    {"((c_page == \"mortgage\") AND ((c_neg < 0) OR (c_zero > 0)))", 1},
    {"NOT NOT exists c_page", 1},
    /* whitespace is free, keywords are case-insensitive */
    {"c_price>=100", 1}, {"c_neg>-5", 1}, {"c_neg>=-3", 1}, {"(c_page==\"mortgage\")and(c_price<=150.5)", 1},
    {"c_url Starts_With \"http\" and not c_page Ends_With \"x\"", 1}, {"\tc_page\n==\r\"mortgage\" ", 1},
};

static void test_valid_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        pn_signal_rule *r = parse_ok(valid[i].rule);
        int got = pn_signal_rule_eval(r, signals, N_SIGNALS);
        if (got != valid[i].expect)
            fail_msg("rule \"%s\": eval gave %d, expected %d", valid[i].rule, got, valid[i].expect);
        pn_signal_rule_free(r);
    }
}

static void test_keys(void **state)
{
    (void)state;
    pn_signal_rule *r = parse_ok("c_b == 1 AND (exists c_a OR c_b > 2) AND c.c contains \"x\"");
    static const char *const want[] = {"c_b", "c_a", "c.c"};
    size_t len = 99;
    assert_int_equal(pn_signal_rule_key_count(r), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(pn_signal_rule_key(r, i, &len), want[i]);
        assert_int_equal(len, strlen(want[i]));
    }
    assert_null(pn_signal_rule_key(r, 3, &len));
    assert_int_equal(len, 0);
    assert_null(pn_signal_rule_key(NULL, 0, NULL));
    assert_int_equal(pn_signal_rule_key_count(NULL), 0);
    pn_signal_rule_free(r);
}

/* Which rules are a plain string equality, and that for those, over every rule of the table of
 * valid rules, eval is exactly "some signal has that key and value". */
static void test_as_equality(void **state)
{
    (void)state;
    static const struct {
        const char *rule, *key, *value;
    } rows[] = {
        {"c_page == \"mortgage\"", "c_page", "mortgage"},
        {"((c_page == \"x\"))", "c_page", "x"},
        {"c.dot == \"\"", "c.dot", ""},
        {"c_q == \"a\\\"b\"", "c_q", "a\"b"},
        {"c_page != \"x\"", NULL, NULL},          /* not equality */
        {"NOT c_page == \"x\"", NULL, NULL},      /* negated */
        {"c_price == 150.5", NULL, NULL},         /* numeric: "150.50" matches it */
        {"c_page == \"x\" AND c_page == \"x\"", NULL, NULL},
        {"c_page == \"x\" OR c_lang == \"y\"", NULL, NULL},
        {"exists c_page", NULL, NULL},
        {"c_page contains \"x\"", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        pn_signal_rule *r = parse_ok(rows[i].rule);
        const char *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        int is = pn_signal_rule_as_equality(r, &k, &kl, &v, &vl);
        if (is != (rows[i].key != NULL))
            fail_msg("rule \"%s\": as_equality gave %d", rows[i].rule, is);
        if (is) {
            assert_int_equal(kl, strlen(rows[i].key));
            assert_memory_equal(k, rows[i].key, kl);
            assert_int_equal(vl, strlen(rows[i].value));
            assert_memory_equal(v, rows[i].value, vl);
        }
        assert_int_equal(pn_signal_rule_as_equality(r, NULL, NULL, NULL, NULL), is);
        pn_signal_rule_free(r);
    }
    assert_int_equal(pn_signal_rule_as_equality(NULL, NULL, NULL, NULL, NULL), 0);
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        pn_signal_rule *r = parse_ok(valid[i].rule);
        const char *k, *v;
        size_t kl, vl;
        if (pn_signal_rule_as_equality(r, &k, &kl, &v, &vl)) {
            int found = 0;
            for (size_t j = 0; j < N_SIGNALS; j++)
                found |= signals[j].key_len == kl && !memcmp(signals[j].key, k, kl) && signals[j].value_len == vl &&
                         !memcmp(signals[j].value, v, vl);
            if (found != pn_signal_rule_eval(r, signals, N_SIGNALS))
                fail_msg("rule \"%s\": eval disagrees with its equality", valid[i].rule);
        }
        pn_signal_rule_free(r);
    }
}

static void test_edge_signals(void **state)
{
    (void)state;
    pn_signal_rule *r = parse_ok("NOT exists c_a");
    assert_int_equal(pn_signal_rule_eval(r, NULL, 0), 1);
    assert_int_equal(pn_signal_rule_eval(r, NULL, 3), 0);
    assert_int_equal(pn_signal_rule_eval(NULL, signals, N_SIGNALS), 0);
    pn_signal_rule_free(r);
    /* a signal without a value is there, with the empty value */
    pn_signal s = {"c_a", 3, NULL, 0};
    r = parse_ok("exists c_a AND c_a == \"\" AND NOT c_a > 0");
    assert_int_equal(pn_signal_rule_eval(r, &s, 1), 1);
    pn_signal_rule_free(r);
    /* keys and values need no NUL: only `len` bytes are read */
    const char text[] = "c_pageXXX";
    pn_signal t = {text, 6, "150XXX", 3};
    r = parse_ok("c_page == 150 AND c_page == \"150\"");
    assert_int_equal(pn_signal_rule_eval(r, &t, 1), 1);
    pn_signal_rule_free(r);
    pn_signal_rule_free(NULL);
}

/* Section - Invalid rules */
static const struct {
    const char *rule;
    pn_status status;
    size_t offset;
    const char *message;
} invalid[] = {
    {"", PN_EPARSE, 0, "signal rule: at character 1 (end of rule): the rule is empty"},
    {"c_page", PN_EPARSE, 6,
     "(end of rule): expected an operator (==, !=, <, <=, >, >=, CONTAINS, STARTS_WITH or ENDS_WITH)"},
    {"c_page ==", PN_EPARSE, 9, "(end of rule): expected a string or a number"},
    {"c_page == mortgage", PN_EPARSE, 10, "('mortgage'): expected a string or a number"},
    {"c_page == 'x'", PN_EPARSE, 10, "expected a string or a number"},
    {"c_page = \"x\"", PN_EPARSE, 7, "('='): a single '=' is not an operator (write ==)"},
    {"c_page like \"x\"", PN_EPARSE, 7, "('like'): expected an operator"},
    {"c_price > \"100\"", PN_EPARSE, 10, "('\"100\"'): expected a number"},
    {"c_price <= c_max", PN_EPARSE, 11, "('c_max'): expected a number"},
    {"c_url contains 5", PN_EPARSE, 15, "('5'): expected a string"},
    {"c_url starts_with c_x", PN_EPARSE, 18, "expected a string"},
    {"c_price >= 1e5", PN_EPARSE, 11, "('1e5'): expected a number"},
    {"c_price > 5D", PN_EPARSE, 10, "('5D'): expected a number"},
    {"c_price >= 1.", PN_EPARSE, 12, "('.'): expected a digit after '.'"},
    {"c_price >= .5", PN_EPARSE, 11, "('.'): expected a number"},
    {"c_price >= - 5", PN_EPARSE, 11, "('-'): expected a number"},
    {"c_price >= 1.5.5", PN_EPARSE, 14, "('.'): expected AND, OR or end of rule"},
    {"1 == 1", PN_EPARSE, 0, "('1'): expected a signal key, EXISTS, NOT or '('"},
    {"9key == 1", PN_EPARSE, 0, "('9key'): expected a signal key"},
    {"\"c_page\" == \"x\"", PN_EPARSE, 0, "expected a signal key"},
    {"and == \"x\"", PN_EPARSE, 0, "('and'): expected a signal key"},
    {"c_a == 1 AND or == 2", PN_EPARSE, 13, "('or'): expected a signal key"},
    {"exists", PN_EPARSE, 6, "(end of rule): expected a signal key after EXISTS"},
    {"exists == \"x\"", PN_EPARSE, 7, "('=='): expected a signal key after EXISTS"},
    {"exists not", PN_EPARSE, 7, "('not'): expected a signal key after EXISTS"},
    {"exists c_a == 1", PN_EPARSE, 11, "('=='): expected AND, OR or end of rule"},
    {"c_page == \"x\" c_price > 1", PN_EPARSE, 14, "('c_price'): expected AND, OR or end of rule"},
    {"(c_page == \"x\"", PN_EPARSE, 14, "(end of rule): expected AND, OR or ')'"},
    {"c_page == \"x\")", PN_EPARSE, 13, "(')'): expected AND, OR or end of rule"},
    {"c_page == \"x\" AND", PN_EPARSE, 17, "(end of rule): expected a signal key"},
    {"c_page == \"x\" AND NOT", PN_EPARSE, 21, "(end of rule): expected a signal key"},
    {"c_page == \"\\x\"", PN_EPARSE, 11, "('\\x'): unknown escape"},
    {"c_page == \"x", PN_EPARSE, 10, "('\"x'): unterminated string"},
    {"c_page == \"\\u0000\"", PN_EPARSE, 11, "\\u0000 is not allowed"},
    /* code is text, never run */
    {"system(\"rm\")", PN_EPARSE, 6, "('('): expected an operator"},
    {"c_page == \"x\"; DROP", PN_EPARSE, 13, "(';'): expected AND, OR or end of rule"},
    {"c_page == \"x\" || 1", PN_EPARSE, 14, "('|'): expected AND, OR or end of rule"},
    {"c_page == \"x\" && 1", PN_EPARSE, 14, "('&')"},
    {"${jndi:ldap://x}", PN_EPARSE, 0, "('$')"},
    {"c_a == \"\xc3\xa9\" \xc3\xa9", PN_EPARSE, 12, "at character 12 (byte 0xC3)"},
};

static void test_invalid_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        const char *text = invalid[i].rule;
        size_t off = 12345;
        pn_signal_rule *r = (pn_signal_rule *)&off; /* must come back NULL */
        pn_error err;
        pn_status st = pn_signal_rule_parse(text, strlen(text), &r, &off, &err);
        if (st != invalid[i].status || err.code != st)
            fail_msg("rule \"%s\": status %d, expected %d (%s)", text, st, invalid[i].status, err.message);
        assert_null(r);
        if (off != invalid[i].offset)
            fail_msg("rule \"%s\": offset %zu, expected %zu (%s)", text, off, invalid[i].offset, err.message);
        if (!strstr(err.message, invalid[i].message))
            fail_msg("rule \"%s\": message \"%s\" lacks \"%s\"", text, err.message, invalid[i].message);
        assert_int_equal(pn_signal_rule_parse(text, strlen(text), &r, NULL, NULL), st);
    }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    pn_signal_rule *r = NULL;
    pn_error err;
    assert_int_equal(pn_signal_rule_parse(NULL, 3, &r, NULL, &err), PN_EINVAL);
    assert_int_equal(pn_signal_rule_parse("exists a", 8, NULL, NULL, &err), PN_EINVAL);
    assert_int_equal(pn_signal_rule_parse(NULL, 0, &r, NULL, &err), PN_EPARSE);
    assert_int_equal(pn_signal_rule_format(NULL, NULL, 0, NULL, &err), PN_EINVAL);
    assert_null(r);
}

/* Section - Limits */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1), *p = s;
    memcpy(p, head, hl);
    p += hl;
    for (size_t i = 0; i < n; i++, p += ul)
        memcpy(p, unit, ul);
    memcpy(p, tail, tl + 1);
    return s;
}

static pn_status parse_status(const char *text, size_t *off, pn_error *err)
{
    pn_signal_rule *r = NULL;
    pn_status st = pn_signal_rule_parse(text, strlen(text), &r, off, err);
    if (!st) {
        pn_signal_rule_eval(r, signals, N_SIGNALS);
        char *canon = format_alloc(r);
        pn_signal_rule_free(parse_ok(canon));
        free(canon);
    }
    pn_signal_rule_free(r);
    return st;
}

static void test_limits(void **state)
{
    (void)state;
    size_t off;
    pn_error err;
    char *open = repeat("", "(", 64, ""), *close = repeat("", ")", 64, "");
    char *s = malloc(64 * 2 + 32);

    sprintf(s, "%sexists c_a%s", open, close);
    assert_int_equal(parse_status(s, &off, &err), PN_OK);
    sprintf(s, "(%sexists c_a%s)", open, close);
    assert_int_equal(parse_status(s, &off, &err), PN_ELIMIT);
    assert_int_equal(off, 64);
    assert_non_null(strstr(err.message, "signal rule: at character 65 ('('): parentheses nest deeper than 64"));
    free(s);
    free(open);
    free(close);

    s = repeat("c_a == 1", " OR c_a == 1", 1023, "");
    assert_int_equal(parse_status(s, &off, &err), PN_OK);
    free(s);
    s = repeat("c_a == 1", " OR c_a == 1", 1024, "");
    assert_int_equal(parse_status(s, &off, &err), PN_ELIMIT);
    assert_int_equal(off, strlen(s) - strlen("c_a == 1"));
    assert_non_null(strstr(err.message, "more than 1024 comparisons"));
    free(s);

    s = repeat("exists c_a", " ", PN_RULE_MAX_TEXT - 10, "");
    assert_int_equal(parse_status(s, &off, &err), PN_OK);
    free(s);
    s = repeat("exists c_a", " ", PN_RULE_MAX_TEXT - 9, "");
    assert_int_equal(parse_status(s, &off, &err), PN_ELIMIT);
    assert_int_equal(off, PN_RULE_MAX_TEXT);
    free(s);
}

/* Section - Canonical form */
static const struct {
    const char *rule, *canonical;
} canonical[] = {
    {"c_page == \"x\" and not (c_price < 5 or exists c_a)", "c_page == \"x\" AND NOT (c_price < 5 OR EXISTS c_a)"},
    {"c_url contains \"LOAN\"", "c_url CONTAINS \"LOAN\""},
    {"c_p>=+1.50", "c_p >= +1.50"},
    {"c_q == \"a\\u0001\\\"\\/\"", "c_q == \"a\\u0001\\\"/\""},
    {"c_x starts_with \"a\" OR (c_x ends_with \"b\" OR c_y != -0)",
     "c_x STARTS_WITH \"a\" OR c_x ENDS_WITH \"b\" OR c_y != -0"},
    {"(exists a OR exists b) AND (exists c AND exists d)", "(EXISTS a OR EXISTS b) AND EXISTS c AND EXISTS d"},
    {"not not (not exists a)", "NOT EXISTS a"},
};

static void test_canonical(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof canonical / sizeof *canonical; i++) {
        pn_signal_rule *r = parse_ok(canonical[i].rule);
        char *text = format_alloc(r);
        if (strcmp(text, canonical[i].canonical))
            fail_msg("rule \"%s\": canonical \"%s\", expected \"%s\"", canonical[i].rule, text, canonical[i].canonical);
        free(text);
        pn_signal_rule_free(r);
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        pn_signal_rule *r = parse_ok(valid[i].rule);
        char *text = format_alloc(r);
        pn_signal_rule *again = parse_ok(text);
        char *text2 = format_alloc(again);
        if (strcmp(text, text2))
            fail_msg("rule \"%s\": \"%s\" then \"%s\"", valid[i].rule, text, text2);
        /* same answers on every prefix of the signals */
        for (size_t n = 0; n <= N_SIGNALS; n++)
            if (pn_signal_rule_eval(r, signals, n) != pn_signal_rule_eval(again, signals, n))
                fail_msg("rule \"%s\" and \"%s\" differ", valid[i].rule, text);
        free(text);
        free(text2);
        pn_signal_rule_free(r);
        pn_signal_rule_free(again);
    }
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    pn_signal_rule *r = parse_ok("exists a");
    char buf[8];
    size_t needed = 0;
    pn_error err;
    assert_int_equal(pn_signal_rule_format(r, buf, sizeof buf, &needed, &err), PN_ELIMIT);
    assert_int_equal(needed, sizeof "EXISTS a");
    assert_string_equal(buf, "EXISTS ");
    assert_int_equal(err.code, PN_ELIMIT);
    pn_signal_rule_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_rules),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_as_equality),
        cmocka_unit_test(test_edge_signals),
        cmocka_unit_test(test_invalid_rules),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_format_small_buffer),
    };
    return cmocka_run_group_tests_name("signal_rule", tests, NULL, NULL);
}
