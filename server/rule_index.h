/*
 * The rule-based traits an /event call's signals realize, found without evaluating every rule.
 *
 * Most trait rules are one string equality (`c_page == "mortgage"`): those are kept in a hash
 * table by (key, value), so a call looks up each of its signals once, whatever the number of
 * such rules; only the other rules (comparisons, CONTAINS, AND/OR/NOT, ...) are evaluated one by
 * one. An account with thousands of page rules then costs a call a few lookups, not thousands
 * of evaluations.
 *
 * Ownership: the index borrows the rules it is built from (not the array that lists them): free
 * it before them. It is immutable once built, so calls of any thread share it without a lock.
 */
#ifndef PN_SERVER_RULE_INDEX_H
#define PN_SERVER_RULE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "personae/rule.h"

typedef struct ri_index ri_index;

/* An index of rules[0..n-1] (the rules borrowed, the array copied; an entry may be NULL: it never
 * matches). NULL when out of memory. */
ri_index *ri_new(const pn_signal_rule *const *rules, size_t n);
void ri_free(ri_index *x);

/* The positions of the rules the `nsig` signals (borrowed) make true, ascending and each once,
 * written to out (room for n, the number of rules indexed); returns how many. Allocates
 * nothing. */
size_t ri_match(const ri_index *x, const pn_signal *sig, size_t nsig, uint32_t *out);

#endif
