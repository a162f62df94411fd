"""Cost before a request (estimates for plans and budgets) and after it (what was spent).

Per-image prices multiply by the images asked for (estimate) or returned (actual). Token-priced
models are estimated from an output-token table or formula plus the prompt's text tokens, and
cost what the answer's ``usage`` says once it arrives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from runner.catalog.load import lookup, price_table
from runner.catalog.sizes import parse_wxh
from runner.catalog.spec import PriceSpec, TokenPrices
from runner.types import WorkItem

MTOK = 1_000_000
# OpenAI's rule of thumb for English text; only the (small) prompt part of estimates uses it.
CHARS_PER_TOKEN = 4
# facts 2.3, community formula for gpt-image-2 output tokens (UNVERIFIED).
GPT2_QUALITY_FACTOR = {"low": 16, "medium": 48, "high": 96}


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """A manifest's `pricing` entry for one model: per image, or per-million-token prices."""

    per_image: Mapping[str, Mapping[str, float]] | None = None  # {QUALITY: {SIZE: usd}}
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    image_input_per_mtok: float | None = None

    @classmethod
    def from_manifest(cls, raw: Mapping[str, Any]) -> PriceOverride:
        """From the manifest's form: ``{per_image: x | {SIZE: x}}`` or the ``*_per_mtok`` keys."""
        per_image = raw.get("per_image")
        return cls(
            per_image=None if per_image is None else price_table(per_image),
            input_per_mtok=raw.get("input_per_mtok"),
            output_per_mtok=raw.get("output_per_mtok"),
            image_input_per_mtok=raw.get("image_input_per_mtok"),
        )


@dataclass(frozen=True, slots=True)
class Estimate:
    """A request's estimated cost: ``fixed_usd + text_tokens(prompt) * usd_per_text_token``."""

    fixed_usd: float
    usd_per_text_token: float = 0.0

    def for_prompt(self, prompt: str) -> float:
        return self.fixed_usd + text_tokens(prompt) * self.usd_per_text_token


def text_tokens(prompt: str) -> int:
    """A rough count of a prompt's text tokens (input tokens are billed per request)."""
    return math.ceil(len(prompt) / CHARS_PER_TOKEN)


class Pricer:
    """Prices from the catalog with a manifest's `pricing` overrides on top."""

    def __init__(self, overrides: Mapping[str, PriceOverride] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._specs: dict[str, PriceSpec | None] = {}

    def price_spec(self, model: str) -> PriceSpec | None:
        """The price in force for ``model`` (override merged over catalog), or None."""
        if model not in self._specs:
            self._specs[model] = self._merge(model)
        return self._specs[model]

    def _merge(self, model: str) -> PriceSpec | None:
        spec = lookup(model)
        base = spec.price if spec is not None else None
        override = self._overrides.get(model)
        if override is None:
            return base
        if override.per_image is not None:
            return PriceSpec(source="manifest pricing", per_image=override.per_image)
        tokens = base.tokens if base is not None and base.tokens is not None else TokenPrices()
        changes = {
            k: v
            for k in ("input_per_mtok", "output_per_mtok", "image_input_per_mtok")
            if (v := getattr(override, k)) is not None
        }
        return PriceSpec(source="manifest pricing", tokens=replace(tokens, **changes))

    def is_priced(self, model: str) -> bool:
        """Whether any price is known for ``model`` (it may still lack an estimate)."""
        return self.price_spec(model) is not None

    def basis(self, model: str) -> str:
        """How this model's estimates are made, for plan tables."""
        price = self.price_spec(model)
        if price is None:
            return "unpriced"
        note = " (UNVERIFIED prices)" if price.unverified else ""
        if price.per_image is not None:
            return ("per request" if price.per_request else "per image") + note
        tokens = price.tokens
        assert tokens is not None  # a PriceSpec has per_image or tokens
        if tokens.estimate_per_image is not None:
            return "estimated from per-image list prices; billed by tokens" + note
        if tokens.output_tokens is not None or tokens.output_formula is not None:
            return "estimated from token table; billed by tokens" + note
        return "billed by tokens; no estimate before the run" + note

    def estimate(self, item: WorkItem) -> float | None:
        """USD this item should cost before it is sent; None when the model is unpriced."""
        parts = self.estimate_parts(item.model, item.size, item.params)
        return None if parts is None else parts.for_prompt(item.prompt)

    def estimate_parts(
        self, model: str, size: str | None, params: Mapping[str, Any]
    ) -> Estimate | None:
        """The prompt-independent part of an estimate (plans reuse it across prompts)."""
        price = self.price_spec(model)
        if price is None:
            return None
        n = _n(params)
        quality = self._quality(model, params)
        if price.per_image is not None:
            usd = _table_price(price.per_image, quality, size)
            return None if usd is None else Estimate(usd * (1 if price.per_request else n))
        assert price.tokens is not None
        per_image = _token_image_usd(price.tokens, quality, size)
        if per_image is None:
            return None
        return Estimate(per_image * n, (price.tokens.input_per_mtok or 0.0) / MTOK)

    def _quality(self, model: str, params: Mapping[str, Any]) -> str | None:
        quality = params.get("quality")
        if quality is None:
            spec = lookup(model)
            param = spec.params.get("quality") if spec is not None else None
            quality = param.default if param is not None else None
        return None if quality is None else str(quality)

    def actual(self, item: WorkItem, usage: Mapping[str, Any] | None, images: int) -> float | None:
        """USD spent on an answered item: per-image price x images returned, or from ``usage``.

        Token-priced models without a usable ``usage`` fall back to the estimate, scaled to the
        images actually returned.
        """
        price = self.price_spec(item.model)
        if price is None:
            return None
        if price.tokens is not None and usage is not None:
            spent = usage_cost(price.tokens, usage)
            if spent is not None:
                return spent
        return self._actual_from_estimate(item, price, images)

    def _actual_from_estimate(self, item: WorkItem, price: PriceSpec, images: int) -> float | None:
        parts = self.estimate_parts(item.model, item.size, item.params)
        if parts is None:
            return None
        if images <= 0:
            return 0.0
        if price.per_request:
            return parts.fixed_usd
        per_image = parts.fixed_usd / item.images_expected
        return per_image * images + text_tokens(item.prompt) * parts.usd_per_text_token


def _n(params: Mapping[str, Any]) -> int:
    n = params.get("n", 1)
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def _table_price(
    table: Mapping[str, Mapping[str, float]], quality: str | None, size: str | None
) -> float | None:
    by_size = table.get(quality or "*", table.get("*"))
    if by_size is None:
        return None
    return by_size.get(size or "*", by_size.get("*"))


def _token_image_usd(tokens: TokenPrices, quality: str | None, size: str | None) -> float | None:
    """Estimated USD of one output image of a token-priced model."""
    q = tokens.auto_quality if quality in (None, "auto") else quality
    s = tokens.auto_size if size in (None, "auto") else size
    if tokens.estimate_per_image is not None:
        return _table_price(tokens.estimate_per_image, q, s)
    if tokens.output_per_mtok is None:
        return None
    count = _output_tokens(tokens, q, s)
    return None if count is None else count * tokens.output_per_mtok / MTOK


def _output_tokens(tokens: TokenPrices, quality: str | None, size: str | None) -> int | None:
    if tokens.output_tokens is not None:
        by_size = tokens.output_tokens.get(quality or "")
        return None if by_size is None else by_size.get(size or "", by_size.get("*"))
    if tokens.output_formula == "gpt-image-2" and size is not None:
        wh = parse_wxh(size)
        factor = GPT2_QUALITY_FACTOR.get(quality or "")
        return None if wh is None or factor is None else gpt_image_2_tokens(factor, *wh)
    return None


def gpt_image_2_tokens(factor: int, width: int, height: int) -> int:
    """facts 2.3's community formula for gpt-image-2 output tokens (UNVERIFIED)."""
    long, short = max(width, height), min(width, height)
    scaled = (2 * factor * short + long) // (2 * long)
    return -(-(factor * scaled * (2_000_000 + width * height)) // 4_000_000)


def usage_cost(tokens: TokenPrices, usage: Mapping[str, Any]) -> float | None:
    """USD from an answer's ``usage`` (OpenAI's ImageGenUsage); None when it is unusable.

    ``input_tokens_details`` splits text and image input; ``output_tokens_details`` (newer) splits
    image and text output. Without details, all input is text and all output is image.
    """
    counts = _usage_counts(usage)
    if counts is None:
        return None
    text_in, image_in, image_out, text_out = counts
    prices = (
        (text_in, tokens.input_per_mtok),
        (image_in, tokens.image_input_per_mtok or tokens.input_per_mtok),
        (image_out, tokens.output_per_mtok),
        (text_out, tokens.text_output_per_mtok or tokens.output_per_mtok),
    )
    if any(count and price is None for count, price in prices):
        return None
    return sum(count * (price or 0.0) for count, price in prices) / MTOK


def _usage_counts(usage: Mapping[str, Any]) -> tuple[int, int, int, int] | None:
    total_in, total_out = _count(usage, "input_tokens"), _count(usage, "output_tokens")
    if total_in is None or total_out is None:
        return None
    in_details = usage.get("input_tokens_details")
    text_in, image_in = total_in, 0
    if isinstance(in_details, Mapping):
        text_in = _count(in_details, "text_tokens") or 0
        image_in = _count(in_details, "image_tokens") or 0
    out_details = usage.get("output_tokens_details")
    image_out, text_out = total_out, 0
    if isinstance(out_details, Mapping):
        text_out = _count(out_details, "text_tokens") or 0
        image_out = _count(out_details, "image_tokens") or max(total_out - text_out, 0)
    return text_in, image_in, image_out, text_out


def _count(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value
