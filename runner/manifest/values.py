"""The manifest as plain frozen values, read without pydantic when it is plainly well-formed.

schema.py's pydantic models define what a manifest may hold and word every problem, but
importing pydantic and building those models costs a `runner run` ~100 ms before its first
request. A manifest whose every value already has its exact type is read here directly; for
anything else (a problem, or a value pydantic would coerce, like `concurrency: "8"`) ``read``
returns None and the loader asks pydantic, whose verdict then comes back through ``read`` too.
So this reader must accept a subset of what the schema accepts, with the same result: the
classes and defaults below mirror schema.py field for field, and tests hold the two together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from runner.types import DownloadConfig, PollConfig, RateLimitConfig, RetryConfig

T = TypeVar("T")
Reader = Callable[[Any], T]
TOKEN_PRICES = ("input_per_mtok", "output_per_mtok", "image_input_per_mtok")
_NOT_DUMPED = {"dump": False}


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 180.0
    headers: Mapping[str, str] = field(default_factory=dict)
    sim: Mapping[str, Any] | None = None
    given: frozenset[str] = field(default=frozenset(), metadata=_NOT_DUMPED)  # keys written


@dataclass(frozen=True, slots=True)
class PromptText:
    text: str
    vars: Mapping[str, list[Any]] | None = None
    id: str | None = None
    meta: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PromptFile:
    file: str
    meta: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    sizes: tuple[str, ...] | None = None
    params: Mapping[str, Any] | None = None
    repeats: int | None = None


@dataclass(frozen=True, slots=True)
class PriceEntry:
    per_image: float | Mapping[str, float] | None = None
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    image_input_per_mtok: float | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    prompts: tuple[str | PromptText | PromptFile, ...]
    models: tuple[str | ModelEntry, ...]
    name: str | None = None
    output_dir: str | None = None
    provider: ProviderSpec | str | None = None  # a str is always "sim"
    concurrency: int = 8
    max_pending_tasks: int = 200
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    budget_usd: float | None = None
    retry: RetryConfig = field(default_factory=RetryConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    download: DownloadConfig = field(default_factory=DownloadConfig)
    sizes: tuple[str, ...] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    repeats: int = 1
    pricing: Mapping[str, PriceEntry] = field(default_factory=dict)


REQUIRED_LISTS = ("prompts", "models")


def dump(value: Any) -> Any:
    """A manifest (or part) as JSON-ready data: pydantic's ``model_dump(mode="json")`` of the
    same manifest, except that non-finite floats stay as they are."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: dump(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.metadata.get("dump", True)
        }
    if isinstance(value, Mapping):
        return {key: dump(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [dump(item) for item in value]
    return value


# -- validators shared with schema.py (their ValueError messages are pydantic's messages) --------


def scalar(value: Any) -> Any:
    if isinstance(value, str | int | float) and value is not None:
        return value
    raise ValueError("must be a string, number or true/false")


def listify(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


def per_image_price(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a price in USD or a mapping of size to price")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"must be a price >= 0, got {value}")
        return float(value)
    if isinstance(value, dict) and value:
        bad = [
            k
            for k, v in value.items()
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0
        ]
        if bad:
            raise ValueError(f"prices must be numbers >= 0 (see size {bad[0]})")
        return {str(k): float(v) for k, v in value.items()}
    raise ValueError("must be a price in USD or a mapping of size to price, e.g. {1024x1024: 0.04}")


def price_kinds(per_image: Any, given: set[str] | frozenset[str]) -> str | None:
    """What is wrong with a price entry's mix of keys (``given``: the keys written), or None."""
    tokens = set(TOKEN_PRICES) & given
    if per_image is not None and tokens:
        return "give either per_image or token prices (*_per_mtok), not both"
    if per_image is None and not tokens:
        return "give per_image or token prices (input_per_mtok, output_per_mtok, ...)"
    return None


# -- the reader --------------------------------------------------------------------------------


class _Unsure(Exception):
    """Not plainly valid: pydantic must judge the manifest (and word any problem)."""


def read(data: Any) -> Manifest | None:
    """The manifest if ``data`` (the YAML's plain values) is plainly valid, else None."""
    try:
        return _manifest(data)
    except (_Unsure, ValueError, OverflowError):
        return None


def _exact(kind: type) -> Reader[Any]:
    def check(value: Any) -> Any:
        if type(value) is not kind:
            raise _Unsure
        return value

    return check


def _optional(reader: Reader[T]) -> Reader[T | None]:
    return lambda value: None if value is None else reader(value)


def _number(*, above: float, inclusive: bool) -> Reader[float]:
    """A float field (an int is taken as its float, a bool never), bounded below."""

    def check(value: Any) -> float:
        if type(value) not in (int, float) or not (value >= above if inclusive else value > above):
            raise _Unsure  # NaN fails both comparisons, like pydantic's bounds
        return float(value)

    return check


def _pos_int(value: Any) -> int:
    if type(value) is not int or value < 1:
        raise _Unsure
    return value


def _text(value: Any) -> str:
    """A string that must not be empty."""
    if type(value) is not str or not value:
        raise _Unsure
    return value


def _dict(reader: Reader[T]) -> Reader[dict[str, T]]:
    def check(value: Any) -> dict[str, T]:
        if type(value) is not dict or not all(type(key) is str for key in value):
            raise _Unsure
        return {key: reader(item) for key, item in value.items()}

    return check


def _tuple(reader: Reader[T]) -> Reader[tuple[T, ...]]:
    def check(value: Any) -> tuple[T, ...]:
        if type(value) is not list:
            raise _Unsure
        return tuple(reader(item) for item in value)

    return check


def _object(cls: Callable[..., T], readers: Mapping[str, Reader[Any]]) -> Reader[T]:
    """A mapping with no unknown key, read field by field; missing fields take cls's defaults
    (a missing required one raises TypeError, caught below as unsure)."""

    def check(value: Any) -> T:
        if type(value) is not dict or not readers.keys() >= value.keys():
            raise _Unsure
        try:
            return cls(**{key: readers[key](item) for key, item in value.items()})
        except TypeError:
            raise _Unsure from None

    return check


_str = _exact(str)
_any = _dict(lambda value: value)
_pos_float = _number(above=0, inclusive=False)
_price = _number(above=0, inclusive=True)

_provider_fields = _object(
    ProviderSpec,
    {
        "base_url": _optional(_str),
        "api_key_env": _optional(_str),
        "timeout_s": _number(above=1, inclusive=True),
        "headers": _dict(_str),
        "sim": _optional(_any),
    },
)


def _provider(value: Any) -> ProviderSpec | str:
    if value == "sim" and type(value) is str:
        return value
    return dataclasses.replace(_provider_fields(value), given=frozenset(value))


def _prompt(value: Any) -> str | PromptText | PromptFile:
    if type(value) is str:
        return value
    if type(value) is dict and "file" in value:
        return _prompt_file(value)
    return _prompt_text(value)


def _vars(value: Any) -> list[Any]:
    return [scalar(item) for item in listify(value)]


_prompt_file = _object(PromptFile, {"file": _text, "meta": _optional(_any)})
_prompt_text = _object(
    PromptText,
    {
        "text": _text,
        "vars": _optional(_dict(_vars)),
        "id": _optional(_str),
        "meta": _optional(_any),
    },
)
_model_entry = _object(
    ModelEntry,
    {
        "name": _text,
        "sizes": _optional(_tuple(_str)),
        "params": _optional(_any),
        "repeats": _optional(_pos_int),
    },
)
_price_fields = _object(
    PriceEntry,
    {"per_image": _optional(per_image_price), **dict.fromkeys(TOKEN_PRICES, _optional(_price))},
)


def _model(value: Any) -> str | ModelEntry:
    return value if type(value) is str else _model_entry(value)


def _price_entry(value: Any) -> PriceEntry:
    entry = _price_fields(value)
    if price_kinds(entry.per_image, frozenset(value)) is not None:
        raise _Unsure
    return entry


_manifest = _object(
    Manifest,
    {
        "name": _optional(_str),
        "output_dir": _optional(_str),
        "provider": _optional(_provider),
        "concurrency": _pos_int,
        "max_pending_tasks": _pos_int,
        "rate_limit": _object(
            RateLimitConfig,
            {
                "requests_per_minute": _optional(_pos_float),
                "images_per_minute": _optional(_pos_float),
            },
        ),
        "budget_usd": _optional(_pos_float),
        "retry": _object(
            RetryConfig,
            {"max_attempts": _pos_int, "backoff_s": _pos_float, "max_backoff_s": _pos_float},
        ),
        "poll": _object(
            PollConfig,
            {
                "interval_s": _pos_float,
                "max_interval_s": _pos_float,
                "timeout_s": _pos_float,
                "concurrency": _pos_int,
            },
        ),
        "download": _object(DownloadConfig, {"concurrency": _pos_int, "max_bytes": _pos_int}),
        "prompts": _tuple(_prompt),
        "models": _tuple(_model),
        "sizes": _optional(_tuple(_str)),
        "params": _any,
        "repeats": _pos_int,
        "pricing": _dict(_price_entry),
    },
)
