"""The transfer plugin: AXFR and IXFR out, access rules, multi-message streaming, and Knot DNS
as a real secondary pulling the zone from cloudDNS."""

import shutil
import subprocess
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from cdnstest import PLUGIN_DIR, SERVER_BIN, free_port, server_env

ZONE = """$ORIGIN example.test.
$TTL 300
@       SOA ns1 hostmaster {serial} 3600 600 86400 60
        NS  ns1
ns1     A   192.0.2.1
www     A   192.0.2.10
mail    MX  10 www
"""


def big_zone(n):
    lines = [ZONE.format(serial=7)]
    lines += [f"h{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(n)]
    return "\n".join(lines) + "\n"


def pipeline(zone_path, acl='[{address: 127.0.0.0/8}]'):
    return (f"- transfer: {{acl: {acl}}}\n"
            f"- file: {{zones: [{{name: example.test, path: \"{zone_path}\"}}]}}\n")


@pytest.fixture
def zone_file(tmp_path):
    p = tmp_path / "example.test.zone"
    p.write_text(ZONE.format(serial=2026112701))
    return p


def axfr(port, name="example.test."):
    """All messages of an AXFR as dnspython messages."""
    q = dns.message.make_query(name, "AXFR")
    return list(dns.query.xfr("127.0.0.1", name, port=port, relativize=False, lifetime=30))


def test_axfr_allowed(make_server, zone_file):
    srv = make_server(pipeline(zone_file))
    z = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.test.", port=srv.port,
                                        lifetime=30))
    ref = dns.zone.from_text(zone_file.read_text(), origin="example.test.")
    assert z == ref
    msgs = axfr(srv.port)
    assert all(m.flags & dns.flags.AA for m in msgs)
    records = [rr for m in msgs for rr in m.answer]
    assert records[0].rdtype == dns.rdatatype.SOA and records[-1].rdtype == dns.rdatatype.SOA


def test_axfr_many_messages(make_server, tmp_path):
    p = tmp_path / "example.test.zone"
    p.write_text(big_zone(20000))
    srv = make_server(pipeline(p))
    msgs = axfr(srv.port)
    assert len(msgs) > 1
    count = sum(len(rrset) for m in msgs for rrset in m.answer)
    assert count == 20000 + 5 + 1  # the records, plus the SOA once more at the end
    names = {rrset.name for m in msgs for rrset in m.answer}
    assert len(names) == 20000 + 4


def test_axfr_refused_by_acl(make_server, zone_file):
    srv = make_server(pipeline(zone_file, acl="[{address: 192.0.2.0/24}]"))
    q = dns.message.make_query("example.test.", "AXFR")
    r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED
    assert not r.answer
    # A key the client did not sign with does not help either.
    srv2 = make_server(pipeline(zone_file, acl="[{address: 127.0.0.1, key: xfr.test}]"))
    r = dns.query.tcp(q, "127.0.0.1", port=srv2.port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED


def test_axfr_over_udp_is_notimp(make_server, zone_file):
    srv = make_server(pipeline(zone_file))
    q = dns.message.make_query("example.test.", "AXFR")
    r = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=5)
    assert r.rcode() == dns.rcode.NOTIMP


def ixfr_query(serial):
    q = dns.message.make_query("example.test.", "IXFR")
    soa = dns.rrset.from_text("example.test.", 0, "IN", "SOA",
                              f"ns1.example.test. hostmaster.example.test. {serial} 1 1 1 1")
    q.authority.append(soa)
    return q


def test_ixfr(make_server, zone_file):
    srv = make_server(pipeline(zone_file))
    # Up to date (same serial, or newer in RFC 1982 terms): the SOA alone, UDP and TCP.
    for serial in (2026112701, 2026112702):
        for fn in (dns.query.udp, dns.query.tcp):
            r = fn(ixfr_query(serial), "127.0.0.1", port=srv.port, timeout=5,
                   one_rr_per_rrset=True)
            assert r.rcode() == dns.rcode.NOERROR
            assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.SOA]
            assert r.answer[0][0].serial == 2026112701
    # Behind over UDP: TC, retry over TCP.
    r = dns.query.udp(ixfr_query(2026112600), "127.0.0.1", port=srv.port, timeout=5)
    assert r.flags & dns.flags.TC
    # Behind over TCP: the whole zone (no journal yet), SOA first and last.
    r = dns.query.tcp(ixfr_query(2026112600), "127.0.0.1", port=srv.port, timeout=5,
                      one_rr_per_rrset=True)
    types = [rr.rdtype for rr in r.answer]
    assert types[0] == dns.rdatatype.SOA and types[-1] == dns.rdatatype.SOA
    assert sum(len(rr) for rr in r.answer) == 5 + 1


def test_knot_secondary_pulls_zone(make_server, zone_file, tmp_path):
    """Knot DNS as our secondary: it transfers the zone and answers like we do."""
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    srv = make_server(pipeline(zone_file))
    kport = free_port(ipv6=False)
    kdir = tmp_path / "knot"
    kdir.mkdir()
    (kdir / "knot.conf").write_text(f"""server:
    rundir: "{kdir}"
    listen: 127.0.0.1@{kport}
log:
  - target: stderr
    any: info
database:
    storage: "{kdir}/db"
remote:
  - id: primary
    address: 127.0.0.1@{srv.port}
template:
  - id: default
    storage: "{kdir}"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: example.test
    master: primary
""")
    log = open(kdir / "knotd.log", "wb")
    proc = subprocess.Popen([knotd, "-c", str(kdir / "knot.conf")], stdout=log, stderr=log)
    try:
        q = dns.message.make_query("www.example.test.", "A")
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (kdir / "knotd.log").read_text()
            try:
                r = dns.query.udp(q, "127.0.0.1", port=kport, timeout=0.5)
                if r.rcode() == dns.rcode.NOERROR and r.answer:
                    break
            except dns.exception.Timeout:
                pass
            assert time.monotonic() < deadline, (kdir / "knotd.log").read_text()
            time.sleep(0.1)
        ours = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=2)
        assert r.answer == ours.answer
        assert "AXFR" in (kdir / "knotd.log").read_text()
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_notify_target_errors(server_bin, tmp_path):
    # Each bad target is reported where it is, and the file is refused.
    path = tmp_path / "bad.yaml"
    path.write_text("""\
pipeline:
  - transfer:
      acl: [{address: 127.0.0.0/8}]
      notify:
        - "127.0.0.1:5300"
        - {address: "127.0.0.1:5301", key: {name: k1, secret: "%%%"}}
        - {address: "nowhere"}
        - {key: {name: k1, secret: "c2VjcmV0"}}
        - {address: "127.0.0.1:5302", key: {name: k1, algorithm: hmac-sha3, secret: "c2VjcmV0"}}
  - file: {zones: [{name: example.test, path: "/nonexistent"}]}
""")
    out = subprocess.run([str(SERVER_BIN), "-t", "-P", str(PLUGIN_DIR), "-c", str(path)],
                         capture_output=True, text=True, timeout=60, env=server_env())
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert f"{path}:6:63: plugin 'transfer': notify: key: bad secret" in lines, lines
    assert (f"{path}:7:21: plugin 'transfer': option 'notify': must be an address with an "
            f"optional port such as \"192.0.2.1\" or \"[2001:db8::1]:5300\", or "
            f"{{address: ..., key: ...}}, got \"nowhere\"") in lines, lines
    assert f"{path}:8:11: plugin 'transfer': option 'address' is required" in lines, lines
    assert any(line.startswith(f"{path}:9:") and "notify: key: bad algorithm (hmac-sha256" in line
               for line in lines), lines
