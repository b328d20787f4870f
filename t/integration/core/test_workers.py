"""Worker threads: UDP steering (server option udp_steering: which workers receive UDP
queries, checked with the per-worker counts the server logs when it exits and with its debug
log of changes) and cpu_affinity (checked in /proc)."""

import os
import re
import signal
import socket
import subprocess
import threading
import time

import dns.query
import dns.rcode

from cdnstest import PLUGIN_DIR, SERVER_BIN, make_query, server_env


def per_worker(srv):
    """Stop the server; UDP queries each worker received."""
    assert srv.stop(signal.SIGTERM) == 0
    m = re.search(r"statistics: udp queries per worker: ([0-9 ]+)", srv.log())
    assert m, srv.log()
    return [int(x) for x in m.group(1).split()]


def ask(srv, n, sockets):
    """n queries, one after the other, from `sockets` client sockets in turn."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(sockets)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        for i in range(n):
            r = dns.query.udp(make_query("version.bind.", "TXT", "CH"), "127.0.0.1",
                              port=srv.port, timeout=3.0, sock=socks[i % sockets])
            assert r.rcode() == dns.rcode.NOERROR
    finally:
        for s in socks:
            s.close()


def test_adaptive_answers_low_load_with_one_worker(make_server):
    # The default. Queries one at a time from many client ports: one worker is plenty.
    srv = make_server(server={"workers": 2})
    ask(srv, 300, sockets=16)
    counts = per_worker(srv)
    assert len(counts) == 2
    assert counts[0] >= 300 and counts[1] == 0, counts


def test_random_spreads_one_client_over_all_workers(make_server):
    srv = make_server(server={"workers": 3, "udp_steering": "random"})
    ask(srv, 300, sockets=1)
    counts = per_worker(srv)
    assert len(counts) == 3
    # Each worker's chance of none of 300 is (2/3)^300.
    assert all(c > 0 for c in counts), counts


def test_hash_keeps_one_client_on_one_worker(make_server):
    srv = make_server(server={"workers": 2, "udp_steering": "hash"})
    ask(srv, 300, sockets=1)
    counts = per_worker(srv)
    probes = sum(counts) - 300  # the readiness check's queries, from other ports
    assert max(counts) >= 300 and min(counts) <= probes, counts


def test_one_worker_logs_no_spread(make_server):
    srv = make_server(server={"workers": 1})
    ask(srv, 10, sockets=2)
    assert srv.stop(signal.SIGTERM) == 0
    assert "udp queries per worker" not in srv.log()
    assert "udp_steering" not in srv.log()


def flood(port, stop, wire):
    """Send queries as fast as one thread can, reading nothing."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    try:
        while not stop.is_set():
            for _ in range(1000):
                try:
                    s.sendto(wire, ("127.0.0.1", port))
                except BlockingIOError:
                    time.sleep(0.0001)
    finally:
        s.close()


def test_adaptive_grows_under_a_flood_and_shrinks_after(make_server):
    srv = make_server(server={"workers": 2, "log_level": "debug"})
    wire = make_query("version.bind.", "TXT", "CH").to_wire()
    stop = threading.Event()
    t = threading.Thread(target=flood, args=(srv.port, stop, wire))
    t.start()
    try:
        # One worker cannot keep up (or its socket fills): the other joins.
        srv.wait_log("udp_steering: 2 of 2 workers receive", timeout=30)
    finally:
        stop.set()
        t.join()
    # Quiet again: back to one after the calm period.
    srv.wait_log("udp_steering: 1 of 2 workers receive", timeout=30)
    ask(srv, 20, sockets=4)
    counts = per_worker(srv)
    assert counts[1] > 0, counts  # it did receive during the flood


def worker_cpus(srv):
    """{thread name: Cpus_allowed_list} of the worker threads."""
    out = {}
    task_dir = f"/proc/{srv.proc.pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"{task_dir}/{tid}/status") as f:
                status = f.read()
        except FileNotFoundError:
            continue
        if comm.startswith("cdns-worker-"):
            out[comm] = re.search(r"Cpus_allowed_list:\s+(\S+)", status).group(1)
    return out


def test_workers_are_named_and_not_pinned_by_default(make_server):
    srv = make_server(server={"workers": 2})
    cpus = worker_cpus(srv)
    assert sorted(cpus) == ["cdns-worker-0", "cdns-worker-1"]
    allowed = os.sched_getaffinity(0)
    if len(allowed) > 1:
        assert all("-" in v or "," in v for v in cpus.values()), cpus


def test_cpu_affinity_list(make_server):
    cpu = min(os.sched_getaffinity(0))
    srv = make_server(server={"workers": 3, "cpu_affinity": [cpu]})
    assert worker_cpus(srv) == {f"cdns-worker-{i}": str(cpu) for i in range(3)}
    srv.assert_serving()


def test_cpu_affinity_auto(make_server):
    allowed = sorted(os.sched_getaffinity(0))
    srv = make_server(server={"workers": 2, "cpu_affinity": "auto"})
    want = {f"cdns-worker-{i}": str(allowed[i % len(allowed)]) for i in range(2)}
    assert worker_cpus(srv) == want
    srv.assert_serving()


def test_cpu_affinity_errors(server_bin, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("""\
server:
  cpu_affinity: [0, lots]
pipeline:
  - chaos: {}
""")
    out = subprocess.run([str(SERVER_BIN), "-t", "-P", str(PLUGIN_DIR), "-c", str(path)],
                         capture_output=True, text=True, timeout=60, env=server_env())
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"{path}:2:21: server: option 'cpu_affinity': must be \"none\", \"auto\" or a list of "
        f"CPU numbers (0..1023), got \"lots\""]
