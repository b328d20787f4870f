"""log: one well-formed line per query, from any number of workers at once."""

import re
import threading
import time

import dns.flags
import dns.name
import dns.rcode

from cdnstest import make_query

LINE = re.compile(
    r'(?P<client>\S+)#(?P<port>\d+) (?P<transport>udp|tcp) '
    r'"(?P<qname>(?:[^"\\]|\\.)+) (?P<qtype>\S+) (?P<qclass>\S+)" '
    r'(?P<rcode>[A-Z0-9]+) (?P<flags>[a-z,]+|-) (?P<size>\d+)B (?P<ms>\d+\.\d{3})ms$')


def log_lines(srv):
    """Parsed query lines (a line is ours when it has the quoted question)."""
    out = []
    for line in srv.log().splitlines():
        if '" ' not in line or "#" not in line:
            continue
        m = LINE.search(line)
        assert m, f"malformed log line: {line!r}"
        out.append(m)
    return out


def find(srv, qname, sport, count=1):
    srv.wait_log(f"#{sport} ")
    lines = [m for m in log_lines(srv) if m["qname"] == qname and int(m["port"]) == sport]
    assert len(lines) == count, srv.log()
    return lines[0]


def test_log_udp_line(make_server):
    srv = make_server([("log", {}), ("chaos", {}), ("whoami", {})])
    q = make_query("Id.Server.", "TXT", "CH")
    r, sport = srv.udp_sport(q)
    m = find(srv, "id.server.", sport)
    assert m["client"] == "127.0.0.1" and m["transport"] == "udp"
    assert (m["qtype"], m["qclass"], m["rcode"]) == ("TXT", "CH", "NOERROR")
    assert m["flags"] == "qr,aa,rd"
    assert int(m["size"]) == r.wire_len
    assert float(m["ms"]) < 10000


def test_log_tcp_ipv6_refused(make_server):
    srv = make_server([("log", {}), ("chaos", {})])
    q = make_query("nobody.example.", "AAAA", "IN")
    q.flags &= ~dns.flags.RD
    r, sport = srv.tcp_sport(q, family=6)
    assert r.rcode() == dns.rcode.REFUSED
    m = find(srv, "nobody.example.", sport)
    assert m["client"] == "::1" and m["transport"] == "tcp"
    assert (m["qtype"], m["qclass"], m["rcode"], m["flags"]) == ("AAAA", "IN", "REFUSED", "qr")


def test_log_escapes_name(make_server):
    srv = make_server([("log", {}), ("whoami", {})])
    name = dns.name.Name([b'a"b', b"c d", b"x\ny", b"\xff", b""])
    _, sport = srv.udp_sport(make_query(name, "TYPE65280", "CLASS4000"))
    srv.wait_log(f"#{sport} ")
    line = [ln for ln in srv.log().splitlines() if f"#{sport} " in ln]
    assert len(line) == 1
    assert '"a\\"b.c\\ d.x\\010y.\\255. TYPE65280 CLASS4000"' in line[0]


def test_log_level_filtered(make_server):
    srv = make_server([("log", {"level": "debug"}), ("chaos", {})],
                      server={"log_level": "info"})
    _, sport = srv.udp_sport(make_query("id.server.", "TXT", "CH"))
    srv.tcp(make_query("id.server.", "TXT", "CH"))  # a round trip later, still nothing
    assert f"#{sport} " not in srv.log()


def test_log_debug_level_shown(make_server):
    srv = make_server([("log", {"level": "debug"}), ("chaos", {})],
                      server={"log_level": "debug"})
    _, sport = srv.udp_sport(make_query("id.server.", "TXT", "CH"))
    find(srv, "id.server.", sport)


def test_log_many_threads(make_server):
    srv = make_server([("log", {}), ("chaos", {}), ("whoami", {})], server={"workers": 4})
    errors = []
    ports = []

    def client(n):
        try:
            for i in range(50):
                name = f"t{n}-{i}.example."
                r, sport = (srv.udp_sport if i % 2 else srv.tcp_sport)(make_query(name, "A"))
                assert r.rcode() == dns.rcode.NOERROR
                ports.append((name, sport))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(ports) == 400
    deadline = time.monotonic() + 10
    while True:  # lines are written before the responses leave, but the sink may buffer
        seen = {(m["qname"], int(m["port"])) for m in log_lines(srv)}
        missing = [p for p in ports if p not in seen]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not missing, missing[:5]
