"""Every route x {no key: 401, another account's key: 404 and nothing leaked, a role without the
permission: 403, a role with it: 2xx}."""
import itertools
import time

from pnserver import Server, Store, check, finish, ok, setup_catalog

TYPES = ["data_source", "trait", "segment", "destination", "merge_rule", "group", "user", "model"]
ACTIONS = ["READ", "WRITE", "CREATE", "DELETE", "MAP_TO_MODELS", "MAP_TO_DESTINATION"]
names = (f"obj {i}" for i in itertools.count())

store = Store()
other_key = store.add_account("other")
srv = Server(store)
try:
    A = store.key
    ds, traits = setup_catalog(srv, A, 4)

    def body(coll):
        n = next(names)
        return {
            "data-sources": {"name": n, "id_type": "device"},
            "traits": {"name": n, "data_source_id": ds},
            "segments": {"name": n, "rule": f"{traits[0]}T OR {traits[1]}T"},
            "destinations": {"name": n, "type": "edge", "dec_labels": ["onsite_personalization"]},
            "merge-rules": {"name": n, "cross_device": "none", "device": "this_device"},
            "groups": {"name": n, "permissions": []},
            "users": {"name": n, "group_ids": []},
            "models": {"name": n, "baselines": traits[:2], "data_source_id": ds},
        }[coll]

    def create(coll):
        st, o = srv.request("POST", "/" + coll, body(coll), A)
        assert st == 201, (coll, st, o)
        return o["id"]

    # roles: one group with every permission, one with a permission that allows none of the routes
    everything = [{"object_type": t, "object_id": "*", "action": a} for t in TYPES for a in ACTIONS]
    st, g_all = srv.request("POST", "/groups", {"name": "all", "permissions": everything}, A)
    st, g_none = srv.request("POST", "/groups", {"name": "unrelated", "permissions": [
        {"object_type": "destination", "object_id": 999999, "action": "MAP_TO_DESTINATION"}]}, A)
    st, u_all = srv.request("POST", "/users", {"name": "allowed", "group_ids": [g_all["id"]]}, A)
    st, u_none = srv.request("POST", "/users", {"name": "denied", "group_ids": [g_none["id"]]}, A)
    st, k = srv.request("POST", f"/users/{u_all['id']}/keys", None, A)
    check(st == 201 and k["key"].startswith("pk_"), f"a new user key is answered once: {st} {k}")
    allowed = k["key"]
    denied = srv.request("POST", f"/users/{u_none['id']}/keys", None, A)[1]["key"]

    colls = ["data-sources", "traits", "segments", "destinations", "merge-rules", "groups", "users", "models"]
    # (method, path factory, body factory, expected status for the allowed role)
    routes = []
    for c in colls:
        routes.append(("GET", lambda c=c: "/" + c, lambda c=c: None, 200))
        routes.append(("POST", lambda c=c: "/" + c, lambda c=c: body(c), 201))
        routes.append(("GET", lambda c=c: f"/{c}/{create(c)}", lambda c=c: None, 200))
        routes.append(("PUT", lambda c=c: f"/{c}/{create(c)}", lambda c=c: {"name": next(names)}, 200))
        routes.append(("DELETE", lambda c=c: f"/{c}/{create(c)}", lambda c=c: None, 204))
    routes.append(("POST", lambda: f"/users/{create('users')}/keys", lambda: None, 201))
    model = create("models")
    routes.append(("POST", lambda: f"/models/{model}/clone", lambda: {"name": next(names)}, 201))
    routes.append(("POST", lambda: f"/models/{model}/train", lambda: None, 202))
    routes.append(("GET", lambda: f"/models/{model}/report", lambda: None, 200))
    routes.append(("POST", lambda: "/onboard", lambda: f"u1\t{traits[2]}\t{int(time.time())}\n", 200))

    checks = 0
    for method, path_f, body_f, expect in routes:
        # models are limited to 10 an account: free room before each model route
        st, models = srv.request("GET", "/models", None, A)
        for m in models[1:] if len(models) > 5 else []:
            if m["id"] != model:
                srv.request("DELETE", f"/models/{m['id']}", None, A)

        def send(key):
            path, b = path_f(), body_f()
            if isinstance(b, str):
                return path, srv.request(method, path, None, key, raw=b.encode())
            return path, srv.request(method, path, b, key)

        path, (st, o) = send(None)
        check(st == 401 and "error" in o, f"{method} {path} without key -> 401, got {st} {o}")
        path, (st, o) = send(denied)
        check(st == 403 and "error" in o, f"{method} {path} with a role lacking the permission -> 403, got {st} {o}")
        path, (st, o) = send(allowed)
        check(st == expect, f"{method} {path} with an allowed role -> {expect}, got {st} {o}")
        # another account
        path, b = path_f(), body_f()
        before = srv.request("GET", path, None, A) if method != "POST" and path.count("/") == 2 else None
        st, o = srv.request(method, path, None if isinstance(b, str) else b, other_key,
                            raw=b.encode() if isinstance(b, str) else None)
        item = path.count("/") >= 2
        text = str(o)
        if item:
            check(st == 404 and "error" in o, f"{method} {path} with another account's key -> 404, got {st} {o}")
            check("obj " not in text, f"{method} {path} with another account's key leaks no name: {o}")
            if before:
                after = srv.request("GET", path, None, A)
                same = after[0] == before[0] == 200 and all(
                    after[1].get(f) == before[1].get(f) for f in before[1] if f not in ("status", "reasons", "error",
                                                                                       "training", "last_trained_at",
                                                                                       "version", "predictive"))
                check(same, f"{method} {path} by another account changed nothing")
        elif method == "GET":
            mine = {x["id"] for x in srv.request("GET", path, None, A)[1]}
            check(st == 200 and not ({x["id"] for x in o} & mine),
                  f"GET {path} with another account's key shows none of this account's objects")
        elif path == "/onboard":
            check(st == 200 and o["accepted"] == 0 and o["rejected"] == 1,
                  f"onboarding another account's trait is rejected: {st} {o}")
        else:
            # a create that refers to this account's objects fails there; one that does not succeeds
            refers = path in ("/traits", "/segments", "/models")
            check((st == 422) if refers else (st == 201),
                  f"POST {path} with another account's key -> {'422' if refers else '201'}, got {st} {o}")
        checks += 4

    # a key of a deleted user stops working
    st, _ = srv.request("DELETE", f"/users/{u_none['id']}", None, A)
    st, o = srv.request("GET", "/traits", None, denied)
    check(st == 401, f"a deleted user's key is refused with 401, got {st}")
    # a bad key, a malformed header
    check(srv.request("GET", "/traits", None, "pk_" + "0" * 64)[0] == 401, "an unknown key -> 401")
    check(srv.request("GET", "/traits", None, None, headers={"Authorization": "Basic xyz"})[0] == 401,
          "a non-bearer header -> 401")
    print(f"{len(routes)} routes, {checks} route checks")
finally:
    srv.stop()
    store.cleanup()
finish()
