"""Helpers for the integration tests: where the build is, free loopback ports, a handle on a
running clouddns, and small DNS clients (dnspython for well-formed messages, raw sockets for
the rest)."""

import json
import os
import random
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

HERE = Path(__file__).resolve().parent
TOP_SRCDIR = Path(os.environ.get("top_srcdir") or HERE.parents[1]).resolve()
TOP_BUILDDIR = Path(os.environ.get("top_builddir") or TOP_SRCDIR).resolve()
SERVER_BIN = TOP_BUILDDIR / "server" / "clouddns"
PLUGIN_DIR = TOP_BUILDDIR / "plugins" / ".built"

# Generous: sanitizer builds and loaded CI machines are slow to start.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def server_env(extra=None):
    """The environment for a clouddns child: no plugin path inherited from the caller."""
    env = dict(os.environ)
    env.pop("CLOUDDNS_PLUGIN_PATH", None)
    if extra:
        env.update(extra)
    return env


def _can_bind(family, addr, port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(family, kind)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(ipv6=True):
    """A port free for UDP and TCP on 127.0.0.1 (and ::1), below the ephemeral range so that
    client sockets of the tests cannot take it in the meantime."""
    for _ in range(500):
        port = random.randint(20000, 32000)
        if not _can_bind(socket.AF_INET, "127.0.0.1", port):
            continue
        if ipv6 and not _can_bind(socket.AF_INET6, "::1", port):
            continue
        return port
    raise RuntimeError("no free port on loopback")


def yaml_scalar(value):
    """A value in YAML flow syntax (JSON is valid YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def make_config(port, pipeline, server=None, ipv6=True):
    """Configuration text. pipeline: a list of (name, options dict) or YAML text of the
    pipeline list; server: extra server options."""
    listen = [f"127.0.0.1:{port}"]
    if ipv6:
        listen.append(f"[::1]:{port}")
    opts = {"listen": listen, "workers": 2, "identity": "ns1.test", "log_level": "info"}
    opts.update(server or {})
    lines = ["server:"]
    for key, value in opts.items():
        if value is None:
            continue
        lines.append(f"  {key}: {yaml_scalar(value)}")
    lines.append("pipeline:")
    if isinstance(pipeline, str):
        lines.extend("  " + line for line in pipeline.strip("\n").splitlines())
    else:
        for name, popts in pipeline:
            lines.append(f"  - {name}: {yaml_scalar(popts or {})}")
    return "\n".join(lines) + "\n"


class ServerDied(Exception):
    pass


class Server:
    """A clouddns process on loopback. Created by the `make_server` fixture."""

    def __init__(self, workdir, pipeline, server=None, ipv6=True, extra_args=(), env=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ipv6 = ipv6
        self.port = free_port(ipv6)
        self.conf = self.dir / "clouddns.yaml"
        self.stderr_path = self.dir / "stderr.log"
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.stopped = False
        self.write_config(pipeline, server)

    # --- configuration and lifecycle ---

    def write_config(self, pipeline, server=None, text=None):
        """Rewrite the configuration (atomically: a reload never reads half a file)."""
        if text is None:
            text = make_config(self.port, pipeline, server, self.ipv6)
        tmp = self.conf.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.conf)

    def command(self):
        return [str(SERVER_BIN), "-P", str(PLUGIN_DIR), *self.extra_args, "-c", str(self.conf)]

    def start(self):
        assert SERVER_BIN.exists(), f"{SERVER_BIN} not built"
        self._err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._err, stderr=self._err,
                                     env=server_env(self.env))
        self.wait_ready()
        return self

    def wait_ready(self):
        """Wait until the server answers a query (any answer will do)."""
        deadline = time.monotonic() + START_TIMEOUT
        probe = make_query("ready.probe.", "TXT", "CH")
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                dns.query.udp(probe, "127.0.0.1", port=self.port, timeout=0.2)
                return
            except (dns.exception.Timeout, ConnectionRefusedError, OSError):
                pass
        raise AssertionError(f"server did not answer within {START_TIMEOUT}s:\n{self.log()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise ServerDied(f"clouddns exited with {self.proc.returncode}:\n{self.log()}")

    def reload(self):
        """Send SIGHUP (the caller checks the effect by querying)."""
        self.check_alive()
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal the server and wait; returns its exit status."""
        self.stopped = True
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"clouddns did not exit within {timeout}s of {sig!r}")
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "_err", None):
            self._err.close()

    def log(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, needle, count=1, timeout=10.0):
        """Wait until needle appears at least count times in stderr; returns the log."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()
            if text.count(needle) >= count:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not logged {count}x within {timeout}s:\n{text}")
            self.check_alive()
            time.sleep(0.05)

    # --- queries ---

    def addr(self, family=4):
        return "127.0.0.1" if family == 4 else "::1"

    def udp(self, q, family=4, timeout=3.0, **kw):
        return dns.query.udp(q, self.addr(family), port=self.port, timeout=timeout, **kw)

    def tcp(self, q, family=4, timeout=3.0, **kw):
        return dns.query.tcp(q, self.addr(family), port=self.port, timeout=timeout, **kw)

    def udp_sport(self, q, family=4, timeout=3.0):
        """Query over UDP from a socket of our own; returns (response, our source port)."""
        fam = socket.AF_INET if family == 4 else socket.AF_INET6
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.bind((self.addr(family), 0))
            s.sendto(q.to_wire(), (self.addr(family), self.port))
            wire = s.recv(65535)
            msg = dns.message.from_wire(wire)
            msg.wire_len = len(wire)
            return msg, s.getsockname()[1]

    def tcp_sport(self, q, family=4, timeout=3.0):
        """Query over TCP; returns (response, our source port)."""
        with self.tcp_connect(family, timeout) as s:
            wire = q.to_wire()
            s.sendall(struct.pack("!H", len(wire)) + wire)
            wire = read_frame(s)
            msg = dns.message.from_wire(wire)
            msg.wire_len = len(wire)
            return msg, s.getsockname()[1]

    def udp_raw(self, wire, family=4, timeout=1.0):
        """Send bytes over UDP; return the reply's bytes or None if nothing came back."""
        fam = socket.AF_INET if family == 4 else socket.AF_INET6
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(wire, (self.addr(family), self.port))
            try:
                return s.recv(65535)
            except socket.timeout:
                return None

    def tcp_connect(self, family=4, timeout=5.0):
        fam = socket.AF_INET if family == 4 else socket.AF_INET6
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((self.addr(family), self.port))
        return s

    def tcp_raw(self, wire, timeout=3.0):
        """Send one framed message over a new TCP connection; return the reply's bytes or
        None when the server closed without answering."""
        with self.tcp_connect(timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            try:
                return read_frame(s)
            except (ConnectionError, socket.timeout):
                return None

    def assert_serving(self):
        """The server is alive and answers normally over UDP and TCP."""
        self.check_alive()
        q = make_query("id.server.", "TXT", "CH")
        for r in (self.udp(q), self.tcp(q)):
            assert r.id == q.id
            assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.REFUSED)


def make_query(name, rdtype="A", rdclass="IN", **kw):
    return dns.message.make_query(name, rdtype, rdclass, **kw)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_frame(sock):
    (length,) = struct.unpack("!H", recv_exact(sock, 2))
    return recv_exact(sock, length)


def header(wire):
    """(id, flags, qdcount, ancount, nscount, arcount) of a message."""
    return struct.unpack("!6H", wire[:12])


def rcode_of(wire):
    """The 12-bit rcode of a raw response (header plus the OPT's extended bits)."""
    msg = dns.message.from_wire(wire)
    return msg.rcode()


def txt_text(rrset):
    """The TXT strings of the first record of an RRset, joined."""
    rd = next(iter(rrset))
    return b"".join(rd.strings)
