"""Batch onboarding through the API and the command line: good lines stored, bad lines listed
with their number and reason."""
import json
import os
import subprocess
import time

from pnserver import BIN, Server, Store, check, finish, setup_catalog

store = Store()
srv = Server(store)
try:
    A = store.key
    ds, t = setup_catalog(srv, A, 2)
    now = int(time.time())
    lines = [
        f"a\t{t[0]}\t{now}",                       # 1 good
        "not a realization",                       # 2 bad: fields
        f"b\t{t[1]}\tyesterday",                   # 3 bad: timestamp
        "",                                        # 4 blank: skipped
        json.dumps({"uuid": "c", "trait": t[0], "ts": now}),  # 5 good (JSON Lines)
        f"d\t999999\t{now}",                        # 6 bad: unknown trait
        '{"uuid": "e", "trait": ',                 # 7 bad JSON
        f"f\t{t[1]}\t{now}\r",                     # 8 good, CRLF
    ]
    st, o = srv.request("POST", "/onboard", None, A, raw="\n".join(lines).encode())
    check(st == 200 and o["accepted"] == 3 and o["rejected"] == 4, f"counts: {st} {o}")
    check([e["line"] for e in o["errors"]] == [2, 3, 6, 7], f"bad line numbers: {o['errors']}")
    check(all(e["error"] for e in o["errors"]), "each bad line has a reason")
    check("999999" in o["errors"][2]["error"], "the unknown trait is named")

    # predictive traits cannot be onboarded; a user without WRITE on a trait gets its lines refused
    st, m = srv.request("POST", "/models", {"name": "m", "baselines": t, "data_source_id": ds}, A)
    pt = m["predictive"][0]["trait_id"]
    st, o = srv.request("POST", "/onboard", None, A, raw=f"x\t{pt}\t{now}\n".encode())
    check(o["rejected"] == 1 and "predictive" in o["errors"][0]["error"], f"predictive trait refused: {o}")
    st, g = srv.request("POST", "/groups", {"name": "g", "permissions": [
        {"object_type": "trait", "object_id": t[0], "action": "WRITE"}]}, A)
    st, u = srv.request("POST", "/users", {"name": "u", "group_ids": [g["id"]]}, A)
    k = srv.request("POST", f"/users/{u['id']}/keys", None, A)[1]["key"]
    st, o = srv.request("POST", "/onboard", None, k, raw=f"x\t{t[0]}\t{now}\nx\t{t[1]}\t{now}\n".encode())
    check(st == 200 and o["accepted"] == 1 and o["rejected"] == 1 and "WRITE" in o["errors"][0]["error"],
          f"per-trait WRITE permission: {st} {o}")
    srv.stop()

    # the command line, on the same store
    path = os.path.join(store.dir, "events.tsv")
    with open(path, "w") as f:
        f.write(f"g\t{t[0]}\t{now}\nbroken line\ng\t{t[1]}\t{now}\n")
    p = subprocess.run([BIN, "onboard", "--db", store.db, path], capture_output=True, text=True, timeout=30)
    check(p.returncode == 1 and "accepted 2, rejected 1" in p.stdout, f"CLI counts: {p.returncode} {p.stdout}")
    check(f"{path}:2:" in p.stderr, f"CLI names the bad line: {p.stderr}")
    with open(path, "w") as f:
        f.write(f"h\t{t[0]}\t{now}\n")
    p = subprocess.run([BIN, "onboard", "--db", store.db, path], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and "accepted 1, rejected 0" in p.stdout, f"CLI clean file: {p.returncode} {p.stdout}")
    store.add_account("second")
    p = subprocess.run([BIN, "onboard", "--db", store.db, path], capture_output=True, text=True, timeout=30)
    check(p.returncode == 1 and "--account" in p.stderr, f"several accounts need --account: {p.stderr}")
    p = subprocess.run([BIN, "onboard", "--db", store.db, "--account", "default", path], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 0, f"--account picks one: {p.stderr}")
    # everything acknowledged is counted in the store (3 API + 1 permitted + 2 + 1 + 1 CLI)
    import sqlite3
    n = sqlite3.connect(store.db).execute("SELECT COUNT(*) FROM realizations").fetchone()[0]
    check(n == 8, f"8 realizations stored, found {n}")
finally:
    srv.stop() if srv.proc.poll() is None else None
    store.cleanup()
finish()
