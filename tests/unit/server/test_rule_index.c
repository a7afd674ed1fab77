/* The index of /event's signal rules (server/rule_index.c): it finds exactly the rules that
 * evaluating each one finds, in ascending position and each once, whether a rule is a plain
 * equality (looked up by key and value) or anything else (evaluated). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_index.h"

#define SIG(k, v) {k, sizeof k - 1, v, sizeof v - 1}

static pn_signal_rule *parse(const char *text)
{
    pn_signal_rule *r = NULL;
    assert_int_equal(pn_signal_rule_parse(text, strlen(text), &r, NULL, NULL), PN_OK);
    return r;
}

/* What the index must give: the positions whose rule eval() finds true. */
static size_t brute(pn_signal_rule *const *rules, size_t n, const pn_signal *sig, size_t nsig, uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rules[i] && pn_signal_rule_eval(rules[i], sig, nsig))
            out[k++] = (uint32_t)i;
    return k;
}

static void check(pn_signal_rule *const *rules, size_t n, const ri_index *x, const pn_signal *sig, size_t nsig)
{
    uint32_t want[64], got[64];
    assert_true(n <= 64);
    size_t nw = brute(rules, n, sig, nsig, want), ng = ri_match(x, sig, nsig, got);
    assert_int_equal(ng, nw);
    if (nw)
        assert_memory_equal(got, want, nw * sizeof *want);
}

static void same_as_evaluating_each_rule(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "c_page == \"home\"",         "c_page == \"loan\"",    "c_page == \"home\"", /* two traits, one rule */
        "c_page != \"home\"",         "NOT c_page == \"home\"", "c_price >= 100",
        "c_price == 100",             "c_url contains \"loan\"", "c_page == \"home\" AND c_lang == \"en\"",
        "c_lang == \"\"",             "exists p_x",             "c_lang == \"en\" OR c_lang == \"fr\"",
        "c_q == \"a\\\"b\"",          "c_lang == \"EN\"",
    };
    enum { N = sizeof texts / sizeof *texts };
    pn_signal_rule *rules[N + 1];
    for (size_t i = 0; i < N; i++)
        rules[i] = parse(texts[i]);
    rules[N] = NULL; /* a trait whose rule did not parse: never realized */
    ri_index *x = ri_new((const pn_signal_rule *const *)rules, N + 1);
    assert_non_null(x);

    static const pn_signal calls[][4] = {
        {SIG("c_page", "home"), SIG("c_lang", "en")},
        {SIG("c_page", "loan"), SIG("c_page", "home"), SIG("c_page", "home")}, /* repeats: once each */
        {SIG("c_price", "100.0"), SIG("c_url", "/LOANS"), SIG("p_x", "")},
        {SIG("c_lang", ""), SIG("c_page", "Home")},
        {SIG("c_q", "a\"b"), SIG("c_lang", "EN")},
        {SIG("c_pag", "ehome"), SIG("c_pagehome", "")}, /* key and value split elsewhere */
        {{"c_page", 6, NULL, 0}, {"c_lang", 6, NULL, 2}}, /* NULL value: "" or, with a length, absent */
        {{0}},
    };
    for (size_t c = 0; c < sizeof calls / sizeof *calls; c++)
        for (size_t n = 0; n <= 4; n++)
            check(rules, N + 1, x, calls[c], n && calls[c][n - 1].key ? n : 0);
    ri_free(x);

    ri_index *empty = ri_new(NULL, 0);
    assert_non_null(empty);
    uint32_t out[1];
    assert_int_equal(ri_match(empty, calls[0], 2, out), 0);
    ri_free(empty);
    assert_int_equal(ri_match(NULL, calls[0], 2, out), 0);
    ri_free(NULL);
    for (size_t i = 0; i < N; i++)
        pn_signal_rule_free(rules[i]);
}

/* Many equality rules over few keys (a site's page rules), with random calls. */
static void many_page_rules(void **state)
{
    (void)state;
    enum { N = 60 };
    pn_signal_rule *rules[N];
    char text[64];
    for (size_t i = 0; i < N; i++) {
        if (i % 10 == 9)
            snprintf(text, sizeof text, "c_page starts_with \"p%zu\"", i / 10);
        else
            snprintf(text, sizeof text, "c_%s == \"p%zu\"", i % 2 ? "page" : "ref", i % 25);
        rules[i] = parse(text);
    }
    ri_index *x = ri_new((const pn_signal_rule *const *)rules, N);
    assert_non_null(x);
    unsigned seed = 7;
    char values[4][8];
    for (int round = 0; round < 2000; round++) {
        pn_signal sig[4];
        for (size_t s = 0; s < 4; s++) {
            seed = seed * 1103515245u + 12345u;
            snprintf(values[s], sizeof values[s], "p%u", (seed >> 16) % 30);
            const char *key = (seed >> 8) % 2 ? "c_page" : "c_ref";
            sig[s] = (pn_signal){key, strlen(key), values[s], strlen(values[s])};
        }
        check(rules, N, x, sig, 1 + (size_t)round % 4);
    }
    ri_free(x);
    for (size_t i = 0; i < N; i++)
        pn_signal_rule_free(rules[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_as_evaluating_each_rule),
        cmocka_unit_test(many_page_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
