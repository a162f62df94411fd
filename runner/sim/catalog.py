"""The simulated provider's own model table and request validation.

The simulator plays the provider, so it deliberately does not import the runner's catalog: a
disagreement between the two shows up as a real 400 in tests instead of being hidden.
Rules follow OpenAI's spec for the OpenAI models and LemonData's pages for gateway models.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.sim import sizes
from runner.sim.errors import (
    CONTENT_POLICY,
    MODERATION_BLOCKED,
    ApiFailure,
    invalid,
    model_not_found,
    unknown_parameter,
)


class Family(enum.Enum):
    """Models that share validation rules and answer shapes."""

    DALLE2 = "dall-e-2"
    DALLE3 = "dall-e-3"
    GPT_IMAGE = "gpt-image"
    GPT_IMAGE_2 = "gpt-image-2"
    GEMINI_FLASH = "gemini-flash"
    GEMINI_PRO = "gemini-pro"
    GATEWAY = "gateway"


class Mode(enum.Enum):
    SYNC = "sync"
    ASYNC = "async"
    ASYNC_ON_REQUEST = "async_on_request"  # a task only when the body says "async": true


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: Family
    owned_by: str
    mode: Mode
    max_n: int
    max_prompt: int


def _spec(name: str, family: Family, owner: str, mode: Mode, max_n: int, prompt: int) -> ModelSpec:
    return ModelSpec(name, family, owner, mode, max_n, prompt)


MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        _spec("dall-e-2", Family.DALLE2, "openai", Mode.SYNC, 10, 1000),
        _spec("dall-e-3", Family.DALLE3, "openai", Mode.SYNC, 1, 4000),
        _spec("gpt-image-1", Family.GPT_IMAGE, "openai", Mode.SYNC, 10, 32000),
        _spec("gpt-image-1-mini", Family.GPT_IMAGE, "openai", Mode.SYNC, 10, 32000),
        _spec("gpt-image-1.5", Family.GPT_IMAGE, "openai", Mode.SYNC, 10, 32000),
        _spec("gpt-image-2", Family.GPT_IMAGE_2, "openai", Mode.ASYNC_ON_REQUEST, 10, 32000),
        _spec("gemini-2.5-flash-image", Family.GEMINI_FLASH, "google", Mode.SYNC, 4, 32000),
        _spec("gemini-3-pro-image-preview", Family.GEMINI_PRO, "google", Mode.SYNC, 4, 32000),
        _spec("flux-pro", Family.GATEWAY, "black-forest-labs", Mode.ASYNC, 4, 4000),
        _spec("flux-1.1-pro", Family.GATEWAY, "black-forest-labs", Mode.ASYNC, 4, 4000),
        _spec("flux-schnell", Family.GATEWAY, "black-forest-labs", Mode.SYNC, 4, 4000),
        _spec("midjourney", Family.GATEWAY, "midjourney", Mode.ASYNC, 4, 4000),
        _spec("ideogram-v3", Family.GATEWAY, "ideogram", Mode.ASYNC, 4, 4000),
        _spec("stable-diffusion-3", Family.GATEWAY, "stability-ai", Mode.SYNC, 4, 4000),
    )
}

_OPENAI_KEYS = frozenset(
    {
        "model", "prompt", "n", "quality", "response_format", "output_format",
        "output_compression", "stream", "partial_images", "size", "moderation", "background",
        "style", "user", "safety_identifier",
    }
)  # fmt: skip
# OpenAI rejects keys outside its schema; gateways pass unknown keys through.
_STRICT_KEYS: dict[Family, frozenset[str]] = {
    Family.DALLE2: _OPENAI_KEYS,
    Family.DALLE3: _OPENAI_KEYS,
    Family.GPT_IMAGE: _OPENAI_KEYS - {"response_format", "style"},
    Family.GPT_IMAGE_2: (_OPENAI_KEYS - {"response_format", "style"}) | {"async", "compression"},
}
_REJECTED: dict[Family, tuple[str, ...]] = {Family.GEMINI_FLASH: ("resolution",)}
_QUALITIES: dict[Family, tuple[str, ...]] = {
    Family.DALLE2: ("standard", "auto"),
    Family.DALLE3: ("standard", "hd"),
    Family.GPT_IMAGE: ("low", "medium", "high", "auto"),
    Family.GPT_IMAGE_2: ("low", "medium", "high", "auto"),
}
_GPT = (Family.GPT_IMAGE, Family.GPT_IMAGE_2)
_ASYNC_CAPABLE = ("gpt-image-2", "flux-pro", "flux-1.1-pro")
_FORBIDDEN = re.compile(r"\bforbidden\b", re.IGNORECASE)


@dataclass(frozen=True)
class GenerationSpec:
    """A validated generation request: what to make and how to answer."""

    model: ModelSpec
    prompt: str
    n: int
    width: int
    height: int
    fmt: str  # png | jpeg | webp
    response: str  # url | b64_json
    is_async: bool
    usage: Mapping[str, Any] | None = None
    revised_prompt: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)  # more top-level answer fields


def validate(body: Any, force_async: frozenset[str] = frozenset()) -> GenerationSpec:
    """Check a POST body like the provider would; raise ApiFailure with the answer otherwise."""
    if not isinstance(body, dict):
        raise invalid(None, "The request body must be a JSON object.", "invalid_type")
    model = _model(body)
    prompt = _prompt(body, model)
    _check_keys(body, model.family)
    n = _n(body, model)
    size = _size(body, model.family)
    quality = _quality(body, model.family)
    revised = _revised_prompt(body, model.family, prompt)
    fmt = _output_format(body, model.family)
    is_async = _is_async(body, model, force_async)
    response = _response(body, model.family, is_async)
    _content_policy(prompt, model.family)
    usage, extras = _gpt_fields(body, model.family, prompt, quality, fmt, size, n)
    return GenerationSpec(
        model, prompt, n, size[0], size[1], fmt, response, is_async, usage, revised, extras
    )


def _model(body: Mapping[str, Any]) -> ModelSpec:
    name = body.get("model") or "dall-e-2"  # OpenAI's documented default
    if not isinstance(name, str):
        raise invalid("model", "Invalid type for 'model': expected a string.", "invalid_type")
    spec = MODELS.get(name)
    if spec is None:
        raise model_not_found(name)
    return spec


def _prompt(body: Mapping[str, Any], model: ModelSpec) -> str:
    prompt = body.get("prompt")
    if prompt is None:
        message = "Missing required parameter: 'prompt'."
        raise invalid("prompt", message, "missing_required_parameter")
    if not isinstance(prompt, str):
        raise invalid("prompt", "Invalid type for 'prompt': expected a string.", "invalid_type")
    if not prompt.strip():
        raise invalid("prompt", "Invalid 'prompt': empty string.", "empty_string")
    if len(prompt) > model.max_prompt:
        message = (
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"{model.max_prompt}, but got a string with length {len(prompt)} instead."
        )
        raise invalid("prompt", message, "string_above_max_length")
    return prompt


def _check_keys(body: Mapping[str, Any], family: Family) -> None:
    allowed = _STRICT_KEYS.get(family)
    for key in body:
        if (allowed is not None and key not in allowed) or key in _REJECTED.get(family, ()):
            raise unknown_parameter(key)
    if body.get("stream"):
        raise invalid("stream", "Streaming is not supported by this provider.", "unsupported_value")


def _n(body: Mapping[str, Any], model: ModelSpec) -> int:
    n = body.get("n", 1)
    if n is None:
        return 1
    if not isinstance(n, int) or isinstance(n, bool):
        raise invalid("n", "Invalid type for 'n': expected an integer.", "invalid_type")
    if model.family is Family.DALLE3 and n != 1:
        raise invalid("n", "You must provide n=1 for this model.")
    if n < 1:
        message = f"Invalid 'n': integer below minimum value. Expected a value >= 1, but got {n}."
        raise invalid("n", message, "integer_below_min_value")
    if n > model.max_n:
        message = (
            f"Invalid 'n': integer above maximum value. Expected a value <= {model.max_n}, "
            f"but got {n} instead."
        )
        raise invalid("n", message, "integer_above_max_value")
    return n


def _choice(body: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(key)
    if value is None:
        return default
    if value not in allowed:
        supported = ", ".join(f"'{a}'" for a in allowed)
        message = f"Invalid value: '{value}'. Supported values are: {supported}."
        raise invalid(key, message)
    return str(value)


def _quality(body: Mapping[str, Any], family: Family) -> str | None:
    allowed = _QUALITIES.get(family)
    if allowed is None:
        return None  # gateway models take no quality; they ignore it
    quality = _choice(body, "quality", allowed, allowed[-1] if family in _GPT else allowed[0])
    return "medium" if quality == "auto" and family in _GPT else quality


def _output_format(body: Mapping[str, Any], family: Family) -> str:
    if family not in _GPT:
        return "png"
    fmt = _choice(body, "output_format", ("png", "jpeg", "webp"), "png")
    background = _choice(body, "background", ("transparent", "opaque", "auto"), "auto")
    if background == "transparent" and fmt == "jpeg":
        message = "Transparent background requires output_format 'png' or 'webp'."
        raise invalid("background", message)
    for key in ("output_compression", "compression"):
        value = body.get(key)
        bad = not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100
        if value is not None and bad:
            raise invalid(key, f"Invalid '{key}': expected an integer between 0 and 100.")
    return fmt


def _is_async(body: Mapping[str, Any], model: ModelSpec, force_async: frozenset[str]) -> bool:
    flag = body.get("async", False)
    if not isinstance(flag, bool):
        raise invalid("async", "Invalid type for 'async': expected a boolean.", "invalid_type")
    if model.mode is Mode.ASYNC or model.name in force_async:
        return True
    return flag and model.name in _ASYNC_CAPABLE


def _content_policy(prompt: str, family: Family) -> None:
    if _FORBIDDEN.search(prompt):
        raise ApiFailure(MODERATION_BLOCKED if family in _GPT else CONTENT_POLICY)


def _response(body: Mapping[str, Any], family: Family, is_async: bool) -> str:
    if is_async:
        return "url"  # gateway tasks only ever hand back URLs
    if family in _GPT:
        return "b64_json"
    default = "b64_json" if family in (Family.GEMINI_FLASH, Family.GEMINI_PRO) else "url"
    return _choice(body, "response_format", ("url", "b64_json"), default)


def _size(body: Mapping[str, Any], family: Family) -> sizes.Size:
    if family is Family.DALLE2:
        return sizes.fixed(body, sizes.DALLE2_SIZES, "1024x1024")
    if family is Family.DALLE3:
        return sizes.fixed(body, sizes.DALLE3_SIZES, "1024x1024")
    if family is Family.GPT_IMAGE:
        return sizes.fixed(body, sizes.GPT_SIZES, "auto")
    if family is Family.GPT_IMAGE_2:
        return sizes.gpt_image_2(body)
    if family in (Family.GEMINI_FLASH, Family.GEMINI_PRO):
        return sizes.gemini(body, takes_resolution=family is Family.GEMINI_PRO)
    return sizes.gateway(body)


def _revised_prompt(body: Mapping[str, Any], family: Family, prompt: str) -> str | None:
    """dall-e-3 rewrites every prompt; the rewrite is deterministic so tests can expect it."""
    if family is not Family.DALLE3:
        return None
    style = _choice(body, "style", ("vivid", "natural"), "vivid")
    return f"A detailed, {style} rendering of: {prompt}"


def _gpt_fields(
    body: Mapping[str, Any],
    family: Family,
    prompt: str,
    quality: str | None,
    fmt: str,
    size: sizes.Size,
    n: int,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """GPT image answers carry usage and the resolved size/quality/format/background."""
    if family not in _GPT or quality is None:
        return None, {}
    if family is Family.GPT_IMAGE:
        per_image = sizes.gpt_image_tokens(quality, size)
    else:
        per_image = sizes.gpt_image_2_tokens(quality, size)
    extras = {
        "size": f"{size[0]}x{size[1]}",
        "quality": quality,
        "output_format": fmt,
        "background": "transparent" if body.get("background") == "transparent" else "opaque",
    }
    return sizes.usage(prompt, per_image * n), extras
