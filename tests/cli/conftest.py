from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import World, make_world


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> World:
    return make_world(monkeypatch, isolated_env)


@pytest.fixture
def us(world: World) -> World:
    world.connect()
    world.source("us")
    return world
