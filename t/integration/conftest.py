"""Fixtures: real clouddns processes on free loopback ports with temporary configurations.

make_server(pipeline, server=None, ...) returns a started Server (see cdnstest.py) with .port,
.reload(), .stop(), .udp()/.tcp() and .log(). At teardown every server still running gets
SIGTERM and must exit 0; its stderr is printed (pytest shows it for failed tests), and a server
that died on its own or left a sanitizer report fails the test. Nothing is skipped: a missing
binary is a failure.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cdnstest import PLUGIN_DIR, SERVER_BIN, Server  # noqa: E402

DEFAULT_PIPELINE = [("chaos", {"version": "test-version"}), ("whoami", {})]


@pytest.fixture(scope="session")
def server_bin():
    assert SERVER_BIN.is_file(), f"{SERVER_BIN} is missing: build the tree first"
    assert PLUGIN_DIR.is_dir(), f"{PLUGIN_DIR} is missing: build the plugins first"
    return SERVER_BIN


@pytest.fixture
def make_server(server_bin, tmp_path):
    servers = []

    def factory(pipeline=None, server=None, start=True, **kw):
        workdir = tmp_path / f"server{len(servers)}"
        srv = Server(workdir, DEFAULT_PIPELINE if pipeline is None else pipeline, server, **kw)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield factory

    problems = []
    for srv in servers:
        died = srv.proc is not None and srv.proc.poll() is not None and not srv.stopped
        if died:
            problems.append(f"clouddns exited on its own with status {srv.proc.returncode}")
        elif srv.alive():
            # End every server the way an operator does: SIGTERM must exit 0 (and lets the
            # sanitizers' leak check run).
            try:
                rc = srv.stop()
                if rc != 0:
                    problems.append(f"clouddns exited with status {rc} on SIGTERM")
            except AssertionError as e:
                problems.append(str(e))
        srv.kill()
        log = srv.log()
        print(f"----- clouddns stderr ({srv.conf}) -----\n{log}", end="")
        for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            if marker in log:
                problems.append(f"sanitizer report in stderr ({marker})")
    if problems:
        pytest.fail("; ".join(problems))


@pytest.fixture
def server(make_server):
    """chaos (version "test-version", identity "ns1.test") then whoami, on 127.0.0.1 and ::1."""
    return make_server()

