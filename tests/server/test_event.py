"""/event: account and device resolution, c_/p_/d_ signals, rule-based traits stored durably,
segments, classification (baseline visitors never, zero-trait visitors not), agreement with
`personae classify` and the wasm scorer, re-classification after a retraining, every merge rule."""
import json
import os
import shutil
import subprocess
import time

from pnserver import (BIN, Server, Store, check, finish, new_trait, persona_events, sql, trained_model)

HERE = os.path.dirname(os.path.abspath(__file__))
WASM_CLI = os.path.join(HERE, "..", "..", "wasm", "bin", "personae-wasm.mjs")

store = Store()
srv = Server(store)
try:
    A = store.key
    acct = sql(store, "SELECT id FROM accounts")[0][0]
    st, web = srv.request("POST", "/data-sources", {"name": "web"}, A)
    st, crm = srv.request("POST", "/data-sources", {"name": "crm", "id_type": "cross_device"}, A)
    W, C = web["id"], crm["id"]

    def trait(name, rule=None, ds=W):
        return new_trait(srv, A, name, ds, rule)

    baselines = [trait(f"bought {b}") for b in ("apple", "google", "hp")]
    features = [trait(f"page f{i}", f'c_page == "f{i}"') for i in range(3)]
    rich = trait("rich", "p_income >= 100")
    loan = trait("loan", 'c_url CONTAINS "loan"')
    gold = trait("gold customer", ds=C)  # onboarded under the authenticated id
    silver = trait("silver customer", ds=C)
    st, seg_loan = srv.request("POST", "/segments", {"name": "loan seekers", "rule": f"{loan}T"}, A)
    st, seg_gold = srv.request("POST", "/segments", {"name": "gold", "rule": f"{gold}T"}, A)
    st, seg_silver = srv.request("POST", "/segments", {"name": "silver", "rule": f"{silver}T"}, A)
    st, seg_f1 = srv.request("POST", "/segments", {"name": "f1 readers", "rule": f"{features[1]}T"}, A)
    st, o = srv.request("POST", "/onboard", None, A, raw=persona_events(baselines, features).encode())
    check(st == 200 and o["rejected"] == 0, f"onboarded: {o}")
    m = trained_model(srv, A, W, baselines, features)
    mid = m["id"]
    pred = {p["baseline_id"]: p for p in m["predictive"]}

    def ev(**params):
        params.setdefault("d_account", acct)
        return srv.event(params)

    def model_of(ans):
        return [x for x in ans["models"] if x["model_id"] == mid][0]

    # a new visitor on persona 0's page is classified into persona 0
    st, a, h = ev(d_uuid="new1", c_page="f0")
    check(st == 200 and a["uuid"] == "new1" and a["realized"] == [features[0]], f"event: {st} {a}")
    x = model_of(a)
    check(x["status"] == "classified" and x["persona"] == baselines[0], f"classified into persona 0: {x}")
    check(0 < x["confidence"] <= 1 and x["drivers"] and x["drivers"][0]["trait_id"] == features[0], f"drivers: {x}")
    check(x["predictive_segment_id"] == pred[baselines[0]]["segment_id"] and
          x["predictive_trait_id"] == pred[baselines[0]]["trait_id"], "its predictive trait and segment")
    check(pred[baselines[0]]["segment_id"] in a["segments"], "the predictive segment is among the segments")
    check(sql(store, "SELECT baseline_id, version, source FROM classifications WHERE model_id = ? AND uuid = 'new1'",
              (mid,)) == [(baselines[0], m["version"], "event")], "the classification is stored")
    check("pn_uuid=new1" in h.get("set-cookie", ""), f"the first-party cookie is set when absent: {h}")

    # device id from the cookie, or a new one
    st, a, h = ev(c_page="f1")
    uid = a["uuid"]
    check(st == 200 and len(uid) == 32 and f"pn_uuid={uid}" in h.get("set-cookie", ""), f"new device id: {a} {h}")
    st, a2, h2 = srv.event({"d_account": acct, "c_page": "f1"}, headers={"Cookie": f"pn_uuid={uid}"})
    check(a2["uuid"] == uid and "set-cookie" not in h2, f"the cookie names the device: {a2} {h2}")
    check(seg_f1["id"] in a2["segments"] and model_of(a2)["persona"] == baselines[1], f"its profile: {a2}")
    check(sorted(a2) == ["account", "models", "realized", "segments", "ts", "uuid"],
          f"the answer names what the call realized and what the visitor qualifies for, not the profile: {sorted(a2)}")

    # zero usable traits: not classified
    st, a, _ = ev(d_uuid="nobody", c_page="nothing")
    x = model_of(a)
    check(a["realized"] == [] and x["status"] == "no_usable_traits" and x["persona"] is None, f"zero traits: {x}")
    check(sql(store, "SELECT COUNT(*) FROM classifications WHERE uuid = 'nobody'")[0][0] == 0, "nothing stored for them")

    # a baseline visitor is never classified, whatever their signals
    st, a, _ = ev(d_uuid="v0", c_page="f1")
    x = model_of(a)
    check(x["status"] == "in_baseline" and x["persona"] is None, f"baseline visitor: {x}")
    check(sql(store, "SELECT COUNT(*) FROM classifications WHERE uuid = 'v0'")[0][0] == 0, "never classified")

    # p_ signals are evaluated, never stored; c_ attributes are
    st, a, _ = ev(d_uuid="priv", p_income="250", c_url="https://x/loan/apply", c_lang="fr")
    check(sorted(a["realized"]) == sorted([rich, loan]) and seg_loan["id"] in a["segments"], f"p_ and c_ rules: {a}")
    attrs = dict(sql(store, "SELECT key, value FROM visitor_attributes WHERE uuid = 'priv'"))
    check(attrs == {"c_url": "https://x/loan/apply", "c_lang": "fr"}, f"c_ stored, p_ never: {attrs}")
    check(not sql(store, "SELECT 1 FROM visitor_attributes WHERE value = '250' OR key LIKE 'p_%'"), "no p_ anywhere")
    # an attribute keeps the last value sent, also when the calls reach the store in one batch
    for lang in ("de", "it", "es", "pt"):
        ev(d_uuid="polyglot", c_lang=lang, c_page="f0")
    attrs = sql(store, "SELECT key, value FROM visitor_attributes WHERE uuid = 'polyglot'")
    check(sorted(attrs) == [("c_lang", "pt"), ("c_page", "f0")], f"the last value of each attribute: {attrs}")

    # POST: form-encoded and JSON bodies
    st, _, body = srv.raw("POST", "/event", body=f"d_account={acct}&d_uuid=post1&c_page=f2".encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    a = json.loads(body)
    check(st == 200 and a["realized"] == [features[2]] and model_of(a)["persona"] == baselines[2], f"form POST: {a}")
    st, _, body = srv.raw("POST", "/event", body=json.dumps({"d_account": acct, "d_uuid": "post2", "c_page": "f2",
                                                             "p_income": 120}).encode())
    a = json.loads(body)
    check(st == 200 and sorted(a["realized"]) == sorted([features[2], rich]), f"JSON POST: {a}")

    # bad calls
    for params, code, word in [({"c_page": "f0", "d_account": None}, 400, "d_account"),
                               ({"d_account": 99999}, 404, "account"),
                               ({"d_uuid": "bad id!"}, 400, "d_uuid"),
                               ({"d_cid": "alice"}, 400, "d_cid"),
                               ({"d_cid": f"{W}\x01alice"}, 400, "cross-device"),
                               ({"d_persona": "77777:1"}, 400, "d_persona")]:
        p = {k: v for k, v in {"d_account": acct, **params}.items() if v is not None}
        st, a, _ = srv.event(p)
        check(st == code and word in a.get("error", ""), f"{params}: {st} {a}")
    st, _, _ = srv.raw("PUT", f"/event?d_account={acct}")
    check(st == 405, "PUT /event")

    # durability: every realization acknowledged is stored
    n = sql(store, "SELECT COUNT(*) FROM realizations WHERE uuid IN ('new1', 'priv', 'post1', 'post2', ?)", (uid,))[0][0]
    check(n == 1 + 2 + 1 + 2 + 2, f"acknowledged realizations stored: {n}")

    # agreement with `personae classify` and the wasm scorer on the same visitor and snapshot
    # one call, two pages (a key may repeat; a rule matches when any of its values does)
    st, _, body = srv.raw("POST", "/event", body=f"d_account={acct}&d_uuid=agree&c_page=f1&c_page=f0".encode())
    a = json.loads(body)
    x = model_of(a)
    check(sorted(a["realized"]) == sorted(features[:2]) and x["kept"] is False, f"two realizations: {a}")
    d = store.dir
    rows = sql(store, "SELECT uuid, trait_id, ts FROM realizations WHERE uuid = 'agree'")
    open(os.path.join(d, "agree.tsv"), "w").write("".join(f"{u}\t{t}\t{ts}\n" for u, t, ts in rows))
    version = sql(store, "SELECT version FROM model_state WHERE model_id = ?", (mid,))[0][0]
    snap = sql(store, "SELECT bytes FROM snapshots WHERE model_id = ? AND version = ?", (mid, version))[0][0]
    open(os.path.join(d, "agree.snap"), "wb").write(snap)
    p = subprocess.run([BIN, "classify", "--snapshot", os.path.join(d, "agree.snap"), "--events",
                        os.path.join(d, "agree.tsv"), "--out", os.path.join(d, "native.tsv")], capture_output=True)
    native = open(os.path.join(d, "native.tsv")).read().split("\t")
    check(p.returncode == 0 and native[1] == str(x["persona"]), f"same persona as personae classify: {native} {x}")
    check(native[2] == f"{x['score']:.6f}" and native[3].strip() == f"{x['confidence']:.6f}",
          f"same score and confidence: {native} {x['score']} {x['confidence']}")
    node = shutil.which("node")
    if node and os.path.exists(WASM_CLI):
        p = subprocess.run([node, WASM_CLI, "classify", "--snapshot", os.path.join(d, "agree.snap"), "--events",
                            os.path.join(d, "agree.tsv"), "--out", os.path.join(d, "wasm.tsv")], capture_output=True)
        check(p.returncode == 0 and open(os.path.join(d, "wasm.tsv")).read() == open(os.path.join(d, "native.tsv")).read(),
              f"the wasm scorer agrees: {p.stderr}")
    else:
        print("skip: node or the wasm package is missing")

    # a classified visitor keeps their persona until a retraining, then is re-classified
    st, a, _ = ev(d_uuid="new1", c_page="f1")
    st, a, _ = ev(d_uuid="new1", c_page="f1")
    st, a, _ = ev(d_uuid="new1", c_page="f1")
    x = model_of(a)
    check(x["persona"] == baselines[0] and x["kept"] is True, f"kept until the next training: {x}")
    st, m2 = srv.request("POST", f"/models/{mid}/train?wait=true", None, A)
    check(m2["version"] == m["version"] + 1, "retrained")
    st, a, _ = ev(d_uuid="new1")
    x = model_of(a)
    check(x["version"] == m2["version"] and x["persona"] == baselines[1] and x["kept"] is False,
          f"re-classified with the new snapshot: {x}")
    check(sql(store, "SELECT baseline_id, version FROM classifications WHERE model_id = ? AND uuid = 'new1'", (mid,))
          == [(baselines[1], m2["version"])], "stored with the new version")

    # merge rules: the account default drives 'traits' and 'segments'; a model's own rule its audience
    st, rules = srv.request("GET", "/merge-rules", None, A)
    default = [r for r in rules if r["default"]][0]["id"]
    alice, bob = f"{C}\x01alice", f"{C}\x01bob"
    srv.request("POST", "/onboard", None, A, raw=f"alice\t{gold}\t{int(time.time())}\nbob\t{silver}\t{int(time.time())}\n".encode())
    st, a, _ = ev(d_uuid="phone", d_cid=alice, c_url="loan")  # phone: loan, seen with alice
    st, a, _ = ev(d_uuid="laptop", d_cid=alice)  # laptop: nothing of its own, seen with alice
    st, a, _ = ev(d_uuid="laptop", d_cid=bob)  # and then with bob

    def rule(cross, device):
        st, o = srv.request("PUT", f"/merge-rules/{default}", {"cross_device": cross, "device": device, "default": True}, A)
        assert st == 200, o

    # a merged profile shows in the segments it qualifies for: one a trait
    by_segment = {seg_loan["id"]: loan, seg_gold["id"]: gold, seg_silver["id"]: silver}

    def traits_of(**p):
        st, a, _ = ev(**p)
        assert st == 200, a
        return sorted(by_segment[x] for x in a["segments"] if x in by_segment), a["segments"]

    # the export evaluates rule segments under the same default merge rule, for each device
    st, dst = srv.request("POST", "/destinations", {"name": "merged", "type": "server",
                                                    "segment_ids": [seg_loan["id"], seg_gold["id"]]}, A)
    assert st == 201, dst

    def exported(seg):
        st, ex = srv.request("GET", f"/destinations/{dst['id']}/export", None, A)
        assert st == 200, ex
        return {s["segment_id"]: set(s["visitors"]) for s in ex["segments"]}[seg["id"]] & {"phone", "laptop", "alice", "bob"}

    rule("none", "this_device")
    check(traits_of(d_uuid="laptop")[0] == [], "this device: the laptop has no trait")
    check(traits_of(d_uuid="phone")[0] == [loan], "this device: the phone has its own")
    check(exported(seg_loan) == {"phone"} and exported(seg_gold) == set(),
          f"export, this device: {exported(seg_loan)} {exported(seg_gold)} (authenticated ids are no devices)")
    rule("none", "device_graph")
    t, s = traits_of(d_uuid="laptop")
    check(t == [loan] and seg_loan["id"] in s, f"device graph: the laptop gets the phone's trait and segment: {t} {s}")
    check(exported(seg_loan) == {"phone", "laptop"}, f"export, device graph: {exported(seg_loan)}")
    rule("current_authenticated", "this_device")
    check(traits_of(d_uuid="laptop")[0] == [], "current authenticated: no id in this call, nothing")
    t, s = traits_of(d_uuid="laptop", d_cid=alice)
    check(t == [gold] and seg_gold["id"] in s, f"current authenticated: alice's profile: {t} {s}")
    time.sleep(1.1)
    ev(d_uuid="laptop", d_cid=bob)  # bob is now the laptop's last authenticated id
    rule("last_authenticated", "this_device")
    check(traits_of(d_uuid="laptop")[0] == [silver], "last authenticated: bob was last")
    check(exported(seg_gold) == {"phone"}, f"export, last authenticated: alice for the phone, bob for the laptop: "
                                            f"{exported(seg_gold)}")
    rule("all_cross_device", "this_device")
    check(traits_of(d_uuid="laptop")[0] == sorted([gold, silver]), "all cross-device: alice and bob")
    check(exported(seg_gold) == {"phone", "laptop"}, f"export, all cross-device: {exported(seg_gold)}")
    rule("all_cross_device", "device_graph")
    check(traits_of(d_uuid="laptop")[0] == sorted([gold, silver, loan]), "all cross-device and the device graph")
    rule("current_authenticated", "none")
    check(traits_of(d_uuid="phone", d_cid=alice)[0] == [gold], "no device part: only the authenticated profile")
    check(exported(seg_gold) == {"phone"} and exported(seg_loan) == set(),
          f"export, no device part, the last authenticated id for the current one: {exported(seg_gold)} {exported(seg_loan)}")
    rule("none", "this_device")
    # a model with its own merge rule: a baseline realized on a linked device puts the visitor in it
    st, mr = srv.request("POST", "/merge-rules", {"name": "graph", "device": "device_graph"}, A)
    now = int(time.time())
    srv.request("POST", "/onboard", None, A, raw=f"tablet\t{baselines[2]}\t{now}\n".encode())
    ev(d_uuid="tablet", d_cid=alice)
    st, a, _ = ev(d_uuid="phone", c_page="f0")
    check(model_of(a)["status"] == "classified", f"this device: the phone is classified: {model_of(a)}")
    st, _ = srv.request("PUT", f"/models/{mid}", {"merge_rule_id": mr["id"]}, A)
    st, a, _ = ev(d_uuid="phone", c_page="f0")
    check(model_of(a)["status"] == "in_baseline", f"device graph: the tablet's baseline counts: {model_of(a)}")
    log = open(srv.log.name).read()
    check("GET /event 200" not in log, "successful events are not logged one by one")
finally:
    srv.stop()
    store.cleanup()
finish()
