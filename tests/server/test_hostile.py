"""Hostile input: quotes, SQL fragments, huge and malformed bodies, unknown fields. Each gets a
clear 4xx and changes nothing."""
from pnserver import Server, Store, check, finish, setup_catalog

store = Store()
srv = Server(store)
try:
    A = store.key
    ds, t = setup_catalog(srv, A, 2)

    def snapshot():
        return {c: srv.request("GET", "/" + c, None, A)[1] for c in
                ["data-sources", "traits", "segments", "destinations", "merge-rules", "groups", "users", "models"]}

    # names with quotes and SQL are just names
    for name in ["O'Brien \"quoted\"", "x'); DROP TABLE objects; --", "1 OR 1=1", "名前 ✓"]:
        st, o = srv.request("POST", "/traits", {"name": name, "data_source_id": ds}, A)
        check(st == 201 and o["name"] == name, f"name {name!r} stored as is: {st} {o}")
        st, back = srv.request("GET", f"/traits/{o['id']}", None, A)
        check(back["name"] == name, "and read back as is")
    before = snapshot()
    bad = [
        ("POST", "/traits", b"{\"name\": \"x\", ", 400, "not valid JSON"),
        ("POST", "/traits", b"[1, 2]", 400, "JSON object"),
        ("POST", "/traits", b"", 400, "empty"),
        ("POST", "/traits", b"{\"name\":\"a\",\"data_source_id\":1} trailing", 400, "extra text"),
        ("POST", "/traits", b"{\"name\":\"a\",\"name\":\"b\",\"data_source_id\":1}", 400, "twice"),
        ("POST", "/traits", ("{\"name\": \"big\", \"x\": \"" + "a" * (10 << 20) + "\"}").encode(), 413, "larger"),
        ("POST", "/onboard", b"u\t1\t1\n" * (12 << 20 >> 2) + b"x" * (60 << 20), 413, "larger"),
        ("POST", "/traits", b"{\"name\": \"u\", \"data_source_id\": %d, \"evil\": 1}" % ds, 400, "unknown field 'evil'"),
        ("POST", "/traits", b"{\"name\": \"u\", \"data_source_id\": \"1 OR 1=1\"}", 400, "data_source_id"),
        ("POST", "/traits", b"{\"name\": 5, \"data_source_id\": 1}", 400, "name"),
        ("POST", "/traits", b"{\"name\": \"\", \"data_source_id\": 1}", 400, "name"),
        ("POST", "/traits", ("{\"name\": \"" + "n" * 300 + "\", \"data_source_id\": 1}").encode(), 400, "name"),
        ("POST", "/traits", b"{\"name\": \"r\", \"data_source_id\": %d, \"kind\": \"rule\", \"rule\": \"c_page == \"}" % ds,
         400, "rule"),
        ("POST", "/segments", b"{\"name\": \"s\", \"rule\": \"1T; DROP TABLE objects\"}", 400, "at character"),
        ("POST", "/segments", b"{\"name\": \"s\", \"rule\": \"(((1T\"}", 400, "at character"),
        ("POST", "/data-sources", b"{\"name\": \"d\", \"dec_labels\": [\"pii\", \"' OR 1=1\"]}", 400, "DEC label"),
        ("POST", "/destinations", b"{\"name\": \"d\", \"type\": \"ftp\"}", 400, "type"),
        ("POST", "/groups", b"{\"name\": \"g\", \"permissions\": [{\"object_type\": \"trait\", \"object_id\": \"*\", "
                            b"\"action\": \"EVERYTHING\"}]}", 400, "action"),
        ("POST", "/users", b"{\"name\": \"u\", \"group_ids\": [\"1; DROP\"]}", 400, "group_ids"),
        ("POST", "/models", b"{\"name\": \"m\", \"baselines\": \"1,2\", \"data_source_id\": 1}", 400, "baselines"),
        ("PUT", "/traits/1%20OR%201=1", b"{}", 404, "no trait"),
        ("GET", "/traits/abc", None, 404, "no trait"),
        ("GET", "/traits/99999999999999999999", None, 404, "no trait"),
        ("DELETE", "/traits", None, 405, "not allowed"),
        ("GET", "/nothing", None, 404, "no route"),
        ("PUT", f"/traits/{t[0]}", b"{\"name\": \"t\", \"sneaky\": true}", 400, "unknown field"),
        ("PUT", f"/traits/{t[0]}", b"{\"data_source_id\": 424242}", 422, "424242"),
        ("PUT", f"/traits/{t[0]}", b"\x00\xff\xfe", 400, "JSON"),
        ("POST", "/traits", b"{\"name\": \"deep\", \"x\": " + b"[" * 5000 + b"]" * 5000 + b"}", 400, ""),
    ]
    for method, path, raw, code, words in bad:
        st, o = srv.request(method, path, None, A, raw=raw)
        check(st == code and isinstance(o, dict) and words in o.get("error", ""),
              f"{method} {path} ({len(raw or b'')} bytes) -> {code} mentioning {words!r}, got {st} {str(o)[:200]}")
    # the same name twice is a conflict
    st, o = srv.request("POST", "/traits", {"name": "trait 0", "data_source_id": ds}, A)
    check(st == 409 and "already exists" in o["error"], f"duplicate name -> 409: {st} {o}")
    check(snapshot() == before, "nothing changed after the hostile requests")
    # the server is still alive and well
    check(srv.request("GET", "/traits", None, A)[0] == 200, "the server still answers")
finally:
    srv.stop()
    store.cleanup()
finish()
