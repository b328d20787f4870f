"""EDNS(0) (RFC 6891): BADVERS, one OPT at most, the payload size, NSID (RFC 5001)."""

import struct
import subprocess

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest

from cdnstest import header, make_query, txt_text

NSID = dns.edns.OptionType.NSID
LONG_VERSION = "v" * 2000


def nsid_of(r):
    opts = [o for o in (r.options or []) if o.otype == NSID]
    if not opts:
        return None
    assert len(opts) == 1
    return opts[0].data if hasattr(opts[0], "data") else opts[0].to_wire()


def test_edns_echoed(server):
    r = server.udp(make_query("id.server.", "TXT", "CH", use_edns=0, payload=1232))
    assert r.edns == 0
    r = server.udp(make_query("id.server.", "TXT", "CH", use_edns=False))
    assert r.edns == -1, "no OPT in the response to a query without one"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_badvers(server, transport):
    q = make_query("id.server.", "TXT", "CH")
    q.use_edns(1)  # make_query(use_edns=1) would mean version 0 in dnspython 2.3
    r = getattr(server, transport)(q)
    assert r.rcode() == dns.rcode.BADVERS
    assert r.edns == 0, "RFC 6891 §6.1.3: the response carries the highest version we know"
    assert r.answer == []


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_two_opt_records_formerr(server, transport):
    q = make_query("id.server.", "TXT", "CH", use_edns=0)
    wire = bytearray(q.to_wire())
    wire += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    wire[10:12] = struct.pack("!H", 2)
    reply = server.udp_raw(bytes(wire)) if transport == "udp" else server.tcp_raw(bytes(wire))
    assert reply is not None
    assert header(reply)[0] == q.id
    assert rcode_4bit(reply) == dns.rcode.FORMERR


def rcode_4bit(wire):
    return header(wire)[1] & 0xF


def test_unknown_option_ignored(server):
    q = make_query("id.server.", "TXT", "CH", use_edns=0,
                   options=[dns.edns.GenericOption(65001, b"hello")])
    r = server.udp(q)
    assert r.rcode() == dns.rcode.NOERROR
    assert txt_text(r.answer[0]) == b"ns1.test"


@pytest.fixture
def long_server(make_server):
    return make_server([("chaos", {"version": LONG_VERSION})], server={"max_udp_size": 4096})


@pytest.mark.parametrize("payload,fits", [(4096, True), (2100, True), (1232, False),
                                          (512, False), (100, False)])
def test_udp_payload_honoured(long_server, payload, fits):
    q = make_query("version.bind.", "TXT", "CH", use_edns=0, payload=payload)
    wire = long_server.udp_raw(q.to_wire(), timeout=3)
    assert wire is not None
    assert len(wire) <= max(payload, 512), "values below 512 mean 512 (RFC 6891 §6.2.3)"
    r = dns.message.from_wire(wire)
    if fits:
        assert not r.flags & dns.flags.TC
        assert txt_text(r.answer[0]) == LONG_VERSION.encode()
    else:
        assert r.flags & dns.flags.TC
        assert r.answer == []
        assert r.edns == 0, "a truncated EDNS response still carries OPT"


def test_server_max_udp_size_caps_payload(make_server):
    srv = make_server([("chaos", {"version": LONG_VERSION})], server={"max_udp_size": 1232})
    q = make_query("version.bind.", "TXT", "CH", use_edns=0, payload=4096)
    wire = srv.udp_raw(q.to_wire(), timeout=3)
    assert wire is not None and len(wire) <= 1232
    r = dns.message.from_wire(wire)
    assert r.flags & dns.flags.TC
    assert r.payload <= 1232, "the OPT advertises the server's own limit"
    r = srv.tcp(q)
    assert txt_text(r.answer[0]) == LONG_VERSION.encode()


@pytest.mark.parametrize("qname,qtype,qclass", [("id.server.", "TXT", "CH"),
                                                ("host.example.", "A", "IN"),
                                                ("version.bind.", "A", "CH")])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_nsid(server, qname, qtype, qclass, transport):
    q = make_query(qname, qtype, qclass, use_edns=0,
                   options=[dns.edns.GenericOption(NSID, b"")])
    r = getattr(server, transport)(q)
    assert r.rcode() == dns.rcode.NOERROR
    assert nsid_of(r) == b"ns1.test"


def test_nsid_only_when_asked(server):
    r = server.udp(make_query("host.example.", "A", use_edns=0))
    assert nsid_of(r) is None


def test_nsid_disabled(make_server):
    srv = make_server([("chaos", {"nsid": False}), ("whoami", {})])
    q = make_query("host.example.", "A", use_edns=0, options=[dns.edns.GenericOption(NSID, b"")])
    assert nsid_of(srv.udp(q)) is None


def test_nsid_custom_identity_with_kdig(make_server):
    srv = make_server([("chaos", {"identity": "edge-7.example"}), ("whoami", {})])
    out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(srv.port), "+nsid", "a.example", "A"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert '"edge-7.example"' in out.stdout, out.stdout
