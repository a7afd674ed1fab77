/* The tokenizer, messages, exact decimals, writer and Boolean skeleton shared by segment rules
 * and signal rules (see rule_lexer.h). */
#include "rule_lexer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error_internal.h"

/* Section - Characters */
static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
    c = pn__lower(c);
    return c >= 'a' && c <= 'z';
}

static int is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int hex_digit(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c = pn__lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static int read_hex4(const char *s, size_t n, size_t i, uint32_t *cp)
{
    uint32_t v = 0;
    if (n < 4 || i > n - 4)
        return 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hex_digit((unsigned char)s[i + k]);
        if (h < 0)
            return 0;
        v = v * 16 + (uint32_t)h;
    }
    *cp = v;
    return 1;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (out)
        memcpy(out, b, n);
    return n;
}

/* Section - Strings */

/* Reads the string whose opening quote is at s[start]: validates it and, when `out` is not
 * NULL, decodes it there (never more bytes than the string's text). One function does both so
 * that what is validated is exactly what is decoded. Returns the offset just past the closing
 * quote, or 0 with *problem and *at set. */
static size_t scan_string(const char *s, size_t n, size_t start, char *out, size_t *out_len,
                          const char **problem, size_t *at)
{
    static const char simple_in[] = "\"\\/bfnrt";
    static const char simple_out[] = "\"\\/\b\f\n\r\t";
    size_t i = start + 1, o = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            if (out_len)
                *out_len = o;
            return i + 1;
        }
        if (c < 0x20) {
            *problem = "control character in a string (write it as an escape such as \\n)";
            *at = i;
            return 0;
        }
        if (c != '\\') {
            if (out)
                out[o] = (char)c;
            o++;
            i++;
            continue;
        }
        if (i + 1 >= n)
            break;
        const char *e = s[i + 1] ? strchr(simple_in, s[i + 1]) : NULL;
        if (e) {
            if (out)
                out[o] = simple_out[e - simple_in];
            o++;
            i += 2;
            continue;
        }
        *at = i;
        if (s[i + 1] != 'u') {
            *problem = "unknown escape (use \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)";
            return 0;
        }
        uint32_t cp, lo;
        size_t used = 6;
        if (!read_hex4(s, n, i + 2, &cp)) {
            *problem = "expected 4 hex digits after \\u";
            return 0;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 8 < n && s[i + 6] == '\\' && s[i + 7] == 'u' &&
            read_hex4(s, n, i + 8, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            used = 12;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            *problem = "unpaired UTF-16 surrogate in a \\u escape";
            return 0;
        }
        /* Ids and values are also handed out as C strings: a NUL would silently cut them. */
        if (cp == 0) {
            *problem = "\\u0000 is not allowed in a string";
            return 0;
        }
        o += utf8_encode(cp, out ? out + o : NULL);
        i += used;
    }
    *problem = "unterminated string";
    *at = start;
    return 0;
}

size_t pn__lex_unquote(const pn__lexer *lx, char *out)
{
    const char *problem;
    size_t at, len = 0;
    scan_string(lx->text, lx->tok.start + lx->tok.len, lx->tok.start, out, &len, &problem, &at);
    return len;
}

/* Section - Tokens */
void pn__lex_init(pn__lexer *lx, const char *lang, const char *text, size_t len, size_t *error_offset,
                  pn_error *err)
{
    memset(lx, 0, sizeof *lx);
    lx->text = text;
    lx->len = len;
    lx->lang = lang;
    lx->error_offset = error_offset;
    lx->err = err;
    pn__lex_next(lx);
}

void pn__lex_next(pn__lexer *lx)
{
    const char *s = lx->text;
    size_t n = lx->len, i = lx->pos, j;
    pn__token t;

    while (i < n && is_space((unsigned char)s[i]))
        i++;
    memset(&t, 0, sizeof t);
    t.start = t.problem_at = i;
    t.kind = PN__T_BAD;
    if (i >= n) {
        t.kind = PN__T_EOF;
        lx->tok = t;
        lx->pos = i;
        return;
    }
    unsigned char c = (unsigned char)s[i], d = i + 1 < n ? (unsigned char)s[i + 1] : 0;
    j = i + 1;
    switch (c) {
    case '(': t.kind = PN__T_LPAREN; break;
    case ')': t.kind = PN__T_RPAREN; break;
    case '[': t.kind = PN__T_LBRACKET; break;
    case ']': t.kind = PN__T_RBRACKET; break;
    case ',': t.kind = PN__T_COMMA; break;
    case '>':
    case '<':
        t.kind = PN__T_CMP;
        t.cmp = c == '>' ? (d == '=' ? PN__CMP_GE : PN__CMP_GT) : (d == '=' ? PN__CMP_LE : PN__CMP_LT);
        j += d == '=';
        break;
    case '=':
    case '!':
        if (d == '=') {
            t.kind = PN__T_CMP;
            t.cmp = c == '=' ? PN__CMP_EQ : PN__CMP_NE;
            j++;
        } else if (c == '=') {
            t.problem = "a single '=' is not an operator (write ==)";
        }
        break;
    case '"':
        j = scan_string(s, n, i, NULL, NULL, &t.problem, &t.problem_at);
        if (j)
            t.kind = PN__T_STRING;
        else
            j = n;
        break;
    default:
        if (is_digit(c) || ((c == '+' || c == '-') && is_digit(d))) {
            while (j < n && is_digit((unsigned char)s[j]))
                j++;
            if (j < n && s[j] == '.') {
                if (j + 1 >= n || !is_digit((unsigned char)s[j + 1])) {
                    t.problem = "expected a digit after '.'";
                    t.problem_at = j;
                    break;
                }
                j++;
                while (j < n && is_digit((unsigned char)s[j]))
                    j++;
            }
            t.num_len = j - i;
            /* A suffix glued to the number (123T, 7D) is part of the token; each language
             * decides which suffixes it accepts. */
            while (j < n && (is_alpha((unsigned char)s[j]) || is_digit((unsigned char)s[j]) || s[j] == '_'))
                j++;
            t.kind = PN__T_NUMBER;
        } else if (is_alpha(c) || c == '_') {
            while (j < n && (is_alpha((unsigned char)s[j]) || is_digit((unsigned char)s[j]) || s[j] == '_' ||
                             s[j] == '.'))
                j++;
            t.kind = PN__T_WORD;
        }
        break;
    }
    t.len = j - i;
    lx->tok = t;
    lx->pos = j;
}

int pn__lex_is(const pn__lexer *lx, const char *kw)
{
    size_t n = strlen(kw);
    if (lx->tok.kind != PN__T_WORD || lx->tok.len != n)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (pn__lower((unsigned char)lx->text[lx->tok.start + k]) != (unsigned char)kw[k])
            return 0;
    return 1;
}

int pn__lex_uint(const pn__lexer *lx, const char *suffix, uint64_t max, uint64_t *value)
{
    const pn__token *t = &lx->tok;
    const char *s = lx->text + t->start;
    size_t sl = strlen(suffix);
    uint64_t v = 0;

    if (t->kind != PN__T_NUMBER || t->len - t->num_len != sl)
        return 0;
    for (size_t k = 0; k < sl; k++)
        if (pn__lower((unsigned char)s[t->num_len + k]) != (unsigned char)suffix[k])
            return 0;
    for (size_t k = 0; k < t->num_len; k++) {
        if (!is_digit((unsigned char)s[k]))
            return 0; /* a sign or a fraction */
        uint64_t dv = (uint64_t)(s[k] - '0');
        if (v > max / 10 || (v == max / 10 && dv > max % 10))
            return 0;
        v = v * 10 + dv;
    }
    *value = v;
    return 1;
}

/* Section - Messages */

/* Quotes up to 20 printable bytes of the text at `off`, so that a message shows what it is
 * about without carrying control characters or half a UTF-8 sequence. */
static void describe(const pn__lexer *lx, size_t off, size_t show, char *out, size_t cap)
{
    size_t k = 0, o = 0;
    if (off >= lx->len) {
        snprintf(out, cap, "end of rule");
        return;
    }
    unsigned char c0 = (unsigned char)lx->text[off];
    if (c0 < 0x20 || c0 >= 0x7F) {
        snprintf(out, cap, "byte 0x%02X", c0);
        return;
    }
    if (show == 0)
        show = 1;
    out[o++] = '\'';
    while (k < show && off + k < lx->len && k < 20) {
        unsigned char c = (unsigned char)lx->text[off + k];
        if (c < 0x20 || c >= 0x7F)
            break;
        out[o++] = (char)c;
        k++;
    }
    if (k < show && off + k < lx->len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '\'';
    out[o] = '\0';
}

pn_status pn__lex_fail(pn__lexer *lx, pn_status code, size_t off, size_t show, const char *fmt, ...)
{
    char what[40], msg[PN_ERROR_MESSAGE_MAX];
    size_t chars = 1;
    va_list ap;

    if (lx->error_offset)
        *lx->error_offset = off;
    if (!lx->err)
        return code;
    for (size_t k = 0; k < off && k < lx->len; k++)
        chars += ((unsigned char)lx->text[k] & 0xC0) != 0x80; /* count UTF-8 lead bytes */
    describe(lx, off, show, what, sizeof what);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return pn__fail(lx->err, code, "%s: at character %zu (%s): %s", lx->lang, chars, what, msg);
}

pn_status pn__lex_expected(pn__lexer *lx, const char *what)
{
    const pn__token *t = &lx->tok;
    if (t->kind == PN__T_BAD && t->problem)
        return pn__lex_fail(lx, PN_EPARSE, t->problem_at, t->problem_at == t->start ? t->len : 2, "%s",
                            t->problem);
    return pn__lex_fail(lx, PN_EPARSE, t->start, t->len, "expected %s", what);
}

/* Section - Exact decimals */
int pn__decimal_parse(const char *s, size_t n, pn__decimal *d)
{
    size_t i = 0, a, ip_end, f, f_end;
    int neg = 0;

    if (n && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    a = i;
    while (i < n && is_digit((unsigned char)s[i]))
        i++;
    if (i == a)
        return 0;
    ip_end = f = f_end = i;
    if (i < n && s[i] == '.') {
        f = ++i;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        if (i == f)
            return 0;
        f_end = i;
    }
    if (i != n)
        return 0;
    while (a < ip_end && s[a] == '0')
        a++;
    while (f_end > f && s[f_end - 1] == '0')
        f_end--;
    d->ip = s + a;
    d->ip_len = ip_end - a;
    d->fp = s + f;
    d->fp_len = f_end - f;
    d->neg = neg && (d->ip_len || d->fp_len); /* -0 is 0 */
    return 1;
}

int pn__decimal_cmp(const pn__decimal *a, const pn__decimal *b)
{
    int m = 0;
    if (a->neg != b->neg)
        return a->neg ? -1 : 1;
    if (a->ip_len != b->ip_len) {
        m = a->ip_len < b->ip_len ? -1 : 1;
    } else {
        m = memcmp(a->ip, b->ip, a->ip_len);
        size_t fn = a->fp_len > b->fp_len ? a->fp_len : b->fp_len;
        for (size_t k = 0; !m && k < fn; k++) {
            char ca = k < a->fp_len ? a->fp[k] : '0', cb = k < b->fp_len ? b->fp[k] : '0';
            m = ca - cb;
        }
        m = (m > 0) - (m < 0);
    }
    return a->neg ? -m : m;
}

/* Section - Writer */
void pn__out_put(pn__out *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

void pn__out_str(pn__out *o, const char *s)
{
    pn__out_put(o, s, strlen(s));
}

void pn__out_uint(pn__out *o, uint64_t v)
{
    char b[20];
    size_t k = sizeof b;
    do {
        b[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    pn__out_put(o, b + k, sizeof b - k);
}

void pn__out_quoted(pn__out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    pn__out_put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        }
        if (e) {
            pn__out_put(o, e, 2);
        } else if (c < 0x20) {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            pn__out_put(o, u, sizeof u);
        } else {
            pn__out_put(o, s + i, 1);
        }
    }
    pn__out_put(o, "\"", 1);
}

void pn__out_cmp(pn__out *o, pn__cmp cmp)
{
    static const char *const text[] = {"==", "!=", "<", "<=", ">", ">="};
    pn__out_str(o, text[cmp]);
}

pn_status pn__out_finish(pn__out *o, size_t *needed, const char *lang, pn_error *err)
{
    if (needed)
        *needed = o->len + 1;
    if (o->len < o->cap) {
        o->buf[o->len] = '\0';
        return PN_OK;
    }
    if (o->cap)
        o->buf[o->cap - 1] = '\0';
    return pn__fail(err, PN_ELIMIT, "%s: the buffer holds %zu bytes but the canonical form needs %zu", lang,
                    o->cap, o->len + 1);
}

/* Section - Arena */
pn_status pn__arena_add(pn__arena *a, const pn__lexer *lx, size_t n, pn__span *out)
{
    const pn__token *t = &lx->tok;
    if (pn__grow((void **)&a->buf, &a->cap, a->len + t->len + 1, 1))
        return pn__oom(lx->err);
    if (t->kind == PN__T_STRING) {
        n = pn__lex_unquote(lx, a->buf + a->len);
    } else if (n) { /* n == 0 would pass a NULL source to memcpy for an empty text */
        memcpy(a->buf + a->len, lx->text + t->start, n);
    }
    a->buf[a->len + n] = '\0';
    out->off = (uint32_t)a->len;
    out->len = (uint32_t)n;
    a->len += n + 1;
    return PN_OK;
}

pn_status pn__arena_intern(pn__arena *a, const pn__lexer *lx, pn__span s, uint32_t *index)
{
    /* A linear search: parsing is rare and a rule holds 1024 references at most. */
    for (size_t i = 0; i < a->n_ids; i++) {
        if (a->ids[i].len == s.len && !memcmp(a->buf + a->ids[i].off, a->buf + s.off, s.len)) {
            a->len = s.off; /* drop the copy just added */
            *index = (uint32_t)i;
            return PN_OK;
        }
    }
    if (pn__grow((void **)&a->ids, &a->cap_ids, a->n_ids + 1, sizeof *a->ids))
        return pn__oom(lx->err);
    a->ids[a->n_ids] = s;
    *index = (uint32_t)a->n_ids++;
    return PN_OK;
}

const char *pn__arena_id(const pn__arena *a, size_t i, size_t *len)
{
    if (i >= a->n_ids) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = a->ids[i].len;
    return a->buf + a->ids[i].off;
}

void pn__arena_free(pn__arena *a)
{
    pn__free(a->buf);
    pn__free(a->ids);
    memset(a, 0, sizeof *a);
}

/* Section - Boolean skeleton */
typedef struct bparser {
    pn__bool *b;
    pn__lexer *lx;
    pn__leaf_parse_fn leaf;
    void *ctx;
} bparser;

static pn_status new_node(bparser *p, uint32_t kind, uint32_t child, uint32_t *out)
{
    pn__bool *b = p->b;
    if (pn__grow((void **)&b->nodes, &b->cap_nodes, b->n_nodes + 1, sizeof *b->nodes))
        return pn__oom(p->lx->err);
    pn__node *n = &b->nodes[b->n_nodes];
    n->kind = kind;
    n->first_leaf = kind == PN__NODE_LEAF ? child : b->nodes[child].first_leaf;
    n->child = n->last = child;
    n->next = PN__NONE;
    *out = (uint32_t)b->n_nodes++;
    return PN_OK;
}

/* Makes `*left` an n-ary `kind` node that ends with `right`. Operands that are themselves
 * `kind` nodes are spliced in, since (a OR b) OR c and a OR (b OR c) mean a OR b OR c. */
static pn_status join(bparser *p, uint32_t kind, uint32_t *left, uint32_t right)
{
    if (p->b->nodes[*left].kind != kind) {
        pn_status st = new_node(p, kind, *left, left);
        if (st)
            return st;
    }
    pn__node *nodes = p->b->nodes, *l = &nodes[*left], *r = &nodes[right];
    if (r->kind == kind) {
        nodes[l->last].next = r->child;
        l->last = r->last;
    } else {
        nodes[l->last].next = right;
        l->last = right;
    }
    return PN_OK;
}

static pn_status parse_or(bparser *p, unsigned depth, uint32_t *out);

static pn_status parse_primary(bparser *p, unsigned depth, uint32_t *out)
{
    pn__lexer *lx = p->lx;
    pn_status st;

    if (lx->tok.kind == PN__T_LPAREN) {
        if (depth >= PN__RULE_MAX_DEPTH)
            return pn__lex_fail(lx, PN_ELIMIT, lx->tok.start, 1, "parentheses nest deeper than %u levels",
                                PN__RULE_MAX_DEPTH);
        pn__lex_next(lx);
        st = parse_or(p, depth + 1, out);
        if (st)
            return st;
        if (lx->tok.kind != PN__T_RPAREN)
            return pn__lex_expected(lx, "AND, OR or ')'");
        pn__lex_next(lx);
        return PN_OK;
    }
    st = p->leaf(p->ctx, lx);
    if (st)
        return st;
    st = new_node(p, PN__NODE_LEAF, p->b->n_leaves, out);
    if (!st)
        p->b->n_leaves++;
    return st;
}

static pn_status parse_unary(bparser *p, unsigned depth, uint32_t *out)
{
    int negate = 0;
    /* A loop, not recursion: NOT NOT … cannot exhaust the stack. */
    while (pn__lex_is(p->lx, "not")) {
        negate = !negate;
        pn__lex_next(p->lx);
    }
    pn_status st = parse_primary(p, depth, out);
    if (st || !negate)
        return st;
    if (p->b->nodes[*out].kind == PN__NODE_NOT) { /* NOT (NOT x) */
        *out = p->b->nodes[*out].child;
        return PN_OK;
    }
    return new_node(p, PN__NODE_NOT, *out, out);
}

static pn_status parse_and(bparser *p, unsigned depth, uint32_t *out)
{
    pn_status st = parse_unary(p, depth, out);
    while (!st && pn__lex_is(p->lx, "and")) {
        uint32_t right;
        pn__lex_next(p->lx);
        st = parse_unary(p, depth, &right);
        if (!st)
            st = join(p, PN__NODE_AND, out, right);
    }
    return st;
}

static pn_status parse_or(bparser *p, unsigned depth, uint32_t *out)
{
    pn_status st = parse_and(p, depth, out);
    while (!st && pn__lex_is(p->lx, "or")) {
        uint32_t right;
        pn__lex_next(p->lx);
        st = parse_and(p, depth, &right);
        if (!st)
            st = join(p, PN__NODE_OR, out, right);
    }
    return st;
}

/* Sets the jumps of the leaves below `node`, which must continue at `t` when the node is true
 * and at `f` when it is false. Recursion follows the tree, whose depth the parentheses limit. */
static void compile(pn__bool *b, uint32_t node, uint32_t t, uint32_t f)
{
    const pn__node *n = &b->nodes[node];
    switch (n->kind) {
    case PN__NODE_LEAF:
        b->jumps[2 * n->child] = t;
        b->jumps[2 * n->child + 1] = f;
        break;
    case PN__NODE_NOT:
        compile(b, n->child, f, t);
        break;
    default:
        for (uint32_t c = n->child; c != PN__NONE; c = b->nodes[c].next) {
            uint32_t nx = b->nodes[c].next, after = nx == PN__NONE ? PN__NONE : b->nodes[nx].first_leaf;
            if (n->kind == PN__NODE_AND)
                compile(b, c, after == PN__NONE ? t : after, f); /* false: the AND is false */
            else
                compile(b, c, t, after == PN__NONE ? f : after); /* true: the OR is true */
        }
        break;
    }
}

pn_status pn__bool_parse(pn__bool *b, pn__lexer *lx, pn__leaf_parse_fn leaf, void *ctx)
{
    bparser p = {b, lx, leaf, ctx};
    pn_status st;

    if (lx->tok.kind == PN__T_EOF)
        return pn__lex_fail(lx, PN_EPARSE, lx->tok.start, 0, "the rule is empty");
    st = parse_or(&p, 0, &b->root);
    if (st)
        return st;
    if (lx->tok.kind != PN__T_EOF)
        return pn__lex_expected(lx, "AND, OR or end of rule");
    b->jumps = pn__calloc(2 * (size_t)b->n_leaves, sizeof *b->jumps);
    if (!b->jumps)
        return pn__oom(lx->err);
    compile(b, b->root, PN__JUMP_TRUE, PN__JUMP_FALSE);
    return PN_OK;
}

static void format_node(const pn__bool *b, uint32_t node, pn__out *o, pn__leaf_format_fn leaf, const void *ctx)
{
    const pn__node *n = &b->nodes[node];
    if (n->kind == PN__NODE_LEAF) {
        leaf(ctx, n->child, o);
        return;
    }
    if (n->kind == PN__NODE_NOT) {
        int wrap = b->nodes[n->child].kind != PN__NODE_LEAF;
        pn__out_str(o, wrap ? "NOT (" : "NOT ");
        format_node(b, n->child, o, leaf, ctx);
        if (wrap)
            pn__out_put(o, ")", 1);
        return;
    }
    for (uint32_t c = n->child; c != PN__NONE; c = b->nodes[c].next) {
        /* Only an OR inside an AND needs parentheses: AND binds tighter, NOT tightest, and
         * operands of the same operator were merged by the parser. */
        int wrap = n->kind == PN__NODE_AND && b->nodes[c].kind == PN__NODE_OR;
        if (c != n->child)
            pn__out_str(o, n->kind == PN__NODE_AND ? " AND " : " OR ");
        if (wrap)
            pn__out_put(o, "(", 1);
        format_node(b, c, o, leaf, ctx);
        if (wrap)
            pn__out_put(o, ")", 1);
    }
}

void pn__bool_format(const pn__bool *b, pn__out *o, pn__leaf_format_fn leaf, const void *ctx)
{
    format_node(b, b->root, o, leaf, ctx);
}

void pn__bool_free(pn__bool *b)
{
    pn__free(b->nodes);
    pn__free(b->jumps);
    memset(b, 0, sizeof *b);
}
