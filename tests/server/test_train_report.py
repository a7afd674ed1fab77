"""Train now, status and progress, the report; the scheduler retrains on a short interval."""
import time

from pnserver import Server, Store, check, finish, persona_events, setup_catalog

store = Store()
srv = Server(store, interval=2)
try:
    A = store.key
    ds, t = setup_catalog(srv, A, 6, labels=["pii"])
    baselines, features = t[:3], t[3:]
    st, m = srv.request("POST", "/models", {"name": "brands", "baselines": baselines, "data_source_id": ds}, A)
    # no data yet: an error a user can act on
    deadline = time.time() + 20
    while time.time() < deadline:
        st, m = srv.request("GET", f"/models/{m['id']}", None, A)
        if m["status"] == "error":
            break
        time.sleep(0.1)
    check(m["status"] == "error" and m["error"] and "support" not in m["error"], f"error with a cause: {m}")
    st, o = srv.request("POST", "/onboard", None, A, raw=persona_events(baselines, features).encode())
    check(st == 200 and o["rejected"] == 0, f"onboarded: {o}")
    st, q = srv.request("POST", f"/models/{m['id']}/train", None, A)
    check(st == 202 and q["training"] is not None, f"train now is queued: {st} {q.get('training')}")
    st, m = srv.request("POST", f"/models/{m['id']}/train?wait=true", None, A)
    check(st == 200 and m["status"] in ("active", "warning") and m["training"] is None, f"trained: {st} {m}")
    check(all(p["status"] == "succeeded" for p in m["predictive"]), f"predictive segments succeeded: {m['predictive']}")
    check(m["last_trained_at"] and m["version"] >= 1, "training time and version")
    if m["status"] == "warning":
        check(m["reasons"] and all(isinstance(r, str) and r for r in m["reasons"]), "warnings name their cause")
    st, rep = srv.request("GET", f"/models/{m['id']}/report", None, A)
    check(st == 200, f"report: {st}")
    check(rep["dec_labels"] == ["pii"] and rep["last_trained_at"] == m["last_trained_at"], "DEC union and time")
    check(rep["quality"]["holdout_visitors"] > 0 and 0 <= rep["quality"]["accuracy"] <= 1, f"quality {rep['quality']}")
    check(rep["quality"]["accuracy"] > 0.5, f"the personas are learnt: accuracy {rep['quality']['accuracy']}")
    check(len(rep["personas"]) == 3, "one entry per persona")
    for i, p in enumerate(rep["personas"]):
        top = p["influential_traits"]
        check(top and top[0]["trait_id"] == features[i] and top[0]["weight"] > 0,
              f"persona {p['baseline_id']}: its own feature raises it most: {top[:2]}")
        check(any(x["weight"] < 0 for x in top), "signed weights: some lower the likelihood")
        check(all(x["population_30d"] > 0 for x in top), "30-day populations")
        check(len(p["daily"]) == 7 and all("in_baseline" in d and "classified" in d for d in p["daily"]), "7 days")
        check(p["daily"][-1]["in_baseline"] > 0, "visitors in the baseline today")
        check(p["predictive_segment_id"] == m["predictive"][i]["segment_id"], "the predictive segment is named")
    total = sum(p["predictive_segment_population"] for p in rep["personas"])
    check(total == 150, f"every target visitor is classified once: {total}")
    check(sum(p["daily"][-1]["classified"] for p in rep["personas"]) == 150, "classified today")

    # the scheduler retrains on its own every 2 seconds
    v = m["version"]
    deadline = time.time() + 30
    while time.time() < deadline:
        st, m = srv.request("GET", f"/models/{m['id']}", None, A)
        if m["version"] > v + 1:
            break
        time.sleep(0.2)
    check(m["version"] > v + 1, f"the scheduler retrained: version {v} -> {m['version']}")
    log = open(srv.log.name).read()
    check("training: training" in log and "%" in log, "training progress is shown on the command line")
    check(store.key not in log, "the admin key is never logged")
finally:
    srv.stop()
    store.cleanup()
finish()
