"""The secondary plugin with Knot DNS as the primary: AXFR at start, NOTIFY then IXFR on a
change, answers identical to Knot's, the copy on disk served after a restart, expiry, NOTIFY
access, transfers onward through the transfer plugin, and reloads."""

import socket
import subprocess
import time

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone

from cdnstest import PLUGIN_DIR, SERVER_BIN, free_port, make_query, server_env
from primaries import query, send_notify, soa_serial, wait_for, zone_text

QUESTIONS = [
    ("example.test.", "SOA"), ("example.test.", "NS"), ("example.test.", "MX"),
    ("www.example.test.", "A"), ("www.example.test.", "AAAA"), ("WWW.Example.Test.", "A"),
    ("alias.example.test.", "A"), ("x.wild.example.test.", "TXT"),
    ("nope.example.test.", "A"), ("www.example.test.", "TXT"), ("host.sub.example.test.", "A"),
]


def pipeline(primary_port, copy=None, transfer=None, extra="", key=None, notify_signed=False):
    zone = f'{{name: example.test, primaries: ["127.0.0.1:{primary_port}"]'
    if copy is not None:
        zone += f', file: "{copy}"'
    if key is not None:
        zone += f', key: {{name: {key[0]}, algorithm: hmac-sha256, secret: "{key[1]}"}}'
    if notify_signed:
        zone += ", notify_signed: true"
    zone += "}"
    text = ""
    if transfer is not None:
        text += f"- transfer: {transfer}\n"
    text += (f"- secondary:\n    zones: [{zone}]\n    refresh_min: 1s\n    retry_min: 1s\n"
             f"    timeout: 3s\n{extra}")
    return text


def serving(srv, name="www.example.test.", rdtype="A"):
    r = query(srv.port, name, rdtype)
    return r is not None and r.rcode() == dns.rcode.NOERROR and bool(r.answer)


def rcode(srv, name="www.example.test.", rdtype="A"):
    r = query(srv.port, name, rdtype)
    return None if r is None else r.rcode()


def records(section):
    """The records of a section, one per line, sorted (RRset order is not significant), the
    owner lower-cased (BIND answers with the zone's spelling, Knot and we with the query's)."""
    return sorted(f"{rrset.name.to_text().lower()} {rrset.ttl} {rd.rdclass} {rd.rdtype} "
                  f"{rd.to_text()}" for rrset in section for rd in rrset)


def same_answers(a_port, b_port):
    for name, rdtype in QUESTIONS:
        ra = query(a_port, name, rdtype)
        rb = query(b_port, name, rdtype)
        assert ra is not None and rb is not None, (name, rdtype)
        assert ra.rcode() == rb.rcode(), (name, rdtype, ra, rb)
        assert ra.flags & dns.flags.AA == rb.flags & dns.flags.AA, (name, rdtype)
        assert records(ra.answer) == records(rb.answer), (name, rdtype)
        assert records(ra.authority) == records(rb.authority), (name, rdtype)


def started(make_server, knot, tmp_path, knot_kw=None, **kw):
    """A Knot primary and our server as its secondary (NOTIFY from Knot to us), the zone
    transferred."""
    k = knot(**(knot_kw or {}))
    srv = make_server(pipeline(k.port, **kw), start=False)
    k.notify_port = srv.port
    k.start()
    srv.start()
    wait_for(lambda: serving(srv), what="the first transfer")
    return k, srv


def test_axfr_then_ixfr_on_notify(make_server, knot, tmp_path):
    copy = tmp_path / "example.test.copy"
    k, srv = started(make_server, knot, tmp_path, copy=copy)
    log = srv.wait_log("AXFR from 127.0.0.1@")
    assert f"serial 1, " in log
    assert "AXFR, outgoing" in k.log()
    same_answers(k.port, srv.port)
    # The copy on disk is the zone as transferred.
    ref = dns.zone.from_text(zone_text(), origin="example.test.")
    assert dns.zone.from_file(str(copy), origin="example.test.") == ref

    # A change on Knot (kept in its journal): NOTIFY, then IXFR. REFRESH is an hour, so only
    # the NOTIFY can bring it this soon.
    k.change(add=[("new.example.test.", 300, "A", "192.0.2.99")],
             remove=[("www.example.test.", "AAAA", "2001:db8::10")])
    assert k.serial() == 2
    wait_for(lambda: serving(srv, "new.example.test."), what="the IXFR")
    log = srv.wait_log("IXFR from 127.0.0.1@")
    assert "NOTIFY from 127.0.0.1@" in log
    assert "serial 1 -> 2 (1 difference sequence: 1 removed, 1 added)" in log
    assert "IXFR, outgoing" in k.log()
    assert rcode(srv, "www.example.test.", "AAAA") == dns.rcode.NOERROR
    assert not query(srv.port, "www.example.test.", "AAAA").answer
    assert soa_serial(srv.port) == 2
    same_answers(k.port, srv.port)
    wait_for(lambda: "new.example.test." in copy.read_text(), what="the copy to be rewritten")
    assert " 2 3600 600 604800 60" in copy.read_text()

    # Several changes in a row: one IXFR with several difference sequences, or several IXFRs.
    k.change(add=[("a.example.test.", 300, "A", "192.0.2.101")])
    k.change(add=[("b.example.test.", 300, "A", "192.0.2.102")],
             remove=[("a.example.test.", "A", "192.0.2.101")])
    wait_for(lambda: soa_serial(srv.port) == 4, what="serial 4")
    assert rcode(srv, "a.example.test.") == dns.rcode.NXDOMAIN
    assert serving(srv, "b.example.test.")
    same_answers(k.port, srv.port)
    assert srv.log().count("AXFR from") == 1  # never a full transfer again


def test_restart_serves_the_copy(make_server, knot, tmp_path):
    copy = tmp_path / "example.test.copy"
    k, srv = started(make_server, knot, tmp_path, copy=copy)
    k.change(add=[("new.example.test.", 300, "A", "192.0.2.99")])
    wait_for(lambda: serving(srv, "new.example.test."), what="the IXFR")
    assert srv.stop() == 0
    k.stop()
    # The primary is down: the copy is served at once.
    srv2 = make_server(pipeline(k.port, copy=copy))
    r = query(srv2.port, "new.example.test.")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert str(r.answer[0][0]) == "192.0.2.99"
    assert soa_serial(srv2.port) == 2
    log = srv2.wait_log("from the copy")
    assert "serial 2 from the copy" in log
    srv2.wait_log("SOA query to 127.0.0.1@")  # and it tried the primary
    assert serving(srv2, "new.example.test.")


def ede_codes(r):
    return [o.otype for o in r.options if o.otype == 15]


def test_expire_then_recover(make_server, knot, tmp_path):
    copy = tmp_path / "example.test.copy"
    text = zone_text(refresh=1, retry=1, expire=3)
    k, srv = started(make_server, knot, tmp_path, copy=copy, knot_kw={"text": text})
    # Refreshes keep it alive while the primary answers.
    srv.wait_log("AXFR from")
    time.sleep(4)
    assert serving(srv)
    k.stop()
    # No successful check for `expire` seconds: SERVFAIL (with EDE "Not Ready").
    wait_for(lambda: rcode(srv) == dns.rcode.SERVFAIL, timeout=15, what="expiry")
    srv.wait_log("expired (no successful check for 3 s)")
    q = make_query("www.example.test.", "A", use_edns=0)
    r = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.SERVFAIL and ede_codes(r)
    assert not r.answer
    # A restart does not revive an expired copy.
    assert srv.stop() == 0
    srv2 = make_server(pipeline(k.port, copy=copy))
    assert rcode(srv2) == dns.rcode.SERVFAIL
    srv2.wait_log("expired: SERVFAIL until the primary answers")
    # The primary is back (and NOTIFYs at start): served again.
    k.notify_port = srv2.port
    k.start()
    wait_for(lambda: serving(srv2), timeout=15, what="recovery")
    srv2.wait_log("the primary answered again")


def test_notify_only_from_primaries(make_server, tmp_path):
    # The primary is 127.0.0.1 (nothing listens on its port: the zone is never loaded).
    port = free_port(ipv6=False)
    srv = make_server(pipeline(port))
    # Not a primary: REFUSED (RFC 1996 §3.10).
    q, r = send_notify(srv.port, source="127.0.0.2")
    assert r.rcode() == dns.rcode.REFUSED
    assert r.id == q.id and r.opcode() == dns.opcode.NOTIFY
    # The primary: NOERROR, AA, the question echoed (RFC 1996 §4.7), and a check follows.
    q, r = send_notify(srv.port, source="127.0.0.1", serial=5)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.QR and r.flags & dns.flags.AA
    assert r.id == q.id and r.opcode() == dns.opcode.NOTIFY
    assert r.question == q.question
    srv.wait_log(f"NOTIFY from 127.0.0.1@{port}: checking it")
    assert "NOTIFY from 127.0.0.2@" in srv.log() and "refused: not a primary" in srv.log()
    # Not one of our zones: not ours to answer (the core REFUSEs).
    q, r = send_notify(srv.port, zone="other.test.", source="127.0.0.1")
    assert r.rcode() == dns.rcode.REFUSED
    # A zone never loaded answers SERVFAIL; other names are not ours.
    assert rcode(srv) == dns.rcode.SERVFAIL
    assert rcode(srv, "example.test.", "SOA") == dns.rcode.SERVFAIL
    assert rcode(srv, "www.other.test.") == dns.rcode.REFUSED


def test_transfer_onward_and_notify_downstream(make_server, knot, tmp_path):
    """The zone is published in the registry: the transfer plugin serves it to our own
    secondaries, and every new version NOTIFYs them."""
    down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    down.bind(("127.0.0.1", 0))
    down.settimeout(10)
    dport = down.getsockname()[1]
    try:
        transfer = f'{{acl: [{{address: 127.0.0.0/8}}], notify: ["127.0.0.1:{dport}"]}}'
        k, srv = started(make_server, knot, tmp_path, transfer=transfer)
        ours = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.test.", port=srv.port,
                                               lifetime=10))
        theirs = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.test.", port=k.port,
                                                 lifetime=10))
        assert ours == theirs
        # The first version was announced too; drain it.
        wire, _ = down.recvfrom(4096)
        assert dns.message.from_wire(wire).opcode() == dns.opcode.NOTIFY
        down.settimeout(0.2)
        try:
            while True:
                down.recvfrom(4096)
        except socket.timeout:
            pass
        down.settimeout(10)
        k.change(add=[("new.example.test.", 300, "A", "192.0.2.99")])
        wire, _ = down.recvfrom(4096)
        n = dns.message.from_wire(wire)
        assert n.opcode() == dns.opcode.NOTIFY
        assert n.question[0].name == dns.name.from_text("example.test.")
        ours = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.test.", port=srv.port,
                                               lifetime=10))
        assert ours.get_rdataset("new", "A") is not None
        assert ours.get_soa().serial == 2
    finally:
        down.close()


def test_ixfr_answered_axfr_style(make_server, knot, tmp_path):
    k, srv = started(make_server, knot, tmp_path, knot_kw={"ixfr": False})
    k.change(add=[("new.example.test.", 300, "A", "192.0.2.99")])
    wait_for(lambda: serving(srv, "new.example.test."), what="the transfer")
    srv.wait_log("IXFR (answered AXFR-style) from 127.0.0.1@")
    same_answers(k.port, srv.port)


def test_reload_keeps_zone_and_timers(make_server, knot, tmp_path):
    copy = tmp_path / "example.test.copy"
    k, srv = started(make_server, knot, tmp_path, copy=copy)
    srv.reload()
    srv.wait_log("configuration 2 loaded")
    # Served at once by the new configuration, without a new transfer.
    assert serving(srv)
    # The new instance is in charge: it takes the next change.
    k.change(add=[("new.example.test.", 300, "A", "192.0.2.99")])
    wait_for(lambda: serving(srv, "new.example.test."), what="the IXFR after reload")
    assert srv.log().count("AXFR from") == 1
    # A reload without the zone: no longer served.
    srv.write_config("- chaos: {}\n")
    srv.reload()
    srv.wait_log("configuration 3 loaded")
    wait_for(lambda: rcode(srv) == dns.rcode.REFUSED, what="the zone to go")


def ixfr_answer(port, serial):
    """Our IXFR answer (one message) to a client at serial, one record per RRset."""
    q = dns.message.make_query("example.test.", "IXFR")
    q.authority.append(dns.rrset.from_text(
        "example.test.", 0, "IN", "SOA",
        f"ns1.example.test. hostmaster.example.test. {serial} 1 1 1 1"))
    r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=5, one_rr_per_rrset=True)
    assert r.rcode() == dns.rcode.NOERROR
    return [(rr.rdtype, rr[0]) for rr in r.answer]


def test_ixfr_onward_from_the_journal(make_server, knot, tmp_path):
    """With `journal`, the changes received are kept, so the transfer plugin answers IXFR for
    the zone incrementally, also after a restart."""
    jdir = tmp_path / "journal"
    jdir.mkdir()
    copy = tmp_path / "example.test.copy"
    transfer = "{acl: [{address: 127.0.0.0/8}]}"
    extra = f'    journal: "{jdir}"\n'
    k, srv = started(make_server, knot, tmp_path, copy=copy, transfer=transfer, extra=extra)
    k.change(add=[("new.example.test.", 300, "A", "192.0.2.99")],
             remove=[("mail.example.test.", "A", "192.0.2.25")])
    wait_for(lambda: serving(srv, "new.example.test."), what="the IXFR")
    assert (jdir / "example.test.journal").is_file()

    def incremental(port, since, now):
        rrs = ixfr_answer(port, since)
        soas = [rd.serial for t, rd in rrs if t == dns.rdatatype.SOA]
        # RFC 1995 §4: new SOA, old SOA, removals, new SOA, additions, new SOA.
        assert soas == [now, since, now, now], rrs
        return [(t, rd.to_text()) for t, rd in rrs if t != dns.rdatatype.SOA]

    changes = incremental(srv.port, 1, 2)
    assert changes == [(dns.rdatatype.A, "192.0.2.25"), (dns.rdatatype.A, "192.0.2.99")]
    # After a restart the journal is still there (and the primary may be down).
    assert srv.stop() == 0
    k.stop()
    srv2 = make_server(pipeline(k.port, copy=copy, transfer=transfer, extra=extra),
                       start=False)
    k.notify_port = srv2.port
    srv2.start()
    assert incremental(srv2.port, 1, 2) == changes
    # The primary is back with a further change: the journal goes on.
    k.start()
    k.change(add=[("b.example.test.", 300, "A", "192.0.2.102")])
    wait_for(lambda: soa_serial(srv2.port) == 3, what="serial 3")
    assert len(incremental(srv2.port, 1, 3)) == 3
    assert incremental(srv2.port, 2, 3) == [(dns.rdatatype.A, "192.0.2.102")]
    # A reload hands the journal over to the new configuration.
    srv2.reload()
    srv2.wait_log("configuration 2 loaded")
    assert incremental(srv2.port, 2, 3) == [(dns.rdatatype.A, "192.0.2.102")]
    k.change(add=[("c.example.test.", 300, "A", "192.0.2.103")])
    wait_for(lambda: soa_serial(srv2.port) == 4, what="serial 4")
    assert len(incremental(srv2.port, 2, 4)) == 2
    assert "cannot open the journal" not in srv2.log()
    # A whole transfer (AXFR) starts the journal over: older clients get the whole zone.
    srv2.stop()
    copy.unlink()
    srv3 = make_server(pipeline(k.port, copy=copy, transfer=transfer, extra=extra))
    wait_for(lambda: soa_serial(srv3.port) == 4, what="the AXFR")
    rrs = ixfr_answer(srv3.port, 3)
    assert rrs[1][0] != dns.rdatatype.SOA  # AXFR-style


TSIG_KEY = ("xfr.example.test.", "c2Vjb25kYXJ5LXRzaWcta2V5LTMyLWJ5dGVzLWxvbmch")


def test_tsig_transfers_from_knot(make_server, knot, tmp_path):
    """Knot allows transfers only with the key: our SOA checks, AXFR and IXFR are signed and
    every answer message is verified (RFC 8945)."""
    k, srv = started(make_server, knot, tmp_path, knot_kw={"tsig": TSIG_KEY}, key=TSIG_KEY)
    srv.wait_log("AXFR from 127.0.0.1@")
    same_answers(k.port, srv.port)
    k.change(add=[("signed.example.test.", 300, "A", "192.0.2.42")])
    wait_for(lambda: serving(srv, "signed.example.test."), what="the signed IXFR")
    srv.wait_log("IXFR from 127.0.0.1@")
    assert "IXFR, outgoing" in k.log()
    same_answers(k.port, srv.port)


def test_tsig_wrong_key_refused(make_server, knot, tmp_path):
    """With another secret, Knot answers BADSIG, unsigned: such an answer is not believed (it
    could come from anyone), so the check fails and the zone never loads."""
    k = knot(tsig=TSIG_KEY)
    srv = make_server(pipeline(k.port, key=(TSIG_KEY[0], "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==")),
                      start=False)
    k.notify_port = srv.port
    k.start()
    srv.start()
    srv.wait_log("no primary could be checked", timeout=20)
    assert rcode(srv) == dns.rcode.SERVFAIL
    assert "AXFR from" not in srv.log()


def test_update_refused_on_secondary_zone(make_server, knot, tmp_path):
    """RFC 2136 updates for a zone we only copy are NOTAUTH (we do not forward), even with an
    update plugin that would accept any zone; the zone stays as transferred."""
    import dns.update
    k = knot()
    srv = make_server("- update: {acl: [{address: 127.0.0.0/8}]}\n" + pipeline(k.port),
                      start=False)
    k.notify_port = srv.port
    k.start()
    srv.start()
    wait_for(lambda: serving(srv), what="the first transfer")
    u = dns.update.UpdateMessage("example.test.")
    u.add("sneaky", 300, "A", "192.0.2.66")
    r = dns.query.tcp(u, "127.0.0.1", port=srv.port, timeout=5)
    assert r.rcode() == dns.rcode.NOTAUTH
    assert rcode(srv, "sneaky.example.test.") == dns.rcode.NXDOMAIN
    assert soa_serial(srv.port) == 1


OTHER_KEY = ("other.example.test.", "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMDE=")


def test_notify_signed_required(make_server, tmp_path):
    """notify_signed: a NOTIFY counts only when signed with the zone's key (verified by the
    tsig plugin, earlier in the pipeline); unsigned or with another key it is REFUSED, with a
    bad signature the tsig plugin answers it."""
    port = free_port(ipv6=False)  # the primary: nothing listens, the zone never loads
    keys = ", ".join(f'{{name: {n}, algorithm: hmac-sha256, secret: "{s}"}}'
                     for n, s in (TSIG_KEY, OTHER_KEY))
    srv = make_server(f"- tsig: {{keys: [{keys}]}}\n" +
                      pipeline(port, key=TSIG_KEY, notify_signed=True))
    q, r = send_notify(srv.port, serial=5)
    assert r.rcode() == dns.rcode.REFUSED
    q, r = send_notify(srv.port, serial=5, key=OTHER_KEY)
    assert r.rcode() == dns.rcode.REFUSED
    q, r = send_notify(srv.port, serial=5, key=(TSIG_KEY[0], OTHER_KEY[1]))
    assert r.rcode() == dns.rcode.NOTAUTH  # BADSIG, from the tsig plugin
    assert "checking it" not in srv.log()
    q, r = send_notify(srv.port, serial=5, key=TSIG_KEY)
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig
    srv.wait_log(f"NOTIFY from 127.0.0.1@{port}: checking it")
    assert srv.log().count("refused: not signed with the zone's key") == 2


def test_notify_signed_needs_key(server_bin, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(pipeline(5300, notify_signed=True).replace("- secondary:", "pipeline:\n- secondary:"))
    out = subprocess.run([str(SERVER_BIN), "-t", "-P", str(PLUGIN_DIR), "-c", str(path)],
                         capture_output=True, text=True, timeout=60, env=server_env())
    assert out.returncode == 1
    assert "'notify_signed' needs the zone's 'key'" in out.stderr, out.stderr
