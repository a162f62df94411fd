"""Fixtures: simulators on ephemeral 127.0.0.1 ports and an HTTP client for them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import httpx
import pytest

from runner.sim import SimConfig, SimServer

from .kit import Api


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """One client for the session: building one costs ~16 ms (its TLS context)."""
    with httpx.Client(trust_env=False, timeout=20.0) as client:
        yield client


@pytest.fixture
def make_api(http: httpx.Client) -> Iterator[Callable[..., Api]]:
    """Start a simulator with the given options (as SimConfig keywords) per call."""
    with contextlib.ExitStack() as stack:

        def start(**options: object) -> Api:
            config = SimConfig(**{"task_seconds": 0.2, **options})  # type: ignore[arg-type]
            return Api(http, stack.enter_context(SimServer(config)))

        yield start


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
