"""The file plugin end to end: zones from master files, answers, change-driven reloads that
keep the last good version, and zone errors reported with file:line:column."""

import os
import re
import subprocess
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from cdnstest import PLUGIN_DIR, SERVER_BIN, make_config, free_port

ZONE = """$ORIGIN example.test.
$TTL 300
@       SOA ns1 hostmaster {serial} 3600 600 86400 60
        NS  ns1
ns1     A   192.0.2.1
www     A   {www}
"""


def write_zone(path, serial, www="192.0.2.10", extra=""):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(ZONE.format(serial=serial, www=www) + extra)
    os.replace(tmp, path)
    # Distinct mtimes even on coarse-grained file systems.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + serial * 1000))


def query(port, name, rdtype, tcp=False):
    q = dns.message.make_query(name, rdtype)
    fn = dns.query.tcp if tcp else dns.query.udp
    return fn(q, "127.0.0.1", port=port, timeout=3)


def soa_serial(port):
    r = query(port, "example.test.", "SOA")
    return r.answer[0][0].serial


def file_pipeline(zone_path, reload=None):
    opts = f'zones: [{{name: example.test, path: "{zone_path}"}}]'
    if reload:
        opts += f", reload: {reload}"
    return f"- file: {{{opts}}}\n"


def test_answers_from_zone_file(make_server, tmp_path):
    zone = tmp_path / "example.test.zone"
    write_zone(zone, 1)
    srv = make_server(file_pipeline(zone))
    for tcp in (False, True):
        r = query(srv.port, "WWW.example.test.", "A", tcp)
        assert r.rcode() == dns.rcode.NOERROR
        assert r.flags & dns.flags.AA
        assert [rd.address for rd in r.answer[0]] == ["192.0.2.10"]
        assert r.question[0].name.to_text() == "WWW.example.test."
    r = query(srv.port, "nope.example.test.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.authority[0].rdtype == dns.rdatatype.SOA
    assert r.authority[0].ttl == 60  # RFC 2308: min(SOA TTL, MINIMUM)
    # Outside every zone: nobody answers.
    assert query(srv.port, "www.example.org.", "A").rcode() == dns.rcode.REFUSED


def test_sighup_reloads_changed_zone(make_server, tmp_path):
    zone = tmp_path / "example.test.zone"
    write_zone(zone, 1)
    srv = make_server(file_pipeline(zone))
    assert soa_serial(srv.port) == 1
    write_zone(zone, 2, www="192.0.2.20")
    srv.reload()
    deadline = time.monotonic() + 10
    while soa_serial(srv.port) != 2:
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.05)
    r = query(srv.port, "www.example.test.", "A")
    assert [rd.address for rd in r.answer[0]] == ["192.0.2.20"]


def test_broken_file_keeps_last_good_version(make_server, tmp_path):
    zone = tmp_path / "example.test.zone"
    write_zone(zone, 1)
    srv = make_server(file_pipeline(zone))
    write_zone(zone, 2, extra="bad     AAA 192.0.2.99\n")
    srv.reload()
    log = srv.wait_log("keeping serial 1")
    assert re.search(re.escape(str(zone)) + r":7:\d+: zone example\.test\.: .*AAA", log), log
    # Still the old version, still serving.
    assert soa_serial(srv.port) == 1
    # Fixed again: the next reload takes it.
    write_zone(zone, 3)
    srv.reload()
    deadline = time.monotonic() + 10
    while soa_serial(srv.port) != 3:
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.05)


def test_reload_interval_picks_up_changes(make_server, tmp_path):
    zone = tmp_path / "example.test.zone"
    write_zone(zone, 1)
    srv = make_server(file_pipeline(zone, reload="200ms"))
    write_zone(zone, 5)
    deadline = time.monotonic() + 10
    while soa_serial(srv.port) != 5:
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.05)


def test_included_file_change_reloads(make_server, tmp_path):
    inc = tmp_path / "hosts.inc"
    inc.write_text("mail A 192.0.2.25\n")
    zone = tmp_path / "example.test.zone"
    write_zone(zone, 1, extra=f'$INCLUDE "{inc}"\n')
    srv = make_server(file_pipeline(zone, reload="200ms"))
    assert query(srv.port, "mail.example.test.", "A").answer[0][0].address == "192.0.2.25"
    tmp = inc.with_suffix(".tmp")
    tmp.write_text("mail A 192.0.2.26\n")
    os.replace(tmp, inc)
    deadline = time.monotonic() + 10
    while query(srv.port, "mail.example.test.", "A").answer[0][0].address != "192.0.2.26":
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.05)


def check_config(tmp_path, pipeline):
    conf = tmp_path / "check.yaml"
    conf.write_text(make_config(free_port(), pipeline))
    p = subprocess.run([str(SERVER_BIN), "-P", str(PLUGIN_DIR), "-t", "-c", str(conf)],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr


def test_check_reports_zone_errors(tmp_path):
    zone = tmp_path / "example.test.zone"
    write_zone(zone, 1, extra="bad     IN  A 192.0.2.999\n")
    rc, err = check_config(tmp_path, file_pipeline(zone))
    assert rc == 1
    assert re.search(re.escape(str(zone)) + r":7:\d+: zone example\.test\.: .*192\.0\.2\.999", err), err
    # Semantic errors found when the zone is built: CNAME beside other data.
    write_zone(zone, 1, extra="www     CNAME ns1\n")
    rc, err = check_config(tmp_path, file_pipeline(zone))
    assert rc == 1
    assert "zone example.test.:" in err and "CNAME" in err, err
    # A missing file.
    rc, err = check_config(tmp_path, file_pipeline(tmp_path / "missing.zone"))
    assert rc == 1
    assert "missing.zone" in err and "No such file" in err, err
    # A good zone checks clean.
    write_zone(zone, 1)
    rc, err = check_config(tmp_path, file_pipeline(zone))
    assert rc == 0, err


def test_start_fails_on_broken_zone(tmp_path):
    zone = tmp_path / "example.test.zone"
    zone.write_text("$ORIGIN example.test.\n$TTL 60\nwww A 192.0.2.1\n")  # no SOA
    conf = tmp_path / "c.yaml"
    conf.write_text(make_config(free_port(), file_pipeline(zone)))
    p = subprocess.run([str(SERVER_BIN), "-P", str(PLUGIN_DIR), "-c", str(conf)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "SOA" in p.stderr, p.stderr
