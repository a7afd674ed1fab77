"""Data acknowledged by the API survives kill -9 of the server and a restart; so do events
acknowledged by /event, including those the server had not moved from its event log into the
store's tables yet; a torn record at the log's end (a crash during its write) is ignored, and so
is the stage of a training the crash cut short."""
import concurrent.futures
import glob
import os
import re
import shutil
import sqlite3
import struct
import time

from pnserver import Server, Store, check, finish, log_chain, logged_seq, setup_catalog, sql

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
    # as if the crash had cut a training short (and the model were not due again soon)
    db = sqlite3.connect(store.db)
    with db:
        db.execute("UPDATE model_state SET stage = 'reading', progress = 0.3, train_requested = 0, next_due = ? "
                   "WHERE model_id = ?", (now + 86400, m["id"]))
    db.close()

    srv = Server(store)
    st, m2 = srv.request("GET", f"/models/{m['id']}", None, A)
    check(st == 200 and m2["training"] is None, f"no training shown running after the restart: {m2.get('training')}")
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

    # /event: every acknowledged event survives kill -9, whether or not it was in the tables yet
    acct = sql(store, "SELECT id FROM accounts")[0][0]
    st, page = srv.request("POST", "/traits", {"name": "page", "data_source_id": ds, "kind": "rule",
                                               "rule": 'c_page == "home"'}, A)
    check(st == 201, "a rule-based trait")
    before = sql(store, "SELECT COUNT(*) FROM realizations WHERE trait_id = ?", (page["id"],))[0][0]

    def one(i):
        st, o, _ = srv.event({"d_account": acct, "d_uuid": f"ev{i % 37}", "c_page": "home", "c_n": str(i)})
        return st == 200 and o["realized"] == [page["id"]]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answered = sum(pool.map(one, range(800)))
    check(answered == 800, f"800 events acknowledged: {answered}")
    srv.kill9()  # at once: the ingester moves events every half second, some are only in the log
    logged = logged_seq(store)
    db = sqlite3.connect(store.db)
    applied = db.execute("SELECT applied FROM event_ingest").fetchone()[0]
    db.close()
    # (usually some are; if the ingester happened to take them all, recovery has less to do and
    # the checks below hold all the same)
    print(f"at kill -9: {logged} events logged, {applied} of them in the store's tables", flush=True)

    # a crash in the middle of writing the next record: a header and half a body after the last one
    ends = {p: log_chain(p) for p in glob.glob(store.db + "-eventlog/segment-*.log")}
    path = max(ends, key=lambda p: ends[p][0])
    with open(path, "r+b") as f:
        f.seek(ends[path][1])
        f.write(struct.pack("<IIQQ", 0x50454E56, 200, logged + 1, 12345) + b'{"r":[' + b"7" * 40)
    srv = Server(store)
    n = sql(store, "SELECT COUNT(*) FROM realizations WHERE trait_id = ?", (page["id"],))[0][0] - before
    check(n == 800, f"every acknowledged event stored after kill -9 and a restart: {n} of 800 (log at {logged})")
    attrs = sql(store, "SELECT COUNT(*) FROM visitor_attributes WHERE key = 'c_n'")[0][0]
    check(attrs == 37, f"their attributes too, last value per visitor: {attrs}")
    # ev0 made 22 of the 800 calls (i % 37 == 0): with this one it has 23 realizations of the page
    st, all_of_them = srv.request("POST", "/segments", {"name": "23 pages",
                                                        "rule": f"FREQUENCY([{page['id']}T] <= 7D) >= 23"}, A)
    st, one_more = srv.request("POST", "/segments", {"name": "24 pages",
                                                     "rule": f"FREQUENCY([{page['id']}T] <= 7D) >= 24"}, A)
    st, o, _ = srv.event({"d_account": acct, "d_uuid": "ev0", "c_page": "home"})
    check(st == 200 and all_of_them["id"] in o["segments"] and one_more["id"] not in o["segments"],
          f"/event reads them: {st} {o}")
    # the torn record is gone: numbering goes on after the last good one, and a restart finds all
    for i in range(20):
        srv.event({"d_account": acct, "d_uuid": f"after{i}", "c_page": "home"})
    srv.stop()
    check(logged_seq(store) == logged + 21, f"the log goes on after its last good record: {logged_seq(store)}")
    # the server's own account of those 21 calls and their commits, logged when it stops (what
    # tests/bench/bench_event.sh prints beside wrk's figures)
    lines = open(os.path.join(store.dir, "serve.log"), encoding="utf-8").read().splitlines()
    calls = [ln for ln in lines if "calls answered after their commit" in ln]
    check(calls and re.fullmatch(r"personae serve: /event: 21 calls answered after their commit; inside the "
                                 r"server: evaluation p50 .*; waiting for the event log p50 .*; sending the "
                                 r"answer p50 .*; in all p50 .*, max [\d.]+ (µs|ms|s)", calls[-1]),
          f"the server logs where 21 calls spent their time: {calls[-1:]}")
    made = [re.search(r"the event log made (\d+) commits of (\d+) calls", ln) for ln in lines]
    made = [m for m in made if m]
    check(made and 1 <= int(made[-1].group(1)) <= 21, f"and the event log its commits: {made[-1:]}")
    srv = Server(store)
    n = sql(store, "SELECT COUNT(*) FROM realizations WHERE trait_id = ?", (page["id"],))[0][0] - before
    check(n == 821, f"and nothing is stored twice: {n} of 821")

    # a store moved without its event log: a new log starts, numbered from 1, and is taken in full
    srv.stop()
    shutil.rmtree(store.db + "-eventlog")
    srv = Server(store)
    for i in range(5):
        st, o, _ = srv.event({"d_account": acct, "d_uuid": f"fresh{i}", "c_page": "home"})
        check(st == 200, f"an event into the new log: {st}")
    n = sql(store, "SELECT COUNT(*) FROM realizations WHERE trait_id = ?", (page["id"],))[0][0] - before
    check(n == 826, f"a new event log beside the store: its events are stored too: {n} of 826")
finally:
    srv.stop()
    store.cleanup()
finish()
