"""The simulator's configuration: what faults to inject and how the fake provider behaves.

Every field has a default so `provider: sim` works bare; all randomness derives from `seed`.
Values are checked in ``__post_init__`` so the CLI flags and a manifest's ``provider.sim``
mapping are held to the same ranges.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

IMAGE_ORIGINS = ("same", "other")

_RATES = (
    "fail_rate",
    "rate_429",
    "rate_503",
    "malformed_rate",
    "task_fail_rate",
    "poll_fail_rate",
    "download_fail_rate",
    "slow_rate",
)
# These four split one draw per POST between them, so together they cannot exceed 1.
POST_FAULT_RATES = ("rate_429", "rate_503", "fail_rate", "malformed_rate")
_DURATIONS = ("latency_s", "task_seconds", "retry_after_s", "slow_s", "outage_duration_s")
_OPTIONAL_DURATIONS = ("outage_start_s",)
_POSITIVE_OPTIONAL = ("rps_limit", "url_ttl_s")


class SimOptionError(ValueError):
    """A simulator option is unknown or out of range; the message names the key."""


@dataclass(frozen=True)
class SimConfig:
    """How the simulated provider answers. Shares are fractions of requests in [0, 1]."""

    seed: int = 0
    latency_s: float = 0.0
    task_seconds: float = 2.0
    fail_rate: float = 0.0
    rate_429: float = 0.0
    retry_after_s: float = 1.0
    rate_503: float = 0.0
    malformed_rate: float = 0.0
    task_fail_rate: float = 0.0
    poll_fail_rate: float = 0.0
    download_fail_rate: float = 0.0
    slow_rate: float = 0.0
    slow_s: float = 5.0
    outage_start_s: float | None = None
    outage_duration_s: float = 0.0
    rps_limit: float | None = None
    url_ttl_s: float = 3600.0
    api_key: str | None = None
    force_async: frozenset[str] = frozenset()
    image_origin: str = "same"

    def __post_init__(self) -> None:
        _check_int("seed", self.seed)
        for name in _RATES:
            _check_rate(name, getattr(self, name))
        for name in _DURATIONS:
            _check_duration(name, getattr(self, name))
        for name in _OPTIONAL_DURATIONS:
            if getattr(self, name) is not None:
                _check_duration(name, getattr(self, name))
        for name in _POSITIVE_OPTIONAL:
            _check_positive(name, getattr(self, name))
        _check_post_fault_total(self)
        _check_strings(self)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SimConfig:
        """Build from a manifest's ``provider.sim`` mapping, naming the key of any bad value.

        Numeric strings are accepted because ``${VAR}`` substitution in a manifest yields
        strings; ``force_async`` may be a list.
        """
        if not isinstance(options, Mapping):
            raise SimOptionError("sim options must be a mapping of option names to values")
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in options.items():
            if key not in known:
                raise SimOptionError(_unknown_option_message(str(key), known))
            values[key] = _coerce(key, raw)
        return cls(**values)


def option_problems(options: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """Every problem with a ``provider.sim`` mapping at once, as (option or None, message), so a
    manifest's validation can list them with its own instead of stopping at the first."""
    if not isinstance(options, Mapping):
        return [(None, "sim options must be a mapping of option names to values")]
    problems: list[tuple[str | None, str]] = []
    for key, raw in options.items():
        try:
            SimConfig.from_options({key: raw})
        except SimOptionError as exc:
            problems.append((str(key), str(exc)))
    if not problems:
        try:
            SimConfig.from_options(options)  # checks across options (fault shares add up)
        except SimOptionError as exc:
            problems.append((None, str(exc)))
    return problems


def _unknown_option_message(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown simulator option '{key}'{hint}"


def _coerce(key: str, raw: Any) -> Any:
    """Turn a manifest value into the field's type; range checks happen in __post_init__."""
    if key == "force_async":
        return _coerce_models(raw)
    if key in ("api_key", "image_origin"):
        return raw
    if key == "seed":
        return _coerce_int(key, raw)
    if raw is None and key in (*_OPTIONAL_DURATIONS, *_POSITIVE_OPTIONAL):
        return None
    return _coerce_float(key, raw)


def _coerce_models(raw: Any) -> frozenset[str]:
    if isinstance(raw, str):
        raw = [raw]
    if isinstance(raw, Iterable) and all(isinstance(m, str) for m in raw):
        return frozenset(raw)
    raise SimOptionError("sim option 'force_async' must be a list of model names")


def _coerce_int(key: str, raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            pass
    raise SimOptionError(f"sim option '{key}' must be an integer")


def _coerce_float(key: str, raw: Any) -> Any:
    """Numeric strings become floats; anything else passes through for __post_init__ to judge."""
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            return raw
    return raw


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise SimOptionError(f"sim option '{name}' must be an integer")


def _check_rate(name: str, value: Any) -> None:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise SimOptionError(f"sim option '{name}' must be a number between 0 and 1")


def _check_duration(name: str, value: Any) -> None:
    if not _is_number(value) or value < 0:
        raise SimOptionError(f"sim option '{name}' must be a number of seconds >= 0")


def _check_positive(name: str, value: Any) -> None:
    if value is not None and (not _is_number(value) or value <= 0):
        raise SimOptionError(f"sim option '{name}' must be a number > 0")


def _check_post_fault_total(config: SimConfig) -> None:
    total = sum(getattr(config, name) for name in POST_FAULT_RATES)
    if total > 1.0 + 1e-9:
        names = " + ".join(POST_FAULT_RATES)
        raise SimOptionError(f"sim options {names} must add up to at most 1 (got {total:g})")


def _check_strings(config: SimConfig) -> None:
    if config.api_key is not None and not isinstance(config.api_key, str):
        raise SimOptionError("sim option 'api_key' must be a string")
    if config.image_origin not in IMAGE_ORIGINS:
        raise SimOptionError("sim option 'image_origin' must be 'same' or 'other'")
    if not isinstance(config.force_async, frozenset):
        raise SimOptionError("sim option 'force_async' must be a set of model names")
