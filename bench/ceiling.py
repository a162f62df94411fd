"""What the machine can do: the same POSTs as B1 over raw aiohttp, with nothing else.

No JSON parsing, no decoding, no files, no state: ``concurrency`` workers share one iterator of
prompts over one pooled aiohttp session and read each answer's bytes. The runner cannot beat
this; B1 reports the fraction of it the runner reaches with durability on.

Run: ``python -m bench.ceiling --base-url URL --prompts FILE [--concurrency 64]``.
Prints one JSON line: requests answered 200 and seconds from first request to last answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp


async def post_all(base_url: str, api_key: str, prompts: list[str], concurrency: int) -> int:
    """Sends one POST per prompt with ``concurrency`` in flight; returns how many answered."""
    url = f"{base_url}/images/generations"
    headers = {"Authorization": f"Bearer {api_key}"}
    todo = iter(prompts)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with (
        aiohttp.ClientSession(connector=connector, headers=headers) as session,
        asyncio.TaskGroup() as group,
    ):
        workers = [group.create_task(_worker(session, url, todo)) for _ in range(concurrency)]
    return sum(w.result() for w in workers)


async def _worker(session: aiohttp.ClientSession, url: str, todo: Iterator[str]) -> int:
    answered = 0
    for prompt in todo:  # workers share the iterator: together they send each prompt once
        body = {
            "model": "dall-e-2",
            "prompt": prompt,
            "size": "256x256",
            "response_format": "b64_json",
        }
        async with session.post(url, json=body) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"unexpected HTTP {response.status}")
            answered += 1
    return answered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--prompts", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY")
    args = parser.parse_args(argv)
    prompts = args.prompts.read_text(encoding="utf-8").splitlines()
    started = time.perf_counter()
    answered = asyncio.run(
        post_all(args.base_url, os.environ[args.api_key_env], prompts, args.concurrency)
    )
    print(json.dumps({"answered": answered, "elapsed_s": time.perf_counter() - started}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
