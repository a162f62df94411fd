"""Sync answers: every model family returns real images of the requested size, in its dialect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .kit import Api, Decoded


def case(model: str, width: int, height: int, key: str, **fields: Any) -> Any:
    """A request for ``model`` and the image size and answer key it must produce."""
    body = {"model": model, "prompt": "cat", **fields}
    return pytest.param(body, (width, height), key, id=f"{model}-{width}x{height}-{key}")


CASES = [
    case("dall-e-2", 256, 256, "url", size="256x256", n=3),
    case("dall-e-2", 512, 512, "b64_json", size="512x512", response_format="b64_json"),
    case("dall-e-3", 1792, 1024, "url", size="1792x1024"),
    case("gpt-image-1", 1536, 1024, "b64_json", size="1536x1024"),
    case("gpt-image-1-mini", 1024, 1024, "b64_json", size="auto"),
    case("gpt-image-1.5", 1024, 1536, "b64_json", size="1024x1536"),
    case("gpt-image-2", 1280, 720, "b64_json", size="1280x720"),
    case("gemini-2.5-flash-image", 1344, 768, "b64_json", aspect_ratio="16:9"),
    case("gemini-3-pro-image-preview", 1664, 2496, "b64_json", aspect_ratio="2:3", resolution="2k"),
    case("gemini-3-pro-image-preview", 832, 1248, "url", aspect_ratio="2:3", response_format="url"),
    case("flux-schnell", 768, 512, "url", size="768x512"),
    case("stable-diffusion-3", 1024, 1024, "b64_json", response_format="b64_json"),
]


@pytest.mark.parametrize(("body", "expected", "key"), CASES)
def test_sync_answer_decodes_to_the_requested_size(
    api: Api, body: dict[str, Any], expected: tuple[int, int], key: str
) -> None:
    """n images come back inline or as URLs, and each decodes with Pillow to the asked size."""
    response = api.post(body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert isinstance(answer["created"], int)
    assert len(answer["data"]) == body.get("n", 1)
    assert all(set(item) - {"revised_prompt"} == {key} for item in answer["data"])
    assert api.images(answer) == [Decoded("png", *expected)] * body.get("n", 1)


def test_dall_e_3_returns_a_revised_prompt_for_its_style(api: Api) -> None:
    """dall-e-3 rewrites the prompt; the rewrite reflects the style and is not the prompt."""
    body = {"model": "dall-e-3", "prompt": "a red fox", "style": "natural"}
    item = api.post(body).json()["data"][0]
    assert item["revised_prompt"] == "A detailed, natural rendering of: a red fox"


@pytest.mark.parametrize(
    ("model", "quality", "size", "tokens"),
    [
        ("gpt-image-1", "low", "1024x1024", 272),
        ("gpt-image-1", "high", "1536x1024", 6208),
        ("gpt-image-1.5", "medium", "1024x1536", 1584),
        ("gpt-image-1", "auto", "1024x1024", 1056),  # auto resolves to medium
        ("gpt-image-2", "high", "1024x1024", 7024),  # the community formula's worked example
    ],
)
def test_gpt_image_usage_follows_the_token_table(
    api: Api, model: str, quality: str, size: str, tokens: int
) -> None:
    """Output tokens per image come from the published table (x n); input ~ len(prompt)//4."""
    prompt = "a lighthouse on a cliff at dusk, oil painting"
    body = {"model": model, "prompt": prompt, "quality": quality, "size": size, "n": 2}
    answer = api.post(body).json()
    usage = answer["usage"]
    assert usage["output_tokens"] == 2 * tokens
    assert usage["input_tokens"] == len(prompt) // 4
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"] == {"text_tokens": len(prompt) // 4, "image_tokens": 0}
    assert answer["quality"] == ("medium" if quality == "auto" else quality)
    assert answer["size"] == size


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "png"])
def test_gpt_image_output_format_picks_the_encoding(api: Api, fmt: str) -> None:
    """output_format decides the real encoding of the inline image, and the answer says so."""
    body = {"model": "gpt-image-1", "prompt": "cat", "output_format": fmt}
    answer = api.post(body).json()
    assert answer["output_format"] == fmt
    assert api.images(answer) == [Decoded(fmt, 1024, 1024)]


def test_gemini_size_alias_maps_to_the_nearest_aspect_ratio(api: Api) -> None:
    """For Gemini, `size` is a compatibility alias: 1792x1024 is closest to 16:9."""
    body = {"model": "gemini-2.5-flash-image", "prompt": "cat", "size": "1792x1024"}
    assert api.images(api.post(body).json()) == [Decoded("png", 1344, 768)]


def test_gateway_aspect_ratio_without_size(api: Api) -> None:
    """Gateway models accept aspect_ratio as well as WxH."""
    body = {"model": "flux-schnell", "prompt": "cat", "aspect_ratio": "9:16"}
    assert api.images(api.post(body).json()) == [Decoded("png", 768, 1344)]


def test_gateway_models_pass_unknown_parameters_through(api: Api) -> None:
    """Gateways forward keys they do not know (e.g. a seed) instead of refusing them."""
    body = {"model": "stable-diffusion-3", "prompt": "cat", "seed": 42, "negative_prompt": "dog"}
    assert api.post(body).status_code == 200


def _payloads(api: Api, prompts: list[str]) -> list[str]:
    body = {"model": "gpt-image-1", "prompt": "", "quality": "low"}
    return [api.post({**body, "prompt": p}).json()["data"][0]["b64_json"] for p in prompts]


def test_images_are_deterministic_for_a_seed(make_api: Callable[..., Api]) -> None:
    """Same seed and prompts: byte-identical images; the colour varies with the prompt."""
    prompts = [f"prompt {i}" for i in range(12)]
    first = _payloads(make_api(seed=5), prompts)
    again = _payloads(make_api(seed=5), prompts)
    assert first == again
    assert len(set(first)) > 1


def test_the_model_defaults_to_dall_e_2(api: Api) -> None:
    """Without `model`, OpenAI's default dall-e-2 answers (a 1024x1024 URL image)."""
    answer = api.post({"prompt": "cat"}).json()
    assert api.images(answer) == [Decoded("png", 1024, 1024)]
