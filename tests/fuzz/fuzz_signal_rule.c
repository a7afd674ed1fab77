/*
 * Fuzz target for signal rules. Beyond "no crash, no leak, no undefined behaviour" it checks
 * that the canonical form of every rule that parses parses back, formats to the same text and
 * gives the same answers; and that a failed parse leaves a NULL rule, a matching status and
 * message and an offset inside the text.
 * Built with -DPN_FUZZ_STANDALONE it has a main() that runs each file named on the command
 * line once, for regression runs without libFuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/rule.h"

static char *format(const pn_signal_rule *r)
{
    size_t needed = 0;
    if (pn_signal_rule_format(r, NULL, 0, &needed, NULL) != PN_ELIMIT || needed == 0)
        abort();
    char *buf = malloc(needed);
    if (!buf || pn_signal_rule_format(r, buf, needed, NULL, NULL) != PN_OK || strlen(buf) + 1 != needed)
        abort();
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const values[] = {"5", "-3.25", "abc", "", "LOAN", "100.0", "x\"y", "1e5", "0", "\xc3\xa9"};
    enum { N_VALUES = sizeof values / sizeof *values, MAX_SIGNALS = 64 };
    pn_signal_rule *r = NULL, *again = NULL;
    pn_signal signals[MAX_SIGNALS];
    pn_error err;
    size_t off = 0, n = 0;
    pn_status st = pn_signal_rule_parse((const char *)data, size, &r, &off, &err);

    if (st != PN_OK) {
        if (r || err.code != st || strncmp(err.message, "signal rule: ", 13) ||
            (off > size && off != PN_RULE_MAX_TEXT))
            abort();
        return 0;
    }
    char *text = format(r);
    if (pn_signal_rule_parse(text, strlen(text), &again, NULL, &err) != PN_OK) {
        fprintf(stderr, "canonical form does not parse: %s\n%s\n", err.message, text);
        abort();
    }
    char *text2 = format(again);
    if (strcmp(text, text2) || pn_signal_rule_key_count(r) != pn_signal_rule_key_count(again))
        abort();
    /* Signals for the rule's own keys, some twice, with values that are and are not numbers;
     * every prefix of them is asked about, down to no signal at all. */
    for (size_t k = 0; k < pn_signal_rule_key_count(r) && n + 2 <= MAX_SIGNALS; k++) {
        size_t len;
        const char *key = pn_signal_rule_key(r, k, &len);
        for (size_t j = 0; j < 1 + (k % 2); j++, n++) {
            const char *v = values[(k * 7 + j * 3 + size) % N_VALUES];
            signals[n] = (pn_signal){key, len, v, strlen(v)};
        }
    }
    if (n < MAX_SIGNALS && n > 0) /* the input itself as a value: arbitrary bytes to compare */
        signals[n++] = (pn_signal){signals[0].key, signals[0].key_len, (const char *)data, size};
    const char *ek, *ev;
    size_t ekl, evl;
    int eq = pn_signal_rule_as_equality(r, &ek, &ekl, &ev, &evl);
    if (eq != pn_signal_rule_as_equality(again, NULL, NULL, NULL, NULL))
        abort();
    for (size_t m = 0; m <= n; m++) {
        int got = pn_signal_rule_eval(r, signals, m);
        if (got != pn_signal_rule_eval(again, signals, m))
            abort();
        /* a plain equality is true exactly when a signal has its key and value (what /event's
         * index of such rules relies on) */
        int found = 0;
        for (size_t i = 0; eq && i < m; i++)
            found |= signals[i].key_len == ekl && !memcmp(signals[i].key, ek, ekl) && signals[i].value_len == evl &&
                     !memcmp(signals[i].value, ev, evl);
        if (eq && found != got)
            abort();
    }
    free(text);
    free(text2);
    pn_signal_rule_free(again);
    pn_signal_rule_free(r);
    return 0;
}

#include "standalone_main.h"
