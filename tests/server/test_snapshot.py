"""Edge distribution: GET /api/v1/models/{id}/snapshot (ETag, 304, READ, DEC conflicts, k-anonymity)
and snapshot tokens (HMAC-signed, bound to one model and destination, short-lived)."""
import os
import subprocess
import time

from pnserver import (BIN, Server, Store, check, finish, persona_events, setup_catalog, sql,
                      trained_model)

store = Store()
srv = Server(store, extra=["--token-ttl", "3"])
try:
    A = store.key
    ds, t = setup_catalog(srv, A, 7, labels=["pii"])
    baselines, features, rare = t[:3], t[3:6], t[6]
    now = int(time.time())
    data = persona_events(baselines, features)
    # a trait of 10 persona-0 visitors only: below k = 20, so no edge snapshot may carry it
    data += "".join(f"v{v}\t{rare}\t{now - 60}\n" for v in range(0, 30, 3))
    st, o = srv.request("POST", "/onboard", None, A, raw=data.encode())
    check(st == 200 and o["rejected"] == 0, f"onboarded: {o}")
    m = trained_model(srv, A, ds, baselines, features)
    mid = m["id"]
    # a model without a snapshot: the scheduler trains every new model at once, so its baselines
    # are traits nobody has (its training fails and leaves none, whenever it runs)
    empty = [srv.request("POST", "/traits", {"name": f"nobody {i}", "data_source_id": ds}, A)[1]["id"] for i in range(2)]
    st, m2 = srv.request("POST", "/models", {"name": "other", "baselines": empty, "data_source_id": ds}, A)
    check(st == 201, f"a model on traits nobody has: {st} {m2}")
    st, edge = srv.request("POST", "/destinations", {"name": "site", "type": "edge",
                                                     "dec_labels": ["onsite_personalization"]}, A)
    st, bad = srv.request("POST", "/destinations", {"name": "crm export", "type": "export", "dec_labels": ["pii"]}, A)

    def snap(model, dest, key=A, headers=None):
        h = {"Authorization": "Bearer " + key} if key else {}
        h.update(headers or {})
        q = f"?destination={dest}" if dest is not None else ""
        return srv.raw("GET", f"/api/v1/models/{model}/snapshot{q}", headers=h)

    st, h, body = snap(mid, edge["id"])
    check(st == 200 and h.get("content-type") == "application/octet-stream" and len(body) > 100,
          f"snapshot served: {st} {h}")
    etag = h.get("etag", "")
    check(etag.startswith('"') and f"m{mid}-v{m['version']}" in etag, f"ETag names model and version: {etag}")
    st, h2, body2 = snap(mid, edge["id"], headers={"If-None-Match": etag})
    check(st == 304 and body2 == b"" and h2.get("etag") == etag, f"304 on If-None-Match: {st}")
    st, _, body3 = snap(mid, edge["id"], headers={"If-None-Match": '"other"'})
    check(st == 200 and body3 == body, "a stale ETag gets the bytes again")
    st, _, e = snap(mid, None)
    check(st == 400 and b"destination" in e, f"no destination: {st} {e}")
    st, _, e = snap(mid, bad["id"])
    check(st == 403 and b"pii" in e and str(bad["id"]).encode() in e, f"DEC conflict refused with the reason: {st} {e}")
    st, _, e = snap(mid, 999999)
    check(st == 404, f"unknown destination: {st}")
    st, _, e = snap(m2["id"], edge["id"])
    check(st == 409 and b"train" in e, f"untrained model: {st} {e}")
    st, _, e = snap(mid, edge["id"], key=None)
    check(st == 401, "no key, no snapshot")

    # READ on the model is required
    st, g = srv.request("POST", "/groups", {"name": "readers", "permissions": [
        {"object_type": "model", "object_id": m2["id"], "action": "READ"}]}, A)
    st, u = srv.request("POST", "/users", {"name": "u", "group_ids": [g["id"]]}, A)
    k = srv.request("POST", f"/users/{u['id']}/keys", None, A)[1]["key"]
    st, _, e = snap(mid, edge["id"], key=k)
    check(st == 403 and b"READ" in e, f"no READ on the model: {st} {e}")
    st, o = srv.request("POST", f"/models/{mid}/snapshot-token?destination={edge['id']}", None, k)
    check(st == 403, f"no READ, no token: {st}")

    # k-anonymity: the rare trait drives the stored snapshot, never the public one
    d = store.dir
    internal = sql(store, "SELECT bytes FROM snapshots WHERE model_id = ? AND version = ?", (mid, m["version"]))[0][0]
    open(os.path.join(d, "internal.snap"), "wb").write(internal)
    open(os.path.join(d, "public.snap"), "wb").write(body)
    open(os.path.join(d, "probe.tsv"), "w").write(f"probe\t{rare}\t{now}\n")
    out = {}
    for name in ["internal", "public"]:
        p = subprocess.run([BIN, "classify", "--snapshot", os.path.join(d, name + ".snap"), "--events",
                            os.path.join(d, "probe.tsv"), "--out", os.path.join(d, name + ".tsv")],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"classify with the {name} snapshot: {p.stderr}")
        out[name] = open(os.path.join(d, name + ".tsv")).read().split("\t")
    check(out["internal"][1] == str(baselines[0]), f"the stored snapshot knows the rare trait: {out['internal']}")
    check(out["public"][1] == "-", f"the public snapshot does not (k = 20): {out['public']}")
    check(b"v0" not in body and b"v3\x00" not in body, "no visitor id in the file")

    # tokens
    st, tok = srv.request("POST", f"/models/{mid}/snapshot-token?destination={edge['id']}", None, A)
    check(st == 201 and tok["url"] == "/snapshot/" + tok["token"] and tok["expires_at"] > now, f"token: {st} {tok}")
    st, h, tb = srv.raw("GET", tok["url"])
    check(st == 200 and tb == body and h.get("etag") == etag, f"the token serves the same snapshot without a key: {st}")
    st, _, _ = srv.raw("GET", tok["url"], headers={"If-None-Match": etag})
    check(st == 304, f"304 through the token too: {st}")
    st, o = srv.request("POST", f"/models/{mid}/snapshot-token?destination={bad['id']}", None, A)
    check(st == 403 and "pii" in o["error"], f"no token for a conflicting destination: {st} {o}")
    acc, user, model, dest, exp, mac = tok["token"].split(".")
    forged = [
        f"{acc}.{user}.{model}.{dest}.{exp}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}",  # one bit of the mac
        f"{acc}.{user}.{m2['id']}.{dest}.{exp}.{mac}",  # another model
        f"{acc}.{user}.{model}.{bad['id']}.{exp}.{mac}",  # another destination
        f"{acc}.{user}.{model}.{dest}.{int(exp) + 3600}.{mac}",  # a later expiry
        f"{acc}.{u['id']}.{model}.{dest}.{exp}.{mac}",  # another user
        "garbage", f"{acc}.{user}.{model}.{dest}.{exp}",
    ]
    for f in forged:
        st, _, e = srv.raw("GET", "/snapshot/" + f)
        check(st == 403 and b"not valid" in e, f"forged token {f[:40]}: {st} {e}")
    st, tok2 = srv.request("POST", f"/models/{m2['id']}/snapshot-token?destination={edge['id']}", None, A)
    check(st == 409, f"no token for an untrained model: {st}")
    check(tok["token"] not in open(srv.log.name).read(), "tokens are not logged")
    # a token is the READ of the user who asked for it: when the user loses it, so does the token
    st, g2 = srv.request("POST", "/groups", {"name": "model readers", "permissions": [
        {"object_type": "model", "object_id": mid, "action": "READ"}]}, A)
    st, u2 = srv.request("POST", "/users", {"name": "u2", "group_ids": [g2["id"]]}, A)
    k2 = srv.request("POST", f"/users/{u2['id']}/keys", None, A)[1]["key"]
    st, utok = srv.request("POST", f"/models/{mid}/snapshot-token?destination={edge['id']}", None, k2)
    check(st == 201, f"a reader gets a token: {st} {utok}")
    st, _, _ = srv.raw("GET", utok["url"])
    check(st == 200, f"which opens the snapshot: {st}")
    st, _ = srv.request("PUT", f"/groups/{g2['id']}", {"permissions": []}, A)
    st, _, e = srv.raw("GET", utok["url"])
    check(st == 403 and b"READ" in e, f"READ taken away: the token no longer opens it: {st} {e}")
    # the destination's labels change: the token no longer opens anything
    st, _ = srv.request("PUT", f"/destinations/{edge['id']}", {"dec_labels": ["pii"]}, A)
    st, _, e = srv.raw("GET", tok["url"])
    check(st == 403 and b"pii" in e, f"checks are made again when the token is used: {st} {e}")
    st, _ = srv.request("PUT", f"/destinations/{edge['id']}", {"dec_labels": []}, A)
    st, _, _ = srv.raw("GET", tok["url"])
    check(st == 200, "and again when they allow it")
    time.sleep(4.2)
    st, _, e = srv.raw("GET", tok["url"])
    check(st == 403 and b"expired" in e, f"expired token: {st} {e}")
    st, _, e = srv.raw("POST", tok["url"])
    check(st == 405, "GET only")
    # the key survives a restart: a fresh token still works after one
    st, tok3 = srv.request("POST", f"/models/{mid}/snapshot-token?destination={edge['id']}", None, A)
    srv.stop()
    srv = Server(store)
    st, _, _ = srv.raw("GET", tok3["url"])
    check(st == 200, f"a token outlives a restart: {st}")
finally:
    srv.stop()
    store.cleanup()
finish()
