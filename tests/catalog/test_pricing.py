"""Pricing: estimates before a request and actual cost after it, with hand-computed figures."""

from __future__ import annotations

from typing import Any

import pytest

from runner.catalog import PriceOverride, Pricer
from runner.catalog.pricing import gpt_image_2_tokens, text_tokens, usage_cost
from runner.catalog.spec import TokenPrices
from runner.types import WorkItem


def item(model: str, size: str | None = "1024x1024", prompt: str = "", **params: Any) -> WorkItem:
    sent = dict(params)
    if size is not None:
        sent.setdefault("size", size)
    return WorkItem("id", 0, model, prompt, size, sent)


PRICER = Pricer()


@pytest.mark.parametrize(
    ("work", "usd"),
    [
        (item("dall-e-2", "256x256", n=3), 3 * 0.016),
        (item("dall-e-2", "512x512"), 0.018),
        (item("dall-e-3", "1024x1024"), 0.04),  # quality defaults to standard
        (item("dall-e-3", "1792x1024"), 0.08),
        (item("dall-e-3", "1024x1024", quality="hd"), 0.08),
        (item("dall-e-3", "1024x1792", quality="hd"), 0.12),
        (item("flux-pro"), 0.04),
        (item("flux-schnell", n=4), 4 * 0.003),
        (item("midjourney", n=3), 0.05),  # per request, whatever n is
        (item("ideogram-v3", n=2), 2 * 0.06),
    ],
)
def test_per_image_estimates(work: WorkItem, usd: float) -> None:
    """Per-image prices x n (per request for midjourney), by size and quality (facts 2.1, 2.4)."""
    assert PRICER.estimate(work) == pytest.approx(usd)


def test_token_estimate_adds_prompt_text() -> None:
    """gpt-image-1 low 1024x1024: 272 output tokens at $40/M plus 10 text tokens at $5/M."""
    prompt = "x" * 40  # ceil(40 / 4) = 10 text tokens
    expected = 272 * 40 / 1e6 + 10 * 5 / 1e6  # 0.01088 + 0.00005
    assert PRICER.estimate(item("gpt-image-1", prompt=prompt, quality="low")) == pytest.approx(
        expected
    )


@pytest.mark.parametrize(
    ("work", "usd"),
    [
        (item("gpt-image-1", quality="auto"), 1056 * 40 / 1e6),  # auto estimated as medium
        (item("gpt-image-1"), 1056 * 40 / 1e6),  # no quality: the API's auto
        (item("gpt-image-1", "auto", quality="high"), 6240 * 40 / 1e6),  # auto size: 1024x1536
        (item("gpt-image-1", "1536x1024", quality="high", n=2), 2 * 6208 * 40 / 1e6),
        (item("gpt-image-1.5", "1024x1536", quality="high"), 6240 * 32 / 1e6),
        (item("gpt-image-1-mini", "1536x1024", quality="medium"), 0.015),  # official per image
        (item("gpt-image-1-mini", quality="low"), 0.005),
        (item("gpt-image-2", quality="high"), 7024 * 30 / 1e6),
        (item("gpt-image-2", "auto", quality="medium"), 1756 * 30 / 1e6),  # auto: 1024x1024
    ],
)
def test_token_table_estimates(work: WorkItem, usd: float) -> None:
    """Output-token tables (facts 2.3), mini's per-image list prices, gpt-image-2's formula."""
    assert PRICER.estimate(work) == pytest.approx(usd)


@pytest.mark.parametrize(
    ("quality", "width", "height", "tokens"),
    [
        # s = (2*96*1024 + 1024) // 2048 = 96; ceil(96*96*3,048,576 / 4e6) = ceil(7023.9)
        (96, 1024, 1024, 7024),
        # s = (2*16*1024 + 1024) // 2048 = 16; ceil(16*16*3,048,576 / 4e6) = ceil(195.1)
        (16, 1024, 1024, 196),
        # s = (2*48*1024 + 1536) // 3072 = 32; ceil(48*32*3,572,864 / 4e6) = ceil(1371.98)
        (48, 1024, 1536, 1372),
    ],
)
def test_gpt_image_2_formula(quality: int, width: int, height: int, tokens: int) -> None:
    """The community formula of facts 2.3 reproduces its worked example (high 1024² = 7024)."""
    assert gpt_image_2_tokens(quality, width, height) == tokens


def test_unpriced_models() -> None:
    """Models without a price estimate to None and say so."""
    for model in ("stable-diffusion-3", "gemini-2.5-flash-image", "foo-xl"):
        assert PRICER.estimate(item(model)) is None
        assert PRICER.actual(item(model), None, 1) is None
        assert not PRICER.is_priced(model)
        assert PRICER.basis(model) == "unpriced"


def test_actual_per_image_counts_images_returned() -> None:
    """After the answer, a per-image price multiplies the images actually returned."""
    asked_four = item("dall-e-2", n=4)
    assert PRICER.actual(asked_four, None, 3) == pytest.approx(3 * 0.020)
    assert PRICER.actual(asked_four, None, 0) == 0.0
    assert PRICER.actual(item("midjourney", n=4), None, 4) == pytest.approx(0.05)


def test_actual_from_usage_with_details() -> None:
    """gpt-image-1: 10 text in x $5 + 40 image in x $10 + 4160 out x $40, per million."""
    usage = {
        "input_tokens": 50,
        "output_tokens": 4160,
        "total_tokens": 4210,
        "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
    }
    expected = (10 * 5 + 40 * 10 + 4160 * 40) / 1e6  # 0.16685
    assert PRICER.actual(item("gpt-image-1", quality="high"), usage, 1) == pytest.approx(expected)


def test_actual_from_usage_without_details() -> None:
    """Without details all input counts as text and all output as image tokens."""
    usage = {"input_tokens": 20, "output_tokens": 272}
    assert PRICER.actual(item("gpt-image-1"), usage, 1) == pytest.approx((20 * 5 + 272 * 40) / 1e6)


def test_actual_prices_text_output_separately() -> None:
    """gpt-image-1.5 bills text output at $10/M and image output at $32/M."""
    usage = {
        "input_tokens": 10,
        "output_tokens": 1100,
        "input_tokens_details": {"text_tokens": 10, "image_tokens": 0},
        "output_tokens_details": {"image_tokens": 1056, "text_tokens": 44},
    }
    expected = (10 * 5 + 1056 * 32 + 44 * 10) / 1e6
    assert PRICER.actual(item("gpt-image-1.5"), usage, 1) == pytest.approx(expected)


def test_actual_without_usable_usage_scales_the_estimate() -> None:
    """No usage: the estimate per image x images returned, plus the prompt's text tokens."""
    work = item("gpt-image-1", prompt="y" * 8, quality="low", n=2)  # 2 text tokens
    expected = 272 * 40 / 1e6 + 2 * 5 / 1e6  # one image of two came back
    assert PRICER.actual(work, {"output_tokens": "many"}, 1) == pytest.approx(expected)
    assert PRICER.actual(work, None, 2) == pytest.approx(PRICER.estimate(work))


def test_usage_cost_refuses_tokens_without_a_price() -> None:
    """Tokens of a kind with no price make the cost unknown rather than zero."""
    prices = TokenPrices(input_per_mtok=5.0)
    assert usage_cost(prices, {"input_tokens": 10, "output_tokens": 0}) == pytest.approx(5e-5)
    assert usage_cost(prices, {"input_tokens": 10, "output_tokens": 5}) is None
    assert usage_cost(prices, {"input_tokens": -1, "output_tokens": 5}) is None


def test_per_image_override_replaces_the_catalog_price() -> None:
    """`pricing: {flux-pro: {per_image: 0.05}}` wins over the catalog's 0.04."""
    pricer = Pricer({"flux-pro": PriceOverride.from_manifest({"per_image": 0.05})})
    assert pricer.estimate(item("flux-pro", n=2)) == pytest.approx(0.10)
    assert pricer.actual(item("flux-pro", n=2), None, 1) == pytest.approx(0.05)
    assert pricer.basis("flux-pro") == "per image"


def test_per_size_override_prices_only_its_sizes() -> None:
    """A {SIZE: price} override leaves other sizes unpriced."""
    table = {"per_image": {"1024x1024": 0.02}}
    pricer = Pricer({"my-model": PriceOverride.from_manifest(table)})
    assert pricer.estimate(item("my-model")) == pytest.approx(0.02)
    assert pricer.estimate(item("my-model", "512x512")) is None
    assert pricer.is_priced("my-model")


def test_token_override_keeps_the_output_table() -> None:
    """Overriding gpt-image-2's output price keeps the formula for the token count."""
    override = PriceOverride.from_manifest({"output_per_mtok": 40.0})
    pricer = Pricer({"gpt-image-2": override})
    assert pricer.estimate(item("gpt-image-2", quality="high")) == pytest.approx(7024 * 40 / 1e6)
    assert "token table" in pricer.basis("gpt-image-2")


def test_token_override_for_an_unknown_model_prices_usage_only() -> None:
    """Token prices without a token table: no estimate, but usage is priced."""
    override = PriceOverride.from_manifest({"input_per_mtok": 1.0, "output_per_mtok": 10.0})
    pricer = Pricer({"my-model": override})
    assert pricer.is_priced("my-model")
    assert pricer.estimate(item("my-model")) is None
    usage = {"input_tokens": 100, "output_tokens": 1000}
    assert pricer.actual(item("my-model"), usage, 1) == pytest.approx((100 + 10_000) / 1e6)
    assert pricer.basis("my-model") == "billed by tokens; no estimate before the run"


def test_text_tokens_rounds_up() -> None:
    """Text tokens are estimated at 4 characters each, rounded up."""
    assert [text_tokens("a" * k) for k in (0, 1, 4, 5)] == [0, 1, 1, 2]
