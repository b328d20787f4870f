#!/usr/bin/python3
"""Benchmark cloudDNS against Knot DNS on the same zone, in the same run.

Both servers serve a generated zone (bench.test, 100,000 hosts) on loopback, one after the
other, and are driven by dnsperf with the same query file. Printed per server, as the median
of several rounds: UDP queries per second at saturation, server CPU time per answered query at
fixed rates, latency percentiles at a modest fixed rate, lost queries, peak RSS, the time to
load a 1,000,000-record zone (process start until the first correct answer) and the RSS then,
and queries per second over persistent TCP connections. Then the cloudDNS/Knot ratios and
which targets are met.

Needs: knotd (Debian package knot), dnsperf (package dnsperf), taskset (util-linux) and a
built cloudDNS tree (contrib/build.sh). Only the Python standard library is used.

    /usr/bin/python3 contrib/bench/bench.py            # full run, default settings
    /usr/bin/python3 contrib/bench/bench.py --quick    # smoke test, about two minutes
"""

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ZONE = "bench.test."
CLK_TCK = os.sysconf("SC_CLK_TCK")
TYPE = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}
TYPENAME = {v: k for k, v in TYPE.items()}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- zone and queries

# Fixed part of the zone: apex SOA and NS with their addresses, a wildcard, a delegation with
# glue. Hosts follow: host<i> has A and AAAA, except every 20th (i % 20 == 19), which is a
# CNAME to host<i-1>.
ZONE_HEAD = """$ORIGIN bench.test.
$TTL 3600
@        IN SOA  ns1 hostmaster 2024010101 7200 3600 1209600 300
@        IN NS   ns1
@        IN NS   ns2
ns1      IN A    192.0.2.1
ns2      IN A    192.0.2.2
*.wild   IN A    192.0.2.10
*.wild   IN AAAA 2001:db8::10
*.wild   IN TXT  "wildcard"
sub      IN NS   ns1.sub
sub      IN NS   ns2.sub
ns1.sub  IN A    192.0.2.53
ns2.sub  IN A    192.0.2.54
"""
ZONE_HEAD_RECORDS = 13


def is_cname(i):
    return i % 20 == 19


def host_a(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def host_aaaa(i):
    return "2001:db8::%x:%x" % (i >> 16, i & 0xFFFF)


def canon6(text):
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text))


def write_zone(path, hosts=None, records=None):
    """Write the bench zone with `hosts` hosts, or with as many hosts as make `records`
    records in total. Returns (hosts, records)."""
    n = ZONE_HEAD_RECORDS
    i = 0
    with open(path, "w") as f:
        f.write(ZONE_HEAD)
        buf = []
        while (hosts is not None and i < hosts) or (records is not None and n < records):
            if is_cname(i):
                buf.append("host%d CNAME host%d\n" % (i, i - 1))
                n += 1
            else:
                buf.append("host%d A %s\nhost%d AAAA %s\n" % (i, host_a(i), i, host_aaaa(i)))
                n += 2
            i += 1
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))
    return i, n


# Query mix: (category, share, description). Shares add up to 1.
MIX = [
    ("hit-A", 0.30, "A of an existing host"),
    ("hit-AAAA", 0.30, "AAAA of an existing host"),
    ("nxdomain", 0.10, "name that does not exist"),
    ("nodata", 0.10, "MX of an existing host (NOERROR, no answer)"),
    ("cname", 0.08, "A of a CNAME to an in-zone host"),
    ("wildcard", 0.07, "A/AAAA of a name under *.wild"),
    ("referral", 0.05, "A of a name below the delegation sub.bench.test"),
]


def make_query(cat, rnd, hosts):
    """One (name, type) of category `cat`."""
    if cat in ("hit-A", "hit-AAAA", "nodata"):
        i = rnd.randrange(hosts)
        if is_cname(i):
            i -= 1
        t = {"hit-A": "A", "hit-AAAA": "AAAA", "nodata": "MX"}[cat]
        return "host%d.bench.test." % i, t
    if cat == "nxdomain":
        return "nx%d.bench.test." % rnd.randrange(10**8), rnd.choice(("A", "AAAA"))
    if cat == "cname":
        return "host%d.bench.test." % (rnd.randrange(hosts // 20) * 20 + 19), "A"
    if cat == "wildcard":
        return "w%d.wild.bench.test." % rnd.randrange(10**8), rnd.choice(("A", "AAAA"))
    if cat == "referral":
        return "www%d.sub.bench.test." % rnd.randrange(10**8), "A"
    raise ValueError(cat)


def write_queries(path, hosts, count, seed):
    """dnsperf input file: `count` queries, categories in MIX proportions, shuffled."""
    rnd = random.Random(seed)
    qs = []
    for cat, share, _ in MIX:
        qs += [make_query(cat, rnd, hosts) for _ in range(int(round(share * count)))]
    rnd.shuffle(qs)
    with open(path, "w") as f:
        f.write("".join("%s %s\n" % q for q in qs))
    return len(qs)


# ---------------------------------------------------------------- minimal DNS client

def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def read_name(msg, off):
    labels, end, hops = [], None, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("ascii", "replace").lower())
        off += n
    return ".".join(labels) + ".", (end if end is not None else off)


def rdata_text(msg, off, rtype, rdlen):
    rd = msg[off:off + rdlen]
    if rtype == 1:
        return socket.inet_ntop(socket.AF_INET, rd)
    if rtype == 28:
        return socket.inet_ntop(socket.AF_INET6, rd)
    if rtype in (2, 5):
        return read_name(msg, off)[0]
    if rtype == 6:
        mname, o = read_name(msg, off)
        rname, o = read_name(msg, o)
        return "%s %s %d %d %d %d %d" % ((mname, rname) + struct.unpack("!5I", msg[o:o + 20]))
    return rd.hex()


def parse_response(msg):
    qid, flags, qd, an, ns, ar = struct.unpack("!6H", msg[:12])
    off = 12
    for _ in range(qd):
        off = read_name(msg, off)[1] + 4
    sections = []
    for count in (an, ns, ar):
        rrs = []
        for _ in range(count):
            owner, off = read_name(msg, off)
            rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
            off += 10
            rrs.append((owner, TYPENAME.get(rtype, str(rtype)), rdata_text(msg, off, rtype, rdlen)))
            off += rdlen
        sections.append(rrs)
    return {"id": qid, "rcode": flags & 15, "aa": bool(flags & 0x0400), "tc": bool(flags & 0x0200),
            "answer": sections[0], "authority": sections[1], "additional": sections[2]}


def query(port, name, qtype, timeout=1.0):
    """One UDP query to 127.0.0.1:port; the parsed response, or None on timeout."""
    qid = random.randrange(65536)
    pkt = struct.pack("!6H", qid, 0, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", TYPE[qtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(pkt, ("127.0.0.1", port))
        deadline = time.monotonic() + timeout
        while True:
            try:
                data = s.recv(65535)
            except (socket.timeout, ConnectionRefusedError):
                return None
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                return parse_response(data)
            if time.monotonic() > deadline:
                return None


def expected(cat, name, qtype):
    """What a correct authoritative server answers: (rcode, aa, answer set, authority check)."""
    soa = ("bench.test.", "SOA", None)
    if cat in ("hit-A", "hit-AAAA"):
        i = int(name.split(".")[0][4:])
        return 0, True, {(name, qtype, host_a(i) if qtype == "A" else canon6(host_aaaa(i)))}, None
    if cat == "nodata":
        return 0, True, set(), soa
    if cat == "nxdomain":
        return 3, True, set(), soa
    if cat == "cname":
        i = int(name.split(".")[0][4:])
        t = "host%d.bench.test." % (i - 1)
        return 0, True, {(name, "CNAME", t), (t, "A", host_a(i - 1))}, None
    if cat == "wildcard":
        return 0, True, {(name, qtype, "192.0.2.10" if qtype == "A" else "2001:db8::10")}, None
    if cat == "referral":
        return 0, False, set(), ("sub.bench.test.", "NS", None)
    raise ValueError(cat)


def check_answer(cat, name, qtype, r):
    """None if the response is right, else what is wrong."""
    if r is None:
        return "no response"
    rcode, aa, answer, auth = expected(cat, name, qtype)
    errs = []
    if r["rcode"] != rcode:
        errs.append("rcode %d, want %d" % (r["rcode"], rcode))
    if r["aa"] != aa:
        errs.append("AA %s, want %s" % (r["aa"], aa))
    if set(r["answer"]) != answer:
        errs.append("answer %s, want %s" % (sorted(r["answer"]), sorted(answer)))
    if auth and not any(o == auth[0] and t == auth[1] for o, t, _ in r["authority"]):
        errs.append("authority %s lacks %s %s" % (r["authority"], auth[0], auth[1]))
    if cat == "referral":
        glue = {(o, t, d) for o, t, d in r["additional"]}
        for g in (("ns1.sub.bench.test.", "A", "192.0.2.53"), ("ns2.sub.bench.test.", "A", "192.0.2.54")):
            if g not in glue:
                errs.append("glue %s missing" % (g,))
    return "; ".join(errs) or None


def check_server(port, hosts, per_cat=12, seed=7):
    """Ask a few queries of every category; the list of wrong answers."""
    rnd = random.Random(seed)
    bad = []
    for cat, _, _ in MIX:
        for _ in range(per_cat):
            name, qtype = make_query(cat, rnd, hosts)
            err = check_answer(cat, name, qtype, query(port, name, qtype))
            if err:
                bad.append("%s %s %s: %s" % (cat, name, qtype, err))
    return bad


# ---------------------------------------------------------------- processes

class Procs:
    """Every child process and the temp dir; all of it goes away in cleanup()."""

    def __init__(self, keep_tmp=False):
        self.children = []
        self.tmp = tempfile.mkdtemp(prefix="clouddns-bench-")
        self.keep_tmp = keep_tmp

    def spawn(self, argv, **kw):
        # A session of its own: Ctrl-C reaches only this script, which then ends them all.
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.children.append(p)
        return p

    def stop(self, p, timeout=15):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        if p in self.children:
            self.children.remove(p)

    def cleanup(self):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not stop the cleanup
        for p in list(self.children):
            try:
                self.stop(p, timeout=5)
            except Exception as e:  # keep going: the rest must be cleaned up too
                log("cleanup: %s" % e)
        if self.keep_tmp:
            log("kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise BenchError("no free port")


def proc_status(pid):
    """VmRSS and VmHWM in kB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def proc_cpu(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def system_cpu():
    """(task, irq, steal) seconds over all CPUs, from /proc/stat: time in processes (user,
    nice, system), in interrupts (irq, softirq: much of loopback networking), stolen by the
    hypervisor."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]] + [0] * 8
    return (v[0] + v[1] + v[2]) / CLK_TCK, (v[5] + v[6]) / CLK_TCK, v[7] / CLK_TCK


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Server:
    """A started server: pid, port, its directory."""

    def __init__(self, name, proc, port, workdir, logpath):
        self.name, self.proc, self.port, self.dir, self.log = name, proc, port, workdir, logpath

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, n=20):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def taskset(cpus):
    return ["taskset", "-c", cpus] if cpus else []


def start_knot(ctx, zone_path, workers, cpus=None):
    d = tempfile.mkdtemp(prefix="knot-", dir=ctx.procs.tmp)
    os.mkdir(os.path.join(d, "db"))
    port = free_port()
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{port}
    udp-workers: {workers}
    tcp-workers: {workers}
    background-workers: {workers}
log:
  - target: stderr
    any: warning
database:
    storage: "{d}/db"
template:
  - id: default
    storage: "{d}"
    zonefile-load: whole
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: {ZONE}
    file: "{zone_path}"
""")
    logpath = os.path.join(d, "knotd.log")
    with open(logpath, "w") as lf:
        p = ctx.procs.spawn(taskset(cpus) + [ctx.knotd, "-c", conf], stdout=lf, stderr=subprocess.STDOUT)
    return Server("knot", p, port, d, logpath)


def start_clouddns(ctx, zone_path, workers, cpus=None):
    d = tempfile.mkdtemp(prefix="clouddns-", dir=ctx.procs.tmp)
    port = free_port()
    conf = os.path.join(d, "clouddns.yaml")
    with open(conf, "w") as f:
        f.write(f"""server: {{listen: ["127.0.0.1:{port}"], workers: {workers}, log_level: warning}}
pipeline:
  - file: {{zones: [{{name: {ZONE.rstrip('.')}, path: "{zone_path}"}}]}}
""")
    logpath = os.path.join(d, "clouddns.log")
    with open(logpath, "w") as lf:
        # server/clouddns is libtool's wrapper script, which execs the real binary: same pid.
        p = ctx.procs.spawn(taskset(cpus) + [ctx.clouddns, "-P", ctx.plugins, "-c", conf],
                            cwd=ctx.build, stdout=lf, stderr=subprocess.STDOUT)
    return Server("clouddns", p, port, d, logpath)


STARTERS = {"knot": start_knot, "clouddns": start_clouddns}
LABEL = {"knot": "Knot DNS", "clouddns": "cloudDNS"}


def wait_ready(srv, name, qtype, check, timeout):
    """Poll until `check(response)` holds; seconds since `srv.started`, or an error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not srv.alive():
            raise BenchError("%s exited (%s) before answering:\n%s" % (srv.name, srv.proc.returncode, srv.log_tail()))
        r = query(srv.port, name, qtype, timeout=0.02)
        if r is not None and check(r):
            return time.monotonic() - srv.started
        if r is None:
            time.sleep(0.001)
        else:
            time.sleep(0.002)
    raise BenchError("%s gave no correct answer to %s %s within %ds:\n%s" % (srv.name, name, qtype, timeout, srv.log_tail()))


def launch(ctx, which, zone_path, workers, cpus=None, probe=None, timeout=120):
    t0 = time.monotonic()
    srv = STARTERS[which](ctx, zone_path, workers, cpus)
    srv.started = t0
    if probe is None:
        probe = ("ns1.bench.test.", "A", lambda r: r["rcode"] == 0 and r["aa"] and
                 ("ns1.bench.test.", "A", "192.0.2.1") in r["answer"])
    srv.ready_after = wait_ready(srv, probe[0], probe[1], probe[2], timeout)
    exe = os.path.basename(os.readlink("/proc/%d/exe" % srv.pid))
    if exe in ("sh", "bash", "dash", "taskset"):
        # Every number below reads /proc/PID of the server itself, not of a wrapper.
        raise BenchError("pid %d of %s is still %s, not the server" % (srv.pid, which, exe))
    return srv


# ---------------------------------------------------------------- dnsperf

NUM = r"([0-9.]+)"


def parse_dnsperf(out):
    def grab(pat, conv=float, default=None):
        m = re.search(pat, out)
        return conv(m.group(1)) if m else default
    res = {
        "sent": grab(r"Queries sent:\s+(\d+)", int, 0),
        "completed": grab(r"Queries completed:\s+(\d+)", int, 0),
        "lost": grab(r"Queries lost:\s+(\d+)", int, 0),
        "qps": grab(r"Queries per second:\s+" + NUM, float, 0.0),
        "runtime": grab(r"Run time \(s\):\s+" + NUM, float, 0.0),
        "avg_latency": grab(r"Average Latency \(s\):\s+" + NUM),
        "rcodes": {},
    }
    m = re.search(r"Response codes:\s+(.*)", out)
    if m:
        for code, n in re.findall(r"([A-Z]+) (\d+)", m.group(1)):
            res["rcodes"][code] = int(n)
    return res


def dnsperf(ctx, srv, seconds, mode="udp", qps=None, verbose_path=None, cpus=None, load=None):
    """Run dnsperf against srv; dnsperf's numbers plus the server's CPU seconds, the CPU
    seconds dnsperf used and those used by everything else on the machine meanwhile."""
    clients, outstanding, threads = load or ctx.load
    argv = taskset(cpus) + [ctx.dnsperf, "-s", "127.0.0.1", "-p", str(srv.port), "-m", mode,
                            "-d", ctx.queries, "-l", str(seconds), "-t", "1",
                            "-c", str(clients), "-q", str(outstanding), "-T", str(threads)]
    if qps:
        argv += ["-Q", str(int(qps))]
    if verbose_path:
        argv += ["-v"]
    out_path = verbose_path or os.path.join(ctx.procs.tmp, "dnsperf.out")
    if not srv.alive():
        raise BenchError("%s is not running:\n%s" % (srv.name, srv.log_tail()))
    cpu0, sys0, kids0 = proc_cpu(srv.pid), system_cpu(), children_cpu()
    with open(out_path, "w") as out:
        p = ctx.procs.spawn(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            p.wait(seconds + 30)
        finally:
            ctx.procs.stop(p)
    cpu1, sys1, kids1 = proc_cpu(srv.pid), system_cpu(), children_cpu()
    if not srv.alive():
        raise BenchError("%s died under load:\n%s" % (srv.name, srv.log_tail()))
    text = open(out_path, errors="replace").read()
    if p.returncode != 0 or "Statistics:" not in text:
        raise BenchError("dnsperf failed (%s): %s\n%s" % (p.returncode, " ".join(argv), text[-2000:]))
    res = parse_dnsperf(text)
    res["server_cpu"] = cpu1 - cpu0
    res["dnsperf_cpu"] = kids1 - kids0
    res["other_cpu"] = max(0.0, (sys1[0] - sys0[0]) - res["server_cpu"] - res["dnsperf_cpu"])
    res["irq"] = sys1[1] - sys0[1]
    res["steal"] = sys1[2] - sys0[2]
    res["wall"] = res["runtime"] or seconds
    if verbose_path:
        lat, timeouts = [], 0
        for line in text.splitlines():
            if line.startswith("> "):
                v = line.rsplit(None, 1)[-1]
                if line.startswith("> T "):
                    timeouts += 1
                else:
                    try:
                        lat.append(float(v))
                    except ValueError:
                        pass
        lat.sort()
        res["latencies"] = len(lat)
        res["timeouts"] = timeouts
        res["p50"] = percentile(lat, 50)
        res["p99"] = percentile(lat, 99)
        res["p999"] = percentile(lat, 99.9)
        os.unlink(verbose_path)
    return res


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


# ---------------------------------------------------------------- measurements

def note_load(tag, r):
    wall = r["wall"] or 1
    return "%s: %.0f qps, lost %d; cores used: server %.2f, dnsperf %.2f, irq %.2f, other processes %.2f, steal %.2f" % (
        tag, r["qps"], r["lost"], r["server_cpu"] / wall, r["dnsperf_cpu"] / wall,
        r["irq"] / wall, r["other_cpu"] / wall, r["steal"] / wall)


def start_checked(ctx, which, workers, cpus=None):
    srv = launch(ctx, which, ctx.zone, workers, cpus)
    bad = check_server(srv.port, ctx.hosts)
    if bad:
        ctx.procs.stop(srv.proc)
        raise BenchError("%s answers the bench zone wrongly (%d of %d checks):\n  %s" % (
            srv.name, len(bad), 12 * len(MIX), "\n  ".join(bad[:10])))
    return srv


def measure_main(ctx, order, rnd_no):
    """One round on the 100k-host zone: every UDP/TCP metric of every server. The servers
    run side by side but only one is under load at a time; each step is taken for one server
    right after the other, so that both meet nearly the same background load."""
    a = ctx.args
    m = {s: {} for s in order}
    srvs = {}
    try:
        for s in order:
            srvs[s] = start_checked(ctx, s, a.workers)

        def step(srvs, tag, **kw):
            out = {}
            for s in order:
                r = dnsperf(ctx, srvs[s], a.duration, **kw)
                extra = ""
                if "p50" in r:
                    extra = ", p50 %.0f us, p99 %.0f us" % (1e6 * (r["p50"] or 0), 1e6 * (r["p99"] or 0))
                log("  round %d %-8s %s%s" % (rnd_no, s, note_load(tag, r), extra))
                out[s] = r
            return out

        for s in order:
            dnsperf(ctx, srvs[s], a.warmup)  # warm-up, not counted
        for s, r in step(srvs, "UDP saturation").items():
            m[s]["udp_qps"], m[s]["udp_lost"], m[s]["rcodes"] = r["qps"], r["lost"], r["rcodes"]
            m[s]["other_cores"] = r["other_cpu"] / (r["wall"] or 1)
        for rate in a.rates:
            for s, r in step(srvs, "fixed %d qps" % rate, qps=rate).items():
                m[s]["cpu_us@%d" % rate] = 1e6 * r["server_cpu"] / max(1, r["completed"])
                m[s]["qps@%d" % rate] = r["qps"]
                m[s]["lost@%d" % rate] = r["lost"]
        for s, r in step(srvs, "latency at %d qps" % a.latency_rate, qps=a.latency_rate,
                         verbose_path=os.path.join(ctx.procs.tmp, "latency.out")).items():
            m[s]["lat_p50_us"] = 1e6 * r["p50"] if r["p50"] is not None else None
            m[s]["lat_p99_us"] = 1e6 * r["p99"] if r["p99"] is not None else None
            m[s]["lat_avg_us"] = 1e6 * r["avg_latency"] if r["avg_latency"] is not None else None
            m[s]["lat_lost"] = r["lost"]
        for s, r in step(srvs, "TCP saturation", mode="tcp").items():
            m[s]["tcp_qps"], m[s]["tcp_lost"] = r["qps"], r["lost"]
        for s in order:
            m[s]["hwm_mb"] = proc_status(srvs[s].pid)["VmHWM"] / 1024.0
    finally:
        for srv in srvs.values():
            ctx.procs.stop(srv.proc)
    if a.pinned:
        # One worker on CPU 1, dnsperf (one thread) on CPU 0: neither steals the other's core.
        srvs = {}
        clients, outstanding, _ = ctx.load
        load = (clients, outstanding, 1)
        try:
            for s in order:
                srvs[s] = start_checked(ctx, s, 1, cpus="1")
            for s in order:
                dnsperf(ctx, srvs[s], a.warmup, cpus="0", load=load)
            for s, r in step(srvs, "UDP saturation, 1 worker on CPU 1", cpus="0", load=load).items():
                m[s]["pinned_qps"], m[s]["pinned_lost"] = r["qps"], r["lost"]
        finally:
            for srv in srvs.values():
                ctx.procs.stop(srv.proc)
    return m


def measure_big(ctx, which, rnd_no):
    """Start on the 1M-record zone: seconds until the first correct answer and RSS then."""
    last = ctx.big_hosts - 1
    if is_cname(last):
        last -= 1
    name, want = "host%d.bench.test." % last, host_a(last)
    probe = (name, "A", lambda r: r["rcode"] == 0 and (name, "A", want) in r["answer"])
    srv = launch(ctx, which, ctx.big_zone, ctx.args.workers, probe=probe, timeout=600)
    try:
        st = proc_status(srv.pid)
        m = {"load_s": srv.ready_after, "load_rss_mb": st["VmRSS"] / 1024.0, "load_hwm_mb": st["VmHWM"] / 1024.0}
    finally:
        ctx.procs.stop(srv.proc)
    log("  round %d %-8s %s records: first correct answer after %.2f s, RSS %.0f MB (peak %.0f MB)" % (
        rnd_no, which, format(ctx.args.big_records, ","), m["load_s"], m["load_rss_mb"], m["load_hwm_mb"]))
    return m


def soak(ctx, which, sat_qps):
    a = ctx.args
    rate = int(0.8 * sat_qps)
    srv = launch(ctx, which, ctx.zone, a.workers)
    try:
        dnsperf(ctx, srv, a.warmup)
        st0 = proc_status(srv.pid)
        r = dnsperf(ctx, srv, a.soak, qps=rate)
        st1 = proc_status(srv.pid)
    finally:
        ctx.procs.stop(srv.proc)
    res = {"rate": rate, "qps": r["qps"], "sent": r["sent"], "lost": r["lost"],
           "rss_start_mb": st0["VmRSS"] / 1024.0, "rss_end_mb": st1["VmRSS"] / 1024.0,
           "hwm_end_mb": st1["VmHWM"] / 1024.0}
    log("  %s soak %d s at %d qps: %s, RSS %.1f -> %.1f MB" % (
        which, a.soak, rate, note_load("soak", r), res["rss_start_mb"], res["rss_end_mb"]))
    return res


# ---------------------------------------------------------------- report

# (key, label, format, better: "low"/"high"/None, target text, target check on ratio)
def metric_rows(workers, rates, latency_rate, pinned, big_records):
    rows = [("udp_qps", "UDP QPS at saturation (%d workers, unpinned)" % workers, "%.0f", "high", ">= 1.00",
             lambda x: x >= 1.0)]
    if pinned:
        rows.append(("pinned_qps", "UDP QPS at saturation (1 worker on CPU 1, dnsperf on CPU 0)", "%.0f", "high", None, None))
    rows.append(("udp_lost", "queries lost in the saturation run", "%.0f", "low", None, None))
    for rate in rates:
        rows.append(("cpu_us@%d" % rate, "server CPU us per answered query at %d qps" % rate, "%.2f", "low",
                     "<= 0.85", lambda x: x <= 0.85))
        rows.append(("qps@%d" % rate, "  achieved qps at the %d qps rate" % rate, "%.0f", None, None, None))
        rows.append(("lost@%d" % rate, "  queries lost at %d qps" % rate, "%.0f", "low", None, None))
    rows += [
        ("lat_p50_us", "latency p50 at %d qps (us)" % latency_rate, "%.0f", "low", None, None),
        ("lat_p99_us", "latency p99 at %d qps (us)" % latency_rate, "%.0f", "low", None, None),
        ("lat_avg_us", "latency average at %d qps (us)" % latency_rate, "%.0f", "low", None, None),
        ("hwm_mb", "peak RSS, 100k-host zone (MB)", "%.1f", "low", None, None),
        ("load_s", "%s records: start to first correct answer (s)" % format(big_records, ","), "%.2f", "low",
         "<= 1.00", lambda x: x <= 1.0),
        ("load_rss_mb", "%s records: RSS then (MB)" % format(big_records, ","), "%.1f", "low",
         "<= 1.00", lambda x: x <= 1.0),
        ("tcp_qps", "TCP QPS, persistent connections", "%.0f", "high", ">= 1.00", lambda x: x >= 1.0),
    ]
    return rows


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def render(ctx, results):
    a = ctx.args
    servers = [s for s in ("knot", "clouddns") if s in results]
    rows = metric_rows(a.workers, a.rates, a.latency_rate, a.pinned, a.big_records)
    both = len(servers) == 2
    head = ["metric (median of %d rounds)" % a.rounds if a.rounds > 1 else "metric (1 round)"] + [LABEL[s] for s in servers]
    if both:
        head += ["cloudDNS/Knot", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    verdicts = []
    for key, label, fmt, better, target, ok in rows:
        vals = [median([rd.get(key) for rd in results[s]]) for s in servers]
        cells = [label] + [(fmt % v) if v is not None else "-" for v in vals]
        if both:
            k, c = vals
            ratio = (c / k) if (k and c is not None) else None
            cells.append("%.2f" % ratio if ratio is not None else "-")
            cells.append(target or "")
            if target and ratio is not None:
                met = ok(ratio)
                cells.append("yes" if met else "NO")
                verdicts.append((label, target, ratio, met))
            else:
                cells.append("")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), verdicts


def machine_description(ctx):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    osname = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    knot_v = run_quiet([ctx.knotd, "-V"]).strip()
    dp_v = re.search(r"Version\s+(\S+)", run_quiet([ctx.dnsperf, "-h"]))
    rev = run_quiet(["git", "-C", ctx.build, "describe", "--always", "--dirty"]).strip() or "?"
    return ("%d CPUs (%s), %s, kernel %s; loopback; dnsperf %s on the same machine; %s; cloudDNS %s" % (
        os.cpu_count(), cpu, osname, platform.release(), dp_v.group(1) if dp_v else "?", knot_v, rev))


def run_quiet(argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


# ---------------------------------------------------------------- main

class Ctx:
    pass


def find_tool(name, package):
    path = shutil.which(name) or next((p for p in ("/usr/sbin/" + name, "/sbin/" + name) if os.access(p, os.X_OK)), None)
    if not path:
        raise BenchError("%s not found: install the Debian package '%s' (apt-get install knot dnsperf)" % (name, package))
    return path


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description="Compare cloudDNS with Knot DNS (same zone, same queries, same run).")
    p.add_argument("--rounds", type=int, help="rounds per server; medians are reported (default 3)")
    p.add_argument("--workers", type=int, default=2, help="worker threads of each server (default 2)")
    p.add_argument("--duration", type=float, help="seconds per dnsperf measurement (default 10)")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 round, 2 s runs, 100,000-record load test")
    p.add_argument("--only", choices=("knot", "clouddns"), help="measure one server only")
    p.add_argument("--build-dir", default=os.path.normpath(os.path.join(here, "..", "..")),
                   help="built cloudDNS tree (default: this repository)")
    p.add_argument("--soak", type=float, metavar="SECONDS", default=0,
                   help="also run SECONDS at 80%% of the measured saturation rate (lost queries, RSS start/end)")
    p.add_argument("--hosts", type=int, default=100000, help="hosts in the bench zone (default 100000)")
    p.add_argument("--big-records", type=int, default=1000000, help="records in the load-test zone (default 1000000)")
    p.add_argument("--rates", default="20000,50000", help="fixed rates for CPU per query (default 20000,50000)")
    p.add_argument("--latency-rate", type=int, default=10000, help="fixed rate for latency percentiles (default 10000)")
    p.add_argument("--dnsperf-load", default="4,100,1", metavar="C,Q,T",
                   help="dnsperf clients (-c), outstanding queries (-q), threads (-T) (default 4,100,1)")
    p.add_argument("--no-pinned", dest="pinned", action="store_false",
                   help="skip the extra saturation run with 1 worker on CPU 1 and dnsperf on CPU 0")
    p.add_argument("--nice", type=int, default=None,
                   help="scheduling priority of both servers and dnsperf (default -10 as root, so that "
                        "other work on the machine disturbs less; 0 to leave it)")
    p.add_argument("--json", metavar="FILE", help="also write every round's numbers to FILE")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (zones, configs, logs)")
    a = p.parse_args(argv)
    if a.quick:
        a.rounds = a.rounds or 1
        a.duration = a.duration or 2
        a.big_records = min(a.big_records, 100000)
        a.soak = min(a.soak, 5) if a.soak else 0
    a.rounds = a.rounds or 3
    a.duration = a.duration or 10
    a.warmup = 1 if a.quick else 2
    if a.nice is None:
        a.nice = -10 if os.geteuid() == 0 else 0
    a.rates = [int(x) for x in a.rates.split(",") if x]
    try:
        c, q, t = (int(x) for x in a.dnsperf_load.split(","))
    except ValueError:
        p.error("--dnsperf-load wants C,Q,T")
    a.load = (c, q, t)
    if a.rounds < 1 or a.workers < 1 or a.duration <= 0:
        p.error("--rounds, --workers and --duration must be positive")
    return a


def main(argv):
    a = parse_args(argv)
    servers = [a.only] if a.only else ["knot", "clouddns"]
    ctx = Ctx()
    ctx.args, ctx.load = a, a.load
    ctx.build = os.path.abspath(a.build_dir)
    ctx.dnsperf = find_tool("dnsperf", "dnsperf")
    if "knot" in servers:
        ctx.knotd = find_tool("knotd", "knot")
    else:
        ctx.knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    if a.pinned and not shutil.which("taskset"):
        raise BenchError("taskset not found (Debian package util-linux); or use --no-pinned")
    if a.pinned and os.cpu_count() < 2:
        a.pinned = False
    ctx.clouddns = os.path.join(ctx.build, "server", "clouddns")
    ctx.plugins = os.path.join(ctx.build, "plugins", ".built")
    if "clouddns" in servers and not (os.access(ctx.clouddns, os.X_OK) and os.path.isdir(ctx.plugins)):
        raise BenchError("no built cloudDNS in %s (server/clouddns, plugins/.built): run contrib/build.sh first" % ctx.build)

    if a.nice:
        # Inherited by every server and dnsperf started from here.
        try:
            os.setpriority(os.PRIO_PROCESS, 0, a.nice)
        except OSError as e:
            raise BenchError("cannot set nice %d (%s): use --nice 0" % (a.nice, e))
    ctx.procs = Procs(keep_tmp=a.keep_tmp)
    try:
        return run(ctx, servers)
    finally:
        ctx.procs.cleanup()


def run(ctx, servers):
    a = ctx.args
    tmp = ctx.procs.tmp
    log("machine: " + machine_description(ctx))
    log("load average at start: " + open("/proc/loadavg").read().strip())
    ctx.zone = os.path.join(tmp, "bench.test.zone")
    ctx.hosts, nrec = write_zone(ctx.zone, hosts=a.hosts)
    ctx.big_zone = os.path.join(tmp, "bench.test.big.zone")
    ctx.big_hosts, nbig = write_zone(ctx.big_zone, records=a.big_records)
    ctx.queries = os.path.join(tmp, "queries.txt")
    nq = write_queries(ctx.queries, ctx.hosts, 200000, seed=1)
    log("zone bench.test: %d hosts, %d records; load-test zone: %d hosts, %d records; %d queries" % (
        ctx.hosts, nrec, ctx.big_hosts, nbig, nq))
    mix = "query mix: " + ", ".join("%s %d%%" % (c, round(100 * s)) for c, s, _ in MIX)
    print(mix)
    for c, s, d in MIX:
        log("  %-9s %3d%%  %s" % (c, round(100 * s), d))
    c, q, t = ctx.load
    log("dnsperf -c %d -q %d -T %d -t 1; %d round(s) of %g s runs; servers with %d worker(s); nice %d" % (
        c, q, t, a.rounds, a.duration, a.workers, a.nice))

    results = {s: [] for s in servers}
    for rnd_no in range(1, a.rounds + 1):
        order = servers if rnd_no % 2 else list(reversed(servers))
        m = measure_main(ctx, order, rnd_no)
        for s in order:
            m[s].update(measure_big(ctx, s, rnd_no))
            results[s].append(m[s])
    soaks = {}
    if a.soak:
        for s in servers:
            soaks[s] = soak(ctx, s, median([rd["udp_qps"] for rd in results[s]]))

    table, verdicts = render(ctx, results)
    print()
    print("cloudDNS vs Knot DNS: zone of %d hosts (%d records), %d worker(s) each, dnsperf -c %d -q %d -T %d, "
          "%g s per run" % (ctx.hosts, nrec, a.workers, c, q, t, a.duration))
    print("machine: " + machine_description(ctx))
    print()
    print(table)
    print()
    rc = set()
    for s in servers:
        for rd in results[s]:
            tot = sum(rd["rcodes"].values()) or 1
            rc.add("%s: %s" % (LABEL[s], ", ".join("%s %.1f%%" % (k, 100.0 * v / tot) for k, v in sorted(rd["rcodes"].items()))))
    print("response codes at saturation: " + "; ".join(sorted(rc)))
    other = [rd["other_cores"] for s in servers for rd in results[s]]
    print("CPU used by other processes during the saturation runs: median %.2f, max %.2f cores" % (
        statistics.median(other), max(other)))
    if verdicts:
        print()
        for label, target, ratio, met in verdicts:
            print("%-4s %s: cloudDNS/Knot %.2f (target %s)" % ("met" if met else "MISS", label.strip(), ratio, target))
    if soaks:
        print()
        for s, r in soaks.items():
            print("soak %s: %g s at %d qps (80%% of saturation): %d of %d queries lost, RSS %.1f MB at start, "
                  "%.1f MB at end (peak %.1f MB)" % (LABEL[s], a.soak, r["rate"], r["lost"], r["sent"],
                                                     r["rss_start_mb"], r["rss_end_mb"], r["hwm_end_mb"]))
    log("load average at end: " + open("/proc/loadavg").read().strip())
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": {k: v for k, v in vars(a).items()}, "results": results, "soak": soaks}, f, indent=1)
    return 0


def on_term(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        log("interrupted; servers stopped, temp files removed")
        sys.exit(130)
    except BenchError as e:
        log("bench: %s" % e)
        sys.exit(1)
