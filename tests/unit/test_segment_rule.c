/* Segment rules: evaluation against a fake visitor, errors with their offsets and messages,
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

#define NOW 1700000000
#define DAY 86400
#define HOUR 3600

/* Section - A fake visitor */
typedef struct realization {
    const char *id;
    int64_t ts;
} realization;

static const realization visitor[] = {
    {"1", NOW - 100},
    {"2", NOW - DAY}, {"2", NOW - 2 * DAY}, {"2", NOW - 30 * DAY},
    {"movie:42", NOW - 5},
    {"say \"hi\"\\", NOW - 5},
    /* window boundaries: exactly 7 days and 1 hour ago count, one second more does not */
    {"5", NOW - 7 * DAY}, {"5", NOW - 7 * DAY - 1}, {"5", NOW - HOUR}, {"5", NOW - 2 * HOUR},
    {"\xc3\xa9", NOW},
    {"tab\there", NOW},
};

typedef struct fake {
    int calls;
    int64_t last_since;
    const pn_segment_rule *rule; /* for the by-ref callback */
} fake;

static uint32_t count_id(void *ctx, const char *id, size_t len, int64_t since)
{
    fake *f = ctx;
    uint32_t n = 0;
    f->calls++;
    f->last_since = since;
    for (size_t i = 0; i < sizeof visitor / sizeof *visitor; i++)
        if (strlen(visitor[i].id) == len && !memcmp(visitor[i].id, id, len) && visitor[i].ts >= since)
            n++;
    return n;
}

static uint32_t count_ref(void *ctx, size_t ref, int64_t since)
{
    fake *f = ctx;
    size_t len;
    const char *id = pn_segment_rule_trait(f->rule, ref, &len);
    assert_non_null(id);
    return count_id(ctx, id, len, since);
}

static pn_segment_rule *parse_ok(const char *text)
{
    pn_segment_rule *r = NULL;
    pn_error err;
    size_t off = 99;
    pn_status st = pn_segment_rule_parse(text, strlen(text), &r, &off, &err);
    if (st != PN_OK)
        fail_msg("rule \"%s\": %s", text, err.message);
    assert_int_equal(off, 0);
    assert_int_equal(err.code, PN_OK);
    return r;
}

static char *format_alloc(const pn_segment_rule *r)
{
    size_t needed = 0;
    assert_int_equal(pn_segment_rule_format(r, NULL, 0, &needed, NULL), PN_ELIMIT);
    char *buf = malloc(needed);
    size_t again = 0;
    assert_int_equal(pn_segment_rule_format(r, buf, needed, &again, NULL), PN_OK);
    assert_int_equal(again, needed);
    assert_int_equal(strlen(buf) + 1, needed);
    return buf;
}

/* Section - Valid rules */
static const struct {
    const char *rule;
    int expect;
} valid[] = {
    {"1T", 1}, {"3T", 0}, {"1t", 1}, {" \t\n1T\r\n ", 1},
    {"1T AND 2T", 1}, {"1T AND 3T", 0}, {"3T OR 1T", 1}, {"3T OR 4T", 0},
    /* precedence: AND binds tighter than OR, NOT tighter than AND */
    {"1T OR 3T AND 4T", 1}, {"(1T OR 3T) AND 4T", 0}, {"3T AND 4T OR 1T", 1}, {"3T AND (4T OR 1T)", 0},
    {"1T and 2T or 3T and 4T", 1}, {"3T Or 4T oR 2T", 1},
    {"NOT 3T", 1}, {"NOT 1T", 0}, {"not not 1T", 1}, {"NOT NOT NOT 1T", 0}, {"NOT (NOT 1T)", 1},
    {"1T AND NOT 3T", 1}, {"1T AND NOT 2T", 0}, {"NOT 1T OR 2T", 1}, {"NOT (1T OR 2T)", 0},
    {"NOT 3T AND NOT 4T", 1}, {"NOT 1T AND 2T", 0},
    {"((((1T))))", 1}, {"((1T AND (2T OR 3T)) AND NOT (3T OR (4T AND 1T)))", 1},
    {"(1T OR 3T) AND (4T OR (2T AND NOT (3T)))", 1},
    /* frequency, every comparison */
    {"FREQUENCY([2T]) >= 3", 1}, {"FREQUENCY([2T]) >= 4", 0}, {"FREQUENCY([2T]) > 2", 1},
    {"FREQUENCY([2T]) > 3", 0}, {"FREQUENCY([2T]) == 3", 1}, {"FREQUENCY([2T]) != 3", 0},
    {"FREQUENCY([2T]) < 3", 0}, {"FREQUENCY([2T]) <= 3", 1}, {"FREQUENCY([3T]) == 0", 1},
    {"FREQUENCY([3T]) < 1", 1}, {"FREQUENCY([2T]) >= 0", 1}, {"FREQUENCY([2T]) <= 4294967295", 1},
    /* several references are summed */
    {"FREQUENCY([1T,2T]) == 4", 1}, {"FREQUENCY([1T, 2T, 3T, \"movie:42\"]) >= 5", 1},
    {"FREQUENCY([1T,2T,3T,\"movie:42\"]) >= 6", 0}, {"FREQUENCY([1T,2T,5T]) == 8", 1},
    /* recency windows, at their boundaries, in days and hours */
    {"FREQUENCY([5T]) == 4", 1}, {"FREQUENCY([5T] <= 7D) == 3", 1}, {"FREQUENCY([5T] <= 6D) == 2", 1},
    {"FREQUENCY([5T] <= 1H) == 1", 1}, {"FREQUENCY([5T] <= 2H) == 2", 1}, {"FREQUENCY([5T <= 7D]) == 3", 1},
    {"FREQUENCY([2T] <= 1D) == 1", 1}, {"FREQUENCY([2T] <= 2d) == 2", 1}, {"FREQUENCY([2T] <= 48h) == 2", 1},
    {"FREQUENCY([2T] <= 47H) == 1", 1}, {"FREQUENCY([2T,5T] <= 2D) == 4", 1},
    {"frequency([2t] <= 7d) > 1", 1}, {"FREQUENCY([2T]<=48H)>=2", 1}, {"FREQUENCY ( [ 2T ] ) >= 3", 1},
    {"FREQUENCY([1T]) >= 1 AND NOT FREQUENCY([2T] <= 1H) > 0", 1},
    /* quoted ids, escapes */
    {"\"movie:42\"", 1}, {"\"movie:43\"", 0}, {"\"say \\\"hi\\\"\\\\\"", 1}, {"\"1\"", 1},
    {"\"\\u00e9\"", 1}, {"\"\xc3\xa9\"", 1}, {"\"tab\\there\"", 1}, {"\"mov\\u0069e:42\"", 1},
    {"\"movie\\u003a42\" AND 1T", 1}, {"FREQUENCY([\"movie:42\",\"say \\\"hi\\\"\\\\\"]) == 2", 1},
    {"\"FREQUENCY\"", 0}, {"\"AND\" OR 1T", 1},
};

static void test_valid_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        pn_segment_rule *r = parse_ok(valid[i].rule);
        fake f = {0, 0, r};
        int got = pn_segment_rule_eval(r, count_id, &f, NOW);
        if (got != valid[i].expect)
            fail_msg("rule \"%s\": eval gave %d, expected %d", valid[i].rule, got, valid[i].expect);
        got = pn_segment_rule_eval_refs(r, count_ref, &f, NOW);
        if (got != valid[i].expect)
            fail_msg("rule \"%s\": eval_refs gave %d, expected %d", valid[i].rule, got, valid[i].expect);
        pn_segment_rule_free(r);
    }
}

/* Evaluation asks only about what can still change the result. */
static void test_short_circuit(void **state)
{
    static const struct {
        const char *rule;
        int calls;
    } cases[] = {
        {"1T OR 3T", 1}, {"3T OR 1T", 2}, {"3T AND 1T", 1}, {"NOT 1T AND 2T", 1},
        {"1T AND 2T AND 3T AND 4T", 3}, {"(3T OR 4T) AND 1T", 2}, {"1T OR 2T AND 3T", 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pn_segment_rule *r = parse_ok(cases[i].rule);
        fake f = {0, 0, r};
        pn_segment_rule_eval(r, count_id, &f, NOW);
        if (f.calls != cases[i].calls)
            fail_msg("rule \"%s\": %d calls, expected %d", cases[i].rule, f.calls, cases[i].calls);
        pn_segment_rule_free(r);
    }
}

static void test_since_passed(void **state)
{
    (void)state;
    pn_segment_rule *r = parse_ok("FREQUENCY([5T] <= 7D) >= 0");
    fake f = {0, 0, r};
    pn_segment_rule_eval(r, count_id, &f, NOW);
    assert_true(f.last_since == NOW - 7 * DAY);
    /* a window reaching before the start of time is all history, not an overflow */
    pn_segment_rule_eval(r, count_id, &f, INT64_MIN + 5);
    assert_true(f.last_since == INT64_MIN);
    pn_segment_rule_free(r);

    r = parse_ok("FREQUENCY([5T] <= 4294967295D) >= 0 AND 5T");
    f.rule = r;
    pn_segment_rule_eval(r, count_id, &f, NOW);
    assert_true(f.last_since == INT64_MIN); /* the bare reference: all history */
    pn_segment_rule_eval_refs(r, count_ref, &f, INT64_MAX);
    pn_segment_rule_free(r);
}

static void test_traits(void **state)
{
    (void)state;
    pn_segment_rule *r = parse_ok("2T AND (1T OR \"2\") AND FREQUENCY([\"movie:42\",1T] <= 3D) >= 1 OR NOT 1T");
    static const char *const want[] = {"2", "1", "movie:42"};
    size_t len = 99;
    assert_int_equal(pn_segment_rule_trait_count(r), 3);
    for (size_t i = 0; i < 3; i++) {
        const char *id = pn_segment_rule_trait(r, i, &len);
        assert_string_equal(id, want[i]);
        assert_int_equal(len, strlen(want[i]));
    }
    assert_null(pn_segment_rule_trait(r, 3, &len));
    assert_int_equal(len, 0);
    assert_null(pn_segment_rule_trait(NULL, 0, NULL));
    assert_int_equal(pn_segment_rule_trait_count(NULL), 0);
    pn_segment_rule_free(r);
}

/* Section - Invalid rules */
static const struct {
    const char *rule;
    size_t len; /* 0: strlen */
    pn_status status;
    size_t offset;
    const char *message; /* a substring of the message */
} invalid[] = {
    {"", 0, PN_EPARSE, 0, "segment rule: at character 1 (end of rule): the rule is empty"},
    {"   ", 0, PN_EPARSE, 3, "the rule is empty"},
    {"1T AND", 0, PN_EPARSE, 6, "at character 7 (end of rule): expected a trait reference"},
    {"1T 2T", 0, PN_EPARSE, 3, "at character 4 ('2T'): expected AND, OR or end of rule"},
    {"(1T", 0, PN_EPARSE, 3, "expected AND, OR or ')'"},
    {"(1T OR 22T   X)", 0, PN_EPARSE, 13, "segment rule: at character 14 ('X'): expected AND, OR or ')'"},
    {"1T)", 0, PN_EPARSE, 2, "(')'): expected AND, OR or end of rule"},
    {"()", 0, PN_EPARSE, 1, "(')'): expected a trait reference (123T or \"id\"), FREQUENCY, NOT or '('"},
    {"123", 0, PN_EPARSE, 0, "('123'): expected a trait reference"},
    {"1X", 0, PN_EPARSE, 0, "('1X'): expected a trait reference"},
    {"1TT", 0, PN_EPARSE, 0, "expected a trait reference"},
    {"-1T", 0, PN_EPARSE, 0, "expected a trait reference"},
    {"1.5T", 0, PN_EPARSE, 0, "expected a trait reference"},
    {"T", 0, PN_EPARSE, 0, "('T'): expected a trait reference"},
    {"1.T", 0, PN_EPARSE, 1, "('.T'): expected a digit after '.'"},
    {"1T.5", 0, PN_EPARSE, 2, "('.'): expected AND, OR or end of rule"},
    {"1T && 2T", 0, PN_EPARSE, 3, "('&'): expected AND, OR or end of rule"},
    {"1T = 2T", 0, PN_EPARSE, 3, "a single '=' is not an operator"},
    {"1T AND AND 2T", 0, PN_EPARSE, 7, "('AND'): expected a trait reference"},
    {"1T OR OR 2T", 0, PN_EPARSE, 6, "('OR'): expected a trait reference"},
    {"1T AND NOT", 0, PN_EPARSE, 10, "(end of rule): expected a trait reference"},
    {"AND 1T", 0, PN_EPARSE, 0, "('AND'): expected"},
    /* code is text, never run */
    {"system(\"rm\")", 0, PN_EPARSE, 0, "('system'): expected a trait reference"},
    {"1T; DROP", 0, PN_EPARSE, 2, "(';'): expected AND, OR or end of rule"},
    {"1T; DROP TABLE traits", 0, PN_EPARSE, 2, "(';')"},
    {"1T AND DROP", 0, PN_EPARSE, 7, "('DROP'): expected a trait reference"},
    {"1T OR __import__('os')", 0, PN_EPARSE, 6, "('__import__'): expected"},
    {"$(rm -rf /)", 0, PN_EPARSE, 0, "('$')"},
    {"1T OR `id`", 0, PN_EPARSE, 6, "('`')"},
    /* strings */
    {"\"abc", 0, PN_EPARSE, 0, "('\"abc'): unterminated string"},
    {"1T AND \"abcdefghijklmnopqrstuvwxyz", 0, PN_EPARSE, 7, "('\"abcdefghijklmnopqrs...'): unterminated string"},
    {"\"abc\\", 0, PN_EPARSE, 0, "unterminated string"},
    {"\"a\\qb\"", 0, PN_EPARSE, 2, "('\\q'): unknown escape"},
    {"\"a\\u12\"", 0, PN_EPARSE, 2, "expected 4 hex digits after \\u"},
    {"\"\\ud800\"", 0, PN_EPARSE, 1, "unpaired UTF-16 surrogate"},
    {"\"\\udc00\"", 0, PN_EPARSE, 1, "unpaired UTF-16 surrogate"},
    {"\"\\ud800\\u0041\"", 0, PN_EPARSE, 1, "unpaired UTF-16 surrogate"},
    {"\"\\u0000\"", 0, PN_EPARSE, 1, "\\u0000 is not allowed"},
    {"\"a\nb\"", 0, PN_EPARSE, 2, "(byte 0x0A): control character in a string"},
    {"\"\"", 0, PN_EPARSE, 0, "('\"\"'): a trait id cannot be empty"},
    /* FREQUENCY */
    {"FREQUENCY", 0, PN_EPARSE, 9, "(end of rule): expected '(' after FREQUENCY"},
    {"FREQUENCY[1T] >= 2", 0, PN_EPARSE, 9, "('['): expected '(' after FREQUENCY"},
    {"FREQUENCY(1T) >= 2", 0, PN_EPARSE, 10, "expected '[' and a list of trait references"},
    {"FREQUENCY([]) >= 2", 0, PN_EPARSE, 11, "(']'): expected a trait reference (123T or \"id\")"},
    {"FREQUENCY([1T) >= 2", 0, PN_EPARSE, 13, "(')'): expected ',', '<=' or ']'"},
    {"FREQUENCY([1T,]) >= 2", 0, PN_EPARSE, 14, "(']'): expected a trait reference"},
    {"FREQUENCY([1T 2T]) >= 2", 0, PN_EPARSE, 14, "expected ',', '<=' or ']'"},
    {"FREQUENCY([1T] <= 7) >= 2", 0, PN_EPARSE, 18, "('7'): expected a recency window from 1 to 4294967295 days or hours, such as 7D or 12H"},
    {"FREQUENCY([1T] <= 7W) >= 2", 0, PN_EPARSE, 18, "('7W'): expected a recency window"},
    {"FREQUENCY([1T] <= -7D) >= 2", 0, PN_EPARSE, 18, "expected a recency window"},
    {"FREQUENCY([1T] <= 4294967296D) >= 2", 0, PN_EPARSE, 18, "expected a recency window"},
    {"FREQUENCY([1T] <= 0D) >= 2", 0, PN_EPARSE, 18, "('0D'): expected a recency window from 1"},
    {"FREQUENCY([1T] <= 7D 8D) >= 2", 0, PN_EPARSE, 21, "('8D'): expected ')'"},
    {"FREQUENCY([1T] < 7D) >= 2", 0, PN_EPARSE, 15, "('<'): expected '<=' or ')'"},
    {"FREQUENCY([1T] <= 7D, 2T) >= 2", 0, PN_EPARSE, 20, "(','): expected ')'"},
    {"FREQUENCY([1T <= 7D] <= 2D) >= 1", 0, PN_EPARSE, 21, "('<='): expected ')'"},
    {"FREQUENCY([1T <= 7D, 2T]) >= 1", 0, PN_EPARSE, 19, "(','): expected ']'"},
    {"FREQUENCY([1T]) >= ", 0, PN_EPARSE, 19, "(end of rule): expected a count from 0 to 4294967295"},
    {"FREQUENCY([1T]) 3", 0, PN_EPARSE, 16, "('3'): expected a comparison (>=, >, <=, <, == or !=)"},
    {"FREQUENCY([1T]) >= -1", 0, PN_EPARSE, 19, "('-1'): expected a count"},
    {"FREQUENCY([1T]) >= 4294967296", 0, PN_EPARSE, 19, "expected a count"},
    {"FREQUENCY([1T]) >= 2.5", 0, PN_EPARSE, 19, "expected a count"},
    {"FREQUENCY([1T]) >= 2D", 0, PN_EPARSE, 19, "expected a count"},
    {"FREQUENCY([1T]) >= 2 3", 0, PN_EPARSE, 21, "('3'): expected AND, OR or end of rule"},
    {"FREQUENCY([1T]) = 2", 0, PN_EPARSE, 16, "single '='"},
    {"FREQUENCY([1T,\"1\"]) >= 1", 0, PN_EPARSE, 14, "('\"1\"'): this trait is already listed in this FREQUENCY"},
    {"FREQUENCY([1T]", 0, PN_EPARSE, 14, "(end of rule): expected '<=' or ')'"},
    /* offsets: bytes in the out-parameter, characters in the message */
    {"\"\xc3\xa9\xc3\xa9\" X", 0, PN_EPARSE, 7, "at character 6 ('X')"},
    {"1T AND \xc3\xa9", 0, PN_EPARSE, 7, "at character 8 (byte 0xC3)"},
    {"1T\x01", 0, PN_EPARSE, 2, "(byte 0x01): expected AND, OR"},
    {"1T\0OR 2T", 8, PN_EPARSE, 2, "(byte 0x00)"},
};

static void test_invalid_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        const char *text = invalid[i].rule;
        size_t len = invalid[i].len ? invalid[i].len : strlen(text), off = 12345;
        pn_segment_rule *r = (pn_segment_rule *)&off; /* must come back NULL */
        pn_error err;
        pn_status st = pn_segment_rule_parse(text, len, &r, &off, &err);
        if (st != invalid[i].status || err.code != st)
            fail_msg("rule \"%s\": status %d, expected %d (%s)", text, st, invalid[i].status, err.message);
        assert_null(r);
        if (off != invalid[i].offset)
            fail_msg("rule \"%s\": offset %zu, expected %zu (%s)", text, off, invalid[i].offset, err.message);
        if (!strstr(err.message, invalid[i].message))
            fail_msg("rule \"%s\": message \"%s\" lacks \"%s\"", text, err.message, invalid[i].message);
        /* NULL out-parameters for the error are allowed */
        assert_int_equal(pn_segment_rule_parse(text, len, &r, NULL, NULL), st);
    }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    pn_segment_rule *r = NULL;
    pn_error err;
    assert_int_equal(pn_segment_rule_parse(NULL, 3, &r, NULL, &err), PN_EINVAL);
    assert_int_equal(pn_segment_rule_parse("1T", 2, NULL, NULL, &err), PN_EINVAL);
    assert_int_equal(pn_segment_rule_parse(NULL, 0, &r, NULL, &err), PN_EPARSE);
    assert_null(r);
    assert_int_equal(pn_segment_rule_format(NULL, NULL, 0, NULL, &err), PN_EINVAL);
    assert_int_equal(pn_segment_rule_eval(NULL, count_id, NULL, NOW), 0);
    assert_int_equal(pn_segment_rule_eval_refs(NULL, count_ref, NULL, NOW), 0);
    r = parse_ok("NOT 1T");
    assert_int_equal(pn_segment_rule_eval(r, NULL, NULL, NOW), 0);
    assert_int_equal(pn_segment_rule_eval_refs(r, NULL, NULL, NOW), 0);
    assert_int_equal(pn_segment_rule_format(r, NULL, 5, NULL, &err), PN_EINVAL);
    pn_segment_rule_free(r);
    pn_segment_rule_free(NULL);
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
    pn_segment_rule *r = NULL;
    pn_status st = pn_segment_rule_parse(text, strlen(text), &r, off, err);
    if (!st) {
        fake f = {0, 0, r};
        pn_segment_rule_eval(r, count_id, &f, NOW);
        char *canon = format_alloc(r);
        pn_segment_rule *again = parse_ok(canon);
        pn_segment_rule_free(again);
        free(canon);
    }
    pn_segment_rule_free(r);
    return st;
}

static void test_limits(void **state)
{
    (void)state;
    size_t off;
    pn_error err;

    /* nesting: 64 levels are fine, 65 are not */
    char *open = repeat("", "(", 64, ""), *close = repeat("", ")", 64, "");
    char *s = malloc(64 * 2 + 8);
    sprintf(s, "%s1T%s", open, close);
    assert_int_equal(parse_status(s, &off, &err), PN_OK);
    sprintf(s, "(%s1T%s)", open, close);
    assert_int_equal(parse_status(s, &off, &err), PN_ELIMIT);
    assert_int_equal(off, 64);
    assert_non_null(strstr(err.message, "at character 65 ('('): parentheses nest deeper than 64 levels"));
    free(s);
    free(open);
    free(close);
    /* NOT chains are not nesting and cannot exhaust the stack */
    s = repeat("", "NOT ", 16000, "1T");
    pn_segment_rule *r = parse_ok(s);
    fake f = {0, 0, r};
    assert_int_equal(pn_segment_rule_eval(r, count_id, &f, NOW), 1);
    pn_segment_rule_free(r);
    free(s);

    /* 1024 trait references, counted where they appear */
    s = repeat("1T", " OR 1T", 1023, "");
    assert_int_equal(parse_status(s, &off, &err), PN_OK);
    free(s);
    s = repeat("1T", " OR 1T", 1024, "");
    assert_int_equal(parse_status(s, &off, &err), PN_ELIMIT);
    assert_int_equal(off, strlen(s) - 2);
    assert_non_null(strstr(err.message, "more than 1024 trait references"));
    free(s);
    s = malloc(16 * 1100);
    strcpy(s, "FREQUENCY([0T");
    for (int i = 1; i <= 1024; i++)
        sprintf(s + strlen(s), ",%dT", i);
    strcat(s, "]) >= 1");
    assert_int_equal(parse_status(s, &off, &err), PN_ELIMIT);
    assert_int_equal(off, strlen(s) - strlen("1024T]) >= 1"));
    s[off - 1] = ']'; /* 1024 of them */
    s[off] = '\0';
    assert_int_equal(parse_status(s, &off, &err), PN_EPARSE);
    assert_non_null(strstr(err.message, "(end of rule): expected '<=' or ')'"));
    free(s);
    /* a long AND chain evaluates without recursion */
    s = repeat("2T", " AND 1T", 1023, "");
    r = parse_ok(s);
    f = (fake){0, 0, r};
    assert_int_equal(pn_segment_rule_eval(r, count_id, &f, NOW), 1);
    assert_int_equal(f.calls, 1024);
    pn_segment_rule_free(r);
    free(s);

    /* text: 64 KiB are fine, one byte more is not */
    s = repeat("1T", " ", PN_RULE_MAX_TEXT - 2, "");
    assert_int_equal(parse_status(s, &off, &err), PN_OK);
    free(s);
    s = repeat("1T", " ", PN_RULE_MAX_TEXT - 1, "");
    assert_int_equal(parse_status(s, &off, &err), PN_ELIMIT);
    assert_int_equal(off, PN_RULE_MAX_TEXT);
    assert_non_null(strstr(err.message, "65537 bytes, more than the limit of 65536"));
    free(s);
}

/* Section - Canonical form */
static const struct {
    const char *rule, *canonical;
} canonical[] = {
    {"1t and not (2T or 3t)", "1T AND NOT (2T OR 3T)"},
    {"(1T OR 2T) OR 3T", "1T OR 2T OR 3T"},
    {"1T OR (2T OR (3T))", "1T OR 2T OR 3T"},
    {"1T AND (2T AND 3T)", "1T AND 2T AND 3T"},
    {"(1T OR 2T) AND 3T", "(1T OR 2T) AND 3T"},
    {"1T OR 2T AND 3T", "1T OR 2T AND 3T"},
    {"(1T OR 2T AND 3T) AND (NOT 4T OR 5T)", "(1T OR 2T AND 3T) AND (NOT 4T OR 5T)"},
    {"NOT NOT 1T", "1T"},
    {"NOT (NOT (1T))", "1T"},
    {"NOT (1T AND 2T)", "NOT (1T AND 2T)"},
    {"NOT (1T OR NOT 2T)", "NOT (1T OR NOT 2T)"},
    {"\"123\"", "123T"},
    {"0123T", "0123T"},
    {"\"a\\\"b\\\\c\\/d\"", "\"a\\\"b\\\\c/d\""},
    {"\"\\u0001\\n\\t\\r\\b\\f\\u001F\"", "\"\\u0001\\n\\t\\r\\b\\f\\u001f\""},
    {"\"\\u00E9\"", "\"\xc3\xa9\""},
    {"\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""},
    {"frequency([1t, \"x\"] <= 07d) >= 003", "FREQUENCY([1T,\"x\"] <= 7D) >= 3"},
    {"FREQUENCY([1T]) >= 1", "FREQUENCY([1T]) >= 1"},
    {"FREQUENCY([5T, 6T <= 12h]) == 3", "FREQUENCY([5T,6T] <= 12H) == 3"},
    {"FREQUENCY([1T]<=2h)!=0 or FREQUENCY([2T])<5", "FREQUENCY([1T] <= 2H) != 0 OR FREQUENCY([2T]) < 5"},
};

static void test_canonical(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof canonical / sizeof *canonical; i++) {
        pn_segment_rule *r = parse_ok(canonical[i].rule);
        char *text = format_alloc(r);
        if (strcmp(text, canonical[i].canonical))
            fail_msg("rule \"%s\": canonical \"%s\", expected \"%s\"", canonical[i].rule, text, canonical[i].canonical);
        free(text);
        pn_segment_rule_free(r);
    }
}

/* Every valid rule: format, parse, format again gives the same text and the same answers. */
static void test_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        pn_segment_rule *r = parse_ok(valid[i].rule);
        char *text = format_alloc(r);
        pn_segment_rule *again = parse_ok(text);
        char *text2 = format_alloc(again);
        if (strcmp(text, text2))
            fail_msg("rule \"%s\": \"%s\" then \"%s\"", valid[i].rule, text, text2);
        assert_int_equal(pn_segment_rule_trait_count(r), pn_segment_rule_trait_count(again));
        for (int64_t now = NOW - 3 * DAY; now <= NOW + 8 * DAY; now += HOUR / 2) {
            fake f = {0, 0, r};
            if (pn_segment_rule_eval(r, count_id, &f, now) != pn_segment_rule_eval(again, count_id, &f, now))
                fail_msg("rule \"%s\" and \"%s\" differ at %lld", valid[i].rule, text, (long long)now);
        }
        free(text);
        free(text2);
        pn_segment_rule_free(r);
        pn_segment_rule_free(again);
    }
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    pn_segment_rule *r = parse_ok("1t or 2t");
    char buf[16];
    size_t needed = 0;
    pn_error err;
    memset(buf, 'x', sizeof buf);
    assert_int_equal(pn_segment_rule_format(r, buf, 5, &needed, &err), PN_ELIMIT);
    assert_int_equal(needed, sizeof "1T OR 2T");
    assert_string_equal(buf, "1T O");
    assert_non_null(strstr(err.message, "needs 9"));
    assert_int_equal(pn_segment_rule_format(r, buf, 9, &needed, &err), PN_OK);
    assert_string_equal(buf, "1T OR 2T");
    pn_segment_rule_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_rules),
        cmocka_unit_test(test_short_circuit),
        cmocka_unit_test(test_since_passed),
        cmocka_unit_test(test_traits),
        cmocka_unit_test(test_invalid_rules),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_format_small_buffer),
    };
    return cmocka_run_group_tests_name("segment_rule", tests, NULL, NULL);
}
