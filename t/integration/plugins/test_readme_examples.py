"""Every ```yaml block in the Examples section of every plugin README passes `clouddns -t`,
so the documentation cannot drift from the code. A block is a whole configuration (with
`pipeline:`), a pipeline list, or a single `name: {options}` entry. Files that an example
names by relative path (zone files and the like) are copied beside the configuration from
`plugins/<name>/examples/` and from `readme-data/<name>/` next to this file."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cdnstest import PLUGIN_DIR, SERVER_BIN, TOP_SRCDIR, server_env

BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)


def example_blocks():
    found = []
    for readme in sorted(TOP_SRCDIR.glob("plugins/*/README.md")):
        text = readme.read_text()
        m = re.search(r"^## Examples\n(.*?)(?=^## |\Z)", text, re.S | re.M)
        if not m:
            found.append(pytest.param(readme, None, id=f"{readme.parent.name}-no-examples"))
            continue
        blocks = BLOCK.findall(m.group(1))
        if not blocks:
            found.append(pytest.param(readme, None, id=f"{readme.parent.name}-no-yaml"))
        for i, block in enumerate(blocks):
            found.append(pytest.param(readme, block, id=f"{readme.parent.name}-{i}"))
    return found


def as_config(block):
    """The block as a whole configuration (without needing a YAML library: the shape shows in
    the first lines that are not comments)."""
    lines = block.splitlines()
    if any(re.match(r"pipeline\s*:", line) for line in lines):
        return block
    body = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert body, f"empty example:\n{block}"
    if body[0].startswith("- "):
        return "pipeline:\n" + "".join(f"  {line}\n" for line in lines)
    if re.match(r"[A-Za-z0-9_-]+\s*:", body[0]) and not any(
            re.match(r"[A-Za-z0-9_-]+\s*:", line) for line in body[1:]):
        return "pipeline:\n  - " + "".join(f"    {line}\n" for line in lines).lstrip()
    raise AssertionError(f"example is not a configuration, a pipeline or one entry:\n{block}")


def test_all_plugins_have_readmes():
    for folder in sorted(p for p in (TOP_SRCDIR / "plugins").iterdir() if p.is_dir()):
        if folder.name.startswith("."):
            continue
        assert (folder / "README.md").is_file(), f"{folder} has no README.md"
        text = (folder / "README.md").read_text()
        for heading in ("Name", "Description", "Syntax", "Options", "Examples", "Metrics"):
            assert re.search(rf"^## {heading}\s*$", text, re.M), f"{folder.name}: no {heading}"


@pytest.mark.parametrize("readme,block", example_blocks())
def test_readme_example(server_bin, tmp_path, readme, block):
    assert block is not None, f"{readme}: no ```yaml example under ## Examples"
    plugin = readme.parent.name
    assert (PLUGIN_DIR / f"{plugin}.so").exists(), f"plugin {plugin} was not built"
    for data in (readme.parent / "examples", Path(__file__).parent / "readme-data" / plugin):
        if data.is_dir():
            shutil.copytree(data, tmp_path, dirs_exist_ok=True)
    conf = tmp_path / "example.yaml"
    conf.write_text(as_config(block))
    out = subprocess.run([str(SERVER_BIN), "-t", "-P", str(PLUGIN_DIR), "-c", str(conf)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path,
                         env=server_env())
    assert out.returncode == 0, f"{readme}:\n{conf.read_text()}\n{out.stderr}"
