"""BIND (named) as the primary: AXFR at start, then a reloaded zone file is NOTIFYed and sent
as IXFR (named keeps the difference with ixfr-from-differences)."""

import dns.rcode

from primaries import query, soa_serial, wait_for, zone_text
from test_secondary import pipeline, same_answers, serving


def test_bind_primary(make_server, bind, tmp_path):
    b = bind()
    copy = tmp_path / "example.test.copy"
    srv = make_server(pipeline(b.port, copy=copy), start=False)
    b.notify_port = srv.port
    b.start()
    srv.start()
    wait_for(lambda: serving(srv), what="the first transfer")
    srv.wait_log(f"AXFR from 127.0.0.1@{b.port}: serial 1")
    same_answers(b.port, srv.port)

    text = zone_text(serial=2) + "new     A   192.0.2.99\n"
    b.reload(text)
    wait_for(lambda: serving(srv, "new.example.test."), what="the IXFR from named")
    log = srv.wait_log(f"IXFR from 127.0.0.1@{b.port}: serial 1 -> 2")
    assert "NOTIFY from 127.0.0.1@" in log
    assert soa_serial(srv.port) == 2
    same_answers(b.port, srv.port)
    assert "new.example.test." in copy.read_text()
    r = query(srv.port, "nope.example.test.")
    assert r.rcode() == dns.rcode.NXDOMAIN


def test_bind_primary_nsupdate(make_server, bind, tmp_path):
    """A change made on named with BIND's own nsupdate: named NOTIFYs us and we take it by
    IXFR."""
    import subprocess
    b = bind(dynamic=True)
    srv = make_server(pipeline(b.port), start=False)
    b.notify_port = srv.port
    b.start()
    srv.start()
    wait_for(lambda: serving(srv), what="the first transfer")
    cmds = (f"server 127.0.0.1 {b.port}\nzone example.test\n"
            "update add fromnsupdate.example.test 300 A 192.0.2.55\nsend\n")
    out = subprocess.run(["nsupdate"], input=cmds, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    wait_for(lambda: serving(srv, "fromnsupdate.example.test."), what="the IXFR after nsupdate")
    log = srv.wait_log(f"IXFR from 127.0.0.1@{b.port}: serial 1 -> 2")
    assert "NOTIFY from 127.0.0.1@" in log
    same_answers(b.port, srv.port)
