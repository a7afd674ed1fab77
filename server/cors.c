/* The origins allowed to call /event from a page (cors.h). */
#include "cors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An origin as browsers send it: a lower-case scheme and host (they lower-case what the page's
 * URL says) and the port only when it is not the scheme's default */
#define ORIGIN_MAX 253

typedef struct allowed {
    char name[ORIGIN_MAX + 1];
    char *headers, *preflight;
} allowed;

struct cors {
    allowed o[CORS_MAX_ORIGINS];
    size_t n;
};

static const char no_headers[] = "";

/* Whether s[0..n) is scheme://host[:port] with a lower-case http or https scheme, a host of
 * lower-case letters, digits, dots and dashes (or an IPv6 address in brackets) and a port of
 * 1 to 65535. */
static int valid_origin(const char *s, size_t n)
{
    size_t i = n >= 7 && memcmp(s, "http://", 7) == 0 ? 7 : n >= 8 && memcmp(s, "https://", 8) == 0 ? 8 : 0;
    if (i == 0 || i == n)
        return 0;
    size_t host = i;
    if (s[i] == '[') {
        while (i < n && s[i] != ']')
            if (!strchr("0123456789abcdef:.[", s[i++]))
                return 0;
        if (i == n)
            return 0;
        i++;
    } else {
        while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-'))
            i++;
        if (i == host || s[host] == '.' || s[host] == '-' || s[i - 1] == '.')
            return 0;
    }
    if (i < n && s[i] == ':') {
        long port = 0;
        size_t digits = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9' && digits < 6; i++, digits++)
            port = port * 10 + (s[i] - '0');
        if (digits == 0 || port < 1 || port > 65535)
            return 0;
    }
    return i == n;
}

static char *format(const char *fmt, const char *name)
{
    size_t len = strlen(fmt) + strlen(name);
    char *s = malloc(len);
    if (s)
        snprintf(s, len, fmt, name);
    return s;
}

int cors_parse(const char *list, cors **out, char *err, size_t errcap)
{
    cors *c = calloc(1, sizeof *c);
    if (!c)
        return snprintf(err, errcap, "out of memory"), -1;
    for (const char *p = list ? list : ""; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n) {
            if (n > ORIGIN_MAX || !valid_origin(p, n)) {
                snprintf(err, errcap,
                         "--allow-origin: '%.*s' is not an origin: scheme://host[:port] in lower case, http or https, no "
                         "path nor final slash (such as https://www.shop.example)",
                         (int)(n > 300 ? 300 : n), p);
                cors_free(c);
                return -1;
            }
            if (c->n == CORS_MAX_ORIGINS) {
                snprintf(err, errcap, "--allow-origin: at most %d origins", CORS_MAX_ORIGINS);
                cors_free(c);
                return -1;
            }
            allowed *o = &c->o[c->n++];
            memcpy(o->name, p, n);
            o->name[n] = '\0';
            /* Vary: Origin, so that a cache between them never gives one page's answer to another */
            o->headers = format("Access-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Credentials: true\r\n"
                                "Vary: Origin\r\n",
                                o->name);
            o->preflight = format("Access-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Credentials: true\r\n"
                                  "Access-Control-Allow-Methods: GET, POST\r\nAccess-Control-Allow-Headers: Content-Type\r\n"
                                  "Access-Control-Max-Age: 7200\r\nVary: Origin\r\n",
                                  o->name);
            if (!o->headers || !o->preflight) {
                cors_free(c);
                return snprintf(err, errcap, "out of memory"), -1;
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    *out = c;
    return 0;
}

void cors_free(cors *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->o[i].headers);
        free(c->o[i].preflight);
    }
    free(c);
}

static const allowed *find(const cors *c, const char *name)
{
    for (size_t i = 0; c && name && i < c->n; i++)
        if (strcmp(c->o[i].name, name) == 0)
            return &c->o[i];
    return NULL;
}

const char *cors_event_headers(const cors *c, const char *origin)
{
    const allowed *o = find(c, origin);
    return o ? o->headers : no_headers;
}

const char *cors_event_preflight(const cors *c, const char *origin)
{
    const allowed *o = find(c, origin);
    return o ? o->preflight : NULL;
}
