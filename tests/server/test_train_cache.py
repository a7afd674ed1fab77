"""Trainings read only the realizations added since the last training of the account (the rest
is kept by the scheduler, server/train_job.c), and train exactly what a full read trains: new
onboarded rows, rows that came through /event (also those the ingester has not moved into the
store yet when the training is asked for), another account's training in between, and a
restarted server (nothing kept) all give the same reports."""
import re

from pnserver import Server, Store, check, finish, new_trait, persona_events, setup_catalog, sql


def report(srv, key, model):
    st, rep = srv.request("GET", f"/models/{model}/report", None, key)
    assert st == 200, (st, rep)
    # what the training computed, without the times and versions that differ between trainings
    return {"quality": rep["quality"],
            "personas": [(p["baseline_id"], p["influential_traits"], p["predictive_segment_population"])
                         for p in rep["personas"]]}


def train(srv, key, model):
    st, m = srv.request("POST", f"/models/{model}/train?wait=true", None, key)
    assert st == 200 and m["status"] in ("active", "warning"), (st, m)


def reads(log, model):
    """(read, kept) of each training of `model` the server logged, in order. A new model is due at
    once, so the scheduler may start it before the test's train-now, which then trains it again
    on the same rows: such a repeat (nothing new read) is left out."""
    got = [(int(a), int(b)) for m, a, b in
           re.findall(r"model (\d+): trained version \d+, \d+ target visitors classified; (\d+) realizations read, "
                      r"(\d+) kept", log) if int(m) == model]
    return [r for i, r in enumerate(got) if i == 0 or r[0] > 0]


store = Store()
other_key = store.add_account("other")
srv = Server(store)
try:
    A = store.key
    ds, t = setup_catalog(srv, A, 6)
    baselines, features = t[:3], t[3:]
    page_x = new_trait(srv, A, "page x", ds, rule='c_page == "x"')
    account = sql(store, "SELECT MIN(id) FROM accounts")[0][0]
    first = persona_events(baselines, features, visitors=300, targets=80, seed=1)
    st, o = srv.request("POST", "/onboard", None, A, raw=first.encode())
    check(st == 200 and o["rejected"] == 0, f"onboarded: {o}")
    n_first = first.count("\n")
    st, m = srv.request("POST", "/models", {"name": "brands", "baselines": baselines, "data_source_id": ds}, A)
    model = m["id"]
    train(srv, A, model)
    before = report(srv, A, model)

    # more visitors onboarded, and a few through /event (stored by the ingester)
    second = persona_events(baselines, features, visitors=300, targets=80, seed=2).replace("v", "w")
    st, o = srv.request("POST", "/onboard", None, A, raw=second.encode())
    check(st == 200 and o["rejected"] == 0, f"onboarded again: {o}")
    for i in range(5):
        st, body, _ = srv.event({"d_account": account, "d_uuid": f"e{i}", "c_page": "x"})
        check(st == 200 and page_x in body["realized"], f"/event: {st} {body}")
    n_second = second.count("\n")
    # another account's training in between: the scheduler keeps one account's realizations
    ods, ot = setup_catalog(srv, other_key, 4)
    st, o = srv.request("POST", "/onboard", None, other_key,
                        raw=persona_events(ot[:2], ot[2:], visitors=40, targets=10, seed=3).encode())
    st, om = srv.request("POST", "/models", {"name": "o", "baselines": ot[:2], "data_source_id": ods}, other_key)
    train(srv, other_key, om["id"])
    train(srv, A, model)
    after_switch = report(srv, A, model)
    # the same account again, with one more onboarded batch: only that batch is read
    third = persona_events(baselines, features, visitors=60, targets=20, seed=4).replace("v", "x")
    st, o = srv.request("POST", "/onboard", None, A, raw=third.encode())
    train(srv, A, model)
    # /event calls just before a training: the first is moved into the store at once (the
    # ingester was idle), the second waits for the ingester's next batch, half a second later,
    # and so does the training (it starts no batch of its own): it reads both
    for i in (10, 11):
        st, body, _ = srv.event({"d_account": account, "d_uuid": f"e{i}", "c_page": "x"})
        check(st == 200 and page_x in body["realized"], f"/event: {st} {body}")
    train(srv, A, model)
    cached = report(srv, A, model)
    log = open(srv.log.name).read()
finally:
    srv.stop()

r = reads(log, model)
check(len(r) == 4, f"four trainings of the model logged: {r}")
if len(r) == 4:
    check(r[0] == (n_first, 0), f"the first training reads everything: {r[0]} for {n_first} rows")
    check(r[1][1] == 0 and r[1][0] >= n_first + n_second + 5,
          f"after another account's training, a full read (the /event calls' rows too): {r[1]}")
    check(r[2] == (third.count("\n"), r[1][0]), f"then only the new rows are read, the rest kept: {r[2]}")
    check(r[3] == (2, r[2][0] + r[2][1]), f"a training reads the /event calls acknowledged before it: {r[3]}")
check(reads(log, om["id"]), "the other account's model was trained in between")
check(after_switch != before, "the new realizations changed what was trained")

# a server started afresh keeps nothing: its full read trains exactly the same model
srv = Server(store)
try:
    train(srv, A, model)
    fresh = report(srv, A, model)
    log = open(srv.log.name).read()
finally:
    srv.stop()
check(reads(log, model)[-1][1] == 0, f"a new server reads everything: {reads(log, model)[-1:]}")
check(fresh == cached, "the training from kept and new realizations equals the one from a full read")
store.cleanup()
finish()
