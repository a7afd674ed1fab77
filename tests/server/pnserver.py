"""Shared helpers of the server tests: a store, a `personae serve` on a free loopback port, and
JSON over real HTTP. Standard library only."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else "personae"
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)


def finish():
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", flush=True)
        sys.exit(1)
    print("ok", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def admin(*args):
    """Runs `personae admin ...`; returns (exit code, stdout lines)."""
    p = subprocess.run([BIN, "admin", *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout.splitlines(), p.stderr


class Store:
    """A temporary store with one account; .key is its admin key."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pn-server-test-")
        self.db = os.path.join(self.dir, "store.db")
        rc, out, err = admin("init", "--db", self.db)
        assert rc == 0, err
        self.key = out[-1]

    def add_account(self, name):
        rc, out, err = admin("add-account", "--db", self.db, "--name", name)
        assert rc == 0, err
        return out[-1]

    def cleanup(self):
        if os.environ.get("PN_KEEP"):  # keep the store and the server's log to look at
            print("kept", self.dir, flush=True)
            return
        shutil.rmtree(self.dir, ignore_errors=True)


class Server:
    def __init__(self, store, interval=None, extra=None, preexec=None):
        self.store = store
        self.port = free_port()
        self.log = open(os.path.join(store.dir, "serve.log"), "ab")
        args = [BIN, "serve", "--db", store.db, "--listen", f"127.0.0.1:{self.port}"]
        if interval:
            args += ["--train-interval", str(interval)]
        args += extra or []
        self.proc = subprocess.Popen(args, stderr=self.log, stdout=self.log, preexec_fn=preexec)
        deadline = time.time() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("personae serve did not start; see " + self.log.name)
                time.sleep(0.05)

    def request(self, method, path, body=None, key=None, raw=None, headers=None):
        """Returns (status, parsed JSON or None)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = dict(headers or {})
        if key:
            h["Authorization"] = "Bearer " + key
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        conn.request(method, "/api/v1" + path, body=data, headers=h)
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        try:
            return resp.status, json.loads(text) if text else None
        except ValueError:
            return resp.status, text

    def raw(self, method, path, body=None, headers=None):
        """Any path, no JSON decoding: returns (status, headers dict (lower-case names), bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def event(self, params=None, method="GET", body=None, headers=None):
        """An /event call: returns (status, JSON, headers)."""
        import urllib.parse
        path = "/event" + ("?" + urllib.parse.urlencode(params) if params else "")
        st, h, data = self.raw(method, path, body, headers)
        return st, json.loads(data) if data else None, h

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            check(rc == 0, f"personae serve exits 0 on SIGTERM (got {rc}); see {self.log.name}")
        self.log.close()

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def ok(status):
    return 200 <= status < 300


def new_trait(srv, key, name, ds, rule=None):
    """A trait of data source ds, rule-based when a rule is given; returns its id."""
    body = {"name": name, "data_source_id": ds}
    if rule:
        body.update(kind="rule", rule=rule)
    st, t = srv.request("POST", "/traits", body, key)
    assert st == 201, (st, t)
    return t["id"]


def setup_catalog(srv, key, n_traits=6, labels=None):
    """A data source and n onboarded first-party traits; returns (ds id, [trait ids])."""
    st, ds = srv.request("POST", "/data-sources", {"name": "web", "dec_labels": labels or []}, key)
    assert st == 201, (st, ds)
    traits = []
    for i in range(n_traits):
        st, t = srv.request("POST", "/traits", {"name": f"trait {i}", "data_source_id": ds["id"]}, key)
        assert st == 201, (st, t)
        traits.append(t["id"])
    return ds["id"], traits


def persona_events(baselines, features, visitors=600, targets=150, now=None, seed=7):
    """TSV realizations: visitors in a persona realize its baseline and mostly its own feature
    trait; target visitors realize only features."""
    import random
    rnd = random.Random(seed)
    now = now or int(time.time())
    lines = []
    for v in range(visitors + targets):
        p = v % len(baselines)
        if v < visitors:
            lines.append(f"v{v}\t{baselines[p]}\t{now - 86400 * rnd.randint(0, 20)}")
        for _ in range(4):
            t = features[p % len(features)] if rnd.random() < 0.75 else rnd.choice(features)
            lines.append(f"v{v}\t{t}\t{now - 86400 * rnd.randint(0, 20)}")
    return "\n".join(lines) + "\n"


def log_chain(path):
    """(last sequence number, end offset) of a segment of the event log (STORE-eventlog/,
    server/event_log.c): a chain of records (magic, length, seq, XXH64 of the body seeded with
    seq, body) with consecutive sequence numbers."""
    import struct
    import xxhash  # Debian's python3-xxhash
    data, off, want, last = open(path, "rb").read(), 0, 0, 0
    while off + 24 <= len(data):
        magic, length, seq, check = struct.unpack_from("<IIQQ", data, off)
        body = data[off + 24:off + 24 + length]
        if (magic != 0x50454E56 or (want and seq != want) or len(body) != length
                or xxhash.xxh64_intdigest(body, seed=seq) != check):
            break
        last, want, off = seq, seq + 1, off + 24 + length
    return last, off


def logged_seq(store):
    """The highest sequence number in the event log."""
    import glob
    return max([log_chain(p)[0] for p in glob.glob(store.db + "-eventlog/segment-*.log")] + [0])


def settled(store, timeout=10):
    """Waits until every event /event has logged is in the store's tables: the server moves them
    there in batches, a fraction of a second behind."""
    import sqlite3, time
    deadline = time.time() + timeout
    while True:
        top = logged_seq(store)
        db = sqlite3.connect(store.db, timeout=30)
        try:
            row = db.execute("SELECT applied FROM event_ingest").fetchone()
        finally:
            db.close()
        if top == 0 or (row and row[0] >= top):
            return
        if time.time() > deadline:
            raise AssertionError(f"logged events not in the store after {timeout} s: {row} of {top}")
        time.sleep(0.02)


def sql(store, query, args=()):
    """Reads the store directly (what the server has durably stored, once it has moved every
    logged event into its tables)."""
    import sqlite3
    settled(store)
    db = sqlite3.connect(store.db, timeout=30)
    try:
        return db.execute(query, args).fetchall()
    finally:
        db.close()


def trained_model(srv, key, ds, baselines, features, name="brands", **kw):
    """Creates a model on the persona_events data (onboarded first) and trains it."""
    body = {"name": name, "baselines": baselines, "data_source_id": ds}
    body.update(kw)
    st, m = srv.request("POST", "/models", body, key)
    assert st == 201, (st, m)
    st, m = srv.request("POST", f"/models/{m['id']}/train?wait=true", None, key)
    assert st == 200 and m["status"] in ("active", "warning"), (st, m)
    return m
