"""Test kit: a plain HTTP client bound to one running simulator, and image decoding."""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from runner.sim import SimServer

API_KEY = "sk-test"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
TERMINAL = ("completed", "failed")


@dataclass(frozen=True)
class Decoded:
    format: str
    width: int
    height: int


def decode(data: bytes) -> Decoded:
    """Decode with Pillow; raises if the bytes are not a complete image."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return Decoded(str(image.format).lower(), image.width, image.height)


@dataclass(frozen=True)
class Api:
    """Real HTTP (httpx, no proxies from the environment) against one SimServer."""

    http: httpx.Client
    sim: SimServer

    def post(self, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        h = AUTH if headers is None else headers
        return self.http.post(f"{self.sim.base_url}/images/generations", json=body, headers=h)

    def get(self, path_or_url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        url = path_or_url if "://" in path_or_url else self.sim.origin + path_or_url
        return self.http.get(url, headers=AUTH if headers is None else headers)

    def images(self, answer: dict[str, Any]) -> list[Decoded]:
        """Decode every image of a sync or completed-task answer, downloading URLs bare."""
        out = []
        for item in answer["data"]:
            if item.get("b64_json"):
                out.append(decode(base64.b64decode(item["b64_json"])))
            else:
                response = self.http.get(item["url"])
                assert response.status_code == 200, response.text
                out.append(decode(response.content))
        return out

    def poll_until_terminal(self, poll_url: str, limit_s: float = 20.0) -> list[dict[str, Any]]:
        """Every poll answer up to and including the terminal one."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            response = self.get(poll_url)
            if response.status_code == 200:
                seen.append(response.json())
                if seen[-1]["status"] in TERMINAL:
                    return seen
            time.sleep(0.02)
        raise AssertionError(f"task at {poll_url} never finished: {seen[-1:]}")


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error object, after checking the envelope carries all four OpenAI keys."""
    error = response.json()["error"]
    assert {"message", "type", "param", "code"} <= set(error)
    assert isinstance(error, dict)
    return error
