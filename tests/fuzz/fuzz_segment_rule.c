/*
 * Fuzz target for segment rules. Beyond "no crash, no leak, no undefined behaviour" it checks
 * the promises of personae/rule.h on every input that parses:
 *   - the canonical form parses back, and formats to the same text;
 *   - the rule and its reparse give the same answers, by id and by ref index;
 * and on every input that does not: a NULL rule, a matching status and message, an offset
 * inside the text.
 * Built with -DPN_FUZZ_STANDALONE it has a main() that runs each file named on the command
 * line once, for regression runs without libFuzzer (gcc, valgrind).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/rule.h"

/* A made-up visitor: a few realizations per trait, fewer in shorter windows. */
static uint32_t count_id(void *ctx, const char *id, size_t len, int64_t since)
{
    uint32_t h = 2166136261u;
    (void)ctx;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)id[i]) * 16777619u;
    if (id[len] != '\0') /* ids are NUL-terminated */
        abort();
    return (h % 5) + (since == INT64_MIN ? (h >> 8) % 3 : 0);
}

static uint32_t count_ref(void *ctx, size_t ref, int64_t since)
{
    size_t len;
    const char *id = pn_segment_rule_trait(ctx, ref, &len);
    if (!id)
        abort();
    return count_id(NULL, id, len, since);
}

static char *format(const pn_segment_rule *r)
{
    size_t needed = 0;
    if (pn_segment_rule_format(r, NULL, 0, &needed, NULL) != PN_ELIMIT || needed == 0)
        abort();
    char *buf = malloc(needed);
    if (!buf || pn_segment_rule_format(r, buf, needed, NULL, NULL) != PN_OK || strlen(buf) + 1 != needed)
        abort();
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t nows[] = {0, 1700000000, INT64_MIN, INT64_MAX, -86400};
    pn_segment_rule *r = NULL, *again = NULL;
    pn_error err;
    size_t off = 0;
    pn_status st = pn_segment_rule_parse((const char *)data, size, &r, &off, &err);

    if (st != PN_OK) {
        if (r || err.code != st || strncmp(err.message, "segment rule: ", 14) ||
            (off > size && off != PN_RULE_MAX_TEXT))
            abort();
        return 0;
    }
    char *text = format(r);
    if (pn_segment_rule_parse(text, strlen(text), &again, NULL, &err) != PN_OK) {
        fprintf(stderr, "canonical form does not parse: %s\n%s\n", err.message, text);
        abort();
    }
    char *text2 = format(again);
    if (strcmp(text, text2) || pn_segment_rule_trait_count(r) != pn_segment_rule_trait_count(again))
        abort();
    for (size_t i = 0; i < sizeof nows / sizeof *nows; i++) {
        int a = pn_segment_rule_eval(r, count_id, NULL, nows[i]);
        if (a != pn_segment_rule_eval_refs(r, count_ref, r, nows[i]) ||
            a != pn_segment_rule_eval(again, count_id, NULL, nows[i]))
            abort();
    }
    free(text);
    free(text2);
    pn_segment_rule_free(again);
    pn_segment_rule_free(r);
    return 0;
}

#include "standalone_main.h"
