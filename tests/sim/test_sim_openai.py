"""The official `openai` package talks to the simulator and parses every answer into its types."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import openai
import pytest
from openai.types import ImagesResponse

from runner.sim import SimConfig, SimServer

from .kit import Decoded, decode

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimServer]:
    for name in _PROXY_VARIABLES:  # the SDK must reach 127.0.0.1 directly
        monkeypatch.delenv(name, raising=False)
    with SimServer(SimConfig(seed=1)) as server:
        yield server


def _check_dall_e_2(answer: ImagesResponse, sim: SimServer) -> None:
    assert answer.data is not None
    assert len(answer.data) == 2
    for image in answer.data:
        assert (image.url or "").startswith(sim.origin + "/files/")
        assert (image.b64_json, image.revised_prompt) == (None, None)


def _check_dall_e_3(answer: ImagesResponse) -> None:
    assert answer.data is not None
    (image,) = answer.data
    assert image.b64_json is not None
    assert decode(base64.b64decode(image.b64_json)) == Decoded("png", 1024, 1792)
    assert image.revised_prompt == "A detailed, vivid rendering of: a lighthouse"


def _check_gpt_image_1(answer: ImagesResponse) -> None:
    assert answer.usage is not None
    assert answer.usage.output_tokens == 4160
    assert answer.usage.input_tokens_details.image_tokens == 0
    assert answer.usage.total_tokens == answer.usage.input_tokens + 4160
    assert (answer.size, answer.quality, answer.output_format) == ("1024x1024", "high", "png")
    assert answer.data is not None
    assert answer.data[0].b64_json is not None


def test_sync_openai_client_parses_every_answer(sim: SimServer) -> None:
    """openai.OpenAI: dall-e-2 urls, dall-e-3 b64 + revised_prompt, gpt-image-1 usage, a 400."""
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
    with client:
        images = client.images
        _check_dall_e_2(images.generate(model="dall-e-2", prompt="a fox", n=2, size="256x256"), sim)
        _check_dall_e_3(
            images.generate(
                model="dall-e-3",
                prompt="a lighthouse",
                size="1024x1792",
                response_format="b64_json",
            )
        )
        _check_gpt_image_1(images.generate(model="gpt-image-1", prompt="a cat", quality="high"))
        with pytest.raises(openai.BadRequestError) as caught:
            images.generate(model="gpt-image-1", prompt="a cat", response_format="url")
    assert caught.value.status_code == 400
    assert caught.value.code == "unknown_parameter"
    assert caught.value.param == "response_format"


@pytest.mark.asyncio
async def test_async_openai_client_parses_every_answer(sim: SimServer) -> None:
    """openai.AsyncOpenAI: the same answers and error, through the async client."""
    client = openai.AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
    async with client:
        images = client.images
        answer = await images.generate(model="dall-e-2", prompt="a fox", n=2, size="256x256")
        _check_dall_e_2(answer, sim)
        answer = await images.generate(
            model="dall-e-3", prompt="a lighthouse", size="1024x1792", response_format="b64_json"
        )
        _check_dall_e_3(answer)
        _check_gpt_image_1(
            await images.generate(model="gpt-image-1", prompt="a cat", quality="high")
        )
        with pytest.raises(openai.BadRequestError) as caught:
            await images.generate(model="dall-e-3", prompt="a cat", n=2)
    assert (caught.value.code, caught.value.param) == ("invalid_value", "n")


def test_openai_client_maps_sim_errors_to_its_exceptions(sim: SimServer) -> None:
    """Unknown model -> NotFoundError; forbidden prompt -> BadRequestError with the policy code."""
    with openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0) as client:
        with pytest.raises(openai.NotFoundError) as missing:
            client.images.generate(model="dall-e-9", prompt="a cat")
        with pytest.raises(openai.BadRequestError) as refused:
            client.images.generate(model="dall-e-2", prompt="something forbidden")
    assert missing.value.code == "model_not_found"
    assert refused.value.code == "content_policy_violation"
