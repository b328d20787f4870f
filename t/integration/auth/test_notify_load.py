"""NOTIFY when a zone is loaded (RFC 1996 §3.1): at start, and on a reload that changed the
zone's serial; not on a reload that did not. A Python socket plays the secondary: it records
every NOTIFY and acknowledges it (so the primary stops repeating it)."""

import socket
import threading
import time

import dns.flags
import dns.message
import dns.opcode
import dns.rdatatype
import pytest

ZONE = """$ORIGIN example.test.
$TTL 300
@       SOA ns1 hostmaster {serial} 3600 600 86400 60
        NS  ns1
ns1     A   192.0.2.1
www     A   192.0.2.{www}
"""


class Secondary:
    """A UDP socket on loopback that records NOTIFYs: (zone, serial from the SOA in the answer
    section) in arrival order, and answers each one."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.got = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                wire, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            m = dns.message.from_wire(wire)
            if m.opcode() != dns.opcode.NOTIFY or m.flags & dns.flags.QR:
                continue
            serial = None
            for rrset in m.answer:
                if rrset.rdtype == dns.rdatatype.SOA:
                    serial = rrset[0].serial
            with self.lock:
                self.got.append((m.question[0].name.to_text(), serial))
            r = dns.message.make_response(m)
            self.sock.sendto(r.to_wire(), peer)

    def notifies(self):
        with self.lock:
            return list(self.got)

    def wait(self, count, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.notifies()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{count} NOTIFY expected within {timeout}s, got {self.notifies()}")

    def close(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def secondary():
    s = Secondary()
    yield s
    s.close()


def pipeline(zone, port, transfer_first):
    transfer = f'- transfer: {{acl: [{{address: 127.0.0.0/8}}], notify: ["127.0.0.1:{port}"]}}\n'
    file = f'- file: {{zones: [{{name: example.test, path: "{zone}"}}]}}\n'
    return transfer + file if transfer_first else file + transfer


@pytest.mark.parametrize("transfer_first", [True, False], ids=["transfer-first", "file-first"])
def test_notify_at_start_and_on_changed_reload(make_server, tmp_path, secondary, transfer_first):
    zone = tmp_path / "example.test.zone"
    zone.write_text(ZONE.format(serial=100, www=10))
    srv = make_server(pipeline(zone, secondary.port, transfer_first))
    assert secondary.wait(1) == [("example.test.", 100)]

    # A reload that changes nothing announces nothing.
    srv.reload()
    srv.wait_log("configuration 2 loaded")
    time.sleep(1.0)
    assert secondary.notifies() == [("example.test.", 100)]

    # The file changed, the serial with it: one NOTIFY with the new serial.
    zone.write_text(ZONE.format(serial=101, www=11))
    srv.reload()
    srv.wait_log("configuration 3 loaded")
    assert secondary.wait(2) == [("example.test.", 100), ("example.test.", 101)]
    time.sleep(1.0)
    assert len(secondary.notifies()) == 2  # acknowledged: not repeated, not sent twice
