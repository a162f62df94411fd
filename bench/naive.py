"""The script most people write in an afternoon: the baseline B1 compares the runner with.

httpx.AsyncClient with its defaults, an asyncio.Semaphore, one task per prompt; each answer's
b64 image is decoded and written to a file. No retries, no state DB, no fsync: it is fast only
as long as nothing goes wrong. It is kept deliberately plain (no tuning a hurried author would
not do, such as widening httpx's keep-alive pool) because that is the script users compare with.

Run: ``python -m bench.naive --base-url URL --prompts FILE --out DIR [--concurrency 64]``.
Prints one JSON line: images written and seconds from first request to last file.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import time
from pathlib import Path

import httpx


async def generate_all(
    base_url: str, api_key: str, prompts: list[str], out: Path, concurrency: int
) -> int:
    """POSTs one generation per prompt, ``concurrency`` at a time; returns images written."""
    semaphore = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {api_key}"}
    url = f"{base_url}/images/generations"
    async with httpx.AsyncClient(headers=headers, timeout=180) as client:

        async def one(index: int, prompt: str) -> None:
            async with semaphore:
                body = {
                    "model": "dall-e-2",
                    "prompt": prompt,
                    "size": "256x256",
                    "response_format": "b64_json",
                }
                response = await client.post(url, json=body)
                response.raise_for_status()
                image = base64.b64decode(response.json()["data"][0]["b64_json"])
                (out / f"{index:06d}.png").write_bytes(image)

        async with asyncio.TaskGroup() as group:
            for index, prompt in enumerate(prompts):
                group.create_task(one(index, prompt))
    return len(prompts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--prompts", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY")
    args = parser.parse_args(argv)
    prompts = args.prompts.read_text(encoding="utf-8").splitlines()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    written = asyncio.run(
        generate_all(
            args.base_url, os.environ[args.api_key_env], prompts, args.out, args.concurrency
        )
    )
    print(json.dumps({"images": written, "elapsed_s": time.perf_counter() - started}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
