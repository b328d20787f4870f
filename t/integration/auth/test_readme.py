"""The README's quick-start answers are real: start the server on conf/quickstart.yaml (on a
free port instead of 5353) and run every `$ dig`/`$ kdig` line of the README's console blocks,
comparing the output with the lines the README shows under it."""

import re
import shlex
import subprocess

import pytest

from cdnstest import TOP_SRCDIR, free_port

README = TOP_SRCDIR / "README.md"


def console_examples():
    text = README.read_text()
    examples = []
    for block in re.findall(r"^```console\n(.*?)^```", text, re.S | re.M):
        cmd, out = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if cmd is not None:
                    examples.append((cmd, out))
                cmd, out = line[2:], []
            elif cmd is not None:
                out.append(line)
        if cmd is not None:
            examples.append((cmd, out))
    return examples


def test_readme_has_examples():
    assert len([c for c, _ in console_examples() if c.split()[0] in ("dig", "kdig")]) >= 4


def test_readme_answers(make_server):
    conf = (TOP_SRCDIR / "conf" / "quickstart.yaml").read_text()
    port = free_port()
    zones = TOP_SRCDIR / "conf" / "zones"
    text = conf.replace("5353", str(port)).replace("path: zones/", f"path: {zones}/")
    srv = make_server(start=False)
    srv.port = port
    srv.write_config(None, text=text)
    srv.start()
    ran = 0
    for cmd, expected in console_examples():
        argv = shlex.split(cmd)
        if argv[0] not in ("dig", "kdig"):
            continue
        argv = [a if a != "5353" else str(port) for a in argv]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, f"{cmd}: {p.stderr}"
        assert p.stdout.splitlines() == expected, f"{cmd}:\n{p.stdout}"
        ran += 1
    assert ran >= 4
