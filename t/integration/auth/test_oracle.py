"""cloudDNS against a real oracle: Knot DNS and clouddns serve the same zone files on loopback
and every query gets the same answer from both — rcode, AA, TC, and the answer, authority and
additional sections as sets with TTLs — over UDP and TCP, with and without EDNS.

Differences the RFCs allow are listed in KNOWN with the reason; doc/oracle-differences.md
explains each one."""

import shutil
import subprocess
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from cdnstest import free_port, make_config, Server

HERE = Path(__file__).resolve().parent
ZONES = HERE / "zones"
ZONE_LIST = [("example.test", "example.test.zone"), ("child.example.test", "child.example.test.zone")]

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"

# (qname, qtype) pairs asked in every transport/EDNS combination.
NAMES = [
    "example.test.", "ns1.example.test.", "www.example.test.", "WwW.ExAmPlE.TeSt.",
    "mixed.example.test.", "mail.example.test.", "_sip._tcp.example.test.", "txt.example.test.",
    "a\\.b.example.test.", "sp\\032ace.example.test.", "c1.example.test.", "c2.example.test.",
    "ext.example.test.", "loop1.example.test.", "dangling.example.test.",
    "foo.wild.example.test.", "a.b.wild.example.test.", "sub.wild.example.test.",
    "x.sub.wild.example.test.", "wild.example.test.", "*.wild.example.test.",
    "foo.wc.example.test.", "ent.example.test.", "b.ent.example.test.", "a.b.ent.example.test.",
    "x.ent.example.test.", "dn.example.test.", "x.dn.example.test.", "www.dn.example.test.",
    "a.b.dn.example.test.", "x.dnext.example.test.", "www.target.example.test.",
    "deleg.example.test.", "x.deleg.example.test.", "ns.deleg.example.test.",
    "noglue.example.test.", "a.noglue.example.test.", "sib.example.test.", "x.sib.example.test.",
    "big.example.test.", "huge.example.test.", "manya.example.test.", "nope.example.test.",
    "a.nope.example.test.", "child.example.test.", "www.child.example.test.",
    "anything.child.example.test.", "ns1.child.example.test.",
]
TYPES = ["A", "AAAA", "TXT", "MX", "NS", "SOA", "CNAME", "DS", "SRV", "ANY", "AXFR", "IXFR",
         "MAILB", "TYPE65400"]

# Differences the RFCs allow (see doc/oracle-differences.md); key: (qname, qtype) → reason.
KNOWN = {}


def knot_config(tmp, port):
    zones = "\n".join(f'  - domain: {d}\n    file: "{ZONES / f}"' for d, f in ZONE_LIST)
    return f"""server:
    rundir: "{tmp}"
    listen: [ 127.0.0.1@{port} ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "{tmp}/db"
template:
  - id: default
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
{zones}
"""


@pytest.fixture(scope="module")
def knot(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("knot")
    port = free_port(ipv6=False)
    conf = tmp / "knot.conf"
    conf.write_text(knot_config(tmp, port))
    log = open(tmp / "knotd.log", "wb")
    proc = subprocess.Popen([KNOTD, "-c", str(conf)], stdout=log, stderr=log)
    q = dns.message.make_query("example.test.", "SOA")
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, (tmp / "knotd.log").read_text()
        try:
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.2)
            if r.rcode() == dns.rcode.NOERROR and r.answer:
                break
        except Exception:
            pass
        assert time.monotonic() < deadline, "knotd did not come up"
    yield port
    proc.terminate()
    proc.wait(10)
    log.close()


@pytest.fixture(scope="module")
def cdns(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cdns")
    zones = ", ".join(f'{{name: {d}, path: "{ZONES / f}"}}' for d, f in ZONE_LIST)
    srv = Server(tmp, f"- file:\n    zones: [{zones}]\n", ipv6=False)
    srv.start()
    yield srv.port
    srv.stop()
    srv.kill()


def canon_rrsets(section):
    out = set()
    for rrset in section:
        if rrset.rdtype == dns.rdatatype.OPT:
            continue
        for rd in rrset:
            out.add((rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
                     rrset.ttl, rd.to_text().lower()))
    return out


def summary(r):
    if r is None:
        return None
    flags = r.flags
    s = {
        "rcode": dns.rcode.to_text(r.rcode()),
        "aa": bool(flags & dns.flags.AA),
        "tc": bool(flags & dns.flags.TC),
    }
    if not s["tc"]:
        s["answer"] = canon_rrsets(r.answer)
        s["authority"] = canon_rrsets(r.authority)
        s["additional"] = canon_rrsets(r.additional)
    return s


def ask(port, qname, qtype, tcp, edns):
    q = dns.message.make_query(qname, qtype, use_edns=edns is not None,
                               payload=edns or 512)
    q.flags &= ~dns.flags.RD
    for _ in range(3):
        try:
            if tcp:
                return dns.query.tcp(q, "127.0.0.1", port=port, timeout=3)
            return dns.query.udp(q, "127.0.0.1", port=port, timeout=3, ignore_trailing=False)
        except dns.exception.Timeout:
            continue
    return None


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize("edns", [None, 1232], ids=["noedns", "edns1232"])
def test_same_answers_as_knot(knot, cdns, tcp, edns):
    diffs = []
    asked = 0
    seen = {"answer": 0, "referral": 0, "nxdomain": 0, "tc": 0}
    for name in NAMES:
        for qtype in TYPES:
            asked += 1
            ours = summary(ask(cdns, name, qtype, tcp, edns))
            theirs = summary(ask(knot, name, qtype, tcp, edns))
            if ours is None or theirs is None:
                diffs.append(f"{name} {qtype}: no answer from "
                             + ("cloudDNS" if ours is None else "Knot"))
                continue
            if theirs["tc"]:
                seen["tc"] += 1
            elif theirs["answer"]:
                seen["answer"] += 1
            elif not theirs["aa"] and theirs["authority"]:
                seen["referral"] += 1
            if theirs["rcode"] == "NXDOMAIN":
                seen["nxdomain"] += 1
            if ours == theirs or (name, qtype) in KNOWN:
                continue
            lines = [f"{name} {qtype}:"]
            for key in ("rcode", "aa", "tc", "answer", "authority", "additional"):
                a = (ours or {}).get(key)
                b = (theirs or {}).get(key)
                if a != b:
                    if isinstance(a, set) and isinstance(b, set):
                        lines.append(f"  {key}: only cloudDNS {sorted(a - b)}; only Knot {sorted(b - a)}")
                    else:
                        lines.append(f"  {key}: cloudDNS {a!r}, Knot {b!r}")
            diffs.append("\n".join(lines))
    assert asked == len(NAMES) * len(TYPES)
    # The comparison must have seen real data: answers, referrals, truncation, NXDOMAIN.
    assert seen["answer"] and seen["referral"] and seen["nxdomain"]
    if not tcp and edns is None:
        assert seen["tc"]
    assert not diffs, f"{len(diffs)} of {asked} answers differ:\n" + "\n".join(diffs)
