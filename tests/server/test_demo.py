"""serve --demo-dir: static files at /demo/ with their content types and safe paths (no `..`, no
hidden files, nothing outside the directories, symbolic links checked), the personae-wasm
package's .mjs and .wasm only, the unauthenticated demo routes (config with a working snapshot
token, report), and none of it without --demo-dir."""
import json
import os
import shutil
import socket
import tempfile

from pnserver import Server, Store, check, finish, persona_events, trained_model

demo = tempfile.mkdtemp(prefix="pn-demo-dir-")
wasm = tempfile.mkdtemp(prefix="pn-wasm-dir-")
os.makedirs(os.path.join(demo, "sub"))
os.makedirs(os.path.join(wasm, "dist"))
os.makedirs(os.path.join(wasm, "src"))
files = {
    (demo, "index.html"): b"<!doctype html><title>demo</title>",
    (demo, "app.js"): b"console.log(1)",
    (demo, "style.css"): b"body{}",
    (demo, "cards.json"): b"{}",
    (demo, "sub/x.svg"): b"<svg/>",
    (demo, ".secret.json"): b"{}",
    (demo, "notes.md"): b"# not served",
    (wasm, "personae.mjs"): b"export {}",
    (wasm, "src/runtime.mjs"): b"export {}",
    (wasm, "dist/personae.wasm"): b"\0asm\1\0\0\0",
    (wasm, "package.json"): b"{}",
}
for (d, name), data in files.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
outside = tempfile.mkdtemp(prefix="pn-outside-")
with open(os.path.join(outside, "leak.json"), "w") as f:
    f.write('{"leak": true}')
os.symlink(os.path.join(outside, "leak.json"), os.path.join(demo, "link.json"))


def raw_path(port, path, method="GET"):
    """Sends the path as is (no client normalization); returns (status, headers text, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), head.decode(errors="replace").lower(), body


store = Store()
srv = Server(store, extra=["--demo-dir", demo, "--wasm-dir", wasm])
plain = None
try:
    A = store.key
    # before any model: the config says so
    st, h, body = srv.raw("GET", "/demo/api/config")
    check(st == 409 and b"no trained model" in body, f"config without a model: {st} {body}")

    expect = {
        "/demo/": "text/html", "/demo/index.html": "text/html", "/demo/app.js": "text/javascript",
        "/demo/style.css": "text/css", "/demo/cards.json": "application/json", "/demo/sub/x.svg": "image/svg+xml",
        "/demo/personae/personae.mjs": "text/javascript", "/demo/personae/src/runtime.mjs": "text/javascript",
        "/demo/personae/dist/personae.wasm": "application/wasm",
    }
    for path, ctype in expect.items():
        st, h, body = srv.raw("GET", path)
        check(st == 200 and h.get("content-type", "").startswith(ctype), f"{path}: {st} {h.get('content-type')}")
    st, h, body = srv.raw("GET", "/demo/personae/dist/personae.wasm")
    check(body == files[(wasm, "dist/personae.wasm")], "the .wasm bytes")
    st, h, body = srv.raw("GET", "/demo")
    check(st == 301 and h.get("location") == "/demo/", f"/demo redirects: {st} {h}")
    st, h, body = srv.raw("HEAD", "/demo/app.js")
    check(st == 200 and body == b"", f"HEAD: {st} {body}")
    st, h, body = srv.raw("POST", "/demo/app.js", b"x")
    check(st == 405, f"POST on a file: {st}")

    bad = ["/demo/../README.md", "/demo/%2e%2e/README.md", "/demo/sub/../index.html", "/demo/.secret.json",
           "/demo/notes.md", "/demo/nope.js", "/demo//index.html", "/demo/sub/", "/demo/link.json",
           "/demo/personae/package.json", "/demo/personae/../index.html", "/demo/personae/dist/",
           "/demo/a\\..\\index.html", "/demo/personae/.." ,
           "/demo/sub/%2F..%2F..%2Fetc/passwd", "/demo/" + "a" * 300 + ".js"]
    for path in bad:
        st, head, body = raw_path(srv.port, path)
        check(st in (400, 404) and b"leak" not in body and b"not served" not in body and b"asm" not in body,
              f"{path!r} is refused: {st} {body[:80]}")

    # the server decodes %00 into the end of the path: what is left is an ordinary, allowed path
    for path in ("/demo/%00index.html", "/demo/index.html%00.js", "/demo/%00../../etc/passwd"):
        st, head, body = raw_path(srv.port, path)
        check(st in (400, 404) or body == files[(demo, "index.html")], f"{path!r}: {st} {body[:80]}")

    # seed a trained model and a destination: the config names them and gives a working token
    st, web = srv.request("POST", "/data-sources", {"name": "web"}, A)
    W = web["id"]
    baselines = [srv.request("POST", "/traits", {"name": f"bought {b}", "data_source_id": W}, A)[1]["id"]
                 for b in ("apple", "google", "hp")]
    features = [srv.request("POST", "/traits", {"name": f"card {i}", "data_source_id": W, "kind": "rule",
                                                "rule": f'c_card == "c{i}"'}, A)[1]["id"] for i in range(3)]
    st, o = srv.request("POST", "/onboard", None, A, raw=persona_events(baselines, features).encode())
    m = trained_model(srv, A, W, baselines, features)
    st, h, body = srv.raw("GET", "/demo/api/config")
    cfg = json.loads(body)
    check(st == 200 and cfg["model_id"] == m["id"] and cfg["snapshot"] is None, f"config without a destination: {cfg}")
    check([p["id"] for p in cfg["personas"]] == baselines and [t["id"] for t in cfg["rule_traits"]] == features and
          cfg["rule_traits"][0]["rule"] == 'c_card == "c0"', f"personas and rule traits: {cfg}")
    st, dest = srv.request("POST", "/destinations", {"name": "page", "type": "edge", "dec_labels": []}, A)
    st, h, body = srv.raw("GET", "/demo/api/config")
    cfg = json.loads(body)
    check(cfg["snapshot"] and cfg["snapshot"]["destination_id"] == dest["id"], f"a snapshot token: {cfg}")
    st, h, snap = srv.raw("GET", cfg["snapshot"]["url"])
    check(st == 200 and h.get("content-type") == "application/octet-stream" and len(snap) > 100, f"its snapshot: {st}")
    st, h, body = srv.raw("GET", "/demo/api/report")
    rep = json.loads(body)
    check(st == 200 and rep["model_id"] == m["id"] and len(rep["personas"]) == 3, f"the report: {st} {body[:200]}")
    st, h, body = srv.raw("POST", "/demo/api/config", b"{}")
    check(st == 405, f"POST config: {st}")
    st, h, body = srv.raw("GET", "/demo/api/models")
    check(st == 404, f"other demo routes: {st}")
    # the demo routes give nothing of the API
    st, h, body = srv.raw("GET", "/api/v1/models")
    check(st == 401, f"the API still needs a key: {st}")
    srv.stop()

    # without --demo-dir there is no /demo
    plain = Server(store)
    for path in ("/demo/", "/demo/api/config", "/demo/personae/personae.mjs"):
        st, h, body = plain.raw("GET", path)
        check(st == 404 and b"<title>" not in body and b"model_id" not in body, f"{path} without --demo-dir: {st}")
finally:
    srv.stop()
    if plain:
        plain.stop()
    store.cleanup()
    for d in (demo, wasm, outside):
        shutil.rmtree(d, ignore_errors=True)
finish()
