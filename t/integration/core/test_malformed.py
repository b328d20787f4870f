"""Malformed input: the server answers FORMERR or NOTIMP when the header is readable and the
message is a query, says nothing otherwise, and keeps serving."""

import random
import socket
import struct

import dns.rcode
import pytest

from cdnstest import header, make_query

QID = 0x4242


def hdr(flags=0x0100, qd=1, an=0, ns=0, ar=0, qid=QID):
    return struct.pack("!6H", qid, flags, qd, an, ns, ar)


def question(name=b"\x07example\x00", qtype=1, qclass=1):
    return name + struct.pack("!HH", qtype, qclass)


def check_error_reply(reply, rcode, qid=QID):
    assert reply is not None, "no reply"
    rid, flags, *_ = header(reply)
    assert rid == qid
    assert flags & 0x8000, "QR set"
    assert flags & 0xF == rcode, f"rcode {flags & 0xF}, expected {rcode}"


def send_both(server, wire):
    return [server.udp_raw(wire), server.tcp_raw(wire)]


def test_no_question_formerr(server):
    for reply in send_both(server, hdr(qd=0)):
        check_error_reply(reply, dns.rcode.FORMERR)


def test_two_questions_formerr(server):
    wire = hdr(qd=2) + question() + question(b"\x03foo\x00", 16, 1)
    for reply in send_both(server, wire):
        check_error_reply(reply, dns.rcode.FORMERR)


@pytest.mark.parametrize("opcode", [1, 2, 3, 6, 15])
def test_unknown_opcode_notimp(server, opcode):
    flags = (opcode << 11) | 0x0100
    for reply in send_both(server, hdr(flags=flags) + question()):
        check_error_reply(reply, dns.rcode.NOTIMP)
        assert (header(reply)[1] >> 11) & 0xF == opcode, "opcode echoed"
    server.assert_serving()


def test_response_is_dropped(server):
    q = make_query("id.server.", "TXT", "CH")
    q.flags |= 0x8000
    assert server.udp_raw(q.to_wire(), timeout=0.5) is None
    assert server.udp_raw(hdr(flags=0x8000, qd=0), timeout=0.5) is None
    server.assert_serving()


BAD_MESSAGES = {
    "pointer to itself": hdr() + b"\xc0\x0c" + struct.pack("!HH", 1, 1),
    "pointer loop through a label": hdr() + b"\x01a\xc0\x0c" + struct.pack("!HH", 1, 1),
    "two pointers to each other": hdr() + b"\xc0\x0e\xc0\x0c" + struct.pack("!HH", 1, 1),
    "forward pointer": hdr() + b"\xc0\x20" + struct.pack("!HH", 1, 1) + b"\x00" * 40,
    "pointer past the end": hdr() + b"\xc0\xff" + struct.pack("!HH", 1, 1),
    "label type 01": hdr() + b"\x41abc\x00" + struct.pack("!HH", 1, 1),
    "label past the end": hdr() + b"\x3fabc",
    "name too long": hdr() + b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" + b"c" * 63
    + b"\x3f" + b"d" * 63 + b"\x00" + struct.pack("!HH", 1, 1),
    "question cut short": hdr() + b"\x07example\x00\x00",
    "huge counts": hdr(an=0xFFFF, ns=0xFFFF, ar=0xFFFF) + question(),
    "record cut short": hdr(ar=1) + question() + b"\x00\x00\x29\x04",
    "rdlength past the end": hdr(ar=1) + question() + b"\x00" + struct.pack("!HHIH", 41, 512,
                                                                           0, 200),
    "trailing garbage": hdr() + question() + b"\xde\xad\xbe\xef",
}


@pytest.mark.parametrize("name", sorted(BAD_MESSAGES))
def test_bad_message(server, name):
    """FORMERR (or silence), never a crash, and normal service afterwards."""
    for reply in send_both(server, BAD_MESSAGES[name]):
        if reply is not None:
            check_error_reply(reply, dns.rcode.FORMERR)
    server.assert_serving()


@pytest.mark.parametrize("wire", [b"", b"\x12", b"\x12\x34\x01\x00\x00", hdr()[:11]])
def test_short_header_ignored(server, wire):
    assert server.udp_raw(wire, timeout=0.5) is None
    server.assert_serving()


def test_random_bytes(server):
    rng = random.Random(20240611)
    for i in range(400):
        size = rng.choice([rng.randint(0, 16), rng.randint(12, 80), rng.randint(80, 700)])
        wire = bytes(rng.getrandbits(8) for _ in range(size))
        if i % 2 and size >= 12:
            # Keep the header plausible half of the time so the parser gets further.
            wire = wire[:2] + b"\x01\x00\x00\x01" + wire[6:]
        reply = server.udp_raw(wire, timeout=0.02)
        if reply is not None:
            assert len(wire) >= 12 and not wire[2] & 0x80, "reply to a response or a stub"
            assert reply[:2] == wire[:2], "reply carries the query's ID"
            assert reply[2] & 0x80
    server.assert_serving()


def test_random_bytes_tcp(server):
    rng = random.Random(7)
    for _ in range(50):
        size = rng.randint(0, 300)
        wire = bytes(rng.getrandbits(8) for _ in range(size))
        # Silence is allowed (e.g. less than a header): wait briefly, then move on.
        reply = server.tcp_raw(wire, timeout=0.2)
        if reply is not None:
            assert size >= 12 and reply[:2] == wire[:2]
    server.assert_serving()


def test_tcp_zero_length_frame(server):
    with server.tcp_connect() as s:
        s.sendall(b"\x00\x00")
        q = make_query("after.zero.", "A")
        wire = q.to_wire()
        try:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            data = s.recv(65535)
        except (ConnectionError, socket.timeout):
            data = b""
        # Either the server closed the connection, or it went on with the next frame.
        if data:
            assert data[2:4] == struct.pack("!H", q.id)
    server.assert_serving()


def test_tcp_frame_longer_than_data_then_close(server):
    q = make_query("id.server.", "TXT", "CH").to_wire()
    with server.tcp_connect() as s:
        s.sendall(struct.pack("!H", 400) + q)
    with server.tcp_connect() as s:
        s.sendall(b"\x01")  # half a length
    with server.tcp_connect() as s:
        s.sendall(struct.pack("!H", 65535) + b"x" * 1000)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
    server.assert_serving()


def test_tcp_many_abandoned_connections(server):
    socks = []
    for i in range(50):
        s = server.tcp_connect()
        s.sendall(struct.pack("!H", 100) + b"\x00" * (i % 20))
        socks.append(s)
    server.assert_serving()
    for s in socks:
        s.close()
    server.assert_serving()
