/*
 * Which web pages may call /event from another origin (CORS), and the header lines that let
 * them. A site usually collects on a host of its own (collect.shop.example for pages of
 * www.shop.example): a browser sends such a call, but lets the page read the answer (its
 * personas) only when the server names the page's origin; and the visitor's pn_uuid cookie goes
 * with it only when the server also allows credentials. So the operator lists the origins
 * (`serve --allow-origin`); any other gets no such header, and a page there reads nothing.
 * Never every origin: with the cookie, any site could read its visitors' personas.
 *
 * /snapshot/{token} needs no list: the token is the credential (whoever holds it can fetch the
 * snapshot, from a page or not), no cookie is involved, so its answers allow every origin.
 *
 * Pure: no sockets, no state but the list, read-only once parsed (shared by the HTTP loops).
 */
#ifndef PN_SRV_CORS_H
#define PN_SRV_CORS_H

#include <stddef.h>

typedef struct cors cors;

#define CORS_MAX_ORIGINS 64

/* Parses `list`, origins separated by commas (scheme://host[:port], such as
 * https://www.shop.example; http or https, no path). NULL or "" gives an empty list. 0 with *out
 * set (free with cors_free), or -1 with `err` filled (a sentence naming the bad origin). */
int cors_parse(const char *list, cors **out, char *err, size_t errcap);
void cors_free(cors *c);

/* The header lines ("Name: value\r\n" each) for an /event answer to a request with this Origin
 * header (NULL: none): for a listed origin, those that let its page read the answer, cookie
 * included; otherwise "". Owned by c. */
const char *cors_event_headers(const cors *c, const char *origin);

/* The same for an answer to a preflight (OPTIONS /event) from a listed origin: the methods and
 * the request header (Content-Type, for a JSON body) a call may use. NULL for another origin. */
const char *cors_event_preflight(const cors *c, const char *origin);

/* For /snapshot/{token} (and its preflight): every origin, and its ETag readable. */
#define CORS_TOKEN_HEADERS "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: ETag\r\n"

#endif
