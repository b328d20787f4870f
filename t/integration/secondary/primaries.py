"""Primaries for the secondary plugin's tests: Knot DNS (knotd, driven with knotc over its
control socket so that it keeps a journal and serves IXFR), BIND (named), and a scripted fake
primary in Python that can misbehave in precise ways."""

import os
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import threading
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring

from cdnstest import free_port, make_query

ZONE = """$ORIGIN {name}.
$TTL 300
@       SOA ns1 hostmaster {serial} {refresh} {retry} {expire} 60
        NS  ns1
        NS  ns2
        MX  10 mail
ns1     A   192.0.2.1
ns2     A   192.0.2.2
www     A   192.0.2.10
        AAAA 2001:db8::10
mail    A   192.0.2.25
alias   CNAME www
*.wild  TXT "wildcard"
sub     NS  ns.sub
ns.sub  A   192.0.2.53
"""


def zone_text(name="example.test", serial=1, refresh=3600, retry=600, expire=604800):
    return ZONE.format(name=name, serial=serial, refresh=refresh, retry=retry, expire=expire)


def wait_for(pred, timeout=20.0, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def query(port, name, rdtype="A", addr="127.0.0.1", timeout=1.0):
    """A UDP query; None on timeout."""
    try:
        return dns.query.udp(make_query(name, rdtype), addr, port=port, timeout=timeout)
    except dns.exception.Timeout:
        return None


def soa_serial(port, name="example.test."):
    r = query(port, name, "SOA")
    if r is None or r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return r.answer[0][0].serial


def send_notify(port, zone="example.test.", source="127.0.0.1", serial=None, timeout=2.0,
                key=None):
    """Send a NOTIFY (RFC 1996) for zone from source, signed with key (name, base64 secret)
    if given; returns the request and the response (or None)."""
    q = dns.message.make_query(zone, "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    q.flags |= dns.flags.AA
    if serial is not None:
        q.answer.append(dns.rrset.from_text(
            zone, 300, "IN", "SOA", f"ns1.{zone} hostmaster.{zone} {serial} 1 1 1 1"))
    if key is not None:
        q.use_tsig(dns.tsigkeyring.from_text({key[0]: key[1]}), keyname=key[0],
                   algorithm="hmac-sha256")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.bind((source, 0))
        s.sendto(q.to_wire(), ("127.0.0.1", port))
        try:
            wire = s.recv(65535)
        except socket.timeout:
            return None
    if key is None:
        return q, dns.message.from_wire(wire)
    try:
        return q, dns.message.from_wire(wire, keyring=q.keyring, request_mac=q.mac)
    except dns.tsig.PeerError:
        # A TSIG error answer (BADSIG, BADKEY...): its header is what the tests look at.
        return q, HeaderOnly(wire)


class HeaderOnly:
    """The parts of a response dnspython refuses to parse (a TSIG error)."""

    def __init__(self, wire):
        self.id = int.from_bytes(wire[0:2], "big")
        self._rcode = wire[3] & 0x0F

    def rcode(self):
        return self._rcode


class Knot:
    """knotd as the primary of one zone, with a control socket for knotc. notify_port: where
    it sends NOTIFY (our server). ixfr=False makes it answer IXFR AXFR-style."""

    def __init__(self, base, name="example.test", text=None, notify_port=None, ixfr=True,
                 tsig=None):
        self.dir = Path(base)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "db").mkdir(exist_ok=True)
        self.name = name
        self.port = free_port(ipv6=False)
        self.conf = self.dir / "knot.conf"
        self.logfile = self.dir / "knotd.log"
        self.zonefile = self.dir / f"{name}.zone"
        self.zonefile.write_text(text or zone_text(name))
        self.proc = None
        self.notify_port = notify_port
        self.ixfr = ixfr
        self.tsig = tsig  # (key name, base64 secret): transfers only with that key

    def write_conf(self):
        remote = notify = keys = acl_key = ""
        if self.tsig is not None:
            keys = (f"key:\n  - id: {self.tsig[0]}\n    algorithm: hmac-sha256\n"
                    f"    secret: {self.tsig[1]}\n")
            acl_key = f"    key: {self.tsig[0]}\n"
        if self.notify_port is not None:
            remote = f"remote:\n  - id: secondary\n    address: 127.0.0.1@{self.notify_port}\n"
            notify = "    notify: secondary\n"
        self.conf.write_text(f"""server:
    rundir: "{self.dir}"
    listen: 127.0.0.1@{self.port}
log:
  - target: stderr
    any: info
database:
    storage: "{self.dir}/db"
control:
    listen: "{self.dir}/knot.sock"
{keys}{remote}acl:
  - id: transfer
    address: 127.0.0.0/8
{acl_key}    action: transfer
template:
  - id: default
    storage: "{self.dir}"
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
    provide-ixfr: {"on" if self.ixfr else "off"}
zone:
  - domain: {self.name}
    acl: transfer
{notify}""")

    def start(self):
        knotd = shutil.which("knotd") or "/usr/sbin/knotd"
        self.write_conf()
        self._log = open(self.logfile, "ab")
        self.proc = subprocess.Popen([knotd, "-c", str(self.conf)], stdout=self._log,
                                     stderr=self._log, stdin=subprocess.DEVNULL)
        wait_for(lambda: self._check() and soa_serial(self.port, self.name + ".") is not None,
                 what=f"knotd to serve {self.name}")
        return self

    def _check(self):
        assert self.proc.poll() is None, f"knotd exited:\n{self.log()}"
        return True

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def knotc(self, *args):
        knotc = shutil.which("knotc") or "/usr/sbin/knotc"
        out = subprocess.run([knotc, "-c", str(self.conf), *args], capture_output=True,
                             text=True, timeout=30)
        assert out.returncode == 0, f"knotc {' '.join(args)}: {out.stdout}{out.stderr}"
        return out.stdout

    def change(self, add=(), remove=()):
        """One transaction: remove then add (owner, ttl, type, rdata) records; Knot bumps the
        serial and keeps the change in its journal (served as IXFR)."""
        self.knotc("zone-begin", self.name)
        for owner, rtype, rdata in remove:
            self.knotc("zone-unset", self.name, owner, rtype, *rdata.split())
        for owner, ttl, rtype, rdata in add:
            self.knotc("zone-set", self.name, owner, str(ttl), rtype, *rdata.split())
        self.knotc("zone-commit", self.name)

    def serial(self):
        return soa_serial(self.port, self.name + ".")

    def log(self):
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class Bind:
    """named as the primary of one zone (allow-transfer and notify to our server)."""

    def __init__(self, base, name="example.test", text=None, notify_port=None, dynamic=False):
        self.dir = Path(base)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.dynamic = dynamic  # accept RFC 2136 updates from 127.0.0.1 (then no rndc reload)
        self.port = free_port(ipv6=False)
        self.conf = self.dir / "named.conf"
        self.logfile = self.dir / "named.log"
        self.zonefile = self.dir / f"{name}.zone"
        self.zonefile.write_text(text or zone_text(name))
        self.rndc_port = free_port(ipv6=False)
        self.notify_port = notify_port
        self.proc = None

    def write_conf(self):
        notify = "notify no;"
        if self.notify_port is not None:
            notify = f"notify explicit; also-notify {{ 127.0.0.1 port {self.notify_port}; }};"
        self.conf.write_text(f"""options {{
    directory "{self.dir}";
    pid-file "{self.dir}/named.pid";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    allow-transfer {{ 127.0.0.0/8; }};
    notify-source 127.0.0.1;
    ixfr-from-differences yes;
    session-keyfile "{self.dir}/session.key";
    managed-keys-directory "{self.dir}";
}};
key "rndc-key" {{ algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="; }};
controls {{ inet 127.0.0.1 port {self.rndc_port} allow {{ 127.0.0.1; }} keys {{ "rndc-key"; }}; }};
zone "{self.name}" {{
    type primary;
    file "{self.zonefile}";
    {notify}
    {"allow-update { 127.0.0.1; };" if self.dynamic else ""}
}};
""")
        (self.dir / "rndc.conf").write_text(f"""key "rndc-key" {{ algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="; }};
options {{ default-key "rndc-key"; default-server 127.0.0.1; default-port {self.rndc_port}; }};
""")

    @staticmethod
    def available():
        return shutil.which("named") or os.path.exists("/usr/sbin/named")

    def start(self):
        named = shutil.which("named") or "/usr/sbin/named"
        self.write_conf()
        self._log = open(self.logfile, "ab")
        args = [named, "-g", "-c", str(self.conf)]
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=self._log,
                                     stdin=subprocess.DEVNULL)
        wait_for(lambda: self._check() and soa_serial(self.port, self.name + ".") is not None,
                 what=f"named to serve {self.name}")
        return self

    def _check(self):
        assert self.proc.poll() is None, f"named exited:\n{self.log()}"
        return True

    def rndc(self, *args):
        rndc = shutil.which("rndc") or "/usr/sbin/rndc"
        out = subprocess.run([rndc, "-c", str(self.dir / "rndc.conf"), *args],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, f"rndc {' '.join(args)}: {out.stdout}{out.stderr}"
        return out.stdout

    def reload(self, text):
        """Rewrite the zone file and reload it (with ixfr-from-differences named keeps the
        difference, so it can answer IXFR)."""
        tmp = self.zonefile.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.zonefile)
        self.rndc("reload", self.name)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def log(self):
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""


# --- A scripted primary. ---


def _rrsets(text, origin):
    """The records of a zone text as (name, ttl, rdataset) RRsets, SOA first."""
    import dns.zone
    z = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=True)
    soa = None
    out = []
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            rrset = dns.rrset.RRset(name, rds.rdclass, rds.rdtype)
            rrset.update(rds)
            if rds.rdtype == dns.rdatatype.SOA:
                soa = rrset
            else:
                out.append(rrset)
    return soa, out


class FakePrimary:
    """UDP and TCP on 127.0.0.1 (one port). Answers SOA queries with the current version's
    SOA and transfers according to `mode`:
      good         IXFR refused (NOTIMP), AXFR whole
      ixfr         IXFR with one difference sequence from `ixfr_from` (a zone text)
      ixfr_chain   IXFR whose second sequence does not start where the first ended
      cut          AXFR: first half of the records, then the connection is closed
      last_soa     AXFR whose last SOA has another serial
      cname        AXFR of a zone with a CNAME beside other data (does not build)
      wrong_id     AXFR answered with another message ID
      garbage      AXFR answered with bytes that are not a DNS message
      tc           the SOA query over UDP is answered with TC (the answer comes over TCP)
      slow         AXFR answered after `delay` seconds
    `zones` may map further origins to zone texts (served like the main one, mode "good").
    Every request is recorded in `requests` as (transport, qtype name)."""

    def __init__(self, text, origin="example.test.", addr="127.0.0.1"):
        self.origin = origin
        self.text = text
        self.mode = "good"
        self.delay = 1.0
        self.zones = {}
        self.udp_drop = 0  # datagrams to ignore (lost queries)
        self.ixfr_from = None
        self.requests = []
        self.port = free_port(ipv6=True)
        self.addr = addr
        owner = self
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET

        class UDPServer(socketserver.UDPServer):
            address_family = family
            allow_reuse_address = True

        class TCPServer(socketserver.ThreadingTCPServer):
            address_family = family
            allow_reuse_address = True
            daemon_threads = True

        class UDP(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                owner._udp(data, sock, self.client_address)

        class TCP(socketserver.BaseRequestHandler):
            def handle(self):
                owner._tcp(self.request)

        self.udp = UDPServer((addr, self.port), UDP)
        self.tcp = TCPServer((addr, self.port), TCP)
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True)
                        for s in (self.udp, self.tcp)]
        for t in self.threads:
            t.start()

    def close(self):
        for s in (self.udp, self.tcp):
            s.shutdown()
            s.server_close()

    def _soa(self, text=None):
        return _rrsets(text or self.text, self.origin)[0]

    def _other(self, q):
        """The text of another zone the question is for, or None."""
        name = q.question[0].name.to_text().lower()
        return self.zones.get(name)

    def _response(self, q):
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        return r

    def _udp(self, data, sock, addr):
        q = dns.message.from_wire(data)
        qtype = dns.rdatatype.to_text(q.question[0].rdtype)
        self.requests.append(("udp", qtype))
        if self.udp_drop > 0:
            self.udp_drop -= 1
            return
        r = self._response(q)
        other = self._other(q)
        if other is not None:
            r.answer.append(_rrsets(other, q.question[0].name)[0])
        elif self.mode == "tc":
            r.flags |= dns.flags.TC
        else:
            r.answer.append(self._soa())
        sock.sendto(r.to_wire(), addr)

    def _send(self, conn, wire):
        conn.sendall(struct.pack("!H", len(wire)) + wire)

    def _tcp(self, conn):
        try:
            (n,) = struct.unpack("!H", self._recv(conn, 2))
            q = dns.message.from_wire(self._recv(conn, n))
        except (ConnectionError, OSError):
            return
        qtype = dns.rdatatype.to_text(q.question[0].rdtype)
        self.requests.append(("tcp", qtype))
        other = self._other(q)
        if other is not None:
            soa, rrsets = _rrsets(other, q.question[0].name)
            r = self._response(q)
            if qtype == "IXFR":
                r.set_rcode(dns.rcode.NOTIMP)
            else:
                r.answer = [soa] + rrsets + [soa]
            self._send(conn, r.to_wire())
            return
        soa, rrsets = _rrsets(self.text, self.origin)
        r = self._response(q)
        if qtype == "SOA":
            r.answer.append(soa)
            self._send(conn, r.to_wire())
            return
        if qtype == "IXFR" and self.mode in ("ixfr", "ixfr_chain"):
            old_soa, old = _rrsets(self.ixfr_from, self.origin)
            old_set = {(rr.name, rr.rdtype, rd) for rr in old for rd in rr}
            new_set = {(rr.name, rr.rdtype, rd) for rr in rrsets for rd in rr}
            ans = [soa, old_soa]
            ans += [self._rr(n, t, rd) for (n, t, rd) in old_set - new_set]
            if self.mode == "ixfr_chain":
                # A second sequence that starts from a serial nobody had.
                mid = self._with_serial(soa, soa[0].serial - 1)
                ans += [mid, self._with_serial(soa, soa[0].serial + 5), soa]
            else:
                ans.append(soa)
            ans += [self._rr(n, t, rd) for (n, t, rd) in new_set - old_set]
            ans.append(soa)
            r.answer = ans
            self._send(conn, r.to_wire())
            return
        if qtype == "IXFR":
            r.set_rcode(dns.rcode.NOTIMP)
            self._send(conn, r.to_wire())
            return
        # AXFR
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "garbage":
            self._send(conn, b"\x12\x34not a dns message at all")
            return
        if self.mode == "wrong_id":
            r.id = (q.id + 1) & 0xffff
        if self.mode == "cname":
            rrsets = rrsets + [dns.rrset.from_text("www." + self.origin, 300, "IN", "CNAME",
                                                   "mail." + self.origin)]
        last = soa
        if self.mode == "last_soa":
            last = self._with_serial(soa, soa[0].serial + 1)
        if self.mode == "cut":
            r.answer = [soa] + rrsets[:len(rrsets) // 2]
            self._send(conn, r.to_wire())
            return
        # Two messages, to exercise multi-message reading.
        half = len(rrsets) // 2
        r.answer = [soa] + rrsets[:half]
        self._send(conn, r.to_wire())
        r2 = self._response(q)
        r2.id = r.id
        r2.question = []
        r2.answer = rrsets[half:] + [last]
        self._send(conn, r2.to_wire())

    @staticmethod
    def _rr(name, rdtype, rd):
        rrset = dns.rrset.RRset(name, rd.rdclass, rdtype)
        rrset.add(rd, 300)
        return rrset

    @staticmethod
    def _with_serial(soa, serial):
        rd = soa[0].replace(serial=serial & 0xffffffff)
        rrset = dns.rrset.RRset(soa.name, soa.rdclass, soa.rdtype)
        rrset.add(rd, soa.ttl)
        return rrset

    @staticmethod
    def _recv(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf
