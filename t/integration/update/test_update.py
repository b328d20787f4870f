"""The update plugin (RFC 2136 dynamic updates, RFC 3007 access) end to end: BIND's nsupdate and
dnspython as clients, dig and kdig reading the result, the zone compared whole through AXFR,
every prerequisite with its exact failure rcode, the protections of §3.4.2 (SOA, apex NS,
CNAME), access rules by address, key, name and type, concurrency, and durability across
kill -9 with the file plugin's journal."""

import re
import signal
import struct
import subprocess
import threading

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns.zone
import pytest

from cdnstest import PLUGIN_DIR, SERVER_BIN, server_env

ZONE = "example.test."
ZONE_TEXT = """$ORIGIN example.test.
$TTL 300
@       SOA ns1 hostmaster 1 3600 600 86400 60
        NS  ns1
        NS  ns2
ns1     A   192.0.2.1
ns2     A   192.0.2.2
www     A   192.0.2.10
        A   192.0.2.11
mail    MX  10 www
alias   CNAME www
a.b.ent A   192.0.2.50
txt     TXT "hello"
dyn     TXT "parent of the dynamic names"
h1.dyn  A   192.0.2.101
"""
OTHER_TEXT = """$ORIGIN other.test.
$TTL 300
@       SOA ns1 hostmaster 7 3600 600 86400 60
        NS  ns1
ns1     A   192.0.2.1
"""

KEY = "ddns.example."
SECRET = "c2VjcmV0LWZvci10aGUtdXBkYXRlLXRlc3RzLTAxMjM="
OTHER_KEY = "other.example."
OTHER_SECRET = "YW5vdGhlci1zZWNyZXQtZm9yLXRoZS10ZXN0cy0wMQ=="
WRONG_SECRET = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw=="

KEYRING = dns.tsigkeyring.from_text({KEY: SECRET, OTHER_KEY: OTHER_SECRET})
WRONG_KEYRING = dns.tsigkeyring.from_text({KEY: WRONG_SECRET})

LOOPBACK = [{"address": "127.0.0.0/8", "types": ["ANY"]}]


@pytest.fixture
def zone_dir(tmp_path):
    d = tmp_path / "zones"
    d.mkdir()
    (d / "example.test.zone").write_text(ZONE_TEXT)
    (d / "other.test.zone").write_text(OTHER_TEXT)
    (d / "journal").mkdir()
    return d


def pipeline(zone_dir, acl=None, zones=None, journal=True, tsig=True):
    update = {"acl": acl if acl is not None else LOOPBACK}
    if zones is not None:
        update["zones"] = zones
    files = {"zones": [{"name": "example.test", "path": str(zone_dir / "example.test.zone")},
                       {"name": "other.test", "path": str(zone_dir / "other.test.zone")}]}
    if journal:
        files["journal"] = str(zone_dir / "journal")
    p = []
    if tsig:
        p.append(("tsig", {"keys": [{"name": KEY, "secret": SECRET},
                                    {"name": OTHER_KEY, "secret": OTHER_SECRET}]}))
    p += [("update", update), ("transfer", {"acl": [{"address": "127.0.0.0/8"}]}),
          ("file", files)]
    return p


@pytest.fixture
def srv(make_server, zone_dir):
    return make_server(pipeline(zone_dir))


# --- helpers ---

def send(srv, msg, tcp=True):
    fn = dns.query.tcp if tcp else dns.query.udp
    return fn(msg, "127.0.0.1", port=srv.port, timeout=10)


def rcode(srv, msg, tcp=True):
    r = send(srv, msg, tcp)
    assert r.opcode() == dns.opcode.UPDATE
    assert r.id == msg.id
    return r.rcode()


def upd(zone=ZONE, **kw):
    return dns.update.UpdateMessage(zone, **kw)


def serial(srv, zone=ZONE):
    r = srv.udp(dns.message.make_query(zone, "SOA"))
    return r.answer[0][0].serial


def rdatas(srv, name, rdtype):
    """The RDATA texts of an RRset (sorted), or [] when it does not exist."""
    r = srv.tcp(dns.message.make_query(name, rdtype))
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.from_text(rdtype) and rrset.name == dns.name.from_text(name):
            return sorted(rd.to_text() for rd in rrset)
    return []


def ttl_of(srv, name, rdtype):
    r = srv.tcp(dns.message.make_query(name, rdtype))
    return r.answer[0].ttl


def snapshot(srv, zone=ZONE):
    """The whole zone through AXFR."""
    return dns.zone.from_xfr(dns.query.xfr("127.0.0.1", zone, port=srv.port, lifetime=30))


def nsupdate(srv, commands, key=None, tcp=True):
    """Run BIND's nsupdate; returns (exit status, output)."""
    args = ["nsupdate"]
    if tcp:
        args.append("-v")
    if key is not None:
        args += ["-y", key]
    script = f"server 127.0.0.1 {srv.port}\nzone example.test\n{commands}\nsend\n"
    p = subprocess.run(args, input=script, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def raw_update(zone=ZONE, prereqs=(), updates=(), qtype=6, qclass=1, msg_id=0x4242):
    """An UPDATE message built by hand (for what dnspython will not build): prereqs and updates
    are (name, type, class, ttl, rdata bytes)."""
    def rr(name, rtype, rclass, ttl, rdata=b""):
        return (dns.name.from_text(name).to_wire() +
                struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata)
    wire = struct.pack("!6H", msg_id, 5 << 11, 1, len(prereqs), len(updates), 0)
    wire += dns.name.from_text(zone).to_wire() + struct.pack("!HH", qtype, qclass)
    for r in list(prereqs) + list(updates):
        wire += rr(*r)
    return wire


def raw_rcode(srv, wire):
    reply = srv.tcp_raw(wire)
    assert reply is not None
    (flags,) = struct.unpack("!H", reply[2:4])  # header only: dnspython refuses some zone sections
    assert reply[:2] == wire[:2] and flags & 0x8000
    assert (flags >> 11) & 0xF == dns.opcode.UPDATE
    return flags & 0xF


A = dns.rdatatype.A
IN, ANY, NONE = 1, 255, 254


def ipv4(text):
    return bytes(int(x) for x in text.split("."))


# --- adding, replacing, deleting ---

def test_nsupdate_add_seen_by_dig_and_kdig(srv):
    assert serial(srv) == 1
    rc, out = nsupdate(srv, "update add www2.example.test 300 A 192.0.2.2")
    assert rc == 0, out
    for tool in ("dig", "kdig"):
        out = subprocess.run([tool, "@127.0.0.1", "-p", str(srv.port), "+short",
                              "www2.example.test", "A"], capture_output=True, text=True,
                             timeout=10).stdout
        assert out.strip() == "192.0.2.2", tool
    assert serial(srv) == 2
    # Over UDP too (nsupdate's default).
    rc, out = nsupdate(srv, "update add www3.example.test 300 TXT \"over udp\"", tcp=False)
    assert rc == 0, out
    assert rdatas(srv, "www3.example.test.", "TXT") == ['"over udp"']
    assert serial(srv) == 3
    srv.wait_log("serial 2 -> 3, 0 removed, 1 added")


def test_nsupdate_replace_delete(srv):
    # Replace an RRset: delete it, then add (one request, one serial).
    rc, out = nsupdate(srv, "update delete www.example.test A\n"
                            "update add www.example.test 120 A 192.0.2.99")
    assert rc == 0, out
    # Delete one RR, and a whole name.
    rc, out = nsupdate(srv, "update delete ns2.example.test A 192.0.2.2")
    assert rc == 0, out
    rc, out = nsupdate(srv, "update delete txt.example.test")
    assert rc == 0, out
    assert serial(srv) == 4
    out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(srv.port), "+short",
                          "www.example.test", "A"], capture_output=True, text=True,
                         timeout=10).stdout
    assert out.split() == ["192.0.2.99"]
    assert ttl_of(srv, "www.example.test.", "A") == 120
    assert rdatas(srv, "ns2.example.test.", "A") == []
    r = srv.udp(dns.message.make_query("txt.example.test.", "TXT"))
    assert r.rcode() == dns.rcode.NXDOMAIN


def test_dnspython_add_replace_delete(srv):
    u = upd()
    u.add("new", 600, "A", "192.0.2.20")
    u.add("new", 600, "A", "192.0.2.21")
    u.add("new", 600, "AAAA", "2001:db8::20")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, "new.example.test.", "A") == ["192.0.2.20", "192.0.2.21"]
    assert serial(srv) == 2
    # Replace: delete the RRset, then add (dnspython's replace does both).
    u = upd()
    u.replace("new", 300, "A", "192.0.2.22")
    assert rcode(srv, u, tcp=False) == dns.rcode.NOERROR
    assert rdatas(srv, "new.example.test.", "A") == ["192.0.2.22"]
    assert ttl_of(srv, "new.example.test.", "A") == 300
    assert serial(srv) == 3
    # Delete one RR of an RRset.
    u = upd()
    u.delete("www", "A", "192.0.2.10")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, "www.example.test.", "A") == ["192.0.2.11"]
    assert serial(srv) == 4
    # Delete a name.
    u = upd()
    u.delete("new")
    assert rcode(srv, u) == dns.rcode.NOERROR
    r = srv.udp(dns.message.make_query("new.example.test.", "A"))
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert serial(srv) == 5
    # The zone as a whole: exactly those changes.
    z = snapshot(srv)
    ref = ZONE_TEXT.replace("hostmaster 1 ", "hostmaster 5 ").replace(
        "www     A   192.0.2.10\n        A   192.0.2.11", "www     A   192.0.2.11")
    assert z == dns.zone.from_text(ref, origin=ZONE)


def test_update_in_other_case_and_unknown_type(srv):
    u = upd("Example.TEST.")
    u.add("MiXeD", 300, "TYPE65280", r"\# 3 010203")
    u.add("MiXeD", 300, "A", "192.0.2.30")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, "mixed.example.test.", "A") == ["192.0.2.30"]
    r = srv.tcp(dns.message.make_query("mixed.example.test.", "TYPE65280"))
    assert r.answer and r.answer[0][0].to_text() == r"\# 3 010203"
    # Deleting an RR matches names inside RDATA without regard to case.
    u = upd()
    u.delete("mail", "MX", "10 WWW.example.TEST.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, "mail.example.test.", "MX") == []


def test_no_change_is_noerror_without_commit(srv):
    before = snapshot(srv)
    for build in (
        lambda u: u.add("www", 300, "A", "192.0.2.10"),      # duplicate, same TTL
        lambda u: u.delete("nothere", "A"),                   # no such RRset
        lambda u: u.delete("nothere"),                        # no such name
        lambda u: u.delete("www", "A", "192.0.2.99"),         # no such RR
    ):
        u = upd()
        build(u)
        assert rcode(srv, u) == dns.rcode.NOERROR
    # Adding and deleting the same RR in one request.
    u = upd()
    u.add("tmp", 300, "A", "192.0.2.40")
    u.delete("tmp", "A", "192.0.2.40")
    assert rcode(srv, u) == dns.rcode.NOERROR
    # A request with prerequisites only.
    u = upd()
    u.present("www", "A")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert serial(srv) == 1
    assert snapshot(srv) == before
    assert "removed" not in srv.log()


def test_ttl_of_added_rr_applies_to_rrset(srv):
    u = upd()
    u.add("www", 60, "A", "192.0.2.12")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, "www.example.test.", "A") == ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
    assert ttl_of(srv, "www.example.test.", "A") == 60
    # A duplicate with another TTL changes the RRset's TTL (and nothing else).
    u = upd()
    u.add("www", 120, "A", "192.0.2.10")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert ttl_of(srv, "www.example.test.", "A") == 120
    assert rdatas(srv, "www.example.test.", "A") == ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
    assert serial(srv) == 3


# --- prerequisites (RFC 2136 §2.4, §3.2) ---

def check_prereq(srv, build, expect):
    """Send a request with prerequisites and an addition; the addition happens only when the
    prerequisites hold."""
    before = serial(srv)
    u = upd()
    build(u)
    u.add("marker", 300, "TXT", f'"{before}"')
    assert rcode(srv, u) == expect
    if expect == dns.rcode.NOERROR:
        assert serial(srv) == before + 1
        assert f'"{before}"' in rdatas(srv, "marker.example.test.", "TXT")
    else:
        assert serial(srv) == before
        assert f'"{before}"' not in rdatas(srv, "marker.example.test.", "TXT")


def test_prereq_name_in_use(srv):
    check_prereq(srv, lambda u: u.present("www"), dns.rcode.NOERROR)
    check_prereq(srv, lambda u: u.present("nothere"), dns.rcode.NXDOMAIN)
    # An empty non-terminal owns no RR: not in use (§2.4.4).
    check_prereq(srv, lambda u: u.present("b.ent"), dns.rcode.NXDOMAIN)


def test_prereq_name_not_in_use(srv):
    check_prereq(srv, lambda u: u.absent("nothere"), dns.rcode.NOERROR)
    check_prereq(srv, lambda u: u.absent("b.ent"), dns.rcode.NOERROR)  # §2.4.5
    check_prereq(srv, lambda u: u.absent("www"), dns.rcode.YXDOMAIN)


def test_prereq_rrset_exists_value_independent(srv):
    check_prereq(srv, lambda u: u.present("www", "A"), dns.rcode.NOERROR)
    check_prereq(srv, lambda u: u.present("www", "AAAA"), dns.rcode.NXRRSET)
    check_prereq(srv, lambda u: u.present("nothere", "A"), dns.rcode.NXRRSET)


def test_prereq_rrset_does_not_exist(srv):
    check_prereq(srv, lambda u: u.absent("www", "AAAA"), dns.rcode.NOERROR)
    check_prereq(srv, lambda u: u.absent("www", "A"), dns.rcode.YXRRSET)


def test_prereq_rrset_exists_value_dependent(srv):
    # The same set in another order (duplicates collapse) holds.
    check_prereq(srv, lambda u: u.present("www", "A", "192.0.2.11", "192.0.2.10", "192.0.2.10"),
                 dns.rcode.NOERROR)
    # Names inside RDATA compare without regard to case.
    check_prereq(srv, lambda u: u.present("mail", "MX", "10 WWW.Example.Test."),
                 dns.rcode.NOERROR)
    # A subset, a superset, other data, and a missing RRset do not.
    check_prereq(srv, lambda u: u.present("www", "A", "192.0.2.10"), dns.rcode.NXRRSET)
    check_prereq(srv, lambda u: u.present("www", "A", "192.0.2.10", "192.0.2.11", "192.0.2.12"),
                 dns.rcode.NXRRSET)
    check_prereq(srv, lambda u: u.present("www", "A", "192.0.2.10", "192.0.2.99"),
                 dns.rcode.NXRRSET)
    check_prereq(srv, lambda u: u.present("nothere", "A", "192.0.2.10"), dns.rcode.NXRRSET)


def test_prereq_order_and_nsupdate(srv):
    # The first failing prerequisite of the class ANY/NONE kinds decides (§3.2.5).
    def both(u):
        u.absent("www")                # YXDOMAIN
        u.present("nothere", "A")      # NXRRSET
    check_prereq(srv, both, dns.rcode.YXDOMAIN)
    # Value-dependent prerequisites are compared after the others.
    def late(u):
        u.present("www", "A", "192.0.2.99")  # NXRRSET, compared last
        u.absent("www", "A")                 # YXRRSET
    check_prereq(srv, late, dns.rcode.YXRRSET)
    # nsupdate's spelling of the five kinds.
    for line, status in (("prereq yxdomain nothere.example.test", "NXDOMAIN"),
                         ("prereq nxdomain www.example.test", "YXDOMAIN"),
                         ("prereq yxrrset www.example.test AAAA", "NXRRSET"),
                         ("prereq nxrrset www.example.test A", "YXRRSET"),
                         ("prereq yxrrset www.example.test A 192.0.2.10", "NXRRSET")):
        rc, out = nsupdate(srv, f"{line}\nupdate add marker.example.test 300 TXT \"x\"")
        assert rc != 0 and status in out, (line, out)
    rc, out = nsupdate(srv, "prereq nxdomain marker.example.test\n"
                            "prereq yxrrset www.example.test A 192.0.2.10\n"
                            "prereq yxrrset www.example.test A 192.0.2.11\n"
                            "update add marker.example.test 300 TXT \"x\"")
    assert rc == 0, out
    assert serial(srv) == 2


def test_prereq_format_errors(srv):
    before = snapshot(srv)
    add = ("marker.example.test.", dns.rdatatype.TXT, IN, 300, b"\x01x")
    # TTL other than 0.
    assert raw_rcode(srv, raw_update(prereqs=[("www.example.test.", A, ANY, 5)],
                                     updates=[add])) == dns.rcode.FORMERR
    # Class ANY or NONE with RDATA.
    assert raw_rcode(srv, raw_update(prereqs=[("www.example.test.", A, NONE, 0, ipv4("1.2.3.4"))],
                                     updates=[add])) == dns.rcode.FORMERR
    # Another class.
    assert raw_rcode(srv, raw_update(prereqs=[("www.example.test.", A, 3, 0, ipv4("1.2.3.4"))],
                                     updates=[add])) == dns.rcode.FORMERR
    # A name outside the zone.
    assert raw_rcode(srv, raw_update(prereqs=[("www.other.test.", A, ANY, 0)],
                                     updates=[add])) == dns.rcode.NOTZONE
    assert snapshot(srv) == before


# --- the zone section and the prescan (§3.1, §3.4.1) ---

def test_zone_section(make_server, zone_dir):
    srv = make_server(pipeline(zone_dir, zones=["example.test"]))
    add = ("x.example.test.", A, IN, 300, ipv4("192.0.2.9"))
    # ZTYPE must be SOA.
    assert raw_rcode(srv, raw_update(qtype=A, updates=[add])) == dns.rcode.FORMERR
    # Not a zone here, another class, or a zone not listed in `zones`.
    assert raw_rcode(srv, raw_update("nothere.test.")) == dns.rcode.NOTAUTH
    assert raw_rcode(srv, raw_update("www.example.test.")) == dns.rcode.NOTAUTH
    assert raw_rcode(srv, raw_update(qclass=3, updates=[add])) == dns.rcode.NOTAUTH
    u = upd("other.test.")
    u.add("x", 300, "A", "192.0.2.9")
    assert rcode(srv, u) == dns.rcode.NOTAUTH
    assert serial(srv, "other.test.") == 7
    # Ordinary queries are not the update plugin's business.
    r = srv.udp(dns.message.make_query("www.example.test.", "A"))
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert serial(srv) == 1


def test_prescan(srv):
    before = snapshot(srv)
    ok = ("x.example.test.", A, IN, 300, ipv4("192.0.2.9"))
    cases = [
        # Outside the zone: NOTZONE.
        ([("x.other.test.", A, IN, 300, ipv4("192.0.2.9"))], dns.rcode.NOTZONE),
        # Meta types to add.
        ([("x.example.test.", dns.rdatatype.ANY, IN, 300, b"")], dns.rcode.FORMERR),
        ([("x.example.test.", dns.rdatatype.AXFR, IN, 300, b"")], dns.rcode.FORMERR),
        ([("x.example.test.", dns.rdatatype.MAILA, ANY, 0, b"")], dns.rcode.FORMERR),
        # Deletions with a TTL, or class ANY with RDATA.
        ([("www.example.test.", A, ANY, 5, b"")], dns.rcode.FORMERR),
        ([("www.example.test.", A, ANY, 0, ipv4("192.0.2.10"))], dns.rcode.FORMERR),
        ([("www.example.test.", A, NONE, 5, ipv4("192.0.2.10"))], dns.rcode.FORMERR),
        ([("www.example.test.", dns.rdatatype.ANY, NONE, 0, b"")], dns.rcode.FORMERR),
        # Another class; RDATA that is not an A record.
        ([("www.example.test.", A, 3, 300, ipv4("192.0.2.10"))], dns.rcode.FORMERR),
        ([("www.example.test.", A, IN, 300, b"\x01\x02")], dns.rcode.FORMERR),
    ]
    for bad, expect in cases:
        # The valid RR first: nothing is applied when a later one fails.
        assert raw_rcode(srv, raw_update(updates=[ok] + bad)) == expect, bad
    assert snapshot(srv) == before


# --- §3.4.2: SOA, apex NS, CNAME ---

def test_soa_and_apex_ns_are_protected(srv):
    before = snapshot(srv)
    u = upd()
    u.delete("@", "SOA")
    u.delete("@", "NS")
    u.delete("@")                                  # all but SOA and NS: nothing else here
    u.delete("@", "SOA", "ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert snapshot(srv) == before
    # The NS RRs one by one: the last one stays.
    u = upd()
    u.delete("@", "NS", "ns1.example.test.")
    u.delete("@", "NS", "ns2.example.test.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, ZONE, "NS") == ["ns2.example.test."]
    assert serial(srv) == 2
    u = upd()
    u.delete("@", "NS", "ns2.example.test.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, ZONE, "NS") == ["ns2.example.test."]
    assert serial(srv) == 2
    # Deleting all RRsets of the apex leaves SOA and NS.
    u = upd()
    u.add("@", 300, "TXT", '"apex text"')
    u.add("@", 300, "MX", "10 mail.example.test.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    u = upd()
    u.delete("@")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, ZONE, "TXT") == [] and rdatas(srv, ZONE, "MX") == []
    assert rdatas(srv, ZONE, "NS") == ["ns2.example.test."]
    assert serial(srv) == 4
    # Deleting NS below the apex (a delegation) is fine.
    u = upd()
    u.add("sub", 300, "NS", "ns.sub.example.test.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    u = upd()
    u.delete("sub", "NS", "ns.sub.example.test.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert serial(srv) == 6


def test_soa_replaced_only_with_newer_serial(srv):
    soa = "ns1.example.test. hostmaster.example.test. {} 7200 600 86400 60"
    before = snapshot(srv)
    for older in (0, 1):  # lower, equal
        u = upd()
        u.add("@", 300, "SOA", soa.format(older))
        assert rcode(srv, u) == dns.rcode.NOERROR
    # An SOA below the apex is ignored too.
    u = upd()
    u.add("www", 300, "SOA", soa.format(50))
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert snapshot(srv) == before
    # Newer: replaces the SOA, and its serial is used as given (no extra increment).
    u = upd()
    u.add("@", 600, "SOA", soa.format(100))
    u.add("soa-marker", 300, "A", "192.0.2.77")
    assert rcode(srv, u) == dns.rcode.NOERROR
    r = srv.udp(dns.message.make_query(ZONE, "SOA"))
    assert r.answer[0][0].serial == 100 and r.answer[0][0].refresh == 7200
    assert r.answer[0].ttl == 600
    assert rdatas(srv, "soa-marker.example.test.", "A") == ["192.0.2.77"]
    # The next change goes on from there.
    u = upd()
    u.add("after", 300, "A", "192.0.2.78")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert serial(srv) == 101
    # RFC 1982: 2^31 ahead is not newer.
    u = upd()
    u.add("@", 300, "SOA", soa.format((101 + 2**31) % 2**32))
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert serial(srv) == 101


def test_cname_exclusivity(srv):
    before = snapshot(srv)
    # A CNAME at a name with other data is ignored...
    u = upd()
    u.add("www", 300, "CNAME", "elsewhere.example.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    # ... and so is other data at a CNAME, and a CNAME at the apex.
    u = upd()
    u.add("alias", 300, "A", "192.0.2.60")
    u.add("alias", 300, "TXT", '"no"')
    u.add("@", 300, "CNAME", "elsewhere.example.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert snapshot(srv) == before
    # A CNAME replaces the CNAME.
    u = upd()
    u.add("alias", 300, "CNAME", "mail.example.test.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, "alias.example.test.", "CNAME") == ["mail.example.test."]
    # After the other data is deleted in the same request, the CNAME goes in.
    u = upd()
    u.delete("txt")
    u.add("txt", 300, "CNAME", "www.example.test.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, "txt.example.test.", "CNAME") == ["www.example.test."]
    assert rdatas(srv, "txt.example.test.", "TXT") == []
    # And the other way round: delete the CNAME, add data.
    u = upd()
    u.delete("alias", "CNAME")
    u.add("alias", 300, "A", "192.0.2.61")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, "alias.example.test.", "A") == ["192.0.2.61"]
    assert serial(srv) == 4


# --- access ---

def test_unauthorised_address_refused(make_server, zone_dir):
    srv = make_server(pipeline(zone_dir, acl=[{"address": "192.0.2.0/24"}]))
    before = snapshot(srv)
    u = upd()
    u.present("nothere")  # would fail with NXDOMAIN: refused before prerequisites
    u.add("x", 300, "A", "192.0.2.9")
    r = send(srv, u)
    assert r.rcode() == dns.rcode.REFUSED
    rc, out = nsupdate(srv, "update add x.example.test 300 A 192.0.2.9")
    assert rc != 0 and "REFUSED" in out
    assert snapshot(srv) == before
    assert "REFUSED from 127.0.0.1: no rule grants this client anything" in srv.log()


def test_types_and_names(make_server, zone_dir):
    acl = [
        {"address": "127.0.0.1", "names": ["www.example.test", "*.dyn.example.test"],
         "types": ["A", "AAAA"]},
        {"address": "127.0.0.1", "names": ["txt.example.test"]},
    ]
    srv = make_server(pipeline(zone_dir, acl=acl))
    before = snapshot(srv)
    refused = [
        lambda u: u.add("www", 300, "TXT", '"t"'),           # type not listed
        lambda u: u.add("dyn", 300, "A", "192.0.2.5"),       # *.dyn is below dyn only
        lambda u: u.add("a.b.dyn2", 300, "A", "192.0.2.5"),  # no rule
        lambda u: u.add("txt", 300, "SOA",                   # default types: all but SOA
                        "ns1.example.test. hostmaster.example.test. 9 1 1 1 1"),
    ]
    for build in refused:
        u = upd()
        u.add("h2.dyn", 300, "A", "192.0.2.102")  # granted, but not alone
        build(u)
        assert rcode(srv, u) == dns.rcode.REFUSED
    assert snapshot(srv) == before
    # Deleting a whole name needs every type there: h1.dyn has only A (granted), dyn has TXT.
    u = upd()
    u.delete("h1.dyn")
    assert rcode(srv, u) == dns.rcode.NOERROR
    u = upd()
    u.delete("dyn")
    assert rcode(srv, u) == dns.rcode.REFUSED
    # Granted: listed names and types, every level below *.dyn, and the default types.
    u = upd()
    u.add("www", 300, "AAAA", "2001:db8::1")
    u.add("h2.dyn", 300, "A", "192.0.2.102")
    u.add("deep.h3.dyn", 300, "AAAA", "2001:db8::3")
    u.add("txt", 300, "MX", "10 mail.example.test.")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, "deep.h3.dyn.example.test.", "AAAA") == ["2001:db8::3"]
    assert serial(srv) == 3


def test_refusal_names_the_rr(make_server, zone_dir):
    srv = make_server(pipeline(zone_dir, acl=[{"address": "127.0.0.1", "types": ["A"]}]))
    u = upd()
    u.use_edns(0)
    u.add("x", 300, "TXT", '"t"')
    r = send(srv, u)
    assert r.rcode() == dns.rcode.REFUSED
    ede = [o for o in r.options if o.otype == 15]
    assert ede and ede[0].code == 18  # Prohibited
    assert "x.example.test. TXT not granted by any rule" in ede[0].text
    srv.wait_log("REFUSED from 127.0.0.1: x.example.test. TXT not granted by any rule")


def test_deny_rules_first_match(make_server, zone_dir):
    acl = [
        {"key": KEY, "types": ["ANY"]},
        {"names": ["example.test", "ns1.example.test"], "action": "deny"},
        {"address": "127.0.0.0/8"},
    ]
    srv = make_server(pipeline(zone_dir, acl=acl))
    u = upd()
    u.add("ns1", 300, "AAAA", "2001:db8::53")
    assert rcode(srv, u) == dns.rcode.REFUSED
    u = upd()
    u.add("@", 300, "TXT", '"apex"')
    assert rcode(srv, u) == dns.rcode.REFUSED
    u = upd()
    u.add("ns3", 300, "A", "192.0.2.3")
    assert rcode(srv, u) == dns.rcode.NOERROR
    # The key rule comes first: the apex and the SOA are open to it.
    u = upd(keyring=KEYRING, keyname=KEY, keyalgorithm=dns.tsig.HMAC_SHA256)
    u.add("@", 300, "TXT", '"apex"')
    u.add("@", 300, "SOA", "ns1.example.test. hostmaster.example.test. 50 3600 600 86400 60")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert serial(srv) == 50


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("""pipeline:
  - update:
      acl:
        - { names: [www.example.test] }
        - { address: 300.0.0.1 }
        - { address: 127.0.0.1, names: ["*."], types: [A, AXFR, BOGUS] }
        - { key: k, action: maybe }
      zones: ["bad..name"]
""")
    out = subprocess.run([str(SERVER_BIN), "-t", "-P", str(PLUGIN_DIR), "-c", str(bad)],
                         capture_output=True, text=True, timeout=30, env=server_env())
    assert out.returncode != 0
    err = out.stderr
    assert re.search(r"bad.yaml:4:11: plugin 'update': acl rule: a grant rule needs 'address', "
                     r"'key' or both", err), err
    assert "bad.yaml:5:22: plugin 'update': acl rule: 'address' must be an address" in err
    assert "'names' entries must be a domain name" in err
    assert "'types' entries must be RR type mnemonics" in err and '"AXFR"' in err
    assert '"BOGUS"' in err
    assert "option 'action'" in err
    assert "option 'zones': not a domain name" in err
    missing = tmp_path / "missing.yaml"
    missing.write_text("pipeline:\n  - update: {}\n")
    out = subprocess.run([str(SERVER_BIN), "-t", "-P", str(PLUGIN_DIR), "-c", str(missing)],
                         capture_output=True, text=True, timeout=30, env=server_env())
    assert out.returncode != 0 and "option 'acl' is required" in out.stderr


def test_ipv6_rule_and_default_zones(make_server, zone_dir):
    srv = make_server(pipeline(zone_dir, acl=[{"address": "::1/128"}]))
    u = upd()
    u.add("v6", 300, "AAAA", "2001:db8::6")
    assert rcode(srv, u) == dns.rcode.REFUSED  # from 127.0.0.1
    r = dns.query.tcp(u, "::1", port=srv.port, timeout=10)
    assert r.rcode() == dns.rcode.NOERROR
    assert rdatas(srv, "v6.example.test.", "AAAA") == ["2001:db8::6"]
    # Without `zones`, every zone in the registry takes updates.
    u = upd("other.test.")
    u.add("x", 300, "A", "192.0.2.9")
    r = dns.query.udp(u, "::1", port=srv.port, timeout=10)
    assert r.rcode() == dns.rcode.NOERROR
    assert serial(srv, "other.test.") == 8


def test_large_update(srv):
    """One request with many RRs (over TCP): all applied as one change."""
    u = upd()
    for i in range(600):
        u.add(f"bulk{i}", 300, "A", f"10.9.{i >> 8}.{i & 255}")
        u.add(f"bulk{i}", 300, "TXT", f'"record {i}"')
    u.delete("www", "A")
    assert len(u.to_wire()) > 20000
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert serial(srv) == 2
    z = snapshot(srv)
    assert z.get_rdataset("bulk599", "TXT")[0].to_text() == '"record 599"'
    assert z.get_rdataset("www", "A") is None
    srv.wait_log("serial 1 -> 2, 2 removed, 1200 added")
    # And all of it removed again, name by name.
    u = upd()
    for i in range(600):
        u.delete(f"bulk{i}")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert snapshot(srv).get_node("bulk0") is None
    assert serial(srv) == 3


# --- TSIG (RFC 3007 with RFC 8945) ---

def test_tsig_key_rules(make_server, zone_dir, tmp_path):
    acl = [{"key": KEY, "names": ["*.dyn.example.test"]}]
    srv = make_server(pipeline(zone_dir, acl=acl))
    before = snapshot(srv)
    # Unsigned, with only key rules: REFUSED.
    u = upd()
    u.add("h2.dyn", 300, "A", "192.0.2.102")
    assert rcode(srv, u) == dns.rcode.REFUSED
    # Signed with another (valid) key: REFUSED.
    u = upd(keyring=KEYRING, keyname=OTHER_KEY)
    u.add("h2.dyn", 300, "A", "192.0.2.102")
    assert rcode(srv, u) == dns.rcode.REFUSED
    # A bad signature never gets here: the tsig plugin answers NOTAUTH (BADSIG).
    u = upd(keyring=WRONG_KEYRING, keyname=KEY)
    u.add("h2.dyn", 300, "A", "192.0.2.102")
    reply = srv.tcp_raw(u.to_wire())
    assert struct.unpack("!H", reply[2:4])[0] & 0xF == dns.rcode.NOTAUTH
    rc, out = nsupdate(srv, "update add h2.dyn.example.test 300 A 192.0.2.102",
                       key=f"hmac-sha256:{KEY}:{WRONG_SECRET}")
    assert rc != 0
    assert snapshot(srv) == before
    # Signed with the key: granted, and the response is signed (dnspython verifies it).
    u = upd(keyring=KEYRING, keyname=KEY)
    u.add("h2.dyn", 300, "A", "192.0.2.102")
    r = send(srv, u)
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig
    # Outside the names of the rule: REFUSED even when signed.
    u = upd(keyring=KEYRING, keyname=KEY)
    u.add("www", 300, "A", "192.0.2.103")
    assert rcode(srv, u) == dns.rcode.REFUSED
    # nsupdate with -y and with -k (a key file in BIND syntax).
    rc, out = nsupdate(srv, "update add h3.dyn.example.test 300 A 192.0.2.103",
                       key=f"hmac-sha256:{KEY}:{SECRET}")
    assert rc == 0, out
    keyfile = tmp_path / "ddns.key"
    keyfile.write_text(f'key "{KEY}" {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}";\n}};\n')
    script = (f"server 127.0.0.1 {srv.port}\nzone example.test\n"
              "update add h4.dyn.example.test 300 A 192.0.2.104\nsend\n")
    p = subprocess.run(["nsupdate", "-k", str(keyfile)], input=script, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    for i in (2, 3, 4):
        assert rdatas(srv, f"h{i}.dyn.example.test.", "A") == [f"192.0.2.10{i}"]
    assert serial(srv) == 4
    assert f"from 127.0.0.1 key {KEY}: serial 3 -> 4" in srv.log()


# --- concurrency ---

def test_concurrent_updates_all_applied(srv):
    n_threads, per_thread = 4, 250
    errors = []
    seen = [[] for _ in range(n_threads)]

    def worker(t):
        try:
            for i in range(per_thread):
                u = upd()
                u.add(f"c{t}-{i}", 300, "A", f"10.{t}.{i >> 8}.{i & 255}")
                r = dns.query.tcp(u, "127.0.0.1", port=srv.port, timeout=30)
                if r.rcode() != dns.rcode.NOERROR:
                    errors.append((t, i, dns.rcode.to_text(r.rcode())))
                if i % 25 == 0:
                    seen[t].append(serial(srv))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((t, repr(e)))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors[:5]
    total = n_threads * per_thread
    assert serial(srv) == 1 + total
    for s in seen:  # what each client saw only went up
        assert s == sorted(s) and len(set(s)) == len(s)
    z = snapshot(srv)
    for t in range(n_threads):
        for i in range(per_thread):
            rds = z.get_rdataset(f"c{t}-{i}", "A")
            assert rds is not None and rds[0].to_text() == f"10.{t}.{i >> 8}.{i & 255}"
    # Every commit took the serial up by exactly one, in order.
    commits = [(int(a), int(b)) for a, b in re.findall(r"serial (\d+) -> (\d+)", srv.log())]
    assert commits == [(k, k + 1) for k in range(1, total + 1)]


def test_concurrent_prerequisites_hold_at_commit(srv):
    """Clients race to create the same names, each guarded by "name is not in use": exactly
    one wins per name, however the requests interleave (the prerequisites are checked again
    against the version a change is committed on)."""
    names = [f"race{i}" for i in range(40)]
    results = {name: [] for name in names}
    lock = threading.Lock()

    def worker(t):
        for name in names:
            u = upd()
            u.absent(name)
            u.add(name, 300, "TXT", f'"thread {t}"')
            r = dns.query.tcp(u, "127.0.0.1", port=srv.port, timeout=30)
            with lock:
                results[name].append(r.rcode())

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    for name in names:
        assert sorted(results[name]) == [dns.rcode.NOERROR] + [dns.rcode.YXDOMAIN] * 3, name
        assert len(rdatas(srv, f"{name}.example.test.", "TXT")) == 1
    assert serial(srv) == 1 + len(names)


# --- durability ---

def test_acknowledged_update_survives_kill9(make_server, zone_dir):
    srv = make_server(pipeline(zone_dir))
    u = upd()
    u.replace("www", 300, "A", "192.0.2.200")
    u.add("durable", 300, "TXT", '"kept"')
    assert rcode(srv, u) == dns.rcode.NOERROR
    rc, out = nsupdate(srv, "update add durable2.example.test 300 A 192.0.2.201")
    assert rc == 0, out
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(10)
    srv.stopped = True
    srv.start()
    srv.stopped = False
    assert serial(srv) == 3
    assert rdatas(srv, "www.example.test.", "A") == ["192.0.2.200"]
    assert rdatas(srv, "durable.example.test.", "TXT") == ['"kept"']
    assert rdatas(srv, "durable2.example.test.", "A") == ["192.0.2.201"]
    # And updates go on from there.
    u = upd()
    u.delete("durable")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert serial(srv) == 4


def test_small_journal_never_drops_what_the_zone_file_lacks(make_server, zone_dir):
    # The zone file is not rewritten: past journal_max_size the zone is written as a snapshot
    # beside the journal, and only then is the journal trimmed. 120 updates of ~200 bytes are
    # several times the limit (4k); the journal stays small, and after kill -9 every update
    # is there (snapshot + journal), with IXFR still answered for recent serials.
    p = pipeline(zone_dir)
    p[-1][1]["journal_max_size"] = "4k"
    srv = make_server(p)
    for i in range(120):
        u = upd()
        u.add(f"n{i}", 300, "TXT", '"' + "x" * 150 + f'{i}"')
        assert rcode(srv, u) == dns.rcode.NOERROR
    journal = zone_dir / "journal" / "example.test.journal"
    snapshot = zone_dir / "journal" / "example.test.snapshot"
    assert journal.stat().st_size <= 4096 + 1024, journal.stat().st_size
    assert snapshot.read_text().startswith("; clouddns snapshot of example.test. serial ")
    assert "snapshot at serial" in srv.log() and "journal trimmed" in srv.log()
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(10)
    srv.stopped = True
    srv.start()
    srv.stopped = False
    assert serial(srv) == 121
    for i in range(120):
        assert rdatas(srv, f"n{i}.example.test.", "TXT") == ['"' + "x" * 150 + f'{i}"'], i
    # The newest changes are still in the journal: an IXFR from serial 119 is incremental.
    q = dns.message.make_query(ZONE, "IXFR")
    q.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA",
                                           "ns1.example.test. hostmaster.example.test. 119 1 1 1 1"))
    r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=10, one_rr_per_rrset=True)
    soas = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA]
    assert len(soas) > 2 and len(r.answer) < 20, r.answer  # a difference sequence, not AXFR
    # Editing the zone file (a new serial) still wins: the snapshot is set aside.
    (zone_dir / "example.test.zone").write_text(ZONE_TEXT.replace(" 1 3600 600", " 500 3600 600")
                                               + "edited  A   192.0.2.77\n")
    srv.reload()
    srv.wait_log("the snapshot is set aside")
    srv.wait_log("configuration 2 loaded")
    assert serial(srv) == 500
    assert rdatas(srv, "edited.example.test.", "A") == ["192.0.2.77"]
    assert rdatas(srv, "n5.example.test.", "TXT") == []


def test_without_journal_updates_live_in_memory(make_server, zone_dir):
    srv = make_server(pipeline(zone_dir, journal=False))
    u = upd()
    u.add("volatile", 300, "A", "192.0.2.90")
    assert rcode(srv, u) == dns.rcode.NOERROR
    assert rdatas(srv, "volatile.example.test.", "A") == ["192.0.2.90"]
    assert serial(srv) == 2
