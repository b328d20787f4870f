"""The secondary plugin against a scripted primary: every way a transfer can go wrong leaves
the last good version in place (answers and the copy on disk), IXFR difference sequences
from a primary other than Knot, IXFR refused (AXFR instead), TC on the SOA query (TCP), and
configuration errors."""

import subprocess

import dns.message
import dns.opcode
import dns.query
import dns.rcode
import pytest

from cdnstest import PLUGIN_DIR, SERVER_BIN, free_port, server_env
from primaries import query, send_notify, soa_serial, wait_for, zone_text

V1 = zone_text(serial=1)
V2 = zone_text(serial=2).replace("192.0.2.10", "192.0.2.20")


def pipeline(port, copy):
    return (f'- secondary:\n    zones: [{{name: example.test, primaries: ["127.0.0.1:{port}"], '
            f'file: "{copy}"}}]\n    refresh_min: 1s\n    retry_min: 1s\n    timeout: 2s\n')


def www(srv):
    r = query(srv.port, "www.example.test.")
    return str(r.answer[0][0]) if r is not None and r.answer else None


@pytest.fixture
def loaded(make_server, fake_primary, tmp_path):
    """Our server with serial 1 of the zone from a fake primary (REFRESH is an hour: only a
    NOTIFY starts a check)."""
    fp = fake_primary(V1)
    copy = tmp_path / "example.test.copy"
    srv = make_server(pipeline(fp.port, copy))
    wait_for(lambda: www(srv) == "192.0.2.10", what="the first transfer")
    srv.wait_log("AXFR from")
    return fp, srv, copy


BROKEN = [
    ("cut", "closed the connection before the end of the transfer"),
    ("last_soa", "the last SOA has serial 3, the first 2"),
    ("cname", "does not build"),
    ("wrong_id", "does not answer our query"),
    ("garbage", "malformed message"),
]


@pytest.mark.parametrize("mode,why", BROKEN, ids=[m for m, _ in BROKEN])
def test_broken_transfer_keeps_the_good_copy(loaded, mode, why):
    fp, srv, copy = loaded
    before = copy.read_text()
    fp.text = V2
    fp.mode = mode
    _, r = send_notify(srv.port)
    assert r.rcode() == dns.rcode.NOERROR
    log = srv.wait_log(why)
    assert "refused IXFR (rcode 4): trying AXFR" in log
    assert "keeping serial 1" in log
    # Nothing changed: answers, serial, the copy on disk.
    assert www(srv) == "192.0.2.10"
    assert soa_serial(srv.port) == 1
    assert copy.read_text() == before
    assert ("tcp", "AXFR") in fp.requests
    # The primary mends its ways: the next NOTIFY brings serial 2.
    fp.mode = "good"
    send_notify(srv.port)
    wait_for(lambda: www(srv) == "192.0.2.20", what="serial 2")
    assert soa_serial(srv.port) == 2
    wait_for(lambda: "192.0.2.20" in copy.read_text(), what="the copy")


def test_ixfr_from_a_scripted_primary(loaded):
    fp, srv, copy = loaded
    fp.ixfr_from = V1
    fp.text = V2
    fp.mode = "ixfr"
    send_notify(srv.port)
    wait_for(lambda: www(srv) == "192.0.2.20", what="the IXFR")
    log = srv.wait_log("IXFR from 127.0.0.1@")
    assert "serial 1 -> 2 (1 difference sequence: 1 removed, 1 added)" in log
    assert "AXFR from" in log and log.count("AXFR from") == 1
    assert ("tcp", "IXFR") in fp.requests and fp.requests.count(("tcp", "AXFR")) == 1


def test_ixfr_broken_chain_falls_back_to_axfr(loaded):
    fp, srv, copy = loaded
    fp.ixfr_from = V1
    fp.text = V2
    fp.mode = "ixfr_chain"
    send_notify(srv.port)
    log = srv.wait_log("IXFR from 127.0.0.1@")
    wait_for(lambda: www(srv) == "192.0.2.20", what="the AXFR after the broken IXFR")
    log = srv.log()
    assert "broken SOA chain" in log and "trying AXFR" in log
    assert fp.requests.count(("tcp", "AXFR")) == 2


def test_truncated_soa_answer_retried_over_tcp(loaded):
    fp, srv, copy = loaded
    fp.text = V2
    fp.mode = "tc"
    send_notify(srv.port)
    wait_for(lambda: www(srv) == "192.0.2.20", what="serial 2")
    assert ("tcp", "SOA") in fp.requests


def test_lost_soa_query_sent_again(loaded):
    fp, srv, copy = loaded
    fp.text = V2
    fp.udp_drop = 2
    n = fp.requests.count(("udp", "SOA"))
    send_notify(srv.port)
    wait_for(lambda: www(srv) == "192.0.2.20", what="serial 2")
    assert fp.requests.count(("udp", "SOA")) == n + 3
    assert "SOA query to" not in srv.log()  # no failure was logged


def test_notify_during_a_transfer_checks_again(loaded):
    fp, srv, copy = loaded
    fp.text = V2
    fp.mode = "slow"
    fp.delay = 1.5
    send_notify(srv.port)
    wait_for(lambda: fp.requests.count(("tcp", "AXFR")) == 2, what="the slow AXFR")
    # Serial 3 while serial 2 is still being sent: the NOTIFY is not lost.
    fp.text = zone_text(serial=3).replace("192.0.2.10", "192.0.2.30")
    fp.mode = "good"
    send_notify(srv.port)
    wait_for(lambda: soa_serial(srv.port) == 3, what="serial 3")
    assert www(srv) == "192.0.2.30"
    # The log line may follow the publication by a moment: wait for it, don't race it.
    srv.wait_log("serial 1 -> 2")
    srv.wait_log("serial 2 -> 3")


def test_ipv6_primary(make_server, fake_primary):
    fp = fake_primary(V1, addr="::1")
    srv = make_server(f'- secondary:\n    zones: [{{name: example.test, primaries: '
                      f'["[::1]:{fp.port}"]}}]\n')
    wait_for(lambda: www(srv) == "192.0.2.10", what="the transfer over IPv6")
    srv.wait_log(f"AXFR from [::1]@{fp.port}: serial 1")
    fp.text = V2
    # The NOTIFY comes from ::1, the primary's address (to our IPv6 listener).
    q = dns.message.make_query("example.test.", "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    r = dns.query.udp(q, "::1", port=srv.port, timeout=2)
    assert r.rcode() == dns.rcode.NOERROR
    wait_for(lambda: www(srv) == "192.0.2.20", what="serial 2")
    # From 127.0.0.1 it is not the primary.
    _, r = send_notify(srv.port)
    assert r.rcode() == dns.rcode.REFUSED


def test_many_zones(make_server, fake_primary):
    """More zones than checks run at once: they wait their turn, and all get loaded."""
    fp = fake_primary(V1)
    names = [f"z{i}.test" for i in range(80)]
    for n in names:
        fp.zones[n + "."] = zone_text(name=n, serial=7)
    zones = ", ".join(f'{{name: {n}, primaries: ["127.0.0.1:{fp.port}"]}}' for n in names)
    srv = make_server(f"- secondary:\n    zones: [{zones}]\n")
    wait_for(lambda: all(soa_serial(srv.port, n + ".") == 7 for n in names), timeout=30,
             what="every zone", interval=0.2)
    # A zone is served a moment before its transfer is logged: wait for the lines.
    assert srv.wait_log("AXFR from", count=80).count("AXFR from") == 80
    r = query(srv.port, "www.z42.test.")
    assert r.rcode() == dns.rcode.NOERROR and str(r.answer[0][0]) == "192.0.2.10"


def test_primary_behind_keeps_ours(loaded):
    fp, srv, copy = loaded
    fp.text = zone_text(serial=0)
    send_notify(srv.port)
    srv.wait_log("has serial 0, behind ours (1): keeping ours")
    assert soa_serial(srv.port) == 1


def test_second_primary_used_when_first_is_down(make_server, fake_primary, tmp_path):
    fp = fake_primary(V1)
    dead = free_port(ipv6=False)
    srv = make_server(
        f'- secondary:\n    zones: [{{name: example.test, primaries: ["127.0.0.1:{dead}", '
        f'"127.0.0.1:{fp.port}"]}}]\n    timeout: 2s\n')
    wait_for(lambda: www(srv) == "192.0.2.10", what="the transfer from the second primary")
    log = srv.wait_log(f"AXFR from 127.0.0.1@{fp.port}: serial 1")
    assert f"SOA query to 127.0.0.1@{dead}" in log


def check(tmp_path, text):
    path = tmp_path / "clouddns.yaml"
    path.write_text("pipeline:\n" + text)
    out = subprocess.run([str(SERVER_BIN), "-t", "-P", str(PLUGIN_DIR), "-c", str(path)],
                         capture_output=True, text=True, timeout=60, env=server_env())
    return out.returncode, out.stderr, str(path)


def test_config_errors(server_bin, tmp_path):
    rc, err, path = check(tmp_path, """\
  - secondary:
      zones:
        - { name: example.test, primaries: [192.0.2.1, "not an address", "192.0.2.1:99999"] }
        - { name: example.test, primaries: [192.0.2.2] }
        - { name: "bad..name", primaries: [192.0.2.2] }
        - { name: example.org, primaries: [] }
        - { name: example.net, primaries: [192.0.2.1], file: nodir/example.net }
        - { name: example.com }
      refresh_min: 0s
""")
    assert rc == 1
    prefix = "plugin 'secondary': "
    must = ("'primaries' must hold addresses with an optional port such as \"192.0.2.1\", "
            "\"192.0.2.1:5300\" or \"[2001:db8::1]:5300\", got")
    assert err.splitlines() == [
        f'{path}:10:20: {prefix}option \'refresh_min\': must be between 1s and 1d, got "0s"',
        f'{path}:4:56: {prefix}zone \'example.test\': {must} "not an address"',
        f'{path}:4:74: {prefix}zone \'example.test\': {must} "192.0.2.1:99999"',
        f"{path}:5:19: {prefix}zone 'example.test' is listed twice",
        f'{path}:6:19: {prefix}zone name: not a domain name, got "bad..name"',
        f"{path}:7:43: {prefix}zone 'example.org': 'primaries' is empty",
        f"{path}:8:62: {prefix}zone 'example.net': 'file': the directory of "
        '"nodir/example.net" does not exist',
        f"{path}:9:11: {prefix}option 'primaries' is required",
    ]
    rc, err, path = check(tmp_path, "  - secondary: { zones: [] }\n")
    assert rc == 1 and "option 'zones': must be a list" in err
    rc, err, path = check(tmp_path, """\
  - secondary:
      zones:
        - { name: example.test, primaries: ["[2001:db8::1]:5300", 192.0.2.1], file: x.zone }
      key: xfr.example.test
""")
    assert rc == 1 and "unknown option 'key'" in err
    rc, err, path = check(tmp_path, """\
  - secondary:
      zones: [{ name: example.test, primaries: [192.0.2.1] }]
      journal: no/such/dir
""")
    assert (rc, err) == (1, f"{path}:4:16: plugin 'secondary': option 'journal': must be an "
                            'existing directory, got "no/such/dir"\n')
    rc, err, path = check(tmp_path, """\
  - secondary:
      zones:
        - { name: example.test, primaries: ["[2001:db8::1]:5300", 192.0.2.1], file: x.zone }
""")
    assert rc == 0, err
