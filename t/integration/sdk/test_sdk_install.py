"""The SDK as a third party sees it: install the build into a temporary root (DESTDIR, so the
build tree is untouched), build contrib/example-plugin out of tree with nothing but
`pkg-config clouddns`, load it into the installed server and query it; then check that a
plugin built for another ABI is refused with one clear line."""

import re
import shutil
import subprocess
import time

import dns.query
import dns.rcode
import pytest

from cdnstest import TOP_BUILDDIR, TOP_SRCDIR, free_port, make_query, server_env, txt_text


def clean_env(extra=None):
    """No make jobserver or flags inherited from an enclosing "make check"."""
    env = server_env(extra)
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR"):
        env.pop(var, None)
    return env


def run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{cmd}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


class Installed:
    def __init__(self, root, prefix):
        self.root = root                      # DESTDIR
        self.prefix = root / prefix.lstrip("/")  # where the files are
        self.lib = self.prefix / "lib"
        self.plugindir = self.lib / "clouddns"
        self.server = self.prefix / "sbin" / "clouddns"
        self.pkgconfig = f"pkg-config --define-variable=prefix={self.prefix}"

    def env(self, extra=None):
        env = clean_env(extra)
        env["PKG_CONFIG_PATH"] = str(self.lib / "pkgconfig")
        env["LD_LIBRARY_PATH"] = str(self.lib)
        return env

    def pkg(self, *args):
        return run(self.pkgconfig.split() + list(args) + ["clouddns"],
                   env=self.env()).stdout.strip()


@pytest.fixture(scope="module")
def installed(server_bin, tmp_path_factory):
    root = tmp_path_factory.mktemp("destdir")
    pc = (TOP_BUILDDIR / "sdk" / "clouddns.pc").read_text()
    prefix = re.search(r"^prefix=(.*)$", pc, re.M).group(1)
    run(["make", "-C", str(TOP_BUILDDIR), "install", f"DESTDIR={root}"], env=clean_env())
    inst = Installed(root, prefix)
    assert inst.server.is_file()
    assert (inst.lib / "pkgconfig" / "clouddns.pc").is_file()
    assert (inst.prefix / "include" / "clouddns" / "clouddns.h").is_file()
    return inst


def serve(inst, tmp_path, plugin_dirs, pipeline):
    port = free_port(ipv6=False)
    conf = tmp_path / "sdk.yaml"
    conf.write_text(f'server:\n  listen: "127.0.0.1:{port}"\n  workers: 1\n'
                    f"pipeline:\n{pipeline}")
    args = [str(inst.server)]
    for d in plugin_dirs:
        args += ["-P", str(d)]
    errlog = open(tmp_path / "stderr.log", "wb")
    proc = subprocess.Popen(args + ["-c", str(conf)], stdout=errlog, stderr=errlog,
                            stdin=subprocess.DEVNULL, env=inst.env())
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, (tmp_path / "stderr.log").read_text()
        try:
            dns.query.udp(make_query("probe.", "TXT", "CH"), "127.0.0.1", port=port,
                          timeout=0.2)
            return proc, port
        except dns.exception.Timeout:
            assert time.monotonic() < deadline, "installed server did not answer"


def test_pkg_config(installed):
    cflags = installed.pkg("--cflags")
    assert f"-I{installed.prefix}/include" in cflags
    assert "-lclouddns" in installed.pkg("--libs")
    assert installed.pkg("--variable=plugindir") == str(installed.plugindir)
    assert installed.pkg("--variable=abi").isdigit()


def test_example_plugin_out_of_tree(installed, tmp_path):
    src = tmp_path / "example-plugin"
    shutil.copytree(TOP_SRCDIR / "contrib" / "example-plugin", src)
    for junk in src.glob("*.so"):
        junk.unlink()
    run(["make", "-C", str(src), f"PKG_CONFIG={installed.pkgconfig}", "CFLAGS=-O2 -Wall -Werror"],
        env=installed.env())
    assert (src / "example.so").is_file()
    run(["make", "-C", str(src), "install", f"PKG_CONFIG={installed.pkgconfig}"],
        env=installed.env())
    assert (installed.plugindir / "example.so").is_file()

    out = run([str(installed.server), "-V", "-P", str(installed.plugindir)], env=installed.env())
    assert "  example 1.0" in out.stdout + out.stderr

    proc, port = serve(installed, tmp_path, [installed.plugindir],
                       "  - example: { name: hello.example.net }\n  - chaos: {}\n")
    try:
        r = dns.query.udp(make_query("Hello.Example.Net.", "TXT"), "127.0.0.1", port=port,
                          timeout=3)
        assert r.rcode() == dns.rcode.NOERROR
        assert txt_text(r.answer[0]) == b"hello from example"
        r = dns.query.tcp(make_query("id.server.", "TXT", "CH"), "127.0.0.1", port=port,
                          timeout=3)
        assert r.rcode() == dns.rcode.NOERROR
        r = dns.query.udp(make_query("other.example.net.", "TXT"), "127.0.0.1", port=port,
                          timeout=3)
        assert r.rcode() == dns.rcode.REFUSED
    finally:
        proc.terminate()
        assert proc.wait(15) == 0


ABI999 = """\
#include <clouddns/clouddns.h>

CDNS_EXPORT extern const cdns_plugin_t cdns_plugin_entry;
CDNS_EXPORT const cdns_plugin_t cdns_plugin_entry = {
	.abi = 999, .size = sizeof(cdns_plugin_t), .name = "abi999", .version = "1",
};
"""


def test_wrong_abi_refused(installed, tmp_path):
    (tmp_path / "abi999.c").write_text(ABI999)
    cflags = installed.pkg("--cflags").split()
    libs = installed.pkg("--libs").split()
    run(["cc", "-fPIC", "-shared", *cflags, "-o", str(tmp_path / "abi999.so"),
         str(tmp_path / "abi999.c"), *libs], env=installed.env())
    abi = installed.pkg("--variable=abi")
    conf = tmp_path / "abi.yaml"
    conf.write_text("pipeline:\n  - abi999: {}\n")
    for check in (["-t"], []):
        out = subprocess.run([str(installed.server), *check, "-P", str(tmp_path), "-c",
                              str(conf)], capture_output=True, text=True, timeout=60,
                             env=installed.env())
        assert out.returncode == 1
        lines = out.stderr.splitlines()
        errors = [ln for ln in lines if "abi999" in ln]
        assert errors == [f"{conf}:2:5: plugin 'abi999' ({tmp_path}/abi999.so): built for "
                          f"plugin ABI 999, this server has ABI {abi}"], lines
