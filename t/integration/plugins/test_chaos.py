"""chaos: CH TXT identity and version, NODATA for other types, hide_version, long strings."""

import subprocess

import dns.flags
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from cdnstest import make_query, txt_text

IDENTITY_NAMES = ["id.server.", "hostname.bind."]
VERSION_NAMES = ["version.bind.", "version.server."]


def check_txt(r, name, text):
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert not r.flags & dns.flags.TC
    assert len(r.answer) == 1
    rrset = r.answer[0]
    assert rrset.name == dns.name.from_text(name)
    assert rrset.rdtype == dns.rdatatype.TXT
    assert rrset.rdclass == dns.rdataclass.CH
    assert rrset.ttl == 0
    assert len(rrset) == 1
    assert txt_text(rrset) == text


@pytest.mark.parametrize("name", IDENTITY_NAMES + VERSION_NAMES)
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_chaos_names(server, name, transport):
    q = make_query(name, "TXT", "CH")
    r = getattr(server, transport)(q)
    expected = b"ns1.test" if name in IDENTITY_NAMES else b"test-version"
    check_txt(r, name, expected)


def test_chaos_name_case_insensitive(server):
    r = server.udp(make_query("VeRsIoN.BiNd.", "TXT", "CH"))
    check_txt(r, "version.bind.", b"test-version")


def test_chaos_defaults_identity_and_version(make_server):
    srv = make_server([("chaos", {})], server={"identity": "default-ident.test"})
    check_txt(srv.udp(make_query("id.server.", "TXT", "CH")), "id.server.",
              b"default-ident.test")
    r = srv.udp(make_query("version.bind.", "TXT", "CH"))
    assert txt_text(r.answer[0]).startswith(b"cloudDNS ")


def test_chaos_identity_option_overrides_server_identity(make_server):
    srv = make_server([("chaos", {"identity": "mine.test"})], server={"identity": "srv.test"})
    check_txt(srv.udp(make_query("hostname.bind.", "TXT", "CH")), "hostname.bind.",
              b"mine.test")


def test_chaos_any_gets_txt(server):
    r = server.tcp(make_query("id.server.", "ANY", "CH"))
    check_txt(r, "id.server.", b"ns1.test")


@pytest.mark.parametrize("rdtype", ["A", "AAAA", "NS", "MX"])
def test_chaos_other_type_is_nodata_with_soa(server, rdtype):
    r = server.udp(make_query("version.bind.", rdtype, "CH"))
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert r.answer == []
    assert len(r.authority) == 1
    soa = r.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA and soa.rdclass == dns.rdataclass.CH
    assert soa.name == dns.name.from_text("version.bind.")
    assert soa[0].mname == dns.name.from_text("version.bind.")
    assert soa[0].rname == dns.name.from_text("hostmaster.version.bind.")


def test_chaos_soa_query(server):
    r = server.udp(make_query("id.server.", "SOA", "CH"))
    assert r.rcode() == dns.rcode.NOERROR
    assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.SOA]


def test_chaos_other_ch_name_goes_on(make_server):
    srv = make_server([("chaos", {})])
    for name in ["authors.bind.", "server.", "bind.", "x.version.bind."]:
        r = srv.udp(make_query(name, "TXT", "CH"))
        assert r.rcode() == dns.rcode.REFUSED, name


def test_chaos_ignores_class_in(make_server):
    srv = make_server([("chaos", {})])
    r = srv.udp(make_query("version.bind.", "TXT", "IN"))
    assert r.rcode() == dns.rcode.REFUSED


def test_chaos_hide_version(make_server):
    srv = make_server([("chaos", {"hide_version": True})])
    for name in VERSION_NAMES:
        for rdtype in ("TXT", "A"):
            r = srv.udp(make_query(name, rdtype, "CH"))
            assert r.rcode() == dns.rcode.REFUSED
            assert not r.flags & dns.flags.AA
            assert r.answer == [] and r.authority == []
    check_txt(srv.udp(make_query("id.server.", "TXT", "CH")), "id.server.", b"ns1.test")


def test_chaos_long_version_split_into_strings(make_server):
    version = "".join(chr(ord("a") + i % 26) for i in range(2000))
    srv = make_server([("chaos", {"version": version})])
    r = srv.tcp(make_query("version.bind.", "TXT", "CH"))
    check_txt(r, "version.bind.", version.encode())
    strings = next(iter(r.answer[0])).strings
    assert [len(s) for s in strings] == [255] * 7 + [215]


def test_chaos_empty_version(make_server):
    srv = make_server([("chaos", {"version": ""})])
    r = srv.udp(make_query("version.server.", "TXT", "CH"))
    check_txt(r, "version.server.", b"")
    assert next(iter(r.answer[0])).strings == (b"",)


def test_chaos_with_kdig_and_dig(server):
    kdig = subprocess.run(["kdig", "@127.0.0.1", "-p", str(server.port), "CH", "TXT",
                           "version.bind", "+short"], capture_output=True, text=True, timeout=20)
    assert kdig.returncode == 0, kdig.stderr
    assert kdig.stdout.strip() == '"test-version"'
    dig = subprocess.run(["dig", "@::1", "-p", str(server.port), "CH", "TXT", "id.server",
                          "+short"], capture_output=True, text=True, timeout=20)
    assert dig.returncode == 0, dig.stderr
    assert dig.stdout.strip() == '"ns1.test"'
