"""The open-file limit: `personae serve` raises a low soft limit to what its 4,000 connections
need; under a hard limit too low for them it takes fewer connections, says so, leaves the rest
waiting to be accepted, and goes on serving; with no descriptor left it pauses accepting rather
than spinning, and accepts again once it can."""
import os
import resource
import socket
import time

from pnserver import Server, Store, check, finish


def soft_limit(pid):
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return None


hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
store = Store()
try:
    # a soft limit of 256 under a hard one that allows all connections: raised to 4,000 + 256
    if hard == resource.RLIM_INFINITY or hard >= 4256:
        srv = Server(store, preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4256)))
        check(soft_limit(srv.proc.pid) == 4256, f"soft limit raised: {soft_limit(srv.proc.pid)}")
        srv.stop()
    else:
        print("skipped the raise: this machine's hard limit is", hard)

    # a hard limit of 512: 256 connections at most; the 300th waits its turn, the server goes on
    srv = Server(store, preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512)))
    try:
        check(soft_limit(srv.proc.pid) == 512, "soft limit raised to the hard one")
        log = open(os.path.join(store.dir, "serve.log")).read()
        check("at most 256 connections at once" in log, "the lower connection limit is logged")
        held = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(300)]
        # the loops stop accepting at their limit: the last connections wait in the listen
        # queue, and a request on one of them is answered only once others have gone
        last = held[-1]
        last.sendall(f"GET /api/v1/data-sources HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {store.key}\r\n"
                     "Connection: close\r\n\r\n".encode())
        last.settimeout(1.0)
        try:
            early = last.recv(100)
        except socket.timeout:
            early = None
        check(early is None, f"a connection past the limit waits: {early!r}")
        for k in held[:100]:
            k.close()
        last.settimeout(10)
        answer = last.recv(100)
        check(answer.startswith(b"HTTP/1.1 200"), f"and is served once others have gone: {answer!r}")
        for k in held[100:]:
            k.close()
        st, _ = srv.request("GET", "/data-sources", None, store.key)
        check(st == 200, f"the API answers: {st}")
        check(srv.proc.poll() is None, "the server is still running")
    finally:
        srv.stop()

    # no descriptor left at all (the limit lowered under the running server): accept fails with
    # EMFILE and the connection stays queued, which keeps the listening socket readable; the loops
    # pause accepting for a second instead of spinning on it, and take it once they can
    srv = Server(store)
    try:
        pid = srv.proc.pid
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (3, hard))  # 0-2 are taken: no new descriptor
        k = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        k.sendall(f"GET /api/v1/data-sources HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {store.key}\r\n"
                  "Connection: close\r\n\r\n".encode())

        def cpu_seconds():
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

        time.sleep(0.3)
        before = cpu_seconds()
        time.sleep(2)
        spent = cpu_seconds() - before
        check(spent < 0.5, f"out of descriptors, the server waits rather than spins: {spent:.2f} s of processor in 2 s")
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        answer = k.recv(100)
        check(answer.startswith(b"HTTP/1.1 200"), f"and serves the waiting connection once it can: {answer!r}")
        k.close()
        log = open(os.path.join(store.dir, "serve.log")).read()
        check("cannot accept connections for now" in log, "the pause is logged")
    finally:
        srv.stop()
finally:
    store.cleanup()
finish()
