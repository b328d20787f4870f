"""Signals: SIGHUP reloads without losing a query (and a broken file changes nothing);
SIGTERM and SIGINT end the server cleanly with status 0."""

import signal
import socket
import struct
import threading
import time

import dns.message
import dns.query
import dns.rcode

from cdnstest import make_config, make_query, read_frame, txt_text


def version_of(srv, transport="udp"):
    r = getattr(srv, transport)(make_query("version.bind.", "TXT", "CH"))
    assert r.rcode() == dns.rcode.NOERROR
    return txt_text(r.answer[0]).decode()


def wait_version(srv, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        got = version_of(srv)
        if got == want:
            return
        assert time.monotonic() < deadline, f"still serving {got!r}, expected {want!r}"
        time.sleep(0.05)


def set_version(srv, version, extra=()):
    srv.write_config([("chaos", {"version": version}), *extra])


def test_sigterm_exits_0(server):
    server.assert_serving()
    assert server.stop(signal.SIGTERM) == 0
    assert "ready" in server.log()


def test_sigint_exits_0(server):
    server.assert_serving()
    assert server.stop(signal.SIGINT) == 0


def test_sigterm_with_idle_and_partial_tcp_connections(make_server):
    srv = make_server(server={"shutdown_timeout": "2s"})
    idle = srv.tcp_connect()
    partial = srv.tcp_connect()
    partial.sendall(b"\x00\x40\x12\x34")  # a frame that never completes
    srv.assert_serving()
    t0 = time.monotonic()
    assert srv.stop(signal.SIGTERM) == 0
    assert time.monotonic() - t0 < 10
    idle.close()
    partial.close()


def test_reload_serves_new_configuration(make_server):
    srv = make_server([("chaos", {"version": "one"})])
    assert version_of(srv) == "one"
    assert srv.udp(make_query("host.example.", "A")).rcode() == dns.rcode.REFUSED
    set_version(srv, "two", [("whoami", {})])
    srv.reload()
    wait_version(srv, "two")
    assert srv.udp(make_query("host.example.", "A")).rcode() == dns.rcode.NOERROR
    assert version_of(srv, "tcp") == "two"


def test_failed_reload_keeps_old_configuration(make_server):
    srv = make_server([("chaos", {"version": "good"})])
    srv.write_config(None, text=make_config(srv.port, [("chaos", {"versoin": "bad"})]))
    srv.reload()
    srv.wait_log("reload failed")
    assert "unknown option 'versoin'" in srv.log()
    assert version_of(srv) == "good"
    assert version_of(srv, "tcp") == "good"
    # A YAML syntax error and a missing plugin: the same.
    srv.write_config(None, text=make_config(srv.port, [("chaos", {})]) + "  - [unclosed\n")
    srv.reload()
    srv.wait_log("reload failed", count=2)
    srv.write_config([("nosuchplugin", {})])
    srv.reload()
    srv.wait_log("reload failed", count=3)
    assert version_of(srv) == "good"
    # And a good file afterwards is taken.
    set_version(srv, "better")
    srv.reload()
    wait_version(srv, "better")


class Load:
    """Queries sent one after the other, over UDP or over one TCP connection, until stopped;
    counts answers, losses and the versions seen."""

    def __init__(self, srv, transport):
        self.srv, self.transport = srv, transport
        self.sent = self.answered = 0
        self.bad = []
        self.versions = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def seen(self, r):
        if r.rcode() != dns.rcode.NOERROR or not r.answer:
            self.bad.append(f"rcode {r.rcode()}")
            return
        v = txt_text(r.answer[0]).decode()
        if not self.versions or self.versions[-1] != v:
            self.versions.append(v)
        self.answered += 1

    def run(self):
        try:
            if self.transport == "udp":
                while not self.stop.is_set():
                    q = make_query("version.bind.", "TXT", "CH")
                    self.sent += 1
                    try:
                        self.seen(self.srv.udp(q, timeout=2.0))
                    except dns.exception.Timeout:
                        self.bad.append(f"query {self.sent}: no answer within 2s")
            else:
                with self.srv.tcp_connect(timeout=5.0) as s:
                    while not self.stop.is_set():
                        q = make_query("version.bind.", "TXT", "CH")
                        wire = q.to_wire()
                        self.sent += 1
                        s.sendall(struct.pack("!H", len(wire)) + wire)
                        self.seen(dns.message.from_wire(read_frame(s)))
        except Exception as e:  # reported by the test
            self.bad.append(repr(e))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)


def test_reload_under_load_loses_nothing(make_server):
    srv = make_server([("chaos", {"version": "v0"})], server={"workers": 2})
    with Load(srv, "udp") as udp, Load(srv, "udp") as udp2, Load(srv, "tcp") as tcp:
        time.sleep(0.3)
        for i in range(1, 6):
            set_version(srv, f"v{i}")
            srv.reload()
            srv.wait_log(f"configuration {i + 1} loaded")
            wait_version(srv, f"v{i}")
            time.sleep(0.2)
        # A broken file in the middle of the load: nothing changes.
        srv.write_config(None, text="pipeline: [\n")
        srv.reload()
        srv.wait_log("reload failed")
        time.sleep(0.3)
    for load in (udp, udp2, tcp):
        assert load.bad == [], f"{load.transport}: {load.bad[:5]}"
        assert load.sent > 20 and load.answered == load.sent
        # Versions only move forward, and the last one stays after the failed reload.
        order = [int(v[1:]) for v in load.versions]
        assert order == sorted(order) and order[-1] == 5, load.versions
    assert version_of(srv) == "v5"


def test_reload_keeps_tcp_connections(make_server):
    srv = make_server([("chaos", {"version": "a"})])
    with srv.tcp_connect() as s:
        def ask():
            q = make_query("version.bind.", "TXT", "CH")
            w = q.to_wire()
            s.sendall(struct.pack("!H", len(w)) + w)
            return txt_text(dns.message.from_wire(read_frame(s)).answer[0])

        assert ask() == b"a"
        set_version(srv, "b")
        srv.reload()
        srv.wait_log("configuration 2 loaded")
        assert ask() == b"b"


def test_sighup_storm(make_server):
    srv = make_server([("chaos", {"version": "storm"})])
    for _ in range(20):
        srv.proc.send_signal(signal.SIGHUP)
    srv.assert_serving()
    time.sleep(0.5)
    srv.assert_serving()
    assert version_of(srv) == "storm"
    assert srv.stop() == 0


def test_udp_socket_error_does_not_stop_service(server):
    """An ICMP port unreachable for an earlier reply must not break the UDP socket."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(make_query("id.server.", "TXT", "CH").to_wire(), ("127.0.0.1", server.port))
    s.close()  # the reply hits a closed port
    time.sleep(0.1)
    server.assert_serving()
    dns.query.udp(make_query("id.server.", "TXT", "CH"), "127.0.0.1", port=server.port,
                  timeout=3)
