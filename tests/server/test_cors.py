"""Pages of other origins calling /event (server/cors.c; serve --allow-origin): a listed origin
gets its own name back with credentials allowed, on GET, POST, errors and the preflight; any other
origin, or a server with no list, gets no such header (a browser then hides the answer from the
page); a bad list stops serve at its start with a sentence naming the origin. /snapshot/{token}
answers every origin (the token is the credential)."""
import subprocess

from pnserver import BIN, Server, Store, check, finish, sql

SHOP = "https://www.shop.example"

store = Store()
srv = Server(store, extra=["--allow-origin", f"{SHOP}, http://localhost:8080"])
try:
    acct = sql(store, "SELECT id FROM accounts")[0][0]
    q = {"d_account": acct, "d_uuid": "v1", "c_lang": "en"}

    st, body, h = srv.event(q, headers={"Origin": SHOP})
    check(st == 200 and h.get("access-control-allow-origin") == SHOP and h.get("access-control-allow-credentials") == "true"
          and h.get("vary") == "Origin", f"a listed origin reads the answer, cookie included: {st} {h}")
    st, body, h = srv.event(q, headers={"Origin": "http://localhost:8080"})
    check(st == 200 and h.get("access-control-allow-origin") == "http://localhost:8080", f"each listed origin: {h}")
    st, body, h = srv.event(None, method="POST", body=b'{"d_account": %d, "d_uuid": "v1", "c_lang": "fr"}' % acct,
                            headers={"Origin": SHOP, "Content-Type": "application/json"})
    check(st == 200 and h.get("access-control-allow-origin") == SHOP, f"and a POST: {st} {h}")
    st, body, h = srv.event({"d_uuid": "v1"}, headers={"Origin": SHOP})
    check(st == 400 and h.get("access-control-allow-origin") == SHOP, f"and an error, which the page may read: {st} {h}")
    for other in ("https://evil.example", "http://www.shop.example", "https://www.shop.example:8443", "null",
                  "https://www.shop.example.evil.example"):
        st, body, h = srv.event(q, headers={"Origin": other})
        check(st == 200 and not any(k.startswith("access-control-") for k in h),
              f"{other}: the call is made, but no header lets its page read the answer: {h}")
    st, body, h = srv.event(q)
    check(st == 200 and "access-control-allow-origin" not in h, f"no Origin (a same-origin page, a worker): {h}")

    # the preflight a browser sends before a POST of JSON
    pre = {"Origin": SHOP, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    st, h, b = srv.raw("OPTIONS", "/event", headers=pre)
    check(st == 204 and h.get("access-control-allow-origin") == SHOP and "POST" in h.get("access-control-allow-methods", "")
          and h.get("access-control-allow-headers", "").lower() == "content-type"
          and h.get("access-control-allow-credentials") == "true", f"the preflight of a listed origin: {st} {h}")
    st, h, b = srv.raw("OPTIONS", "/event", headers={**pre, "Origin": "https://evil.example"})
    check(st == 403 and "access-control-allow-origin" not in h and b"--allow-origin" in b,
          f"another origin's preflight: {st} {h} {b}")
    st, h, b = srv.raw("OPTIONS", "/event")
    check(st == 204 and h.get("allow") == "GET, POST, OPTIONS", f"OPTIONS without an origin says what /event allows: {st} {h}")
    st, h, b = srv.raw("OPTIONS", "/snapshot/x.y", headers=pre)
    check(st == 204 and h.get("access-control-allow-origin") == "*", f"a token's preflight: {st} {h}")
    st, h, b = srv.raw("GET", "/snapshot/x.y", headers={"Origin": "https://evil.example"})
    check(st == 403 and h.get("access-control-allow-origin") == "*" and "etag" in h.get("access-control-expose-headers", "").lower(),
          f"a token's answers, its refusals too, to every origin: {st} {h}")
    # the API is not for pages: no header there, whatever the origin
    st, h, b = srv.raw("GET", "/api/v1/data-sources", headers={"Origin": SHOP, "Authorization": "Bearer " + store.key})
    check(st == 200 and "access-control-allow-origin" not in h, f"the API answers no origin: {st} {h}")
finally:
    srv.stop()

# without a list, no origin may read
srv = Server(store)
try:
    st, body, h = srv.event(q, headers={"Origin": SHOP})
    check(st == 200 and "access-control-allow-origin" not in h, f"no --allow-origin, no header: {h}")
    st, h, b = srv.raw("OPTIONS", "/event", headers={"Origin": SHOP})
    check(st == 403, f"nor a preflight: {st}")
finally:
    srv.stop()

# a bad list: serve does not start, and says which origin
for bad in ("*", "https://www.shop.example/", "www.shop.example"):
    p = subprocess.run([BIN, "serve", "--db", store.db, "--listen", "127.0.0.1:1", "--allow-origin", f"{SHOP},{bad}"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and f"'{bad}' is not an origin" in p.stderr, f"--allow-origin {bad}: {p.returncode} {p.stderr}")
store.cleanup()
finish()
