"""The tsig plugin end to end: signed requests from dnspython, dig, kdig and nsupdate verify and
get signed responses; every error of RFC 8945 §5.2 is answered as §5.3.2 says; key files in BIND
syntax; configuration errors with their positions.

Requests that dnspython will not build (old clocks, truncated MACs, broken RDATA, another
Original ID) are signed here by hand with Python's hmac module, and responses are checked the
same way: an implementation independent of both the server and dnspython."""

import base64
import hashlib
import hmac
import re
import struct
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import pytest

from cdnstest import PLUGIN_DIR, SERVER_BIN, server_env

# name on the wire, hash, MAC octets
ALGS = {
    "hmac-sha256": ("hmac-sha256.", hashlib.sha256, 32),
    "hmac-sha384": ("hmac-sha384.", hashlib.sha384, 48),
    "hmac-sha512": ("hmac-sha512.", hashlib.sha512, 64),
    "hmac-sha224": ("hmac-sha224.", hashlib.sha224, 28),
    "hmac-sha1": ("hmac-sha1.", hashlib.sha1, 20),
    "hmac-md5": ("hmac-md5.sig-alg.reg.int.", hashlib.md5, 16),
}
DNSPYTHON_ALG = {
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-md5": dns.tsig.HMAC_MD5,
}


def secret_for(alg, length=32):
    """A fixed secret per algorithm (reproducible failures)."""
    return base64.b64encode(hashlib.sha512(alg.encode()).digest()[:length]).decode()


KEYS = [{"name": f"key-{alg}.example.", "algorithm": alg, "secret": secret_for(alg)}
        for alg in ALGS]
SHA256 = KEYS[0]
WRONG = base64.b64encode(b"not the secret, not at all!!").decode()


def tsig_pipeline(**opts):
    opts.setdefault("keys", KEYS)
    return [("tsig", opts), ("whoami", {})]


# --- TSIG by hand (RFC 8945 §4) ---

def wname(text):
    """Canonical wire form (lower case, uncompressed)."""
    return dns.name.from_text(text).canonicalize().to_wire()


def pack48(v):
    return struct.pack("!HI", (v >> 32) & 0xFFFF, v & 0xFFFFFFFF)


def variables(owner, alg_wire, time_signed, fudge, error, other):
    return (owner + struct.pack("!HI", 255, 0) + alg_wire + pack48(time_signed) +
            struct.pack("!HHH", fudge, error, len(other)) + other)


def sign(wire, key, time_signed=None, fudge=300, orig_id=None, mac_size=None, error=0,
         other=b"", secret=None, alg=None, owner=None, rr_class=255, ttl=0, mac=None):
    """Append a TSIG record to an unsigned message; returns (signed wire, MAC sent). mac
    replaces the MAC computed."""
    alg = alg or key["algorithm"]
    alg_text, hashfn, full = ALGS[alg] if alg in ALGS else (alg, hashlib.sha256, 32)
    alg_wire = wname(alg_text)
    owner = owner or wname(key["name"])
    if time_signed is None:
        time_signed = int(time.time())
    if orig_id is None:
        orig_id = struct.unpack("!H", wire[:2])[0]
    secret = base64.b64decode(secret or key["secret"])
    canonical = dns.name.from_wire(owner, 0)[0].canonicalize().to_wire()
    data = struct.pack("!H", orig_id) + wire[2:] + variables(canonical, alg_wire, time_signed,
                                                            fudge, error, other)
    if mac is None:
        mac = hmac.new(secret, data, hashfn).digest()[:full if mac_size is None else mac_size]
    rdata = (alg_wire + pack48(time_signed) + struct.pack("!HH", fudge, len(mac)) + mac +
             struct.pack("!HHH", orig_id, error, len(other)) + other)
    rr = owner + struct.pack("!HHIH", 250, rr_class, ttl, len(rdata)) + rdata
    arcount = struct.unpack("!H", wire[10:12])[0] + 1
    return wire[:10] + struct.pack("!H", arcount) + wire[12:] + rr, mac


def skip_name(wire, pos):
    while True:
        n = wire[pos]
        if n == 0:
            return pos + 1
        if n >= 0xC0:
            return pos + 2
        pos += n + 1


class Tsig:
    """The TSIG record at the end of a message, and the message as it was signed."""

    def __init__(self, wire):
        qd, an, ns, ar = struct.unpack("!4H", wire[4:12])
        pos = 12
        for _ in range(qd):
            pos = skip_name(wire, pos) + 4
        start = None
        for _ in range(an + ns + ar):
            start = pos
            pos = skip_name(wire, pos)
            rtype, _, _, rdlen = struct.unpack("!HHIH", wire[pos:pos + 10])
            pos += 10 + rdlen
        assert pos == len(wire), "trailing bytes"
        self.present = start is not None and rtype == 250
        if not self.present:
            return
        self.rcode = wire[3] & 0xF
        self.owner, used = dns.name.from_wire(wire, start)
        p = start + used
        _, self.rclass, self.ttl, _ = struct.unpack("!HHIH", wire[p:p + 10])
        p += 10
        self.alg, used = dns.name.from_wire(wire, p)
        p += used
        hi, lo, self.fudge, size = struct.unpack("!HIHH", wire[p:p + 10])
        self.time = hi << 32 | lo
        p += 10
        self.mac = wire[p:p + size]
        p += size
        self.orig_id, self.error, olen = struct.unpack("!HHH", wire[p:p + 6])
        self.other = wire[p + 6:p + 6 + olen]
        assert p + 6 + olen == len(wire)
        # As signed: without the TSIG record, ARCOUNT one less.
        self.signed = wire[:10] + struct.pack("!H", ar - 1) + wire[12:start]

    def verify(self, key, request_mac):
        """True if the MAC is the one RFC 8945 §4.3.2 gives for a response to request_mac."""
        _, hashfn, _ = ALGS[key["algorithm"]]
        data = (struct.pack("!H", len(request_mac)) + request_mac +
                struct.pack("!H", self.orig_id) + self.signed[2:] +
                variables(self.owner.canonicalize().to_wire(),
                          self.alg.canonicalize().to_wire(), self.time, self.fudge,
                          self.error, self.other))
        want = hmac.new(base64.b64decode(key["secret"]), data, hashfn).digest()
        return hmac.compare_digest(want, self.mac)


def query_wire(name="example.test.", rdtype="A", **kw):
    return dns.message.make_query(name, rdtype, **kw).to_wire()


def ask(srv, wire, tcp=False):
    reply = srv.tcp_raw(wire) if tcp else srv.udp_raw(wire, timeout=3.0)
    assert reply is not None, "no answer"
    return reply


def keyring(keys=KEYS):
    return dns.tsigkeyring.from_text({k["name"]: (DNSPYTHON_ALG[k["algorithm"]], k["secret"])
                                      for k in keys})


def signed_query(key, name="example.test.", rdtype="A", secret=None, **kw):
    q = dns.message.make_query(name, rdtype, **kw)
    ring = keyring([dict(key, secret=secret or key["secret"])])
    q.use_tsig(ring, key["name"], algorithm=DNSPYTHON_ALG[key["algorithm"]])
    return q


# --- signed requests that verify ---

@pytest.mark.parametrize("alg", list(ALGS))
def test_dnspython_each_algorithm(make_server, alg):
    srv = make_server(tsig_pipeline())
    key = next(k for k in KEYS if k["algorithm"] == alg)
    for transport in (srv.udp, srv.tcp):
        q = signed_query(key)
        # dnspython checks the response's TSIG against the request MAC itself (and raises).
        r = transport(q)
        assert r.had_tsig and r.tsig_error == 0
        assert r.rcode() == dns.rcode.NOERROR
        assert r.answer and r.answer[0].rdtype == dns.rdatatype.A
        assert r.keyname == dns.name.from_text(key["name"])
        assert r.keyalgorithm == DNSPYTHON_ALG[alg]


def test_response_fields_checked_by_hand(make_server):
    srv = make_server(tsig_pipeline(fudge="120s"))
    wire, mac = sign(query_wire(use_edns=0), SHA256)
    reply = ask(srv, wire)
    t = Tsig(reply)
    assert t.present and t.verify(SHA256, mac)
    assert t.owner == dns.name.from_text(SHA256["name"])
    assert (t.rclass, t.ttl, t.error, t.other) == (255, 0, 0, b"")
    assert t.fudge == 120
    assert abs(t.time - time.time()) < 5
    assert t.orig_id == struct.unpack("!H", wire[:2])[0]
    assert len(t.mac) == 32
    # The OPT record comes before the TSIG record, which is last.
    r = dns.message.from_wire(reply, keyring=keyring(), request_mac=mac)
    assert r.edns == 0


def test_key_name_in_another_case(make_server):
    srv = make_server(tsig_pipeline())
    # The key name in another case: names compare case-insensitively, the MAC uses the
    # canonical form.
    owner = dns.name.from_text(SHA256["name"].upper()).to_wire()
    wire, mac = sign(query_wire(), SHA256, owner=owner)
    t = Tsig(ask(srv, wire))
    assert t.error == 0 and t.verify(SHA256, mac)


def test_original_id_differs_from_message_id(make_server):
    """A forwarder changed the message ID: the MAC uses the Original ID (RFC 8945 §4.3.3),
    and so does the response."""
    srv = make_server(tsig_pipeline())
    wire, mac = sign(query_wire(), SHA256, orig_id=0x4242)
    wire = b"\x12\x34" + wire[2:]
    reply = ask(srv, wire)
    t = Tsig(reply)
    assert reply[:2] == b"\x12\x34"
    assert t.error == 0 and t.orig_id == 0x4242 and t.verify(SHA256, mac)


def test_dig_and_kdig(make_server):
    srv = make_server(tsig_pipeline())
    for alg in ("hmac-sha256", "hmac-sha512", "hmac-md5"):
        key = next(k for k in KEYS if k["algorithm"] == alg)
        spec = f"{alg}:{key['name']}:{key['secret']}"
        for tcp in ("+notcp", "+tcp"):
            out = subprocess.run(["dig", "-p", str(srv.port), "@127.0.0.1", "-y", spec, tcp,
                                  "example.test.", "A"], capture_output=True, text=True,
                                 timeout=20)
            text = out.stdout + out.stderr
            assert out.returncode == 0, text
            assert "status: NOERROR" in text, text
            assert "TSIG PSEUDOSECTION" in text, text
            assert "verify" not in text.lower() and "WARNING -- Some TSIG" not in text, text
        out = subprocess.run(["kdig", "-p", str(srv.port), "@127.0.0.1", "-y", spec,
                              "example.test.", "A"], capture_output=True, text=True, timeout=20)
        text = out.stdout + out.stderr
        assert out.returncode == 0, text
        assert "NOERROR" in text and "TSIG PSEUDOSECTION" in text, text
        assert "WARNING" not in text and "failed" not in text.lower(), text


def test_nsupdate_update_response_is_signed(make_server):
    """An UPDATE no plugin takes is refused, but the refusal is signed and nsupdate verifies
    it (it prints "tsig verify failure" otherwise)."""
    srv = make_server(tsig_pipeline())
    script = (f"server 127.0.0.1 {srv.port}\nzone example.test.\n"
              "update add new.example.test. 300 A 192.0.2.7\nsend\n")
    out = subprocess.run(["nsupdate", "-y", f"hmac-sha256:{SHA256['name']}:{SHA256['secret']}"],
                         input=script, capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    assert "REFUSED" in text, text
    assert "tsig" not in text.lower(), text


# --- errors (RFC 8945 §5.2, §5.3.2) ---

def test_wrong_secret_is_badsig_unsigned(make_server):
    srv = make_server(tsig_pipeline())
    for tcp in (False, True):
        wire, mac = sign(query_wire(), SHA256, secret=WRONG)
        reply = ask(srv, wire, tcp)
        t = Tsig(reply)
        assert t.present and t.rcode == dns.rcode.NOTAUTH
        assert t.error == dns.rcode.BADSIG and t.mac == b""
        assert t.owner == dns.name.from_text(SHA256["name"])
        # No answer: the request went no further.
        assert struct.unpack("!H", reply[6:8])[0] == 0
    # dnspython sees the error too.
    with pytest.raises(dns.tsig.PeerBadSignature):
        srv.udp(signed_query(SHA256, secret=WRONG))
    srv.wait_log("tsig: BADSIG: request from 127.0.0.1 with key key-hmac-sha256.example.")


def test_dig_reports_badsig(make_server):
    srv = make_server(tsig_pipeline())
    out = subprocess.run(["dig", "-p", str(srv.port), "@127.0.0.1", "-y",
                          f"hmac-sha256:{SHA256['name']}:{WRONG}", "example.test.", "A"],
                         capture_output=True, text=True, timeout=20)
    assert "status: NOTAUTH" in out.stdout, out.stdout
    assert re.search(r"TSIG PSEUDOSECTION:\n.*BADSIG", out.stdout), out.stdout


def test_unknown_key_and_wrong_algorithm_are_badkey(make_server):
    srv = make_server(tsig_pipeline())
    unknown = dict(SHA256, name="nobody.example.")
    wire, _ = sign(query_wire(), unknown)
    t = Tsig(ask(srv, wire))
    assert t.rcode == dns.rcode.NOTAUTH and t.error == dns.rcode.BADKEY and t.mac == b""
    assert t.owner == dns.name.from_text("nobody.example.")
    # A known name with another algorithm is not that key.
    wire, _ = sign(query_wire(), SHA256, alg="hmac-sha512")
    t = Tsig(ask(srv, wire))
    assert t.error == dns.rcode.BADKEY and t.alg == dns.name.from_text("hmac-sha512.")
    # An algorithm nobody implements.
    wire, _ = sign(query_wire(), SHA256, alg="hmac-sha3-256.")
    t = Tsig(ask(srv, wire))
    assert t.error == dns.rcode.BADKEY
    with pytest.raises(dns.tsig.PeerBadKey):
        srv.udp(signed_query(unknown))


@pytest.mark.parametrize("skew", [-600, 600])
def test_clock_off_is_badtime_signed(make_server, skew):
    srv = make_server(tsig_pipeline())
    client_time = int(time.time()) + skew
    wire, mac = sign(query_wire(), SHA256, time_signed=client_time, fudge=300)
    before = int(time.time())
    reply = ask(srv, wire)
    after = int(time.time())
    t = Tsig(reply)
    assert t.rcode == dns.rcode.NOTAUTH and t.error == dns.rcode.BADTIME
    # RFC 8945 §5.2.3: the client's time and fudge, the server's time in Other Data; signed.
    assert t.time == client_time and t.fudge == 300
    assert len(t.other) == 6
    server_time = struct.unpack("!Q", b"\0\0" + t.other)[0]
    assert before - 1 <= server_time <= after + 1
    assert len(t.mac) == 32 and t.verify(SHA256, mac)


def test_badtime_through_dnspython(make_server, monkeypatch):
    srv = make_server(tsig_pipeline())
    real = time.time
    q = signed_query(SHA256)
    monkeypatch.setattr(time, "time", lambda: real() - 600)
    try:
        wire = q.to_wire()  # signed with a clock 10 minutes slow
    finally:
        monkeypatch.setattr(time, "time", real)
    t = Tsig(ask(srv, wire))
    assert t.error == dns.rcode.BADTIME and t.verify(SHA256, q.mac)


def test_fudge_caps_the_window(make_server):
    """The request's fudge cannot widen the window beyond ours."""
    srv = make_server(tsig_pipeline(fudge="60s"))
    wire, _ = sign(query_wire(), SHA256, time_signed=int(time.time()) - 200, fudge=65535)
    assert Tsig(ask(srv, wire)).error == dns.rcode.BADTIME
    wire, mac = sign(query_wire(), SHA256, time_signed=int(time.time()) - 30, fudge=65535)
    t = Tsig(ask(srv, wire))
    assert t.error == 0 and t.fudge == 60 and t.verify(SHA256, mac)


def test_key_checked_before_mac_before_time(make_server):
    """RFC 8945 §5.2: key, then MAC, then time."""
    srv = make_server(tsig_pipeline())
    old = int(time.time()) - 3600
    wire, _ = sign(query_wire(), dict(SHA256, name="nobody."), time_signed=old, secret=WRONG)
    assert Tsig(ask(srv, wire)).error == dns.rcode.BADKEY
    wire, _ = sign(query_wire(), SHA256, time_signed=old, secret=WRONG)
    assert Tsig(ask(srv, wire)).error == dns.rcode.BADSIG


def test_truncated_macs(make_server):
    """RFC 8945 §5.2.2.1: at least 10 octets and half the hash; the request MAC of the response
    digest is the truncated one."""
    srv = make_server(tsig_pipeline())
    for size in (16, 20, 31):
        wire, mac = sign(query_wire(), SHA256, mac_size=size)
        assert len(mac) == size
        t = Tsig(ask(srv, wire))
        assert t.error == 0 and t.rcode == 0 and len(t.mac) == 32 and t.verify(SHA256, mac)
    md5 = next(k for k in KEYS if k["algorithm"] == "hmac-md5")
    wire, mac = sign(query_wire(), md5, mac_size=10)
    t = Tsig(ask(srv, wire))
    assert t.error == 0 and t.verify(md5, mac)
    # Too short or longer than the hash: FORMERR without TSIG.
    for key, size in ((SHA256, 15), (SHA256, 10), (SHA256, 0), (md5, 9)):
        wire, _ = sign(query_wire(), key, mac_size=size)
        reply = ask(srv, wire)
        assert reply[3] & 0xF == dns.rcode.FORMERR, (key["algorithm"], size)
        assert not Tsig(reply).present
    for key, size in ((SHA256, 33), (md5, 17), (SHA256, 64)):
        wire, _ = sign(query_wire(), key, mac=bytes(size))
        reply = ask(srv, wire)
        assert reply[3] & 0xF == dns.rcode.FORMERR, (key["algorithm"], size)
        assert not Tsig(reply).present


def test_min_mac_size_gives_badtrunc_signed(make_server):
    srv = make_server(tsig_pipeline(min_mac_size=64))
    wire, mac = sign(query_wire(), SHA256, mac_size=16)
    t = Tsig(ask(srv, wire))
    assert t.rcode == dns.rcode.NOTAUTH and t.error == dns.rcode.BADTRUNC
    assert t.verify(SHA256, mac)
    # Full MACs pass ("64" means the whole hash for the shorter ones).
    wire, mac = sign(query_wire(), SHA256)
    assert Tsig(ask(srv, wire)).error == 0


def bump16(buf, at, delta):
    struct.pack_into("!H", buf, at, struct.unpack("!H", buf[at:at + 2])[0] + delta)


def test_malformed_tsig_is_formerr_and_server_goes_on(make_server):
    srv = make_server(tsig_pipeline())
    good, _ = sign(query_wire(), SHA256)
    cases = []
    # RDATA one octet short (RDLENGTH adjusted), one octet too long.
    qlen = len(query_wire())
    owner_len = len(wname(SHA256["name"]))
    rdlen_at = qlen + owner_len + 8
    for delta in (-1, 1):
        w = bytearray(good if delta < 0 else good + b"\0")
        if delta < 0:
            w = w[:-1]
        bump16(w, rdlen_at, delta)
        cases.append(bytes(w))
    # Class IN, TTL 60.
    cases.append(sign(query_wire(), SHA256, rr_class=1)[0])
    cases.append(sign(query_wire(), SHA256, ttl=60)[0])
    # A compressed algorithm name (a pointer to the question's name).
    w = bytearray(good)
    alg_at = rdlen_at + 2
    alg_len = len(wname("hmac-sha256."))
    w[alg_at:alg_at + alg_len] = b"\xc0\x0c"
    bump16(w, rdlen_at, 2 - alg_len)
    cases.append(bytes(w))
    # Other Len running past the RDATA.
    w = bytearray(good)
    struct.pack_into("!H", w, len(w) - 2, 5)
    cases.append(bytes(w))
    for wire in cases:
        for tcp in (False, True):
            reply = ask(srv, wire, tcp)
            assert reply[3] & 0xF == dns.rcode.FORMERR
            assert struct.unpack("!H", reply[:2]) == struct.unpack("!H", wire[:2])
            assert not Tsig(reply).present
    srv.assert_serving()
    r = srv.udp(signed_query(SHA256))
    assert r.had_tsig and r.rcode() == dns.rcode.NOERROR


# --- unsigned requests ---

def test_unsigned_requests_pass_through(make_server):
    srv = make_server(tsig_pipeline())
    plain = make_server([("whoami", {})])
    q = dns.message.make_query("example.test.", "A")
    r, r_plain = srv.udp(q), plain.udp(q)
    assert not r.had_tsig
    assert r.rcode() == r_plain.rcode() == dns.rcode.NOERROR
    assert r.answer[0] == r_plain.answer[0]
    wire = query_wire()
    assert not Tsig(ask(srv, wire)).present


def test_require_refuses_unsigned(make_server):
    srv = make_server(tsig_pipeline(require=True))
    for transport in (srv.udp, srv.tcp):
        r = transport(dns.message.make_query("example.test.", "A"))
        assert r.rcode() == dns.rcode.REFUSED and not r.had_tsig and not r.answer
        r = transport(signed_query(SHA256))
        assert r.rcode() == dns.rcode.NOERROR and r.had_tsig


# --- sizes: the signature always fits ---

def big_zone(path, sizes):
    lines = ["$ORIGIN example.test.", "$TTL 300",
             "@ SOA ns1 hostmaster 1 3600 600 86400 60", "  NS ns1", "ns1 A 192.0.2.1"]
    for size in sizes:
        chunks = ["x" * 200] * (size // 200) + ["y" * (size % 200)]
        lines.append(f"t{size} TXT " + " ".join(f'"{c}"' for c in chunks))
    path.write_text("\n".join(lines) + "\n")


def test_answers_near_the_size_limit_stay_signed(make_server, tmp_path):
    sizes = list(range(300, 520, 7)) + list(range(1000, 1240, 9)) + [3000]
    zone = tmp_path / "example.test.zone"
    big_zone(zone, sizes)
    srv = make_server([("tsig", {"keys": [SHA256]}),
                       ("file", {"zones": [{"name": "example.test", "path": str(zone)}]})])
    for size in sizes:
        for edns, limit in ((-1, 512), (0, 1232)):
            wire, mac = sign(query_wire(f"t{size}.example.test.", "TXT", use_edns=edns,
                                        payload=1232), SHA256)
            reply = ask(srv, wire)
            assert len(reply) <= limit, (size, edns, len(reply))
            t = Tsig(reply)
            assert t.present and t.error == 0 and t.verify(SHA256, mac), (size, edns)
            if size > limit:
                assert reply[2] & 0x02, "TC expected"
            # Over TCP the whole answer, signed.
            reply = ask(srv, wire, tcp=True)
            assert not reply[2] & 0x02
            assert Tsig(reply).verify(SHA256, mac)


def test_many_workers_at_once(make_server):
    srv = make_server(tsig_pipeline(), server={"workers": 4})
    errors = []

    def run(n):
        try:
            key = KEYS[n % len(KEYS)]
            for _ in range(40):
                r = srv.udp(signed_query(key))
                assert r.had_tsig and r.rcode() == dns.rcode.NOERROR
                wire, _ = sign(query_wire(), key, secret=WRONG)
                assert Tsig(ask(srv, wire)).error == dns.rcode.BADSIG
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors


# --- key files and configuration errors ---

KEY_FILE = """\
# Keys for the secondaries (as tsig-keygen writes them, and a few more forms).
key "xfr.example.net" {{
	algorithm hmac-sha512;
	secret "{s512}";
}};
/* an older peer,
   unquoted name, upper-case algorithm, secret wrapped */
key legacy.example.net {{ algorithm HMAC-MD5.SIG-ALG.REG.INT; secret "{md5a}
    {md5b}"; }};  // done
"""


def write_key_file(path):
    s512 = secret_for("file-sha512", 64)
    md5 = secret_for("file-md5", 30)
    path.write_text(KEY_FILE.format(s512=s512, md5a=md5[:20], md5b=md5[20:]))
    return [{"name": "xfr.example.net.", "algorithm": "hmac-sha512", "secret": s512},
            {"name": "legacy.example.net.", "algorithm": "hmac-md5", "secret": md5}]


def test_key_file(make_server, tmp_path):
    srv = make_server([("tsig", {"key_file": "tsig.keys", "keys": [SHA256]}), ("whoami", {})],
                      start=False)
    keys = write_key_file(srv.dir / "tsig.keys")  # relative to the configuration's directory
    srv.start()
    for key in keys + [SHA256]:
        r = srv.udp(signed_query(key))
        assert r.had_tsig and r.tsig_error == 0 and r.rcode() == dns.rcode.NOERROR


def check_config(tmp_path, text):
    conf = tmp_path / "clouddns.yaml"
    conf.write_text(text)
    p = subprocess.run([str(SERVER_BIN), "-P", str(PLUGIN_DIR), "-t", "-c", str(conf)],
                       capture_output=True, text=True, timeout=60, env=server_env())
    return p.returncode, p.stderr, conf


@pytest.mark.parametrize("body,line,col,message", [
    ('key "a" {\n\talgorithm hmac-sha256;\n\tsecret "AAAA"\n};\n', 4, 1, "expected ';', got '}'"),
    ('key "a" {\n\talgorithm hmac-sha3;\n\tsecret "AAAA";\n};\n', 2, 12,
     'key "a": unknown algorithm "hmac-sha3"'),
    ('key "a" {\n\talgorithm hmac-sha256;\n\tsecret "AAA";\n};\n', 3, 9,
     "key 'a': secret: not base64"),
    ('key "a" { secret "AAAA"; };\n', 1, 5, 'key "a": no algorithm'),
    ('key "a" { algorithm hmac-sha1; secret "AAAA"; };\nkey "A." { algorithm hmac-sha1; '
     'secret "AAAA"; };\n', 2, 5, "key 'a.' is defined twice (first at {file}:1:5)"),
    ('options { };\n', 1, 1, "expected 'key', got 'options'"),
    ('key "a" { algorithm hmac-sha1; secret "AAAA"; bogus 1; };\n', 1, 47,
     "expected 'algorithm', 'secret' or '}', got 'bogus'"),
    ('/* no end\nkey "a" {};\n', 1, 1, "comment not closed"),
    ('key "a" { algorithm hmac-sha1; secret "AAAA; };\n', 1, 39, "string not closed"),
    ('key "a" { algorithm hmac-sha1; secret "AAAA"; }', 1, 48,
     "expected ';' after '}', got the end of the file"),
])
def test_broken_key_file_reported_with_position(tmp_path, body, line, col, message):
    keys = tmp_path / "broken.keys"
    keys.write_text(body)
    rc, err, _ = check_config(tmp_path, "pipeline:\n  - tsig: { key_file: broken.keys }\n")
    assert rc != 0
    want = f"{keys}:{line}:{col}: plugin 'tsig': " + message.replace("{file}", str(keys))
    assert want in err, err


def test_config_errors_reported_with_positions(tmp_path):
    text = ("pipeline:\n"
            "  - tsig:\n"
            "      keys:\n"
            "        - { name: a, secret: \"AAAA\", algorithm: hmac-sha3 }\n"
            "        - { name: b, secret: \"not base64!\" }\n"
            "        - { name: c, secret: \"AAAA\" }\n"
            "        - { name: C., secret: \"AAAA\" }\n"
            "        - { name: \"a..b\", secret: \"AAAA\" }\n"
            "        - { secret: \"AAAA\" }\n"
            "      fudge: 1500ms\n"
            "      min_mac_size: 65\n"
            "      key_file: missing.keys\n")
    rc, err, conf = check_config(tmp_path, text)
    assert rc != 0
    for want in (
            f"{conf}:4:49: plugin 'tsig': option 'algorithm': must be one of",
            f"{conf}:5:30: plugin 'tsig': key 'b': secret: not base64",
            f"{conf}:7:19: plugin 'tsig': key 'c.' is defined twice (first at {conf}:6:19)",
            f"{conf}:8:19: plugin 'tsig': key name: not a domain name, got \"a..b\"",
            f"{conf}:9:11: plugin 'tsig': option 'name' is required",
            f"{conf}:10:14: plugin 'tsig': option 'fudge': must be whole seconds",
            f"{conf}:11:21: plugin 'tsig': option 'min_mac_size'",
            f"{conf}:12:17: plugin 'tsig': option 'key_file': cannot open"):
        assert want in err, f"{want!r} not in:\n{err}"


def test_no_keys_is_an_error(tmp_path):
    rc, err, conf = check_config(tmp_path, "pipeline:\n  - tsig: { require: true }\n")
    assert rc != 0 and "plugin 'tsig': no keys: give 'keys' or 'key_file'" in err, err
    rc, err, conf = check_config(tmp_path, "pipeline:\n  - tsig: { keys: nope }\n")
    assert rc != 0 and "option 'keys': must be a list" in err, err


def test_reload_reads_the_key_file_again(make_server):
    old = dict(SHA256, name="old.example.")
    new = dict(SHA256, name="new.example.", secret=secret_for("new"))
    srv = make_server([("tsig", {"key_file": "tsig.keys"}), ("whoami", {})], start=False)
    keys = srv.dir / "tsig.keys"

    def write(key):
        keys.write_text(f'key "{key["name"]}" {{ algorithm hmac-sha256; '
                        f'secret "{key["secret"]}"; }};\n')

    def error_with(key):
        wire, _ = sign(query_wire(), key)
        return Tsig(ask(srv, wire)).error

    write(old)
    srv.start()
    assert error_with(old) == 0 and error_with(new) == dns.rcode.BADKEY
    # A broken file: the reload fails, with the place, and the running keys stay.
    keys.write_text('key "new.example." { algorithm hmac-sha256 };\n')
    srv.reload()
    srv.wait_log(f"{keys}:1:44: plugin 'tsig': expected ';', got '}}'")
    assert error_with(old) == 0
    # A good one replaces the keys.
    write(new)
    srv.reload()
    deadline = time.monotonic() + 10
    while error_with(new) != 0:
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.05)
    assert error_with(old) == dns.rcode.BADKEY


# --- responses of several messages (RFC 8945 §5.3.1) ---

def transfer_server(make_server, tmp_path, records=3000):
    zone = tmp_path / "example.test.zone"
    lines = ["$ORIGIN example.test.", "$TTL 300",
             "@ SOA ns1 hostmaster 7 3600 600 86400 60", "  NS ns1", "ns1 A 192.0.2.1"]
    lines += [f"h{i} TXT \"{'x' * 90}{i}\"" for i in range(records)]
    zone.write_text("\n".join(lines) + "\n")
    # log first: the core calls a stream's callback with q->pos left at the last response
    # hook, and the transfer plugin takes the slot found there for its own; with tsig first,
    # that is tsig's (reported; remove log once fixed).
    return make_server([
        ("log", {}),
        ("tsig", {"keys": KEYS}),
        ("transfer", {"acl": [{"address": "127.0.0.0/8", "key": SHA256["name"]}]}),
        ("file", {"zones": [{"name": "example.test", "path": str(zone)}]})])


def test_axfr_every_message_signed_dnspython(make_server, tmp_path):
    srv = transfer_server(make_server, tmp_path)
    n_msgs = n_rrs = 0
    # dnspython checks each message's TSIG, chained to the previous MAC, and raises otherwise.
    for msg in dns.query.xfr("127.0.0.1", "example.test.", port=srv.port, keyring=keyring(),
                             keyname=SHA256["name"], keyalgorithm=dns.tsig.HMAC_SHA256,
                             timeout=10, lifetime=30):
        assert msg.had_tsig and msg.tsig_error == 0
        n_msgs += 1
        n_rrs += sum(len(rrset) for rrset in msg.answer)
    assert n_msgs >= 3
    assert n_rrs == 3000 + 3 + 1  # the TXT records, SOA NS A, and the closing SOA


def test_axfr_chain_checked_by_hand(make_server, tmp_path):
    """Message 1: request MAC + message + variables; then prior MAC + message + timers."""
    srv = transfer_server(make_server, tmp_path)
    wire, mac = sign(query_wire("example.test.", "AXFR"), SHA256)
    secret = base64.b64decode(SHA256["secret"])
    prior, n = mac, 0
    with srv.tcp_connect(timeout=10) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        while True:
            (length,) = struct.unpack("!H", recv_all(s, 2))
            reply = recv_all(s, length)
            t = Tsig(reply)
            assert t.present and t.error == 0 and len(t.mac) == 32
            if n == 0:
                assert t.verify(SHA256, prior)
            else:
                data = (struct.pack("!H", len(prior)) + prior + struct.pack("!H", t.orig_id) +
                        t.signed[2:] + pack48(t.time) + struct.pack("!H", t.fudge))
                want = hmac.new(secret, data, hashlib.sha256).digest()
                assert hmac.compare_digest(want, t.mac), f"message {n}"
            prior, n = t.mac, n + 1
            if n > 1 and reply_ends_with_soa(reply):
                break
    assert n >= 3


def recv_all(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        assert chunk, "connection closed"
        buf += chunk
    return buf


def reply_ends_with_soa(wire):
    """True if the last answer record is a SOA (the end of an AXFR)."""
    qd, an = struct.unpack("!HH", wire[4:8])
    pos = 12
    for _ in range(qd):
        pos = skip_name(wire, pos) + 4
    rtype = None
    for _ in range(an):
        pos = skip_name(wire, pos)
        rtype, _, _, rdlen = struct.unpack("!HHIH", wire[pos:pos + 10])
        pos += 10 + rdlen
    return rtype == 6


def test_axfr_with_dig_and_kdig(make_server, tmp_path):
    srv = transfer_server(make_server, tmp_path)
    spec = f"hmac-sha256:{SHA256['name']}:{SHA256['secret']}"
    out = subprocess.run(["dig", "-p", str(srv.port), "@127.0.0.1", "-y", spec,
                          "example.test.", "AXFR"], capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-2000:]
    assert "failed" not in text.lower() and "verify" not in text.lower(), text[-2000:]
    assert re.search(r"XFR size: 3004 records \(messages \d+", text), text[-2000:]
    out = subprocess.run(["kdig", "-p", str(srv.port), "@127.0.0.1", "-y", spec,
                          "example.test.", "AXFR"], capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-2000:]
    assert "WARNING" not in text and "failed" not in text.lower(), text[-2000:]
    assert re.search(r"Received \d+ B \(\d+ messages?, 3004 records\)", text), text[-2000:]
