"""Fixtures for the sandbox tests: a fresh sandbox with both shipped companies, and a client."""

from __future__ import annotations

import pytest

from invoicesync.targets.quickbooks.sandbox import Sandbox
from tests.sandbox.support import Api


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox(["us", "uk"], auto_approve=True, rotation_grace=0)


@pytest.fixture
def api(sb: Sandbox) -> Api:
    return Api(sb)
