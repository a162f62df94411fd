"""Real, decodable images for the simulator's answers, cheap enough to never dominate a run.

Each image is a solid colour picked from a small palette by (seed, prompt, index), so encoded
bytes repeat and can be cached by (format, width, height, colour).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io

from PIL import Image

PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
    (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230),
    (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
    (170, 110, 40), (255, 250, 200), (128, 0, 0), (0, 0, 128),
)  # fmt: skip
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def colour_index(seed: int, prompt: str, index: int, model: str = "") -> int:
    """Which palette colour image ``index`` of ``model``'s answer to ``prompt`` gets; the model
    counts so that a gallery comparing models shows them apart."""
    key = f"{seed}|{prompt}|{index}|{model}" if model else f"{seed}|{prompt}|{index}"
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % len(PALETTE)


@functools.lru_cache(maxsize=256)
def encode(fmt: str, width: int, height: int, colour: int) -> bytes:
    """The encoded image; cached because the palette makes the same bytes recur."""
    buffer = io.BytesIO()
    with Image.new("RGB", (width, height), PALETTE[colour]) as image:
        image.save(buffer, format=_PIL_FORMATS[fmt])
    return buffer.getvalue()


@functools.lru_cache(maxsize=256)
def encode_b64(fmt: str, width: int, height: int, colour: int) -> str:
    return base64.b64encode(encode(fmt, width, height, colour)).decode("ascii")
