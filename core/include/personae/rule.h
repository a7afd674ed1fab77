/*
 * personae — the two rule languages: segment rules over trait realizations, and signal rules
 * that realize rule-based traits from the key/value signals of an /event call.
 *
 * Both are parsed into a fixed set of operators and evaluated by a small interpreter; a rule
 * is never run as code, and no text reaches anything but the parser.
 *
 * Ownership and threads, for everything in this header:
 *   - a parse function returns a new rule, caller frees with the matching _free (NULL is a
 *     no-op); the rule copies what it needs, so the text can be freed right after parsing;
 *   - a rule is immutable once parsed: any number of threads may evaluate, format and query
 *     the same rule at once; strings a rule hands out are borrowed and live as long as it;
 *   - evaluation allocates nothing and never fails: bad input was refused at parse time.
 *
 * Limits (beyond them parsing fails with PN_ELIMIT): the text is at most PN_RULE_MAX_TEXT bytes,
 * parentheses nest at most PN_RULE_MAX_DEPTH levels, and a rule holds at most PN_RULE_MAX_REFS
 * trait references (segment rule) or comparisons (signal rule). Malformed text fails with
 * PN_EPARSE and a message "<language>: at character N ('<text>'): expected …" where N counts
 * UTF-8 characters from 1; the 0-based byte offset goes to *error_offset.
 *
 * Lexical rules shared by both languages: keywords (AND, OR, NOT, FREQUENCY, EXISTS, CONTAINS,
 * STARTS_WITH, ENDS_WITH) and the suffixes T, D, H are case-insensitive; whitespace is free;
 * strings are double-quoted with JSON escapes (\" \\ \/ \b \f \n \r \t \uXXXX, no raw control
 * characters, no \u0000); numbers are [+-]?[0-9]+(.[0-9]+)? with no exponent.
 */
#ifndef PERSONAE_RULE_H
#define PERSONAE_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "personae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PN_RULE_MAX_TEXT 65536u
#define PN_RULE_MAX_DEPTH 64u
#define PN_RULE_MAX_REFS 1024u

/* Section - Segment rules
 *
 *   expr    := or
 *   or      := and ( OR and )*
 *   and     := unary ( AND unary )*            -- so "A AND NOT B" too
 *   unary   := NOT unary | primary
 *   primary := '(' expr ')' | traitref | freq
 *   traitref:= DIGITS 'T'  (123T is trait "123") | "quoted id" ("movie:42")
 *   freq    := FREQUENCY '(' '[' traitref (',' traitref)* ']' [ window ] ')' CMP DIGITS
 *   window  := '<=' DIGITS ('D'|'H')        -- 1 or more; also accepted just before the ']'
 *   CMP     := >= | > | <= | < | == | !=
 *
 * 123T and "123" name the same trait id, "123". A bare traitref is true when the visitor has at
 * least one realization of it, at any time.
 * FREQUENCY sums the realizations of the listed traits (each listed once) and compares the sum;
 * with a window "<= 7D" (days) or "<= 12H" (hours) only realizations at or after
 * now - 7 * 86400 (or now - 12 * 3600) seconds count. The count is 0 to 4294967295.
 */
typedef struct pn_segment_rule pn_segment_rule;

/* Parses `len` bytes of `text` (not necessarily NUL-terminated; borrowed for the call only) into
 * a new rule in *out; returns, caller frees with pn_segment_rule_free. Fails with PN_EPARSE for
 * malformed text or an empty rule, PN_ELIMIT beyond a limit (both set *error_offset, if not
 * NULL, to the byte offset at fault; it is 0 otherwise), PN_EINVAL for a NULL `out` or a NULL
 * `text` with a non-zero `len`, PN_ENOMEM; then *out is NULL. `err` may be NULL. */
pn_status pn_segment_rule_parse(const char *text, size_t len, pn_segment_rule **out, size_t *error_offset,
                                pn_error *err);

/* Frees a rule and everything it owns. NULL is a no-op. */
void pn_segment_rule_free(pn_segment_rule *rule);

/* The number of distinct trait ids the rule refers to. Ref indices 0..count-1 follow their first
 * appearance in the text; pn_segment_rule_eval_refs asks about them by these indices. */
size_t pn_segment_rule_trait_count(const pn_segment_rule *rule);

/* The trait id with ref index `i` (NUL-terminated; its length, without the NUL, in *len if not
 * NULL). Borrowed: valid while the rule lives. NULL (and *len 0) when `i` is out of range. */
const char *pn_segment_rule_trait(const pn_segment_rule *rule, size_t i, size_t *len);

/* How evaluation sees a visitor: the caller answers how many realizations of a trait the visitor
 * has at or after `since` (unix seconds); since == INT64_MIN means all history. */
typedef uint32_t (*pn_realization_count_fn)(void *ctx, const char *trait_id, size_t len, int64_t since);

/* Evaluates the rule for one visitor at time `now` (unix seconds): 1 when the visitor qualifies,
 * 0 when not (and for a NULL rule or callback). Allocates nothing; calls `count` only for the
 * traits whose answer can still change the result, so the number of calls varies. Borrows
 * everything. */
int pn_segment_rule_eval(const pn_segment_rule *rule, pn_realization_count_fn count, void *ctx, int64_t now);

/* The same question asked by ref index (see pn_segment_rule_trait_count), for callers that
 * resolve the rule's trait ids to their own indices once and evaluate many visitors. */
typedef uint32_t (*pn_realization_count_by_ref_fn)(void *ctx, size_t ref_index, int64_t since);

/* pn_segment_rule_eval with the by-ref callback. */
int pn_segment_rule_eval_refs(const pn_segment_rule *rule, pn_realization_count_by_ref_fn count, void *ctx,
                              int64_t now);

/* Writes the rule's canonical text into `buf` (capacity `cap` bytes, NUL-terminated): upper-case
 * keywords, single spaces, the fewest parentheses, ids of digits as 123T and others quoted.
 * Parsing it gives back an equal rule, and formatting that gives the same text. *needed (if not
 * NULL) gets the size the text needs, its NUL included. Fails with PN_ELIMIT when `cap` is
 * smaller (then `buf`, if cap > 0, holds a NUL-terminated prefix): call with cap 0 to size it.
 * PN_EINVAL for a NULL rule, or a NULL buf with a non-zero cap. Borrows everything. */
pn_status pn_segment_rule_format(const pn_segment_rule *rule, char *buf, size_t cap, size_t *needed,
                                 pn_error *err);

/* Section - Signal rules
 *
 *   expr    := or ;  or := and ( OR and )* ;  and := unary ( AND unary )* ;  unary := NOT unary | primary
 *   primary := '(' expr ')' | EXISTS key | key OP value
 *   key     := [A-Za-z_][A-Za-z0-9_.]*   (not AND, OR, NOT or EXISTS)
 *   OP      := == | != | < | <= | > | >= | CONTAINS | STARTS_WITH | ENDS_WITH
 *
 * Keys match signal keys exactly (case-sensitive). With a string value, == and != compare bytes
 * exactly; CONTAINS, STARTS_WITH and ENDS_WITH take a string and ignore ASCII case. With a number,
 * all six comparisons are numeric and exact (decimal digits, no rounding, no locale); a signal
 * value that is not a number in the grammar above makes them false. <, <=, >, >= need a number.
 * A comparison is true when at least one signal with that key satisfies it, so a missing key
 * makes every comparison false, != included (NOT (c_x == "a") is true for a missing key).
 * EXISTS key is true when at least one signal has that key.
 */
typedef struct pn_signal_rule pn_signal_rule;

/* A borrowed view of one signal of an /event call. Neither string needs a NUL. */
typedef struct pn_signal {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
} pn_signal;

/* Parses a signal rule; same contract as pn_segment_rule_parse (returns, caller frees with
 * pn_signal_rule_free). */
pn_status pn_signal_rule_parse(const char *text, size_t len, pn_signal_rule **out, size_t *error_offset,
                               pn_error *err);

/* Frees a rule and everything it owns. NULL is a no-op. */
void pn_signal_rule_free(pn_signal_rule *rule);

/* 1 when the `n` signals (borrowed) match the rule, 0 when not (and for a NULL rule, or NULL
 * signals with n > 0). Allocates nothing. */
int pn_signal_rule_eval(const pn_signal_rule *rule, const pn_signal *signals, size_t n);

/* 1 when the rule is one string comparison `key == "value"` and nothing else (not negated, not a
 * number: `c_x == 5` compares numerically, so "5.0" matches it), 0 for every other rule or NULL.
 * Such a rule is true exactly when some signal has that key and that value, byte for byte, so a
 * caller with many rules can find these in a hash table by (key, value) instead of evaluating
 * each one. On 1, *key and *value (borrowed, valid while the rule lives; the value decoded, its
 * length is what counts: it need not end with a NUL) and their lengths are set; an output pointer
 * may be NULL. */
int pn_signal_rule_as_equality(const pn_signal_rule *rule, const char **key, size_t *key_len, const char **value,
                               size_t *value_len);

/* The number of distinct signal keys the rule mentions, in first-appearance order. */
size_t pn_signal_rule_key_count(const pn_signal_rule *rule);

/* The key with index `i` (NUL-terminated, length in *len if not NULL). Borrowed: valid while the
 * rule lives. NULL (and *len 0) when `i` is out of range. */
const char *pn_signal_rule_key(const pn_signal_rule *rule, size_t i, size_t *len);

/* Canonical text of a signal rule; same contract as pn_segment_rule_format. Numbers are written
 * as they were in the rule. */
pn_status pn_signal_rule_format(const pn_signal_rule *rule, char *buf, size_t cap, size_t *needed,
                                pn_error *err);

#ifdef __cplusplus
}
#endif
#endif
