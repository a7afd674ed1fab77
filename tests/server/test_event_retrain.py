"""After a retraining, /event's cached visitors take the training's classifications before the
new snapshot serves a call: applied in memory from the training's result (server/event.c,
vc_refresh_cls) when nothing else moved, which must agree with what the store says. A visitor
classified by the training is not classified again by their next call (nothing is written), and
the answers equal those of a restarted server, which reads every visitor from the store."""
import re

from pnserver import Server, Store, check, finish, new_trait, persona_events, sql, trained_model

store = Store()
srv = Server(store)
try:
    A = store.key
    acct = sql(store, "SELECT id FROM accounts")[0][0]
    st, web = srv.request("POST", "/data-sources", {"name": "web"}, A)
    W = web["id"]
    baselines = [new_trait(srv, A, f"bought {b}", W) for b in ("apple", "google", "hp")]
    features = [new_trait(srv, A, f"page f{i}", W, f'c_page == "f{i}"') for i in range(3)]
    st, o = srv.request("POST", "/onboard", None, A, raw=persona_events(baselines, features).encode())
    check(st == 200 and o["rejected"] == 0, f"onboarded: {o}")
    m = trained_model(srv, A, W, baselines, features)
    mid = m["id"]
    targets = [f"v{v}" for v in range(600, 750)]  # persona_events' visitors without a baseline

    def answers(server):
        """Each target visitor's model answer (a call without signals: it realizes nothing)."""
        out = {}
        for uuid in targets:
            st, a, _ = server.event({"d_account": acct, "d_uuid": uuid})
            assert st == 200, (st, a)
            x = [x for x in a["models"] if x["model_id"] == mid][0]
            out[uuid] = (x["status"], x.get("persona"), x.get("version"), x.get("kept"))
        return out

    def by_training():
        rows = sql(store, "SELECT uuid, baseline_id, version, source FROM classifications WHERE model_id = ?", (mid,))
        return {u: (b, v, s) for u, b, v, s in rows}

    answers(srv)
    sql(store, "SELECT 1")  # the first events moved into the store: the ingester has seen the onboarded rows
    # (it flushes the cache once when it finds realizations it did not write)
    before = answers(srv)  # every target visitor is now in the cache, at the first version
    classified = {u for u, x in before.items() if x[0] == "classified"}
    check(len(classified) > 100, f"most target visitors are classified: {len(classified)}")
    check(all(x[2] == m["version"] for x in before.values() if x[0] == "classified"), "at the first version")

    log_at = open(store.dir + "/serve.log", "rb").seek(0, 2)
    st, m2 = srv.request("POST", f"/models/{mid}/train?wait=true", None, A)
    check(st == 200 and m2["version"] == m["version"] + 1, f"retrained: {st} {m2}")
    with open(store.dir + "/serve.log", "rb") as f:
        f.seek(log_at)
        lines = [l for l in f.read().decode().splitlines() if f"model {mid} version {m2['version']}:" in l]
    got = [int(n) for n in re.findall(r"brought to it, (\d+) from the training's result", "\n".join(lines))]
    check(got and got[0] >= len(classified), f"the training's result applied to the cached visitors: {lines}")

    stored = by_training()
    after = answers(srv)
    for u in targets:
        if u in stored:
            b, v, source = stored[u]
            check(source == "training" and v == m2["version"], f"{u}: the training's classification: {stored[u]}")
            check(after[u][:3] == ("classified", b, v) and after[u][3] is False,
                  f"{u}: the call takes the training's persona at the new version: {after[u]} {stored[u]}")
        else:
            check(after[u][0] != "classified", f"{u}: not classified by the training, nor by the call: {after[u]}")
    check(by_training() == stored, "the calls wrote nothing: the cache held what the training stored")

    # a restarted server reads every visitor from the store, and answers the same
    srv.stop()
    srv = Server(store)
    check(answers(srv) == after, "a restarted server (nothing cached) gives the same answers")
finally:
    srv.stop()
    store.cleanup()
finish()
