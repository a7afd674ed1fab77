#!/usr/bin/env bash
# Load benchmark of the real-time endpoint /event with wrk (Debian's `wrk`) on loopback.
# Not a timed test: it prints throughput, latency and the server's processor time per call (user
# and system, all its threads, from /proc: per call, so it does not depend on the rate), and
# checks that nothing acknowledged was lost: after the run the server is stopped (which moves
# every logged event into the store's tables) and the realizations stored are counted against
# the 2xx answers. Every call realizes exactly one rule-based trait. It also prints the server's own
# account, logged when it stops: where calls spent their time inside it (evaluation, waiting for
# the event log's commit, sending) and the commits' sizes and durations, to tell apart from wrk's
# figures what the load generator and the host add.
#
#   tests/bench/bench_event.sh [PERSONAE] [DURATION_S] [CONNECTIONS]
#   env: VISITORS (2000), TRAITS_PER_VISITOR (50), RETRAIN (1: retrain every model once, a second
#        into the run, which takes about 6 s of it, each training waiting for the ingester's next
#        batch, every half second; loop: retrain the models one after another, again and again,
#        from the start of the run to its end, so that every call of the run meets a training
#        (about 17 in 10 s, each waiting for a batch); 0: none),
#        SERVE_ARGS (more options for `personae serve`, such as "--threads 1"), WRK_THREADS (2),
#        RULES (100: rule-based traits, `c_page == "pN"`; at least 30),
#        IDLE (0: connections that make one call each, then stay open and quiet during the run, as
#        browsers keep theirs; the server's HTTP threads watch them beside wrk's),
#        CALLGRIND (a file: serve the run under valgrind's callgrind, one HTTP thread, counting
#        from after a first call for every visitor, and print instructions per call; counts are
#        repeatable where timings on a shared machine are not; use a few connections)
set -euo pipefail
BIN=${1:-build/release/personae}
DURATION=${2:-10}
CONNS=${3:-64}
command -v wrk >/dev/null || { echo "bench_event: wrk is not installed (apt-get install wrk)"; exit 1; }
BIN=$(readlink -f "$BIN")
export BIN DURATION CONNS VISITORS=${VISITORS:-2000} TPV=${TRAITS_PER_VISITOR:-50} RETRAIN=${RETRAIN:-1}
exec python3 - <<'PY'
import itertools, json, os, random, re, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time, urllib.request

BIN, DUR, CONNS = os.environ["BIN"], int(os.environ["DURATION"]), int(os.environ["CONNS"])
V, TPV = int(os.environ["VISITORS"]), int(os.environ["TPV"])
LOOP = os.environ["RETRAIN"] == "loop"
RETRAIN = LOOP or os.environ["RETRAIN"] == "1"
d = tempfile.mkdtemp(prefix="pn-bench-event-")
db = os.path.join(d, "store.db")
key = subprocess.run([BIN, "admin", "init", "--db", db], capture_output=True, text=True, check=True).stdout.split()[-1]
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
log = open(os.path.join(d, "serve.log"), "w")
srv = subprocess.Popen([BIN, "serve", "--db", db, "--listen", f"127.0.0.1:{port}"] + os.environ.get("SERVE_ARGS", "").split(), stderr=log)
base = f"http://127.0.0.1:{port}"
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close(); break
    except OSError:
        time.sleep(0.05)

def api(method, path, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + "/api/v1" + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(req, timeout=600) as r:
        t = r.read()
        return json.loads(t) if t else None

try:
    ds = api("POST", "/data-sources", {"name": "web"})["id"]
    NB, NF = 30, int(os.environ.get("RULES", "100"))  # 30 baseline traits (10 models x 3), NF rule-based feature traits
    base_t = [api("POST", "/traits", {"name": f"b{i}", "data_source_id": ds})["id"] for i in range(NB)]
    feat = [api("POST", "/traits", {"name": f"p{i}", "data_source_id": ds, "kind": "rule",
                                    "rule": f'c_page == "p{i}"'})["id"] for i in range(NF)]
    for i in range(5):
        api("POST", "/segments", {"name": f"s{i}", "rule": f"{feat[i]}T OR FREQUENCY([{feat[i+5]}T] <= 7D) >= 2"})
    rnd = random.Random(1)
    now = int(time.time())
    lines = []
    for v in range(V):
        if v < V * 3 // 4:
            for m in range(10):
                lines.append(f"u{v}\t{base_t[m * 3 + v % 3]}\t{now - 86400}")
        # TPV distinct traits: the persona's own 10 (several times) and others at random
        own = [feat[(v % 3) * 10 + j] for j in range(10)]
        others = rnd.sample([f for f in feat if f not in own], max(0, TPV - 10))
        for t in own * 3 + others:
            lines.append(f"u{v}\t{t}\t{now - rnd.randint(0, 20) * 86400}")
    api("POST", "/onboard", raw="\n".join(lines).encode())
    models = [api("POST", "/models", {"name": f"m{m}", "baselines": base_t[m * 3:m * 3 + 3], "data_source_id": ds})["id"]
              for m in range(10)]
    for m in models:
        api("POST", f"/models/{m}/train?wait=true")
    acct = sqlite3.connect(db).execute("SELECT id FROM accounts").fetchone()[0]
    # target visitors (no baseline) are the ones wrk plays: they are classified by all 10 models
    lua = os.path.join(d, "event.lua")
    open(lua, "w").write(f"""
-- the calls are made once, in init (wrk's advice: building each in request() costs wrk processor
-- time that the server, on the same two cores, then lacks); each thread cycles through 20,000
math.randomseed(42)
local calls, n = {{}}, 0
init = function(args)
  for i = 1, 20000 do
    local v = math.random({V * 3 // 4}, {V - 1})
    local p = math.random(0, {NF - 1})
    calls[i] = wrk.format("GET", "/event?d_account={acct}&d_uuid=u" .. v .. "&c_page=p" .. p .. "&c_lang=en&p_x=1")
  end
end
request = function()
  n = n % #calls + 1
  return calls[n]
end
done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("RESULT requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\\n",
    summary.requests, non2xx, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
""")
    def count():
        c = sqlite3.connect(db, timeout=60)
        n = c.execute("SELECT COUNT(*) FROM realizations").fetchone()[0]
        c.close()
        return n
    # one sample call, shown for the record
    with urllib.request.urlopen(f"{base}/event?d_account={acct}&d_uuid=u{V - 1}&c_page=p0") as r:
        raw = r.read()
        sample = json.loads(raw)
    print("sample answer: %d bytes, %d segments, %d models, statuses %s" % (
          len(raw), len(sample["segments"]), len(sample["models"]), sorted({m["status"] for m in sample["models"]})))
    api("GET", f"/models/{models[0]}/report")  # a report waits until every acknowledged event is stored
    cg = os.environ.get("CALLGRIND")
    if cg:
        srv.send_signal(signal.SIGTERM); srv.wait(timeout=120)
        srv = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}", "--instr-atstart=no",
                                BIN, "serve", "--db", db, "--listen", f"127.0.0.1:{port}", "--threads", "1"], stderr=log)
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close(); break
            except OSError:
                time.sleep(0.1)
        for v in range(V * 3 // 4, V):  # every visitor of the run in the cache, as in a long run
            urllib.request.urlopen(f"{base}/event?d_account={acct}&d_uuid=u{v}&c_page=p0").read()
        api("GET", f"/models/{models[0]}/report")
        subprocess.run(["callgrind_control", "-i", "on", str(srv.pid)], capture_output=True, check=True)
    idle = []
    for i in range(int(os.environ.get("IDLE", "0"))):
        k = socket.create_connection(("127.0.0.1", port))
        k.sendall(f"GET /event?d_account={acct}&d_uuid=idle{i}&c_lang=en HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        idle.append(k)
    for k in idle:  # each answer read whole: the connection is idle, kept alive (c_lang realizes no trait)
        got = b""
        while b"\r\n\r\n" not in got:
            got += k.recv(65536)
        head, body = got.split(b"\r\n\r\n", 1)
        need = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(body) < need:
            body += k.recv(65536)
    if idle:
        print(f"{len(idle)} idle keep-alive connections open during the run")
    before = count()
    trainer = None
    wrk_done = threading.Event()
    if RETRAIN:
        retrain_took = []
        def retrain():
            if not LOOP:
                time.sleep(1)
            t = time.time()
            for i in itertools.count():
                api("POST", f"/models/{models[i % len(models)]}/train?wait=true")
                if (i + 1 == len(models)) if not LOOP else wrk_done.is_set():
                    break
            retrain_took.append((time.time() - t, i + 1))
        trainer = threading.Thread(target=retrain)
        trainer.start()
    def cpu():  # the server's processor time so far, all its threads: user, system (seconds)
        f = open(f"/proc/{srv.pid}/stat").read().rsplit(")", 1)[1].split()
        hz = os.sysconf("SC_CLK_TCK")
        return int(f[11]) / hz, int(f[12]) / hz
    def by_thread():  # processor time so far (seconds) of each live thread, summed by thread name
        hz, got = os.sysconf("SC_CLK_TCK"), {}
        for tid in os.listdir(f"/proc/{srv.pid}/task"):
            try:
                name = open(f"/proc/{srv.pid}/task/{tid}/comm").read().strip()
                f = open(f"/proc/{srv.pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
            except OSError:  # it ended meanwhile
                continue
            got[name] = got.get(name, 0.0) + (int(f[11]) + int(f[12])) / hz
        return got
    threads0, cpu0 = by_thread(), cpu()
    cmd = ["wrk", "-t", os.environ.get("WRK_THREADS", "2"), "-c", str(CONNS), "-d", f"{DUR}s", "--latency", "-s", lua, base]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    threads1, cpu1 = by_thread(), cpu()
    wrk_done.set()
    if trainer:
        trainer.join()
    print(" ".join(cmd))
    print(out)
    r = dict(kv.split("=") for kv in re.search(r"RESULT (.*)", out).group(1).split())
    r = {k: int(v) for k, v in r.items()}
    ok = r["requests"] - r["non2xx"]
    # a clean stop moves every logged event into the store's tables: count them there
    srv.send_signal(signal.SIGTERM); srv.wait(timeout=600)
    after = count()
    # the server's own account of the calls (logged when it stops; the warm-up calls before wrk's
    # are in it too): what a call spent inside the server, against wrk's figures from outside
    for line in open(os.path.join(d, "serve.log"), encoding="utf-8"):
        if line.startswith("personae serve: /event: "):
            print("server: " + line[len("personae serve: /event: "):], end="")
    if cg:
        total = next(int(l.split()[1]) for l in open(cg) if l.startswith("totals:"))
        print(f"callgrind: {total / max(1, ok):,.0f} instructions per acknowledged call, all threads ({cg})")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    user, system = ((b - a) * 1e6 / max(1, r["requests"]) for a, b in zip(cpu0, cpu1))
    print(f"server processor time per call: {user + system:.1f} us (user {user:.1f}, system {system:.1f}; "
          f"all its threads, retraining included)")
    # by thread: the calls' own (HTTP loops, the event log's writer), the ingester, and the rest
    # (the threads of trainings, which end with them, and those of the API)
    per = {k: (threads1.get(k, 0.0) - threads0.get(k, 0.0)) * 1e6 / max(1, r["requests"]) for k in threads1}
    rest = user + system - sum(per.values())
    print("  by thread: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(per.items(), key=lambda kv: -kv[1]) if v >= 0.05)
          + f", ended threads and the rest {rest:.1f} us")
    if RETRAIN:
        print(f"retraining: {retrain_took[0][1]} trainings one after another, {retrain_took[0][0]:.1f} s "
              f"({'from the start of the run to its end' if LOOP else 'of the run'})" if retrain_took else "retraining failed")
    print(f"req/s {rps:.0f}  p50 {r['p50_us'] / 1000:.2f} ms  p99 {r['p99_us'] / 1000:.2f} ms  "
          f"2xx {ok}  stored {after - before}  (retraining during the run: {'all of it' if LOOP else 'yes' if RETRAIN else 'no'})")
    for k in idle:
        k.close()
    socket_errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    # calls still in flight when wrk stops are stored but not counted by wrk: at most one a connection
    if ok <= after - before <= ok + CONNS + socket_errors:
        print(f"realizations: every acknowledged event is stored ({after - before - ok} more: calls in flight "
              f"when wrk stopped)")
    else:
        print(f"realizations: MISMATCH: {after - before} stored for {ok} acknowledged"); sys.exit(1)
finally:
    if srv.poll() is None:
        srv.send_signal(signal.SIGTERM); srv.wait(timeout=120)
    import shutil; shutil.rmtree(d, ignore_errors=True)
PY
