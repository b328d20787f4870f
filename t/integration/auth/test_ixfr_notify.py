"""Changes flow to secondaries: RFC 2136 updates are committed to the journal, IXFR answers
come from it (condensed difference sequence, RFC 1995 §4), and NOTIFY brings Knot DNS, our
secondary, to fetch them by IXFR."""

import shutil
import subprocess
import time

import dns.message
import dns.rdataclass
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.update

from cdnstest import free_port

ZONE = """$ORIGIN example.test.
$TTL 300
@       SOA ns1 hostmaster 100 3600 600 86400 60
        NS  ns1
ns1     A   192.0.2.1
www     A   192.0.2.10
old     A   192.0.2.99
"""


def pipeline(tmp_path, notify=None):
    zone = tmp_path / "example.test.zone"
    zone.write_text(ZONE)
    jdir = tmp_path / "journal"
    jdir.mkdir(exist_ok=True)
    transfer = "{acl: [{address: 127.0.0.0/8}]" + (f", notify: [\"{notify}\"]" if notify else "") + "}"
    return (f"- update: {{acl: [{{address: 127.0.0.0/8}}]}}\n"
            f"- transfer: {transfer}\n"
            f"- file: {{zones: [{{name: example.test, path: \"{zone}\"}}], journal: \"{jdir}\"}}\n")


def update(port, *ops):
    u = dns.update.UpdateMessage("example.test.")
    for op, *args in ops:
        getattr(u, op)(*args)
    r = dns.query.tcp(u, "127.0.0.1", port=port, timeout=10)
    assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())


def ixfr(port, serial):
    q = dns.message.make_query("example.test.", "IXFR")
    q.authority.append(dns.rrset.from_text(
        "example.test.", 0, "IN", "SOA", f"ns1.example.test. hostmaster.example.test. {serial} 1 1 1 1"))
    return dns.query.tcp(q, "127.0.0.1", port=port, timeout=10, one_rr_per_rrset=True)


def test_ixfr_from_journal(make_server, tmp_path):
    srv = make_server(pipeline(tmp_path))
    update(srv.port, ("add", "new1", 300, "A", "192.0.2.21"))
    update(srv.port, ("delete", "old", "A", "192.0.2.99"), ("add", "new2", 300, "A", "192.0.2.22"))
    update(srv.port, ("delete", "new1", "A", "192.0.2.21"))
    r = ixfr(srv.port, 100)
    rrs = [(rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype), rr[0].to_text()) for rr in r.answer]
    soas = [i for i, x in enumerate(rrs) if x[1] == "SOA"]
    # SOA(103) SOA(100) deletions SOA(103) additions SOA(103); new1 came and went: condensed out.
    assert len(soas) == 4 and soas[0] == 0 and soas[1] == 1 and soas[-1] == len(rrs) - 1, rrs
    assert " 103 " in rrs[0][2] and " 100 " in rrs[1][2]
    deleted = rrs[soas[1] + 1:soas[2]]
    added = rrs[soas[2] + 1:soas[3]]
    assert deleted == [("old.example.test.", "A", "192.0.2.99")]
    assert added == [("new2.example.test.", "A", "192.0.2.22")]
    # From the middle of the journal.
    r = ixfr(srv.port, 101)
    names = {rr.name.to_text() for rr in r.answer if rr.rdtype != dns.rdatatype.SOA}
    assert names == {"old.example.test.", "new1.example.test.", "new2.example.test."} or \
        names == {"old.example.test.", "new2.example.test.", "new1.example.test."}
    # A serial the journal does not know: the whole zone.
    r = ixfr(srv.port, 50)
    soas = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.SOA]
    assert len(soas) == 2
    assert sum(1 for rr in r.answer if rr.rdtype != dns.rdatatype.SOA) == 4
    # Current: the SOA alone.
    r = ixfr(srv.port, 103)
    assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.SOA]


def test_knot_secondary_follows_by_notify_and_ixfr(make_server, tmp_path):
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    kport = free_port(ipv6=False)
    srv = make_server(pipeline(tmp_path, notify=f"127.0.0.1:{kport}"))
    kdir = tmp_path / "knot"
    (kdir / "db").mkdir(parents=True)
    (kdir / "knot.conf").write_text(f"""server:
    rundir: "{kdir}"
    listen: 127.0.0.1@{kport}
log:
  - target: stderr
    any: info
database:
    storage: "{kdir}/db"
remote:
  - id: primary
    address: 127.0.0.1@{srv.port}
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "{kdir}"
    zonefile-sync: -1
zone:
  - domain: example.test
    master: primary
    acl: notify_from_primary
""")
    log = open(kdir / "knotd.log", "wb")
    proc = subprocess.Popen([knotd, "-c", str(kdir / "knot.conf")], stdout=log, stderr=log)

    def knot_serial():
        try:
            r = dns.query.udp(dns.message.make_query("example.test.", "SOA"), "127.0.0.1",
                              port=kport, timeout=0.5)
            return r.answer[0][0].serial if r.answer else None
        except Exception:
            return None

    try:
        deadline = time.monotonic() + 30
        while knot_serial() != 100:
            assert proc.poll() is None, (kdir / "knotd.log").read_text()
            assert time.monotonic() < deadline, (kdir / "knotd.log").read_text()
            time.sleep(0.1)
        update(srv.port, ("add", "fresh", 300, "A", "192.0.2.77"))
        # No refresh timer helps here (refresh 3600 s): only our NOTIFY brings Knot.
        deadline = time.monotonic() + 30
        while knot_serial() != 101:
            assert time.monotonic() < deadline, (kdir / "knotd.log").read_text() + srv.log()
            time.sleep(0.1)
        r = dns.query.udp(dns.message.make_query("fresh.example.test.", "A"), "127.0.0.1",
                          port=kport, timeout=2)
        assert r.answer and r.answer[0][0].address == "192.0.2.77"
        klog = (kdir / "knotd.log").read_text()
        assert "notify" in klog.lower(), klog
        assert "IXFR, incoming" in klog and "finished" in klog, klog
        assert "fallback to AXFR" not in klog, klog
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_ixfr_reconstructs_axfr(make_server, tmp_path):
    """After a burst of updates, the starting zone plus the IXFR differences is exactly the
    zone an AXFR gives."""
    import dns.zone
    srv = make_server(pipeline(tmp_path))
    for i in range(40):
        ops = [("add", f"h{i}", 300, "A", f"198.51.100.{i}")]
        if i % 3 == 0 and i > 0:
            ops.append(("delete", f"h{i - 1}", "A", f"198.51.100.{i - 1}"))
        if i % 7 == 0:
            ops.append(("replace", "www", 600, "A", f"192.0.2.{100 + i}"))
        update(srv.port, *ops)
    r = ixfr(srv.port, 100)
    records = [(rr.name, rr.ttl, rr.rdtype, rr[0]) for rr in r.answer]
    soa_idx = [i for i, x in enumerate(records) if x[2] == dns.rdatatype.SOA]
    assert len(soa_idx) == 4
    deleted = records[soa_idx[1] + 1:soa_idx[2]]
    added = records[soa_idx[2] + 1:soa_idx[3]]
    # h(i-1) added and deleted within the window are condensed out; www was replaced.
    assert len(deleted) >= 1 and len(added) >= 20
    zone = dns.zone.from_text(ZONE, origin="example.test.", relativize=False)
    for name, ttl, rdtype, rd in deleted:
        node = zone.get_node(name)
        rds = node.get_rdataset(dns.rdataclass.IN, rdtype)
        rds.discard(rd)
        if not rds:
            node.delete_rdataset(dns.rdataclass.IN, rdtype)
    for name, ttl, rdtype, rd in added:
        rds = zone.find_rdataset(name, rdtype, create=True)
        rds.add(rd, ttl)
    zone.replace_rdataset("@", zone.find_rdataset("@", "SOA").__class__(
        dns.rdataclass.IN, dns.rdatatype.SOA))
    zone.find_rdataset("@", "SOA", create=True).add(records[0][3], records[0][1])
    axfr = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.test.", port=srv.port,
                                           relativize=False, lifetime=30), relativize=False)
    def flat(z):
        return sorted((n.to_text(), rds.ttl, dns.rdatatype.to_text(rds.rdtype), rd.to_text())
                      for n, node in z.nodes.items() for rds in node.rdatasets for rd in rds
                      if len(node.rdatasets))
    assert flat(zone) == flat(axfr)
