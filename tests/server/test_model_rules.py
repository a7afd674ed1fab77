"""The rules of DESIGN §1 at model creation and edit, each refused with a clear error."""
from pnserver import Server, Store, check, finish, setup_catalog

store = Store()
srv = Server(store)
try:
    A = store.key
    ds, t = setup_catalog(srv, A, 6, labels=["pii"])
    st, ds2 = srv.request("POST", "/data-sources", {"name": "crm", "dec_labels": ["offsite_advertising"]}, A)
    st, crm = srv.request("POST", "/traits", {"name": "crm trait", "data_source_id": ds2["id"]}, A)
    kinds = {}
    for name, extra in [("algo", {"kind": "algorithmic"}), ("third", {"party": "third"}),
                        ("shared", {"origin": "shared"}), ("pred", {"kind": "predictive"})]:
        st, o = srv.request("POST", "/traits", dict(name=name, data_source_id=ds, **extra), A)
        check(st == 201, f"trait {name} created: {st} {o}")
        kinds[name] = o["id"]
    st, seg1 = srv.request("POST", "/segments", {"name": "seg1", "rule": f"{t[0]}T AND NOT {t[1]}T"}, A)
    st, seg2 = srv.request("POST", "/segments", {"name": "seg2", "rule": f"FREQUENCY([{t[2]}T] <= 7D) >= 2"}, A)
    st, seg_shared = srv.request("POST", "/segments", {"name": "seg3", "rule": f"{t[3]}T", "origin": "shared"}, A)

    def model(**kw):
        b = {"name": "m", "baselines": [t[0], t[1]], "data_source_id": ds}
        b.update(kw)
        return srv.request("POST", "/models", b, A)

    def refused(status, o, code, words, what):
        check(status == code and all(w in o.get("error", "") for w in words), f"{what}: got {status} {o}")

    refused(*model(baselines=[t[0]]), 422, ["baselines", "2 to 50"], "one baseline")
    refused(*model(baselines=[]), 422, ["baselines"], "no baseline")
    refused(*model(baselines=list(range(1, 53))), 422, ["2 to 50"], "52 baselines")
    refused(*model(baselines=[t[0], seg1["id"]]), 422, ["all traits or all segments"], "mixed baselines")
    refused(*model(baselines=[t[0], t[0]]), 422, ["twice"], "duplicate baseline")
    for k in ["algo", "third", "shared", "pred"]:
        refused(*model(baselines=[t[0], kinds[k]]), 422, [str(kinds[k])], f"{k} trait as baseline")
        refused(*model(target=kinds[k]), 422, [str(kinds[k]), "target"], f"{k} trait as target")
    refused(*model(baselines=[seg1["id"], seg_shared["id"]]), 422, [str(seg_shared["id"]), "shared"], "shared segment")
    refused(*model(baselines=[t[0], 987654]), 422, ["987654"], "unknown baseline")
    refused(*model(data_source_id=None), 400, ["data_source_id"], "no data source")
    refused(*model(lookback_days=-1), 400, ["lookback_days"], "negative lookback")
    refused(*model(bogus=1), 400, ["bogus"], "unknown field")

    # segments as baselines, a trait target; the DEC union covers the model's, baselines' and target's sources
    st, m = model(name="segs", baselines=[seg1["id"], seg2["id"]], target=crm["id"])
    check(st == 201, f"a model of segments is created: {st} {m}")
    check(sorted(m["dec_labels"]) == ["offsite_advertising", "pii"], f"DEC union shown: {m.get('dec_labels')}")
    check(m["folder"] == "Predictive Audiences/segs" and len(m["predictive"]) == 2, f"predictive objects: {m}")
    check(m["status"] == "pending" and all(p["status"] == "pending" for p in m["predictive"]), "pending at first")
    st, rules = srv.request("GET", "/merge-rules", None, A)
    default = [r for r in rules if r["default"]][0]
    check(m["merge_rule_id"] == default["id"], "the account's default merge rule is used")
    pt, ps = m["predictive"][0]["trait_id"], m["predictive"][0]["segment_id"]
    st, ptrait = srv.request("GET", f"/traits/{pt}", None, A)
    check(ptrait["kind"] == "predictive" and ptrait["folder"] == "Predictive Audiences/segs", f"predictive trait {ptrait}")
    st, pseg = srv.request("GET", f"/segments/{ps}", None, A)
    check(pseg["predictive"] is True and pseg["name"] == "segs - seg1", f"predictive segment {pseg}")
    refused(*model(name="x", baselines=[t[0], pt]), 422, [str(pt), "predictive"], "predictive trait of a model as baseline")
    refused(*model(name="y", baselines=[seg1["id"], ps]), 422, [str(ps), "predictive"], "predictive segment as baseline")
    refused(*srv.request("DELETE", f"/traits/{pt}", None, A), 409, ["model"], "deleting a model's predictive trait")
    refused(*srv.request("DELETE", f"/segments/{seg1['id']}", None, A), 409, ["model"], "deleting a baseline in use")

    # edit: the same rules; a baseline change replaces its predictive objects
    refused(*srv.request("PUT", f"/models/{m['id']}", {"baselines": [seg1["id"]]}, A), 422, ["2 to 50"], "edit to 1 baseline")
    st, m2 = srv.request("PUT", f"/models/{m['id']}", {"baselines": [seg1["id"], seg2["id"], seg_shared["id"]]}, A)
    check(st == 422, f"edit adding a shared segment refused: {st}")
    st, seg4 = srv.request("POST", "/segments", {"name": "seg4", "rule": f"{t[4]}T"}, A)
    st, m2 = srv.request("PUT", f"/models/{m['id']}", {"baselines": [seg1["id"], seg4["id"]], "name": "segs2"}, A)
    check(st == 200 and [p["baseline_id"] for p in m2["predictive"]] == [seg1["id"], seg4["id"]], f"edit: {st} {m2}")
    check(m2["predictive"][0]["trait_id"] == pt, "a kept baseline keeps its predictive trait")
    check(srv.request("GET", f"/segments/{m['predictive'][1]['segment_id']}", None, A)[0] == 404,
          "a removed baseline's predictive segment is gone")
    st, pseg = srv.request("GET", f"/segments/{ps}", None, A)
    check(pseg["folder"] == "Predictive Audiences/segs2", f"the folder follows the model name: {pseg}")

    # READ permission on every baseline and the target
    st, g = srv.request("POST", "/groups", {"name": "modelers", "permissions": [
        {"object_type": "model", "object_id": "*", "action": "CREATE"},
        {"object_type": "trait", "object_id": t[0], "action": "READ"}]}, A)
    st, u = srv.request("POST", "/users", {"name": "modeler", "group_ids": [g["id"]]}, A)
    k = srv.request("POST", f"/users/{u['id']}/keys", None, A)[1]["key"]
    st, o = srv.request("POST", "/models", {"name": "z", "baselines": [t[0], t[1]], "data_source_id": ds}, k)
    check(st == 403 and f"trait {t[1]}" in o["error"] and "READ" in o["error"], f"403 naming the trait: {st} {o}")

    # MAP_TO_MODELS on the data source that will hold the predictive traits and segments
    reads = [{"object_type": "trait", "object_id": x, "action": "READ"} for x in (t[0], t[1])]
    st, g2 = srv.request("POST", "/groups", {"name": "modelers2", "permissions": [
        {"object_type": "model", "object_id": "*", "action": "CREATE"}] + reads}, A)
    st, u2 = srv.request("POST", "/users", {"name": "modeler2", "group_ids": [g2["id"]]}, A)
    k2 = srv.request("POST", f"/users/{u2['id']}/keys", None, A)[1]["key"]
    st, o = srv.request("POST", "/models", {"name": "y", "baselines": [t[0], t[1]], "data_source_id": ds}, k2)
    check(st == 403 and "MAP_TO_MODELS" in o["error"] and f"data source {ds}" in o["error"],
          f"403 naming the data source without MAP_TO_MODELS: {st} {o}")
    st, _ = srv.request("PUT", f"/groups/{g2['id']}", {"name": "modelers2", "permissions": [
        {"object_type": "model", "object_id": "*", "action": "CREATE"},
        {"object_type": "data_source", "object_id": ds, "action": "MAP_TO_MODELS"}] + reads}, A)
    st, y = srv.request("POST", "/models", {"name": "y", "baselines": [t[0], t[1]], "data_source_id": ds}, k2)
    check(st == 201, f"with MAP_TO_MODELS on the data source the model is created: {st} {y}")
    if st == 201:
        srv.request("DELETE", f"/models/{y['id']}", None, A)

    # at most 10 models
    for i in range(9):
        st, o = model(name=f"m{i}")
        check(st == 201, f"model {i + 2} of 10 created: {st} {o}")
    refused(*model(name="eleventh"), 422, ["at most 10"], "an 11th model")
    refused(*srv.request("POST", f"/models/{m['id']}/clone", None, A), 422, ["at most 10"], "cloning an 11th model")
    st, _ = srv.request("DELETE", f"/models/{m['id']}", None, A)
    check(st == 204, "a model is deleted")
    check(srv.request("GET", f"/traits/{pt}", None, A)[0] == 404, "its predictive trait goes with it")
    st, c = srv.request("POST", f"/models/{srv.request('GET', '/models', None, A)[1][0]['id']}/clone", None, A)
    check(st == 201 and c["name"].endswith("(copy)"), f"clone: {st} {c}")
finally:
    srv.stop()
    store.cleanup()
finish()
