"""Reads models.yaml into ModelSpecs once per process, aliases and `extends` resolved.

Malformed catalog data raises CatalogError at first use, so a bad edit of the shipped YAML
fails every test at once instead of mispricing one model quietly.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from runner.catalog.spec import (
    PARAM_TYPES,
    CatalogError,
    Mode,
    ModelSpec,
    ParamSpec,
    PriceSpec,
    Retired,
    SizeParam,
    TokenPrices,
)

CATALOG_PATH = Path(__file__).with_name("models.yaml")
SIZE_RULES = ("gpt-image-2", "aspect-ratio", "any")
_NOT_INHERITED = ("extends", "aliases")


@functools.cache
def _catalog_bytes() -> bytes:
    return CATALOG_PATH.read_bytes()


def catalog_digest() -> str:
    """sha256 of models.yaml: part of a job's fingerprint, since defaults and mappings live here."""
    return hashlib.sha256(_catalog_bytes()).hexdigest()


# libyaml's parser when PyYAML was built with it: ~15 ms less on every run than the pure one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _raw() -> dict[str, Any]:
    data = yaml.load(_catalog_bytes(), Loader=_LOADER)  # both loaders are the safe ones
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise CatalogError("models.yaml: needs a `models` mapping")
    return data


@functools.cache
def _specs() -> dict[str, ModelSpec]:
    models: dict[str, Any] = _raw()["models"]
    specs: dict[str, ModelSpec] = {}
    for name in models:
        merged = _merged(models, name, ())
        for alias in (name, *merged.get("aliases", ())):
            if alias in specs:
                raise CatalogError(f"models.yaml: {alias!r} is defined twice")
            specs[alias] = _build(alias, name, merged)
    return specs


def _merged(models: Mapping[str, Any], name: str, seen: tuple[str, ...]) -> dict[str, Any]:
    """The entry with the keys of the entry it extends underneath (one level, recursively)."""
    if name in seen or name not in models:
        raise CatalogError(f"models.yaml: bad `extends` chain {(*seen, name)}")
    own = dict(models[name])
    parent_name = own.get("extends")
    if parent_name is None:
        return own
    parent = _merged(models, parent_name, (*seen, name))
    base = {k: v for k, v in parent.items() if k not in _NOT_INHERITED}
    return base | own


def lookup(model: str) -> ModelSpec | None:
    """The catalog's spec for a model name or alias; None for a model the catalog does not know."""
    return _specs().get(model)


def known_models() -> tuple[str, ...]:
    """Every name the catalog knows, aliases included (for "did you mean" hints)."""
    return tuple(_specs())


def runner_rejects() -> Mapping[str, str]:
    """Params refused for every model because of what the runner itself cannot handle."""
    return dict(_raw().get("runner_rejects") or {})


def _build(name: str, canonical: str, raw: Mapping[str, Any]) -> ModelSpec:
    try:
        return _build_unchecked(name, canonical, raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"models.yaml: {canonical}: {exc!r}") from exc


def _build_unchecked(name: str, canonical: str, raw: Mapping[str, Any]) -> ModelSpec:
    sizes, rule = _sizes(raw["sizes"])
    n_min, n_max = (int(v) for v in raw["n"])
    prompt_max = raw.get("prompt_max")
    retired = raw.get("retired")
    return ModelSpec(
        name=name,
        canonical=canonical,
        family=str(raw["family"]),
        mode=Mode(raw["mode"]),
        sizes=sizes,
        size_rule=rule,
        default_size=raw.get("default_size"),
        size_param=SizeParam(raw.get("size_param", "size")),
        resolution=bool(raw.get("resolution", False)),
        n_min=n_min,
        n_max=n_max,
        prompt_max=None if prompt_max is None else int(prompt_max),
        params={k: _param(k, v) for k, v in (raw.get("params") or {}).items()},
        rejects={str(k): str(v) for k, v in (raw.get("rejects") or {}).items()},
        retired=None if retired is None else Retired(**retired),
        latency_s=float(raw["latency_s"]),
        price=_price(raw.get("price")),
    )


def _sizes(raw: Any) -> tuple[tuple[str, ...] | None, str | None]:
    if isinstance(raw, list):
        return tuple(str(s) for s in raw), None
    if raw in SIZE_RULES:
        return None, str(raw)
    raise ValueError(f"sizes must be a list or one of {SIZE_RULES}, got {raw!r}")


def _param(name: str, raw: Mapping[str, Any]) -> ParamSpec:
    values = raw.get("values")
    type_name = raw.get("type")
    if (values is None) == (type_name is None) or type_name not in (None, *PARAM_TYPES):
        raise ValueError(f"param {name}: give either values or a type from {PARAM_TYPES}")
    return ParamSpec(
        name=name,
        values=None if values is None else tuple(values),
        type=type_name,
        min=raw.get("min"),
        max=raw.get("max"),
        default=raw.get("default"),
    )


def _price(raw: Mapping[str, Any] | None) -> PriceSpec | None:
    if raw is None:
        return None
    per_image = raw.get("per_image")
    tokens = raw.get("tokens")
    if (per_image is None) == (tokens is None):
        raise ValueError("price: give exactly one of per_image and tokens")
    return PriceSpec(
        source=str(raw["source"]),
        per_image=None if per_image is None else price_table(per_image),
        per_request=raw.get("per", "image") == "request",
        tokens=None if tokens is None else _tokens(tokens),
        unverified=bool(raw.get("unverified", False)),
    )


def _tokens(raw: Mapping[str, Any]) -> TokenPrices:
    estimate = raw.get("estimate_per_image")
    return TokenPrices(
        input_per_mtok=raw.get("input_per_mtok"),
        image_input_per_mtok=raw.get("image_input_per_mtok"),
        output_per_mtok=raw.get("output_per_mtok"),
        text_output_per_mtok=raw.get("text_output_per_mtok"),
        output_tokens=raw.get("output_tokens"),
        output_formula=raw.get("output_formula"),
        estimate_per_image=None if estimate is None else price_table(estimate),
        auto_quality=str(raw.get("auto_quality", "medium")),
        auto_size=raw.get("auto_size"),
    )


def price_table(raw: Any) -> dict[str, dict[str, float]]:
    """A per-image price in any of its three forms as {QUALITY: {SIZE: usd}} ("*" = any).

    Forms: a number; {SIZE: number}; {QUALITY: {SIZE: number}}.
    """
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return {"*": {"*": float(raw)}}
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"a per-image price must be a number or a mapping, got {raw!r}")
    if all(isinstance(v, Mapping) for v in raw.values()):
        return {str(q): {str(s): float(p) for s, p in sizes.items()} for q, sizes in raw.items()}
    return {"*": {str(s): float(p) for s, p in raw.items()}}
