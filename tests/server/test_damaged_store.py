"""A store damaged on disk (a page overwritten, as a failing disk or a bad restore leaves it) fails
closed: reads that stop at the damage are errors, never taken for the end of the data.
- An export whose segments' DEC labels cannot be read answers 500 and exports nothing: read as
  "no labels", a segment that carries a label the destination forbids would be sent to it.
- A training that cannot read the realizations whole fails with the reason: a model trained on
  part of the audience would look like any other.
The server is stopped, a page of one table overwritten, the server started again."""
import os
import sqlite3

from pnserver import Server, Store, check, finish, new_trait, persona_events, trained_model


def damage(store, table, which="middle"):
    """Overwrites a leaf page of `table` (the store closed) with bytes no page has."""
    c = sqlite3.connect(store.db)
    size = c.execute("PRAGMA page_size").fetchone()[0]
    pages = [p for (p,) in c.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
                                     (table,))]
    c.close()
    check(pages and (not os.path.exists(store.db + "-wal") or os.path.getsize(store.db + "-wal") == 0),
          f"{table} has leaf pages and the store is checkpointed: {pages}")
    page = pages[len(pages) // 2] if which == "middle" else pages[0]
    with open(store.db, "r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xa5" * size)
    return page


store = Store()
srv = Server(store)
try:
    A = store.key
    st, web = srv.request("POST", "/data-sources", {"name": "web"}, A)
    st, crm = srv.request("POST", "/data-sources", {"name": "crm", "dec_labels": ["offsite_advertising"]}, A)

    baselines = [new_trait(srv, A, f"b{i}", web["id"]) for i in range(3)]
    features = [new_trait(srv, A, f"f{i}", web["id"], f'c_page == "f{i}"') for i in range(3)]
    vip = new_trait(srv, A, "vip", crm["id"])
    # the segment's own data source has no label: it carries crm's through the trait it names
    st, s_crm = srv.request("POST", "/segments", {"name": "vips", "data_source_id": web["id"],
                                                   "rule": f"{vip}T OR {features[0]}T"}, A)
    check(st == 201, f"segment: {st} {s_crm}")
    srv.request("POST", "/onboard", None, A, raw=persona_events(baselines, features, visitors=3000, targets=600).encode())
    m = trained_model(srv, A, web["id"], baselines, features)
    st, ads = srv.request("POST", "/destinations", {"name": "ads", "type": "server", "dec_labels": ["offsite_advertising"],
                                                    "segment_ids": [s_crm["id"]]}, A)
    st, ex = srv.request("GET", f"/destinations/{ads['id']}/export", None, A)
    check(st == 200 and not ex["segments"] and [e["segment_id"] for e in ex["excluded"]] == [s_crm["id"]],
          f"intact: the segment is excluded for its label: {st} {ex}")
finally:
    srv.stop()

# the references (which traits a segment names) damaged: the segment's labels cannot be read
damage(store, "refs", which="first")
srv = Server(store)
try:
    st, ex = srv.request("GET", f"/destinations/{ads['id']}/export", None, A)
    check(st == 500 and "nothing is exported" in ex.get("error", "") and "segments" not in ex,
          f"labels unreadable: nothing exported: {st} {ex.get('error') or [(x['segment_id'], x['population']) for x in ex['segments']]}")
    st, ex = srv.request("GET", f"/destinations/{ads['id']}/export?segment_id={s_crm['id']}", None, A)
    check(st == 500, f"nor one segment: {st} {ex.get('error')}")
finally:
    srv.stop()

# a fresh store: the realizations damaged in the middle, then a training
store.cleanup()
store = Store()
srv = Server(store)
try:
    A = store.key
    st, web = srv.request("POST", "/data-sources", {"name": "web"}, A)
    baselines = [new_trait(srv, A, f"b{i}", web["id"]) for i in range(3)]
    features = [new_trait(srv, A, f"f{i}", web["id"]) for i in range(3)]
    srv.request("POST", "/onboard", None, A, raw=persona_events(baselines, features, visitors=3000, targets=600).encode())
    m = trained_model(srv, A, web["id"], baselines, features)
    version = m["version"]
finally:
    srv.stop()
page = damage(store, "realizations")
srv = Server(store)
try:
    st, t = srv.request("POST", f"/models/{m['id']}/train?wait=true", None, A)
    text = str(t)
    check(st != 200 or t.get("status") == "error" or t.get("version") == version,
          f"the training does not make a model from part of the audience: {st} version {t.get('version')}")
    check("could not be read whole" in text or "malformed" in text, f"and it says why: {text[:300]}")
    st, got = srv.request("GET", f"/models/{m['id']}", None, A)
    check(st == 200 and got["version"] == version, f"the model keeps its last good version: {got.get('version')}, {version}")
finally:
    srv.stop()
store.cleanup()
finish()
