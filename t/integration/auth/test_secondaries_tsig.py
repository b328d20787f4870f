"""Real secondaries of cloudDNS with TSIG: Knot DNS and BIND named sign their transfer
requests with a shared key, take the zone by AXFR, and after an RFC 2136 update they get our
NOTIFY and fetch the change by IXFR (from our journal); their answers then match ours. A
transfer without the key is refused."""

import base64
import os
import shutil
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest

from cdnstest import free_port

SECRET = base64.b64encode(b"secondary-transfer-key-32-bytes!").decode()
KEY = "xfr.test."
ZONE = """$ORIGIN example.test.
$TTL 300
@       SOA ns1 hostmaster 100 3600 600 86400 60
        NS  ns1
ns1     A   192.0.2.1
www     A   192.0.2.10
h0      A   198.51.100.0
h1      A   198.51.100.1
h2      A   198.51.100.2
h3      A   198.51.100.3
h4      A   198.51.100.4
h5      A   198.51.100.5
h6      A   198.51.100.6
h7      A   198.51.100.7
h8      A   198.51.100.8
h9      A   198.51.100.9
"""


def pipeline(tmp_path, notify, signed_notify=False):
    zone = tmp_path / "example.test.zone"
    zone.write_text(ZONE)
    jdir = tmp_path / "journal"
    jdir.mkdir(exist_ok=True)
    if signed_notify:
        key = f'{{name: {KEY}, algorithm: hmac-sha256, secret: "{SECRET}"}}'
        targets = ", ".join(f'{{address: "127.0.0.1:{p}", key: {key}}}' for p in notify)
    else:
        targets = ", ".join(f'"127.0.0.1:{p}"' for p in notify)
    return (f"- tsig: {{keys: [{{name: {KEY}, algorithm: hmac-sha256, secret: \"{SECRET}\"}}]}}\n"
            f"- update: {{acl: [{{address: 127.0.0.0/8}}]}}\n"
            f"- transfer: {{acl: [{{key: {KEY}}}], notify: [{targets}]}}\n"
            f"- file: {{zones: [{{name: example.test, path: \"{zone}\"}}], journal: \"{jdir}\"}}\n")


def serial_at(port):
    try:
        r = dns.query.udp(dns.message.make_query("example.test.", "SOA"), "127.0.0.1",
                          port=port, timeout=0.5)
        return r.answer[0][0].serial if r.answer else None
    except Exception:
        return None


def wait_serial(port, serial, what):
    deadline = time.monotonic() + 40
    while serial_at(port) != serial:
        assert time.monotonic() < deadline, what()
        time.sleep(0.1)


def start_knot(tmp_path, port, primary_port, signed_notify=False):
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    d = tmp_path / "knot"
    (d / "db").mkdir(parents=True)
    (d / "knot.conf").write_text(f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{port}
log:
  - target: stderr
    any: info
database:
    storage: "{d}/db"
key:
  - id: {KEY}
    algorithm: hmac-sha256
    secret: {SECRET}
remote:
  - id: primary
    address: 127.0.0.1@{primary_port}
    key: {KEY}
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify{f"{chr(10)}    key: {KEY}" if signed_notify else ""}
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
zone:
  - domain: example.test
    master: primary
    acl: notify_from_primary
""")
    log = open(d / "log", "wb")
    proc = subprocess.Popen([knotd, "-c", str(d / "knot.conf")], stdout=log, stderr=log)
    return proc, log, d / "log"


def start_named(tmp_path, port, primary_port):
    named = shutil.which("named") or "/usr/sbin/named"
    d = tmp_path / "named"
    d.mkdir()
    (d / "named.conf").write_text(f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    allow-notify {{ 127.0.0.1; }};
    notify no;
}};
key "{KEY}" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
controls {{ }};
zone "example.test" {{
    type secondary;
    primaries {{ 127.0.0.1 port {primary_port} key "{KEY}"; }};
    file "example.test.bak";
}};
""")
    log = open(d / "log", "wb")
    proc = subprocess.Popen([named, "-g", "-u", "root", "-c", str(d / "named.conf")],
                            stdout=log, stderr=log)
    return proc, log, d / "log"


@pytest.mark.parametrize("which", ["knot", "named", "knot-signed-notify"])
def test_secondary_with_tsig_follows_updates(make_server, tmp_path, which):
    # knot-signed-notify: Knot accepts a NOTIFY only when signed with the key (acl with
    # key), so the change reaches it in time only through our signed NOTIFY (the zone's
    # refresh is an hour).
    signed = which == "knot-signed-notify"
    # The secondary's port is chosen first: our configuration names it for NOTIFY.
    port = free_port(ipv6=False)
    srv = make_server(pipeline(tmp_path, [port], signed_notify=signed))
    if which == "named":
        proc, log, logpath = start_named(tmp_path, port, srv.port)
    else:
        proc, log, logpath = start_knot(tmp_path, port, srv.port, signed_notify=signed)
    try:
        what = lambda: logpath.read_text() + srv.log()
        wait_serial(port, 100, what)
        u = dns.update.UpdateMessage("example.test.")
        u.add("fresh", 300, "A", "192.0.2.77")
        r = dns.query.tcp(u, "127.0.0.1", port=srv.port, timeout=10)
        assert r.rcode() == dns.rcode.NOERROR
        wait_serial(port, 101, what)
        q = dns.message.make_query("fresh.example.test.", "A")
        theirs = dns.query.udp(q, "127.0.0.1", port=port, timeout=2)
        ours = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=2)
        assert theirs.answer == ours.answer and theirs.answer
        text = logpath.read_text()
        if which != "named":
            assert "denied" not in text, text
            # Knot's answer to the NOTIFY ended our retries (for the signed one: its
            # signature verified): serial 101 was announced once, not again a second later.
            time.sleep(2.5)
            text = logpath.read_text()
            assert text.count("notify, incoming, remote 127.0.0.1") >= 1, text
            assert sum("serial 101" in line and "notify, incoming" in line
                       for line in text.splitlines()) == 1, text
            assert "IXFR, incoming" in text and "fallback to AXFR" not in text, text
        else:
            # BIND 9.18 does not name the transfer type in its log; the record count does:
            # the whole zone is 16 records, the IXFR 5 (SOA new, SOA old, SOA new, the new
            # record, SOA new).
            assert "Transfer completed: 1 messages, 15 records" in text, text
            assert "Transfer completed: 1 messages, 5 records" in text, text
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def test_transfer_without_key_refused(make_server, tmp_path):
    srv = make_server(pipeline(tmp_path, []).replace(", notify: []", ""))
    q = dns.message.make_query("example.test.", "AXFR")
    r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED
    # With the key: the transfer succeeds and every message verifies.
    keyring = dns.tsigkeyring.from_text({KEY: SECRET})
    msgs = list(dns.query.xfr("127.0.0.1", "example.test.", port=srv.port, keyring=keyring,
                              keyname=KEY, keyalgorithm="hmac-sha256", lifetime=10))
    assert sum(len(rrset) for m in msgs for rrset in m.answer) == 15
