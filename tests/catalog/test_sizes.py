"""Size labels: what each model takes, and what request keys a label becomes."""

from __future__ import annotations

import pytest

from runner.catalog import lookup, size_problem, size_request_params
from runner.catalog.sizes import aspect_ratio_for, gpt_image_2_rule, resolution_for
from runner.catalog.spec import ModelSpec


def spec(name: str) -> ModelSpec:
    found = lookup(name)
    assert found is not None
    return found


def test_closed_size_lists() -> None:
    """dall-e and gpt-image-1 take only their listed sizes; the message lists them."""
    assert size_problem(spec("dall-e-3"), "1792x1024") is None
    assert size_problem(spec("dall-e-3"), "512x512") == (
        "dall-e-3 takes sizes 1024x1024, 1792x1024, 1024x1792; got 512x512"
    )
    assert size_problem(spec("gpt-image-1"), "auto") is None
    assert size_problem(spec("dall-e-2"), "auto") is not None


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("auto", None),
        ("1024x1024", None),
        ("3840x2160", None),  # exactly 8,294,400 pixels
        ("2400x800", None),  # exactly 3:1
        ("816x816", None),  # 665,856 pixels
        ("1000x1000", "both sides must be multiples of 16"),
        ("4096x2048", "the longest side must be at most 3840"),
        ("3840x1024", "the long side may be at most 3 times the short side (3:1)"),
        ("640x640", "409,600 pixels is outside 655,360 to 8,294,400 (width x height)"),
        ("3840x2176", "8,355,840 pixels is outside 655,360 to 8,294,400 (width x height)"),
    ],
)
def test_gpt_image_2_rule(label: str, why: str | None) -> None:
    """gpt-image-2: multiples of 16, longest side <= 3840, ratio <= 3:1, pixel range, auto."""
    problem = size_problem(spec("gpt-image-2"), label)
    assert problem == (None if why is None else f"gpt-image-2 cannot take {label}: {why}")


def test_gpt_image_2_rule_wants_wxh() -> None:
    """A label that is neither auto nor WxH is refused with the expected form."""
    assert size_problem(spec("gpt-image-2"), "1024") == (
        "gpt-image-2 takes auto or WxH sizes (e.g. 1536x1024); got 1024"
    )
    assert gpt_image_2_rule(1536, 1024) is None


@pytest.mark.parametrize(
    ("label", "ratio"),
    [
        ("1792x1024", "16:9"),  # 1.75 vs 1.778: 1.6 % off
        ("1536x1024", "3:2"),
        ("1000x1000", "1:1"),
        ("1300x1000", "4:3"),  # 1.3 vs 1.333: 2.5 % off
        ("16:9", "16:9"),
        ("32:18", "16:9"),
        ("1200x1000", None),  # 1.2 vs 5:4 = 1.25: 4 % off, over the 3 % tolerance
        ("huge", None),
    ],
)
def test_gemini_aspect_ratio_mapping(label: str, ratio: str | None) -> None:
    """A WxH or W:H label maps to the nearest Gemini ratio within 3 %."""
    assert aspect_ratio_for(spec("gemini-2.5-flash-image"), label) == ratio


def test_gemini_size_problem_lists_ratios() -> None:
    """A label with no near ratio is a problem naming the ratios."""
    assert size_problem(spec("gemini-2.5-flash-image"), "1200x1000") == (
        "gemini-2.5-flash-image takes sizes as WxH or W:H near one of its aspect ratios "
        "(1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9); got 1200x1000"
    )


@pytest.mark.parametrize(
    ("label", "resolution"),
    [("1024x1024", "1k"), ("1792x1024", "2k"), ("2048x2048", "2k"), ("4096x2304", "4k"),
     ("8192x8192", "4k"), ("16:9", None)],
)  # fmt: skip
def test_resolution_covers_the_longest_side(label: str, resolution: str | None) -> None:
    """Gemini Pro gets the smallest resolution whose side covers the label's longest side."""
    assert resolution_for(label) == resolution


def test_size_request_params_per_family() -> None:
    """OpenAI models get `size`; Gemini gets aspect_ratio (+ resolution for Pro), no size."""
    assert size_request_params(spec("dall-e-3"), "1024x1024") == {"size": "1024x1024"}
    assert size_request_params(None, "999x999") == {"size": "999x999"}
    assert size_request_params(spec("gemini-2.5-flash-image"), "1792x1024") == {
        "aspect_ratio": "16:9"
    }
    assert size_request_params(spec("gemini-3-pro-image-preview"), "1792x1024") == {
        "aspect_ratio": "16:9",
        "resolution": "2k",
    }
    assert size_request_params(spec("gemini-3-pro-image-preview"), "16:9") == {
        "aspect_ratio": "16:9"
    }


def test_gateway_models_take_any_wxh() -> None:
    """Gateway models have no documented size list: only the WxH form is checked."""
    assert size_problem(spec("flux-pro"), "1440x816") is None
    assert size_problem(spec("midjourney"), "wide") == (
        "midjourney takes sizes as WxH (e.g. 1024x1024); got wide"
    )
