"""Data acknowledged by the API survives kill -9 of the server and a restart."""
import time

from pnserver import Server, Store, check, finish, setup_catalog

store = Store()
srv = Server(store)
try:
    A = store.key
    ds, t = setup_catalog(srv, A, 3)
    acked = []
    for i in range(30):
        st, o = srv.request("POST", "/segments", {"name": f"seg {i}", "rule": f"{t[i % 3]}T"}, A)
        check(st == 201, f"segment {i} acknowledged")
        acked.append(o)
    st, g = srv.request("POST", "/groups", {"name": "g", "permissions": [
        {"object_type": "trait", "object_id": "*", "action": "READ"}]}, A)
    st, u = srv.request("POST", "/users", {"name": "u", "group_ids": [g["id"]]}, A)
    user_key = srv.request("POST", f"/users/{u['id']}/keys", None, A)[1]["key"]
    st, m = srv.request("POST", "/models", {"name": "m", "baselines": t[:2], "data_source_id": ds}, A)
    check(st == 201, "model acknowledged")
    st, upd = srv.request("PUT", f"/segments/{acked[0]['id']}", {"name": "renamed"}, A)
    st, _ = srv.request("DELETE", f"/segments/{acked[1]['id']}", None, A)
    now = int(time.time())
    batch = "".join(f"visitor{i}\t{t[i % 2]}\t{now - i}\nvisitor{i}\t{t[2]}\t{now - i}\n" for i in range(5000))
    st, o = srv.request("POST", "/onboard", None, A, raw=batch.encode())
    check(st == 200 and o["accepted"] == 10000, f"10000 realizations acknowledged: {st} {o}")
    srv.kill9()

    srv = Server(store)
    st, segs = srv.request("GET", "/segments", None, A)
    names = {s["name"] for s in segs}
    check(all(a["name"] in names for a in acked[2:]), "every acknowledged segment survived kill -9")
    check("renamed" in names and "seg 1" not in names and "seg 0" not in names, "the edit and delete survived")
    check(srv.request("GET", "/traits", None, user_key)[0] == 200, "the user's key survived")
    st, m2 = srv.request("GET", f"/models/{m['id']}", None, A)
    check(st == 200 and len(m2["predictive"]) == 2, "the model and its predictive objects survived")
    # the realizations are there: training sees them
    st, o = srv.request("POST", f"/models/{m['id']}/train?wait=true", None, A)
    check(st == 200, f"train after restart: {st}")
    st, rep = srv.request("GET", f"/models/{m['id']}/report", None, A)
    pops = {p["baseline_id"]: p["training_visitors"] for p in rep.get("personas", [])}
    check(pops.get(t[0]) == 2500 and pops.get(t[1]) == 2500, f"all onboarded visitors survived: {pops} {rep.get('error')}")
finally:
    srv.stop()
    store.cleanup()
finish()
