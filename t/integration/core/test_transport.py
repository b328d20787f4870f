"""UDP and TCP over IPv4 and IPv6, TCP pipelining (RFC 7766), truncation and the TCP retry."""

import random
import struct
import subprocess
import time

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from cdnstest import make_query, read_frame, txt_text

LONG_VERSION = "".join(chr(ord("A") + i % 26) for i in range(2000))


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_chaos_and_whoami(server, family, transport):
    send = getattr(server, transport)
    q = make_query("version.server.", "TXT", "CH")
    r = send(q, family=family)
    assert r.id == q.id and r.rcode() == dns.rcode.NOERROR
    assert txt_text(r.answer[0]) == b"test-version"
    q = make_query("me.example.", "A")
    r = send(q, family=family)
    assert r.id == q.id and r.rcode() == dns.rcode.NOERROR
    want = dns.rdatatype.A if family == 4 else dns.rdatatype.AAAA
    assert r.answer[0].rdtype == want


def test_refused_when_nobody_answers(make_server):
    srv = make_server([("chaos", {})])
    for send in (srv.udp, srv.tcp):
        q = make_query("www.example.", "A")
        r = send(q)
        assert r.id == q.id
        assert r.rcode() == dns.rcode.REFUSED
        assert r.flags & dns.flags.QR
        assert r.answer == [] and r.authority == []
        assert r.question == q.question


def test_tcp_several_queries_one_connection(server):
    with server.tcp_connect() as s:
        for i in range(5):
            q = make_query(f"seq{i}.example.", "A")
            wire = q.to_wire()
            s.sendall(struct.pack("!H", len(wire)) + wire)
            r = dns.message.from_wire(read_frame(s))
            assert r.id == q.id and r.rcode() == dns.rcode.NOERROR


def test_tcp_pipelining_100(server):
    """100 queries written at once on one connection: 100 answers, IDs and names matching,
    in any order (RFC 7766 §6.2.1.1)."""
    ids = random.sample(range(65536), 100)
    queries = {}
    blob = b""
    for i, qid in enumerate(ids):
        if i % 3 == 0:
            q = make_query("id.server.", "TXT", "CH")
        else:
            q = make_query(f"p{i}.example.", "A")
        q.id = qid
        queries[qid] = q
        wire = q.to_wire()
        blob += struct.pack("!H", len(wire)) + wire
    with server.tcp_connect(timeout=10) as s:
        s.sendall(blob)
        answers = {}
        for _ in range(100):
            r = dns.message.from_wire(read_frame(s))
            assert r.id in queries, f"unexpected id {r.id}"
            assert r.id not in answers, f"id {r.id} answered twice"
            answers[r.id] = r
    assert set(answers) == set(ids)
    for qid, r in answers.items():
        assert r.question == queries[qid].question
        assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1


def test_tcp_split_writes(server):
    """A message arriving a byte at a time is still one message."""
    q = make_query("slow.example.", "A")
    wire = q.to_wire()
    frame = struct.pack("!H", len(wire)) + wire
    with server.tcp_connect() as s:
        for i in range(len(frame)):
            s.sendall(frame[i:i + 1])
        r = dns.message.from_wire(read_frame(s))
    assert r.id == q.id and r.rcode() == dns.rcode.NOERROR


@pytest.fixture
def long_server(make_server):
    return make_server([("chaos", {"version": LONG_VERSION})], server={"max_udp_size": 4096})


def test_truncated_over_udp_full_over_tcp(long_server):
    q = make_query("version.bind.", "TXT", "CH")  # no EDNS: 512 octets at most
    wire = long_server.udp_raw(q.to_wire(), timeout=3)
    assert wire is not None
    assert len(wire) <= 512
    r = dns.message.from_wire(wire)
    assert r.id == q.id
    assert r.flags & dns.flags.TC
    assert r.answer == []
    r = long_server.tcp(q)
    assert not r.flags & dns.flags.TC
    assert txt_text(r.answer[0]) == LONG_VERSION.encode()


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_truncation_retry_by_real_clients(long_server, tool):
    """dig and kdig retry over TCP when they see TC=1 and print the whole text."""
    args = [tool, "@127.0.0.1", "-p", str(long_server.port), "CH", "TXT", "version.bind",
            "+noedns", "+short"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    text = "".join(part.strip('"') for part in out.stdout.split())
    assert text == LONG_VERSION


def test_tcp_idle_timeout(make_server):
    srv = make_server(server={"tcp_idle_timeout": "300ms"})
    with srv.tcp_connect() as s:
        q = make_query("idle.example.", "A")
        wire = q.to_wire()
        s.sendall(struct.pack("!H", len(wire)) + wire)
        assert dns.message.from_wire(read_frame(s)).id == q.id
        s.settimeout(10)
        t0 = time.monotonic()
        try:
            assert s.recv(1) == b"", "the server closes an idle connection"
        except ConnectionResetError:
            pass
        assert time.monotonic() - t0 < 8
    srv.assert_serving()


def test_tcp_max_per_client(make_server):
    srv = make_server(server={"tcp_max_per_client": 2})
    keep = [srv.tcp_connect() for _ in range(2)]
    try:
        for s in keep:  # make sure both are accepted before the third
            q = make_query("k.example.", "A")
            w = q.to_wire()
            s.sendall(struct.pack("!H", len(w)) + w)
            assert dns.message.from_wire(read_frame(s)).id == q.id
        extra = srv.tcp_connect()
        q = make_query("third.example.", "A")
        w = q.to_wire()
        try:
            extra.sendall(struct.pack("!H", len(w)) + w)
            data = extra.recv(65535)
        except (ConnectionError, OSError):
            data = b""
        assert data == b"", "a connection over the per-client limit is closed unanswered"
        extra.close()
    finally:
        for s in keep:
            s.close()
    deadline = time.monotonic() + 5
    while True:  # the slots free up once the server sees the closes
        try:
            srv.assert_serving()
            break
        except (ConnectionError, OSError, dns.exception.Timeout):
            assert time.monotonic() < deadline
            time.sleep(0.1)
