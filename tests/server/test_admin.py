"""admin init prints the key last; add-account; accounts never see each other."""
import os
import shutil
import tempfile

from pnserver import Server, Store, admin, check, finish

d = tempfile.mkdtemp()
db = os.path.join(d, "s.db")
rc, out, err = admin("init", "--db", db)
check(rc == 0 and out[-1].startswith("pk_") and len(out[-1]) == 67, f"init prints the key last: {out}")
rc, out2, err = admin("init", "--db", db)
check(rc == 1 and "add-account" in err, f"a second init is refused: {err}")
rc, out3, err = admin("add-account", "--db", db, "--name", "b")
check(rc == 0 and out3[-1].startswith("pk_") and out3[-1] != out[-1], "add-account prints another key last")
rc, _, err = admin("add-account", "--db", db, "--name", "b")
check(rc == 1 and "already exists" in err, f"duplicate account name refused: {err}")
rc, _, err = admin("add-account", "--db", os.path.join(d, "none.db"), "--name", "c")
check(rc == 1, "add-account on a missing store fails")
import sqlite3
keys = [r[0] for r in sqlite3.connect(db).execute("SELECT hash FROM api_keys")]
check(all(isinstance(k, bytes) and len(k) == 32 for k in keys), "keys are stored as SHA-256 hashes")
check(out[-1].encode() not in open(db, "rb").read(), "the key itself is not in the store")
shutil.rmtree(d)

store = Store()
other = store.add_account("other")
srv = Server(store)
try:
    st, ds = srv.request("POST", "/data-sources", {"name": "mine"}, store.key)
    st, ds2 = srv.request("POST", "/data-sources", {"name": "mine"}, other)
    check(st == 201, "the same name in another account is fine")
    check([x["name"] for x in srv.request("GET", "/data-sources", None, other)[1]] == ["mine"] and
          srv.request("GET", "/data-sources", None, other)[1][0]["id"] == ds2["id"], "each account sees its own")
finally:
    srv.stop()
    store.cleanup()
finish()
