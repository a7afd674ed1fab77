/*
 * Internal: what segment rules and signal rules share — the tokenizer, error messages that name a
 * character offset, exact decimal numbers, the Boolean skeleton (OR, AND, NOT, parentheses) and
 * a small bounded text writer for the canonical forms. Not part of the public API.
 *
 * The Boolean skeleton is parsed into a tree of n-ary AND/OR nodes (kept for formatting) and
 * compiled into a jump table over the leaves: leaf i, when true, continues at jumps[2i], when
 * false at jumps[2i+1]; PN__JUMP_TRUE / PN__JUMP_FALSE end the evaluation. Targets only ever
 * point forward, so evaluation is a loop with no stack, no recursion and no allocation, and it
 * short-circuits: a leaf whose value cannot change the result is never looked at.
 */
#ifndef PN_RULE_LEXER_H
#define PN_RULE_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "personae/status.h"

/* Limits shared by both languages (the public header repeats them). */
#define PN__RULE_MAX_TEXT 65536u /* bytes of rule text */
#define PN__RULE_MAX_DEPTH 64u   /* nested parentheses */
#define PN__RULE_MAX_REFS 1024u  /* trait references (segment) or comparisons (signal) */

/* Section - Tokens */
typedef enum pn__tok_kind {
    PN__T_EOF,
    PN__T_LPAREN,
    PN__T_RPAREN,
    PN__T_LBRACKET,
    PN__T_RBRACKET,
    PN__T_COMMA,
    PN__T_CMP,    /* >= > <= < == != */
    PN__T_WORD,   /* [A-Za-z_][A-Za-z0-9_.]*: keywords and signal keys */
    PN__T_NUMBER, /* [+-]?[0-9]+(.[0-9]+)? then an optional letter suffix: 123T, 7D, -1.5 */
    PN__T_STRING, /* "…" with JSON escapes, validated */
    PN__T_BAD     /* not a token; `problem` says why, or NULL for an unexpected character */
} pn__tok_kind;

typedef enum pn__cmp { PN__CMP_EQ, PN__CMP_NE, PN__CMP_LT, PN__CMP_LE, PN__CMP_GT, PN__CMP_GE } pn__cmp;

typedef struct pn__token {
    pn__tok_kind kind;
    size_t start, len;   /* the token's bytes in the text */
    size_t num_len;      /* NUMBER: bytes of the numeric part; the rest of the token is its suffix */
    pn__cmp cmp;         /* CMP */
    const char *problem; /* BAD */
    size_t problem_at;   /* BAD: byte offset the problem is reported at */
} pn__token;

typedef struct pn__lexer {
    const char *text;
    size_t len, pos;
    const char *lang; /* "segment rule" or "signal rule": the first words of every message */
    pn__token tok;    /* the current token */
    size_t *error_offset;
    pn_error *err;
} pn__lexer;

/* Starts lexing `text` and reads the first token. `error_offset` and `err` may be NULL. */
void pn__lex_init(pn__lexer *lx, const char *lang, const char *text, size_t len, size_t *error_offset,
                  pn_error *err);
void pn__lex_next(pn__lexer *lx);

/* 1 when the current token is the word `kw` (lower case), compared case-insensitively. */
int pn__lex_is(const pn__lexer *lx, const char *kw);

/* Fails with `code` and "<lang>: at character N ('<text at off>'): <message>", N 1-based in
 * UTF-8 characters; stores the 0-based byte offset `off` in *error_offset. `show` is how many
 * bytes from `off` to quote. Returns `code`. */
pn_status pn__lex_fail(pn__lexer *lx, pn_status code, size_t off, size_t show, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* PN_EPARSE at the current token: "expected <what>", or the lexer's own problem for a BAD token. */
pn_status pn__lex_expected(pn__lexer *lx, const char *what);

/* Decodes the current STRING token into `out` (room for tok.len bytes is enough); returns the
 * decoded length. The token was validated when it was read. */
size_t pn__lex_unquote(const pn__lexer *lx, char *out);

/* 1 when the current NUMBER token is plain digits (no sign, no fraction) followed by exactly
 * `suffix` (case-insensitive; "" for none) and its value is at most `max`; stores the value. */
int pn__lex_uint(const pn__lexer *lx, const char *suffix, uint64_t max, uint64_t *value);

/* Section - Exact decimals: numbers compared digit by digit, so no rounding and no locale */
typedef struct pn__decimal {
    int neg;
    const char *ip, *fp; /* integer digits without leading zeros, fraction without trailing zeros */
    size_t ip_len, fp_len;
} pn__decimal;

/* Parses all of s[0..n) as [+-]?[0-9]+(.[0-9]+)?; returns 1 on success, 0 otherwise.
 * The result points into `s`. */
int pn__decimal_parse(const char *s, size_t n, pn__decimal *d);
/* <0, 0, >0 as a is less than, equal to, greater than b (-0 equals 0). */
int pn__decimal_cmp(const pn__decimal *a, const pn__decimal *b);

/* Section - Bounded writer for the canonical forms */
typedef struct pn__out {
    char *buf;
    size_t cap, len; /* len counts every byte written, even those that did not fit */
} pn__out;

void pn__out_put(pn__out *o, const char *s, size_t n);
void pn__out_str(pn__out *o, const char *s);
void pn__out_uint(pn__out *o, uint64_t v);
/* Writes s[0..n) as a double-quoted string that pn__lex_unquote gives back byte for byte. */
void pn__out_quoted(pn__out *o, const char *s, size_t n);
void pn__out_cmp(pn__out *o, pn__cmp cmp);
/* NUL-terminates (truncating if needed); PN_OK when it all fit, else PN_ELIMIT. *needed, if not
 * NULL, gets the full length plus one for the NUL. */
pn_status pn__out_finish(pn__out *o, size_t *needed, const char *lang, pn_error *err);

/* Section - Boolean skeleton */
#define PN__NONE UINT32_MAX
#define PN__JUMP_TRUE UINT32_MAX
#define PN__JUMP_FALSE (UINT32_MAX - 1)

enum { PN__NODE_LEAF, PN__NODE_AND, PN__NODE_OR, PN__NODE_NOT };

typedef struct pn__node {
    uint32_t kind;
    uint32_t first_leaf; /* leftmost leaf below: where evaluation of this node starts */
    uint32_t child;      /* LEAF: the leaf's index; NOT: its operand; AND/OR: first operand */
    uint32_t last;       /* AND/OR: last operand */
    uint32_t next;       /* next operand of the parent AND/OR, or PN__NONE */
} pn__node;

typedef struct pn__bool {
    pn__node *nodes;
    size_t n_nodes, cap_nodes;
    uint32_t root;
    uint32_t n_leaves;
    uint32_t *jumps; /* 2 per leaf, see the top of this file */
} pn__bool;

/* Parses one leaf at the current token; it becomes leaf number b->n_leaves. On failure it has
 * reported through pn__lex_fail / pn__lex_expected / pn__oom. */
typedef pn_status (*pn__leaf_parse_fn)(void *ctx, pn__lexer *lx);
/* Writes leaf number `leaf` in canonical form. */
typedef void (*pn__leaf_format_fn)(const void *ctx, uint32_t leaf, pn__out *o);

/* Parses a whole rule (up to the end of the text) and compiles its jump table. AND and OR
 * operands are merged into one n-ary node and NOT NOT x is x, so that the canonical form of a
 * rule parses back to the same tree. On failure `b` may hold partial data: release it with
 * pn__bool_free. */
pn_status pn__bool_parse(pn__bool *b, pn__lexer *lx, pn__leaf_parse_fn leaf, void *ctx);
void pn__bool_format(const pn__bool *b, pn__out *o, pn__leaf_format_fn leaf, const void *ctx);
void pn__bool_free(pn__bool *b);

/* Section - Arena of the strings a rule owns (ids, keys, values), each NUL-terminated */
typedef struct pn__span {
    uint32_t off, len; /* bytes in the arena; the text holds 64 KiB at most, so 32 bits do */
} pn__span;

typedef struct pn__arena {
    char *buf;
    size_t len, cap;
    pn__span *ids; /* the interned strings, distinct, in first-appearance order */
    size_t n_ids, cap_ids;
} pn__arena;

/* Appends the current token's content: a STRING decoded, any other token's first `n` bytes.
 * PN_ENOMEM (reported to lx->err) on failure. */
pn_status pn__arena_add(pn__arena *a, const pn__lexer *lx, size_t n, pn__span *out);
/* Makes the string just added with pn__arena_add (the arena's last) one of the interned ids:
 * when an equal one exists it is dropped again and that one's index is returned. */
pn_status pn__arena_intern(pn__arena *a, const pn__lexer *lx, pn__span s, uint32_t *index);
/* The interned id `i`, or NULL when out of range; *len gets its length (0 when NULL). */
const char *pn__arena_id(const pn__arena *a, size_t i, size_t *len);
void pn__arena_free(pn__arena *a);

/* Section - Small ASCII helpers (locale-independent on purpose) */
static inline unsigned char pn__lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

#endif
