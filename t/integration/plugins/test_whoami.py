"""whoami: the client's address in the answer, its port and transport in an SRV record."""

import ipaddress

import dns.flags
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from cdnstest import make_query


def check_whoami(r, qname, family, transport, sport, rdclass=dns.rdataclass.IN):
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert len(r.answer) == 1
    ans = r.answer[0]
    assert ans.name == dns.name.from_text(qname)
    assert ans.ttl == 0 and ans.rdclass == rdclass
    if family == 4:
        assert ans.rdtype == dns.rdatatype.A
        assert ipaddress.ip_address(ans[0].address) == ipaddress.ip_address("127.0.0.1")
    else:
        assert ans.rdtype == dns.rdatatype.AAAA
        assert ipaddress.ip_address(ans[0].address) == ipaddress.ip_address("::1")
    srv = [rr for rr in r.additional if rr.rdtype == dns.rdatatype.SRV]
    assert len(srv) == 1
    srv = srv[0]
    assert srv.name == dns.name.from_text(f"_{transport}.{qname}")
    assert srv.ttl == 0
    assert (srv[0].priority, srv[0].weight, srv[0].port) == (0, 0, sport)
    assert srv[0].target == dns.name.root


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("qtype", ["A", "AAAA", "TXT"])
def test_whoami(server, family, transport, qtype):
    q = make_query("who.example.", qtype, "IN")
    r, sport = getattr(server, f"{transport}_sport")(q, family)
    check_whoami(r, "who.example.", family, transport, sport)


def test_whoami_keeps_client_case(server):
    r, sport = server.udp_sport(make_query("WhoAmI.Example.", "A"))
    check_whoami(r, "whoami.example.", 4, "udp", sport)
    assert r.answer[0].name.to_text() == "WhoAmI.Example."


def test_whoami_class_any_answers_in(server):
    r, sport = server.udp_sport(make_query("x.example.", "A", "ANY"))
    check_whoami(r, "x.example.", 4, "udp", sport, dns.rdataclass.IN)


def test_whoami_zone(make_server):
    srv = make_server([("whoami", {"zone": "Who.Example"})])
    for name in ["who.example.", "a.b.who.example.", "A.WHO.example."]:
        r, sport = srv.udp_sport(make_query(name, "A"))
        check_whoami(r, name, 4, "udp", sport)
    for name in ["example.", "xwho.example.", "who.example.net.", "."]:
        r = srv.udp(make_query(name, "A"))
        assert r.rcode() == dns.rcode.REFUSED, name


def test_whoami_long_name_drops_srv(server):
    labels = ["a" * 63, "b" * 63, "c" * 63, "d" * 57]  # 251 octets in wire form
    name = ".".join(labels) + "."
    assert len(dns.name.from_text(name).to_wire()) == 251
    r = server.tcp(make_query(name, "A"))
    assert r.rcode() == dns.rcode.NOERROR
    assert len(r.answer) == 1
    assert [rr for rr in r.additional if rr.rdtype == dns.rdatatype.SRV] == []
