"""Size labels: whether a model takes one, and what request keys it becomes.

A size label is what the user wrote (``1024x1024``, ``auto``, or ``16:9`` for Gemini); the
label stays on the work item for outputs, while the request carries what the model expects.
"""

from __future__ import annotations

import math
import re
from typing import Any

from runner.catalog.spec import ModelSpec, SizeParam

_WXH = re.compile(r"^([1-9]\d{0,4})x([1-9]\d{0,4})$")
_RATIO = re.compile(r"^([1-9]\d{0,2}):([1-9]\d{0,2})$")

# gpt-image-2's flexible WxH contract (facts 1.3 and the gateway docs 001).
GPT2_STEP = 16
GPT2_MAX_SIDE = 3840
GPT2_MAX_RATIO = 3.0
GPT2_MIN_PIXELS = 655_360
GPT2_MAX_PIXELS = 8_294_400

# A WxH label maps to the nearest aspect ratio only when it is this close (relative).
RATIO_TOLERANCE = 0.03
# Gemini Pro's resolution: the smallest one whose nominal side covers the label's longest side.
RESOLUTIONS = (("1k", 1024), ("2k", 2048), ("4k", 4096))


def parse_wxh(label: str) -> tuple[int, int] | None:
    """(width, height) of a ``WxH`` label, or None."""
    match = _WXH.match(label)
    return (int(match.group(1)), int(match.group(2))) if match else None


def size_problem(spec: ModelSpec, label: str) -> str | None:
    """Why ``spec`` cannot take the size ``label`` (a full sentence), or None when it can."""
    if spec.sizes is not None:
        if label in spec.sizes:
            return None
        return f"{spec.name} takes sizes {spec.sizes_phrase()}; got {label}"
    if spec.size_rule == "gpt-image-2":
        return _gpt_image_2_problem(spec.name, label)
    if spec.size_rule == "aspect-ratio":
        return _aspect_problem(spec, label)
    if parse_wxh(label) is None:
        return f"{spec.name} takes sizes as WxH (e.g. 1024x1024); got {label}"
    return None


def _gpt_image_2_problem(model: str, label: str) -> str | None:
    if label == "auto":
        return None
    size = parse_wxh(label)
    if size is None:
        return f"{model} takes auto or WxH sizes (e.g. 1536x1024); got {label}"
    why = gpt_image_2_rule(*size)
    return None if why is None else f"{model} cannot take {label}: {why}"


def gpt_image_2_rule(width: int, height: int) -> str | None:
    """Which of gpt-image-2's size constraints (width, height) breaks, or None."""
    long, short = max(width, height), min(width, height)
    pixels = width * height
    if width % GPT2_STEP or height % GPT2_STEP:
        return f"both sides must be multiples of {GPT2_STEP}"
    if long > GPT2_MAX_SIDE:
        return f"the longest side must be at most {GPT2_MAX_SIDE}"
    if long / short > GPT2_MAX_RATIO:
        return "the long side may be at most 3 times the short side (3:1)"
    if not GPT2_MIN_PIXELS <= pixels <= GPT2_MAX_PIXELS:
        return (
            f"{pixels:,} pixels is outside {GPT2_MIN_PIXELS:,} to {GPT2_MAX_PIXELS:,} "
            "(width x height)"
        )
    return None


def _aspect_problem(spec: ModelSpec, label: str) -> str | None:
    if aspect_ratio_for(spec, label) is not None:
        return None
    return (
        f"{spec.name} takes sizes as WxH or W:H near one of its aspect ratios "
        f"({', '.join(_ratios(spec))}); got {label}"
    )


def _ratios(spec: ModelSpec) -> tuple[str, ...]:
    param = spec.params.get("aspect_ratio")
    return tuple(str(v) for v in (param.values or ())) if param else ()


def aspect_ratio_for(spec: ModelSpec, label: str) -> str | None:
    """The model's aspect ratio nearest to ``label`` (within RATIO_TOLERANCE), or None."""
    ratios = _ratios(spec)
    if label in ratios:
        return label
    wanted = _label_ratio(label)
    if wanted is None:
        return None
    best = min(ratios, key=lambda r: abs(math.log(_ratio_value(r) / wanted)), default=None)
    if best is None or abs(_ratio_value(best) / wanted - 1) > RATIO_TOLERANCE:
        return None
    return best


def _label_ratio(label: str) -> float | None:
    size = parse_wxh(label)
    if size is not None:
        return size[0] / size[1]
    match = _RATIO.match(label)
    return int(match.group(1)) / int(match.group(2)) if match else None


def _ratio_value(ratio: str) -> float:
    width, height = ratio.split(":")
    return int(width) / int(height)


def resolution_for(label: str) -> str | None:
    """Gemini Pro's resolution for a WxH label; None for a bare ratio (the model's default)."""
    size = parse_wxh(label)
    if size is None:
        return None
    long = max(size)
    for name, side in RESOLUTIONS:
        if long <= side:
            return name
    return RESOLUTIONS[-1][0]


def size_request_params(spec: ModelSpec | None, label: str) -> dict[str, Any]:
    """The request keys a size label becomes for a model (``{"size": label}`` by default).

    Assumes ``size_problem`` found nothing wrong with the label.
    """
    if spec is None or spec.size_param is SizeParam.SIZE:
        return {"size": label}
    out: dict[str, Any] = {"aspect_ratio": aspect_ratio_for(spec, label)}
    resolution = resolution_for(label) if spec.resolution else None
    if resolution is not None:
        out["resolution"] = resolution
    return out
