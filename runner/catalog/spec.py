"""What the catalog knows about one model, as frozen values built from models.yaml.

The catalog is data so that a price change or a new model is a reviewed YAML edit with its
source next to it, not a code change; this module only gives that data types and checks it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class CatalogError(ValueError):
    """models.yaml is malformed: a bug in the shipped data, never a user error."""


class Mode(enum.StrEnum):
    """How a provider usually answers a model's generation request."""

    SYNC = "sync"
    ASYNC = "async"


class SizeParam(enum.StrEnum):
    """Which request keys carry the size a user asked for."""

    SIZE = "size"  # sent as `size`
    ASPECT_RATIO = "aspect_ratio"  # mapped to `aspect_ratio` (+ `resolution`); `size` not sent


PARAM_TYPES = ("string", "integer", "number", "boolean")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One request parameter a model accepts: a closed set of values, or a typed range."""

    name: str
    values: tuple[Any, ...] | None = None
    type: str | None = None
    min: float | None = None
    max: float | None = None
    default: Any = None

    def check(self, value: Any) -> str | None:
        """Why ``value`` is refused (a phrase after "takes"), or None when it is accepted."""
        if self.values is not None:
            return None if value in self.values else f"{self.name} {_one_of(self.values)}"
        if self.type is not None and not _has_type(value, self.type):
            return f"{self.name} as {_type_phrase(self.type)}"
        return self._range_problem(value)

    def _range_problem(self, value: Any) -> str | None:
        too_low = self.min is not None and value < self.min
        too_high = self.max is not None and value > self.max
        if not (too_low or too_high):
            return None
        return f"{self.name} from {_num(self.min)} to {_num(self.max)}"


def _one_of(values: tuple[Any, ...]) -> str:
    shown = [str(v) for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def _has_type(value: Any, type_name: str) -> bool:
    if type_name == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False  # YAML `true` is not the integer 1 to a provider
    if type_name == "integer":
        return isinstance(value, int)
    if type_name == "number":
        return isinstance(value, int | float)
    return isinstance(value, str)


def _type_phrase(type_name: str) -> str:
    return {"string": "a string", "integer": "an integer", "number": "a number"}.get(
        type_name, "true or false"
    )


@dataclass(frozen=True, slots=True)
class TokenPrices:
    """Per-million-token prices, and how to guess output tokens before a request."""

    input_per_mtok: float | None = None
    image_input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    text_output_per_mtok: float | None = None
    # {QUALITY: {SIZE: tokens per image}}; "*" as a size matches any other size
    output_tokens: Mapping[str, Mapping[str, int]] | None = None
    output_formula: str | None = None  # "gpt-image-2": the community formula of facts 2.3
    # {QUALITY: {SIZE: usd per image}}: when the token table is known to undercount
    estimate_per_image: Mapping[str, Mapping[str, float]] | None = None
    auto_quality: str = "medium"
    auto_size: str | None = None


@dataclass(frozen=True, slots=True)
class PriceSpec:
    """A model's price: per image (by quality and size) or per token; ``source`` cites it."""

    source: str
    # {QUALITY: {SIZE: usd}}; "*" matches any quality / any other size
    per_image: Mapping[str, Mapping[str, float]] | None = None
    per_request: bool = False  # the per-image price is charged once per request, whatever n is
    tokens: TokenPrices | None = None
    unverified: bool = False


@dataclass(frozen=True, slots=True)
class Retired:
    """The model was switched off at ``where`` (a host) on ``date``."""

    where: str
    date: str
    source: str


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Everything validation, expansion and pricing need to know about one model name."""

    name: str  # the name looked up (an alias stays an alias: it is what is sent)
    canonical: str
    family: str
    mode: Mode
    sizes: tuple[str, ...] | None  # a closed list, or None when ``size_rule`` decides
    size_rule: str | None  # "gpt-image-2" | "aspect-ratio" | "any"
    default_size: str | None
    size_param: SizeParam
    resolution: bool  # the size label also picks `resolution` (Gemini Pro)
    n_min: int
    n_max: int
    prompt_max: int | None
    params: Mapping[str, ParamSpec]
    rejects: Mapping[str, str]
    retired: Retired | None
    latency_s: float
    price: PriceSpec | None

    def n_phrase(self) -> str:
        """How a message says the n this model takes, e.g. "n=1" or "n from 1 to 10"."""
        if self.n_min == self.n_max:
            return f"n={self.n_min}"
        return f"n from {self.n_min} to {self.n_max}"

    def sizes_phrase(self) -> str:
        """The sizes this model takes, for messages."""
        if self.sizes is not None:
            return ", ".join(self.sizes)
        return {
            "gpt-image-2": "auto or WxH (multiples of 16, longest side <= 3840, ratio <= 3:1, "
            "655,360 to 8,294,400 pixels)",
            "aspect-ratio": "WxH or W:H near one of its aspect ratios",
        }.get(self.size_rule or "", "WxH")
