/* Parsing one event line, TSV or JSON Lines (DESIGN §3). */
#include "personae/profiles.h"
#include "error_internal.h"

#ifndef PN_NO_JSON_EVENTS
#include <cjson/cJSON.h>
#endif
#include <stdio.h>
#include <string.h>

static int valid_id(const char *s, size_t n)
{
    if (n == 0 || n > PN_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) /* control characters would corrupt TSV output */
            return 0;
    }
    return 1;
}

static pn_status bad_id(pn_error *err, const char *what, const char *s, size_t n)
{
    if (n == 0)
        return pn__fail(err, PN_EPARSE, "%s is empty", what);
    if (n > PN_ID_MAX)
        return pn__fail(err, PN_EPARSE, "%s is longer than %d bytes", what, PN_ID_MAX);
    (void)s;
    return pn__fail(err, PN_EPARSE, "%s contains a control character", what);
}

/* Unsigned decimal seconds, no sign, no spaces, at most PN_TS_MAX. */
static int parse_ts(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 10)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (v > PN_TS_MAX)
        return 0;
    *out = v;
    return 1;
}

static pn_status parse_tsv(const char *line, size_t len, pn_event *ev, pn_error *err)
{
    /* memchr finds the tabs quickly; this runs once per line of files with 50 million lines. */
    const char *end = line + len;
    const char *t1 = memchr(line, '\t', len);
    const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(end - t1 - 1)) : NULL;
    if (!t1 || !t2)
        return pn__fail(err, PN_EPARSE, "expected 3 tab-separated fields (uuid, trait, unix seconds), found %d",
                        t1 ? 2 : 1);
    if (memchr(t2 + 1, '\t', (size_t)(end - t2 - 1)))
        return pn__fail(err, PN_EPARSE, "expected 3 tab-separated fields (uuid, trait, unix seconds), found more");
    size_t ulen = (size_t)(t1 - line), tlen = (size_t)(t2 - t1 - 1), slen = (size_t)(end - t2 - 1);
    if (!valid_id(line, ulen))
        return bad_id(err, "uuid", line, ulen);
    if (!valid_id(t1 + 1, tlen))
        return bad_id(err, "trait id", t1 + 1, tlen);
    if (!parse_ts(t2 + 1, slen, &ev->ts))
        return pn__fail(err, PN_EPARSE, "timestamp '%.*s' is not unix seconds from 0 to %lld", (int)(slen > 40 ? 40 : slen),
                        t2 + 1, (long long)PN_TS_MAX);
    ev->uuid = line;
    ev->uuid_len = ulen;
    ev->trait = t1 + 1;
    ev->trait_len = tlen;
    return PN_OK;
}

#ifndef PN_NO_JSON_EVENTS
/* Copies a JSON string or integer field into scratch; returns its length or -1. */
static long json_id(const cJSON *item, char *scratch, size_t cap)
{
    if (cJSON_IsString(item)) {
        size_t n = strlen(item->valuestring);
        if (n >= cap)
            return -1;
        memcpy(scratch, item->valuestring, n + 1);
        return (long)n;
    }
    if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (d < 0 || d > 9.0e15 || d != (double)(long long)d)
            return -1;
        int n = snprintf(scratch, cap, "%lld", (long long)d);
        return n > 0 && (size_t)n < cap ? n : -1;
    }
    return -1;
}

/* cJSON unescapes \u0000 into a NUL that ends its C string, so "a\u0000b" would silently become
 * "a": refuse the escape outright (no id may hold a control character anyway). */
static int has_nul_escape(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* skip the escaped character, so that "\\u0000" is not read as an escape */
    }
    return 0;
}

static pn_status parse_json(const char *line, size_t len, pn_event *ev, char *scratch, pn_error *err)
{
    if (!scratch)
        return pn__fail(err, PN_EPARSE, "JSON event lines need a scratch buffer");
    if (has_nul_escape(line, len))
        return pn__fail(err, PN_EPARSE, "a JSON string holds \\u0000; ids cannot contain control characters");
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    /* cJSON stops after the first value: text after it would be silently dropped */
    while (o && end < line + len && (*end == ' ' || *end == '\t'))
        end++;
    if (o && end != line + len) {
        cJSON_Delete(o);
        o = NULL;
    }
    if (!o) {
        size_t at = end && end >= line ? (size_t)(end - line) + 1 : 1;
        return pn__fail(err, PN_EPARSE, "invalid JSON near character %zu", at);
    }
    pn_status st = PN_OK;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "uuid");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "trait");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "ts");
    /* Unescaped ids are no longer than their text in the line, so both fit in len + 1 bytes. */
    long ul = -1, tl = -1;
    if (!cJSON_IsObject(o)) {
        st = pn__fail(err, PN_EPARSE, "a JSON event must be an object with uuid, trait and ts");
    } else if (!u || (ul = json_id(u, scratch, len + 1)) < 0) {
        st = pn__fail(err, PN_EPARSE, "\"uuid\" is missing or not a string");
    } else if (!t || (tl = json_id(t, scratch + ul + 1, len - (size_t)ul)) < 0) {
        st = pn__fail(err, PN_EPARSE, "\"trait\" is missing or not a string or integer");
    } else if (!cJSON_IsNumber(ts) || ts->valuedouble < 0 || ts->valuedouble > (double)PN_TS_MAX ||
               ts->valuedouble != (double)(long long)ts->valuedouble) {
        st = pn__fail(err, PN_EPARSE, "\"ts\" is missing or not unix seconds from 0 to %lld", (long long)PN_TS_MAX);
    } else if (!valid_id(scratch, (size_t)ul)) {
        st = bad_id(err, "uuid", scratch, (size_t)ul);
    } else if (!valid_id(scratch + ul + 1, (size_t)tl)) {
        st = bad_id(err, "trait id", scratch + ul + 1, (size_t)tl);
    } else {
        ev->uuid = scratch;
        ev->uuid_len = (size_t)ul;
        ev->trait = scratch + ul + 1;
        ev->trait_len = (size_t)tl;
        ev->ts = (int64_t)ts->valuedouble;
    }
    cJSON_Delete(o);
    return st;
}
#else
/* The WebAssembly build has no cJSON (Debian ships no source to compile with emcc): its
 * JavaScript wrapper parses JSON lines with JSON.parse and adds the fields one by one. */
static pn_status parse_json(const char *line, size_t len, pn_event *ev, char *scratch, pn_error *err)
{
    (void)line, (void)len, (void)ev, (void)scratch;
    return pn__fail(err, PN_EPARSE, "JSON event lines are not supported by this build");
}
#endif

pn_status pn_event_parse(const char *line, size_t len, pn_event *ev, char *scratch, pn_error *err)
{
    if (len && line[len - 1] == '\n')
        len--;
    if (len && line[len - 1] == '\r')
        len--;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len)
        return pn__fail(err, PN_EINVAL, "blank line");
    if (line[i] == '{')
        return parse_json(line, len, ev, scratch, err);
    return parse_tsv(line, len, ev, err);
}
