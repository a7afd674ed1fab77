"""The server's HTTP/1.1 layer (server/http_loop.c, http_request.c) with raw sockets, as browsers,
edge workers and load generators use a connection: keep-alive across /event and API requests on
one connection, pipelined requests answered in order, chunked and Expect: 100-continue bodies,
HEAD, Connection: close and HTTP/1.0, malformed requests (an error, then a lingering close), the
idle timeout and the least rate of a request once it has passed (a dripped request is closed, a
slow steady upload is not), %00 in a URL or form body (400), a client that leaves while its
/event call waits for its commit, and the path's limit on bodies."""
import json
import os
import socket
import time

from pnserver import Server, Store, check, finish, sql


class Conn:
    """One keep-alive connection; reads answers by their Content-Length."""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buf += chunk

    def answer(self, head_only=False):
        """(status, headers with lower-case names, body)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = 0 if head_only or status in (100, 204, 304) else int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self, wait=5):
        """True when the server closes the connection (nothing more to read) within wait seconds."""
        self.s.settimeout(wait)
        try:
            return self.s.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


def get(path, extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


def post(path, body, extra=""):
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


store = Store()
srv = Server(store, extra=["--idle-timeout", "2"])
try:
    A = store.key
    auth = f"Authorization: Bearer {A}\r\n"
    acct = sql(store, "SELECT id FROM accounts")[0][0]
    st, web = srv.request("POST", "/data-sources", {"name": "web"}, A)
    st, t = srv.request("POST", "/traits", {"name": "home page", "data_source_id": web["id"], "kind": "rule",
                                             "rule": 'c_page == "home"'}, A)
    check(st == 201, f"a rule-based trait: {st} {t}")
    home = t["id"]

    # keep-alive: /event calls and API requests one after another on one connection
    c = Conn(srv.port)
    c.send(get(f"/event?d_account={acct}&d_uuid=ka1&c_page=home"))
    st, h, body = c.answer()
    o = json.loads(body)
    check(st == 200 and o["uuid"] == "ka1" and home in o["realized"], f"an /event call: {st} {body[:200]!r}")
    check("date" in h and h.get("content-type") == "application/json" and h.get("cache-control") == "no-store",
          f"its headers: {h}")
    check("connection" not in h, f"the connection stays open: {h}")
    c.send(get("/api/v1/data-sources", auth))
    st, h, body = c.answer()
    check(st == 200 and any(d["name"] == "web" for d in json.loads(body)),
          f"then an API request on the same connection: {st} {body[:200]!r}")
    c.send(post("/event", f"d_account={acct}&d_uuid=ka2&c_page=home".encode(),
                "Content-Type: application/x-www-form-urlencoded\r\n"))
    st, h, body = c.answer()
    check(st == 200 and json.loads(body)["uuid"] == "ka2", f"then a form POST to /event: {st} {body[:200]!r}")

    # pipelining: three requests in one write, answered in order
    c.send(get(f"/event?d_account={acct}&d_uuid=p1&c_page=home") + get("/api/v1/data-sources", auth)
           + post("/event", json.dumps({"d_account": acct, "d_uuid": "p3", "c_page": "home"}).encode()))
    a1, a2, a3 = c.answer(), c.answer(), c.answer()
    check(a1[0] == 200 and json.loads(a1[2])["uuid"] == "p1", f"first pipelined answer: {a1[0]} {a1[2][:100]!r}")
    check(a2[0] == 200 and isinstance(json.loads(a2[2]), list), f"second: {a2[0]} {a2[2][:100]!r}")
    check(a3[0] == 200 and json.loads(a3[2])["uuid"] == "p3", f"third: {a3[0]} {a3[2][:100]!r}")

    # a request split into many small writes
    whole = get(f"/event?d_account={acct}&d_uuid=split&c_page=home")
    for i in range(0, len(whole), 7):
        c.send(whole[i:i + 7])
        time.sleep(0.002)
    st, h, body = c.answer()
    check(st == 200 and json.loads(body)["uuid"] == "split", f"a request sent in pieces: {st}")

    # a chunked body
    payload = json.dumps({"d_account": acct, "d_uuid": "chunky", "c_page": "home"}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 10]), payload[i:i + 10]) for i in range(0, len(payload), 10))
    c.send(b"POST /event HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
    st, h, body = c.answer()
    check(st == 200 and json.loads(body)["uuid"] == "chunky", f"a chunked body: {st} {body[:200]!r}")

    # Expect: 100-continue: the interim answer comes before the body is sent
    payload = json.dumps({"d_account": acct, "d_uuid": "expecting", "c_page": "home"}).encode()
    c.send(f"POST /event HTTP/1.1\r\nHost: x\r\nContent-Length: {len(payload)}\r\nExpect: 100-continue\r\n\r\n".encode())
    st, h, body = c.answer()
    check(st == 100, f"100 Continue first: {st}")
    c.send(payload)
    st, h, body = c.answer()
    check(st == 200 and json.loads(body)["uuid"] == "expecting", f"then the answer: {st} {body[:200]!r}")

    # Expect with a body over the path's limit: 413 at once, without the body
    c2 = Conn(srv.port)
    c2.send(f"POST /api/v1/traits HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {2 << 20}\r\n"
            "Expect: 100-continue\r\n\r\n".encode())
    st, h, body = c2.answer()
    check(st == 413 and "larger" in json.loads(body)["error"], f"413 before the body: {st} {body!r}")
    check(c2.closed(), "and the connection closes")
    c2.close()

    # HEAD: the headers of the GET answer, no body; the connection goes on
    c.send(f"HEAD /api/v1/data-sources HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode())
    st, h, body = c.answer(head_only=True)
    check(body == b"" and int(h.get("content-length", "0")) > 0, f"HEAD: {st} {h}")
    c.send(get(f"/event?d_account={acct}&d_uuid=afterhead&c_page=home"))
    st, h, body = c.answer()
    check(st == 200 and json.loads(body)["uuid"] == "afterhead", f"the next request after HEAD: {st} {body[:80]!r}")

    # a cookie among others gives the device id; a new visitor gets one set
    c.send(get(f"/event?d_account={acct}&c_page=home", "Cookie: theme=dark; pn_uuid=from-cookie; x=1\r\n"))
    st, h, body = c.answer()
    check(st == 200 and json.loads(body)["uuid"] == "from-cookie" and "set-cookie" not in h,
          f"the pn_uuid cookie: {st} {body[:100]!r} {h}")
    c.send(get(f"/event?d_account={acct}&c_page=home"))
    st, h, body = c.answer()
    uuid = json.loads(body)["uuid"]
    check(st == 200 and h.get("set-cookie", "").startswith(f"pn_uuid={uuid};"), f"a new visitor's cookie: {h}")
    c.close()

    # Connection: close, and HTTP/1.0: answered, then closed by the server
    for req in (get(f"/event?d_account={acct}&d_uuid=bye&c_page=home", "Connection: close\r\n"),
                f"GET /event?d_account={acct}&d_uuid=old&c_page=home HTTP/1.0\r\n\r\n".encode()):
        k = Conn(srv.port)
        k.send(req)
        st, h, body = k.answer()
        check(st == 200 and h.get("connection") == "close", f"{req[:60]!r}: {st} {h}")
        check(k.closed(), f"{req[:60]!r}: then the close")
        k.close()

    # malformed requests: an error answer, then the close; the server goes on
    for bad, want in ((b"GET /event HTTP/1.1\r\nno colon here\r\n\r\n", 400), (b"BREW /pot HTTP/1.1\r\n\r\n", 501),
                      (b"GET /event HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n", 400),
                      (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
                      (b"GET /event HTTP/1.1\r\nCookie: " + b"c" * 9000 + b"\r\n\r\n", 431)):
        k = Conn(srv.port)
        k.send(bad)
        st, h, body = k.answer()
        check(st == want and "error" in json.loads(body), f"{bad[:40]!r}: {st} {body[:100]!r}")
        check(k.closed(), f"{bad[:40]!r}: then the close")
        k.close()

    # after an error answer the server shuts its side and reads and drops what the client still
    # sends (a lingering close: a socket closed with unread bytes sends a reset, which can make a
    # client's system drop the answer it has not read yet); it closes once the client does
    fds = lambda: len(os.listdir(f"/proc/{srv.proc.pid}/fd"))
    baseline = fds()
    k = Conn(srv.port)
    k.send(b"GET /event HTTP/1.1\r\nno colon here\r\n\r\n")
    st, h, body = k.answer()
    check(st == 400 and h.get("connection") == "close", f"an error answer: {st} {h}")
    sent = 0
    try:
        for i in range(4):
            k.send(b"bytes the server never asked for")
            sent += 1
            time.sleep(0.2)
    except OSError as e:
        pass
    check(sent == 4, f"the client's later bytes are taken, not reset: {sent} of 4 sends went through")
    check(k.closed(), "the server's side is shut")
    k.close()
    deadline = time.time() + 3
    while fds() > baseline and time.time() < deadline:
        time.sleep(0.05)
    check(fds() <= baseline, f"and the server closes once the client has: {fds()} descriptors, {baseline} before")

    # the idle timeout (2 s here): an idle connection is closed, an active one is not
    idle, busy = Conn(srv.port), Conn(srv.port)
    idle.send(get("/api/v1/data-sources", auth))
    idle.answer()
    for i in range(5):
        busy.send(get(f"/event?d_account={acct}&d_uuid=busy&c_page=home"))
        check(busy.answer()[0] == 200, "a connection in use stays open")
        time.sleep(0.8)
    check(idle.closed(wait=3), "an idle connection is closed after the timeout")
    # half a request counts as idle too: the server does not wait for its end forever
    half = Conn(srv.port)
    half.send(b"GET /event?d_account=1 HTTP/1.1\r\nHost")
    check(half.closed(wait=5), "a connection stuck in a request's headers is closed")
    for k in (idle, busy, half):
        k.close()
    # a client that drips its request a byte every half second is never idle for the timeout,
    # but it moves under 500 bytes a second: it is closed once the timeout has passed
    drip, t0, gone = Conn(srv.port), time.time(), None
    for b in b"GET /event?d_account=1&d_uuid=drip&c_page=home HTTP/1.1\r\nHost: x\r\n" * 4:
        try:
            drip.send(bytes([b]))
        except OSError:
            gone = time.time() - t0
            break
        if drip.closed(wait=0.5):
            gone = time.time() - t0
            break
    drip.close()
    check(gone is not None and 1 <= gone <= 5, f"a request dripped a byte at a time is closed after the timeout: {gone}")
    log = open(os.path.join(store.dir, "serve.log"), encoding="utf-8").read()
    check("moved under 500 bytes a second" in log, "and the server's log says so")
    # a request that keeps coming at over 500 bytes a second is read to its end however long it takes
    slow, t0 = Conn(srv.port), time.time()
    body = b"c_page=home&c_note=" + b"x" * 5981
    slow.send(f"POST /event?d_account={acct}&d_uuid=slow HTTP/1.1\r\nHost: x\r\nContent-Type: "
              f"application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    for i in range(0, len(body), 300):  # 1,500 bytes a second for 4 s, twice the timeout
        slow.send(body[i:i + 300])
        time.sleep(0.2)
    st, h, b = slow.answer()
    check(st == 200 and time.time() - t0 > 3.5, f"a slow but steady upload is answered: {st} after {time.time() - t0:.1f} s")
    slow.close()

    # %00 decodes to a NUL byte, which would end the path or a signal's C string early
    for req in (get(f"/event%00/x?d_account={acct}&d_uuid=nul&c_page=home"),
                get(f"/event?d_account={acct}&d_uuid=nul&c_page=home%00x"),
                post(f"/event?d_account={acct}&d_uuid=nul", b"c_page=home%00x",
                     "Content-Type: application/x-www-form-urlencoded\r\n")):
        k = Conn(srv.port)
        k.send(req)
        st, h, b = k.answer()
        check(st == 400 and b"NUL" in b, f"a %00 in the URL or a form body gets 400: {st} {b[:80]}")
        k.close()

    # clients that leave while their /event call waits for its commit: the server goes on serving
    for i in range(50):
        k = socket.create_connection(("127.0.0.1", srv.port))
        k.sendall(get(f"/event?d_account={acct}&d_uuid=gone{i}&c_page=home"))
        k.close()
    c = Conn(srv.port)
    c.send(get(f"/event?d_account={acct}&d_uuid=gone0&c_page=home"))
    st, h, body = c.answer()
    check(st == 200, f"the server still answers: {st}")
    c.close()
    st, o = srv.request("GET", "/data-sources", None, A)
    check(st == 200, f"and its API: {st}")
finally:
    srv.stop()
    store.cleanup()
finish()
