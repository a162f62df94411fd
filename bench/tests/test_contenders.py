"""The naive script and the ceiling client do the same POSTs as B1's runner, for real."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from bench.ceiling import post_all
from bench.naive import generate_all
from runner.sim import SimConfig, SimServer

PROMPTS = [f"contender prompt {i}" for i in range(12)]


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """A simulator in this process's background thread, on an ephemeral port."""
    with SimServer(SimConfig(seed=3)) as server:
        yield server


def test_naive_writes_one_decodable_image_per_prompt(sim: SimServer, tmp_path: Path) -> None:
    """Every prompt becomes one PNG file of 256x256, and the simulator saw each body once."""
    written = asyncio.run(generate_all(sim.base_url, "sk-test", PROMPTS, tmp_path, concurrency=4))
    files = sorted(tmp_path.iterdir())
    assert written == len(files) == len(PROMPTS)
    with Image.open(files[0]) as image:
        assert image.size == (256, 256)
    assert sim.stats().bodies_seen == len(PROMPTS)


@pytest.mark.asyncio
async def test_ceiling_sends_each_prompt_exactly_once(sim: SimServer) -> None:
    """Workers sharing one iterator send every prompt once: answers and bodies both match."""
    answered = await post_all(sim.base_url, "sk-test", PROMPTS, concurrency=5)
    stats = sim.stats()
    assert answered == stats.generations == stats.bodies_seen == len(PROMPTS)
    assert stats.by_status == {200: len(PROMPTS)}
