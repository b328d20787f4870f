"""Fixtures for the secondary plugin's tests: primaries that are stopped at teardown."""

import pytest

from primaries import Bind, FakePrimary, Knot


@pytest.fixture
def knot(tmp_path):
    """knot(notify_port=None, text=None, ixfr=True) -> a Knot primary (not started)."""
    made = []

    def factory(**kw):
        k = Knot(tmp_path / f"knot{len(made)}", **kw)
        made.append(k)
        return k

    yield factory
    for k in made:
        k.stop()
        print(f"----- knotd log ({k.dir}) -----\n{k.log()}", end="")


@pytest.fixture
def bind(tmp_path):
    made = []

    def factory(**kw):
        b = Bind(tmp_path / f"named{len(made)}", **kw)
        made.append(b)
        return b

    yield factory
    for b in made:
        b.stop()
        print(f"----- named log ({b.dir}) -----\n{b.log()}", end="")


@pytest.fixture
def fake_primary():
    made = []

    def factory(text, **kw):
        f = FakePrimary(text, **kw)
        made.append(f)
        return f

    yield factory
    for f in made:
        f.close()
