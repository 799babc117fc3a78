"""Fixtures of the exchange tests: a network of registries on loopback (instances.py), made once per module."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from .instances import Instance, finish_upgrade, start_upgrade


@dataclass
class Network:
    """A and B serve on 127.0.0.1; C (a registry B does not trust) and F (a fork of A: A's checkpoint key and
    origin, another database and history) are not served: their bundles reach B as files."""

    a: Instance
    b: Instance
    c: Instance
    fork: Instance


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    folder = tmp_path_factory.mktemp("network")
    made: list[Instance] = []
    upgrades = []
    try:
        a = Instance("a", folder / "a")
        made.append(a)
        made.append(b := Instance("b", folder / "b"))
        made.append(c := Instance("c", folder / "c"))
        made.append(fork := Instance("fork", folder / "fork", origin=a.origin,
                                     signing_key=a.secrets["LEDGER_SIGNING_KEY"]))
        upgrades += [(instance, start_upgrade(instance)) for instance in made]
        for instance, process in upgrades:  # A and B first: their servers start while C and F are upgraded
            finish_upgrade(instance, process)
            if instance in (a, b):
                instance.start()
        for instance in (a, b):
            instance.wait_until_ready()
        yield Network(a, b, c, fork)
    finally:
        for _instance, process in upgrades:  # one failed: the others are not left running
            if process.poll() is None:
                process.kill()
                process.communicate()
        for instance in made:
            instance.drop()
