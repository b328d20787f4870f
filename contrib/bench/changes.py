#!/usr/bin/python3
"""Zone-change benchmark: acknowledged RFC 2136 updates per second (each one durable: journal
fsync before the answer) and IXFR size against AXFR size for a one-record change, for cloudDNS
and Knot DNS side by side on the same generated zone.

    /usr/bin/python3 contrib/bench/changes.py [--hosts 100000] [--updates 200] [--clients 4]

Needs knotd (Debian package knot), python3-dnspython, and a built tree (contrib/build.sh)."""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import dns.message
import dns.query
import dns.rcode
import dns.rrset
import dns.update

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_zone(path, hosts):
    with open(path, "w") as f:
        f.write("$ORIGIN bench.test.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                "@ NS ns1\nns1 A 192.0.2.1\n")
        for i in range(hosts):
            f.write(f"host{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")


def wait_up(port, timeout=120):
    q = dns.message.make_query("bench.test.", "SOA")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5)
            if r.answer:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not come up")


def start_clouddns(tmp, zone, port):
    jdir = os.path.join(tmp, "cdns-journal")
    os.mkdir(jdir)
    conf = os.path.join(tmp, "clouddns.yaml")
    with open(conf, "w") as f:
        f.write(f"""server: {{listen: ["127.0.0.1:{port}"], workers: 2, log_level: warning}}
pipeline:
  - update: {{acl: [{{address: 127.0.0.1}}]}}
  - transfer: {{acl: [{{address: 127.0.0.1}}]}}
  - file: {{zones: [{{name: bench.test, path: "{zone}"}}], journal: "{jdir}", journal_max_size: 1G}}
""")
    return subprocess.Popen([os.path.join(TOP, "server", "clouddns"), "-P",
                             os.path.join(TOP, "plugins", ".built"), "-c", conf],
                            stderr=open(os.path.join(tmp, "clouddns.log"), "w"))


def start_knot(tmp, zone, port):
    d = os.path.join(tmp, "knot")
    os.makedirs(os.path.join(d, "db"))
    shutil.copy(zone, os.path.join(d, "bench.test.zone"))
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{port}
    udp-workers: 2
    tcp-workers: 2
log:
  - target: stderr
    any: warning
database:
    storage: "{d}/db"
acl:
  - id: local
    address: 127.0.0.1
    action: [update, transfer]
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: bench.test
    file: bench.test.zone
    acl: local
""")
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    return subprocess.Popen([knotd, "-c", conf], stderr=open(os.path.join(d, "log"), "w"))


def updates_per_second(port, total, clients):
    per = total // clients
    errors = []

    def client(c):
        for i in range(per):
            u = dns.update.UpdateMessage("bench.test.")
            u.add(f"u{c}-{i}", 300, "A", f"192.0.2.{i % 250 + 1}")
            r = dns.query.tcp(u, "127.0.0.1", port=port, timeout=30)
            if r.rcode() != dns.rcode.NOERROR:
                errors.append(dns.rcode.to_text(r.rcode()))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    if errors:
        raise SystemExit(f"{len(errors)} updates failed: {errors[:3]}")
    return per * clients / dt


def xfr_bytes(port, serial=None):
    """Bytes of all messages of an AXFR (serial None) or an IXFR from serial, over TCP."""
    q = dns.message.make_query("bench.test.", "AXFR" if serial is None else "IXFR")
    if serial is not None:
        q.authority.append(dns.rrset.from_text(
            "bench.test.", 0, "IN", "SOA", f"ns1.bench.test. hostmaster.bench.test. {serial} 1 1 1 1"))
    wire = q.to_wire()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(len(wire).to_bytes(2, "big") + wire)
    total = 0
    soas = 0
    first_soa_serial = None
    while True:
        hdr = s.recv(2, socket.MSG_WAITALL)
        if len(hdr) < 2:
            break
        n = int.from_bytes(hdr, "big")
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                break
            buf += chunk
        total += n
        m = dns.message.from_wire(buf, one_rr_per_rrset=True)
        for rr in m.answer:
            if rr.rdtype == 6:
                soas += 1
                if first_soa_serial is None:
                    first_soa_serial = rr[0].serial
        # The transfer ends with the second SOA of the new serial.
        if serial is None and soas >= 2:
            break
        if serial is not None and soas >= 2 and m.answer and m.answer[-1].rdtype == 6 and \
                m.answer[-1][0].serial == first_soa_serial and (soas == 4 or soas == 2 and len(m.answer) > 2):
            break
    s.close()
    return total


def serial_of(port):
    r = dns.query.udp(dns.message.make_query("bench.test.", "SOA"), "127.0.0.1", port=port, timeout=2)
    return r.answer[0][0].serial


def measure(name, start, tmp, zone, args):
    port = free_port()
    p = start(tmp, zone, port)
    try:
        wait_up(port)
        ups = updates_per_second(port, args.updates, args.clients)
        before = serial_of(port)
        u = dns.update.UpdateMessage("bench.test.")
        u.add("one-more", 300, "A", "192.0.2.200")
        dns.query.tcp(u, "127.0.0.1", port=port, timeout=30)
        ixfr = xfr_bytes(port, before)
        axfr = xfr_bytes(port)
        return {"updates/s": ups, "ixfr bytes": ixfr, "axfr bytes": axfr}
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=100000)
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cdns-changes-")
    try:
        zone = os.path.join(tmp, "bench.test.zone")
        write_zone(zone, args.hosts)
        res = {"Knot DNS": measure("knot", start_knot, tmp, zone, args),
               "cloudDNS": measure("clouddns", start_clouddns, tmp, zone, args)}
        print(f"zone of {args.hosts} hosts; {args.updates} updates from {args.clients} clients "
              f"over TCP, each acknowledged only once durable")
        print("| metric | Knot DNS | cloudDNS | cloudDNS/Knot |")
        print("|---|---:|---:|---:|")
        for key in ("updates/s", "ixfr bytes", "axfr bytes"):
            k, c = res["Knot DNS"][key], res["cloudDNS"][key]
            print(f"| {key} | {k:.0f} | {c:.0f} | {c / k:.2f} |")
        for who in res:
            print(f"{who}: IXFR/AXFR bytes for one changed record: "
                  f"{res[who]['ixfr bytes'] / res[who]['axfr bytes']:.6f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
