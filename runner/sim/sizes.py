"""Image geometry per model family, and the token usage GPT image models report.

Size rules: OpenAI's spec for dall-e and gpt-image, LemonData's flexible ``WxH`` contract for
gpt-image-2, Gemini's ``aspect_ratio``/``resolution`` selectors. Token counts: facts.md 2.3.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from runner.sim.errors import invalid

Size = tuple[int, int]

DALLE2_SIZES = ("256x256", "512x512", "1024x1024")
DALLE3_SIZES = ("1024x1024", "1792x1024", "1024x1792")
GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
# Gemini's published 1k output sizes per aspect ratio; 2k and 4k scale both sides.
GEMINI_RATIOS: dict[str, Size] = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "4:5": (896, 1152),
    "5:4": (1152, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
}
GEMINI_RESOLUTIONS = {"1k": 1, "2k": 2, "4k": 4}
GATEWAY_SIDE = (256, 2048)
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")

# Output image tokens per image for the gpt-image-1 family, by quality and size.
_GPT_TOKENS: dict[str, dict[Size, int]] = {
    "low": {(1024, 1024): 272, (1024, 1536): 408, (1536, 1024): 400},
    "medium": {(1024, 1024): 1056, (1024, 1536): 1584, (1536, 1024): 1568},
    "high": {(1024, 1024): 4160, (1024, 1536): 6240, (1536, 1024): 6208},
}
_GPT2_QUALITY = {"low": 16, "medium": 48, "high": 96}


def parse(value: Any) -> Size | None:
    match = _SIZE.match(value) if isinstance(value, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _bad_size(value: Any, allowed: tuple[str, ...] | None = None, why: str = "") -> Exception:
    if allowed is not None:
        supported = ", ".join(f"'{a}'" for a in allowed)
        return invalid("size", f"Invalid value: '{value}'. Supported values are: {supported}.")
    return invalid("size", f"Invalid size '{value}'. {why}".strip())


def fixed(body: Mapping[str, Any], allowed: tuple[str, ...], default: str) -> Size:
    """A size from a closed list; ``auto`` means the first (square) size."""
    value = body.get("size") or default
    if value not in allowed:
        raise _bad_size(value, allowed)
    if value == "auto":
        value = allowed[0]
    size = parse(value)
    assert size is not None  # every listed size except auto parses
    return size


def gpt_image_2(body: Mapping[str, Any]) -> Size:
    """The three standard sizes, auto, or any WxH within LemonData's flexible contract."""
    value = body.get("size") or "auto"
    if value in GPT_SIZES:
        return fixed(body, GPT_SIZES, "auto")
    size = parse(value)
    if size is None:
        raise _bad_size(value, why="Expected 'auto' or WIDTHxHEIGHT.")
    problem = _gpt_image_2_problem(*size)
    if problem:
        raise _bad_size(value, why=problem)
    return size


def _gpt_image_2_problem(width: int, height: int) -> str:
    long, short = max(width, height), min(width, height)
    if width % 16 or height % 16:
        return "Width and height must both be multiples of 16."
    if long > 3840:
        return "The longest side must be at most 3840 pixels."
    if short == 0 or long / short > 3:
        return "The aspect ratio must be at most 3:1."
    if not 655_360 <= width * height <= 8_294_400:
        return "Total pixels must be between 655,360 and 8,294,400."
    return ""


def gemini(body: Mapping[str, Any], takes_resolution: bool) -> Size:
    """From aspect_ratio (``size`` is an alias mapped to the nearest ratio) and resolution."""
    ratio = body.get("aspect_ratio")
    if ratio is None and body.get("size") is not None:
        ratio = _nearest_ratio(body["size"])
    ratio = ratio or "1:1"
    if ratio not in GEMINI_RATIOS:
        supported = ", ".join(f"'{r}'" for r in GEMINI_RATIOS)
        message = f"Invalid value: '{ratio}'. Supported values are: {supported}."
        raise invalid("aspect_ratio", message)
    scale = _resolution(body) if takes_resolution else 1
    width, height = GEMINI_RATIOS[ratio]
    return width * scale, height * scale


def _resolution(body: Mapping[str, Any]) -> int:
    value = body.get("resolution") or "1k"
    key = value.lower() if isinstance(value, str) else value
    if key not in GEMINI_RESOLUTIONS:
        raise invalid("resolution", f"Invalid value: '{value}'. Supported values are: 1k, 2k, 4k.")
    return GEMINI_RESOLUTIONS[key]


def _nearest_ratio(value: Any) -> str:
    size = parse(value)
    if size is None or 0 in size:
        raise _bad_size(value, why="Expected WIDTHxHEIGHT.")
    target = math.log(size[0] / size[1])
    return min(GEMINI_RATIOS, key=lambda r: abs(math.log(_ratio(GEMINI_RATIOS[r])) - target))


def _ratio(size: Size) -> float:
    return size[0] / size[1]


def gateway(body: Mapping[str, Any]) -> Size:
    """Flux, Midjourney, Ideogram, SD3: any WxH within the gateway's bounds, or aspect_ratio."""
    if body.get("size") is None and body.get("aspect_ratio") is not None:
        return gemini(body, takes_resolution=False)
    value = body.get("size") or "1024x1024"
    size = parse(value)
    low, high = GATEWAY_SIDE
    if size is None or not all(low <= side <= high for side in size):
        raise _bad_size(value, why=f"Width and height must be between {low} and {high}.")
    return size


def gpt_image_tokens(quality: str, size: Size) -> int:
    """Output tokens per image for gpt-image-1/-1-mini/-1.5 (the published table)."""
    return _GPT_TOKENS[quality][size]


def gpt_image_2_tokens(quality: str, size: Size) -> int:
    """Output tokens per image for gpt-image-2 (the community formula in facts.md 2.3)."""
    q = _GPT2_QUALITY[quality]
    long, short = max(size), min(size)
    s = (2 * q * short + long) // (2 * long)
    return math.ceil(q * s * (2_000_000 + size[0] * size[1]) / 4_000_000)


def usage(prompt: str, output_tokens: int) -> dict[str, Any]:
    """An ImageGenUsage object; text input tokens approximated as len(prompt) // 4."""
    text = max(1, len(prompt) // 4)
    return {
        "input_tokens": text,
        "input_tokens_details": {"text_tokens": text, "image_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
        "total_tokens": text + output_tokens,
    }
