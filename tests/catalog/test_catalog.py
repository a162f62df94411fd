"""The catalog's data: every model the brief names, with its rules and a cited price."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from runner.catalog import (
    CatalogError,
    Mode,
    ParamSpec,
    SizeParam,
    catalog_digest,
    known_models,
    lookup,
    runner_rejects,
)
from runner.catalog.load import CATALOG_PATH, _build, _merged, price_table

BRIEF_MODELS = (
    "dall-e-2",
    "dall-e-3",
    "gpt-image-1",
    "gpt-image-1-mini",
    "gpt-image-1.5",
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gemini-2.5-flash-image",
    "gemini-3-pro-image-preview",
    "flux-pro",
    "flux-1.1-pro",
    "flux-schnell",
    "midjourney",
    "ideogram-v3",
    "stable-diffusion-3",
)


@pytest.mark.parametrize("name", BRIEF_MODELS)
def test_every_model_of_the_brief_is_in_the_catalog(name: str) -> None:
    """Each model family the brief lists has an entry under its exact name."""
    spec = lookup(name)
    assert spec is not None
    assert spec.name == name


def test_unknown_model_is_not_found() -> None:
    """A name the catalog does not know gives None, not a guess."""
    assert lookup("foo-xl") is None
    assert lookup("DALL-E-3") is None  # names are exact


def test_alias_is_sent_under_its_own_name() -> None:
    """An alias resolves to the canonical rules but keeps the name that is sent."""
    spec = lookup("gpt-image-2-2026-04-21")
    assert spec is not None
    assert (spec.name, spec.canonical, spec.size_rule) == (
        "gpt-image-2-2026-04-21",
        "gpt-image-2",
        "gpt-image-2",
    )
    assert "chatgpt-image-latest" in known_models()


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("flux-pro", Mode.ASYNC),
        ("midjourney", Mode.ASYNC),
        ("ideogram-v3", Mode.ASYNC),
        ("dall-e-3", Mode.SYNC),
        ("gpt-image-1", Mode.SYNC),
        ("flux-schnell", Mode.SYNC),
        ("stable-diffusion-3", Mode.SYNC),
    ],
)
def test_default_modes(name: str, mode: Mode) -> None:
    """flux-pro, midjourney and ideogram-v3 answer with tasks; the others inline."""
    spec = lookup(name)
    assert spec is not None
    assert spec.mode is mode


@pytest.mark.parametrize(
    ("name", "limit", "n_range"),
    [
        ("dall-e-2", 1000, (1, 10)),
        ("dall-e-3", 4000, (1, 1)),
        ("gpt-image-1", 32000, (1, 10)),
        ("gpt-image-1-mini", 32000, (1, 10)),
        ("gpt-image-1.5", 32000, (1, 10)),
        ("gpt-image-2", 32000, (1, 10)),
    ],
)
def test_prompt_limits_and_n_ranges(name: str, limit: int, n_range: tuple[int, int]) -> None:
    """Prompt lengths and n ranges follow facts 1.2/1.3."""
    spec = lookup(name)
    assert spec is not None
    assert (spec.prompt_max, (spec.n_min, spec.n_max)) == (limit, n_range)


@pytest.mark.parametrize(
    ("name", "rejected"),
    [
        ("gpt-image-1", {"response_format", "style"}),
        ("gpt-image-1-mini", {"response_format", "style"}),
        ("gpt-image-1.5", {"response_format", "style"}),
        ("gpt-image-2", {"response_format", "style", "input_fidelity"}),
        ("gemini-2.5-flash-image", {"resolution"}),
        ("gemini-3-pro-image-preview", set()),
    ],
)
def test_documented_rejections(name: str, rejected: set[str]) -> None:
    """The params a model is documented to refuse are listed with a reason."""
    spec = lookup(name)
    assert spec is not None
    assert rejected <= set(spec.rejects)
    assert all(spec.rejects[key] for key in rejected)
    if not rejected:
        assert "resolution" not in spec.rejects
        assert spec.resolution


def test_gemini_maps_sizes_to_aspect_ratio() -> None:
    """Gemini models take aspect_ratio (Pro also resolution) instead of size."""
    flash, pro = lookup("gemini-2.5-flash-image"), lookup("gemini-3-pro-image-preview")
    assert flash is not None
    assert pro is not None
    assert flash.size_param is SizeParam.ASPECT_RATIO
    assert not flash.resolution
    assert pro.size_param is SizeParam.ASPECT_RATIO
    assert pro.resolution


def test_every_price_cites_its_source() -> None:
    """Each priced model says where its price comes from, in the YAML itself."""
    priced = [lookup(name) for name in known_models()]
    sources = {s.canonical: s.price.source for s in priced if s is not None and s.price}
    assert set(sources) >= {"dall-e-2", "dall-e-3", "gpt-image-1", "flux-pro", "ideogram-v3"}
    assert all("facts" in source for source in sources.values())
    assert "2.4" in sources["ideogram-v3"]
    assert "0.04-0.06" in sources["ideogram-v3"]


def test_unpriced_models_have_no_invented_price() -> None:
    """Models without a price source in facts.md stay unpriced."""
    for name in ("stable-diffusion-3", "gemini-2.5-flash-image", "gemini-3-pro-image-preview"):
        spec = lookup(name)
        assert spec is not None
        assert spec.price is None


def test_gpt_image_2_prices_are_marked_unverified() -> None:
    """facts 2.2 only has third-party gpt-image-2 prices; the catalog says so."""
    spec = lookup("gpt-image-2")
    assert spec is not None
    assert spec.price is not None
    assert spec.price.unverified
    assert "UNVERIFIED" in spec.price.source


def test_runner_rejects_streaming_for_every_model() -> None:
    """`stream` is refused whatever the model: the runner reads JSON answers only."""
    assert "stream" in runner_rejects()


def test_catalog_digest_is_the_sha256_of_the_yaml() -> None:
    """The digest that enters job fingerprints is the data file's own hash."""
    assert catalog_digest() == hashlib.sha256(CATALOG_PATH.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("raw", "table"),
    [
        (0.04, {"*": {"*": 0.04}}),
        ({"256x256": 0.016}, {"*": {"256x256": 0.016}}),
        ({"hd": {"1024x1024": 0.08, "*": 0.12}}, {"hd": {"1024x1024": 0.08, "*": 0.12}}),
    ],
)
def test_price_table_forms(raw: object, table: dict[str, dict[str, float]]) -> None:
    """A per-image price may be a number, by size, or by quality then size."""
    assert price_table(raw) == table


@pytest.mark.parametrize("raw", [True, {}, "0.04", [0.04]])
def test_price_table_rejects_other_shapes(raw: object) -> None:
    """Anything else in a price slot is an error, not a zero."""
    with pytest.raises(ValueError, match="per-image price"):
        price_table(raw)


def test_param_spec_phrases() -> None:
    """A refused param value is described by what the model takes."""
    quality = ParamSpec("quality", values=("standard", "hd"))
    compression = ParamSpec("output_compression", type="integer", min=0, max=100)
    assert quality.check("hd") is None
    assert quality.check("high") == "quality standard or hd"
    assert compression.check(50) is None
    assert compression.check(101) == "output_compression from 0 to 100"
    assert compression.check(True) == "output_compression as an integer"
    assert ParamSpec("async", type="boolean").check("yes") == "async as true or false"


def test_malformed_catalog_entries_raise_catalog_error() -> None:
    """Bad shipped data fails loudly instead of mispricing a model."""
    raw = yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))["models"]
    broken = dict(raw["dall-e-2"], sizes="every-size")
    with pytest.raises(CatalogError, match="dall-e-2"):
        _build("dall-e-2", "dall-e-2", broken)
    with pytest.raises(CatalogError, match="extends"):
        _merged({"a": {"extends": "b"}, "b": {"extends": "a"}}, "a", ())
    both = dict(raw["dall-e-2"], params={"x": {"values": [1], "type": "string"}})
    with pytest.raises(CatalogError, match="either values or a type"):
        _build("dall-e-2", "dall-e-2", both)


def test_extends_does_not_inherit_aliases() -> None:
    """A model built on another keeps its own aliases only."""
    models = {"a": {"aliases": ["x"], "mode": "sync"}, "b": {"extends": "a"}}
    assert _merged(models, "b", ()) == {"mode": "sync", "extends": "a"}


def test_the_fast_yaml_parser_reads_the_catalog_as_the_pure_one_does() -> None:
    """libyaml (used when PyYAML has it, for start-up time) and pure PyYAML agree on models.yaml."""
    text = CATALOG_PATH.read_bytes()
    fast = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    pure = yaml.load(text, Loader=yaml.SafeLoader)
    assert fast == pure
    assert repr(fast) == repr(pure)  # same key order and the same types (1 is not 1.0)
